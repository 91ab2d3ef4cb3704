/* limiter_kernel.h -- stage 1 of pyx/limiter.pxi: the true-peak segments, in native vectors.

   MC_VF float32 lanes (8 in the limiter_avx2 build, 4 in the baseline; mixcore_vec.h) for the FIR,
   MC_VD float64 lanes for the parabolas, branch-free. Each lane the same IEEE operations in the same
   order as one scalar sample (tests/test_limiter_reverb_speed_kernels.py holds the scalar version). */
#ifndef MIXCORE_LIMITER_KERNEL_H
#define MIXCORE_LIMITER_KERNEL_H

#include "mixcore_vec.h"

static inline mc_vd mc_lim_absd(const float *p) {  /* |p[0 .. MC_VD-1]| as doubles */
    mc_vhf h; memcpy(&h, p, sizeof h);
    return mc_vd_abs(__builtin_convertvector(h, mc_vd));
}

/* The candidate of point p with neighbours a0, a4 (all >= 0): its parabola vertex if p is a local
   maximum (p itself when the curvature is ~0), else 0 (neutral in the max). The operations of the
   scalar code: curv = a0 - 2 p + a4, v = p - (a0 - a4)^2 / (8 curv). */
static inline mc_vd mc_lim_cand(mc_vd a0, mc_vd p, mc_vd a4) {
    mc_vd curv = a0 - 2.0 * p + a4;
    mc_vd d = a0 - a4;
    mc_vd v = p - d * d / (8.0 * curv);
    mc_vl bent = curv < -1e-12;
    mc_vl ismax = (p >= a0) & (p >= a4);
    mc_vd zero = {0.0};
    return mc_vd_select(ismax, mc_vd_select(bent, v, p), zero);
}

/* y_k[q] = sum_j fir[k][j] x[q + taps - j] for q = 0 .. 2 VF - 1: tap order j = 0 .. taps - 1 from 0,
   as the scalar loop (same bits). Two groups at once: six independent sums hide the add latency. */
static inline __attribute__((always_inline)) void mc_lim_fir2(const float *x, const float *fir, int taps,
                                                              float *y1, float *y2, float *y3) {
    mc_vf a1 = {0}, a2 = {0}, a3 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
    for (int j = 0; j < taps; j++) {
        mc_vf v = mc_vf_load(x + taps - j), u = mc_vf_load(x + taps - j + MC_VF);
        float f1 = fir[j], f2 = fir[taps + j], f3 = fir[2 * taps + j];
        a1 = a1 + f1 * v; b1 = b1 + f1 * u;
        a2 = a2 + f2 * v; b2 = b2 + f2 * u;
        a3 = a3 + f3 * v; b3 = b3 + f3 * u;
    }
    memcpy(y1, &a1, sizeof a1); memcpy(y1 + MC_VF, &b1, sizeof b1);
    memcpy(y2, &a2, sizeof a2); memcpy(y2 + MC_VF, &b2, sizeof b2);
    memcpy(y3, &a3, sizeof a3); memcpy(y3 + MC_VF, &b3, sizeof b3);
}
static void mc_lim_fir2_24(const float *x, const float *fir, float *y1, float *y2, float *y3) {
    mc_lim_fir2(x, fir, 24, y1, y2, y3);   /* the limiter's size, unrolled */
}
static void mc_lim_fir2_any(const float *x, const float *fir, int taps, float *y1, float *y2, float *y3) {
    mc_lim_fir2(x, fir, taps, y1, y2, y3);
}

#define MC_LIM_G (2 * MC_VF)
/* w: (nc, taps + n) rows of stride `stride` (taps inputs of history, then the block).
   seg[q] (q < n) = the peak of segment q over all channels: the largest of |x[q + 1]| and the
   parabola vertices of the local maxima among |x[q]|, the three interpolated points and their
   neighbours (the module docstring). Exact, except that a segment whose every candidate is
   provably <= skip (the vertex of a local maximum p is at most 9/8 p) may get any value <= skip
   (0): the caller only compares it with ceilings >= skip. The last segment is always exact (it is
   the next call's seg_prev). */
