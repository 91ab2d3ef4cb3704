# cython: language_level=3
"""Feedback delay kernel: fractional read, one-pole low-pass in the loop, optional ping-pong.

Per sample n (d, fb and mix ramp linearly per sample, see smooth.pxd), per channel c:

    y_c      = buf_c[w - d]                        fractional d: 4-point cubic Hermite
                                                    (Catmull-Rom), exact when d is whole;
                                                    1 < d < 2: 3rd-order Lagrange through delays
                                                    1..4 (buf_c[w] is not written yet)
    lp_c    += a (src_c - lp_c)                    src_c = y_c; a = 1 - exp(-2 pi fc / fs), a = 1: no filter
    buf_c[w] = in_c + fb lp_c                      in_c = x_c
    out_c    = (1 - mix) x_c + mix y_c

Ping-pong (two or more channels): the left line takes the mono sum and the lines feed each
other, so echoes alternate left, right, left...

    in_L = (x_L + x_R) / 2,  in_R = 0,  src_L = y_R,  src_R = y_L

The loop states are flushed to zero below 1e-30 (denormal guard).

When nothing moves (whole delay, no low-pass, no ping-pong, no glide) the same arithmetic runs in
spans that vectorise (``_delay_still``): 36 -> 5 ms per minute of stereo.
"""
from automation cimport at, changed, run_end
from libc.math cimport M_PI, exp, fabs, floor, rint
from smooth cimport smooth_next, smooth_target


cdef inline double _read(const double[:, ::1] buf, Py_ssize_t c, long long w, long long ip, double frac,
                         long long mask) noexcept nogil:
    """buf_c[w - ip - frac]: exact when frac == 0, else cubic Hermite (ip >= 2) or Lagrange (ip == 1)."""
    cdef long long p = w - ip
    cdef double xm1, x0, x1, x2, c1, c2, c3, t
    x0 = buf[c, p & mask]
    if frac == 0.0:
        return x0
    x1 = buf[c, (p - 1) & mask]
    x2 = buf[c, (p - 2) & mask]
    if ip < 2:
        # buf_c[w] is written after this read: 3rd-order Lagrange through delays 1, 2, 3, 4
        t = frac
        xm1 = buf[c, (p - 3) & mask]
        return (-(t - 1.0) * (t - 2.0) * (t - 3.0) * x0 + 3.0 * t * (t - 2.0) * (t - 3.0) * x1
                - 3.0 * t * (t - 1.0) * (t - 3.0) * x2 + t * (t - 1.0) * (t - 2.0) * xm1) * (1.0 / 6.0)
    xm1 = buf[c, (p + 1) & mask]
    c1 = 0.5 * (x1 - xm1)
    c2 = xm1 - 2.5 * x0 + 2.0 * x1 - 0.5 * x2
    c3 = 0.5 * (x2 - xm1) + 1.5 * (x0 - x1)
    return ((c3 * frac + c2) * frac + c1) * frac + x0


cdef inline double _lowpass(double state, double src, double a) noexcept nogil:
    if a >= 1.0:
        state = src
    else:
        state = state + a * (src - state)
    if fabs(state) < 1e-30:
        state = 0.0
    return state


