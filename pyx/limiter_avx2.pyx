# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math
include "limiter.pxi"
