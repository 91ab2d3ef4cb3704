/* reverb_kernel.h -- the C of pyx/reverb.pxi's FDN: ring spans, the input allpasses, the network.

   4 float64 lanes (mc_rv_d4): one AVX register in the reverb_avx2 build, two SSE2 registers in the
   baseline (mixcore_vec.h's mc_vd / mc_d2). Lane arithmetic is plain IEEE in source order (no FMA, no
   reassociation): each lane computes what the scalar code computes, so the bits never depend on the
   build (tests/test_limiter_reverb_speed_kernels.py holds the scalar version). */
#ifndef MIXCORE_REVERB_KERNEL_H
#define MIXCORE_REVERB_KERNEL_H

#include <math.h>
#include "mixcore_vec.h"

#define MC_RV_NORM 0.35355339059327373   /* 1 / sqrt(8): the Hadamard matrix's scale */

#ifdef __AVX__
typedef mc_vd mc_rv_d4;  /* MC_VD is 4 with AVX */
static inline mc_rv_d4 mc_rv_ld(const double *p) { return mc_vd_load(p); }
static inline void mc_rv_st(double *p, mc_rv_d4 v) { mc_vd_store(p, v); }
static inline mc_rv_d4 mc_rv_set(double a, double b, double c, double d) { mc_rv_d4 v = {a, b, c, d}; return v; }
static inline mc_rv_d4 mc_rv_bc(double a) { mc_rv_d4 v = {a, a, a, a}; return v; }
static inline mc_rv_d4 mc_rv_add(mc_rv_d4 a, mc_rv_d4 b) { return a + b; }
static inline mc_rv_d4 mc_rv_sub(mc_rv_d4 a, mc_rv_d4 b) { return a - b; }
static inline mc_rv_d4 mc_rv_mul(mc_rv_d4 a, mc_rv_d4 b) { return a * b; }
static inline mc_rv_d4 mc_rv_guard(mc_rv_d4 v) {  /* 0 where |v| < 1e-30 */
    return (mc_rv_d4)((mc_vl)v & ~(mc_vl)(mc_vd_abs(v) < 1e-30));
}
static inline double mc_rv_lane(mc_rv_d4 v, int k) { return v[k]; }
static inline mc_rv_d4 mc_rv_div(mc_rv_d4 a, mc_rv_d4 b) { return a / b; }
/* (long long) of each lane (truncation; |v| < 2^31), as doubles, and into out[] */
static inline mc_rv_d4 mc_rv_trunc(mc_rv_d4 v, long long *out) {
    mc_i4 i = __builtin_convertvector(v, mc_i4);
    for (int k = 0; k < 4; k++) out[k] = i[k];
    return __builtin_convertvector(i, mc_rv_d4);
}
/* within each pair of lanes: (x0, y0, x2, y2) and (x1, y1, x3, y3) */
static inline mc_rv_d4 mc_rv_unlo(mc_rv_d4 x, mc_rv_d4 y) { return __builtin_shufflevector(x, y, 0, 4, 2, 6); }
static inline mc_rv_d4 mc_rv_unhi(mc_rv_d4 x, mc_rv_d4 y) { return __builtin_shufflevector(x, y, 1, 5, 3, 7); }
/* halves: (x0, x1, y0, y1) and (x2, x3, y2, y3) */
static inline mc_rv_d4 mc_rv_lohalf(mc_rv_d4 x, mc_rv_d4 y) { return __builtin_shufflevector(x, y, 0, 1, 4, 5); }
static inline mc_rv_d4 mc_rv_hihalf(mc_rv_d4 x, mc_rv_d4 y) { return __builtin_shufflevector(x, y, 2, 3, 6, 7); }
/* (v0 + v2, v1 + v3) stored at p */
static inline void mc_rv_st_fold(double *p, mc_rv_d4 v) {
    mc_d2 lo = __builtin_shufflevector(v, v, 0, 1), hi = __builtin_shufflevector(v, v, 2, 3), r = lo + hi;
    memcpy(p, &r, sizeof r);
}
#else
/* two native 2-lane registers */
typedef struct { mc_d2 a, b; } mc_rv_d4;
static inline mc_rv_d4 mc_rv_ld(const double *p) {
    mc_rv_d4 v; memcpy(&v.a, p, 16); memcpy(&v.b, p + 2, 16); return v;
}
static inline void mc_rv_st(double *p, mc_rv_d4 v) { memcpy(p, &v.a, 16); memcpy(p + 2, &v.b, 16); }
static inline mc_rv_d4 mc_rv_set(double a, double b, double c, double d) {
    mc_rv_d4 v; v.a = (mc_d2){a, b}; v.b = (mc_d2){c, d}; return v;
}
static inline mc_rv_d4 mc_rv_bc(double a) { return mc_rv_set(a, a, a, a); }
static inline mc_rv_d4 mc_rv_add(mc_rv_d4 x, mc_rv_d4 y) { x.a = x.a + y.a; x.b = x.b + y.b; return x; }
static inline mc_rv_d4 mc_rv_sub(mc_rv_d4 x, mc_rv_d4 y) { x.a = x.a - y.a; x.b = x.b - y.b; return x; }
static inline mc_rv_d4 mc_rv_mul(mc_rv_d4 x, mc_rv_d4 y) { x.a = x.a * y.a; x.b = x.b * y.b; return x; }
static inline mc_d2 mc_rv_guard2(mc_d2 v) {
    return (mc_d2)((mc_l2)v & ~(mc_l2)(mc_d2_abs(v) < 1e-30));
}
static inline mc_rv_d4 mc_rv_guard(mc_rv_d4 v) { v.a = mc_rv_guard2(v.a); v.b = mc_rv_guard2(v.b); return v; }
static inline double mc_rv_lane(mc_rv_d4 v, int k) { return k < 2 ? v.a[k] : v.b[k - 2]; }
static inline mc_rv_d4 mc_rv_div(mc_rv_d4 x, mc_rv_d4 y) { x.a = x.a / y.a; x.b = x.b / y.b; return x; }
static inline mc_rv_d4 mc_rv_trunc(mc_rv_d4 v, long long *out) {
    mc_i2 i = __builtin_convertvector(v.a, mc_i2), k = __builtin_convertvector(v.b, mc_i2);
    out[0] = i[0]; out[1] = i[1]; out[2] = k[0]; out[3] = k[1];
    v.a = __builtin_convertvector(i, mc_d2); v.b = __builtin_convertvector(k, mc_d2);
    return v;
}
static inline mc_rv_d4 mc_rv_unlo(mc_rv_d4 x, mc_rv_d4 y) {
    mc_rv_d4 v;
    v.a = __builtin_shufflevector(x.a, y.a, 0, 2); v.b = __builtin_shufflevector(x.b, y.b, 0, 2); return v;
}
static inline mc_rv_d4 mc_rv_unhi(mc_rv_d4 x, mc_rv_d4 y) {
    mc_rv_d4 v;
    v.a = __builtin_shufflevector(x.a, y.a, 1, 3); v.b = __builtin_shufflevector(x.b, y.b, 1, 3); return v;
}
static inline mc_rv_d4 mc_rv_lohalf(mc_rv_d4 x, mc_rv_d4 y) { mc_rv_d4 v; v.a = x.a; v.b = y.a; return v; }
static inline mc_rv_d4 mc_rv_hihalf(mc_rv_d4 x, mc_rv_d4 y) { mc_rv_d4 v; v.a = x.b; v.b = y.b; return v; }
static inline void mc_rv_st_fold(double *p, mc_rv_d4 v) { mc_d2 r = v.a + v.b; memcpy(p, &r, sizeof r); }
#endif
static inline double mc_rv_guard1(double v) { return fabs(v) < 1e-30 ? 0.0 : v; }

