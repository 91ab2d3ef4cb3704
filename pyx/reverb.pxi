# cython: language_level=3
"""Feedback-delay-network reverb kernel: 8 lines, Hadamard feedback, modulated lines, damping.

Per sample n (see mixcore/processors/reverb.py for the design and references):

    u      = mean of the input channels, delayed by the predelay (integer samples)
    u      = AP4(AP3(AP2(AP1(u))))         Schroeder allpasses: v = z[n-M], z[n] = u + g v, out = (1 - g^2) v - g u
    r_k    = line_k[w - d_k]                (k even: whole samples)
    r_k    = A_k(line_k[w - D_k ...])       (k odd: delay d_k + depth sin(2 pi f_k n), read through a
                                             first-order allpass interpolator: y = eta (x[w - D] - y') + x[w - D - 1],
                                             eta = (1 - f) / (1 + f), f = delay - D in about [1/2, 3/2]; the sine
                                             steps every 16 samples and eta glides linearly in between)
    s_k    = G_k r_k + b_k s'_k             one-pole loop filter: DC gain G_k / (1 - b_k) = g_k
    line_k[w] = (H s)_k + u                 H = Hadamard(8) / sqrt(8) (fast Walsh-Hadamard transform)
    wet_L  = c (sum_k r_k)          + e u
    wet_R  = c (sum_k (-1)^k r_k)   + e AP5(u)
    out    = (1 - mix) x + mix wet          channel 0 and even channels wet_L, odd channels wet_R

G_k and b_k ramp linearly per sample towards their targets (``coef`` rows: current, target,
step; ``counters[1]`` samples remaining), mix ramps as in smooth.pxd. The sines come from
"magic circle" oscillators (s += k c; c -= k s), exact to repeat. Denormal guard: values read
back from the allpass rings and the loop filter outputs are flushed to zero below 1e-30 every
sample, the interpolator states every 16 samples (|eta| < 0.36 cannot shrink them to a denormal
in that time), so no feedback path can decay into denormal numbers.

How it runs fast, with the bits of the plain scalar version (tests/test_limiter_reverb_speed_kernels.py
holds that version and compares bit for bit): blocks are cut into chunks of RCH samples, each in
three passes.
 1. Input: the mean of the channels, then the predelay and each allpass over the whole chunk, from
    ring spans (memcpy) in pieces of at most the allpass length (every value a piece reads was
    written before it), computed four samples at a time.
 2. The network, sample by sample (mc_rv_core): the 8 lines in two 4-lane float64 vectors, E =
    lines 0, 2, 4, 6 and O = 1, 3, 5, 7 (the modulated ones), so the four interpolators and the
    eight loop filters are a few vector operations; the lines are stored interleaved (one row of 8
    per sample), so a sample writes its 8 values with two vector stores; the butterflies of H and
    the sums of the taps are the scalar version's additions lane by lane (in-lane unpacks and one
    half swap). Reads come from spans without ring wraps (pointers, no masks); the second tap of an
    interpolator is the first tap of the sample before; the LFO step (every 16 samples) runs on the
    four modulated lines at once.
 3. Wet gains and the mix over the chunk, vectorised.
Vectors are GCC vector extensions: 4 lanes in one AVX register (reverb_avx2) or two SSE2 registers;
no FMA, so every lane computes exactly what the scalar code computes.
"""
from automation cimport at, changed, run_end
from libc.math cimport M_PI, ceil, cos, fabs, pow, sqrt
from smooth cimport smooth_next, smooth_target

DEF NL = 8
DEF NAP = 5        # 4 input diffusers + 1 decorrelating the right channel's onset
DEF NMOD = 4       # modulated lines: 1, 3, 5, 7
DEF NORM = 0.35355339059327373  # 1 / sqrt(8)
DEF RCH = 256      # samples per chunk
DEF MODSTEP = 16   # LFO step, in samples of the absolute count (so blocks never matter)
# layout of the state vector st: s_k (8), then per modulated line:
DEF S_AY = 8
DEF S_SIN = 12
DEF S_COS = 16
DEF S_DCUR = 20
DEF S_ETA = 24
DEF S_DETA = 28
DEF S_D0 = 32


