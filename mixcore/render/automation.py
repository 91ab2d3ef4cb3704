"""Automation lanes: breakpoints, curve shapes, evaluated at exact sample positions.

A lane holds its first value before its first point and its last value after the last one (SPEC §2).
Between points the ``curve`` decides:

- ``linear``: straight line (the default; for dB values this is an exponential gain change);
- ``exponential``: geometric, ``v0 (v1/v0)^t``, for frequencies and other ratio quantities
  (all values must be non-zero and of one sign);
- ``step``: hold each value until the next point (MIDI controllers use this);
- ``smooth``: a cosine S-curve, ``v0 + (v1 - v0)(1 - cos(pi t))/2``.

Strip parameters (fader, pan) are evaluated per sample, and so are the parameters of processors with
``SAMPLE_ACCURATE`` (their ``process_automated`` takes one value per sample). Other processor parameters
are set on a fixed grid of ``automation_interval`` samples of song time (default :data:`CONTROL_INTERVAL`),
so their timing never depends on the render's block size; the processors smooth between grid points.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import MixcoreError

CONTROL_INTERVAL = 32
CURVES = ("linear", "exponential", "step", "smooth")


@dataclass
class Lane:
    times_s: np.ndarray  # non-decreasing
    values: np.ndarray
    curve: str = "linear"
    where: str = ""

    @classmethod
    def from_points(cls, points, *, step: bool = False, curve: str = "linear", where: str = "") -> "Lane":
        arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        curve = "step" if step else curve
        if curve not in CURVES:
            raise MixcoreError(f"{where}.curve: {curve!r} is not one of {', '.join(CURVES)}")
        values = arr[:, 1].copy()
        if curve == "exponential" and (np.any(values == 0) or (np.any(values > 0) and np.any(values < 0))):
            raise MixcoreError(f"{where}.curve: \"exponential\" needs values that are all non-zero and of one sign")
        return cls(arr[:, 0].copy(), values, curve, where)

    @property
    def step(self) -> bool:
        return self.curve == "step"

    def at_samples(self, positions: np.ndarray, sample_rate: int) -> np.ndarray:
        """Values at integer song-sample positions (any shape), float64."""
        t = positions.astype(np.float64) / float(sample_rate)
        times, values = self.times_s, self.values
        if self.curve == "step":
            idx = np.searchsorted(times, t, side="right") - 1
            return values[np.clip(idx, 0, len(values) - 1)]
        if self.curve == "linear" or len(values) == 1:
            return np.interp(t, times, values)
        # segment index and position within it, for the shaped curves
        k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
        t0, t1 = times[k], times[k + 1]
        span = np.where(t1 > t0, t1 - t0, 1.0)
        u = np.clip((t - t0) / span, 0.0, 1.0)
        u = np.where(t1 > t0, u, (t >= t1).astype(np.float64))
        v0, v1 = values[k], values[k + 1]
        if self.curve == "exponential":
            return v0 * (v1 / v0) ** u
        return v0 + (v1 - v0) * (1.0 - np.cos(np.pi * u)) / 2.0

    def at(self, position: int, sample_rate: int) -> float:
        return float(self.at_samples(np.array([position]), sample_rate)[0])

    def end_s(self) -> float:
        return float(self.times_s[-1])


def beats_to_seconds(beats: np.ndarray, tempo_map: list[tuple[float, float]]) -> np.ndarray:
    """Beat positions -> seconds through a tempo map of (beat, bpm) points (tempo holds until the next)."""
    beats = np.asarray(beats, dtype=np.float64)
    starts = np.array([b for b, _ in tempo_map], dtype=np.float64)
    bpm = np.array([v for _, v in tempo_map], dtype=np.float64)
    sec_at = np.concatenate([[0.0], np.cumsum(np.diff(starts) * 60.0 / bpm[:-1])])
    k = np.clip(np.searchsorted(starts, beats, side="right") - 1, 0, len(starts) - 1)
    return sec_at[k] + (beats - starts[k]) * 60.0 / bpm[k]
