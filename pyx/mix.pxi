"""Mixing kernels of the render engine: fader/pan gains and summing.

Written by hand because these run once per node and edge per block over every
sample of the mix; numpy would need a temporary array and two passes for each.
All buffers are float32 (channels, n) C-contiguous; gains are float64.
A mono source (one channel) feeds both output channels.
"""
from libc.stdint cimport uint32_t
from libc.math cimport fabs
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy


cdef extern from "mix_kernel.h":
    const bint MIXCORE_HAS_UMAX   # AVX2 builds: an unsigned 32-bit max (_finite's choice of loop)


cdef bint _finite(const float* x, Py_ssize_t n) noexcept nogil:
    # A float32 is NaN or +-Inf exactly when its exponent bits are all ones: without the sign bit its
    # bits are then >= 0x7f800000 as an unsigned integer, those of every finite float below. Integer
    # reductions over the whole buffer, vectorised, no branch and no float arithmetic per sample:
    # AVX2 takes the largest (two instructions per vector); SSE2, lacking an unsigned max, ORs
    # (bits + one exponent step), whose bit 31 is set only by such a sample (three instructions).
    cdef const uint32_t* u = <const uint32_t*>x
    cdef uint32_t acc = 0, v
    cdef Py_ssize_t i
    if MIXCORE_HAS_UMAX:
        for i in range(n):
            v = u[i] & 0x7fffffffu
            acc = v if v > acc else acc
        return acc < 0x7f800000u
    for i in range(n):
        acc |= (u[i] & 0x7fffffffu) + 0x00800000u
    return (acc & 0x80000000u) == 0



cdef uint32_t _gains_peak_p(const float* s0, const float* s1, float* o0, float* o1, Py_ssize_t n,
                            double gl, double gr) noexcept nogil:
    # out = src * gain per channel, while taking the largest magnitude of the input as its bits (the
    # unsigned max of _finite, in the same pass: the check costs no second pass over the block). s1 is
    # s0 for a mono source.
    cdef Py_ssize_t i
    cdef uint32_t acc = 0, v
    cdef const uint32_t* u = <const uint32_t*>s0
    for i in range(n):
        o0[i] = <float>(s0[i] * gl)
        v = u[i] & 0x7fffffffu
        acc = v if v > acc else acc
    u = <const uint32_t*>s1
    for i in range(n):
        o1[i] = <float>(s1[i] * gr)
        v = u[i] & 0x7fffffffu
        acc = v if v > acc else acc
    return acc


cdef void _gains_p(const float* s0, const float* s1, float* o0, float* o1, Py_ssize_t n,
                   double gl, double gr) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        o0[i] = <float>(s0[i] * gl)
    for i in range(n):
        o1[i] = <float>(s1[i] * gr)


cdef void _gain_arrays(const float[:, ::1] src, float[:, ::1] out, const double[::1] gl,
                       const double[::1] gr) noexcept nogil:
    cdef Py_ssize_t i, n = out.shape[1]
    cdef Py_ssize_t r = src.shape[0] - 1
    for i in range(n):
        out[0, i] = <float>(src[0, i] * gl[i])
        out[1, i] = <float>(src[r, i] * gr[i])


cdef void _accumulate(float[:, ::1] dst, const float[:, ::1] src, double g) noexcept nogil:
    cdef Py_ssize_t c, i, n = dst.shape[1]
    cdef Py_ssize_t r
    for c in range(dst.shape[0]):
        r = c if c < src.shape[0] else src.shape[0] - 1
        if g == 1.0:
            for i in range(n):
                dst[c, i] = dst[c, i] + src[r, i]
        else:
            for i in range(n):
                dst[c, i] = dst[c, i] + <float>(src[r, i] * g)


