# cython: language_level=3
include "limiter.pxi"
