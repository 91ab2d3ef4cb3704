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


cdef extern from *:
    """
    /* Two channels at once in GCC/Clang vector registers (SSE2 on x86-64, NEON on arm64, plain
       scalar code elsewhere). Every lane does exactly the scalar operations in the same order
       (IEEE, no reassociation), so the results equal the scalar path bit for bit. */
    typedef double mc_v2d __attribute__((vector_size(16)));
    typedef long long mc_v2i __attribute__((vector_size(16)));

    static Py_ssize_t mc_kweight_pair(const float *x0, const float *x1, Py_ssize_t n, const double *co,
                                      double *z0, double *z1, double *acc, double *raw, double *peak,
                                      long long *count, long long hop, double *steps0, double *steps1,
                                      double *cross) {
        const mc_v2d b10 = {co[0], co[0]}, b11 = {co[1], co[1]}, b12 = {co[2], co[2]};
        const mc_v2d a11 = {co[3], co[3]}, a12 = {co[4], co[4]};
        const mc_v2d b20 = {co[5], co[5]}, b21 = {co[6], co[6]}, b22 = {co[7], co[7]};
        const mc_v2d a21 = {co[8], co[8]}, a22 = {co[9], co[9]};
        const mc_v2i absmask = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
        mc_v2d p1 = {z0[0], z1[0]}, p2 = {z0[1], z1[1]}, q1 = {z0[2], z1[2]}, q2 = {z0[3], z1[3]};
        mc_v2d a = {acc[0], acc[1]}, r = {raw[0], raw[1]}, pk = {peak[0], peak[1]};
        const mc_v2d zero = {0.0, 0.0};
        long long cnt = *count;
        double cr = cross ? *cross : 0.0;
        Py_ssize_t col = 0, i;
        for (i = 0; i < n; i++) {
            mc_v2d v = {(double)x0[i], (double)x1[i]};
            cr = cr + v[0] * v[1];
            mc_v2d av = (mc_v2d)((mc_v2i)v & absmask);
            mc_v2i gt = (mc_v2i)(av > pk);
            pk = (mc_v2d)(((mc_v2i)av & gt) | ((mc_v2i)pk & ~gt));
            r = r + v * v;
            mc_v2d y = b10 * v + p1;
            p1 = (b11 * v + p2) - a11 * y;
            p2 = b12 * v - a12 * y;
            v = y;
            y = b20 * v + q1;
            q1 = (b21 * v + q2) - a21 * y;
            q2 = b22 * v - a22 * y;
            a = a + y * y;
            if (++cnt == hop) {
                steps0[col] = a[0];
                steps1[col] = a[1];
                col++;
                a = zero;
                cnt = 0;
            }
        }
        z0[0] = p1[0]; z0[1] = p2[0]; z0[2] = q1[0]; z0[3] = q2[0];
        z1[0] = p1[1]; z1[1] = p2[1]; z1[2] = q1[1]; z1[3] = q2[1];
        acc[0] = a[0]; acc[1] = a[1]; raw[0] = r[0]; raw[1] = r[1]; peak[0] = pk[0]; peak[1] = pk[1];
        *count = cnt;
        if (cross) *cross = cr;
        return col;
    }
    """
    Py_ssize_t mc_kweight_pair(const float* x0, const float* x1, Py_ssize_t n, const double* co, double* z0,
                               double* z1, double* acc, double* raw, double* peak, long long* count,
                               long long hop, double* steps0, double* steps1, double* cross) nogil

@cython.boundscheck(False)
@cython.wraparound(False)
cdef Py_ssize_t _meter(const float[:, ::1] x, const double[:, ::1] co, double[:, :, ::1] z, double[::1] acc,
                       long long[::1] cnt, long long hop, double[:, ::1] steps, double[::1] raw,
                       double[::1] peak) noexcept nogil:
    # Channels two at a time (mc_kweight_pair); an odd last channel is paired with itself and its copy
    # dropped. The 100 ms step boundaries fall on the same samples for every channel.
    cdef Py_ssize_t c, d, i, nc = x.shape[0], n = x.shape[1], col = 0
    cdef long long count = cnt[0], start = cnt[0]
    cdef double zc[4]
    cdef double zd[4]
    cdef double accp[2]
    cdef double rawp[2]
    cdef double pkp[2]
    c = 0
    while c < nc:
        d = c + 1 if c + 1 < nc else c
        for i in range(2):
            zc[2 * i] = z[c, i, 0]
            zc[2 * i + 1] = z[c, i, 1]
            zd[2 * i] = z[d, i, 0]
            zd[2 * i + 1] = z[d, i, 1]
        accp[0] = acc[c]; accp[1] = acc[d]
        rawp[0] = raw[c]; rawp[1] = raw[d]
        pkp[0] = peak[c]; pkp[1] = peak[d]
        count = start
        col = mc_kweight_pair(&x[c, 0] if n else NULL, &x[d, 0] if n else NULL, n, &co[0, 0], zc, zd, accp,
                              rawp, pkp, &count, hop, &steps[c, 0], &steps[d, 0],
                              &raw[nc] if (c == 0 and nc >= 2) else NULL)
        for i in range(2):
            z[c, i, 0] = zc[2 * i]
            z[c, i, 1] = zc[2 * i + 1]
        acc[c] = accp[0]; raw[c] = rawp[0]; peak[c] = pkp[0]
        if d != c:
            for i in range(2):
                z[d, i, 0] = zd[2 * i]
                z[d, i, 1] = zd[2 * i + 1]
            acc[d] = accp[1]; raw[d] = rawp[1]; peak[d] = pkp[1]
        c = c + 2
    cnt[0] = count
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