def apply_gains(const float[:, ::1] src,  # IN  (1 or 2, n)
                float[:, ::1] out,        # OUT (2, n)
                double gl, double gr):
    """out[0] = src[0]*gl ; out[1] = src[last]*gr. Returns whether every sample of out is finite."""
    cdef bint ok = True
    if out.shape[0] != 2 or src.shape[1] != out.shape[1]:
        raise ValueError("apply_gains: shapes do not match")
    cdef uint32_t peak
    cdef float top
    if out.shape[1] == 0:
        return True
    with nogil:
        if MIXCORE_HAS_UMAX:  # finite and small enough in: finite out (checked exactly near the float range)
            peak = _gains_peak_p(&src[0, 0], &src[src.shape[0] - 1, 0], &out[0, 0], &out[1, 0], out.shape[1], gl, gr)
            if peak >= 0x7f800000u:
                ok = False
            else:
                memcpy(&top, &peak, 4)
                if top * max(fabs(gl), fabs(gr)) >= 1e38:
                    ok = _finite(&out[0, 0], 2 * out.shape[1])
        else:
            _gains_p(&src[0, 0], &src[src.shape[0] - 1, 0], &out[0, 0], &out[1, 0], out.shape[1], gl, gr)
            ok = _finite(&out[0, 0], 2 * out.shape[1])
    return ok


def apply_gain_arrays(const float[:, ::1] src,  # IN  (1 or 2, n)
                      float[:, ::1] out,        # OUT (2, n)
                      const double[::1] gl,     # IN  (n,)
                      const double[::1] gr):    # IN  (n,)
    """out[0] = src[0]*gl[i] ; out[1] = src[last]*gr[i], sample by sample. Returns whether every
    sample of out is finite."""
    cdef bint ok = True
    if out.shape[0] != 2 or src.shape[1] != out.shape[1] or gl.shape[0] < out.shape[1] or gr.shape[0] < out.shape[1]:
        raise ValueError("apply_gain_arrays: shapes do not match")
    with nogil:
        _gain_arrays(src, out, gl, gr)
        if out.shape[1]:
            ok = _finite(&out[0, 0], 2 * out.shape[1])
    return ok


def accumulate(float[:, ::1] dst,        # INOUT (channels, n)
               const float[:, ::1] src,  # IN    (1 or channels, n)
               double gain):
    """dst += src * gain (a mono src feeds every channel of dst)."""
    if src.shape[1] != dst.shape[1]:
        raise ValueError("accumulate: lengths do not match")
    with nogil:
        _accumulate(dst, src, gain)


cdef void _deinterleave_p(const float* s, Py_ssize_t nc, Py_ssize_t n, float* o, Py_ssize_t row) noexcept nogil:
    # o[c * row + i] = s[i * nc + c]: n interleaved frames into nc rows ``row`` floats apart
    cdef Py_ssize_t i, c
    cdef float* o1
    if nc == 2:
        o1 = o + row
        for i in range(n):  # raw pointers with a constant stride: the compiler vectorises it
            o[i] = s[2 * i]
            o1[i] = s[2 * i + 1]
    else:
        for c in range(nc):
            for i in range(n):
                o[c * row + i] = s[i * nc + c]


