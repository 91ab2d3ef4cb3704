"""Per-sample linear parameter smoothing (the ramp state the kernels advance).

A ramp lives in a float64 array ``[current, target, step, remaining]``. Setting
a new target starts a linear ramp of ``ramp_samples`` from wherever the ramp is (the target it
already heads for changes nothing, so setting a value every sample or once gives the same ramp);
the kernels advance it one sample at a time (``pyx/smooth.pxd``), so a ramp
continues across blocks and the result never depends on block size.
"""
from __future__ import annotations

import numpy as np


class Ramp:
    """One smoothed value."""

    def __init__(self, value: float = 0.0) -> None:
        self.state = np.array([value, value, 0.0, 0.0], dtype=np.float64)
        self.ramp_samples = 0

    def configure(self, sample_rate: float, smoothing_ms: float) -> None:
        self.ramp_samples = max(0, int(round(smoothing_ms * 1e-3 * sample_rate)))

    def set_target(self, value: float) -> None:
        s = self.state
        if value == s[1]:
            return
        s[1] = value
        if self.ramp_samples <= 0:
            s[0] = value
            s[3] = 0.0
        else:
            s[2] = (value - s[0]) / self.ramp_samples
            s[3] = float(self.ramp_samples)

    def jump(self) -> None:
        """Go to the target at once (reset)."""
        self.state[0] = self.state[1]
        self.state[3] = 0.0

    @property
    def value(self) -> float:
        return float(self.state[0])

    def next_values(self, n: int) -> np.ndarray:
        """The next n values, advancing the ramp (a reference implementation for tests)."""
        out = np.empty(n)
        s = self.state
        for i in range(n):
            if s[3] > 0:
                s[3] -= 1
                s[0] = s[1] if s[3] <= 0 else s[0] + s[2]
            out[i] = s[0]
        return out
