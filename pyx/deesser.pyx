# cython: language_level=3
"""Split-band de-esser kernel.

Per sample n, per channel c (one trapezoidal state-variable filter per channel at freq_hz, Q = 1/sqrt(2)):

    v3 = x_c - z2;  v1 = a1 z1 + a2 v3;  v2 = z2 + a2 z1 + a3 v3;  z1 = 2 v1 - z1;  z2 = 2 v2 - z2
                                           g = tan(pi fc / fs), k = 1/Q = sqrt(2), a1 = 1 / (1 + g (g + k)),
                                           a2 = g a1, a3 = g a2 (Zavalishin, *The Art of VA Filter Design*,
                                           2012, ch. 5; Simper, Cytomic "SvfLinearTrapOptimised2", 2013)
    LP(x_c) = v2,  HP(x_c) = x_c - k v1 - v2      the bilinear-transform (prewarped) 2nd-order Butterworth
                                           low- and high-pass: the RBJ cookbook biquads' responses, from
                                           a structure that stays stable when fc moves every sample
    h_c    = x_c - LP(x_c)                 the band that is turned down: the exact complement of the
                                           low-pass, so (x - h) + h == x
    k_c    = HP(x_c)                       what the detector hears
    level  = max_c |k_c|                   linked detector
    env    = level if level > env else env r        peak envelope: instant attack, exponential release
    gr     = (1/ratio - 1)(20 log10 env - T) if env > T, else 0       (dB, <= 0; hard knee)
    g      = gr + (g - gr) a               a = a_att when gr < g (more reduction), else a_rel;
                                           g snaps to 0 within 1e-7 dB once gr is 0
    y_c    = x_c - (1 - 10^(g/20)) h_c     = (x_c - h_c) + 10^(g/20) h_c: only the band is turned down;
                                           g == 0 leaves x_c untouched, bit for bit
    listen: y_c = k_c

The filter states and the envelope are flushed to zero below 1e-30 (denormal guard).
"""
from automation cimport at, changed, run_end
from derive cimport gain_from_db
from fastmath cimport db_from_lin, lin_from_db
from libc.math cimport M_PI, fabs, sqrt, tan
from libc.math cimport M_SQRT2 as SQRT2   # 1.4142135623730951, a C literal


cdef inline void _svf_coeffs(double* co, double fs, double fc) noexcept nogil:
    """[a1, a2, a3] of the state-variable filter at fc (Q = 1/sqrt(2))."""
    cdef double g = tan(M_PI * fc / fs)
    co[0] = 1.0 / (1.0 + g * (g + SQRT2))
    co[1] = g * co[0]
    co[2] = g * co[1]


cdef inline void _derive(double* co, double* d, const double[::1] freq_hz, const double[::1] threshold_db,
                         const double[::1] ratio, Py_ssize_t a, double fs) noexcept nogil:
    # The de-esser's derived values at sample a of the parameter arrays: co = the filter [a1, a2, a3] at
    # freq_hz (at most 0.45 fs), d = [threshold (linear), slope 1/ratio - 1], each recomputed where its
    # parameter changes (all at a = 0): the one derivation, of the automated runs and (deesser_coeffs)
    # of the constants.
    cdef double f
    if changed(freq_hz, a):
        f = at(freq_hz, a)
        if f > 0.45 * fs:
            f = 0.45 * fs
        _svf_coeffs(co, fs, f)
    if changed(threshold_db, a):
        d[0] = gain_from_db(at(threshold_db, a))
    if changed(ratio, a):
        d[1] = 1.0 / at(ratio, a) - 1.0


def deesser_coeffs(double[::1] coeffs,          # OUT (3,) the filter at freq_hz
                   const double[::1] values,    # IN  [freq_hz, threshold_db, ratio]: constants
                   double fs):                  # IN  sample rate
    """(threshold linear, slope) of constant parameters, and their filter in coeffs: _derive of each
    as an array of one value, exactly what process_deesser_automated computes for a run of them."""
    cdef double d[2]
    if coeffs.shape[0] != 3 or values.shape[0] != 3:
        raise ValueError("deesser_coeffs: 3 coefficients and 3 values")
    _derive(&coeffs[0], d, values[0:1], values[1:2], values[2:3], 0, fs)
    return d[0], d[1]


cdef void _deess(float[:, ::1] x, Py_ssize_t i0, Py_ssize_t i1, const double[::1] co, double[:, ::1] z,
                 double[::1] h, double[::1] st, double thr_lin, double thr_db, double slope, double r_env,
                 double a_att, double a_rel, bint listen) noexcept nogil:
    # samples i0 .. i1 - 1 of x
    cdef Py_ssize_t c, i, nc = x.shape[0]
    cdef double env = st[0], g = st[1], level, v, k, gr
    cdef double a1 = co[0], a2 = co[1], a3 = co[2], v1, v2, v3, z1, z2
    for i in range(i0, i1):
        level = 0.0
        for c in range(nc):
            v = x[c, i]
            z1 = z[c, 0]
            z2 = z[c, 1]
            v3 = v - z2
            v1 = a1 * z1 + a2 * v3
            v2 = z2 + a2 * z1 + a3 * v3
            z1 = 2.0 * v1 - z1
            z2 = 2.0 * v2 - z2
            if fabs(z1) < 1e-30 and fabs(z2) < 1e-30:
                z1 = 0.0
                z2 = 0.0
            z[c, 0] = z1
            z[c, 1] = z2
            h[c] = v - v2
            k = v - SQRT2 * v1 - v2
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
                    const double[::1] coeffs,  # IN (3,) filter coefficients a1, a2, a3 (svf_coeffs)
                    double[:, ::1] z,        # INOUT (channels, 2) filter states
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
        _deess(x, 0, x.shape[1], coeffs, z, h, state, threshold_lin, threshold_db, slope, r_env, a_attack,
               a_release, listen)


def process_deesser_automated(float[:, ::1] x,              # INOUT (channels, n) audio, processed in place
                              double[::1] coeffs,           # scratch (3,) the filter of the current run
                              double[:, ::1] z,             # INOUT as process_deesser
                              double[::1] h,                # scratch (channels,)
                              double[::1] state,            # INOUT [envelope, gain dB]
                              const double[::1] freq_hz,    # IN per-sample parameters: (n,) or (1,) constant
                              const double[::1] threshold_db,
                              const double[::1] ratio,
                              const double[::1] listen,
                              double r_env, double a_attack, double a_release, double fs):
    """De-ess x in place with per-sample parameters (_derive: recomputed once per run of constant values)."""
    cdef Py_ssize_t a = 0, b, n = x.shape[1]
    cdef double d[2]
    with nogil:
        while a < n:
            b = run_end(freq_hz, a, n)
            b = run_end(threshold_db, a, b)
            b = run_end(ratio, a, b)
            b = run_end(listen, a, b)
            _derive(&coeffs[0], d, freq_hz, threshold_db, ratio, a, fs)
            _deess(x, a, b, coeffs, z, h, state, d[0], at(threshold_db, a), d[1], r_env, a_attack, a_release,
                   at(listen, a) >= 0.5)
            a = b
