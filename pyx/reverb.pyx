# cython: language_level=3
"""Feedback-delay-network reverb kernel: 8 lines, Hadamard feedback, modulated lines, damping.

Per sample n (see mixcore/processors/reverb.py for the design and references):

    u      = mean of the input channels, delayed by the predelay (integer samples)
    u      = AP4(AP3(AP2(AP1(u))))         Schroeder allpasses  v = z[n-M], t = u + g v, out = v - g t
    r_k    = line_k[w - d_k]                (k even: whole samples)
    r_k    = A_k(line_k[w - D_k ...])       (k odd: d_k + depth sin(2 pi f_k n); first-order allpass
                                             interpolation, D_k = floor(d - 1/2), f = d - D_k in [1/2, 3/2),
                                             eta = (1 - f) / (1 + f),  y = eta (x[w - D] - y') + x[w - D - 1])
    s_k    = G_k r_k + b_k s'_k             one-pole loop filter: DC gain G_k / (1 - b_k) = g_k
    line_k[w] = (H s)_k + u                 H = Hadamard(8) / sqrt(8) (fast Walsh-Hadamard transform)
    wet_L  = c (sum_k r_k)          + e u
    wet_R  = c (sum_k (-1)^k r_k)   + e AP5(u)
    out    = (1 - mix) x + mix wet          channel 0 and even channels wet_L, odd channels wet_R

G_k and b_k ramp linearly per sample towards their targets (``coef`` rows: current, target,
step; ``counters[1]`` samples remaining), mix ramps as in smooth.pxd. The sines come from
"magic circle" oscillators (s += k c; c -= k s), exact to repeat. Every recursive state is
flushed to zero below 1e-30 (denormal guard).
"""
cimport cython
from libc.math cimport fabs, floor
from smooth cimport smooth_next

DEF NL = 8
DEF NAP = 5        # 4 input diffusers + 1 decorrelating the right channel's onset
DEF NMOD = 4       # modulated lines: 1, 3, 5, 7
DEF NORM = 0.35355339059327373  # 1 / sqrt(8)


cdef inline double _guard(double v) noexcept nogil:
    return 0.0 if fabs(v) < 1e-30 else v


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _reverb(float[:, ::1] x, double[:, ::1] lines, const long long[::1] d, double[:, ::1] coef,
                  double[::1] st, double[:, ::1] ap, const long long[::1] apd, const double[::1] apg,
                  double[::1] pd, long long pdd, double[::1] mix_ramp, long long[::1] counters,
                  const double[::1] prm) noexcept nogil:
    cdef Py_ssize_t c, i, k, m, n = x.shape[1], nc = x.shape[0]
    cdef long long lmask = lines.shape[1] - 1, amask = ap.shape[1] - 1, pmask = pd.shape[0] - 1
    cdef long long w = counters[0], rem = counters[1], p, D0
    cdef double depth = prm[4], wet_gain = prm[5], early = prm[6]
    cdef double u, ur, v, t, wl, wr, a0, a1, a2, a3, b0, b1, b2, b3, dm, f, eta, y, mix, xin
    cdef double r[NL]
    cdef double s[NL]
    for i in range(n):
        # input: mono sum, predelay, diffusion
        u = 0.0
        for c in range(nc):
            u += x[c, i]
        u = u / nc
        pd[w & pmask] = u
        u = pd[(w - pdd) & pmask]
        for k in range(NAP):
            v = ap[k, (w - apd[k]) & amask]
            t = _guard(u + apg[k] * v)
            ap[k, w & amask] = t
            if k < NAP - 1:
                u = v - apg[k] * t
            else:
                ur = v - apg[k] * t
        # loop coefficients glide to their targets
        if rem > 0:
            rem -= 1
            if rem == 0:
                for k in range(2 * NL):
                    coef[0, k] = coef[1, k]
            else:
                for k in range(2 * NL):
                    coef[0, k] += coef[2, k]
        # read the lines
        wl = 0.0
        wr = 0.0
        for k in range(NL):
            if k & 1:
                m = k >> 1
                st[NL + NMOD + m] += prm[m] * st[NL + 2 * NMOD + m]      # sin += k cos
                st[NL + 2 * NMOD + m] -= prm[m] * st[NL + NMOD + m]      # cos -= k sin
                dm = d[k] + depth * st[NL + NMOD + m]
                D0 = <long long>floor(dm - 0.5)
                f = dm - D0
                eta = (1.0 - f) / (1.0 + f)
                p = w - D0
                y = _guard(eta * (lines[k, p & lmask] - st[NL + m]) + lines[k, (p - 1) & lmask])
                st[NL + m] = y
                r[k] = y
                wr -= y
            else:
                r[k] = lines[k, (w - d[k]) & lmask]
                wr += r[k]
            wl += r[k]
            s[k] = _guard(coef[0, k] * r[k] + coef[0, NL + k] * st[k])
            st[k] = s[k]
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
    counters[0] = w
    counters[1] = rem


def process_reverb(float[:, ::1] x,              # INOUT (channels, n) audio, processed in place
                   double[:, ::1] lines,         # INOUT (8, 2^k) delay lines
                   const long long[::1] d,       # IN (8,) line lengths in samples
                   double[:, ::1] coef,          # INOUT (3, 16) loop filter G_k, b_k: current, target, step
                   double[::1] st,               # INOUT (20,) s_k (8), allpass-interpolator y (4), LFO sin (4), cos (4)
                   double[:, ::1] ap,            # INOUT (5, 2^j) diffusion allpass delay lines
                   const long long[::1] apd,     # IN (5,) allpass lengths
                   const double[::1] apg,        # IN (5,) allpass gains
                   double[::1] pd,               # INOUT (2^p,) predelay ring
                   long long pdd,                # IN predelay in samples
                   double[::1] mix_ramp,         # INOUT wet amount (ramp, smooth.pxd)
                   long long[::1] counters,      # INOUT [write position, coefficient ramp samples left]
                   const double[::1] prm):       # IN [LFO k (4), depth in samples, wet gain, early gain]
    """Run the FDN over x in place; all state arrays are updated."""
    with nogil:
        _reverb(x, lines, d, coef, st, ap, apd, apg, pd, pdd, mix_ramp, counters, prm)
