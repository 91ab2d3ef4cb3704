# cython: language_level=3
"""Mid/side width kernel: M = (L + R)/2, S = (L - R)/2 * w[i]; L = M + S, R = M - S.

w[i] comes from the width ramp (smooth.pxd) or, under sample-accurate automation, from an array:
one step (_ms) for both, so a width held constant by automation gives the ramp's bits.
"""
from smooth cimport smooth_next


cdef inline void _ms(float* left, float* right, double w, const double* hp, double* z) noexcept nogil:
    # one sample of L/R: mid/side, the side high-passed when hp is not NULL (bass mono: [b0 b1 b2 a1 a2],
    # z its TDF-II state) and scaled by w
    cdef double m = 0.5 * (<double>left[0] + <double>right[0])
    cdef double s = 0.5 * (<double>left[0] - <double>right[0])
    cdef double y
    if hp != NULL:
        y = hp[0] * s + z[0]
        z[0] = (hp[1] * s + z[1]) - hp[3] * y
        z[1] = hp[2] * s - hp[4] * y
        s = y
    s = s * w
    left[0] = <float>(m + s)
    right[0] = <float>(m - s)


cdef void _width(float[:, ::1] x, double[::1] ramp, const double[::1] hp, double[::1] z) noexcept nogil:
    # hp: side high-pass [b0 b1 b2 a1 a2] (bass mono) or empty; z its TDF-II state
    cdef Py_ssize_t i, n = x.shape[1]
    cdef const double* h = &hp[0] if hp.shape[0] == 5 else NULL
    for i in range(n):
        _ms(&x[0, i], &x[1, i], smooth_next(&ramp[0]), h, &z[0])


def process_width(float[:, ::1] x,       # INOUT (2+, n): channels 0 and 1 are L and R
                  double[::1] ramp,      # INOUT width ramp [current, target, step, remaining]
                  const double[::1] hp,  # IN    side high-pass coefficients (5) or empty: no bass mono
                  double[::1] z):        # INOUT its state (2)
    """Scale the side signal of channels 0/1 by the (ramping) width in place."""
    if x.shape[0] < 2:
        return
    with nogil:
        _width(x, ramp, hp, z)


def process_width_automated(float[:, ::1] x,          # INOUT (2+, n): channels 0 and 1 are L and R
                            const double[::1] width,  # IN    (n,) the width at each sample
                            const double[::1] hp,     # IN    as process_width
                            double[::1] z):           # INOUT as process_width
    """Scale the side signal of channels 0/1 by width[i] at sample i in place (sample-accurate automation)."""
    cdef Py_ssize_t i, n = x.shape[1]
    cdef const double* h = &hp[0] if hp.shape[0] == 5 else NULL
    if width.shape[0] != n:
        raise ValueError("process_width_automated: one width per sample")
    if x.shape[0] < 2:
        return
    with nogil:
        for i in range(n):
            _ms(&x[0, i], &x[1, i], width[i], h, &z[0])
