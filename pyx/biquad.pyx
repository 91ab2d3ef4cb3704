# cython: language_level=3
"""Biquad cascade, transposed direct form II, float64 state, float32 I/O.

For each section (coefficients b0 b1 b2 a1 a2, a0 = 1):
    y  = b0 x + z1
    z1 = (b1 x + z2) - a1 y
    z2 = b2 x - a2 y
All sections of one channel run in one pass over the block. A section whose
two state values are both below 1e-30 is flushed to zero (no denormals in
decaying tails): after every sample, or -- when the caller passes a ``phase``
(its count of samples processed, modulo FLUSH_EVERY) -- only after every
FLUSH_EVERY-th sample of its stream, which keeps the test out of the other
samples' arithmetic (the EQ does this; pyx/eqbank.pxi runs the same rule across
many EQs). Either way the result does not depend on how the stream is cut into
blocks.
"""
from libc.math cimport fabs


cdef enum:
    FLUSH_EVERY = 16   # with a phase: the flush test after samples 15, 31, 47, ... of the stream


cdef inline bint _checks(Py_ssize_t phase, Py_ssize_t i) noexcept nogil:
    """Whether the flush test runs after sample i of this call (phase < 0: after every sample)."""
    return phase < 0 or ((phase + i) % FLUSH_EVERY) == FLUSH_EVERY - 1


cdef inline double _section(double v, const double* c, double* zz, bint check=True) noexcept nogil:
    """One TDF-II section on one sample: c = b0 b1 b2 a1 a2, zz = its two state values (updated)."""
    cdef double y = c[0] * v + zz[0]
    cdef double z1 = (c[1] * v + zz[1]) - c[3] * y  # feedback last: a shorter recursion
    cdef double z2 = c[2] * v - c[4] * y
    if check and fabs(z1) < 1e-30 and fabs(z2) < 1e-30:  # both: flushing one alone would inject noise
        z1 = 0.0
        z2 = 0.0
    zz[0] = z1
    zz[1] = z2
    return y


cdef void _cascade(float[:, ::1] x, const double[:, ::1] co, double[:, :, ::1] z, Py_ssize_t phase) noexcept nogil:
    cdef Py_ssize_t c, i, s
    cdef Py_ssize_t nc = x.shape[0], n = x.shape[1], ns = co.shape[0]
    cdef double v
    cdef bint check
    # sample by sample, channels interleaved: the channels' (independent) recursions overlap in the CPU
    for i in range(n):
        check = _checks(phase, i)
        for c in range(nc):
            v = x[c, i]
            for s in range(ns):
                v = _section(v, &co[s, 0], &z[c, s, 0], check)
            x[c, i] = <float>v

cdef enum:
    MAX_PAIRED = 64   # sections of the stereo path's local state


cdef void _cascade_stereo(float[:, ::1] x, const double[:, ::1] co, double[:, :, ::1] z,
                          Py_ssize_t phase) noexcept nogil:
    # _cascade for two channels: the same operations in the same order per channel as _section (so the
    # same bits), with the state in a local (section, value, channel) array, raw row pointers, and the
    # denormal flush as a select instead of a branch: about 10 % fewer cycles than _cascade.
    cdef Py_ssize_t i, s, ns = co.shape[0], n = x.shape[1]
    cdef double zz[MAX_PAIRED][2][2]
    cdef double v[2]
    cdef double y[2]
    cdef double z1[2]
    cdef double z2[2]
    cdef double c0, c1, c2, c3, c4
    cdef bint f0, f1, check
    cdef float* xl = &x[0, 0]
    cdef float* xr = &x[1, 0]
    for s in range(ns):
        zz[s][0][0] = z[0, s, 0]
        zz[s][0][1] = z[1, s, 0]
        zz[s][1][0] = z[0, s, 1]
        zz[s][1][1] = z[1, s, 1]
    for i in range(n):
        v[0] = xl[i]
        v[1] = xr[i]
        check = _checks(phase, i)
        for s in range(ns):
            c0 = co[s, 0]
            c1 = co[s, 1]
            c2 = co[s, 2]
            c3 = co[s, 3]
            c4 = co[s, 4]
            y[0] = c0 * v[0] + zz[s][0][0]
            y[1] = c0 * v[1] + zz[s][0][1]
            z1[0] = (c1 * v[0] + zz[s][1][0]) - c3 * y[0]
            z1[1] = (c1 * v[1] + zz[s][1][1]) - c3 * y[1]
            z2[0] = c2 * v[0] - c4 * y[0]
            z2[1] = c2 * v[1] - c4 * y[1]
            f0 = check & (fabs(z1[0]) < 1e-30) & (fabs(z2[0]) < 1e-30)
            f1 = check & (fabs(z1[1]) < 1e-30) & (fabs(z2[1]) < 1e-30)
            zz[s][0][0] = 0.0 if f0 else z1[0]
            zz[s][0][1] = 0.0 if f1 else z1[1]
            zz[s][1][0] = 0.0 if f0 else z2[0]
            zz[s][1][1] = 0.0 if f1 else z2[1]
            v[0] = y[0]
            v[1] = y[1]
        xl[i] = <float>v[0]
        xr[i] = <float>v[1]
    for s in range(ns):
        z[0, s, 0] = zz[s][0][0]
        z[1, s, 0] = zz[s][0][1]
        z[0, s, 1] = zz[s][1][0]
        z[1, s, 1] = zz[s][1][1]


