"""Automation lanes: breakpoints in seconds, evaluated at exact sample positions.

A lane is linear between points and held outside them (SPEC §2); a lane made
from MIDI controller messages steps (holds each value until the next one).
Strip parameters (fader, pan) are evaluated per sample. Processor parameters
are set on a fixed control grid of :data:`CONTROL_INTERVAL` samples of song
time, so their timing never depends on the render's block size; the
processors smooth between grid points.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONTROL_INTERVAL = 32


@dataclass
class Lane:
    times_s: np.ndarray  # non-decreasing
    values: np.ndarray
    step: bool = False  # hold each value until the next point (MIDI CC)
    where: str = ""

    @classmethod
    def from_points(cls, points, *, step: bool = False, where: str = "") -> "Lane":
        arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return cls(arr[:, 0].copy(), arr[:, 1].copy(), step, where)

    def at_samples(self, positions: np.ndarray, sample_rate: int) -> np.ndarray:
        """Values at integer song-sample positions (any shape), float64."""
        t = positions.astype(np.float64) / float(sample_rate)
        if self.step:
            idx = np.searchsorted(self.times_s, t, side="right") - 1
            return self.values[np.clip(idx, 0, len(self.values) - 1)]
        return np.interp(t, self.times_s, self.values)

    def at(self, position: int, sample_rate: int) -> float:
        return float(self.at_samples(np.array([position]), sample_rate)[0])

    def end_s(self) -> float:
        return float(self.times_s[-1])
