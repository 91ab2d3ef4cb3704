# cython: language_level=3
"""True-peak kernel (ITU-R BS.1770-4 Annex 2, 4x oversampling).

A polyphase interpolator (taps = 2K per phase) gives the three points between
x[m] and x[m+1]; each local maximum of the 4x sequence is refined by a
parabola through it and its neighbours, which removes most of the
under-reading of plain 4x sampling near Nyquist.

Written by hand for speed:
- segments are computed in chunks of 64 with the tap loop outside the
  segment loop, so the compiler vectorises across segments while each sum
  keeps its fixed order (bit-identical results, no fast-math);
- no interpolated or refined value can exceed ``bound * max|x|`` over the
  samples its taps reach, so a chunk whose local maximum times ``bound`` is
  not above the peak found so far is skipped. Skipping never changes the
  result, so results do not depend on block sizes.
"""
cimport cython
from libc.math cimport fabs

DEF CH = 64
DEF MAXTAPS = 64


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _tp(const float[:, ::1] w, Py_ssize_t n, const float[:, ::1] fir, double bound,
              double[::1] peak) noexcept nogil:
    # w: (channels, taps + n); segment m (0..n-1) spans w[m + K] .. w[m + K + 1]; tap j of a phase
    # multiplies w[m + taps - j]. Point k of segment m: acc[k][m] (k = 0, 1, 2 for 1/4, 2/4, 3/4).
    cdef Py_ssize_t c, m, k, j, s0, s1, cnt, nc = w.shape[0], taps = fir.shape[1], K = taps // 2
    cdef float acc[3][CH + 1]
    cdef float f
    cdef double mx, v, lo, curv, best, a0, a4
    cdef double pa[5]
    cdef const float* xp
    cdef float* ap
    for c in range(nc):
        s0 = 0
        while s0 < n:
            s1 = s0 + CH if s0 + CH < n else n
            cnt = s1 - s0
            mx = 0.0
            for j in range(s0, s1 + taps):  # every sample the taps of segments s0-1 .. s1-1 reach
                v = fabs(w[c, j])
                if v > mx:
                    mx = v
            if mx * bound > peak[c]:
                # acc[k][i] for segments s0 - 1 + i, i = 0..cnt (i = 0: the previous segment, for its last point)
                for k in range(3):
                    ap = &acc[k][0]
                    for m in range(cnt + 1):
                        ap[m] = 0.0
                    for j in range(taps):
                        f = fir[k, j]
                        xp = &w[c, s0 - 1 + taps - j]
                        for m in range(cnt + 1):
                            ap[m] = ap[m] + f * xp[m]
                # the 4x maximum of the chunk; the parabola adds at most 1/8 of it
                best = 0.0
                for k in range(3):
                    ap = &acc[k][0]
                    for m in range(1, cnt + 1):
                        v = fabs(ap[m])
                        if v > best:
                            best = v
                for m in range(s0 + K, s1 + K + 1):
                    v = fabs(w[c, m])
                    if v > best:
                        best = v
                if best * 1.125 * (1.0 + 1e-6) <= peak[c]:
                    s0 = s1
                    continue
                lo = fabs(acc[2][0])
                best = 0.0
                for m in range(cnt):
                    pa[0] = fabs(w[c, s0 + m + K])
                    pa[1] = fabs(acc[0][m + 1])
                    pa[2] = fabs(acc[1][m + 1])
                    pa[3] = fabs(acc[2][m + 1])
                    pa[4] = fabs(w[c, s0 + m + K + 1])
                    if pa[4] > best:
                        best = pa[4]
                    for k in range(4):
                        a0 = lo if k == 0 else pa[k - 1]
                        a4 = pa[k + 1]
                        if pa[k] >= a0 and pa[k] >= a4:
                            curv = a0 - 2.0 * pa[k] + a4
                            v = pa[k] - (a0 - a4) * (a0 - a4) / (8.0 * curv) if curv < -1e-12 else pa[k]
                            if v > best:
                                best = v
                    lo = pa[3]
                if best > peak[c]:
                    peak[c] = best
            s0 = s1


def true_peak_block(const float[:, ::1] w,     # IN    (channels, taps + n): taps samples of history, then n new
                    Py_ssize_t n,
                    const float[:, ::1] fir,   # IN    (3, taps) interpolator phases, taps <= 64
                    double bound,              # max gain of interpolation + refinement
                    double[::1] peak):         # INOUT (channels,) true peak (linear)
    """Update the per-channel true peaks with the n segments that end in this block."""
    if fir.shape[1] > MAXTAPS or fir.shape[1] % 2 or w.shape[1] != n + fir.shape[1]:
        raise ValueError("true_peak_block: bad shapes")
    with nogil:
        _tp(w, n, fir, bound, peak)
