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


cdef extern from *:
    """
    #include <string.h>
    #include <stddef.h>
    /* Native vectors: 8 float32 / 4 float64 lanes with AVX, 4 / 2 in the baseline (SSE2 on x86-64, NEON
       on arm64). Lane arithmetic is plain IEEE in source order: no FMA, no reassociation, so every lane
       computes exactly what the scalar code computes (same bits, whatever the lane, block or build). */
    #ifdef __AVX__
    #define MC_LIM_VF 8
    #else
    #define MC_LIM_VF 4
    #endif
    #define MC_LIM_VD (MC_LIM_VF / 2)
    typedef float mc_lim_vf __attribute__((vector_size(MC_LIM_VF * 4)));
    typedef int mc_lim_vi __attribute__((vector_size(MC_LIM_VF * 4)));
    typedef double mc_lim_vd __attribute__((vector_size(MC_LIM_VD * 8)));
    typedef long long mc_lim_vl __attribute__((vector_size(MC_LIM_VD * 8)));
    typedef float mc_lim_hf __attribute__((vector_size(MC_LIM_VD * 4)));

    static inline mc_lim_vf mc_lim_loadf(const float *p) { mc_lim_vf v; memcpy(&v, p, sizeof v); return v; }
    static inline mc_lim_vf mc_lim_absf(mc_lim_vf v) { return (mc_lim_vf)((mc_lim_vi)v & 0x7fffffff); }
    static inline mc_lim_vf mc_lim_maxf(mc_lim_vf a, mc_lim_vf b) {
        mc_lim_vi gt = (mc_lim_vi)(a > b);
        return (mc_lim_vf)(((mc_lim_vi)a & gt) | ((mc_lim_vi)b & ~gt));
    }
    static inline mc_lim_vd mc_lim_absd(const float *p) {  /* |p[0 .. VD-1]| as doubles */
        mc_lim_hf h; memcpy(&h, p, sizeof h);
        mc_lim_vd v = __builtin_convertvector(h, mc_lim_vd);
        return (mc_lim_vd)((mc_lim_vl)v & 0x7fffffffffffffffLL);
    }
    static inline mc_lim_vd mc_lim_sel(mc_lim_vl c, mc_lim_vd a, mc_lim_vd b) {  /* c ? a : b per lane */
        return (mc_lim_vd)(((mc_lim_vl)a & c) | ((mc_lim_vl)b & ~c));
    }
    static inline mc_lim_vd mc_lim_maxd(mc_lim_vd a, mc_lim_vd b) { return mc_lim_sel(a > b, a, b); }

    /* The candidate of point p with neighbours a0, a4 (all >= 0): its parabola vertex if p is a local
       maximum (p itself when the curvature is ~0), else 0 (neutral in the max). The operations of the
       scalar code: curv = a0 - 2 p + a4, v = p - (a0 - a4)^2 / (8 curv). */
    static inline mc_lim_vd mc_lim_cand(mc_lim_vd a0, mc_lim_vd p, mc_lim_vd a4) {
        mc_lim_vd curv = a0 - 2.0 * p + a4;
        mc_lim_vd d = a0 - a4;
        mc_lim_vd v = p - d * d / (8.0 * curv);
        mc_lim_vl bent = curv < -1e-12;
        mc_lim_vl ismax = (p >= a0) & (p >= a4);
        mc_lim_vd zero = {0.0};
        return mc_lim_sel(ismax, mc_lim_sel(bent, v, p), zero);
    }

    /* y_k[q] = sum_j fir[k][j] x[q + taps - j] for q = 0 .. 2 VF - 1: tap order j = 0 .. taps - 1 from 0,
       as the scalar loop (same bits). Two groups at once: six independent sums hide the add latency. */
    static inline __attribute__((always_inline)) void mc_lim_fir2(const float *x, const float *fir, int taps,
                                                                  float *y1, float *y2, float *y3) {
        mc_lim_vf a1 = {0}, a2 = {0}, a3 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
        for (int j = 0; j < taps; j++) {
            mc_lim_vf v = mc_lim_loadf(x + taps - j), u = mc_lim_loadf(x + taps - j + MC_LIM_VF);
            float f1 = fir[j], f2 = fir[taps + j], f3 = fir[2 * taps + j];
            a1 = a1 + f1 * v; b1 = b1 + f1 * u;
            a2 = a2 + f2 * v; b2 = b2 + f2 * u;
            a3 = a3 + f3 * v; b3 = b3 + f3 * u;
        }
        memcpy(y1, &a1, sizeof a1); memcpy(y1 + MC_LIM_VF, &b1, sizeof b1);
        memcpy(y2, &a2, sizeof a2); memcpy(y2 + MC_LIM_VF, &b2, sizeof b2);
        memcpy(y3, &a3, sizeof a3); memcpy(y3 + MC_LIM_VF, &b3, sizeof b3);
    }
    static void mc_lim_fir2_24(const float *x, const float *fir, float *y1, float *y2, float *y3) {
        mc_lim_fir2(x, fir, 24, y1, y2, y3);   /* the limiter's size, unrolled */
    }
    static void mc_lim_fir2_any(const float *x, const float *fir, int taps, float *y1, float *y2, float *y3) {
        mc_lim_fir2(x, fir, taps, y1, y2, y3);
    }

    #define MC_LIM_G (2 * MC_LIM_VF)
    /* w: (nc, taps + n) rows of stride `stride` (taps inputs of history, then the block).
       seg[q] (q < n) = the peak of segment q over all channels: the largest of |x[q + 1]| and the
       parabola vertices of the local maxima among |x[q]|, the three interpolated points and their
       neighbours (the module docstring). Exact, except that a segment whose every candidate is
       provably <= skip (the vertex of a local maximum p is at most 9/8 p) may get any value <= skip
       (0): the caller only compares it with ceilings >= skip. The last segment is always exact (it is
       the next call's seg_prev). */
    static void mc_lim_segments(const float *w, Py_ssize_t nc, Py_ssize_t stride, Py_ssize_t n,
                                const float *fir, int taps, double skip, double *seg) {
        const int K = taps / 2;
        /* bound: 9/8 max p, with a margin far above float32 rounding */
        const float fskip = (float)(skip / (1.125 * (1.0 + 1e-5)));
        /* every interpolated point is at most gain * max |x| over the taps it reads */
        double gain = 1.0;
        for (int k = 0; k < 3; k++) {
            double g = 0.0;
            for (int j = 0; j < taps; j++) g += fir[k * taps + j] < 0.0f ? -fir[k * taps + j] : fir[k * taps + j];
            gain = g > gain ? g : gain;
        }
        const float xskip = (float)(skip / (1.125 * gain * (1.0 + 1e-5)));
        float pad[MC_LIM_G + 2 * 64];
        float y1[MC_LIM_G], y2[MC_LIM_G], y3[MC_LIM_G + 1], xs[MC_LIM_G + 1];
        for (Py_ssize_t q = 0; q < n; q++) seg[q] = 0.0;
        for (Py_ssize_t c = 0; c < nc; c++) {
            const float *xrow = w + c * stride;
            float lo = 0.0f;  /* y3 at q0 - 1 */
            int lo_ok = 0;
            for (Py_ssize_t q0 = 0; q0 < n; q0 += MC_LIM_G) {
                const float *x = xrow + q0;
                Py_ssize_t cnt = n - q0 < MC_LIM_G ? n - q0 : MC_LIM_G;
                if (cnt < MC_LIM_G) {  /* a short last group on a zero-padded copy; lanes past cnt unused */
                    memset(pad, 0, sizeof pad);
                    memcpy(pad, x, (size_t)(cnt + taps) * sizeof(float));
                    x = pad;
                }
                if (q0 + cnt < n) {  /* the group reads x[1 .. taps + G - 1]: skip it if that is quiet enough */
                    mc_lim_vf m = mc_lim_absf(mc_lim_loadf(x + taps + MC_LIM_G - MC_LIM_VF));
                    for (int o = 1; o + MC_LIM_VF <= taps + MC_LIM_G; o += MC_LIM_VF)
                        m = mc_lim_maxf(m, mc_lim_absf(mc_lim_loadf(x + o)));
                    float mx = 0.0f;
                    for (int e = 0; e < MC_LIM_VF; e++) mx = m[e] > mx ? m[e] : mx;
                    if (mx <= xskip) { lo_ok = 0; continue; }
                }
                if (!lo_ok) {  /* y3 at q0 - 1, as the group loop computes it */
                    lo = 0.0f;
                    for (int j = 0; j < taps; j++) lo = lo + fir[2 * taps + j] * xrow[q0 - 1 + taps - j];
                }
                lo_ok = 1;
                y3[0] = lo;
                if (taps == 24)
                    mc_lim_fir2_24(x, fir, y1, y2, y3 + 1);
                else
                    mc_lim_fir2_any(x, fir, taps, y1, y2, y3 + 1);
                lo = y3[cnt];
                memcpy(xs, x + K, (MC_LIM_G + 1) * sizeof(float));
                mc_lim_vf m = mc_lim_absf(mc_lim_loadf(y3));
                for (int k = 0; k < MC_LIM_G; k += MC_LIM_VF) {
                    m = mc_lim_maxf(m, mc_lim_maxf(mc_lim_absf(mc_lim_loadf(xs + k)),
                                                   mc_lim_absf(mc_lim_loadf(xs + k + 1))));
                    m = mc_lim_maxf(m, mc_lim_maxf(mc_lim_absf(mc_lim_loadf(y1 + k)),
                                                   mc_lim_maxf(mc_lim_absf(mc_lim_loadf(y2 + k)),
                                                               mc_lim_absf(mc_lim_loadf(y3 + 1 + k)))));
                }
                float mx = 0.0f;   /* (lanes past cnt hold the zero padding's values: still a bound) */
                for (int e = 0; e < MC_LIM_VF; e++) mx = m[e] > mx ? m[e] : mx;
                if (mx <= fskip && q0 + cnt < n) continue;  /* nothing here can pass skip (last segment: exact) */
                for (int k = 0; k < MC_LIM_G; k += MC_LIM_VD) {
                    mc_lim_vd l = mc_lim_absd(y3 + k);
                    mc_lim_vd p0 = mc_lim_absd(xs + k), p1 = mc_lim_absd(y1 + k), p2 = mc_lim_absd(y2 + k);
                    mc_lim_vd p3 = mc_lim_absd(y3 + 1 + k), p4 = mc_lim_absd(xs + k + 1);
                    mc_lim_vd best = p4;
                    best = mc_lim_maxd(best, mc_lim_cand(l, p0, p1));
                    best = mc_lim_maxd(best, mc_lim_cand(p0, p1, p2));
                    best = mc_lim_maxd(best, mc_lim_cand(p1, p2, p3));
                    best = mc_lim_maxd(best, mc_lim_cand(p2, p3, p4));
                    for (int e = 0; e < MC_LIM_VD && k + e < cnt; e++)
                        if (best[e] > seg[q0 + k + e]) seg[q0 + k + e] = best[e];
                }
            }
        }
    }
    """
    void mc_lim_segments(const float* w, Py_ssize_t nc, Py_ssize_t stride, Py_ssize_t n, const float* fir, int taps,
                         double skip, double* seg) nogil


