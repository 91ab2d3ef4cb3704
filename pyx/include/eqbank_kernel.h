/* eqbank_kernel.h -- the section loop of pyx/eqbank.pxi: biquad cascades of 16 lanes side by side.

   A lane is one channel of one EQ; each runs exactly biquad.pyx's _section arithmetic in float64
   (TDF-II), MC_VD lanes per vector (mixcore_vec.h): see eqbank.pxi's docstring. */
#ifndef MIXCORE_EQBANK_KERNEL_H
#define MIXCORE_EQBANK_KERNEL_H

#include "mixcore_vec.h"

#define MC_EQ_LG 16            /* lanes per group (mc_sections assumes 16: MC_EQ_NV vectors) */
#define MC_EQ_CH 128           /* samples per chunk: CH * LG float64 = 16 KiB, in L1 */
#define MC_EQ_NV (MC_EQ_LG / MC_VD)

/* xb: m samples x 16 lanes (float64, in place); co: per section 5 rows of 16 (b0 b1 b2 a1 a2);
   zz: per section 2 rows of 16 (z1 z2), updated. */
static void mc_sections(double *xb, ptrdiff_t m, const double *co, double *zz, ptrdiff_t ns, ptrdiff_t ph)
{
    /* ph: the stream position of sample 0, modulo 16; the flush test runs after samples at
       positions 15 mod 16 only (biquad.pyx's rule with a phase) */
    mc_vl absmask;
    mc_vd tiny;
    for (int w = 0; w < MC_VD; w++) { absmask[w] = MC_ABS64; tiny[w] = 1e-30; }
    for (ptrdiff_t s = 0; s < ns; s++) {
        const double *c = co + s * 5 * 16;
        double *z = zz + s * 2 * 16;
        mc_vd c0[MC_EQ_NV], c1[MC_EQ_NV], c2[MC_EQ_NV], c3[MC_EQ_NV], c4[MC_EQ_NV], z1[MC_EQ_NV], z2[MC_EQ_NV];
        for (int k = 0; k < MC_EQ_NV; k++) {
            __builtin_memcpy(&c0[k], c + 0 * 16 + MC_VD * k, sizeof(mc_vd));
            __builtin_memcpy(&c1[k], c + 1 * 16 + MC_VD * k, sizeof(mc_vd));
            __builtin_memcpy(&c2[k], c + 2 * 16 + MC_VD * k, sizeof(mc_vd));
            __builtin_memcpy(&c3[k], c + 3 * 16 + MC_VD * k, sizeof(mc_vd));
            __builtin_memcpy(&c4[k], c + 4 * 16 + MC_VD * k, sizeof(mc_vd));
            __builtin_memcpy(&z1[k], z + 0 * 16 + MC_VD * k, sizeof(mc_vd));
            __builtin_memcpy(&z2[k], z + 1 * 16 + MC_VD * k, sizeof(mc_vd));
        }
        for (ptrdiff_t t = 0; t < m; t++) {
            double *q = xb + t * 16;
            if (((ph + t) & 15) != 15) {
                for (int k = 0; k < MC_EQ_NV; k++) {
                    mc_vd v, y;
                    __builtin_memcpy(&v, q + MC_VD * k, sizeof(mc_vd));
                    y = c0[k] * v + z1[k];
                    z1[k] = (c1[k] * v + z2[k]) - c3[k] * y;
                    z2[k] = c2[k] * v - c4[k] * y;
                    __builtin_memcpy(q + MC_VD * k, &y, sizeof(mc_vd));
                }
            } else {
                for (int k = 0; k < MC_EQ_NV; k++) {
                    mc_vd v, y, a, b;
                    __builtin_memcpy(&v, q + MC_VD * k, sizeof(mc_vd));
                    y = c0[k] * v + z1[k];
                    a = (c1[k] * v + z2[k]) - c3[k] * y;
                    b = c2[k] * v - c4[k] * y;
                    mc_vl keep = ((mc_vd)((mc_vl)a & absmask) >= tiny)
                               | ((mc_vd)((mc_vl)b & absmask) >= tiny);
                    z1[k] = (mc_vd)((mc_vl)a & keep);
                    z2[k] = (mc_vd)((mc_vl)b & keep);
                    __builtin_memcpy(q + MC_VD * k, &y, sizeof(mc_vd));
                }
            }
        }
        for (int k = 0; k < MC_EQ_NV; k++) {
            __builtin_memcpy(z + 0 * 16 + MC_VD * k, &z1[k], sizeof(mc_vd));
            __builtin_memcpy(z + 1 * 16 + MC_VD * k, &z2[k], sizeof(mc_vd));
        }
    }
}

#endif /* MIXCORE_EQBANK_KERNEL_H */