cdef extern from *:
    """
    #include <string.h>
    #include <math.h>
    /* 4 float64 lanes (one AVX register in the reverb_avx2 build; two SSE2 registers in the baseline build). Lane arithmetic is
       plain IEEE in source order (no FMA, no reassociation): each lane computes what the scalar code
       computes, so the bits never depend on the build. */
    #ifdef __AVX__
    typedef double mc_rv_d4 __attribute__((vector_size(32)));
    typedef long long mc_rv_l4 __attribute__((vector_size(32)));
    static inline mc_rv_d4 mc_rv_ld(const double *p) { mc_rv_d4 v; memcpy(&v, p, sizeof v); return v; }
    static inline void mc_rv_st(double *p, mc_rv_d4 v) { memcpy(p, &v, sizeof v); }
    static inline mc_rv_d4 mc_rv_set(double a, double b, double c, double d) { mc_rv_d4 v = {a, b, c, d}; return v; }
    static inline mc_rv_d4 mc_rv_bc(double a) { mc_rv_d4 v = {a, a, a, a}; return v; }
    static inline mc_rv_d4 mc_rv_add(mc_rv_d4 a, mc_rv_d4 b) { return a + b; }
    static inline mc_rv_d4 mc_rv_sub(mc_rv_d4 a, mc_rv_d4 b) { return a - b; }
    static inline mc_rv_d4 mc_rv_mul(mc_rv_d4 a, mc_rv_d4 b) { return a * b; }
    static inline mc_rv_d4 mc_rv_guard(mc_rv_d4 v) {  /* 0 where |v| < 1e-30 */
        mc_rv_d4 a = (mc_rv_d4)((mc_rv_l4)v & 0x7fffffffffffffffLL);
        return (mc_rv_d4)((mc_rv_l4)v & ~(mc_rv_l4)(a < 1e-30));
    }
    static inline double mc_rv_lane(mc_rv_d4 v, int k) { return v[k]; }
    static inline mc_rv_d4 mc_rv_div(mc_rv_d4 a, mc_rv_d4 b) { return a / b; }
    /* (long long) of each lane (truncation; |v| < 2^31), as doubles, and into out[] */
    static inline mc_rv_d4 mc_rv_trunc(mc_rv_d4 v, long long *out) {
        typedef int i4 __attribute__((vector_size(16)));
        i4 i = __builtin_convertvector(v, i4);
        for (int k = 0; k < 4; k++) out[k] = i[k];
        return __builtin_convertvector(i, mc_rv_d4);
    }
    /* within each pair of lanes: (x0, y0, x2, y2) and (x1, y1, x3, y3) */
    static inline mc_rv_d4 mc_rv_unlo(mc_rv_d4 x, mc_rv_d4 y) { return __builtin_shufflevector(x, y, 0, 4, 2, 6); }
    static inline mc_rv_d4 mc_rv_unhi(mc_rv_d4 x, mc_rv_d4 y) { return __builtin_shufflevector(x, y, 1, 5, 3, 7); }
    /* halves: (x0, x1, y0, y1) and (x2, x3, y2, y3) */
    static inline mc_rv_d4 mc_rv_lohalf(mc_rv_d4 x, mc_rv_d4 y) { return __builtin_shufflevector(x, y, 0, 1, 4, 5); }
    static inline mc_rv_d4 mc_rv_hihalf(mc_rv_d4 x, mc_rv_d4 y) { return __builtin_shufflevector(x, y, 2, 3, 6, 7); }
    /* (v0 + v2, v1 + v3) stored at p */
    static inline void mc_rv_st_fold(double *p, mc_rv_d4 v) {
        typedef double d2 __attribute__((vector_size(16)));
        d2 lo = __builtin_shufflevector(v, v, 0, 1), hi = __builtin_shufflevector(v, v, 2, 3), r = lo + hi;
        memcpy(p, &r, sizeof r);
    }
    #else
    /* two native 2-lane registers */
    typedef double mc_rv_d2 __attribute__((vector_size(16)));
    typedef long long mc_rv_l2 __attribute__((vector_size(16)));
    typedef struct { mc_rv_d2 a, b; } mc_rv_d4;
    static inline mc_rv_d4 mc_rv_ld(const double *p) {
        mc_rv_d4 v; memcpy(&v.a, p, 16); memcpy(&v.b, p + 2, 16); return v;
    }
    static inline void mc_rv_st(double *p, mc_rv_d4 v) { memcpy(p, &v.a, 16); memcpy(p + 2, &v.b, 16); }
    static inline mc_rv_d4 mc_rv_set(double a, double b, double c, double d) {
        mc_rv_d4 v; v.a = (mc_rv_d2){a, b}; v.b = (mc_rv_d2){c, d}; return v;
    }
    static inline mc_rv_d4 mc_rv_bc(double a) { return mc_rv_set(a, a, a, a); }
    static inline mc_rv_d4 mc_rv_add(mc_rv_d4 x, mc_rv_d4 y) { x.a = x.a + y.a; x.b = x.b + y.b; return x; }
    static inline mc_rv_d4 mc_rv_sub(mc_rv_d4 x, mc_rv_d4 y) { x.a = x.a - y.a; x.b = x.b - y.b; return x; }
    static inline mc_rv_d4 mc_rv_mul(mc_rv_d4 x, mc_rv_d4 y) { x.a = x.a * y.a; x.b = x.b * y.b; return x; }
    static inline mc_rv_d2 mc_rv_guard2(mc_rv_d2 v) {
        mc_rv_d2 a = (mc_rv_d2)((mc_rv_l2)v & 0x7fffffffffffffffLL);
        return (mc_rv_d2)((mc_rv_l2)v & ~(mc_rv_l2)(a < 1e-30));
    }
    static inline mc_rv_d4 mc_rv_guard(mc_rv_d4 v) { v.a = mc_rv_guard2(v.a); v.b = mc_rv_guard2(v.b); return v; }
    static inline double mc_rv_lane(mc_rv_d4 v, int k) { return k < 2 ? v.a[k] : v.b[k - 2]; }
    static inline mc_rv_d4 mc_rv_div(mc_rv_d4 x, mc_rv_d4 y) { x.a = x.a / y.a; x.b = x.b / y.b; return x; }
    static inline mc_rv_d4 mc_rv_trunc(mc_rv_d4 v, long long *out) {
        typedef int i2 __attribute__((vector_size(8)));
        i2 i = __builtin_convertvector(v.a, i2), k = __builtin_convertvector(v.b, i2);
        out[0] = i[0]; out[1] = i[1]; out[2] = k[0]; out[3] = k[1];
        v.a = __builtin_convertvector(i, mc_rv_d2); v.b = __builtin_convertvector(k, mc_rv_d2);
        return v;
    }
    static inline mc_rv_d4 mc_rv_unlo(mc_rv_d4 x, mc_rv_d4 y) {
        mc_rv_d4 v;
        v.a = __builtin_shufflevector(x.a, y.a, 0, 2); v.b = __builtin_shufflevector(x.b, y.b, 0, 2); return v;
    }
    static inline mc_rv_d4 mc_rv_unhi(mc_rv_d4 x, mc_rv_d4 y) {
        mc_rv_d4 v;
        v.a = __builtin_shufflevector(x.a, y.a, 1, 3); v.b = __builtin_shufflevector(x.b, y.b, 1, 3); return v;
    }
    static inline mc_rv_d4 mc_rv_lohalf(mc_rv_d4 x, mc_rv_d4 y) { mc_rv_d4 v; v.a = x.a; v.b = y.a; return v; }
    static inline mc_rv_d4 mc_rv_hihalf(mc_rv_d4 x, mc_rv_d4 y) { mc_rv_d4 v; v.a = x.b; v.b = y.b; return v; }
    static inline void mc_rv_st_fold(double *p, mc_rv_d4 v) { mc_rv_d2 r = v.a + v.b; memcpy(p, &r, sizeof r); }
    #endif
    static inline double mc_rv_guard1(double v) { return fabs(v) < 1e-30 ? 0.0 : v; }

    /* Ring buffers (power-of-two size, mask = size - 1): n values from position pos, in at most two pieces. */
    static inline void mc_rv_get(const double *ring, long long mask, long long pos, Py_ssize_t n, double *out) {
        long long p = pos & mask, first = mask + 1 - p < n ? mask + 1 - p : n;
        memcpy(out, ring + p, (size_t)first * sizeof(double));
        memcpy(out + first, ring, (size_t)(n - first) * sizeof(double));
    }
    static inline void mc_rv_put(double *ring, long long mask, long long pos, Py_ssize_t n, const double *in) {
        long long p = pos & mask, first = mask + 1 - p < n ? mask + 1 - p : n;
        memcpy(ring + p, in, (size_t)first * sizeof(double));
        memcpy(ring, in + first, (size_t)(n - first) * sizeof(double));
    }

    /* Schroeder allpass over samples w .. w + n - 1: v = guard(z[w - M]), z[w] = u + g v, out = c v - g u
       (c = 1 - g^2), in pieces of at most M samples: every v a piece reads was written before it, so a
       piece reads all, computes (vectorised) and writes all: the same values as sample by sample. */
    static void mc_rv_allpass(double *ring, long long mask, long long w, long long M, Py_ssize_t n, double g,
                              double c, const double *__restrict u, double *__restrict out, double *__restrict tmp) {
        mc_rv_d4 G = mc_rv_bc(g), C = mc_rv_bc(c);
        Py_ssize_t j0 = 0;
        if (M < 1) M = 1;
        while (j0 < n) {
            Py_ssize_t m = n - j0 < M ? n - j0 : M, j = 0;
            const double *uj = u + j0;
            double *oj = out + j0;
            mc_rv_get(ring, mask, w + j0 - M, m, tmp);
            for (; j + 4 <= m; j += 4) {
                mc_rv_d4 v = mc_rv_guard(mc_rv_ld(tmp + j)), uu = mc_rv_ld(uj + j);
                mc_rv_st(tmp + j, mc_rv_add(uu, mc_rv_mul(G, v)));
                mc_rv_st(oj + j, mc_rv_sub(mc_rv_mul(C, v), mc_rv_mul(G, uu)));
            }
            for (; j < m; j++) {
                double v = mc_rv_guard1(tmp[j]), uu = uj[j];
                tmp[j] = uu + g * v;
                oj[j] = c * v - g * uu;
            }
            mc_rv_put(ring, mask, w + j0, m, tmp);
            j0 += m;
        }
    }

    /* Predelay: z[w] = u, then u = z[w - M], sample by sample in effect. */
    static void mc_rv_predelay(double *ring, long long mask, long long w, long long M, Py_ssize_t n, double *u) {
        if (mask + 1 - M > n) {   /* writing the n values first overwrites none of those still to be read */
            mc_rv_put(ring, mask, w, n, u);
            mc_rv_get(ring, mask, w - M, n, u);
        } else {
            for (Py_ssize_t j = 0; j < n; j++) {
                ring[(w + j) & mask] = u[j];
                u[j] = ring[(w + j - M) & mask];
            }
        }
    }

    /* The feedback network, sample by sample, for samples w .. w + cnt - 1. lines: (size, 8) interleaved
       ring; uu: the diffused input; wlr0: the sums of the line outputs (+ and alternating signs), wl and wr
       interleaved.
       Lanes: E = lines 0, 2, 4, 6 and O = lines 1, 3, 5, 7 (the modulated ones: m = 0 .. 3). sp, G, B,
       dG, dB, tG, tB: 8 values each, E then O. */
    static void mc_rv_core(double *lines, long long lmask, long long w, Py_ssize_t cnt, const double *uu,
                           double *wlr0, double *sp, double *G, double *B, const double *dG,
                           const double *dB, const double *tG, const double *tB, long long *rem,
                           double *ay, double *eta, double *deta, double *ls, double *lc, double *dcur,
                           long long *D0, const long long *dl, const double *lfo_k, double depth) {
        const double NORM = 0.35355339059327373;
        mc_rv_d4 spE = mc_rv_ld(sp), spO = mc_rv_ld(sp + 4);
        mc_rv_d4 GE = mc_rv_ld(G), GO = mc_rv_ld(G + 4), BE = mc_rv_ld(B), BO = mc_rv_ld(B + 4);
        mc_rv_d4 vay = mc_rv_ld(ay), veta = mc_rv_ld(eta), vdeta = mc_rv_ld(deta);
        mc_rv_d4 vls = mc_rv_ld(ls), vlc = mc_rv_ld(lc), vdcur = mc_rv_ld(dcur), vk = mc_rv_ld(lfo_k);
        mc_rv_d4 vdo = mc_rv_set((double)dl[1], (double)dl[3], (double)dl[5], (double)dl[7]), vdepth = mc_rv_bc(depth);
        long long left = *rem;
        const long long e0 = dl[0], e2 = dl[2], e4 = dl[4], e6 = dl[6];
        long long o0 = D0[0], o1 = D0[1], o2 = D0[2], o3 = D0[3];
        Py_ssize_t j = 0;
        while (j < cnt) {
            long long t = w + j;
            if (left > 0) {  /* loop coefficients glide to their targets */
                left--;
                if (left == 0) {
                    GE = mc_rv_ld(tG); GO = mc_rv_ld(tG + 4); BE = mc_rv_ld(tB); BO = mc_rv_ld(tB + 4);
                } else {
                    GE = mc_rv_add(GE, mc_rv_ld(dG)); GO = mc_rv_add(GO, mc_rv_ld(dG + 4));
                    BE = mc_rv_add(BE, mc_rv_ld(dB)); BO = mc_rv_add(BO, mc_rv_ld(dB + 4));
                }
            }
            if ((t & 15) == 0) {  /* LFO step (MODSTEP): each odd line's delay heads for its next value */
                /* lane m: ls += k lc; lc -= k ls; dnext = d + depth ls; D0 = (long long)(0.5 (dcur + dnext) - 0.5)
                   (floor: positive); eta = eta(dcur - D0), deta = (eta(dnext - D0) - eta) / 16,
                   eta(f) = (1 - f) / (1 + f); the interpolator states are flushed (|eta| < 0.36: 16 samples
                   cannot take them to a denormal) */
                const mc_rv_d4 one = mc_rv_bc(1.0), half = mc_rv_bc(0.5);
                vls = mc_rv_add(vls, mc_rv_mul(vk, vlc));
                vlc = mc_rv_sub(vlc, mc_rv_mul(vk, vls));
                mc_rv_d4 dnext = mc_rv_add(vdo, mc_rv_mul(vdepth, vls));
                mc_rv_d4 d0 = mc_rv_trunc(mc_rv_sub(mc_rv_mul(half, mc_rv_add(vdcur, dnext)), half), D0);
                mc_rv_d4 f = mc_rv_sub(vdcur, d0), f2 = mc_rv_sub(dnext, d0);
                veta = mc_rv_div(mc_rv_sub(one, f), mc_rv_add(one, f));
                mc_rv_d4 eta2 = mc_rv_div(mc_rv_sub(one, f2), mc_rv_add(one, f2));
                vdeta = mc_rv_mul(mc_rv_sub(eta2, veta), mc_rv_bc(1.0 / 16));
                vdcur = dnext;
                vay = mc_rv_guard(vay);
                o0 = D0[0]; o1 = D0[1]; o2 = D0[2]; o3 = D0[3];
            }
            /* a span: up to the next LFO step or coefficient change, without a wrap of any ring position */
            long long pos[13] = {t - e0, t - e2, t - e4, t - e6, t - o0, t - o1, t - o2, t - o3,
                                 t - o0 - 1, t - o1 - 1, t - o2 - 1, t - o3 - 1, t};
            Py_ssize_t end = cnt - j;
            long long step = 16 - (t & 15);
            end = step < end ? step : end;
            if (left > 0) end = 1;
            for (int k = 0; k < 13; k++) {
                pos[k] &= lmask;
                long long room = lmask + 1 - pos[k];
                if (k < 8 || k == 12) end = room < end ? room : end;   /* (8 .. 11: read once, here) */
            }
            const double *pe0 = lines + pos[0] * 8 + 0, *pe2 = lines + pos[1] * 8 + 2;
            const double *pe4 = lines + pos[2] * 8 + 4, *pe6 = lines + pos[3] * 8 + 6;
            const double *pa0 = lines + pos[4] * 8 + 1, *pa1 = lines + pos[5] * 8 + 3;
            const double *pa2 = lines + pos[6] * 8 + 5, *pa3 = lines + pos[7] * 8 + 7;
            /* x[w - D - 1] of a sample is x[w - D] of the one before: loaded once */
            mc_rv_d4 xb = mc_rv_set(lines[pos[8] * 8 + 1], lines[pos[9] * 8 + 3], lines[pos[10] * 8 + 5],
                                    lines[pos[11] * 8 + 7]);
            double *lw = lines + pos[12] * 8;
            const double *uj = uu + j;
            double *wlr = wlr0 + 2 * j;
            for (Py_ssize_t i = 0; i < end; i++) {
                Py_ssize_t q = i * 8;
                mc_rv_d4 rE = mc_rv_set(pe0[q], pe2[q], pe4[q], pe6[q]);
                mc_rv_d4 xa = mc_rv_set(pa0[q], pa1[q], pa2[q], pa3[q]);
                /* allpass interpolators: y = eta (xa - y') + xb */
                mc_rv_d4 y = mc_rv_add(mc_rv_mul(veta, mc_rv_sub(xa, vay)), xb);
                xb = xa;
                veta = mc_rv_add(veta, vdeta);
                vay = y;
                /* loop filters: s = G r + B s' */
                spE = mc_rv_guard(mc_rv_add(mc_rv_mul(GE, rE), mc_rv_mul(BE, spE)));
                spO = mc_rv_guard(mc_rv_add(mc_rv_mul(GO, y), mc_rv_mul(BO, spO)));
                /* wl = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), wr the same with -: S = (r0 + r1, ..),
                   D = (r0 - r1, ..); (S0 + S1, D0 + D1, S2 + S3, D2 + D3); (wl, wr) */
                mc_rv_d4 S = mc_rv_add(rE, y), D = mc_rv_sub(rE, y);
                mc_rv_st_fold(wlr + 2 * i, mc_rv_add(mc_rv_unlo(S, D), mc_rv_unhi(S, D)));
                /* H s: fast Walsh-Hadamard transform (the butterflies of the scalar version, lane by lane) */
                mc_rv_d4 a = mc_rv_add(spE, spO), d = mc_rv_sub(spE, spO);   /* (a0, a2, b0, b2), (a1, a3, b1, b3) */
                mc_rv_d4 A1 = mc_rv_unlo(a, d), A2 = mc_rv_unhi(a, d);       /* (a0, a1, b0, b1), (a2, a3, b2, b3) */
                mc_rv_d4 P = mc_rv_add(A1, A2), M = mc_rv_sub(A1, A2);      /* (s0, s1, s4, s5), (s2, s3, s6, s7) */
                mc_rv_d4 X = mc_rv_lohalf(P, M), Y = mc_rv_hihalf(P, M);    /* (s0 .. s3), (s4 .. s7) */
                mc_rv_d4 U = mc_rv_bc(uj[i]), N = mc_rv_bc(NORM);
                mc_rv_st(lw + q, mc_rv_add(mc_rv_mul(mc_rv_add(X, Y), N), U));
                mc_rv_st(lw + q + 4, mc_rv_add(mc_rv_mul(mc_rv_sub(X, Y), N), U));
            }
            j += end;
        }
        mc_rv_st(sp, spE); mc_rv_st(sp + 4, spO);
        mc_rv_st(G, GE); mc_rv_st(G + 4, GO); mc_rv_st(B, BE); mc_rv_st(B + 4, BO);
        mc_rv_st(ay, vay); mc_rv_st(eta, veta); mc_rv_st(deta, vdeta);
        mc_rv_st(ls, vls); mc_rv_st(lc, vlc); mc_rv_st(dcur, vdcur);
        *rem = left;
    }
    """
    void mc_rv_allpass(double* ring, long long mask, long long w, long long M, Py_ssize_t n, double g, double c,
                       const double* u, double* out, double* tmp) nogil
    void mc_rv_predelay(double* ring, long long mask, long long w, long long M, Py_ssize_t n, double* u) nogil
    void mc_rv_core(double* lines, long long lmask, long long w, Py_ssize_t cnt, const double* uu, double* wlr,
                    double* sp, double* G, double* B, const double* dG, const double* dB,
                    const double* tG, const double* tB, long long* rem, double* ay, double* eta, double* deta,
                    double* ls, double* lc, double* dcur, long long* D0, const long long* dl, const double* lfo_k,
                    double depth) nogil


