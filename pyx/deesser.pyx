# cython: language_level=3
"""Split-band de-esser kernel.

Per sample n, per channel c (two TDF-II biquads per channel, both at freq_hz):

    h_c    = x_c - LP(x_c)                 the band that is turned down: the exact complement of a
                                           2nd-order Butterworth low-pass, so (x - h) + h == x
    k_c    = HP(x_c)                       what the detector hears: 2nd-order Butterworth high-pass
    level  = max_c |k_c|                   linked detector
    env    = level if level > env else env r        peak envelope: instant attack, exponential release
    gr     = (1/ratio - 1)(20 log10 env - T) if env > T, else 0       (dB, <= 0; hard knee)
    g      = gr + (g - gr) a               a = a_att when gr < g (more reduction), else a_rel;
                                           g snaps to 0 within 1e-7 dB once gr is 0
    y_c    = x_c - (1 - 10^(g/20)) h_c     = (x_c - h_c) + 10^(g/20) h_c: only the band is turned down;
                                           g == 0 leaves x_c untouched, bit for bit
    listen: y_c = k_c

The biquad states and the envelope are flushed to zero below 1e-30 (denormal guard).
"""
from fastmath cimport db_from_lin, lin_from_db
from libc.math cimport fabs


cdef inline double _biquad(double v, const double* co, double* z) noexcept nogil:
    """One TDF-II step of [b0, b1, b2, a1, a2] with state z[0:2] (denormal-guarded)."""
    cdef double y = co[0] * v + z[0]
    z[0] = co[1] * v - co[3] * y + z[1]
    z[1] = co[2] * v - co[4] * y
    if fabs(z[0]) < 1e-30 and fabs(z[1]) < 1e-30:
        z[0] = 0.0
        z[1] = 0.0
    return y


cdef void _deess(float[:, ::1] x, const double[::1] co, double[:, ::1] z, double[::1] h, double[::1] st,
                 double thr_lin, double thr_db, double slope, double r_env, double a_att, double a_rel,
                 bint listen) noexcept nogil:
    cdef Py_ssize_t c, i, n = x.shape[1], nc = x.shape[0]
    cdef double env = st[0], g = st[1], level, v, k, gr
    for i in range(n):
        level = 0.0
        for c in range(nc):
            v = x[c, i]
            h[c] = v - _biquad(v, &co[0], &z[c, 0])
            k = _biquad(v, &co[5], &z[c, 2])
            if fabs(k) > level:
                level = fabs(k)
            if listen:
                x[c, i] = <float>k
        if level > env:
            env = level
        else:
            env = env * r_env
            if env < 1e-30:
                env = 0.0
        gr = slope * (db_from_lin(env) - thr_db) if env > thr_lin else 0.0
        if gr > 0.0:
            gr = 0.0
        if gr < g:
            g = gr + (g - gr) * a_att
        elif gr > g:
            g = gr + (g - gr) * a_rel
            if gr == 0.0 and g > -1e-7:  # 1e-7 dB: a change below float32 resolution
                g = 0.0
        if g != 0.0 and not listen:
            k = 1.0 - lin_from_db(g)
            for c in range(nc):
                x[c, i] = <float>(x[c, i] - k * h[c])
    st[0] = env
    st[1] = g


def process_deesser(float[:, ::1] x,         # INOUT (channels, n) audio, processed in place
                    const double[::1] coeffs,  # IN (10,) low-pass then high-pass [b0, b1, b2, a1, a2] (a0 = 1)
                    double[:, ::1] z,        # INOUT (channels, 4) low-pass, high-pass biquad states
                    double[::1] h,           # scratch (channels,) the band of the current sample
                    double[::1] state,       # INOUT [envelope, gain dB]
                    double threshold_lin,    # IN threshold, linear
                    double threshold_db,     # IN the same in dB
                    double slope,            # IN 1/ratio - 1
                    double r_env,            # IN envelope release coefficient per sample
                    double a_attack,         # IN gain one-pole coefficient, more reduction
                    double a_release,        # IN gain one-pole coefficient, less reduction
                    bint listen):            # IN output the band instead
    """De-ess x in place."""
    with nogil:
        _deess(x, coeffs, z, h, state, threshold_lin, threshold_db, slope, r_env, a_attack, a_release, listen)
