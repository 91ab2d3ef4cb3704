# cython: language_level=3
include "reverb.pxi"
