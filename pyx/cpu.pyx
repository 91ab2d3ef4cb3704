# cython: language_level=3
"""What the CPU can do, for the kernels built twice (``*_avx2.pyx`` beside the baseline twin)."""

cdef extern from *:
    """
    static int mixcore_has_avx2(void) {
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");  /* also checks that the OS saves the AVX registers */
    #else
        return 0;
    #endif
    }
    """
    int mixcore_has_avx2() nogil


def has_avx2() -> bool:
    """Whether this CPU (and OS) runs AVX2 instructions."""
    return bool(mixcore_has_avx2())
