/* loudness_kernel.h -- pyx/loudness.pyx's K-weighting loop: two channels at a time in 2-lane float64
   vectors (mixcore_vec.h's mc_d2: SSE2 on x86-64, NEON on arm64), each lane the scalar operations in
   source order (see loudness.pyx's docstring). */
#ifndef MIXCORE_LOUDNESS_KERNEL_H
#define MIXCORE_LOUDNESS_KERNEL_H

#include "mixcore_vec.h"

/* State of one channel: x1 x2 y1 y2 w1 w2 acc sumsq peak sub-acc (10 doubles). */
enum { MC_LK_X1, MC_LK_X2, MC_LK_Y1, MC_LK_Y2, MC_LK_W1, MC_LK_W2, MC_LK_ACC, MC_LK_SQ, MC_LK_PK, MC_LK_SACC,
       MC_LK_N };

static inline mc_d2 mc_lk_pack(const double *s0, const double *s1, int k) {
    mc_d2 v = {s0[k], s1[k]}; return v;
}

/* Channels c (lane 0) and d (lane 1) over n samples. Returns the number of steps completed; the
   energy of step k goes to e0[k] and e1[k]. *cross (may be NULL) accumulates x_c x_d. Sub-step j
   of a step ends when the count within the step reaches bnd[j] (bnd[m - 1] == hop); si is the
   sub-step in progress; the energy of the k-th sub-step completed goes to f0[k] and f1[k], and
   *fdone gets their number. */
static ptrdiff_t mc_lk_pair(const float *x0, const float *x1, ptrdiff_t n, const double *co,
                            double *s0, double *s1, long long count, long long hop,
                            const long long *bnd, int si, double *f0, double *f1, ptrdiff_t *fdone,
                            double *e0, double *e1, double *cross, int levels) {
    const mc_d2 b0 = {co[0], co[0]}, b1 = {co[1], co[1]}, b2 = {co[2], co[2]};
    const mc_d2 a1 = {co[3], co[3]}, a2 = {co[4], co[4]};
    const mc_d2 c1 = {co[5], co[5]}, c2 = {co[6], co[6]};
    const mc_l2 absmask = {0x7fffffffffffffffLL, 0x7fffffffffffffffLL};
    const mc_d2 zero = {0.0, 0.0};
    mc_d2 px1 = mc_lk_pack(s0, s1, MC_LK_X1), px2 = mc_lk_pack(s0, s1, MC_LK_X2);
    mc_d2 py1 = mc_lk_pack(s0, s1, MC_LK_Y1), py2 = mc_lk_pack(s0, s1, MC_LK_Y2);
    mc_d2 pw1 = mc_lk_pack(s0, s1, MC_LK_W1), pw2 = mc_lk_pack(s0, s1, MC_LK_W2);
    mc_d2 acc = mc_lk_pack(s0, s1, MC_LK_ACC), sacc = mc_lk_pack(s0, s1, MC_LK_SACC);
    long long nb = bnd[si];
    ptrdiff_t fd = 0;
    mc_d2 sq = mc_lk_pack(s0, s1, MC_LK_SQ), pk = mc_lk_pack(s0, s1, MC_LK_PK);
    double cr = cross ? *cross : 0.0;
    ptrdiff_t done = 0, i;
    if (levels) {
        for (i = 0; i < n; i++) {
            mc_d2 v = {(double)x0[i], (double)x1[i]};
            cr = cr + v[0] * v[1];
            sq = sq + v * v;
            mc_d2 av = (mc_d2)((mc_l2)v & absmask);
            mc_l2 gt = (mc_l2)(av > pk);
            pk = (mc_d2)(((mc_l2)av & gt) | ((mc_l2)pk & ~gt));
            mc_d2 y = ((b0 * v + b1 * px1 + b2 * px2) - a2 * py2) - a1 * py1;
            mc_d2 w = (((y + py2) - (py1 + py1)) - c2 * pw2) - c1 * pw1;
            px2 = px1; px1 = v; py2 = py1; py1 = y; pw2 = pw1; pw1 = w;
            mc_d2 ww = w * w;
            acc = acc + ww;
            sacc = sacc + ww;
            if (++count == nb) {
                f0[fd] = sacc[0]; f1[fd] = sacc[1]; fd++; sacc = zero;
                if (count == hop) {
                    e0[done] = acc[0]; e1[done] = acc[1]; done++;
                    acc = zero; count = 0; si = 0;
                } else {
                    si++;
                }
                nb = bnd[si];
            }
        }
    } else {
        for (i = 0; i < n; i++) {
            mc_d2 v = {(double)x0[i], (double)x1[i]};
            mc_d2 y = ((b0 * v + b1 * px1 + b2 * px2) - a2 * py2) - a1 * py1;
            mc_d2 w = (((y + py2) - (py1 + py1)) - c2 * pw2) - c1 * pw1;
            px2 = px1; px1 = v; py2 = py1; py1 = y; pw2 = pw1; pw1 = w;
            mc_d2 ww = w * w;
            acc = acc + ww;
            sacc = sacc + ww;
            if (++count == nb) {
                f0[fd] = sacc[0]; f1[fd] = sacc[1]; fd++; sacc = zero;
                if (count == hop) {
                    e0[done] = acc[0]; e1[done] = acc[1]; done++;
                    acc = zero; count = 0; si = 0;
                } else {
                    si++;
                }
                nb = bnd[si];
            }
        }
    }
    double *s[2] = {s0, s1};
    for (int l = 0; l < 2; l++) {
        s[l][MC_LK_X1] = px1[l]; s[l][MC_LK_X2] = px2[l]; s[l][MC_LK_Y1] = py1[l]; s[l][MC_LK_Y2] = py2[l];
        s[l][MC_LK_W1] = pw1[l]; s[l][MC_LK_W2] = pw2[l]; s[l][MC_LK_ACC] = acc[l];
        s[l][MC_LK_SQ] = sq[l]; s[l][MC_LK_PK] = pk[l]; s[l][MC_LK_SACC] = sacc[l];
    }
    if (cross) *cross = cr;
    *fdone = fd;
    return done;
}

#endif /* MIXCORE_LOUDNESS_KERNEL_H */
