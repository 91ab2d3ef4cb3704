# cython: language_level=3
"""Feedback delay kernel with a one-pole low-pass in the loop and optional ping-pong.

Per sample and channel c (d = delay in samples, ramping; read by 4-point
cubic Hermite interpolation, exact at integer d):
    y_c   = buf_c[w - d]
    lp_c += a (y_src - lp_c)          y_src = y_c, or the other channel's y when ping-pong
    buf_c[w] = x_c + feedback * lp_c
    out_c = x_c (1 - mix) + y_c mix
"""
cimport cython
from libc.math cimport fabs, floor
from smooth cimport smooth_next


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline double _hermite(const double[:, ::1] buf, Py_ssize_t c, long long pos, double frac,
                            Py_ssize_t mask) noexcept nogil:
    cdef double xm1 = buf[c, (pos + 1) & mask], x0 = buf[c, pos & mask]
    cdef double x1 = buf[c, (pos - 1) & mask], x2 = buf[c, (pos - 2) & mask]
    cdef double c1, c2, c3
    if frac == 0.0:
        return x0
    c1 = 0.5 * (x1 - xm1)
    c2 = xm1 - 2.5 * x0 + 2.0 * x1 - 0.5 * x2
    c3 = 0.5 * (x2 - xm1) + 1.5 * (x0 - x1)
    return ((c3 * frac + c2) * frac + c1) * frac + x0


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _delay(float[:, ::1] x, double[:, ::1] buf, double[::1] lp, double[::1] ramp, long long[::1] wpos,
                 double feedback, double a, double mix, bint ping) noexcept nogil:
    cdef Py_ssize_t c, i, n = x.shape[1], nc = x.shape[0], mask = buf.shape[1] - 1
    cdef long long w = wpos[0], ipos
    cdef double d, fl, frac, y0, y1, src, yv[2]
    for i in range(n):
        d = smooth_next(&ramp[0])
        fl = floor(d)
        frac = d - fl
        ipos = w - <long long>fl
        for c in range(nc if nc < 2 else 2):
            yv[c] = _hermite(buf, c, ipos, frac, mask)
        for c in range(nc):
            if c < 2:
                y0 = yv[c]
            else:
                y0 = _hermite(buf, c, ipos, frac, mask)
            src = yv[1 - c] if (ping and nc >= 2 and c < 2) else y0
            lp[c] = lp[c] + a * (src - lp[c])
            if fabs(lp[c]) < 1e-30:
                lp[c] = 0.0
            buf[c, w & mask] = x[c, i] + feedback * lp[c]
            x[c, i] = <float>(x[c, i] * (1.0 - mix) + y0 * mix)
        w += 1
    wpos[0] = w


def process_delay(float[:, ::1] x,        # INOUT (channels, n)
                  double[:, ::1] buf,     # INOUT (channels, 2^k) delay rings
                  double[::1] lp,         # INOUT (channels,) loop low-pass states
                  double[::1] ramp,       # INOUT delay-time ramp in samples
                  long long[::1] wpos,    # INOUT [write position]
                  double feedback, double lowpass_a, double mix, bint ping_pong):
    """Run the delay over x in place."""
    with nogil:
        _delay(x, buf, lp, ramp, wpos, feedback, lowpass_a, mix, ping_pong)
