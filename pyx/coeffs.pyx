# cython: language_level=3
"""The shared derivations of derive.pxd over float64 arrays, for Python (mixcore/processors/coeffs.py).

numpy's exp and power are not libm's (they may differ in the last bit), so the Python side derives
through these loops: one value per element, the same inline code the kernels run per run of
constant parameters.
"""
from derive cimport gain_from_db, one_pole


def one_pole_into(const double[::1] ms,   # IN  time constants, ms
                  double fs,              # IN  sample rate
                  double[::1] out):       # OUT coefficients (as long as ms)
    """out[i] = one_pole(ms[i], fs)."""
    cdef Py_ssize_t i, n = ms.shape[0]
    if out.shape[0] != n:
        raise ValueError("one_pole_into: out must be as long as ms")
    with nogil:
        for i in range(n):
            out[i] = one_pole(ms[i], fs)


def one_pole_of(double ms, double fs):
    """one_pole(ms, fs) of one value."""
    return one_pole(ms, fs)


def gain_from_db_into(const double[::1] db,   # IN  levels, dB
                      double[::1] out):       # OUT linear gains (as long as db)
    """out[i] = gain_from_db(db[i])."""
    cdef Py_ssize_t i, n = db.shape[0]
    if out.shape[0] != n:
        raise ValueError("gain_from_db_into: out must be as long as db")
    with nogil:
        for i in range(n):
            out[i] = gain_from_db(db[i])


def gain_from_db_of(double db):
    """gain_from_db(db) of one value."""
    return gain_from_db(db)
