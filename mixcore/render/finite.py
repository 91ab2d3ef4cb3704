"""Non-finite samples (NaN, +Inf, -Inf): where they are, in one line.

A NaN or an infinity in one block poisons every later sample of a mix (filters and sums carry it
on), so mixcore refuses it where it enters -- a file being read, a processor's output, a fader or a
sum -- and names the place. The test itself is the native kernel ``mix.all_finite`` (one pass, no
temporary); the helpers here run only once something was found.
"""
from __future__ import annotations

import numpy as np

from ..errors import MixcoreError
from ..simd import kernel

mix = kernel("mix")
all_finite = mix.all_finite  # (a, b) float32 C-contiguous -> bool


def clock(seconds: float) -> str:
    """m:ss.mmm (minutes not wrapped into hours: 61:02.500)."""
    ms = int(round(max(seconds, 0.0) * 1000.0))
    return f"{ms // 60000}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def kind(value: float) -> str:
    """'NaN', '+Inf' or '-Inf'."""
    if np.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def first_bad(block: np.ndarray, planar: bool = True) -> tuple[int, int, str]:
    """(sample index, channel index, kind) of the first non-finite sample in time order (at one
    instant, the lowest channel first); ``planar``: (channels, n), else interleaved (n, channels)."""
    x = block if planar else block.T
    bad = ~np.isfinite(x)
    col = int(np.argmax(bad.any(axis=0)))
    ch = int(np.argmax(bad[:, col]))
    return col, ch, kind(float(x[ch, col]))


def file_error(label: str, frames: np.ndarray, frame0: int, rate: float) -> MixcoreError:
    """The error for interleaved ``frames`` (n, channels) read from a file at its frame ``frame0``:
    ``<label>: NaN at 0:01.000 (frame 48000, channel 1)`` -- frames and time of the file itself,
    channels counted from 1. ``label`` names the key and the file (``tracks[2].source: lead.wav``)."""
    i, ch, what = first_bad(frames, planar=False)
    frame = frame0 + i
    return MixcoreError(f"{label}: {what} at {clock(frame / rate)} (frame {frame}, channel {ch + 1})")

