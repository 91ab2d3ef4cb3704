"""Feed-forward compressor kernel (Giannoulis, Massberg & Reiss, JAES 2012).

Per sample, channels linked:
    level  = max_c |key[c]|                      (peak)   or sqrt(ms), ms += (max_c key^2 - ms)(1 - a_rms)   (rms)
    x_db   = 20 log10(max(level, 1e-10))
    over   = x_db - T
    g_c    = 0                                     if x_db < T - W/2             (below the knee)
             (1/R - 1)(over + W/2)^2 / (2W)        if |2 over| <= W, W > 0      (in the knee)
             (1/R - 1) over                        otherwise                   (= T + over/R - x_db)
    a      = a_A if g_c < g else a_R               (attack while the gain falls, release while it rises)
    g      = g_c + a (g - g_c)                      (one-pole smoothing in dB; |g| < 1e-12 dB flushes to 0)
    y      = x (1 + mix (10^((g + makeup)/20) - 1))
with a_A = exp(-1 / (attack_s fs)), a_R = exp(-1 / (release_s fs)); makeup ramps linearly (smooth.pxd)
unless it is given per sample.

Every parameter is either one value for the whole call or one value per sample (sample-accurate
automation); both run the same code. The work is cut into chunks of CHUNK samples, each in four
passes, so that only the one true recursion (the smoothing of g, a compare and two flops per sample,
in float64) runs sample by sample, and the dB conversions run in branch-free float32 loops the
compiler vectorises four samples wide (SSE2; no fast-math: the same IEEE operations per element
whatever the lane, so the same bits on every run):
    1. level per sample (float32: exact for the peak detector) and the chunk's largest level;
    2. static curve: skipped (g_c = 0) when the chunk's largest level is under the lowest knee start
       in the chunk by more than log2f_nb's error; else log2 + curve per sample (fastmath.pxd
       ``log2f_nb``, about 2e-5 dB);
    3. smoothing recursion (float64), makeup, gain in dB;
    4. 10^(dB/20) per sample (fastmath.pxd ``exp2f_nb``, 1.1e-7 relative) and the multiply, skipped
       when every gain of the chunk is exactly 0 dB (unity).
Each sample's result depends only on its own values and the state, never on the chunking or on the
block size. Errors against the float64 formula: well under 1e-4 dB (tests/test_compressor_automation.py
compares with an independent float64 reference at a relative 2e-6).
"""
cimport cython
from fastmath cimport exp2f_nb, log2f_nb
from libc.math cimport fabs, fabsf, sqrt
from libc.stdlib cimport calloc, free, malloc
from smooth cimport smooth_next

DEF CHUNK = 256
DEF LOG_FLOOR = 1e-10
DEF DB_PER_LOG2 = 6.020599913279624        # 20 log10(2)
DEF LOG2_PER_DB = 0.16609640474436813      # 1 / (20 log10(2))
DEF G_FLUSH = 1e-12                         # dB: a smoothed gain this close to 0 dB is 0 dB (10^-13 relative)

# parameter rows (params array, shape (NPARAM, 1) or (NPARAM, n))
DEF P_T = 0        # threshold, dB
DEF P_RM1 = 1      # 1/ratio - 1
DEF P_W = 2        # knee width, dB
DEF P_AA = 3       # attack coefficient
DEF P_AR = 4       # release coefficient
DEF P_MK = 5       # makeup, dB (used only when given per sample; else the makeup ramp runs)
DEF P_MIX = 6      # wet share
DEF NPARAM = 7


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline float _pass_peak_level(const float* key, Py_ssize_t stride, Py_ssize_t nk, Py_ssize_t m,
                                   float* level) noexcept nogil:
    # 1. peak detector level (float32: exact), channels linked; returns the chunk's largest level.
    # key: channel 0 of the chunk, channel c at key + c * stride
    cdef Py_ssize_t j, c
    cdef const float* kc = key
    cdef float lf, peak
    for j in range(m):
        level[j] = fabsf(kc[j])
    for c in range(1, nk):
        kc = key + c * stride
        for j in range(m):
            lf = fabsf(kc[j])
            level[j] = lf if lf > level[j] else level[j]
    return _largest(level, m)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline float _largest(const float* v, Py_ssize_t m) noexcept nogil:
    # max(0, v[0], ..., v[m-1]) ignoring NaNs, in eight interleaved running maxima (one dependent
    # chain of compares per sample would cost ~4 cycles each); the maximum of a set is the same
    # value whatever the order it is taken in (levels are >= +0, so no signed-zero ties).
    cdef float acc[8]
    cdef Py_ssize_t j, k
    cdef float peak = 0.0
    for k in range(8):
        acc[k] = 0.0
    j = 0
    while j + 8 <= m:
        for k in range(8):
            acc[k] = v[j + k] if v[j + k] > acc[k] else acc[k]
        j += 8
    while j < m:
        acc[0] = v[j] if v[j] > acc[0] else acc[0]
        j += 1
    for k in range(8):
        peak = acc[k] if acc[k] > peak else peak
    return peak


