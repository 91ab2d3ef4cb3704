# cython: language_level=3
include "eqbank.pxi"
include "eqbank_ops.pxi"
