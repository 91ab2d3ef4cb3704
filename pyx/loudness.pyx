# cython: language_level=3
"""Loudness meter kernel: K-weighting and 100 ms step energies (ITU-R BS.1770-4).

Per channel: two biquads (pre-filter shelf, RLB high-pass; transposed direct
form II, float64), then the squared K-weighted samples are summed per step of
``hop`` samples (100 ms). Each completed step writes one column of per-channel
sums. Raw (unweighted) sums of x_c^2 and x_0 x_1 are accumulated for RMS and
correlation. Results never depend on how the signal is cut into blocks.
"""
cimport cython
from libc.math cimport fabs


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _meter(const float[:, ::1] x, const double[:, ::1] co, double[:, :, ::1] z, double[::1] acc,
                       long long[::1] cnt, long long hop, double[:, ::1] steps, double[::1] raw,
                       double[::1] peak) noexcept nogil:
    # Channels two at a time (their independent recursions overlap in the CPU), filter state in
    # registers. The 100 ms step boundaries fall on the same samples for every channel.
    cdef Py_ssize_t c, d, i, nc = x.shape[0], n = x.shape[1], col = 0
    cdef long long count
    cdef double v, y, w, u, p1, p2, q1, q2, e1, e2, f1, f2, a, b, ra, rb, pa, pb
    cdef double b10 = co[0, 0], b11 = co[0, 1], b12 = co[0, 2], a11 = co[0, 3], a12 = co[0, 4]
    cdef double b20 = co[1, 0], b21 = co[1, 1], b22 = co[1, 2], a21 = co[1, 3], a22 = co[1, 4]
    c = 0
    while c < nc:
        d = c + 1 if c + 1 < nc else c  # an odd last channel runs paired with itself (its copy is dropped)
        p1 = z[c, 0, 0]; p2 = z[c, 0, 1]; q1 = z[c, 1, 0]; q2 = z[c, 1, 1]
        e1 = z[d, 0, 0]; e2 = z[d, 0, 1]; f1 = z[d, 1, 0]; f2 = z[d, 1, 1]
        a = acc[c]; b = acc[d]; ra = raw[c]; rb = raw[d]; pa = peak[c]; pb = peak[d]
        count = cnt[0]
        col = 0
        for i in range(n):
            v = x[c, i]
            w = x[d, i]
            ra = ra + v * v
            rb = rb + w * w
            if fabs(v) > pa:
                pa = fabs(v)
            if fabs(w) > pb:
                pb = fabs(w)
            # TDF-II, with the feedback term last so the recursion is one multiply and two adds long
            y = b10 * v + p1
            p1 = (b11 * v + p2) - a11 * y
            p2 = b12 * v - a12 * y
            u = b10 * w + e1
            e1 = (b11 * w + e2) - a11 * u
            e2 = b12 * w - a12 * u
            v = y
            w = u
            y = b20 * v + q1
            q1 = (b21 * v + q2) - a21 * y
            q2 = b22 * v - a22 * y
            u = b20 * w + f1
            f1 = (b21 * w + f2) - a21 * u
            f2 = b22 * w - a22 * u
            a = a + y * y
            b = b + u * u
            count = count + 1
            if count == hop:
                steps[c, col] = a
                steps[d, col] = b
                a = 0.0
                b = 0.0
                col = col + 1
                count = 0
        z[c, 0, 0] = p1; z[c, 0, 1] = p2; z[c, 1, 0] = q1; z[c, 1, 1] = q2
        acc[c] = a
        raw[c] = ra
        peak[c] = pa
        if d != c:
            peak[d] = pb
            z[d, 0, 0] = e1; z[d, 0, 1] = e2; z[d, 1, 0] = f1; z[d, 1, 1] = f2
            acc[d] = b
            raw[d] = rb
        c = c + 2
    cnt[0] = count if nc else cnt[0]
    if nc >= 2:
        ra = raw[nc]
        for i in range(n):
            ra = ra + <double>x[0, i] * <double>x[1, i]
        raw[nc] = ra
    return col

def meter_block(const float[:, ::1] x,      # IN    (channels, n)
                const double[:, ::1] coeffs, # IN    (2, 5) K-weighting biquads b0 b1 b2 a1 a2
                double[:, :, ::1] state,     # INOUT (channels, 2, 2)
                double[::1] acc,             # INOUT (channels,) sum of the current step
                long long[::1] count,        # INOUT [samples in the current step]
                long long hop,               # samples per step (100 ms)
                double[:, ::1] steps,        # OUT   (channels, >= n // hop + 1) completed step sums
                double[::1] raw,             # INOUT (channels + 1,) sums of x_c^2, then x_0 x_1
                double[::1] peak):           # INOUT (channels,) sample peaks |x_c|
    """Meter one block; returns how many steps were completed (columns of ``steps`` written)."""
    cdef Py_ssize_t k
    with nogil:
        k = _meter(x, coeffs, state, acc, count, hop, steps, raw, peak)
    return k