def deinterleave(const float[:, ::1] src,  # IN  (n, channels): frames as a file holds them
                 float[:, :] out):          # OUT (channels, n), rows may be slices of longer rows
    """out[c, i] = src[i, c]: a file's interleaved frames into the engine's planar block."""
    cdef Py_ssize_t n = src.shape[0], nc = src.shape[1]
    if out.shape[0] != nc or out.shape[1] != n:
        raise ValueError("deinterleave: shapes do not match")
    if n and out.strides[1] != sizeof(float):
        raise ValueError("deinterleave: out's rows must be contiguous")
    if n == 0 or nc == 0:
        return
    with nogil:
        _deinterleave_p(&src[0, 0], nc, n, &out[0, 0], out.strides[0] // sizeof(float))


cdef enum:
    SUM_CHUNK = 512   # samples of _sum_rows's accumulator (2 KiB, in L1)


cdef void _sum_rows(float* d, float** rows, const double* g, Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    # d[i] = (((0 + r0[i] g0) + r1[i] g1) + ...): each product rounded to float32, then added in
    # float32, in the order of the rows -- exactly what zeroing d and calling _accumulate per row
    # does, in one pass over d instead of one per row.
    cdef float acc[SUM_CHUNK]
    cdef Py_ssize_t i0, j, k, w
    cdef const float* r
    cdef double gk
    i0 = 0
    while i0 < n:
        w = n - i0 if n - i0 < SUM_CHUNK else SUM_CHUNK
        for j in range(w):
            acc[j] = 0.0
        for k in range(m):
            r = rows[k] + i0
            gk = g[k]
            if gk == 1.0:  # r * 1.0 in float64, rounded to float32, is r: the same bits, fewer steps
                for j in range(w):
                    acc[j] = acc[j] + r[j]
            else:
                for j in range(w):
                    acc[j] = acc[j] + <float>(r[j] * gk)
        for j in range(w):
            d[i0 + j] = acc[j]
        i0 += w


def sum_into(float[:, ::1] dst,           # OUT (channels, n)
             list srcs,                   # IN  arrays (1 or channels, n), float32, C-contiguous
             const double[::1] gains):    # IN  one per source
    """dst = sum of srcs[k] * gains[k], added in the order of srcs (a mono source feeds every
    channel): the same bits as zeroing dst and calling accumulate() for each source in turn.
    Returns whether every sample of dst is finite (a sum of finite signals can overflow)."""
    cdef Py_ssize_t m = len(srcs), nc = dst.shape[0], n = dst.shape[1], k, c, r
    cdef const float[:, ::1] v
    cdef bint ok = True
    if gains.shape[0] != m:
        raise ValueError("sum_into: one gain per source")
    if n == 0:
        return True
    cdef float** rows = <float**>malloc(max(m, 1) * nc * sizeof(float*))
    if rows == NULL:
        raise MemoryError()
    try:
        for k in range(m):
            v = srcs[k]
            if v.shape[1] != n or v.shape[0] < 1:
                raise ValueError("sum_into: lengths do not match")
            for c in range(nc):
                r = c if c < v.shape[0] else v.shape[0] - 1
                rows[c * m + k] = <float*>&v[r, 0]
        with nogil:
            for c in range(nc):
                _sum_rows(&dst[c, 0], &rows[c * m], &gains[0] if m else NULL, m, n)
            ok = _finite(&dst[0, 0], nc * n)
    finally:
        free(rows)
    return ok


def interleave(const float[:, :] src,   # IN  (channels, n), rows contiguous
               float[:, ::1] out):      # OUT (n, channels): frames as a file holds them
    """out[i, c] = src[c, i]: the engine's planar block into a file's interleaved frames."""
    cdef Py_ssize_t i, c, n = src.shape[1], nc = src.shape[0]
    if out.shape[0] != n or out.shape[1] != nc:
        raise ValueError("interleave: shapes do not match")
    if n and src.strides[1] != sizeof(float):
        raise ValueError("interleave: src's rows must be contiguous")
    cdef const float* s0
    cdef const float* s1
    cdef float* o
    with nogil:
        if nc == 2 and n:
            s0 = &src[0, 0]
            s1 = &src[1, 0]
            o = &out[0, 0]
            for i in range(n):  # raw pointers with a constant stride: the compiler vectorises it
                o[2 * i] = s0[i]
                o[2 * i + 1] = s1[i]
        else:
            for c in range(nc):
                for i in range(n):
                    out[i, c] = src[c, i]


def all_finite(const float[:, ::1] x):
    """True when no sample of ``x`` (any shape (a, b), C-contiguous) is NaN or +-Inf.

    One pass, no temporary: cheap enough to run on every processor's output of every block."""
    cdef Py_ssize_t n = x.shape[0] * x.shape[1]
    cdef bint ok
    if n == 0:
        return True
    with nogil:
        ok = _finite(&x[0, 0], n)
    return ok