cdef Py_ssize_t _delay_still(float[:, ::1] x, Py_ssize_t i0, Py_ssize_t i1, double[:, ::1] buf,
                             double[::1] lp, long long ip, double fb, double mix, long long[::1] wpos) noexcept nogil:
    # _delay's loop when nothing moves and nothing interpolates: whole delay ip >= 1, no low-pass, no
    # ping-pong, d/fb/mix ramps still. The same operations per sample, but in spans that read only
    # what was written before the span (span <= ip) and do not wrap the ring, so each span is a plain
    # loop the compiler vectorises. Returns the samples done (all of them).
    cdef Py_ssize_t c, k, span, i = i0, nc = x.shape[0]
    cdef long long size = buf.shape[1], mask = size - 1
    cdef long long w = wpos[0], r, wm
    cdef double y, yf, xl
    cdef double* b
    cdef float* xc
    while i < i1:
        r = (w - ip) & mask
        wm = w & mask
        span = i1 - i
        span = span if span < ip else <Py_ssize_t>ip  # reads only samples written before the span
        span = span if span < size - ip else <Py_ssize_t>(size - ip)  # read and write regions apart
        span = span if span < size - r else <Py_ssize_t>(size - r)
        span = span if span < size - wm else <Py_ssize_t>(size - wm)
        for c in range(nc):
            b = &buf[c, 0]
            xc = &x[c, i]
            for k in range(span):
                y = b[r + k]
                yf = 0.0 if fabs(y) < 1e-30 else y  # the loop state: _lowpass with a = 1
                xl = xc[k]
                b[wm + k] = xl + fb * yf
                xc[k] = <float>(xl * (1.0 - mix) + y * mix)
            y = b[r + span - 1]
            lp[c] = 0.0 if fabs(y) < 1e-30 else y
        w += span
        i += span
    wpos[0] = w
    return i1 - i0


cdef void _delay(float[:, ::1] x, Py_ssize_t i0, Py_ssize_t i1, double[:, ::1] buf, double[::1] lp,
                 double[::1] d_ramp, double[::1] fb_ramp, double[::1] mix_ramp, long long[::1] wpos, double a,
                 bint ping) noexcept nogil:
    # samples i0 .. i1 - 1 of x
    cdef Py_ssize_t c, i, nc = x.shape[0]
    cdef long long mask = buf.shape[1] - 1
    cdef long long w = wpos[0], ip, wm
    cdef double d, fl, frac, fb, mix, y, yl, yr, xl, xr
    d = d_ramp[0]
    if (not ping and a >= 1.0 and d_ramp[3] <= 0.0 and fb_ramp[3] <= 0.0 and mix_ramp[3] <= 0.0
            and d == floor(d) and d >= 1.0 and 2.0 * d <= buf.shape[1] and i1 > i0):
        _delay_still(x, i0, i1, buf, lp, <long long>d, fb_ramp[0], mix_ramp[0], wpos)
        return
    for i in range(i0, i1):
        d = smooth_next(&d_ramp[0])
        fb = smooth_next(&fb_ramp[0])
        mix = smooth_next(&mix_ramp[0])
        fl = floor(d)
        frac = d - fl
        ip = <long long>fl
        wm = w & mask
        c = 0
        if ping and nc >= 2:
            xl = x[0, i]
            xr = x[1, i]
            yl = _read(buf, 0, w, ip, frac, mask)
            yr = _read(buf, 1, w, ip, frac, mask)
            lp[0] = _lowpass(lp[0], yr, a)
            lp[1] = _lowpass(lp[1], yl, a)
            buf[0, wm] = 0.5 * (xl + xr) + fb * lp[0]
            buf[1, wm] = fb * lp[1]
            x[0, i] = <float>(xl * (1.0 - mix) + yl * mix)
            x[1, i] = <float>(xr * (1.0 - mix) + yr * mix)
            c = 2
        while c < nc:
            y = _read(buf, c, w, ip, frac, mask)
            lp[c] = _lowpass(lp[c], y, a)
            xl = x[c, i]
            buf[c, wm] = xl + fb * lp[c]
            x[c, i] = <float>(xl * (1.0 - mix) + y * mix)
            c += 1
        w += 1
    wpos[0] = w


def process_delay(float[:, ::1] x,          # INOUT (channels, n) audio, processed in place
                  double[:, ::1] buf,       # INOUT (channels, 2^k) delay rings
                  double[::1] lp,           # INOUT (channels,) loop low-pass states
                  double[::1] d_ramp,       # INOUT delay time in samples (ramp, see smooth.pxd)
                  double[::1] fb_ramp,      # INOUT feedback (ramp)
                  double[::1] mix_ramp,     # INOUT wet amount (ramp)
                  long long[::1] wpos,      # INOUT [write position]
                  double lowpass_a,         # IN one-pole coefficient, 1 = no filter
                  bint ping_pong):          # IN
    """Run the delay over x in place."""
    with nogil:
        _delay(x, 0, x.shape[1], buf, lp, d_ramp, fb_ramp, mix_ramp, wpos, lowpass_a, ping_pong)