/* Ring buffers (power-of-two size, mask = size - 1): n values from position pos, in at most two pieces. */
static inline void mc_rv_get(const double *ring, long long mask, long long pos, ptrdiff_t n, double *out) {
    long long p = pos & mask, first = mask + 1 - p < n ? mask + 1 - p : n;
    memcpy(out, ring + p, (size_t)first * sizeof(double));
    memcpy(out + first, ring, (size_t)(n - first) * sizeof(double));
}
static inline void mc_rv_put(double *ring, long long mask, long long pos, ptrdiff_t n, const double *in) {
    long long p = pos & mask, first = mask + 1 - p < n ? mask + 1 - p : n;
    memcpy(ring + p, in, (size_t)first * sizeof(double));
    memcpy(ring, in + first, (size_t)(n - first) * sizeof(double));
}

/* Schroeder allpass over samples w .. w + n - 1: v = guard(z[w - M]), z[w] = u + g v, out = c v - g u
   (c = 1 - g^2), in pieces of at most M samples: every v a piece reads was written before it, so a
   piece reads all, computes (vectorised) and writes all: the same values as sample by sample. */
static void mc_rv_allpass(double *ring, long long mask, long long w, long long M, ptrdiff_t n, double g,
                          double c, const double *__restrict u, double *__restrict out, double *__restrict tmp) {
    mc_rv_d4 G = mc_rv_bc(g), C = mc_rv_bc(c);
    ptrdiff_t j0 = 0;
    if (M < 1) M = 1;
    while (j0 < n) {
        ptrdiff_t m = n - j0 < M ? n - j0 : M, j = 0;
        const double *uj = u + j0;
        double *oj = out + j0;
        mc_rv_get(ring, mask, w + j0 - M, m, tmp);
        for (; j + 4 <= m; j += 4) {
            mc_rv_d4 v = mc_rv_guard(mc_rv_ld(tmp + j)), uu = mc_rv_ld(uj + j);
            mc_rv_st(tmp + j, mc_rv_add(uu, mc_rv_mul(G, v)));
            mc_rv_st(oj + j, mc_rv_sub(mc_rv_mul(C, v), mc_rv_mul(G, uu)));
        }
        for (; j < m; j++) {
            double v = mc_rv_guard1(tmp[j]), uu = uj[j];
            tmp[j] = uu + g * v;
            oj[j] = c * v - g * uu;
        }
        mc_rv_put(ring, mask, w + j0, m, tmp);
        j0 += m;
    }
}

