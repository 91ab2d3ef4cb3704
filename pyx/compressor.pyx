# cython: language_level=3
include "compressor.pxi"
include "compressor_ops.pxi"
