# cython: language_level=3
"""Noise gate / downward expander kernel with hold (channels linked).

Per sample n:

    level  = max_c |x_c[n]|
    since  = 0 if level >= threshold else since + 1     (samples since the level was last at or above it;
                                                          "long ago" once past the hold)
    target = 0 dB                                   while since <= hold (open, and held open)
           = -range                                 gate mode, after the hold
           = max(-range, (L - T)(ratio - 1))        expander mode, L = 20 log10(level), T = threshold dB
    g      = target + (g - target) a                a = a_att when target > g (opening), else a_rel;
                                                    g snaps to target within 1e-6 dB
    y_c    = x_c 10^(g / 20)                        (10^(0/20) = 1 exactly: an open gate is transparent)

g is in dB, so both ballistics are exponential in amplitude. 10^(g/20) and 20 log10 use the
deterministic fast functions of fastmath.pxd and are only evaluated when g or the level needs them.
g cannot decay into denormals (it is a dB value that snaps to its target).
"""
from automation cimport at, changed, run_end
from derive cimport gain_from_db, one_pole
from fastmath cimport db_from_lin, lin_from_db
from libc.math cimport fabs, rint


cdef void _gate(float[:, ::1] x, Py_ssize_t i0, Py_ssize_t i1, double[::1] st, double thr, double thr_db,
                double rng_db, double a_att, double a_rel, double hold, double ratio) noexcept nogil:
    # samples i0 .. i1 - 1 of x
    cdef Py_ssize_t c, i, nc = x.shape[0]
    cdef double g = st[0], since = st[1], lin = st[2], level, v, target
    if lin < 0.0:                 # after reset
        lin = lin_from_db(g)
    for i in range(i0, i1):
        level = 0.0
        for c in range(nc):
            v = fabs(x[c, i])
            if v > level:
                level = v
        if level >= thr:
            since = 0.0
        elif since <= hold:
            since += 1.0
            if since > hold:
                since = 1e300     # the hold is over: a longer hold set later does not reopen the gate
        if since <= hold:
            target = 0.0
        elif ratio > 0.0:
            target = (db_from_lin(level if level > 1e-10 else 1e-10) - thr_db) * (ratio - 1.0)
            if target < -rng_db:
                target = -rng_db
        else:
            target = -rng_db
        if g != target:
            if target > g:
                g = target + (g - target) * a_att
            else:
                g = target + (g - target) * a_rel
            if fabs(g - target) < 1e-6:
                g = target
            lin = lin_from_db(g)
        if lin != 1.0:
            for c in range(nc):
                x[c, i] = <float>(x[c, i] * lin)
    st[0] = g
    st[1] = since
    st[2] = lin


cdef inline void _derive(double* d, const double[::1] threshold_db, const double[::1] attack_ms,
                         const double[::1] release_ms, const double[::1] hold_ms, Py_ssize_t a,
                         double fs) noexcept nogil:
    # The gate's derived values at sample a of the parameter arrays, d = [threshold (linear), a_attack,
    # a_release, hold (samples)], each recomputed where its parameter changes (all at a = 0): the one
    # derivation, of the automated runs and (gate_coeffs) of the constants.
    if changed(threshold_db, a):
        d[0] = gain_from_db(at(threshold_db, a))
    if changed(attack_ms, a):
        d[1] = one_pole(at(attack_ms, a), fs)
    if changed(release_ms, a):
        d[2] = one_pole(at(release_ms, a), fs)
    if changed(hold_ms, a):
        d[3] = rint(at(hold_ms, a) * 1e-3 * fs)


def gate_coeffs(const double[::1] values,   # IN [threshold_db, attack_ms, release_ms, hold_ms]: constants
                double fs):                 # IN sample rate
    """(threshold linear, a_attack, a_release, hold samples) of constant parameters: _derive of each
    as an array of one value, exactly what process_gate_automated computes for a run of them."""
    cdef double d[4]
    if values.shape[0] != 4:
        raise ValueError("gate_coeffs: 4 values")
    _derive(d, values[0:1], values[1:2], values[2:3], values[3:4], 0, fs)
    return d[0], d[1], d[2], d[3]


def process_gate(float[:, ::1] x,          # INOUT (channels, n) audio, processed in place
                 double[::1] state,        # INOUT [gain dB, samples since open, linear gain (< 0: recompute)]
                 double threshold_lin,     # IN threshold, linear
                 double threshold_db,      # IN the same in dB
                 double range_db,          # IN attenuation when closed (positive)
                 double a_attack,          # IN one-pole coefficient, opening
                 double a_release,         # IN one-pole coefficient, closing
                 double hold_samples,      # IN
                 double expander_ratio):   # IN 0: gate; > 1: expander
    """Gate or expand x in place."""
    with nogil:
        _gate(x, 0, x.shape[1], state, threshold_lin, threshold_db, range_db, a_attack, a_release, hold_samples,
              expander_ratio)


def process_gate_automated(float[:, ::1] x,                  # INOUT (channels, n) audio, processed in place
                           double[::1] state,                # INOUT as process_gate
                           const double[::1] threshold_db,   # IN per-sample parameters: (n,) or (1,) constant
                           const double[::1] range_db,
                           const double[::1] attack_ms,
                           const double[::1] hold_ms,
                           const double[::1] release_ms,
                           const double[::1] ratio,
                           bint expander,                    # IN mode
                           double fs):                       # IN sample rate
    """Gate or expand x in place with per-sample parameters (_derive: recomputed once per run of
    constant parameters)."""
    cdef Py_ssize_t a = 0, b, n = x.shape[1]
    cdef double d[4]
    with nogil:
        while a < n:
            b = run_end(threshold_db, a, n)
            b = run_end(range_db, a, b)
            b = run_end(attack_ms, a, b)
            b = run_end(hold_ms, a, b)
            b = run_end(release_ms, a, b)
            b = run_end(ratio, a, b)
            _derive(d, threshold_db, attack_ms, release_ms, hold_ms, a, fs)
            _gate(x, a, b, state, d[0], at(threshold_db, a), at(range_db, a), d[1], d[2], d[3],
                  at(ratio, a) if expander else 0.0)
            a = b