cdef void _reverb(float[:, ::1] x, Py_ssize_t i0, Py_ssize_t i1, double[:, ::1] lines, const long long[::1] d,
                  double[:, ::1] coef, double[::1] st, double[:, ::1] ap, const long long[::1] apd,
                  const double[::1] apg, double[::1] pd, long long pdd, double[::1] mix_ramp,
                  long long[::1] counters, const double[::1] prm) noexcept nogil:
    # samples i0 .. i1 - 1 of x, in chunks of RCH: (1) the input (mean, predelay, diffusers); (2) the
    # network, sample by sample (mc_rv_core); (3) the wet outputs and the mix. lines: (size, 8).
    cdef Py_ssize_t c, i, k, m, nc = x.shape[0], cnt, j
    cdef long long lmask = lines.shape[0] - 1, amask = ap.shape[1] - 1, pmask = pd.shape[0] - 1
    cdef long long w = counters[0], rem = counters[1]
    cdef double depth = prm[4], wet_gain = prm[5], early = prm[6], inv_nc = 1.0 / nc
    cdef double u, v
    cdef double uu[RCH]         # the diffused input
    cdef double ur_[RCH]        # ... through the fifth allpass (right channel's onset)
    cdef double wlr[2 * RCH]    # wet left, right (interleaved)
    cdef double mixv[RCH]
    cdef double tmp[RCH]
    cdef double* apr
    cdef double* wo
    cdef float* xc
    cdef double sp[NL]          # loop filter states s'_k, lanes E (lines 0, 2, 4, 6) then O (1, 3, 5, 7)
    cdef double G[NL]
    cdef double B[NL]
    cdef double dG[NL]
    cdef double dB[NL]
    cdef double tG[NL]
    cdef double tB[NL]
    cdef long long dl[NL]
    cdef double ay[NMOD]        # allpass interpolator states
    cdef double ls[NMOD]        # LFO sines
    cdef double lc[NMOD]        # LFO cosines
    cdef double dcur[NMOD]      # modulated delay at the last LFO step
    cdef double eta[NMOD]       # interpolator coefficient, gliding per sample ...
    cdef double deta[NMOD]      # ... by this much
    cdef long long D0[NMOD]     # whole part of the modulated delay
    cdef double lfo_k[NMOD]
    cdef long long apl[NAP]
    cdef double apk[NAP]
    cdef double apc[NAP]        # 1 - g^2
    for k in range(NL):
        m = (k >> 1) + 4 * (k & 1)   # lane of line k
        sp[m] = st[k]
        G[m] = coef[0, k]
        B[m] = coef[0, NL + k]
        tG[m] = coef[1, k]
        tB[m] = coef[1, NL + k]
        dG[m] = coef[2, k]
        dB[m] = coef[2, NL + k]
        dl[k] = d[k]
    for m in range(NMOD):
        ay[m] = st[S_AY + m]
        ls[m] = st[S_SIN + m]
        lc[m] = st[S_COS + m]
        dcur[m] = st[S_DCUR + m]
        eta[m] = st[S_ETA + m]
        deta[m] = st[S_DETA + m]
        D0[m] = <long long>st[S_D0 + m]
        lfo_k[m] = prm[m]
    for k in range(NAP):
        apl[k] = apd[k]
        apk[k] = apg[k]
        apc[k] = 1.0 - apg[k] * apg[k]
    i = i0
    while i < i1:
        cnt = i1 - i if i1 - i < RCH else RCH
        # (1) input: mono sum, predelay, diffusion (v = z[n-M]; t = u + g v stored; out = v - g t)
        for j in range(cnt):
            uu[j] = 0.0
        for c in range(nc):
            xc = &x[c, i]
            for j in range(cnt):
                uu[j] += xc[j]
        for j in range(cnt):
            uu[j] = uu[j] * inv_nc
        mc_rv_predelay(&pd[0], pmask, w, pdd, cnt, uu)
        # four diffusers: uu -> ur_ -> uu -> ur_ -> uu; the fifth, for the right channel: uu -> ur_
        for k in range(NAP - 1):
            if k & 1:
                mc_rv_allpass(&ap[k, 0], amask, w, apl[k], cnt, apk[k], apc[k], ur_, uu, tmp)
            else:
                mc_rv_allpass(&ap[k, 0], amask, w, apl[k], cnt, apk[k], apc[k], uu, ur_, tmp)
        mc_rv_allpass(&ap[NAP - 1, 0], amask, w, apl[NAP - 1], cnt, apk[NAP - 1], apc[NAP - 1], uu, ur_, tmp)
        # (2) the network
        mc_rv_core(&lines[0, 0], lmask, w, cnt, uu, wlr, sp, G, B, dG, dB, tG, tB, &rem, ay, eta, deta, ls, lc,
                   dcur, D0, dl, lfo_k, depth)
        # (3) wet outputs, mix
        for j in range(cnt):
            wlr[2 * j] = wet_gain * wlr[2 * j] + early * uu[j]
            wlr[2 * j + 1] = wet_gain * wlr[2 * j + 1] + early * ur_[j]
        if mix_ramp[3] > 0.0:
            for j in range(cnt):
                mixv[j] = smooth_next(&mix_ramp[0])
        else:
            for j in range(cnt):
                mixv[j] = mix_ramp[0]
        for c in range(nc):
            xc = &x[c, i]
            wo = &wlr[1] if c & 1 else &wlr[0]
            for j in range(cnt):
                xc[j] = <float>(xc[j] * (1.0 - mixv[j]) + wo[2 * j] * mixv[j])
        w += cnt
        i += cnt
    for k in range(NL):
        m = (k >> 1) + 4 * (k & 1)
        st[k] = sp[m]
        coef[0, k] = G[m]
        coef[0, NL + k] = B[m]
    for m in range(NMOD):
        st[S_AY + m] = ay[m]
        st[S_SIN + m] = ls[m]
        st[S_COS + m] = lc[m]
        st[S_DCUR + m] = dcur[m]
        st[S_ETA + m] = eta[m]
        st[S_DETA + m] = deta[m]
        st[S_D0 + m] = <double>D0[m]
    counters[0] = w
    counters[1] = rem