cdef inline float _curve(float lf, float T, float W, float Rm1, bint divide) noexcept nogil:
    # the static curve of one level (branch-free: selects between computed values only, so the loops
    # that call it vectorise). divide=False is only for W == 0, where wf is 1 and kf / wf is kf.
    cdef float xf, of, hf, wf, kf, ff
    cdef bint below, inknee
    lf = lf if lf > <float>LOG_FLOOR else <float>LOG_FLOOR
    xf = <float>DB_PER_LOG2 * log2f_nb(lf)
    of = xf - T
    hf = of + <float>0.5 * W
    kf = Rm1 * hf * hf
    if divide:
        wf = <float>2.0 * W
        wf = wf if wf > <float>0.0 else <float>1.0
        kf = kf / wf
    ff = Rm1 * of
    below = xf < T - <float>0.5 * W
    inknee = <float>2.0 * fabsf(of) <= W
    kf = kf if inknee else ff
    return <float>0.0 if below else kf


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void _pass_curve(const float* level, float peak, Py_ssize_t m, const float* fT, const float* fW,
                             const float* fRm1, float* gc, bint constant) noexcept nogil:
    # 2. static curve in float32 (the knee starts at T - W/2 dB; below it the gain change is 0).
    # A chunk is skipped only when its loudest sample is under the lowest knee start by a margin
    # (1e-3 dB) larger than log2f_nb's error, so that every sample in it would give 0 here too.
    cdef Py_ssize_t j
    cdef float lo, lk
    lo = fT[0] - <float>0.5 * fW[0]
    if not constant:  # the lowest knee start in the chunk (with constants: every one is lo)
        for j in range(m):
            lk = fT[j] - <float>0.5 * fW[j]
            lo = lk if lk < lo else lo
    if peak < LOG_FLOOR or <float>DB_PER_LOG2 * log2f_nb(peak) < lo - <float>1e-3:
        for j in range(m):
            gc[j] = 0.0
    elif constant and fW[0] == <float>0.0:  # no knee: the division by wf = 1 is left out (same bits)
        for j in range(m):
            gc[j] = _curve(level[j], fT[j], fW[j], fRm1[j], False)
    else:
        for j in range(m):
            gc[j] = _curve(level[j], fT[j], fW[j], fRm1[j], True)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void _pass_apply(float* x, Py_ssize_t stride, Py_ssize_t nc, Py_ssize_t m, const double* gdb,
                             const float* fMix, float* fg) noexcept nogil:
    # 4. dB -> linear, apply: in float32, four samples per instruction (the gain's error is 1.1e-7).
    # x: channel 0 of the chunk, channel c at x + c * stride
    cdef Py_ssize_t j, c
    cdef float lf
    cdef float* xc
    for j in range(m):
        fg[j] = <float>(gdb[j] * LOG2_PER_DB)
    for j in range(m):
        lf = exp2f_nb(fg[j])
        fg[j] = <float>1.0 + fMix[j] * (lf - <float>1.0)   # exactly 1 at 0 dB, for any mix
    for c in range(nc):
        xc = x + c * stride
        for j in range(m):
            xc[j] = xc[j] * fg[j]


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _compress(float[:, ::1] x, const float[:, ::1] key, double[::1] st, const double[:, ::1] p,
                    bint varying, bint rms, double a_rms, double[::1] makeup) noexcept nogil:
    # st: [g (smoothed gain, dB), ms (rms detector), max gain reduction seen (dB)]
    cdef Py_ssize_t n = x.shape[1], nc = x.shape[0], nk = key.shape[0]
    cdef double g = st[0], ms = st[1], gr_max = st[2]
    cdef float level[CHUNK]
    cdef float gc[CHUNK]
    cdef float fT[CHUNK]
    cdef float fW[CHUNK]
    cdef float fRm1[CHUNK]
    cdef double gdb[CHUNK]
    cdef double cT[CHUNK]
    cdef double cRm1[CHUNK]
    cdef double cW[CHUNK]
    cdef double cAA[CHUNK]
    cdef double cAR[CHUNK]
    cdef double cMix[CHUNK]
    cdef double cMk[CHUNK]
    cdef float fg[CHUNK]
    cdef float fMix[CHUNK]
    cdef const double* T
    cdef const double* Rm1
    cdef const double* W
    cdef const double* aA
    cdef const double* aR
    cdef const double* mkv
    cdef const double* mix
    cdef Py_ssize_t i0, m, j, c
    cdef double v, a
    cdef float peak
    cdef bint unity
    if not varying:  # constants: fill the chunk arrays once
        for j in range(CHUNK):
            cT[j] = p[P_T, 0]
            cRm1[j] = p[P_RM1, 0]
            cW[j] = p[P_W, 0]
            cAA[j] = p[P_AA, 0]
            cAR[j] = p[P_AR, 0]
            cMix[j] = p[P_MIX, 0]
            fT[j] = <float>p[P_T, 0]
            fW[j] = <float>p[P_W, 0]
            fRm1[j] = <float>p[P_RM1, 0]
            fMix[j] = <float>p[P_MIX, 0]
        T, Rm1, W, aA, aR, mix = cT, cRm1, cW, cAA, cAR, cMix
    i0 = 0
    while i0 < n:
        m = n - i0 if n - i0 < CHUNK else CHUNK
        if varying:
            T, Rm1, W = &p[P_T, i0], &p[P_RM1, i0], &p[P_W, i0]
            aA, aR, mkv, mix = &p[P_AA, i0], &p[P_AR, i0], &p[P_MK, i0], &p[P_MIX, i0]
        # 1. detector level (float32: exact for the peak detector)
        if rms:
            for j in range(m):
                v = 0.0
                for c in range(nk):
                    if key[c, i0 + j] * key[c, i0 + j] > v:
                        v = key[c, i0 + j] * key[c, i0 + j]
                ms = ms + (v - ms) * (1.0 - a_rms)
                if ms < 1e-30:
                    ms = 0.0
                level[j] = <float>sqrt(ms)
            peak = _largest(level, m)
        else:
            peak = _pass_peak_level(&key[0, i0], key.shape[1], nk, m, level)
        if varying:
            for j in range(m):
                fT[j] = <float>T[j]
                fW[j] = <float>W[j]
                fRm1[j] = <float>Rm1[j]
        # 2. static curve
        _pass_curve(level, peak, m, fT, fW, fRm1, gc, not varying)
        # 3. smoothing (the recursion), makeup
        if not varying:
            if makeup[3] > 0.0:  # the makeup ramp is moving: its values for this chunk
                for j in range(m):
                    cMk[j] = smooth_next(&makeup[0])
            else:
                for j in range(m):
                    cMk[j] = makeup[0]
            mkv = cMk
        unity = True
        for j in range(m):
            a = aA[j] if gc[j] < g else aR[j]
            g = gc[j] + a * (g - gc[j])
            g = 0.0 if fabs(g) < G_FLUSH else g
            gr_max = g if g < gr_max else gr_max
            v = g + mkv[j]
            gdb[j] = v
            unity = unity & (v == 0.0)
        # 4. dB -> linear, apply
        if not unity:
            if varying:
                for j in range(m):
                    fMix[j] = <float>mix[j]
            _pass_apply(&x[0, i0], x.shape[1], nc, m, gdb, fMix, fg)
        i0 += m
    if varying and n > 0:  # the ramp continues from the last per-sample makeup
        makeup[0] = p[P_MK, n - 1]
        makeup[1] = p[P_MK, n - 1]
        makeup[3] = 0.0
    st[0] = g
    st[1] = ms
    st[2] = gr_max