/* Predelay: z[w] = u, then u = z[w - M], sample by sample in effect. */
static void mc_rv_predelay(double *ring, long long mask, long long w, long long M, ptrdiff_t n, double *u) {
    if (mask + 1 - M > n) {   /* writing the n values first overwrites none of those still to be read */
        mc_rv_put(ring, mask, w, n, u);
        mc_rv_get(ring, mask, w - M, n, u);
    } else {
        for (ptrdiff_t j = 0; j < n; j++) {
            ring[(w + j) & mask] = u[j];
            u[j] = ring[(w + j - M) & mask];
        }
    }
}

/* The feedback network, sample by sample, for samples w .. w + cnt - 1. lines: (size, 8) interleaved
   ring; uu: the diffused input; wlr0: the sums of the line outputs (+ and alternating signs), wl and wr
   interleaved.
   Lanes: E = lines 0, 2, 4, 6 and O = lines 1, 3, 5, 7 (the modulated ones: m = 0 .. 3). sp, G, B,
   dG, dB, tG, tB: 8 values each, E then O. */
static void mc_rv_core(double *lines, long long lmask, long long w, ptrdiff_t cnt, const double *uu,
                       double *wlr0, double *sp, double *G, double *B, const double *dG,
                       const double *dB, const double *tG, const double *tB, long long *rem,
                       double *ay, double *eta, double *deta, double *ls, double *lc, double *dcur,
                       long long *D0, const long long *dl, const double *lfo_k, double depth) {
    mc_rv_d4 spE = mc_rv_ld(sp), spO = mc_rv_ld(sp + 4);
    mc_rv_d4 GE = mc_rv_ld(G), GO = mc_rv_ld(G + 4), BE = mc_rv_ld(B), BO = mc_rv_ld(B + 4);
    mc_rv_d4 vay = mc_rv_ld(ay), veta = mc_rv_ld(eta), vdeta = mc_rv_ld(deta);
    mc_rv_d4 vls = mc_rv_ld(ls), vlc = mc_rv_ld(lc), vdcur = mc_rv_ld(dcur), vk = mc_rv_ld(lfo_k);
    mc_rv_d4 vdo = mc_rv_set((double)dl[1], (double)dl[3], (double)dl[5], (double)dl[7]), vdepth = mc_rv_bc(depth);
    long long left = *rem;
    const long long e0 = dl[0], e2 = dl[2], e4 = dl[4], e6 = dl[6];
    long long o0 = D0[0], o1 = D0[1], o2 = D0[2], o3 = D0[3];
    ptrdiff_t j = 0;
    while (j < cnt) {
        long long t = w + j;
        if (left > 0) {  /* loop coefficients glide to their targets */
            left--;
            if (left == 0) {
                GE = mc_rv_ld(tG); GO = mc_rv_ld(tG + 4); BE = mc_rv_ld(tB); BO = mc_rv_ld(tB + 4);
            } else {
                GE = mc_rv_add(GE, mc_rv_ld(dG)); GO = mc_rv_add(GO, mc_rv_ld(dG + 4));
                BE = mc_rv_add(BE, mc_rv_ld(dB)); BO = mc_rv_add(BO, mc_rv_ld(dB + 4));
            }
        }
        if ((t & 15) == 0) {  /* LFO step (every 16 samples): each odd line's delay heads for its next value */
            /* lane m: ls += k lc; lc -= k ls; dnext = d + depth ls; D0 = (long long)(0.5 (dcur + dnext) - 0.5)
               (floor: positive); eta = eta(dcur - D0), deta = (eta(dnext - D0) - eta) / 16,
               eta(f) = (1 - f) / (1 + f); the interpolator states are flushed (|eta| < 0.36: 16 samples
               cannot take them to a denormal) */
            const mc_rv_d4 one = mc_rv_bc(1.0), half = mc_rv_bc(0.5);
            vls = mc_rv_add(vls, mc_rv_mul(vk, vlc));
            vlc = mc_rv_sub(vlc, mc_rv_mul(vk, vls));
            mc_rv_d4 dnext = mc_rv_add(vdo, mc_rv_mul(vdepth, vls));
            mc_rv_d4 d0 = mc_rv_trunc(mc_rv_sub(mc_rv_mul(half, mc_rv_add(vdcur, dnext)), half), D0);
            mc_rv_d4 f = mc_rv_sub(vdcur, d0), f2 = mc_rv_sub(dnext, d0);
            veta = mc_rv_div(mc_rv_sub(one, f), mc_rv_add(one, f));
            mc_rv_d4 eta2 = mc_rv_div(mc_rv_sub(one, f2), mc_rv_add(one, f2));
            vdeta = mc_rv_mul(mc_rv_sub(eta2, veta), mc_rv_bc(1.0 / 16));
            vdcur = dnext;
            vay = mc_rv_guard(vay);
            o0 = D0[0]; o1 = D0[1]; o2 = D0[2]; o3 = D0[3];
        }
        /* a span: up to the next LFO step or coefficient change, without a wrap of any ring position */
        long long pos[13] = {t - e0, t - e2, t - e4, t - e6, t - o0, t - o1, t - o2, t - o3,
                             t - o0 - 1, t - o1 - 1, t - o2 - 1, t - o3 - 1, t};
        ptrdiff_t end = cnt - j;
        long long step = 16 - (t & 15);
        end = step < end ? step : end;
        if (left > 0) end = 1;
        for (int k = 0; k < 13; k++) {
            pos[k] &= lmask;
            long long room = lmask + 1 - pos[k];
            if (k < 8 || k == 12) end = room < end ? room : end;   /* (8 .. 11: read once, here) */
        }
        const double *pe0 = lines + pos[0] * 8 + 0, *pe2 = lines + pos[1] * 8 + 2;
        const double *pe4 = lines + pos[2] * 8 + 4, *pe6 = lines + pos[3] * 8 + 6;
        const double *pa0 = lines + pos[4] * 8 + 1, *pa1 = lines + pos[5] * 8 + 3;
        const double *pa2 = lines + pos[6] * 8 + 5, *pa3 = lines + pos[7] * 8 + 7;
        /* x[w - D - 1] of a sample is x[w - D] of the one before: loaded once */
        mc_rv_d4 xb = mc_rv_set(lines[pos[8] * 8 + 1], lines[pos[9] * 8 + 3], lines[pos[10] * 8 + 5],
                                lines[pos[11] * 8 + 7]);
        double *lw = lines + pos[12] * 8;
        const double *uj = uu + j;
        double *wlr = wlr0 + 2 * j;
        for (ptrdiff_t i = 0; i < end; i++) {
            ptrdiff_t q = i * 8;
            mc_rv_d4 rE = mc_rv_set(pe0[q], pe2[q], pe4[q], pe6[q]);
            mc_rv_d4 xa = mc_rv_set(pa0[q], pa1[q], pa2[q], pa3[q]);
            /* allpass interpolators: y = eta (xa - y') + xb */
            mc_rv_d4 y = mc_rv_add(mc_rv_mul(veta, mc_rv_sub(xa, vay)), xb);
            xb = xa;
            veta = mc_rv_add(veta, vdeta);
            vay = y;
            /* loop filters: s = G r + B s' */
            spE = mc_rv_guard(mc_rv_add(mc_rv_mul(GE, rE), mc_rv_mul(BE, spE)));
            spO = mc_rv_guard(mc_rv_add(mc_rv_mul(GO, y), mc_rv_mul(BO, spO)));
            /* wl = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), wr the same with -: S = (r0 + r1, ..),
               D = (r0 - r1, ..); (S0 + S1, D0 + D1, S2 + S3, D2 + D3); (wl, wr) */
            mc_rv_d4 S = mc_rv_add(rE, y), D = mc_rv_sub(rE, y);
            mc_rv_st_fold(wlr + 2 * i, mc_rv_add(mc_rv_unlo(S, D), mc_rv_unhi(S, D)));
            /* H s: fast Walsh-Hadamard transform (the butterflies of the scalar version, lane by lane) */
            mc_rv_d4 a = mc_rv_add(spE, spO), d = mc_rv_sub(spE, spO);   /* (a0, a2, b0, b2), (a1, a3, b1, b3) */
            mc_rv_d4 A1 = mc_rv_unlo(a, d), A2 = mc_rv_unhi(a, d);       /* (a0, a1, b0, b1), (a2, a3, b2, b3) */
            mc_rv_d4 P = mc_rv_add(A1, A2), M = mc_rv_sub(A1, A2);      /* (s0, s1, s4, s5), (s2, s3, s6, s7) */
            mc_rv_d4 X = mc_rv_lohalf(P, M), Y = mc_rv_hihalf(P, M);    /* (s0 .. s3), (s4 .. s7) */
            mc_rv_d4 U = mc_rv_bc(uj[i]), N = mc_rv_bc(MC_RV_NORM);
            mc_rv_st(lw + q, mc_rv_add(mc_rv_mul(mc_rv_add(X, Y), N), U));
            mc_rv_st(lw + q + 4, mc_rv_add(mc_rv_mul(mc_rv_sub(X, Y), N), U));
        }
        j += end;
    }
    mc_rv_st(sp, spE); mc_rv_st(sp + 4, spO);
    mc_rv_st(G, GE); mc_rv_st(G + 4, GO); mc_rv_st(B, BE); mc_rv_st(B + 4, BO);
    mc_rv_st(ay, vay); mc_rv_st(eta, veta); mc_rv_st(deta, vdeta);
    mc_rv_st(ls, vls); mc_rv_st(lc, vlc); mc_rv_st(dcur, vdcur);
    *rem = left;
}

#endif /* MIXCORE_REVERB_KERNEL_H */
