# cython: language_level=3
"""Gain kernel: x *= g[i], with g ramping linearly per sample (see smoothing.py)."""
from smooth cimport smooth_next


cdef void _gain(float[:, ::1] x, double[::1] ramp) noexcept nogil:
    cdef Py_ssize_t c, i, n = x.shape[1], nc = x.shape[0]
    cdef double g
    if ramp[3] <= 0.0:
        g = ramp[0]
        for c in range(nc):
            for i in range(n):
                x[c, i] = <float>(x[c, i] * g)
        return
    for i in range(n):
        g = smooth_next(&ramp[0])
        for c in range(nc):
            x[c, i] = <float>(x[c, i] * g)


def process_gain(float[:, ::1] x,      # INOUT (channels, n)
                 double[::1] ramp):    # INOUT [current, target, step, remaining] linear gain
    """Multiply x by the (ramping) linear gain in place."""
    with nogil:
        _gain(x, ramp)