cdef void _segments(const float[:, ::1] w, Py_ssize_t n, const float[:, ::1] fir, double[::1] seg,
                    double skip) noexcept nogil:
    # w: (channels, taps + n), taps samples of history then the block; seg[i] for i < n (max over channels);
    # segments provably <= skip may get any value <= skip (mc_lim_segments)
    if n > 0:
        mc_lim_segments(&w[0, 0], w.shape[0], w.shape[1], n, &fir[0, 0], <int>fir.shape[1], skip, &seg[0])


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
        _segments(w, n, fir, segv, ceiling)
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
    cdef double c, ceiling = 0.0, clip = 0.0, a_rel = 0.0, lowest
    cdef Py_ssize_t i
    if w.shape[1] != n + fir.shape[1] or segv.shape[0] < n or fir.shape[1] % 2 or fir.shape[1] > 64:
        raise ValueError("process_limiter_automated: shapes do not match")
    with nogil:
        lowest = ceiling_dbtp[0]
        for i in range(ceiling_dbtp.shape[0]):
            if ceiling_dbtp[i] < lowest:
                lowest = ceiling_dbtp[i]
        # every ceiling of the block is >= this (the margin covers pow's rounding)
        _segments(w, n, fir, segv, pow(10.0, (lowest - margin_db) / 20.0) * (1.0 - 1e-9))
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
