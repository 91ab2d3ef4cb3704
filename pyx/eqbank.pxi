"""Biquad cascades of many EQs in one call: SIMD across lanes (a lane = one channel of one EQ).

Each lane runs exactly biquad.pyx's ``_section`` arithmetic in float64 (TDF-II: y = b0 v + z1,
z1 = (b1 v + z2) - a1 y, z2 = b2 v - a2 y; a section's two state values flushed to zero together when
both are under 1e-30, tested after every 16th sample of the stream: biquad.pyx's rule with a phase,
which keeps the test out of 15 samples in 16), v kept in float64 through all sections and rounded to float32 once, so a lane's
output and state are bit-identical to ``process_cascade`` (compiled with ``-ffp-contract=off``, like
biquad.pyx, so no machine fuses a multiply-add in one and not the other).

Why by hand: one channel's cascade is a latency-bound recursion (about 12 cycles per section and
sample); LG = 16 lanes side by side fill the vector units instead. Lanes go in groups of 16 (padded
with silent identity lanes); a group's block is cut into chunks of CH samples, transposed to
(sample, lane) float64, run section by section, and written back. The section loop is written with
GCC vector types (two doubles per SSE2 register, four per AVX register in the eqbank_avx2 build,
see mixcore/simd.py) because Cython cannot say "these 16 lanes in vectors": with plain loops GCC
unrolls the lane loop and leaves most of it scalar (measured slower than one channel at a time).
"""
cimport cython
from libc.stdlib cimport calloc, free, malloc

DEF LG = 16     # lanes per group (mc_sections below assumes 16: four vectors of four)
DEF CH = 128    # samples per chunk: CH * LG float64 = 16 KiB, in L1

cdef extern from *:
    """
    /* W doubles per vector: 4 with AVX (the eqbank_avx2 build), 2 with SSE2 (a 4-wide type on SSE2 is
       split badly by GCC: measured 5x slower than 2-wide) */
    #ifdef __AVX__
    #define MC_W 4
    #else
    #define MC_W 2
    #endif
    #define MC_NV (16 / MC_W)
    typedef double mc_vd __attribute__((vector_size(8 * MC_W)));
    typedef long long mc_vl __attribute__((vector_size(8 * MC_W)));

    /* xb: m samples x 16 lanes (float64, in place); co: per section 5 rows of 16 (b0 b1 b2 a1 a2);
       zz: per section 2 rows of 16 (z1 z2), updated. */
    static void mc_sections(double *xb, Py_ssize_t m, const double *co, double *zz, Py_ssize_t ns,
                            Py_ssize_t ph)
    {
        /* ph: the stream position of sample 0, modulo 16; the flush test runs after samples at
           positions 15 mod 16 only (biquad.pyx's rule with a phase) */
        mc_vl absmask;
        mc_vd tiny;
        for (int w = 0; w < MC_W; w++) { absmask[w] = 0x7fffffffffffffffLL; tiny[w] = 1e-30; }
        for (Py_ssize_t s = 0; s < ns; s++) {
            const double *c = co + s * 5 * 16;
            double *z = zz + s * 2 * 16;
            mc_vd c0[MC_NV], c1[MC_NV], c2[MC_NV], c3[MC_NV], c4[MC_NV], z1[MC_NV], z2[MC_NV];
            for (int k = 0; k < MC_NV; k++) {
                __builtin_memcpy(&c0[k], c + 0 * 16 + MC_W * k, sizeof(mc_vd));
                __builtin_memcpy(&c1[k], c + 1 * 16 + MC_W * k, sizeof(mc_vd));
                __builtin_memcpy(&c2[k], c + 2 * 16 + MC_W * k, sizeof(mc_vd));
                __builtin_memcpy(&c3[k], c + 3 * 16 + MC_W * k, sizeof(mc_vd));
                __builtin_memcpy(&c4[k], c + 4 * 16 + MC_W * k, sizeof(mc_vd));
                __builtin_memcpy(&z1[k], z + 0 * 16 + MC_W * k, sizeof(mc_vd));
                __builtin_memcpy(&z2[k], z + 1 * 16 + MC_W * k, sizeof(mc_vd));
            }
            for (Py_ssize_t t = 0; t < m; t++) {
                double *q = xb + t * 16;
                if (((ph + t) & 15) != 15) {
                    for (int k = 0; k < MC_NV; k++) {
                        mc_vd v, y;
                        __builtin_memcpy(&v, q + MC_W * k, sizeof(mc_vd));
                        y = c0[k] * v + z1[k];
                        z1[k] = (c1[k] * v + z2[k]) - c3[k] * y;
                        z2[k] = c2[k] * v - c4[k] * y;
                        __builtin_memcpy(q + MC_W * k, &y, sizeof(mc_vd));
                    }
                } else {
                    for (int k = 0; k < MC_NV; k++) {
                        mc_vd v, y, a, b;
                        __builtin_memcpy(&v, q + MC_W * k, sizeof(mc_vd));
                        y = c0[k] * v + z1[k];
                        a = (c1[k] * v + z2[k]) - c3[k] * y;
                        b = c2[k] * v - c4[k] * y;
                        mc_vl keep = ((mc_vd)((mc_vl)a & absmask) >= tiny)
                                   | ((mc_vd)((mc_vl)b & absmask) >= tiny);
                        z1[k] = (mc_vd)((mc_vl)a & keep);
                        z2[k] = (mc_vd)((mc_vl)b & keep);
                        __builtin_memcpy(q + MC_W * k, &y, sizeof(mc_vd));
                    }
                }
            }
            for (int k = 0; k < MC_NV; k++) {
                __builtin_memcpy(z + 0 * 16 + MC_W * k, &z1[k], sizeof(mc_vd));
                __builtin_memcpy(z + 1 * 16 + MC_W * k, &z2[k], sizeof(mc_vd));
            }
        }
    }
    """
    void mc_sections(double* xb, Py_ssize_t m, const double* co, double* zz, Py_ssize_t ns, Py_ssize_t ph) nogil


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _group(float** xp, double** cp, double** zp, Py_ssize_t ns, Py_ssize_t n, double* co,
                 double* zz, Py_ssize_t phase) noexcept nogil:
    # xp[l]: lane l's samples (n); cp[l]: its coefficients (ns x 5); zp[l]: its state (ns x 2);
    # co, zz: room for the group's coefficients (ns x 5 x LG) and state (ns x 2 x LG), lane-minor.
    # (Transposing with register shuffles instead of the plain loops below measured no faster.)
    cdef double xb[CH * LG]
    cdef Py_ssize_t i0, m, s, t, l, k
    cdef float* p
    for s in range(ns):
        for k in range(5):
            for l in range(LG):
                co[(s * 5 + k) * LG + l] = cp[l][s * 5 + k]
        for k in range(2):
            for l in range(LG):
                zz[(s * 2 + k) * LG + l] = zp[l][s * 2 + k]
    i0 = 0
    while i0 < n:
        m = n - i0 if n - i0 < CH else CH
        for l in range(LG):
            p = xp[l] + i0
            for t in range(m):
                xb[t * LG + l] = p[t]
        mc_sections(xb, m, co, zz, ns, (phase + i0) % 16)
        for l in range(LG):
            p = xp[l] + i0
            for t in range(m):
                p[t] = <float>xb[t * LG + l]
        i0 += m
    for s in range(ns):
        for k in range(2):
            for l in range(LG):
                zp[l][s * 2 + k] = zz[(s * 2 + k) * LG + l]


