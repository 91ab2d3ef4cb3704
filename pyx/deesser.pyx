# cython: language_level=3
"""Split-band de-esser kernel.

    high   = x - LPF2(x)  (the complement of an RBJ low-pass at freq_hz, per channel, TDF-II;
                           low + high == x, so the split itself changes nothing)
    level  = max_c |high_c|                      -> dB
    gr     = (1/ratio - 1) (level_db - threshold) if above the threshold, else 0
    g     += (gr - g)(1 - a_A or a_R)            (dB, 1 ms attack, 60 ms release)
    y      = x - high (1 - 10^(g/20))            (only the sibilance band is reduced;
                                                  y == x exactly when g == 0)
    listen: y = high (what the detector hears)
"""
cimport cython
from libc.math cimport fabs, log10, pow


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _deess(float[:, ::1] x, const double[::1] co, double[:, ::1] z, double[::1] st, double thr_db,
                 double ratio, double a_att, double a_rel, bint listen) noexcept nogil:
    cdef Py_ssize_t c, i, n = x.shape[1], nc = x.shape[0]
    cdef double g = st[0], level, v, y, lvl_db, gr, k
    cdef double hi[8]
    for i in range(n):
        level = 0.0
        for c in range(nc if nc < 8 else 8):
            v = x[c, i]
            y = co[0] * v + z[c, 0]
            z[c, 0] = co[1] * v - co[3] * y + z[c, 1]
            z[c, 1] = co[2] * v - co[4] * y
            if fabs(z[c, 0]) < 1e-30 and fabs(z[c, 1]) < 1e-30:
                z[c, 0] = 0.0
                z[c, 1] = 0.0
            hi[c] = v - y
            if fabs(hi[c]) > level:
                level = fabs(hi[c])
        lvl_db = 20.0 * log10(level if level > 1e-10 else 1e-10)
        gr = (1.0 / ratio - 1.0) * (lvl_db - thr_db) if lvl_db > thr_db else 0.0
        if gr < g:
            g = gr + (g - gr) * a_att
        else:
            g = gr + (g - gr) * a_rel
        if gr == 0.0 and g > -1e-9:  # released all the way: exactly unity again
            g = 0.0
        k = 1.0 - pow(10.0, g / 20.0)
        for c in range(nc if nc < 8 else 8):
            if listen:
                x[c, i] = <float>hi[c]
            elif k != 0.0:
                x[c, i] = <float>(x[c, i] - hi[c] * k)
    st[0] = g


def process_deesser(float[:, ::1] x, const double[::1] coeffs, double[:, ::1] state, double[::1] gstate,
                    double threshold_db, double ratio, double a_attack, double a_release, bint listen):
    """De-ess x (up to 8 channels) in place."""
    with nogil:
        _deess(x, coeffs, state, gstate, threshold_db, ratio, a_attack, a_release, listen)
