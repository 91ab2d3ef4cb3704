# Values that processors derive from parameters, each written once: the kernels cimport these for
# their sample-accurate paths and mixcore/processors/coeffs.py runs the same code (through coeffs.pyx)
# for the constant path, so a value held constant by automation gives the bits of the value set once.
from libc.math cimport exp, pow


cdef inline double one_pole(double ms, double fs) noexcept nogil:
    """The coefficient a of a one-pole smoother with time constant ms at sample rate fs,
    y <- x + (y - x) a: a = exp(-1 / (ms 1e-3 fs)) (libm exp, what Python's math.exp calls)."""
    return exp(-1.0 / (ms * 1e-3 * fs))


cdef inline double gain_from_db(double db) noexcept nogil:
    """The linear gain of db decibels, 10^(db / 20), exactly (libm pow, what Python's 10.0 ** x calls;
    fastmath.pxd's lin_from_db is the fast approximation)."""
    return pow(10.0, db / 20.0)