def cascade_bank(list blocks, list coeffs, list states, Py_ssize_t phase):
    """Filter every blocks[i] (float32 (channels, n)) in place through its cascade coeffs[i]
    (float64 (sections, 5)) with state states[i] (float64 (channels >= block's, sections, 2)); all
    of one n, one number of sections and one stream position (``phase``: samples done before,
    modulo 16). Same bits as ``biquad.process_cascade(block, coeffs, state, phase)`` on each."""
    if phase < 0:
        raise ValueError("cascade_bank: phase must be >= 0")
    cdef Py_ssize_t nb = len(blocks), i, c, l, g, L, ns, n, nl
    if len(coeffs) != nb or len(states) != nb:
        raise ValueError("cascade_bank: one coefficient array and one state per block")
    if nb == 0:
        return
    cdef float[:, ::1] xv
    cdef const double[:, ::1] cv
    cdef double[:, :, ::1] sv
    n = (<object>blocks[0]).shape[1]
    ns = (<object>coeffs[0]).shape[0]
    L = 0
    for i in range(nb):
        xv = blocks[i]
        cv = coeffs[i]
        sv = states[i]
        if xv.shape[1] != n or cv.shape[0] != ns or cv.shape[1] != 5 or sv.shape[0] < xv.shape[0] or sv.shape[1] != ns:
            raise ValueError("cascade_bank: shapes do not match")
        L += xv.shape[0]
    if n == 0 or ns == 0 or L == 0:
        return
    nl = (L + LG - 1) // LG * LG
    cdef float** xp = <float**>malloc(nl * sizeof(float*))
    cdef double** cp = <double**>malloc(nl * sizeof(double*))
    cdef double** zp = <double**>malloc(nl * sizeof(double*))
    cdef float* pad = <float*>calloc(n, sizeof(float))          # silent input of the padding lanes
    cdef double* padc = <double*>calloc(ns * 5, sizeof(double))  # identity sections (b0 = 1)
    cdef double* padz = <double*>calloc(ns * 2, sizeof(double))
    cdef double* co = <double*>malloc(ns * 5 * LG * sizeof(double))
    cdef double* zz = <double*>malloc(ns * 2 * LG * sizeof(double))
    try:
        if (xp == NULL or cp == NULL or zp == NULL or pad == NULL or padc == NULL or padz == NULL or co == NULL
                or zz == NULL):
            raise MemoryError()
        for i in range(ns):
            padc[i * 5] = 1.0
        l = 0
        for i in range(nb):
            xv = blocks[i]
            cv = coeffs[i]
            sv = states[i]
            for c in range(xv.shape[0]):
                xp[l] = &xv[c, 0]
                cp[l] = <double*>&cv[0, 0]
                zp[l] = &sv[c, 0, 0]
                l += 1
        while l < nl:
            xp[l] = pad
            cp[l] = padc
            zp[l] = padz
            l += 1
        with nogil:
            for g in range(0, nl, LG):
                _group(&xp[g], &cp[g], &zp[g], ns, n, co, zz, phase % 16)
    finally:
        free(xp)
        free(cp)
        free(zp)
        free(pad)
        free(padc)
        free(padz)
        free(co)
        free(zz)
