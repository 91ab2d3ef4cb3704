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
Vectors are GCC vector extensions (the C is in pyx/include/reverb_kernel.h): 4 lanes in one AVX
register (reverb_avx2) or two SSE2 registers; no FMA, so every lane computes exactly what the scalar
code computes.
"""
from automation cimport at, changed, run_end
from libc.math cimport M_PI, ceil, cos, fabs, pow, sqrt
from smooth cimport smooth_next, smooth_target

cdef enum:
    NL = 8
    NAP = 5        # 4 input diffusers + 1 decorrelating the right channel's onset
    NMOD = 4       # modulated lines: 1, 3, 5, 7
    RCH = 256      # samples per chunk
    # (the LFO steps every 16 samples of the absolute count, so blocks never matter: mc_rv_core)
# layout of the state vector st: s_k (8), then per modulated line:
cdef enum:
    S_AY = 8
    S_SIN = 12
    S_COS = 16
    S_DCUR = 20
    S_ETA = 24
    S_DETA = 28
    S_D0 = 32


cdef extern from "reverb_kernel.h":
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
