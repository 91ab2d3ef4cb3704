# cython: language_level=3
"""True-peak lookahead limiter kernel.

Stage 1, per block (vectorised, like truepeak.pyx): for every new sample t,
the segment m = t - K between x[m] and x[m+1] gets its three 4x-interpolated
points (polyphase interpolator, 2K taps per phase); every local maximum of
the 4x sequence is refined by a parabola through it and its neighbours, and
seg[t] = the largest value over the segment and all channels.

Stage 2, per sample (sequential):
 1. tp[m] = max(seg of the segments on both sides of x[m]);
 2. required gain r[m] = min(1, ceiling / tp[m]);
 3. h[j] = min(r[j .. j+D-1]) (sliding minimum, monotonic deque), then
    s[j] = mean(h[j-D+1 .. j]) (moving average): every term of the mean covers
    sample j, so s[j] <= r[j]; the gain ramps down over D samples before a peak;
 4. release: e[j] = s[j] if s[j] < e[j-1] else e[j-1] + (s[j] - e[j-1]) (1 - a_R),
    so e <= s <= r;
 5. y[j] = clip(x[j] e[j], +-ceiling), emitted D - 1 + K samples late (the latency).
"""
cimport cython
from automation cimport at, changed, run_end
from libc.math cimport exp, fabs, pow

DEF CH = 64


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _segments(const float[:, ::1] w, Py_ssize_t n, const float[:, ::1] fir, double[::1] seg) noexcept nogil:
    # w: (channels, taps + n), taps samples of history then the block; seg[i] for i < n (max over channels)
    cdef Py_ssize_t c, m, k, j, s0, s1, cnt, nc = w.shape[0], taps = fir.shape[1], K = taps // 2
    cdef float acc[3][CH + 1]
    cdef float f
    cdef const float* xp
    cdef float* ap
    cdef double v, lo, a0, a4, curv, best
    cdef double pa[5]
    for m in range(n):
        seg[m] = 0.0
    for c in range(nc):
        s0 = 0
        while s0 < n:
            s1 = s0 + CH if s0 + CH < n else n
            cnt = s1 - s0
            for k in range(3):
                ap = &acc[k][0]
                for m in range(cnt + 1):
                    ap[m] = 0.0
                for j in range(taps):
                    f = fir[k, j]
                    xp = &w[c, s0 - 1 + taps - j]
                    for m in range(cnt + 1):
                        ap[m] = ap[m] + f * xp[m]
            lo = fabs(acc[2][0])
            for m in range(cnt):
                pa[0] = fabs(w[c, s0 + m + K])
                pa[1] = fabs(acc[0][m + 1])
                pa[2] = fabs(acc[1][m + 1])
                pa[3] = fabs(acc[2][m + 1])
                pa[4] = fabs(w[c, s0 + m + K + 1])
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
                if best > seg[s0 + m]:
                    seg[s0 + m] = best
            s0 = s1


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _limit(float[:, ::1] x, Py_ssize_t i0, Py_ssize_t i1, const double[::1] segv, float[:, ::1] dline,
                 double[::1] dq_val, long long[::1] dq_idx, double[::1] hring, double[::1] st, long long[::1] ist,
                 double ceiling, double clip, double a_rel, Py_ssize_t D, Py_ssize_t K) noexcept nogil:
    # samples i0 .. i1 - 1 of x; ist: [t, dq_head, dq_tail]; st: [seg_prev, hsum, env, min gain seen]
    cdef Py_ssize_t c, i, nc = x.shape[0]
    cdef Py_ssize_t dmask = dline.shape[1] - 1, qmask = dq_val.shape[0] - 1, amask = hring.shape[0] - 1
    cdef long long t = ist[0], head = ist[1], tail = ist[2], m, jj
    cdef double seg_prev = st[0], hsum = st[1], env = st[2], gmin = st[3]
    cdef double v, seg, tp, r, h, s
    cdef Py_ssize_t L = D - 1 + K
    for i in range(i0, i1):
        for c in range(nc):
            dline[c, t & dmask] = x[c, i]
        seg = segv[i]
        tp = seg if seg > seg_prev else seg_prev
        seg_prev = seg
        m = t - K
        r = ceiling / tp if tp > ceiling else 1.0
        while tail > head and dq_val[(tail - 1) & qmask] >= r:
            tail -= 1
        dq_val[tail & qmask] = r
        dq_idx[tail & qmask] = m
        tail += 1
        jj = m - D + 1
        while dq_idx[head & qmask] < jj:
            head += 1
        h = dq_val[head & qmask]
        hsum = hsum + h - hring[jj & amask]
        hring[(jj + D) & amask] = h
        s = hsum / D
        if s < env:
            env = s
        else:
            env = env + (s - env) * (1.0 - a_rel)
        if env < gmin:
            gmin = env
        for c in range(nc):
            v = dline[c, (t - L) & dmask] * env
            if v > clip:
                v = clip
            elif v < -clip:
                v = -clip
            x[c, i] = <float>v
        t += 1
    ist[0] = t
    ist[1] = head
    ist[2] = tail
    st[0] = seg_prev
    st[1] = hsum
    st[2] = env
    st[3] = gmin


