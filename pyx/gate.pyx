# cython: language_level=3
"""Noise gate kernel with hold (channels linked).

    level  = max_c |x_c|
    open   = level >= threshold           (a sample at or above the threshold reopens and restarts the hold)
    target = 0 dB while open or within hold samples after the last open sample, else -range dB
    g     += (target - g) (1 - a_A)  when opening,  (1 - a_R)  when closing   (dB domain)
    y      = x * 10^(g/20)
"""
cimport cython
from fastmath cimport db_from_lin, lin_from_db
from libc.math cimport fabs


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _gate(float[:, ::1] x, double[::1] st, double thr, double rng_db, double a_att, double a_rel,
                double hold, double ratio) noexcept nogil:
    # ratio == 0: gate (closed = -range); ratio > 1: downward expander below the threshold,
    # gain (level_db - threshold_db)(ratio - 1), never below -range
    # st: [g_db, samples since the last sample above threshold]
    cdef Py_ssize_t c, i, n = x.shape[1], nc = x.shape[0]
    cdef double g = st[0], since = st[1], level, v, target, lin
    for i in range(n):
        level = 0.0
        for c in range(nc):
            v = fabs(x[c, i])
            if v > level:
                level = v
        if level >= thr:
            since = 0.0
        else:
            since += 1.0
        if since <= hold:
            target = 0.0
        elif ratio > 0.0:
            target = (db_from_lin(level if level > 1e-10 else 1e-10) - db_from_lin(thr)) * (ratio - 1.0)
            if target < -rng_db:
                target = -rng_db
        else:
            target = -rng_db
        if target > g:
            g = target + (g - target) * a_att
        else:
            g = target + (g - target) * a_rel
        lin = lin_from_db(g)
        for c in range(nc):
            x[c, i] = <float>(x[c, i] * lin)
    st[0] = g
    st[1] = since


def process_gate(float[:, ::1] x, double[::1] state, double threshold_lin, double range_db, double a_attack,
                 double a_release, double hold_samples, double expander_ratio):
    """Gate (expander_ratio 0) or expand x (channels, n) in place; state = [gain dB, samples since open]."""
    with nogil:
        _gate(x, state, threshold_lin, range_db, a_attack, a_release, hold_samples, expander_ratio)
