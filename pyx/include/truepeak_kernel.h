/* truepeak_kernel.h -- pyx/truepeak.pyx's 4x-oversampled true peak (ITU-R BS.1770-4 Annex 2), 8 outputs
   at a time in 4-lane float32 vectors (see truepeak.pyx's docstring). */
#ifndef MIXCORE_TRUEPEAK_KERNEL_H
#define MIXCORE_TRUEPEAK_KERNEL_H

#include <string.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define MC_TP_SSE 1
#endif
#include "mixcore_vec.h"  /* mc_f4, mc_i4: 4 float32 lanes (SSE on x86-64, NEON on arm64); plain IEEE
                             single precision in source order */

static inline mc_f4 mc_tp_abs(mc_f4 v) {
    const mc_i4 m = {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
    return (mc_f4)((mc_i4)v & m);
}
static inline mc_f4 mc_tp_max(mc_f4 a, mc_f4 b) {  /* lane-wise (a > b ? a : b) */
#ifdef MC_TP_SSE
    return (mc_f4)_mm_max_ps((__m128)a, (__m128)b);
#else
    mc_i4 gt = (mc_i4)(a > b);
    return (mc_f4)(((mc_i4)a & gt) | ((mc_i4)b & ~gt));
#endif
}
static inline float mc_tp_hmax(mc_f4 v) {
    v = mc_tp_max(v, __builtin_shufflevector(v, v, 2, 3, 0, 1));
    v = mc_tp_max(v, __builtin_shufflevector(v, v, 1, 0, 3, 2));
    return v[0];
}

/* |S| + |D| of one phase pair for the 4 outputs starting at p (p[-11] .. p[3] are read). */
static inline mc_f4 mc_tp_pair(const float *p, const float *u, const float *v) {
    mc_f4 s = {0.0f, 0.0f, 0.0f, 0.0f}, d = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int j = 0; j < 6; j++) {
        mc_f4 a = mc_f4_load(p - j), b = mc_f4_load(p - 11 + j);
        s = s + (a + b) * u[j];
        d = d + (a - b) * v[j];
    }
    return mc_tp_abs(s) + mc_tp_abs(d);
}

/* The largest candidate of the 8 outputs starting at p (p[-11] .. p[7] are read), phase pair 0/3
   only if `both`. */
static inline float mc_tp_group(const float *p, const float *u0, const float *v0, const float *u1,
                                const float *v1, int both) {
    mc_f4 lo = mc_tp_max(mc_tp_abs(mc_f4_load(p)), mc_tp_pair(p, u1, v1));
    mc_f4 hi = mc_tp_max(mc_tp_abs(mc_f4_load(p + 4)), mc_tp_pair(p + 4, u1, v1));
    if (both) {
        lo = mc_tp_max(lo, mc_tp_pair(p, u0, v0));
        hi = mc_tp_max(hi, mc_tp_pair(p + 4, u0, v0));
    }
    return mc_tp_hmax(mc_tp_max(lo, hi));
}

/* w: 11 samples of history then n new samples. Updates *peak with the candidates of the n new
   outputs. u0/v0: folded phases 0/3, u1/v1: phases 1/2; g0, g1: their bounds (sum |h|, with a
   margin for rounding). oversample = 0: samples only. */
static void mc_true_peak(const float *w, ptrdiff_t n, const float *u0, const float *v0,
                         const float *u1, const float *v1, float g0, float g1, int oversample,
                         float *peak) {
    float pk = *peak;
    const float *x = w + 11;
    ptrdiff_t m0 = 0;
    if (!oversample) {
        for (; m0 < n; m0++) {
            float a = x[m0] < 0.0f ? -x[m0] : x[m0];
            if (a > pk) pk = a;
        }
        *peak = pk;
        return;
    }
    for (; m0 + 8 <= n; m0 += 8) {
        /* the group reads w[m0 .. m0 + 18]: bound every point by G * max |w| there */
        mc_f4 win = mc_tp_max(mc_tp_max(mc_tp_abs(mc_f4_load(w + m0)), mc_tp_abs(mc_f4_load(w + m0 + 4))),
                                 mc_tp_max(mc_tp_abs(mc_f4_load(w + m0 + 8)),
                                           mc_tp_max(mc_tp_abs(mc_f4_load(w + m0 + 12)),
                                                     mc_tp_abs(mc_f4_load(w + m0 + 15)))));
        float bound = mc_tp_hmax(win);
        if (bound * g1 <= pk) continue;  /* nothing here can exceed the peak */
        float b = mc_tp_group(x + m0, u0, v0, u1, v1, bound * g0 > pk);
        if (b > pk) pk = b;
    }
    if (m0 < n) {  /* a short last group, evaluated on a zero-padded copy; lanes past n are ignored */
        int lanes = (int)(n - m0);
        float t[11 + 8] = {0.0f};
        memcpy(t, w + m0, (size_t)(11 + lanes) * sizeof(float));
        mc_f4 lo = mc_tp_max(mc_tp_abs(mc_f4_load(t + 11)),
                                mc_tp_max(mc_tp_pair(t + 11, u1, v1), mc_tp_pair(t + 11, u0, v0)));
        mc_f4 hi = mc_tp_max(mc_tp_abs(mc_f4_load(t + 15)),
                                mc_tp_max(mc_tp_pair(t + 15, u1, v1), mc_tp_pair(t + 15, u0, v0)));
        for (int k = 0; k < lanes; k++) {
            float c = k < 4 ? lo[k] : hi[k - 4];
            if (c > pk) pk = c;
        }
    }
    *peak = pk;
}

#endif /* MIXCORE_TRUEPEAK_KERNEL_H */