def process_reverb(float[:, ::1] x,              # INOUT (channels, n) audio, processed in place
                   double[:, ::1] lines,         # INOUT (2^k, 8) delay lines, interleaved
                   const long long[::1] d,       # IN (8,) line lengths in samples
                   double[:, ::1] coef,          # INOUT (3, 16) loop filter G_k, b_k: current, target, step
                   double[::1] st,               # INOUT (36,) s_k, then per modulated line: interpolator
                                                 #   state, LFO sin, cos, delay, eta, eta step, whole delay
                   double[:, ::1] ap,            # INOUT (5, 2^j) diffusion allpass delay lines
                   const long long[::1] apd,     # IN (5,) allpass lengths
                   const double[::1] apg,        # IN (5,) allpass gains
                   double[::1] pd,               # INOUT (2^p,) predelay ring
                   long long pdd,                # IN predelay in samples
                   double[::1] mix_ramp,         # INOUT wet amount (ramp, smooth.pxd)
                   long long[::1] counters,      # INOUT [samples processed, coefficient ramp samples left]
                   const double[::1] prm):       # IN [LFO k (4), depth in samples, wet gain, early gain]
    """Run the FDN over x in place; all state arrays are updated."""
    with nogil:
        _reverb(x, 0, x.shape[1], lines, d, coef, st, ap, apd, apg, pd, pdd, mix_ramp, counters, prm)


