"""True-peak lookahead limiter kernel.

Stage 1, per block: for every new sample t, the segment m = t - K between x[m] and x[m+1] gets its
three 4x-interpolated points (polyphase interpolator, 2K taps per phase); every local maximum of the
4x sequence is refined by a parabola through it and its neighbours, and seg[t] = the largest value
over the segment and all channels.

Stage 2, per sample:
 1. tp[m] = max(seg of the segments on both sides of x[m]);
 2. required gain r[m] = min(1, ceiling / tp[m]);
 3. h[j] = min(r[j .. j+D-1]) (sliding minimum, van Herk / Gil-Werman), then
    s[j] = mean(h[j-D+1 .. j]) (moving average): every term of the mean covers
    sample j, so s[j] <= r[j]; the gain ramps down over D samples before a peak;
 4. release: e[j] = s[j] if s[j] < e[j-1] else e[j-1] + (s[j] - e[j-1]) (1 - a_R),
    so e <= s <= r;
 5. y[j] = clip(x[j] e[j], +-ceiling), emitted D - 1 + K samples late (the latency).

How it runs fast, with the bits of the plain scalar version (tests/test_limiter_reverb_speed_kernels.py
holds that version and compares bit for bit):

- Stage 1 in native vectors (8 float32 lanes in the limiter_avx2 build, 4 in the baseline; GCC vector
  extensions in pyx/include/limiter_kernel.h, no FMA, each lane the same IEEE operations in the same
  order as one scalar sample): the FIR for
  two groups of outputs at once (six independent sums hide the add latency), the parabolas in
  float64 lanes, branch-free (local maximum and curvature tests as masks).
- Only segments above the ceiling matter (stage 2 uses seg only through tp > ceiling), so a group
  is skipped when its bound cannot reach the ceiling: every interpolated point is at most
  sum|h| * max|x| over the taps it reads, and a parabola vertex at most 9/8 of its local maximum.
  A skipped segment keeps 0 (<= every ceiling of the call: the automated path uses the lowest
  ceiling of the block); the last segment of a call is always exact (it is the next call's tp).
- Stage 2 in chunks of LCH samples: tp and r branch-free (the division in vectors); the sliding
  minimum by van Herk / Gil-Werman (blocks of D at fixed multiples of the sample index: a running
  prefix minimum and the suffix minima of the previous block; the minimum is exact, so the same
  values as the monotonic deque it replaced, without its branches); the moving sum and the release
  (the only true recursions) sample by sample; then, per channel, the block into the delay ring and
  the delayed samples times the gain, clipped, out (contiguous spans, vectorised).
"""
from automation cimport at, changed, run_end
from derive cimport gain_from_db, one_pole
from libc.string cimport memcpy

cdef enum:
    LCH = 256   # samples per chunk of the gain stage (limiter.py sizes the delay ring for it)

cdef extern from "limiter_kernel.h":
    void mc_lim_segments(const float* w, Py_ssize_t nc, Py_ssize_t stride, Py_ssize_t n, const float* fir, int taps,
                         double skip, double* seg) nogil


cdef void _segments(const float[:, ::1] x, float[:, ::1] tail, float[::1] wbuf, const float[:, ::1] fir,
                    double[::1] seg, double skip) noexcept nogil:
    # the interpolator's input per channel in wbuf: the last taps inputs (tail), then the block x;
    # seg[i] for i < n (max over channels); segments provably <= skip may get any value <= skip
    # (mc_lim_segments). Afterwards tail holds the last taps inputs, for the next call.
    cdef Py_ssize_t c, nc = x.shape[0], n = x.shape[1], taps = fir.shape[1], stride = taps + n
    cdef float* w = &wbuf[0]
    for c in range(nc):
        memcpy(w + c * stride, &tail[c, 0], taps * sizeof(float))
        if n > 0:
            memcpy(w + c * stride + taps, &x[c, 0], n * sizeof(float))
    if n > 0:
        mc_lim_segments(w, nc, stride, n, &fir[0, 0], <int>taps, skip, &seg[0])
    for c in range(nc):
        memcpy(&tail[c, 0], w + c * stride + n, taps * sizeof(float))


