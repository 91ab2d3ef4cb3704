# cython: language_level=3
# distutils: extra_compile_args = -fno-trapping-math -ffp-contract=off
include "eqbank.pxi"
include "eqbank_ops.pxi"
