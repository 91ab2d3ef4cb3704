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
"""
from automation cimport at, changed, run_end
from libc.math cimport M_PI, cos, fabs, pow, sqrt
from smooth cimport smooth_next, smooth_target

DEF NL = 8
DEF NAP = 5        # 4 input diffusers + 1 decorrelating the right channel's onset
DEF NMOD = 4       # modulated lines: 1, 3, 5, 7
DEF NORM = 0.35355339059327373  # 1 / sqrt(8)
DEF MODSTEP = 16   # LFO step, in samples of the absolute count (so blocks never matter)
# layout of the state vector st: s_k (8), then per modulated line:
DEF S_AY = 8
DEF S_SIN = 12
DEF S_COS = 16
DEF S_DCUR = 20
DEF S_ETA = 24
DEF S_DETA = 28
DEF S_D0 = 32


cdef inline double _guard(double v) noexcept nogil:
    return 0.0 if fabs(v) < 1e-30 else v


cdef inline double _eta(double delay, double D0) noexcept nogil:
    """First-order allpass interpolation coefficient for the fractional part ``delay - D0``."""
    cdef double f = delay - D0
    return (1.0 - f) / (1.0 + f)


cdef void _reverb(float[:, ::1] x, Py_ssize_t i0, Py_ssize_t i1, double[:, ::1] lines, const long long[::1] d,
                  double[:, ::1] coef, double[::1] st, double[:, ::1] ap, const long long[::1] apd,
                  const double[::1] apg, double[::1] pd, long long pdd, double[::1] mix_ramp,
                  long long[::1] counters, const double[::1] prm) noexcept nogil:
    # samples i0 .. i1 - 1 of x
    cdef Py_ssize_t c, i, k, m, nc = x.shape[0]
    cdef long long lmask = lines.shape[1] - 1, amask = ap.shape[1] - 1, pmask = pd.shape[0] - 1
    cdef long long w = counters[0], rem = counters[1], p
    cdef double depth = prm[4], wet_gain = prm[5], early = prm[6], inv_nc = 1.0 / nc
    cdef double u, ur, v, wl, wr, a0, a1, a2, a3, b0, b1, b2, b3, dnext, y, mix, xin
    cdef double r[NL]
    cdef double s[NL]
    cdef double sp[NL]          # loop filter states s'_k
    cdef double G[NL]
    cdef double B[NL]
    cdef double dG[NL]
    cdef double dB[NL]
    cdef long long dl[NL]
    cdef double ay[NMOD]        # allpass interpolator states
    cdef double ls[NMOD]        # LFO sines
    cdef double lc[NMOD]        # LFO cosines
    cdef double dcur[NMOD]      # modulated delay at the last LFO step
    cdef double eta[NMOD]       # interpolator coefficient, gliding per sample ...
    cdef double deta[NMOD]      # ... by this much
    cdef long long D0[NMOD]     # whole part of the modulated delay
    cdef long long apl[NAP]
    cdef double apk[NAP]
    cdef double apc[NAP]        # 1 - g^2
    for k in range(NL):
        sp[k] = st[k]
        G[k] = coef[0, k]
        B[k] = coef[0, NL + k]
        dG[k] = coef[2, k]
        dB[k] = coef[2, NL + k]
        dl[k] = d[k]
    for m in range(NMOD):
        ay[m] = st[S_AY + m]
        ls[m] = st[S_SIN + m]
        lc[m] = st[S_COS + m]
        dcur[m] = st[S_DCUR + m]
        eta[m] = st[S_ETA + m]
        deta[m] = st[S_DETA + m]
        D0[m] = <long long>st[S_D0 + m]
    for k in range(NAP):
        apl[k] = apd[k]
        apk[k] = apg[k]
        apc[k] = 1.0 - apg[k] * apg[k]
    for i in range(i0, i1):
        # input: mono sum, predelay, diffusion (v = z[n-M]; t = u + g v stored; out = v - g t)
        u = 0.0
        for c in range(nc):
            u += x[c, i]
        u = u * inv_nc
        pd[w & pmask] = u
        u = pd[(w - pdd) & pmask]
        for k in range(NAP - 1):
            v = _guard(ap[k, (w - apl[k]) & amask])
            ap[k, w & amask] = u + apk[k] * v
            u = apc[k] * v - apk[k] * u
        v = _guard(ap[NAP - 1, (w - apl[NAP - 1]) & amask])
        ap[NAP - 1, w & amask] = u + apk[NAP - 1] * v
        ur = apc[NAP - 1] * v - apk[NAP - 1] * u
        # loop coefficients glide to their targets
        if rem > 0:
            rem -= 1
            if rem == 0:
                for k in range(NL):
                    G[k] = coef[1, k]
                    B[k] = coef[1, NL + k]
            else:
                for k in range(NL):
                    G[k] += dG[k]
                    B[k] += dB[k]
        # modulation: every MODSTEP samples the LFOs step and each odd line's delay heads for
        # its next value; the interpolator coefficient glides there linearly
        if (w & (MODSTEP - 1)) == 0:
            for m in range(NMOD):
                ls[m] += prm[m] * lc[m]
                lc[m] -= prm[m] * ls[m]
                dnext = dl[2 * m + 1] + depth * ls[m]
                D0[m] = <long long>(0.5 * (dcur[m] + dnext) - 0.5)   # floor (positive)
                eta[m] = _eta(dcur[m], <double>D0[m])
                deta[m] = (_eta(dnext, <double>D0[m]) - eta[m]) * (1.0 / MODSTEP)
                dcur[m] = dnext
                ay[m] = _guard(ay[m])   # |eta| < 0.36: MODSTEP samples cannot reach a denormal
        # read the lines: even ones at whole samples, odd ones through the interpolators
        for k in range(0, NL, 2):
            r[k] = lines[k, (w - dl[k]) & lmask]
        for m in range(NMOD):
            p = w - D0[m]
            y = eta[m] * (lines[2 * m + 1, p & lmask] - ay[m]) + lines[2 * m + 1, (p - 1) & lmask]
            eta[m] += deta[m]
            ay[m] = y
            r[2 * m + 1] = y
        for k in range(NL):
            s[k] = _guard(G[k] * r[k] + B[k] * sp[k])
            sp[k] = s[k]
        wl = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        wr = ((r[0] - r[1]) + (r[2] - r[3])) + ((r[4] - r[5]) + (r[6] - r[7]))
        # H s by the fast Walsh-Hadamard transform (3 butterfly stages), written back with the input
        a0 = s[0] + s[1]; a1 = s[0] - s[1]; a2 = s[2] + s[3]; a3 = s[2] - s[3]
        b0 = s[4] + s[5]; b1 = s[4] - s[5]; b2 = s[6] + s[7]; b3 = s[6] - s[7]
        s[0] = a0 + a2; s[1] = a1 + a3; s[2] = a0 - a2; s[3] = a1 - a3
        s[4] = b0 + b2; s[5] = b1 + b3; s[6] = b0 - b2; s[7] = b1 - b3
        p = w & lmask
        for k in range(4):
            lines[k, p] = (s[k] + s[k + 4]) * NORM + u
            lines[k + 4, p] = (s[k] - s[k + 4]) * NORM + u
        wl = wet_gain * wl + early * u
        wr = wet_gain * wr + early * ur
        mix = smooth_next(&mix_ramp[0])
        for c in range(nc):
            xin = x[c, i]
            x[c, i] = <float>(xin * (1.0 - mix) + (wr if c & 1 else wl) * mix)
        w += 1
    for k in range(NL):
        st[k] = sp[k]
        coef[0, k] = G[k]
        coef[0, NL + k] = B[k]
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
                   double[:, ::1] lines,         # INOUT (8, 2^k) delay lines
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
    coefficients and the mix head for that sample's values (reverb.py's _update, once per run of
    constant values) and glide as in process_reverb."""
    cdef Py_ssize_t a = 0, b, k, n = x.shape[1]
    cdef bint same
    cdef double target[16]
    cdef double f = damping_ref_hz if damping_ref_hz < 0.45 * fs else 0.45 * fs
    cdef double cw = cos(2.0 * M_PI * f / fs)
    with nogil:
        while a < n:
            b = run_end(decay_s, a, n)
            b = run_end(damping, a, b)
            b = run_end(mix, a, b)
            if changed(decay_s, a) or changed(damping, a):
                for k in range(8):
                    _loop_filter(&target[k], &target[8 + k], d[k], at(decay_s, a), at(damping, a), fs, damping_max,
                                 cw)
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