cdef void _loop_filter(double* G, double* B, long long d, double decay_s, double damping, double fs,
                       double damping_max, double cw) noexcept nogil:
    """reverb.loop_filter, the same operations in the same order (cw: cos(2 pi min(8 kHz, 0.45 fs) / fs))."""
    cdef double g = pow(10.0, -3.0 * <double>d / (decay_s * fs))
    cdef double alpha = 1.0 - damping_max * damping
    cdef double rho = pow(g, 1.0 / alpha - 1.0)
    cdef double r2, b
    if rho >= 1.0 - 1e-12:
        G[0] = g
        B[0] = 0.0
        return
    r2 = rho * rho
    b = (1.0 - r2 * cw - rho * sqrt((1.0 - cw) * (2.0 - r2 * (1.0 + cw)))) / (1.0 - r2)
    G[0] = g * (1.0 - b)
    B[0] = b


cdef inline double _damping_cw(double fs, double damping_ref_hz) noexcept nogil:
    """cos(2 pi min(damping_ref_hz, 0.45 fs) / fs), the cw of _loop_filter."""
    cdef double f = damping_ref_hz if damping_ref_hz < 0.45 * fs else 0.45 * fs
    return cos(2.0 * M_PI * f / fs)


cdef void _loop_filters(double* target, const long long* d, Py_ssize_t L, double decay_s, double damping,
                        double fs, double damping_max, double cw) noexcept nogil:
    # the loop filter of every line k < L of d: (G, b) in target[k], target[L + k]
    cdef Py_ssize_t k
    for k in range(L):
        _loop_filter(&target[k], &target[L + k], d[k], decay_s, damping, fs, damping_max, cw)