def process_compressor(float[:, ::1] x,         # INOUT (channels, n)
                       const float[:, ::1] key,  # IN    (key channels, n): the detector's input
                       double[::1] state,        # INOUT [gain dB, rms ms, max gain reduction dB]
                       const double[:, ::1] params,  # IN (7, 1) constants or (7, n) per sample, rows:
                                                 #   threshold, 1/ratio - 1, knee, a_attack, a_release,
                                                 #   makeup dB (per sample only), mix
                       bint per_sample,          # IN    params has one column per sample
                       bint rms, double a_rms,   # IN    detector: rms (mean-square one-pole a_rms) or peak
                       double[::1] makeup):      # INOUT makeup ramp (dB), smooth.pxd
    """Compress x in place, detecting on key (which may be x itself)."""
    if key.shape[1] != x.shape[1] or key.shape[0] < 1:
        raise ValueError("process_compressor: key and input lengths differ")
    if params.shape[0] != NPARAM or params.shape[1] != (x.shape[1] if per_sample else 1):
        raise ValueError("process_compressor: params must have shape (7, 1), or (7, n) per sample")
    if state.shape[0] < 3 or makeup.shape[0] < 4:
        raise ValueError("process_compressor: state needs 3 values and makeup 4")
    with nogil:
        _compress(x, key, state, params, per_sample, rms, a_rms, makeup)


