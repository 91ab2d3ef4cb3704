/* mixcore_vec.h -- the small SIMD vocabulary shared by mixcore's C kernels (the *_kernel.h beside it).

   GCC/Clang vector extensions, no intrinsics headers: the same source builds as SSE2 (the baseline
   x86-64 modules), as AVX2 (the *_avx2 twins, built with -mavx2; setup.py's flag table) and as NEON
   on arm64. Lane arithmetic is plain IEEE in source order: no FMA (nothing is built with -mfma and
   every kernel has -ffp-contract=off), no reassociation, so each lane computes exactly what the
   scalar code computes and the bits never depend on the lane, the block size or the build.

   Native width: MC_VD doubles / MC_VF floats per register -- 4 / 8 with AVX, 2 / 4 otherwise.
     mc_vd, mc_vl   MC_VD doubles; the same bits as integers (masks of compares, sign bits)
     mc_vf, mc_vi   MC_VF floats; their bits
     mc_vhf         MC_VD floats (half a register): converts to and from mc_vd lane for lane
   Fixed width, whatever the build:
     mc_d2, mc_l2   2 doubles (one SSE2 / NEON register); mc_i2: 2 ints (their truncation)
     mc_f4, mc_i4   4 floats */
#ifndef MIXCORE_VEC_H
#define MIXCORE_VEC_H

#include <stddef.h>
#include <string.h>

#ifdef __AVX__
#define MC_VD 4
#else
#define MC_VD 2  /* a 4-wide type on SSE2 is split badly by GCC: measured 5x slower than 2-wide */
#endif
#define MC_VF (2 * MC_VD)

typedef double mc_vd __attribute__((vector_size(8 * MC_VD)));
typedef long long mc_vl __attribute__((vector_size(8 * MC_VD)));
typedef float mc_vf __attribute__((vector_size(4 * MC_VF)));
typedef int mc_vi __attribute__((vector_size(4 * MC_VF)));
typedef float mc_vhf __attribute__((vector_size(4 * MC_VD)));

typedef double mc_d2 __attribute__((vector_size(16)));
typedef long long mc_l2 __attribute__((vector_size(16)));
typedef int mc_i2 __attribute__((vector_size(8)));
typedef float mc_f4 __attribute__((vector_size(16)));
typedef int mc_i4 __attribute__((vector_size(16)));

#define MC_ABS64 0x7fffffffffffffffLL  /* every bit of a double but its sign */
#define MC_ABS32 0x7fffffff            /* ... of a float */

/* unaligned loads and stores (memcpy: no aliasing or alignment assumptions; one instruction) */
static inline mc_vd mc_vd_load(const double *p) { mc_vd v; memcpy(&v, p, sizeof v); return v; }
static inline void mc_vd_store(double *p, mc_vd v) { memcpy(p, &v, sizeof v); }
static inline mc_vf mc_vf_load(const float *p) { mc_vf v; memcpy(&v, p, sizeof v); return v; }
static inline mc_f4 mc_f4_load(const float *p) { mc_f4 v; memcpy(&v, p, sizeof v); return v; }

/* |v| lane by lane: the sign bit cleared */
static inline mc_vd mc_vd_abs(mc_vd v) { return (mc_vd)((mc_vl)v & MC_ABS64); }
static inline mc_d2 mc_d2_abs(mc_d2 v) { return (mc_d2)((mc_l2)v & MC_ABS64); }
static inline mc_vf mc_vf_abs(mc_vf v) { return (mc_vf)((mc_vi)v & MC_ABS32); }

/* mask ? yes : no per lane, as bit operations (the mask lanes all ones or all zeros, as compares give) */
static inline mc_vd mc_vd_select(mc_vl mask, mc_vd yes, mc_vd no) {
    return (mc_vd)(((mc_vl)yes & mask) | ((mc_vl)no & ~mask));
}
static inline mc_vf mc_vf_select(mc_vi mask, mc_vf yes, mc_vf no) {
    return (mc_vf)(((mc_vi)yes & mask) | ((mc_vi)no & ~mask));
}
/* the same select in one instruction where the ISA has one (BLENDVPD picks by the mask's sign bits) */
static inline mc_vd mc_vd_blend(mc_vl mask, mc_vd yes, mc_vd no) {
#if defined(__AVX__)
    return __builtin_ia32_blendvpd256(no, yes, (mc_vd)mask);
#else
    return mc_vd_select(mask, yes, no);
#endif
}

/* a > b ? a : b and a < b ? a : b per lane (NaN: b) */
static inline mc_vd mc_vd_max(mc_vd a, mc_vd b) { return mc_vd_select(a > b, a, b); }
static inline mc_vf mc_vf_max(mc_vf a, mc_vf b) { return mc_vf_select(a > b, a, b); }
/* x < y ? x : y in one instruction where the ISA has one (MINPD is exactly that) */
static inline mc_vd mc_vd_min(mc_vd x, mc_vd y) {
#if defined(__AVX__)
    return __builtin_ia32_minpd256(x, y);
#elif defined(__SSE2__)
    return __builtin_ia32_minpd(x, y);
#else
    return mc_vd_select(x < y, x, y);
#endif
}

#endif /* MIXCORE_VEC_H */
