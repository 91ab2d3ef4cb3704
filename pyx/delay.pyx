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
"""
from libc.math cimport fabs, floor
from smooth cimport smooth_next


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


cdef void _delay(float[:, ::1] x, double[:, ::1] buf, double[::1] lp, double[::1] d_ramp, double[::1] fb_ramp,
                 double[::1] mix_ramp, long long[::1] wpos, double a, bint ping) noexcept nogil:
    cdef Py_ssize_t c, i, n = x.shape[1], nc = x.shape[0]
    cdef long long mask = buf.shape[1] - 1
    cdef long long w = wpos[0], ip, wm
    cdef double d, fl, frac, fb, mix, y, yl, yr, xl, xr
    for i in range(n):
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
        _delay(x, buf, lp, d_ramp, fb_ramp, mix_ramp, wpos, lowpass_a, ping_pong)
