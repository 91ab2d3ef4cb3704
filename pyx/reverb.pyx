# cython: language_level=3
"""Feedback-delay-network reverb kernel (8 lines, Hadamard feedback matrix).

Per sample (Jot & Chaigne 1991; Schlecht & Habets for the orthogonal matrix):
    u      = predelay(mean of the input channels), then 4 Schroeder allpasses (diffusion)
    r_i    = line_i[w - d_i]                      (i = 0..7, mutually prime lengths)
    s_i    = g_i * lowpass_i(r_i)                 g_i = 10^(-3 d_i / (RT60 fs)), unity-DC one-pole
    (lines 1, 3, 5, 7 read at d_i + depth (1 + sin(2 pi f_i t)): slow, deterministic modulation
     that breaks up metallic ringing; first-order allpass interpolation)
    line_i[w] = (H s)_i + u                       H = Hadamard(8) / sqrt(8), orthogonal
    wet_L  = sum_i cl_i r_i,  wet_R = sum_i cr_i r_i   (two orthogonal sign patterns)
    out_c  = x_c (1 - mix) + wet_c mix
"""
cimport cython
from libc.math cimport fabs, sin

DEF NL = 8
DEF NAP = 4


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _reverb(float[:, ::1] x, double[:, ::1] lines, const long long[::1] d, const double[::1] g,
                  double[::1] lp, double damp, double[:, ::1] ap, const long long[::1] apd, double apg,
                  double[::1] pd, long long pdd, const double[::1] cl, const double[::1] cr, double mix,
                  double wet_gain, long long[::1] wpos, const double[::1] mdepth, const double[::1] mrate,
                  double[::1] moff) noexcept nogil:
    # mdepth/mrate: per-line delay modulation (samples, radians per sample); moff: current offsets.
    # The LFOs are evaluated every 32 samples of the absolute sample counter (block-size independent).
    cdef Py_ssize_t c, i, k, n = x.shape[1], nc = x.shape[0]
    cdef long long ip
    cdef double pos, frac
    cdef Py_ssize_t lmask = lines.shape[1] - 1, amask = ap.shape[1] - 1, pmask = pd.shape[0] - 1
    cdef long long w = wpos[0]
    cdef double u, v, t, wl, wr, a0, a1, a2, a3, b0, b1, b2, b3
    cdef double r[NL]
    cdef double s[NL]
    cdef double norm = 0.35355339059327373  # 1/sqrt(8)
    for i in range(n):
        if (w & 31) == 0:
            for k in range(NL):
                moff[k] = 0.5 + mdepth[k] * (1.0 + sin(mrate[k] * <double>w + 0.7853981633974483 * k))
        u = 0.0
        for c in range(nc):
            u += x[c, i]
        u /= nc
        pd[w & pmask] = u
        u = pd[(w - pdd) & pmask]
        for k in range(NAP):
            v = ap[k, (w - apd[k]) & amask]
            t = u + apg * v
            ap[k, w & amask] = t
            u = v - apg * t
        wl = 0.0
        wr = 0.0
        for k in range(NL):
            if mdepth[k] > 0.0:
                pos = <double>d[k] + moff[k]
                ip = <long long>pos
                frac = pos - <double>ip
                # first-order allpass interpolation: unity gain at every frequency, so the
                # modulation does not shorten the decay (a linear or cubic read would damp it)
                a0 = (1.0 - frac) / (1.0 + frac)
                r[k] = a0 * lines[k, (w - ip) & lmask] + lines[k, (w - ip - 1) & lmask] - a0 * moff[NL + k]
                moff[NL + k] = r[k]
            else:
                r[k] = lines[k, (w - d[k]) & lmask]
            lp[k] = r[k] + damp * (lp[k] - r[k])
            if fabs(lp[k]) < 1e-30:
                lp[k] = 0.0
            s[k] = g[k] * lp[k]
            wl += cl[k] * r[k]
            wr += cr[k] * r[k]
        # fast Walsh-Hadamard transform of s (3 butterfly stages), normalised
        a0 = s[0] + s[1]; a1 = s[0] - s[1]; a2 = s[2] + s[3]; a3 = s[2] - s[3]
        b0 = s[4] + s[5]; b1 = s[4] - s[5]; b2 = s[6] + s[7]; b3 = s[6] - s[7]
        s[0] = a0 + a2; s[1] = a1 + a3; s[2] = a0 - a2; s[3] = a1 - a3
        s[4] = b0 + b2; s[5] = b1 + b3; s[6] = b0 - b2; s[7] = b1 - b3
        for k in range(4):
            a0 = s[k] + s[k + 4]
            a1 = s[k] - s[k + 4]
            lines[k, w & lmask] = a0 * norm + u
            lines[k + 4, w & lmask] = a1 * norm + u
        wl *= wet_gain
        wr *= wet_gain
        if nc == 1:
            x[0, i] = <float>(x[0, i] * (1.0 - mix) + 0.5 * (wl + wr) * mix)
        else:
            x[0, i] = <float>(x[0, i] * (1.0 - mix) + wl * mix)
            x[1, i] = <float>(x[1, i] * (1.0 - mix) + wr * mix)
            for c in range(2, nc):
                x[c, i] = <float>(x[c, i] * (1.0 - mix) + 0.5 * (wl + wr) * mix)
        w += 1
    wpos[0] = w


def process_reverb(float[:, ::1] x, double[:, ::1] lines, const long long[::1] d, const double[::1] g,
                   double[::1] lp, double damp, double[:, ::1] ap, const long long[::1] apd, double apg,
                   double[::1] pd, long long pdd, const double[::1] cl, const double[::1] cr, double mix,
                   double wet_gain, long long[::1] wpos, const double[::1] mdepth, const double[::1] mrate,
                   double[::1] moff):
    """Run the FDN over x (channels, n) in place; all state arrays are updated."""
    with nogil:
        _reverb(x, lines, d, g, lp, damp, ap, apd, apg, pd, pdd, cl, cr, mix, wet_gain, wpos, mdepth, mrate, moff)