def process_cascade(float[:, ::1] x,             # INOUT (channels, n)
                    const double[:, ::1] coeffs,  # IN    (sections, 5): b0 b1 b2 a1 a2
                    double[:, :, ::1] state,      # INOUT (channels, sections, 2)
                    Py_ssize_t phase=-1):         # IN    samples done before, mod FLUSH_EVERY; -1: flush test every sample
    """Filter x in place through the cascade."""
    if state.shape[0] < x.shape[0] or state.shape[1] != coeffs.shape[0] or coeffs.shape[1] != 5:
        raise ValueError("process_cascade: shapes do not match")
    if coeffs.shape[0] == 0:
        return
    with nogil:
        if x.shape[0] == 2 and coeffs.shape[0] <= MAX_PAIRED and x.shape[1] > 0:
            _cascade_stereo(x, coeffs, state, phase)
        else:
            _cascade(x, coeffs, state, phase)


cdef Py_ssize_t _cascade_ramped(float[:, ::1] x, double[:, ::1] co, const double[:, ::1] target,
                                const double[:, ::1] step, double[:, :, ::1] z, Py_ssize_t left,
                                Py_ssize_t phase) noexcept nogil:
    # Like _cascade, but the coefficients move linearly towards `target` by `step` per sample for
    # `left` more samples (then equal `target` exactly): automation without zipper noise.
    cdef Py_ssize_t c, i, s, j
    cdef Py_ssize_t nc = x.shape[0], n = x.shape[1], ns = co.shape[0]
    cdef double v
    cdef bint check
    for i in range(n):
        if left > 0:
            left -= 1
            for s in range(ns):
                for j in range(5):
                    co[s, j] = target[s, j] if left == 0 else co[s, j] + step[s, j]
        check = _checks(phase, i)
        for c in range(nc):
            v = x[c, i]
            for s in range(ns):
                v = _section(v, &co[s, 0], &z[c, s, 0], check)
            x[c, i] = <float>v
    return left


def process_cascade_ramped(float[:, ::1] x,              # INOUT (channels, n)
                           double[:, ::1] coeffs,         # INOUT (sections, 5) current coefficients
                           const double[:, ::1] target,   # IN    (sections, 5)
                           const double[:, ::1] step,     # IN    (sections, 5) per-sample increment
                           double[:, :, ::1] state,       # INOUT (channels, sections, 2)
                           Py_ssize_t left,               # samples of ramp left
                           Py_ssize_t phase=-1):          # as process_cascade
    """Filter x while the coefficients ramp; returns the samples of ramp still left."""
    if (state.shape[0] < x.shape[0] or state.shape[1] != coeffs.shape[0] or target.shape[0] != coeffs.shape[0]
            or step.shape[0] != coeffs.shape[0]):
        raise ValueError("process_cascade_ramped: shapes do not match")
    cdef Py_ssize_t r
    with nogil:
        r = _cascade_ramped(x, coeffs, target, step, state, left, phase)
    return r


cdef void _cascade_varying(float[:, ::1] x, const double[:, :, ::1] co, double[:, :, ::1] z,
                           Py_ssize_t phase) noexcept nogil:
    # co[i, s, :]: the coefficients of section s at sample i (sample-accurate automation)
    cdef Py_ssize_t c, i, s
    cdef Py_ssize_t nc = x.shape[0], n = x.shape[1], ns = co.shape[1]
    cdef double v
    cdef bint check
    for i in range(n):
        check = _checks(phase, i)
        for c in range(nc):
            v = x[c, i]
            for s in range(ns):
                v = _section(v, &co[i, s, 0], &z[c, s, 0], check)
            x[c, i] = <float>v


def process_cascade_varying(float[:, ::1] x,                # INOUT (channels, n)
                            const double[:, :, ::1] coeffs,  # IN    (n, sections, 5): per-sample coefficients
                            double[:, :, ::1] state,         # INOUT (channels, sections, 2)
                            Py_ssize_t phase=-1):            # as process_cascade
    """Filter x with coefficients that change every sample."""
    if coeffs.shape[0] < x.shape[1] or state.shape[1] != coeffs.shape[1] or state.shape[0] < x.shape[0]:
        raise ValueError("process_cascade_varying: shapes do not match")
    with nogil:
        _cascade_varying(x, coeffs, state, phase)
