/* compressor_kernel.h -- pass 3 of pyx/compressor.pxi's compress_bank: the smoothing recursion of many
   compressors at once, MC_VD lanes per vector (mixcore_vec.h), several vectors' recursions side by
   side. The same operations per lane as _compress's pass 3 (compressor.pxi), so the same bits. */
#ifndef MIXCORE_COMPRESSOR_KERNEL_H
#define MIXCORE_COMPRESSOR_KERNEL_H

#include "mixcore_vec.h"

/* constants of the kernel (compressor.pxi's module docstring) */
#define MC_CMP_LOG_FLOOR 1e-10
#define MC_CMP_DB_PER_LOG2 6.020599913279624      /* 20 log10(2) */
#define MC_CMP_LOG2_PER_DB 0.16609640474436813    /* 1 / (20 log10(2)) */
#define MC_CMP_G_FLUSH 1e-12                       /* dB: a smoothed gain this close to 0 dB is 0 dB */

#define MCC_W MC_VD               /* lanes per vector */
#define MCC_NB (16 / MCC_W)       /* vectors in a group of 16 lanes */

/* r[w]: MCC_W consecutive samples of lane w -> c[t]: sample t of the MCC_W lanes (and back: the
   same shuffles transpose either way) */
static inline void mcc_transpose(const mc_vd *r, mc_vd *c)
{
#if MCC_W == 4
    const mc_vl even = {0, 4, 2, 6}, odd = {1, 5, 3, 7}, lo = {0, 1, 4, 5}, hi = {2, 3, 6, 7};
    mc_vd t0 = __builtin_shuffle(r[0], r[1], even), t1 = __builtin_shuffle(r[0], r[1], odd);
    mc_vd t2 = __builtin_shuffle(r[2], r[3], even), t3 = __builtin_shuffle(r[2], r[3], odd);
    c[0] = __builtin_shuffle(t0, t2, lo);
    c[1] = __builtin_shuffle(t1, t3, lo);
    c[2] = __builtin_shuffle(t0, t2, hi);
    c[3] = __builtin_shuffle(t1, t3, hi);
#else
    const mc_vl first = {0, 2}, second = {1, 3};
    c[0] = __builtin_shuffle(r[0], r[1], first);
    c[1] = __builtin_shuffle(r[0], r[1], second);
#endif
}

/* Pass 3 for lanes k0 .. k0 + nb * MCC_W - 1: gc, lane l's static-curve gains (float32) at
   gc + l * rs, m of them; g, grm: smoothed gain and largest reduction per lane (updated);
   aA, aR: one-pole coefficients; mk: makeup (dB); out: lane l's gains in dB at gdb + l * rs;
   nonunity[l] set when a gain of lane l is not 0 dB. Lanes stay in rows (what passes 2 and 4
   read and write) and are turned into vectors by register shuffles, MCC_W samples at a time;
   the nb vectors' recursions run side by side. */
