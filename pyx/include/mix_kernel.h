/* mix_kernel.h -- what pyx/mix.pxi's kernels ask of the build. */
#ifndef MIXCORE_MIX_KERNEL_H
#define MIXCORE_MIX_KERNEL_H

#ifdef __AVX2__
#define MIXCORE_HAS_UMAX 1  /* vpmaxud: an unsigned max of 8 lanes in one instruction */
#else
#define MIXCORE_HAS_UMAX 0  /* SSE2 has no unsigned 32-bit max */
#endif

#endif /* MIXCORE_MIX_KERNEL_H */