cdef inline void _derive(double* dv, const double[::1] time, bint in_beats, const double[::1] lowpass_hz,
                         Py_ssize_t a, double tempo_bpm, double fs, double lowpass_off_hz,
                         double max_time_s) noexcept nogil:
    # The delay's derived values at sample a of the parameter arrays, dv = [delay (samples), low-pass
    # coefficient], each recomputed where its parameter changes (all at a = 0): the one derivation, of
    # the automated runs and (delay_coeffs) of the constants. The delay is at least 1 sample, at most
    # max_time_s, and snapped to a whole sample within 1e-9.
    cdef double d, rd, fc
    if changed(time, a):
        if in_beats:
            d = at(time, a) * 60.0 * fs / tempo_bpm
        else:
            d = at(time, a) * fs / 1000.0
        if d > max_time_s * fs:
            d = max_time_s * fs
        if d < 1.0:
            d = 1.0
        rd = rint(d)
        if fabs(d - rd) < 1e-9:
            d = rd
        dv[0] = d
    if changed(lowpass_hz, a):
        fc = at(lowpass_hz, a)
        if fc >= lowpass_off_hz:
            dv[1] = 1.0
        else:
            if fc > 0.45 * fs:
                fc = 0.45 * fs
            dv[1] = 1.0 - exp(-2.0 * M_PI * fc / fs)


def delay_coeffs(const double[::1] values,   # IN [time (ms, or beats when in_beats), lowpass_hz]: constants
                 bint in_beats, double tempo_bpm, double fs, double lowpass_off_hz, double max_time_s):
    """(delay in samples, low-pass coefficient) of constant parameters: _derive of each as an array of
    one value, exactly what process_delay_automated computes for a run of them."""
    cdef double dv[2]
    if values.shape[0] != 2:
        raise ValueError("delay_coeffs: 2 values")
    _derive(dv, values[0:1], in_beats, values[1:2], 0, tempo_bpm, fs, lowpass_off_hz, max_time_s)
    return dv[0], dv[1]


def process_delay_automated(float[:, ::1] x,              # INOUT (channels, n) audio, processed in place
                            double[:, ::1] buf,           # INOUT as process_delay
                            double[::1] lp,
                            double[::1] d_ramp,
                            double[::1] fb_ramp,
                            double[::1] mix_ramp,
                            long long[::1] wpos,
                            const double[::1] time,       # IN per-sample parameters, (n,) or (1,) constant:
                            bint in_beats,                #    time in ms, or in beats when in_beats
                            const double[::1] feedback,
                            const double[::1] mix,
                            const double[::1] lowpass_hz,
                            const double[::1] ping_pong,
                            double tempo_bpm, double fs,
                            double d_ramp_samples, double fb_ramp_samples, double mix_ramp_samples,
                            double lowpass_off_hz, double max_time_s):
    """Run the delay over x in place with per-sample parameters: at each sample the ramps head for
    that sample's values (_derive, once per run of constant values), then glide as in process_delay; a
    moving time is read through the fractional interpolators."""
    cdef Py_ssize_t a = 0, b, n = x.shape[1]
    cdef double dv[2]
    with nogil:
        while a < n:
            b = run_end(time, a, n)
            b = run_end(feedback, a, b)
            b = run_end(mix, a, b)
            b = run_end(lowpass_hz, a, b)
            b = run_end(ping_pong, a, b)
            _derive(dv, time, in_beats, lowpass_hz, a, tempo_bpm, fs, lowpass_off_hz, max_time_s)
            smooth_target(&d_ramp[0], dv[0], d_ramp_samples)
            smooth_target(&fb_ramp[0], at(feedback, a), fb_ramp_samples)
            smooth_target(&mix_ramp[0], at(mix, a), mix_ramp_samples)
            _delay(x, a, b, buf, lp, d_ramp, fb_ramp, mix_ramp, wpos, dv[1], at(ping_pong, a) >= 0.5)
            a = b
