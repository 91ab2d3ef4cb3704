# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math -ffp-contract=off
include "compressor.pxi"
include "compressor_ops.pxi"