cdef void _limit(float[:, ::1] x, Py_ssize_t i0, Py_ssize_t i1, const double[::1] segv, float[:, ::1] dline,
                 double[:, ::1] vh, double[::1] hring, double[::1] st, long long[::1] ist,
                 double ceiling, double clip, double a_rel, Py_ssize_t D, Py_ssize_t K) noexcept nogil:
    # samples i0 .. i1 - 1 of x, in chunks of LCH: (1) required gains r, branch-free; (2) the recursions,
    # sample by sample; (3) delay line in, gain and clip out, per channel.
    # ist: [t, phase of r[t - K] in its block of D]; st: [seg_prev, hsum, env, min gain seen, P]
    # vh: row 0 the r of the current block of D (by phase), row 1 (D + 1) the suffix minima of the
    # previous block, then 1.0 (van Herk / Gil-Werman sliding minimum: h[j] = min(suffix of j's
    # block from j, prefix of the next block to j + D - 1); blocks at multiples of D of r's index, so
    # the same for every block size; the minimum is exact whatever the algorithm, so the same bits as
    # the monotonic deque of earlier versions).
    cdef Py_ssize_t c, i, a, cnt, nc = x.shape[0]
    cdef Py_ssize_t dmask = dline.shape[1] - 1, amask = hring.shape[0] - 1
    cdef long long t = ist[0], ph = ist[1], jj, t0
    cdef double seg_prev = st[0], hsum = st[1], env = st[2], gmin = st[3], P = st[4]
    cdef double v, tp, q, h, s, k_rel = 1.0 - a_rel, dd = <double>D
    cdef double* rblk = &vh[0, 0]
    cdef double* suf = &vh[1, 0]
    cdef double rr[LCH]
    cdef double ev[LCH]
    cdef float* xc
    cdef float* dl
    cdef Py_ssize_t L = D - 1 + K, p0, span, o
    a = i0
    while a < i1:
        cnt = i1 - a if i1 - a < LCH else LCH
        # (1) r[m] = min(1, ceiling / tp[m]), tp[m] = max of the segments on both sides of x[m]
        rr[0] = segv[a] if segv[a] > seg_prev else seg_prev
        for i in range(1, cnt):
            rr[i] = segv[a + i] if segv[a + i] > segv[a + i - 1] else segv[a + i - 1]
        seg_prev = segv[a + cnt - 1]
        for i in range(cnt):
            tp = rr[i]
            q = ceiling / tp
            rr[i] = q if tp > ceiling else 1.0
        # (2) sliding minimum, moving average, release
        t0 = t
        for i in range(cnt):
            ph += 1
            if ph == D:      # a block of r is complete: its suffix minima
                suf[D - 1] = rblk[D - 1]
                for o in range(D - 2, -1, -1):
                    suf[o] = rblk[o] if rblk[o] < suf[o + 1] else suf[o + 1]
                ph = 0
                P = rr[i]
            elif rr[i] < P:
                P = rr[i]
            rblk[ph] = rr[i]
            h = suf[ph + 1] if suf[ph + 1] < P else P
            jj = t - K - D + 1
            hsum = hsum + h - hring[jj & amask]
            hring[(jj + D) & amask] = h
            s = hsum / dd
            if s < env:
                env = s
            else:
                env = env + (s - env) * k_rel
            ev[i] = env
            t += 1
        for i in range(cnt):
            gmin = ev[i] if ev[i] < gmin else gmin
        # (3) per channel: the input into the delay ring, the delayed sample times the gain out, clipped
        for c in range(nc):
            xc = &x[c, a]
            dl = &dline[c, 0]
            o = 0
            while o < cnt:   # contiguous spans of the ring
                p0 = (t0 + o) & dmask
                span = cnt - o if cnt - o < dmask + 1 - p0 else dmask + 1 - p0
                for i in range(span):
                    dl[p0 + i] = xc[o + i]
                o += span
            o = 0
            while o < cnt:
                p0 = (t0 + o - L) & dmask
                span = cnt - o if cnt - o < dmask + 1 - p0 else dmask + 1 - p0
                for i in range(span):
                    v = dl[p0 + i] * ev[o + i]
                    v = clip if v > clip else v
                    v = -clip if v < -clip else v
                    xc[o + i] = <float>v
                o += span
        a += cnt
    ist[0] = t
    ist[1] = ph
    st[0] = seg_prev
    st[1] = hsum
    st[2] = env
    st[3] = gmin
    st[4] = P


cdef int _check(float[:, ::1] x, float[:, ::1] tail, float[::1] wbuf, const float[:, ::1] fir, double[::1] segv,
                float[:, ::1] dline, double[:, ::1] vh, double[::1] state, long long[::1] istate,
                Py_ssize_t lookahead, str name) except -1:
    cdef Py_ssize_t n = x.shape[1], nc = x.shape[0], taps = fir.shape[1]
    if (wbuf.shape[0] < nc * (n + taps) or tail.shape[0] != nc or tail.shape[1] != taps or segv.shape[0] < n
            or taps % 2 or taps > 64 or fir.shape[0] != 3 or dline.shape[0] != nc
            or dline.shape[1] < lookahead - 1 + taps // 2 + LCH or dline.shape[1] & (dline.shape[1] - 1)
            or vh.shape[0] != 2 or vh.shape[1] < lookahead + 1 or state.shape[0] < 5 or istate.shape[0] < 2
            or lookahead < 1):
        raise ValueError(f"{name}: shapes do not match")
    return 0


