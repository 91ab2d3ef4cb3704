# cython: language_level=3
"""What the CPU can do, for the kernels built twice (``*_avx2.pyx`` beside the baseline twin)."""

cdef extern from "cpu_features.h":
    int mixcore_has_avx2() nogil


def has_avx2() -> bool:
    """Whether this CPU (and OS) runs AVX2 instructions."""
    return bool(mixcore_has_avx2())
