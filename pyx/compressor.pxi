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
from fastmath cimport exp2f_nb, log2f_nb
from libc.math cimport fabs, fabsf, sqrt
from libc.stdlib cimport calloc, free, malloc
from smooth cimport smooth_next

cdef extern from "compressor_kernel.h":
    # floating constants as C literals (pyx/include/compressor_kernel.h)
    const double LOG_FLOOR "MC_CMP_LOG_FLOOR"
    const double DB_PER_LOG2 "MC_CMP_DB_PER_LOG2"   # 20 log10(2)
    const double LOG2_PER_DB "MC_CMP_LOG2_PER_DB"   # 1 / (20 log10(2))
    const double G_FLUSH "MC_CMP_G_FLUSH"           # dB: a smoothed gain this close to 0 dB is 0 dB (10^-13 relative)
    void mcc_smooth(const float* gc, Py_ssize_t m, Py_ssize_t lp, Py_ssize_t rs, double* g, double* grm,
                    const double* aA, const double* aR, const double* mk, double* gdb, long long* nonunity) nogil

cdef enum:
    CHUNK = 256

# parameter rows (params array, shape (NPARAM, 1) or (NPARAM, n))
cdef enum:
    P_T = 0        # threshold, dB
    P_RM1 = 1      # 1/ratio - 1
    P_W = 2        # knee width, dB
    P_AA = 3       # attack coefficient
    P_AR = 4       # release coefficient
    P_MK = 5       # makeup, dB (used only when given per sample; else the makeup ramp runs)
    P_MIX = 6      # wet share
    NPARAM = 7


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
# compressor_avx2 build), several lanes' recursions side by side. Written in C (mcc_smooth in
# pyx/include/compressor_kernel.h) because Cython cannot say "these lanes in vectors". Same operations
# per lane as _compress's pass 3, so the same bits.


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
    cdef Py_ssize_t L = len(blocks), l, n, nc
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
    # the prepared operation the engine's banks use (compressor_ops.pxi), made for this one call
    CompressorBankOp([[(<object>b).reshape(-1) for b in blocks]], nc, states, params, makeups).run(0, n)
