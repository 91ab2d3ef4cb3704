# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math
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
    cdef float lf
    cdef const double* T
    cdef const double* Rm1
    cdef const double* W
    cdef const double* aA
    cdef const double* aR
    cdef const double* mkv
    cdef const double* mix
    cdef const float* kc
    cdef float* xc
    cdef Py_ssize_t i0, m, j, c
    cdef double v, a
    cdef float peak, lo, lk, xf, of, hf, wf, kf, ff
    cdef bint unity, below, inknee
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
        else:
            kc = &key[0, i0]
            for j in range(m):
                level[j] = fabsf(kc[j])
            for c in range(1, nk):
                kc = &key[c, i0]
                for j in range(m):
                    lf = fabsf(kc[j])
                    level[j] = lf if lf > level[j] else level[j]
        if varying:
            for j in range(m):
                fT[j] = <float>T[j]
                fW[j] = <float>W[j]
                fRm1[j] = <float>Rm1[j]
        peak = 0.0
        for j in range(m):
            peak = level[j] if level[j] > peak else peak
        lo = fT[0] - <float>0.5 * fW[0]
        for j in range(m):
            lk = fT[j] - <float>0.5 * fW[j]
            lo = lk if lk < lo else lo
        # 2. static curve in float32 (the knee starts at T - W/2 dB; below it the gain change is 0).
        # A chunk is skipped only when its loudest sample is under the lowest knee start by a margin
        # (1e-3 dB) larger than log2f_nb's error, so that every sample in it would give 0 here too.
        if peak < LOG_FLOOR or <float>DB_PER_LOG2 * log2f_nb(peak) < lo - <float>1e-3:
            for j in range(m):
                gc[j] = 0.0
        else:
            # branch-free (selects between computed values only), so the loop vectorises 4-wide
            for j in range(m):
                lf = level[j]
                lf = lf if lf > <float>LOG_FLOOR else <float>LOG_FLOOR
                xf = <float>DB_PER_LOG2 * log2f_nb(lf)
                of = xf - fT[j]
                hf = of + <float>0.5 * fW[j]
                wf = <float>2.0 * fW[j]
                wf = wf if wf > <float>0.0 else <float>1.0
                kf = fRm1[j] * hf * hf / wf
                ff = fRm1[j] * of
                below = xf < fT[j] - <float>0.5 * fW[j]
                inknee = <float>2.0 * fabsf(of) <= fW[j]
                kf = kf if inknee else ff
                gc[j] = <float>0.0 if below else kf
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
        if not unity:  # in float32, four samples per instruction: the gain's error is 1.1e-7
            if varying:
                for j in range(m):
                    fMix[j] = <float>mix[j]
            for j in range(m):
                fg[j] = <float>(gdb[j] * LOG2_PER_DB)
            for j in range(m):
                lf = exp2f_nb(fg[j])
                fg[j] = <float>1.0 + fMix[j] * (lf - <float>1.0)   # exactly 1 at 0 dB, for any mix
            for c in range(nc):
                xc = &x[c, i0]
                for j in range(m):
                    xc[j] = xc[j] * fg[j]
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
