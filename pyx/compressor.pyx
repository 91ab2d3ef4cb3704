# cython: language_level=3
include "compressor.pxi"
