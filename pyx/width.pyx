# cython: language_level=3
"""Mid/side width kernel: M = (L + R)/2, S = (L - R)/2 * w[i]; L = M + S, R = M - S."""
cimport cython
from smooth cimport smooth_next


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _width(float[:, ::1] x, double[::1] ramp) noexcept nogil:
    cdef Py_ssize_t i, n = x.shape[1]
    cdef double m, s, w
    for i in range(n):
        w = smooth_next(&ramp[0])
        m = 0.5 * (<double>x[0, i] + <double>x[1, i])
        s = 0.5 * (<double>x[0, i] - <double>x[1, i]) * w
        x[0, i] = <float>(m + s)
        x[1, i] = <float>(m - s)


def process_width(float[:, ::1] x,    # INOUT (2+, n): channels 0 and 1 are L and R
                  double[::1] ramp):  # INOUT width ramp [current, target, step, remaining]
    """Scale the side signal of channels 0/1 by the (ramping) width in place."""
    if x.shape[0] < 2:
        return
    with nogil:
        _width(x, ramp)
