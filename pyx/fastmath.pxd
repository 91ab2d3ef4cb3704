# Deterministic fast log2 / exp2 for gain computers (dB <-> linear once per sample).
# Written by hand because libm's log10/pow dominate a compressor's cost; these use only
# +, -, *, / and exponent bit manipulation (no fast-math), so they give the same bits on every
# run and machine. Accuracy: log2 to about 1e-9, exp2 to about 1e-9 relative (far below 0.001 dB).
from libc.math cimport floor

cdef union _bits:
    double d
    long long i

cdef inline double fast_log2(double x) noexcept nogil:
    """log2(x) for x > 0 (normal numbers)."""
    cdef _bits b
    cdef long long e
    cdef double m, t, t2
    b.d = x
    e = ((b.i >> 52) & 0x7ff) - 1022                             # x = m * 2^e, m in [0.5, 1)
    b.i = (b.i & 0x000fffffffffffffLL) | 0x3fe0000000000000LL
    m = b.d
    if m < 0.7071067811865476:
        m = m * 2.0
        e = e - 1
    t = (m - 1.0) / (m + 1.0)
    t2 = t * t
    return e + 2.8853900817779268 * t * (1.0 + t2 * (0.3333333333333333 + t2 * (0.2 + t2 * (
        0.14285714285714285 + t2 * (0.1111111111111111 + t2 * 0.09090909090909091)))))

cdef inline double fast_exp2(double x) noexcept nogil:
    """2^x for -1000 < x < 1000."""
    cdef double fl = floor(x)
    cdef double f = (x - fl) * 0.6931471805599453
    cdef double p
    cdef _bits b
    # e^f for f in [0, ln 2): Taylor series to f^11/11! (error < 2e-11)
    p = 1.0 + f * (1.0 + f * (0.5 + f * (0.16666666666666666 + f * (0.041666666666666664 + f * (
        0.008333333333333333 + f * (0.001388888888888889 + f * (0.0001984126984126984 + f * (
        2.48015873015873e-05 + f * (2.7557319223985893e-06 + f * (2.755731922398589e-07 + f *
        2.505210838544172e-08))))))))))
    b.i = (<long long>fl + 1023) << 52
    return p * b.d

cdef inline double db_from_lin(double x) noexcept nogil:
    return 6.020599913279624 * fast_log2(x)

cdef inline double lin_from_db(double db) noexcept nogil:
    return fast_exp2(db * 0.16609640474436813)
