# cython: language_level=3
include "mix.pxi"
include "mix_ops.pxi"
