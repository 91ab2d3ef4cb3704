# cython: language_level=3
"""Mid/side width kernel: M = (L + R)/2, S = (L - R)/2 * w[i]; L = M + S, R = M - S."""
from smooth cimport smooth_next


cdef void _width(float[:, ::1] x, double[::1] ramp, const double[::1] hp, double[::1] z) noexcept nogil:
    # hp: side high-pass [b0 b1 b2 a1 a2] (bass mono) or empty; z its TDF-II state
    cdef Py_ssize_t i, n = x.shape[1]
    cdef bint bass_mono = hp.shape[0] == 5
    cdef double m, s, w, y
    for i in range(n):
        w = smooth_next(&ramp[0])
        m = 0.5 * (<double>x[0, i] + <double>x[1, i])
        s = 0.5 * (<double>x[0, i] - <double>x[1, i])
        if bass_mono:
            y = hp[0] * s + z[0]
            z[0] = (hp[1] * s + z[1]) - hp[3] * y
            z[1] = hp[2] * s - hp[4] * y
            s = y
        s = s * w
        x[0, i] = <float>(m + s)
        x[1, i] = <float>(m - s)


def process_width(float[:, ::1] x,       # INOUT (2+, n): channels 0 and 1 are L and R
                  double[::1] ramp,      # INOUT width ramp [current, target, step, remaining]
                  const double[::1] hp,  # IN    side high-pass coefficients (5) or empty: no bass mono
                  double[::1] z):        # INOUT its state (2)
    """Scale the side signal of channels 0/1 by the (ramping) width in place."""
    if x.shape[0] < 2:
        return
    with nogil:
        _width(x, ramp, hp, z)
