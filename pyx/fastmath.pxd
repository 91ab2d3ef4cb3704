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


# Branch-free variants for loops the compiler vectorises (SSE2 on x86-64, no fast-math): only
# +, -, *, /, compares-and-selects and 64-bit integer shifts/masks of the double's bits, so a vector
# lane computes exactly what the scalar code does (same bits). Used by the compressor's gain passes.

cdef union _u64:
    double d
    unsigned long long u

# 6755399441055744.0 = 1.5 * 2^52: x + it rounds x to an integer (ties to even); 4503599627370496.0 = 2^52

cdef inline double exp2_nb(double x) noexcept nogil:
    """2^x, x clamped to [-1000, 1000]. 2^x = 2^n 2^f, n = round(x), f in [-0.5, 0.5];
    2^f by a degree-7 polynomial (Chebyshev fit, constant term exactly 1 so 2^0 = 1 exactly):
    relative error < 1.1e-10 (1e-9 dB)."""
    cdef _u64 t, s
    cdef double f, p
    x = x if x < 1000.0 else 1000.0
    x = x if x > -1000.0 else -1000.0
    t.d = x + 6755399441055744.0
    f = x - (t.d - 6755399441055744.0)
    p = 1.0 + f * (0.6931471805568341 + f * (0.24022651213495422 + f * (0.055504109063177154 + f * (
        0.009618025613598036 + f * (0.0013333478480888061 + f * (0.00015469729140704658 + f *
        1.5303699001378845e-05))))))
    s.u = (t.u + 1023ULL) << 52    # the low bits of t hold n (two's complement): biased exponent n + 1023
    return p * s.d

cdef inline double log2_nb(double x) noexcept nogil:
    """log2(x) for normal x > 0: x = m 2^e, m in [sqrt(1/2), sqrt(2)); log2 m = 2/ln2 atanh(t),
    t = (m - 1)/(m + 1), |t| < 0.172, by its odd series to t^11: error < 1e-10."""
    cdef _u64 b, m, eb
    cdef double e, e1, mm, m2, t, t2
    cdef bint small
    b.d = x
    eb.u = (b.u >> 52) | 0x4330000000000000ULL
    e = (eb.d - 4503599627370496.0) - 1022.0                                   # x = m 2^e with m in [0.5, 1)
    m.u = (b.u & 0x000fffffffffffffULL) | 0x3fe0000000000000ULL
    mm = m.d
    small = mm < 0.7071067811865476
    e1 = e - 1.0
    m2 = mm * 2.0
    e = e1 if small else e     # selects between computed values only: vectorisable
    mm = m2 if small else mm
    t = (mm - 1.0) / (mm + 1.0)
    t2 = t * t
    return e + 2.8853900817779268 * t * (1.0 + t2 * (0.3333333333333333 + t2 * (0.2 + t2 * (
        0.14285714285714285 + t2 * (0.1111111111111111 + t2 * 0.09090909090909091)))))


cdef union _u32:
    float f
    unsigned int u

cdef inline float exp2f_nb(float x) noexcept nogil:
    """2^x in float32, x clamped to [-126, 126]: n = round(x) by the 1.5 * 2^23 trick, 2^f for
    f in [-0.5, 0.5] by a degree-6 polynomial (constant term 1: 2^0 = 1 exactly); relative error
    1.1e-7 (1e-6 dB), float32 rounding included. Branch-free, so loops of it vectorise 4-wide."""
    cdef _u32 t, s
    cdef float f, p
    x = x if x < 126.0 else <float>126.0
    x = x if x > -126.0 else <float>-126.0
    t.f = x + <float>12582912.0
    f = x - (t.f - <float>12582912.0)
    p = <float>1.0 + f * (<float>0.6931471824645996 + f * (<float>0.24022650718688965 + f * (
        <float>0.05550327152013779 + f * (<float>0.009618056938052177 + f * (<float>0.0013400427997112274
        + f * <float>0.00015461444854736328)))))
    s.u = (t.u + 127U) << 23    # the low bits of t hold n: biased exponent n + 127
    return p * s.f

cdef inline float log2f_nb(float x) noexcept nogil:
    """log2(x) in float32 for normal x > 0: x = m 2^e, m in [sqrt(1/2), sqrt(2)), log2 m =
    2/ln2 atanh(t), t = (m - 1)/(m + 1), odd series to t^9; error about 2 float32 ulps of the
    result (4e-6 at |log2 x| ~ 30, i.e. 2e-5 dB). Branch-free: loops of it vectorise 4-wide."""
    cdef _u32 b, m, eb
    cdef float e, e1, mm, m2, t, t2
    cdef bint small
    b.f = x
    eb.u = (b.u >> 23) | 0x4B000000U
    e = (eb.f - <float>8388608.0) - <float>126.0                  # x = m 2^e with m in [0.5, 1)
    m.u = (b.u & 0x007fffffU) | 0x3f000000U
    mm = m.f
    small = mm < <float>0.70710678
    e1 = e - <float>1.0
    m2 = mm * <float>2.0
    e = e1 if small else e
    mm = m2 if small else mm
    t = (mm - <float>1.0) / (mm + <float>1.0)
    t2 = t * t
    return e + <float>2.8853900817779268 * t * (<float>1.0 + t2 * (<float>0.3333333333333333 + t2 * (
        <float>0.2 + t2 * (<float>0.14285714285714285 + t2 * <float>0.1111111111111111))))
