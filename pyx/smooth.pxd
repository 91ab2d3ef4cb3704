# See mixcore/processors/smoothing.py for details.
# A linear parameter ramp kept in a double[4] array: [current, target, step, remaining samples].

cdef inline double smooth_next(double* s) noexcept nogil:
    """Advance the ramp one sample and return the new current value (s points at the 4 doubles)."""
    if s[3] > 0.0:
        s[3] -= 1.0
        if s[3] <= 0.0:
            s[0] = s[1]
        else:
            s[0] += s[2]
    return s[0]


cdef inline void smooth_target(double* s, double value, double ramp_samples) noexcept nogil:
    """Head for ``value``: Ramp.set_target of smoothing.py (the target it already heads for changes nothing)."""
    if value == s[1]:
        return
    s[1] = value
    if ramp_samples <= 0.0:
        s[0] = value
        s[3] = 0.0
    else:
        s[2] = (value - s[0]) / ramp_samples
        s[3] = ramp_samples
