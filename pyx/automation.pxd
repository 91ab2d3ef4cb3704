# Per-sample parameter arrays of sample-accurate automation (Processor._per_sample in base.py):
# an array of length n gives the value at each sample, one of length 1 a constant.
# Kernels cut a block into runs over which every parameter is constant, compute the derived
# coefficients once per run and call their fixed-parameter kernel on it, so the automated path is
# the fixed path, run by run: set_param before every sample gives the same output.

cdef inline double at(const double[::1] v, Py_ssize_t i) noexcept nogil:
    """The value of a per-sample parameter array at sample i."""
    return v[i] if v.shape[0] > 1 else v[0]


cdef inline Py_ssize_t run_end(const double[::1] v, Py_ssize_t a, Py_ssize_t end) noexcept nogil:
    """The first index in (a, end] at which v differs from v[a] (end if it never does)."""
    cdef Py_ssize_t b = a + 1
    if v.shape[0] <= 1:
        return end
    while b < end and v[b] == v[a]:
        b += 1
    return b


cdef inline bint changed(const double[::1] v, Py_ssize_t a) noexcept nogil:
    """True when v takes a new value at sample a (always at 0): its derived values need recomputing."""
    return a == 0 or (v.shape[0] > 1 and v[a] != v[a - 1])