static inline __attribute__((always_inline)) void mcc_smooth_group(
    const float *gc, ptrdiff_t m, ptrdiff_t k0, int nb, ptrdiff_t rs, double *g, double *grm,
    const double *aA, const double *aR, const double *mk, double *gdb, long long *nonunity)
{
    mc_vl absmask;
    mc_vd flush;
    for (int w = 0; w < MCC_W; w++) { absmask[w] = MC_ABS64; flush[w] = MC_CMP_G_FLUSH; }
    mc_vd vg[MCC_NB], vgrm[MCC_NB], vaA[MCC_NB], vaR[MCC_NB], vmk[MCC_NB];
    mc_vl nz[MCC_NB];  /* the OR of the bits of every gain: nonzero apart from the sign = not 0 dB */
    for (int b = 0; b < nb; b++) {
        ptrdiff_t k = k0 + b * MCC_W;
        __builtin_memcpy(&vg[b], g + k, sizeof(mc_vd));
        __builtin_memcpy(&vgrm[b], grm + k, sizeof(mc_vd));
        __builtin_memcpy(&vaA[b], aA + k, sizeof(mc_vd));
        __builtin_memcpy(&vaR[b], aR + k, sizeof(mc_vd));
        __builtin_memcpy(&vmk[b], mk + k, sizeof(mc_vd));
        for (int w = 0; w < MCC_W; w++) nz[b][w] = 0;
    }
    /* one step of the recursion for the MCC_W lanes of vector b: gain gcv in, gain in dB out */
    #define MCC_STEP(b, gcv, out) do { \
        mc_vd a = mc_vd_blend((gcv) < vg[b], vaA[b], vaR[b]);  /* a = aA if gc < g else aR */ \
        mc_vd x = (gcv) + a * (vg[b] - (gcv)); \
        mc_vl small = (mc_vd)((mc_vl)x & absmask) < flush;  /* |g| < 1e-12 dB: 0 dB */ \
        x = (mc_vd)((mc_vl)x & ~small); \
        vg[b] = x; \
        vgrm[b] = mc_vd_min(x, vgrm[b]);                       /* gr_max = g if g < gr_max else gr_max */ \
        (out) = x + vmk[b]; \
        nz[b] |= (mc_vl)(out); \
    } while (0)
    ptrdiff_t j = 0;
    for (; j + MCC_W <= m; j += MCC_W) {
        mc_vd cols[MCC_NB][MCC_W], outs[MCC_NB][MCC_W];
        for (int b = 0; b < nb; b++) {
            mc_vd rows[MCC_W];
            for (int w = 0; w < MCC_W; w++) {
                mc_vhf f;
                __builtin_memcpy(&f, gc + (k0 + b * MCC_W + w) * rs + j, sizeof(mc_vhf));
                rows[w] = __builtin_convertvector(f, mc_vd);
            }
            mcc_transpose(rows, cols[b]);
        }
        for (int t = 0; t < MCC_W; t++)
            for (int b = 0; b < nb; b++) MCC_STEP(b, cols[b][t], outs[b][t]);
        for (int b = 0; b < nb; b++) {
            mc_vd rows[MCC_W];
            mcc_transpose(outs[b], rows);
            for (int w = 0; w < MCC_W; w++)
                __builtin_memcpy(gdb + (k0 + b * MCC_W + w) * rs + j, &rows[w], sizeof(mc_vd));
        }
    }
    for (; j < m; j++) {  /* the rest, element by element */
        for (int b = 0; b < nb; b++) {
            ptrdiff_t k = k0 + b * MCC_W;
            mc_vd gcv, v;
            for (int w = 0; w < MCC_W; w++) gcv[w] = gc[(k + w) * rs + j];
            MCC_STEP(b, gcv, v);
            for (int w = 0; w < MCC_W; w++) gdb[(k + w) * rs + j] = v[w];
        }
    }
    #undef MCC_STEP
    for (int b = 0; b < nb; b++) {
        ptrdiff_t k = k0 + b * MCC_W;
        __builtin_memcpy(g + k, &vg[b], sizeof(mc_vd));
        __builtin_memcpy(grm + k, &vgrm[b], sizeof(mc_vd));
        for (int w = 0; w < MCC_W; w++) nonunity[k + w] |= (nz[b][w] & absmask[w]) != 0;
    }
}

/* Pass 3 for lp lanes (a multiple of MCC_W): whole groups of 16 lanes, then the rest */
static void mcc_smooth(const float *gc, ptrdiff_t m, ptrdiff_t lp, ptrdiff_t rs, double *g,
                       double *grm, const double *aA, const double *aR, const double *mk,
                       double *gdb, long long *nonunity)
{
    ptrdiff_t k0 = 0;
    for (; k0 + 16 <= lp; k0 += 16)
        mcc_smooth_group(gc, m, k0, MCC_NB, rs, g, grm, aA, aR, mk, gdb, nonunity);
    if (k0 < lp)
        mcc_smooth_group(gc, m, k0, (int)((lp - k0) / MCC_W), rs, g, grm, aA, aR, mk, gdb, nonunity);
}

#endif /* MIXCORE_COMPRESSOR_KERNEL_H */