def loop_filters(double[::1] target,       # OUT (2 L,) G of each line, then b of each line
                 const long long[::1] d,   # IN  (L,) line lengths, samples
                 double decay_s, double damping, double fs, double damping_max, double damping_ref_hz):
    """The loop filters of constant parameters (reverb.py's _update), exactly as the automated runs
    derive them."""
    if target.shape[0] != 2 * d.shape[0]:
        raise ValueError("loop_filters: target needs two values per line")
    _loop_filters(&target[0], &d[0], d.shape[0], decay_s, damping, fs, damping_max, _damping_cw(fs, damping_ref_hz))


def process_reverb_automated(float[:, ::1] x,           # INOUT (channels, n) audio, processed in place
                             double[:, ::1] lines,      # INOUT ... as process_reverb
                             const long long[::1] d,
                             double[:, ::1] coef,
                             double[::1] st,
                             double[:, ::1] ap,
                             const long long[::1] apd,
                             const double[::1] apg,
                             double[::1] pd,
                             long long pdd,
                             double[::1] mix_ramp,
                             long long[::1] counters,
                             const double[::1] prm,
                             const double[::1] decay_s,     # IN per-sample parameters, (n,) or (1,) constant
                             const double[::1] damping,
                             const double[::1] mix,
                             double fs, long long coef_samples, double mix_ramp_samples,
                             double damping_max, double damping_ref_hz):
    """Run the FDN over x in place with per-sample parameters: at each sample the loop-filter
    coefficients (_loop_filters, as reverb.py's _update) and the mix head for that sample's values, once
    per run of constant values, and glide as in process_reverb."""
    cdef Py_ssize_t a = 0, b, k, n = x.shape[1]
    cdef bint same
    cdef double target[16]
    cdef double cw = _damping_cw(fs, damping_ref_hz)
    with nogil:
        while a < n:
            b = run_end(decay_s, a, n)
            b = run_end(damping, a, b)
            b = run_end(mix, a, b)
            if changed(decay_s, a) or changed(damping, a):
                _loop_filters(target, &d[0], 8, at(decay_s, a), at(damping, a), fs, damping_max, cw)
            same = True
            for k in range(16):
                if target[k] != coef[1, k]:
                    same = False
            if not same:                      # Reverb._glide_coefficients
                for k in range(16):
                    coef[1, k] = target[k]
                if coef_samples <= 0:
                    for k in range(16):
                        coef[0, k] = target[k]
                    counters[1] = 0
                else:
                    for k in range(16):
                        coef[2, k] = (target[k] - coef[0, k]) / <double>coef_samples
                    counters[1] = coef_samples
            smooth_target(&mix_ramp[0], at(mix, a), mix_ramp_samples)
            _reverb(x, a, b, lines, d, coef, st, ap, apd, apg, pd, pdd, mix_ramp, counters, prm)
            a = b
