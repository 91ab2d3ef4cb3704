# cython: language_level=3
"""Loudness meter kernel: K-weighting and 100 ms step energies (ITU-R BS.1770-4).

Per channel: two biquads (pre-filter shelf, RLB high-pass; transposed direct
form II, float64), then the squared K-weighted samples are summed per step of
``hop`` samples (100 ms). Each completed step writes one column of per-channel
sums. Raw (unweighted) sums of x_c^2 and x_0 x_1 are accumulated for RMS and
correlation. Results never depend on how the signal is cut into blocks.
"""
cimport cython


@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _meter(const float[:, ::1] x, const double[:, ::1] co, double[:, :, ::1] z, double[::1] acc,
                       long long[::1] cnt, long long hop, double[:, ::1] steps, double[::1] raw) noexcept nogil:
    cdef Py_ssize_t c, i, s, n = x.shape[1], nc = x.shape[0], emitted = 0
    cdef double v, y, z1, z2, xl
    for i in range(n):
        for c in range(nc):
            v = x[c, i]
            raw[c] += v * v
            for s in range(2):
                z1 = z[c, s, 0]
                z2 = z[c, s, 1]
                y = co[s, 0] * v + z1
                z[c, s, 0] = co[s, 1] * v - co[s, 3] * y + z2
                z[c, s, 1] = co[s, 2] * v - co[s, 4] * y
                v = y
            acc[c] += v * v
        if nc >= 2:
            raw[nc] += <double>x[0, i] * <double>x[1, i]
        cnt[0] += 1
        if cnt[0] == hop:
            for c in range(nc):
                steps[c, emitted] = acc[c]
                acc[c] = 0.0
            emitted += 1
            cnt[0] = 0
    return emitted


def meter_block(const float[:, ::1] x,      # IN    (channels, n)
                const double[:, ::1] coeffs, # IN    (2, 5) K-weighting biquads b0 b1 b2 a1 a2
                double[:, :, ::1] state,     # INOUT (channels, 2, 2)
                double[::1] acc,             # INOUT (channels,) sum of the current step
                long long[::1] count,        # INOUT [samples in the current step]
                long long hop,               # samples per step (100 ms)
                double[:, ::1] steps,        # OUT   (channels, >= n // hop + 1) completed step sums
                double[::1] raw):            # INOUT (channels + 1,) sums of x_c^2, then x_0 x_1
    """Meter one block; returns how many steps were completed (columns of ``steps`` written)."""
    cdef Py_ssize_t k
    with nogil:
        k = _meter(x, coeffs, state, acc, count, hop, steps, raw)
    return k
