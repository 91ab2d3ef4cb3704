# cython: language_level=3
"""Feed-forward compressor kernel (Giannoulis, Massberg & Reiss, JAES 2012).

Per sample, channels linked:
    level  = max_c |key[c]|                      (peak)   or sqrt(ms), ms += (max_c key^2 - ms)(1 - a_rms)   (rms)
    x_db   = 20 log10(max(level, 1e-10))         (fastmath.pxd; skipped below the knee, where g_c = 0)
    static = x_db                                    if 2 (x_db - T) < -W
             x_db + (1/R - 1)(x_db - T + W/2)^2/(2W) if |2 (x_db - T)| <= W
             T + (x_db - T)/R                        otherwise
    g_c    = static - x_db  (<= 0 dB)
    g      = a_A g + (1 - a_A) g_c  if g_c < g  else  a_R g + (1 - a_R) g_c   (smooth branching, dB domain)
    y      = x * 10^((g + makeup)/20) * mix + x * (1 - mix)
with a_A = exp(-1 / (attack_s fs)), a_R = exp(-1 / (release_s fs)); makeup ramps linearly (smooth.pxd).
"""
cimport cython
from fastmath cimport db_from_lin, lin_from_db
from libc.math cimport fabs, sqrt
from smooth cimport smooth_next

DEF LOG_FLOOR = 1e-10


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _compress(float[:, ::1] x, const float[:, ::1] key, double[::1] st, const double[::1] p,
                    double[::1] makeup) noexcept nogil:
    # st: [g_db (smoothed gain), ms (rms detector), max gain reduction seen]
    # p:  [threshold, ratio, knee, a_attack, a_release, a_rms, rms (0/1), mix]
    cdef Py_ssize_t c, i, n = x.shape[1], nc = x.shape[0], nk = key.shape[0]
    cdef double T = p[0], R = p[1], W = p[2], aA = p[3], aR = p[4], aRms = p[5], mix = p[7]
    cdef bint rms = p[6] != 0.0
    cdef double g = st[0], ms = st[1], gr_max = st[2]
    cdef double level, v, xdb, over, static_db, gc, lin, wet, mk
    # below this linear level the static curve is the identity: no dB conversion needed
    cdef double knee_floor = lin_from_db(T - W / 2.0)
    for i in range(n):
        level = 0.0
        if rms:
            v = 0.0
            for c in range(nk):
                if key[c, i] * key[c, i] > v:
                    v = key[c, i] * key[c, i]
            ms = ms + (v - ms) * (1.0 - aRms)
            if ms < 1e-30:
                ms = 0.0
            level = sqrt(ms)
        else:
            for c in range(nk):
                v = fabs(key[c, i])
                if v > level:
                    level = v
        if level < knee_floor:
            gc = 0.0
        else:
            xdb = db_from_lin(level if level > LOG_FLOOR else LOG_FLOOR)
            over = xdb - T
            if 2.0 * over < -W:
                gc = 0.0
            elif W > 0.0 and 2.0 * fabs(over) <= W:
                gc = (1.0 / R - 1.0) * (over + W / 2.0) * (over + W / 2.0) / (2.0 * W)
            else:
                gc = T + over / R - xdb
        if gc < g:
            g = aA * g + (1.0 - aA) * gc
        else:
            g = aR * g + (1.0 - aR) * gc
        if fabs(g) < 1e-30:
            g = 0.0
        if g < gr_max:
            gr_max = g
        mk = smooth_next(&makeup[0])
        if g + mk == 0.0:
            continue
        lin = lin_from_db(g + mk)
        wet = lin * mix + (1.0 - mix)
        for c in range(nc):
            x[c, i] = <float>(x[c, i] * wet)
    st[0] = g
    st[1] = ms
    st[2] = gr_max


def process_compressor(float[:, ::1] x,         # INOUT (channels, n)
                       const float[:, ::1] key,  # IN    (key channels, n): the detector's input
                       double[::1] state,        # INOUT [gain dB, rms ms, max gain reduction dB]
                       const double[::1] params, # IN    see _compress
                       double[::1] makeup):      # INOUT makeup ramp (dB)
    """Compress x in place, detecting on key (which may be x itself)."""
    if key.shape[1] != x.shape[1]:
        raise ValueError("process_compressor: key and input lengths differ")
    with nogil:
        _compress(x, key, state, params, makeup)
