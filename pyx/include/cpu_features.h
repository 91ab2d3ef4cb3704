/* cpu_features.h -- what pyx/cpu.pyx asks of the CPU at run time (mixcore/simd.py picks the kernels). */
#ifndef MIXCORE_CPU_FEATURES_H
#define MIXCORE_CPU_FEATURES_H

static int mixcore_has_avx2(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");  /* also checks that the OS saves the AVX registers */
#else
    return 0;
#endif
}

#endif /* MIXCORE_CPU_FEATURES_H */