@cython.boundscheck(False)
@cython.wraparound(False)
def ramp_values(double[::1] ramp, double[::1] out):
    """Advance a smooth.pxd ramp over len(out) samples, writing each value (makeup under automation)."""
    cdef Py_ssize_t i
    if ramp.shape[0] < 4:
        raise ValueError("ramp_values: the ramp needs 4 values")
    with nogil:
        for i in range(out.shape[0]):
            out[i] = smooth_next(&ramp[0])


# -- many compressors in one call ----------------------------------------------------------------
# The common case of a session's tracks -- constant parameters, peak detector, the block as its own
# key, makeup not gliding -- for many compressors at once. Passes 1, 2 and 4 run per lane exactly as
# in _compress (the same inline functions); pass 3, the smoothing recursion that bounds one
# compressor (a compare and two flops per sample, in float64, about 13 cycles of latency), runs
# across the lanes in GCC vectors (two doubles per SSE2 register, four per AVX register in the
# compressor_avx2 build), several lanes' recursions side by side. Written in C because Cython cannot
# say "these lanes in vectors". Same operations per lane as _compress's pass 3, so the same bits.

cdef extern from *:
    """
    #ifdef __AVX__
    #define MCC_W 4
    #else
    #define MCC_W 2
    #endif
    typedef double mcc_vd __attribute__((vector_size(8 * MCC_W)));
    typedef long long mcc_vl __attribute__((vector_size(8 * MCC_W)));
    typedef float mcc_vf __attribute__((vector_size(4 * MCC_W)));
    #define MCC_NB (16 / MCC_W)  /* vectors in a group of 16 lanes */

    /* r[w]: MCC_W consecutive samples of lane w -> c[t]: sample t of the MCC_W lanes (and back: the
       same shuffles transpose either way) */
    static inline void mcc_transpose(const mcc_vd *r, mcc_vd *c)
    {
    #if MCC_W == 4
        const mcc_vl even = {0, 4, 2, 6}, odd = {1, 5, 3, 7}, lo = {0, 1, 4, 5}, hi = {2, 3, 6, 7};
        mcc_vd t0 = __builtin_shuffle(r[0], r[1], even), t1 = __builtin_shuffle(r[0], r[1], odd);
        mcc_vd t2 = __builtin_shuffle(r[2], r[3], even), t3 = __builtin_shuffle(r[2], r[3], odd);
        c[0] = __builtin_shuffle(t0, t2, lo);
        c[1] = __builtin_shuffle(t1, t3, lo);
        c[2] = __builtin_shuffle(t0, t2, hi);
        c[3] = __builtin_shuffle(t1, t3, hi);
    #else
        const mcc_vl first = {0, 2}, second = {1, 3};
        c[0] = __builtin_shuffle(r[0], r[1], first);
        c[1] = __builtin_shuffle(r[0], r[1], second);
    #endif
    }

    /* Selects of the recursion in one instruction where the ISA has one (same values as the
       portable bitwise forms below them: MINPD is exactly "x < y ? x : y", BLENDVPD picks by the
       mask's sign bits, which compares set to all ones or zeros). */
    static inline mcc_vd mcc_min(mcc_vd x, mcc_vd y)
    {
    #if defined(__AVX__)
        return __builtin_ia32_minpd256(x, y);
    #elif defined(__SSE2__)
        return __builtin_ia32_minpd(x, y);
    #else
        mcc_vl lower = x < y;
        return (mcc_vd)(((mcc_vl)x & lower) | ((mcc_vl)y & ~lower));
    #endif
    }
    static inline mcc_vd mcc_select(mcc_vl mask, mcc_vd yes, mcc_vd no)
    {
    #if defined(__AVX__)
        return __builtin_ia32_blendvpd256(no, yes, (mcc_vd)mask);
    #else
        return (mcc_vd)(((mcc_vl)yes & mask) | ((mcc_vl)no & ~mask));
    #endif
    }

    /* Pass 3 for lanes k0 .. k0 + nb * MCC_W - 1: gc, lane l's static-curve gains (float32) at
       gc + l * rs, m of them; g, grm: smoothed gain and largest reduction per lane (updated);
       aA, aR: one-pole coefficients; mk: makeup (dB); out: lane l's gains in dB at gdb + l * rs;
       nonunity[l] set when a gain of lane l is not 0 dB. Lanes stay in rows (what passes 2 and 4
       read and write) and are turned into vectors by register shuffles, MCC_W samples at a time;
       the nb vectors' recursions run side by side. */
    static inline __attribute__((always_inline)) void mcc_smooth_group(
        const float *gc, Py_ssize_t m, Py_ssize_t k0, int nb, Py_ssize_t rs, double *g, double *grm,
        const double *aA, const double *aR, const double *mk, double *gdb, long long *nonunity)
    {
        mcc_vl absmask;
        mcc_vd flush;
        for (int w = 0; w < MCC_W; w++) { absmask[w] = 0x7fffffffffffffffLL; flush[w] = 1e-12; }
        mcc_vd vg[MCC_NB], vgrm[MCC_NB], vaA[MCC_NB], vaR[MCC_NB], vmk[MCC_NB];
        mcc_vl nz[MCC_NB];  /* the OR of the bits of every gain: nonzero apart from the sign = not 0 dB */
        for (int b = 0; b < nb; b++) {
            Py_ssize_t k = k0 + b * MCC_W;
            __builtin_memcpy(&vg[b], g + k, sizeof(mcc_vd));
            __builtin_memcpy(&vgrm[b], grm + k, sizeof(mcc_vd));
            __builtin_memcpy(&vaA[b], aA + k, sizeof(mcc_vd));
            __builtin_memcpy(&vaR[b], aR + k, sizeof(mcc_vd));
            __builtin_memcpy(&vmk[b], mk + k, sizeof(mcc_vd));
            for (int w = 0; w < MCC_W; w++) nz[b][w] = 0;
        }
        /* one step of the recursion for the MCC_W lanes of vector b: gain gcv in, gain in dB out */
        #define MCC_STEP(b, gcv, out) do { \
            mcc_vd a = mcc_select((gcv) < vg[b], vaA[b], vaR[b]);  /* a = aA if gc < g else aR */ \
            mcc_vd x = (gcv) + a * (vg[b] - (gcv)); \
            mcc_vl small = (mcc_vd)((mcc_vl)x & absmask) < flush;  /* |g| < 1e-12 dB: 0 dB */ \
            x = (mcc_vd)((mcc_vl)x & ~small); \
            vg[b] = x; \
            vgrm[b] = mcc_min(x, vgrm[b]);                       /* gr_max = g if g < gr_max else gr_max */ \
            (out) = x + vmk[b]; \
            nz[b] |= (mcc_vl)(out); \
        } while (0)
        Py_ssize_t j = 0;
        for (; j + MCC_W <= m; j += MCC_W) {
            mcc_vd cols[MCC_NB][MCC_W], outs[MCC_NB][MCC_W];
            for (int b = 0; b < nb; b++) {
                mcc_vd rows[MCC_W];
                for (int w = 0; w < MCC_W; w++) {
                    mcc_vf f;
                    __builtin_memcpy(&f, gc + (k0 + b * MCC_W + w) * rs + j, sizeof(mcc_vf));
                    rows[w] = __builtin_convertvector(f, mcc_vd);
                }
                mcc_transpose(rows, cols[b]);
            }
            for (int t = 0; t < MCC_W; t++)
                for (int b = 0; b < nb; b++) MCC_STEP(b, cols[b][t], outs[b][t]);
            for (int b = 0; b < nb; b++) {
                mcc_vd rows[MCC_W];
                mcc_transpose(outs[b], rows);
                for (int w = 0; w < MCC_W; w++)
                    __builtin_memcpy(gdb + (k0 + b * MCC_W + w) * rs + j, &rows[w], sizeof(mcc_vd));
            }
        }
        for (; j < m; j++) {  /* the rest, element by element */
            for (int b = 0; b < nb; b++) {
                Py_ssize_t k = k0 + b * MCC_W;
                mcc_vd gcv, v;
                for (int w = 0; w < MCC_W; w++) gcv[w] = gc[(k + w) * rs + j];
                MCC_STEP(b, gcv, v);
                for (int w = 0; w < MCC_W; w++) gdb[(k + w) * rs + j] = v[w];
            }
        }
        #undef MCC_STEP
        for (int b = 0; b < nb; b++) {
            Py_ssize_t k = k0 + b * MCC_W;
            __builtin_memcpy(g + k, &vg[b], sizeof(mcc_vd));
            __builtin_memcpy(grm + k, &vgrm[b], sizeof(mcc_vd));
            for (int w = 0; w < MCC_W; w++) nonunity[k + w] |= (nz[b][w] & absmask[w]) != 0;
        }
    }

    /* Pass 3 for lp lanes (a multiple of MCC_W): whole groups of 16 lanes, then the rest */
    static void mcc_smooth(const float *gc, Py_ssize_t m, Py_ssize_t lp, Py_ssize_t rs, double *g,
                           double *grm, const double *aA, const double *aR, const double *mk,
                           double *gdb, long long *nonunity)
    {
        Py_ssize_t k0 = 0;
        for (; k0 + 16 <= lp; k0 += 16)
            mcc_smooth_group(gc, m, k0, MCC_NB, rs, g, grm, aA, aR, mk, gdb, nonunity);
        if (k0 < lp)
            mcc_smooth_group(gc, m, k0, (int)((lp - k0) / MCC_W), rs, g, grm, aA, aR, mk, gdb, nonunity);
    }
    """
    int MCC_W
    void mcc_smooth(const float* gc, Py_ssize_t m, Py_ssize_t lp, Py_ssize_t rs, double* g, double* grm,
                    const double* aA, const double* aR, const double* mk, double* gdb, long long* nonunity) nogil


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _compress_bank(float** xp, Py_ssize_t* stride, Py_ssize_t nc, Py_ssize_t n, Py_ssize_t L,
                         Py_ssize_t lp, double** par, double* g, double* grm, double* aA, double* aR,
                         double* mk, float* gcT, double* gdbT, long long* nonunity) noexcept nogil:
    # gcT, gdbT: CHUNK values per lane, lane l at l * CHUNK (padding lanes: gc 0, their rows unused)
    cdef float level[CHUNK]
    cdef float fT[CHUNK]
    cdef float fW[CHUNK]
    cdef float fRm1[CHUNK]
    cdef float fMix[CHUNK]
    cdef float fg[CHUNK]
    cdef double cur[4]
    cdef Py_ssize_t i0, m, j, l
    cdef float peak
    cdef double* p
    cur[0] = cur[1] = cur[2] = cur[3] = 0.0
    cdef bint filled = False
    i0 = 0
    while i0 < n:
        m = n - i0 if n - i0 < CHUNK else CHUNK
        for l in range(lp):
            nonunity[l] = 0
        for l in range(L):
            p = par[l]
            if not filled or p[P_T] != cur[0] or p[P_W] != cur[1] or p[P_RM1] != cur[2] or p[P_MIX] != cur[3]:
                for j in range(CHUNK):  # the constants as _compress holds them
                    fT[j] = <float>p[P_T]
                    fW[j] = <float>p[P_W]
                    fRm1[j] = <float>p[P_RM1]
                    fMix[j] = <float>p[P_MIX]
                cur[0], cur[1], cur[2], cur[3] = p[P_T], p[P_W], p[P_RM1], p[P_MIX]
                filled = True
            peak = _pass_peak_level(xp[l] + i0, stride[l], nc, m, level)
            _pass_curve(level, peak, m, fT, fW, fRm1, gcT + l * CHUNK, True)
        mcc_smooth(gcT, m, lp, CHUNK, g, grm, aA, aR, mk, gdbT, nonunity)
        for l in range(L):
            if nonunity[l]:
                p = par[l]
                if p[P_MIX] != cur[3]:
                    for j in range(CHUNK):
                        fMix[j] = <float>p[P_MIX]
                    cur[3] = p[P_MIX]
                _pass_apply(xp[l] + i0, stride[l], nc, m, gdbT + l * CHUNK, fMix, fg)
        i0 += m


