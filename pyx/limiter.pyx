# cython: language_level=3
"""True-peak lookahead limiter kernel.

Per input sample t (channels linked):
 1. true peak: a 4x polyphase interpolator (taps per phase = 2K) gives the three
    points between x[m] and x[m+1], m = t - K; every local maximum of that 4x
    sequence is refined by a parabola through it and its neighbours (4x points
    alone miss up to 0.7 dB near Nyquist); tp[m] = max |.| over x[m] and
    the interpolated points on both sides of it.
 2. required gain r[m] = min(1, ceiling / tp[m]).
 3. h[j] = min(r[j .. j+D-1]) (sliding minimum, monotonic deque), then
    s[j] = mean(h[j-D+1 .. j]) (moving average): every term of the mean covers
    sample j, so s[j] <= r[j]; the gain ramps down over D samples before a peak.
 4. release: e[j] = s[j] if s[j] < e[j-1] else e[j-1] + (s[j] - e[j-1]) (1 - a_R),
    so e <= s <= r.
 5. y[j] = clip(x[j] e[j], +-ceiling), emitted D - 1 + K samples late (the latency).
"""
cimport cython
from libc.math cimport fabs

DEF HMASK = 63     # history ring (64) mask: taps per phase <= 64


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _limit(float[:, ::1] x, const double[:, ::1] fir, double[:, ::1] hist, float[:, ::1] dline,
                 double[::1] dq_val, long long[::1] dq_idx, double[::1] hring, double[::1] st,
                 long long[::1] ist, double[::1] pp, double ceiling, double clip, double a_rel, Py_ssize_t D) noexcept nogil:
    # ist: [t, dq_head, dq_tail]; st: [seg_prev, hsum, env, min gain seen]
    cdef Py_ssize_t c, i, j, k, n = x.shape[1], nc = x.shape[0]
    cdef Py_ssize_t dmask = dline.shape[1] - 1, qmask = dq_val.shape[0] - 1, amask = hring.shape[0] - 1
    cdef long long t = ist[0], head = ist[1], tail = ist[2], m, jj
    cdef double seg_prev = st[0], hsum = st[1], env = st[2], gmin = st[3]
    cdef double v, a, seg, tp, r, h, s, prev, lo, curv
    cdef double pa[5]
    cdef Py_ssize_t TAPS = fir.shape[1]
    cdef Py_ssize_t K = TAPS // 2       # interpolator look-ahead (taps on the future side)
    cdef Py_ssize_t L = D - 1 + K
    for i in range(n):
        # 1. push the new sample; interpolate between x[m] and x[m+1], m = t - K
        seg = 0.0
        for c in range(nc):
            hist[c, t & HMASK] = x[c, i]
            dline[c, t & dmask] = x[c, i]
            # P[0] = x[m], P[1..3] = interpolated points, P[4] = x[m+1]; P[-1] = last point of the previous segment
            pa[0] = fabs(hist[c, (t - K) & HMASK])
            pa[4] = fabs(hist[c, (t - K + 1) & HMASK])
            for k in range(3):
                a = 0.0
                for j in range(TAPS):
                    a = a + fir[k, j] * hist[c, (t - j) & HMASK]
                pa[k + 1] = fabs(a)
            # parabolic refinement of every local maximum of the 4x sequence (true peaks between 4x points)
            prev = pp[c]
            for k in range(4):
                lo = prev if k == 0 else pa[k - 1]
                if pa[k] >= lo and pa[k] >= pa[k + 1]:
                    curv = lo - 2.0 * pa[k] + pa[k + 1]
                    v = pa[k] - (lo - pa[k + 1]) * (lo - pa[k + 1]) / (8.0 * curv) if curv < -1e-12 else pa[k]
                    if v > seg:
                        seg = v
            if pa[4] > seg:
                seg = pa[4]
            pp[c] = pa[3]
        tp = seg if seg > seg_prev else seg_prev
        seg_prev = seg
        m = t - K
        # 2. required gain of sample m
        r = ceiling / tp if tp > ceiling else 1.0
        # 3a. sliding minimum over r[j .. j+D-1], j = m - D + 1: push r[m]
        while tail > head and dq_val[(tail - 1) & qmask] >= r:
            tail -= 1
        dq_val[tail & qmask] = r
        dq_idx[tail & qmask] = m
        tail += 1
        jj = m - D + 1
        while dq_idx[head & qmask] < jj:
            head += 1
        h = dq_val[head & qmask]
        # 3b. moving average of the last D minima
        hsum = hsum + h - hring[jj & amask]
        hring[(jj + D) & amask] = h
        s = hsum / D
        # 4. release
        if s < env:
            env = s
        else:
            env = env + (s - env) * (1.0 - a_rel)
        if env < gmin:
            gmin = env
        # 5. output sample j = t - L
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
                    const double[:, ::1] fir,    # IN    (3, taps) interpolator phases 1/4, 2/4, 3/4
                    double[:, ::1] hist,         # INOUT (channels, 64) input history ring
                    float[:, ::1] dline,         # INOUT (channels, 2^k > latency) delay ring
                    double[::1] dq_val,          # INOUT (2^k > D) sliding-minimum deque values
                    long long[::1] dq_idx,       # INOUT its sample indices
                    double[::1] hring,           # INOUT (2^k > D) minima for the moving average
                    double[::1] state,           # INOUT [seg_prev, hsum, env, min gain]
                    long long[::1] istate,       # INOUT [t, deque head, deque tail]
                    double[::1] prevpoint,       # INOUT (channels,) last interpolated point per channel
                    double ceiling, double clip, double a_release, Py_ssize_t lookahead):
    """Limit x in place; see the module docstring."""
    with nogil:
        _limit(x, fir, hist, dline, dq_val, dq_idx, hring, state, istate, prevpoint, ceiling, clip, a_release, lookahead)