static void mc_lim_segments(const float *w, ptrdiff_t nc, ptrdiff_t stride, ptrdiff_t n,
                            const float *fir, int taps, double skip, double *seg) {
    const int K = taps / 2;
    /* bound: 9/8 max p, with a margin far above float32 rounding */
    const float fskip = (float)(skip / (1.125 * (1.0 + 1e-5)));
    /* every interpolated point is at most gain * max |x| over the taps it reads */
    double gain = 1.0;
    for (int k = 0; k < 3; k++) {
        double g = 0.0;
        for (int j = 0; j < taps; j++) g += fir[k * taps + j] < 0.0f ? -fir[k * taps + j] : fir[k * taps + j];
        gain = g > gain ? g : gain;
    }
    const float xskip = (float)(skip / (1.125 * gain * (1.0 + 1e-5)));
    float pad[MC_LIM_G + 2 * 64];
    float y1[MC_LIM_G], y2[MC_LIM_G], y3[MC_LIM_G + 1], xs[MC_LIM_G + 1];
    for (ptrdiff_t q = 0; q < n; q++) seg[q] = 0.0;
    for (ptrdiff_t c = 0; c < nc; c++) {
        const float *xrow = w + c * stride;
        float lo = 0.0f;  /* y3 at q0 - 1 */
        int lo_ok = 0;
        for (ptrdiff_t q0 = 0; q0 < n; q0 += MC_LIM_G) {
            const float *x = xrow + q0;
            ptrdiff_t cnt = n - q0 < MC_LIM_G ? n - q0 : MC_LIM_G;
            if (cnt < MC_LIM_G) {  /* a short last group on a zero-padded copy; lanes past cnt unused */
                memset(pad, 0, sizeof pad);
                memcpy(pad, x, (size_t)(cnt + taps) * sizeof(float));
                x = pad;
            }
            if (q0 + cnt < n) {  /* the group reads x[1 .. taps + G - 1]: skip it if that is quiet enough */
                mc_vf m = mc_vf_abs(mc_vf_load(x + taps + MC_LIM_G - MC_VF));
                for (int o = 1; o + MC_VF <= taps + MC_LIM_G; o += MC_VF)
                    m = mc_vf_max(m, mc_vf_abs(mc_vf_load(x + o)));
                float mx = 0.0f;
                for (int e = 0; e < MC_VF; e++) mx = m[e] > mx ? m[e] : mx;
                if (mx <= xskip) { lo_ok = 0; continue; }
            }
            if (!lo_ok) {  /* y3 at q0 - 1, as the group loop computes it */
                lo = 0.0f;
                for (int j = 0; j < taps; j++) lo = lo + fir[2 * taps + j] * xrow[q0 - 1 + taps - j];
            }
            lo_ok = 1;
            y3[0] = lo;
            if (taps == 24)
                mc_lim_fir2_24(x, fir, y1, y2, y3 + 1);
            else
                mc_lim_fir2_any(x, fir, taps, y1, y2, y3 + 1);
            lo = y3[cnt];
            memcpy(xs, x + K, (MC_LIM_G + 1) * sizeof(float));
            mc_vf m = mc_vf_abs(mc_vf_load(y3));
            for (int k = 0; k < MC_LIM_G; k += MC_VF) {
                m = mc_vf_max(m, mc_vf_max(mc_vf_abs(mc_vf_load(xs + k)),
                                               mc_vf_abs(mc_vf_load(xs + k + 1))));
                m = mc_vf_max(m, mc_vf_max(mc_vf_abs(mc_vf_load(y1 + k)),
                                               mc_vf_max(mc_vf_abs(mc_vf_load(y2 + k)),
                                                           mc_vf_abs(mc_vf_load(y3 + 1 + k)))));
            }
            float mx = 0.0f;   /* (lanes past cnt hold the zero padding's values: still a bound) */
            for (int e = 0; e < MC_VF; e++) mx = m[e] > mx ? m[e] : mx;
            if (mx <= fskip && q0 + cnt < n) continue;  /* nothing here can pass skip (last segment: exact) */
            for (int k = 0; k < MC_LIM_G; k += MC_VD) {
                mc_vd l = mc_lim_absd(y3 + k);
                mc_vd p0 = mc_lim_absd(xs + k), p1 = mc_lim_absd(y1 + k), p2 = mc_lim_absd(y2 + k);
                mc_vd p3 = mc_lim_absd(y3 + 1 + k), p4 = mc_lim_absd(xs + k + 1);
                mc_vd best = p4;
                best = mc_vd_max(best, mc_lim_cand(l, p0, p1));
                best = mc_vd_max(best, mc_lim_cand(p0, p1, p2));
                best = mc_vd_max(best, mc_lim_cand(p1, p2, p3));
                best = mc_vd_max(best, mc_lim_cand(p2, p3, p4));
                if (k + MC_VD <= cnt) {   /* seg = max(seg, best), over the channels */
                    mc_vd sv; memcpy(&sv, seg + q0 + k, sizeof sv);
                    sv = mc_vd_max(best, sv);
                    memcpy(seg + q0 + k, &sv, sizeof sv);
                } else {
                    for (int e = 0; k + e < cnt; e++)
                        if (best[e] > seg[q0 + k + e]) seg[q0 + k + e] = best[e];
                }
            }
        }
    }
}

#endif /* MIXCORE_LIMITER_KERNEL_H */
