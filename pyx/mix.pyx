# cython: language_level=3
include "mix.pxi"