def compress_bank(list blocks,   # INOUT float32 (channels, n), one per compressor, all of one shape
                  list states,   # INOUT float64 [gain dB, rms ms, max gain reduction dB] each
                  list params,   # IN    float64 (7, 1) constants each (see process_compressor)
                  list makeups): # IN    makeup ramps (smooth.pxd), not moving
    """Compress every block in place, detecting on itself with the peak detector, constant parameters
    and a makeup that is not gliding: the same bits as ``process_compressor(block, block, state,
    params, False, False, a_rms, makeup)`` for each."""
    cdef Py_ssize_t L = len(blocks), lp, l, n, nc, j
    if len(states) != L or len(params) != L or len(makeups) != L:
        raise ValueError("compress_bank: one state, parameter column and makeup per block")
    if L == 0:
        return
    cdef float[:, ::1] xv
    cdef double[::1] sv
    cdef const double[:, ::1] pv
    cdef double[::1] mv
    nc = (<object>blocks[0]).shape[0]
    n = (<object>blocks[0]).shape[1]
    for l in range(L):
        xv = blocks[l]
        sv = states[l]
        pv = params[l]
        mv = makeups[l]
        if xv.shape[0] != nc or xv.shape[1] != n or nc < 1:
            raise ValueError("compress_bank: blocks must all have one shape")
        if pv.shape[0] != NPARAM or pv.shape[1] != 1 or sv.shape[0] < 3 or mv.shape[0] < 4:
            raise ValueError("compress_bank: params must have shape (7, 1), state 3 values, makeup 4")
        if mv[3] > 0.0:
            raise ValueError("compress_bank: a makeup glide is running; process this compressor alone")
    if n == 0:
        return
    lp = (L + 3) // 4 * 4  # whole vectors (four doubles with AVX2, two with SSE2) for mcc_smooth
    cdef float** xp = <float**>malloc(L * sizeof(float*))
    cdef Py_ssize_t* stride = <Py_ssize_t*>malloc(L * sizeof(Py_ssize_t))
    cdef double** par = <double**>malloc(L * sizeof(double*))
    cdef double* lanes = <double*>calloc(6 * lp, sizeof(double))  # g, grm, aA, aR, mk per lane
    cdef long long* nonunity = <long long*>calloc(lp, sizeof(long long))
    cdef float* gcT = <float*>calloc(CHUNK * lp, sizeof(float))  # the padding lanes' rows stay 0
    cdef double* gdbT = <double*>malloc(CHUNK * lp * sizeof(double))
    cdef double* g
    cdef double* grm
    try:
        if xp == NULL or stride == NULL or par == NULL or lanes == NULL or nonunity == NULL or gcT == NULL or gdbT == NULL:
            raise MemoryError()
        g, grm = lanes, lanes + lp
        for l in range(L):
            xv = blocks[l]
            sv = states[l]
            pv = params[l]
            mv = makeups[l]
            xp[l] = &xv[0, 0]
            stride[l] = xv.shape[1]
            par[l] = <double*>&pv[0, 0]  # column 0 of (7, 1): rows are consecutive
            g[l] = sv[0]
            grm[l] = sv[2]
            lanes[2 * lp + l] = pv[P_AA, 0]
            lanes[3 * lp + l] = pv[P_AR, 0]
            lanes[4 * lp + l] = mv[0]
        with nogil:
            _compress_bank(xp, stride, nc, n, L, lp, par, g, grm, lanes + 2 * lp, lanes + 3 * lp, lanes + 4 * lp,
                           gcT, gdbT, nonunity)
        for l in range(L):
            sv = states[l]
            sv[0] = g[l]
            sv[2] = grm[l]
    finally:
        free(xp)
        free(stride)
        free(par)
        free(lanes)
        free(nonunity)
        free(gcT)
        free(gdbT)