def process_limiter(float[:, ::1] x,            # INOUT (channels, n)
                    float[:, ::1] tail,          # INOUT (channels, taps): the last taps inputs
                    float[::1] wbuf,             # work  (>= channels * (taps + n),) the interpolator's input
                    const float[:, ::1] fir,     # IN    (3, taps) interpolator phases 1/4, 2/4, 3/4
                    double[::1] segv,            # work  (>= n,) per-sample true-peak segments
                    float[:, ::1] dline,         # INOUT (channels, 2^k >= latency + 256) delay ring
                    double[:, ::1] vh,           # INOUT (2, D + 1) sliding minimum: r of this block, suffix minima
                    double[::1] hring,           # INOUT (2^k > D) minima for the moving average
                    double[::1] state,           # INOUT [seg_prev, hsum, env, min gain, running prefix minimum]
                    long long[::1] istate,       # INOUT [t, phase of r in its block]
                    double ceiling, double clip, double a_release, Py_ssize_t lookahead):
    """Limit x in place; see the module docstring."""
    cdef Py_ssize_t n = x.shape[1]
    _check(x, tail, wbuf, fir, segv, dline, vh, state, istate, lookahead, "process_limiter")
    with nogil:
        _segments(x, tail, wbuf, fir, segv, ceiling)
        _limit(x, 0, n, segv, dline, vh, hring, state, istate, ceiling, clip, a_release, lookahead,
               fir.shape[1] // 2)


cdef inline void _derive(double* lv, const double[::1] ceiling_dbtp, const double[::1] release_ms, Py_ssize_t a,
                         double margin_db, double fs) noexcept nogil:
    # The limiter's derived values at sample a of the parameter arrays, lv = [ceiling (linear, less the
    # margin), clip (linear), a_release], each recomputed where its parameter changes (all at a = 0): the
    # one derivation, of the automated runs and (limiter_coeffs) of the constants.
    cdef double c
    if changed(ceiling_dbtp, a):
        c = at(ceiling_dbtp, a)
        lv[0] = gain_from_db(c - margin_db)
        lv[1] = gain_from_db(c)
    if changed(release_ms, a):
        lv[2] = one_pole(at(release_ms, a), fs)


def limiter_coeffs(const double[::1] values,   # IN [ceiling_dbtp, release_ms]: constants
                   double margin_db, double fs):
    """(ceiling less the margin, clip, a_release) of constant parameters: _derive of each as an array of
    one value, exactly what process_limiter_automated computes for a run of them."""
    cdef double lv[3]
    if values.shape[0] != 2:
        raise ValueError("limiter_coeffs: 2 values")
    _derive(lv, values[0:1], values[1:2], 0, margin_db, fs)
    return lv[0], lv[1], lv[2]


def process_limiter_automated(float[:, ::1] x, float[:, ::1] tail, float[::1] wbuf, const float[:, ::1] fir,
                              double[::1] segv,
                              float[:, ::1] dline, double[:, ::1] vh, double[::1] hring,
                              double[::1] state, long long[::1] istate,   # as process_limiter
                              const double[::1] ceiling_dbtp,             # IN per-sample parameters, (n,) or (1,)
                              const double[::1] release_ms,
                              double margin_db, double fs, Py_ssize_t lookahead):
    """Limit x in place with per-sample ceiling and release: the values at sample i set the
    required gain, release and clip computed at sample i (_derive, once per run of constant values),
    as set_param before that sample would."""
    cdef Py_ssize_t a = 0, b, n = x.shape[1]
    cdef double lv[3]
    cdef double lowest
    cdef Py_ssize_t i
    _check(x, tail, wbuf, fir, segv, dline, vh, state, istate, lookahead, "process_limiter_automated")
    if n == 0:  # nothing to do (and the parameter arrays may be empty: no ceiling_dbtp[0] to read)
        return
    with nogil:
        lowest = ceiling_dbtp[0]
        for i in range(ceiling_dbtp.shape[0]):
            if ceiling_dbtp[i] < lowest:
                lowest = ceiling_dbtp[i]
        # every ceiling of the block is >= this (the margin covers pow's rounding)
        _segments(x, tail, wbuf, fir, segv, gain_from_db(lowest - margin_db) * (1.0 - 1e-9))
        while a < n:
            b = run_end(ceiling_dbtp, a, n)
            b = run_end(release_ms, a, b)
            _derive(lv, ceiling_dbtp, release_ms, a, margin_db, fs)
            _limit(x, a, b, segv, dline, vh, hring, state, istate, lv[0], lv[1], lv[2], lookahead,
                   fir.shape[1] // 2)
            a = b