def process_limiter(float[:, ::1] x,            # INOUT (channels, n)
                    const float[:, ::1] w,       # IN    (channels, taps + n): the last taps inputs, then x
                    const float[:, ::1] fir,     # IN    (3, taps) interpolator phases 1/4, 2/4, 3/4
                    double[::1] segv,            # work  (>= n,) per-sample true-peak segments
                    float[:, ::1] dline,         # INOUT (channels, 2^k > latency) delay ring
                    double[::1] dq_val,          # INOUT (2^k > D) sliding-minimum deque values
                    long long[::1] dq_idx,       # INOUT its sample indices
                    double[::1] hring,           # INOUT (2^k > D) minima for the moving average
                    double[::1] state,           # INOUT [seg_prev, hsum, env, min gain]
                    long long[::1] istate,       # INOUT [t, deque head, deque tail]
                    double ceiling, double clip, double a_release, Py_ssize_t lookahead):
    """Limit x in place; see the module docstring."""
    cdef Py_ssize_t n = x.shape[1]
    if w.shape[1] != n + fir.shape[1] or segv.shape[0] < n or fir.shape[1] % 2 or fir.shape[1] > 64:
        raise ValueError("process_limiter: shapes do not match")
    with nogil:
        _segments(w, n, fir, segv)
        _limit(x, 0, n, segv, dline, dq_val, dq_idx, hring, state, istate, ceiling, clip, a_release, lookahead,
               fir.shape[1] // 2)


def process_limiter_automated(float[:, ::1] x, const float[:, ::1] w, const float[:, ::1] fir, double[::1] segv,
                              float[:, ::1] dline, double[::1] dq_val, long long[::1] dq_idx, double[::1] hring,
                              double[::1] state, long long[::1] istate,   # as process_limiter
                              const double[::1] ceiling_dbtp,             # IN per-sample parameters, (n,) or (1,)
                              const double[::1] release_ms,
                              double margin_db, double fs, Py_ssize_t lookahead):
    """Limit x in place with per-sample ceiling and release: the values at sample i set the
    required gain, release and clip computed at sample i (limiter.py's _update, once per run of
    constant values), as set_param before that sample would."""
    cdef Py_ssize_t a = 0, b, n = x.shape[1]
    cdef double c, ceiling = 0.0, clip = 0.0, a_rel = 0.0
    if w.shape[1] != n + fir.shape[1] or segv.shape[0] < n or fir.shape[1] % 2 or fir.shape[1] > 64:
        raise ValueError("process_limiter_automated: shapes do not match")
    with nogil:
        _segments(w, n, fir, segv)
        while a < n:
            b = run_end(ceiling_dbtp, a, n)
            b = run_end(release_ms, a, b)
            if changed(ceiling_dbtp, a):
                c = at(ceiling_dbtp, a)
                ceiling = pow(10.0, (c - margin_db) / 20.0)
                clip = pow(10.0, c / 20.0)
            if changed(release_ms, a):
                a_rel = exp(-1.0 / (at(release_ms, a) * 1e-3 * fs))
            _limit(x, a, b, segv, dline, dq_val, dq_idx, hring, state, istate, ceiling, clip, a_rel, lookahead,
                   fir.shape[1] // 2)
            a = b
