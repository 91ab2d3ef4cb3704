"""Latency that is checked, not trusted: ``mixcore plugins check PLUGIN`` and ``latency_samples = "measured"``.

A plugin says how late its output is (a VST3's reported latency, an LV2 latency port); a plugin that
reports wrongly makes every render misaligned against the dry paths (pedalboard #230, #364). Here the
delay is measured twice, independently: an impulse (where the output's peak is) and a logarithmic sine
sweep (the peak of the cross-correlation of output and input), both at -20 dBFS so that dynamics stay
near their linear range. The host's own delay (LV2's fixed-block FIFO, pedalboard's hold-back) is
known exactly and taken off, so the numbers compare with what the plugin reports.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import MixcoreError
from ..processors.base import Processor, ProcessSpec

SR = 48000
#: Samples of silence before the test signals (longer than any plausible latency is not needed:
#: the search window below covers up to MAX_LATENCY).
LEAD = 4096
MAX_LATENCY = 1 << 16
LEVEL = 0.1  # -20 dBFS


@dataclass
class Measurement:
    reported: int  # what the plugin reports (samples)
    impulse: int | None  # measured with an impulse (None: no output to measure)
    sweep: int | None  # measured with a swept sine

    @property
    def agrees(self) -> bool:
        return self.impulse == self.reported and self.sweep == self.reported

    @property
    def measured(self) -> int | None:
        """The measurement both methods agree on (None if they disagree or saw nothing)."""
        return self.impulse if self.impulse is not None and self.impulse == self.sweep else None


def _run(proc: Processor, x: np.ndarray, block: int = 512) -> np.ndarray:
    """``x`` through ``proc`` after a reset, raw: the output still carries the full latency."""
    proc.reset()
    y = np.empty_like(x)
    for i in range(0, x.shape[1], block):
        b = np.ascontiguousarray(x[:, i:i + block])
        proc.process(b)
        y[:, i:i + block] = b
    return y


def _sweep(n: int, sr: float) -> np.ndarray:
    t = np.arange(n) / sr
    f0, f1, dur = 40.0, min(16000.0, 0.45 * sr), n / sr
    k = np.log(f1 / f0)
    s = np.sin(2 * np.pi * f0 * dur / k * (np.exp(t / dur * k) - 1.0))
    fade = np.minimum(1.0, np.minimum(np.arange(n), n - 1 - np.arange(n)) / (0.01 * sr))
    return (s * fade).astype(np.float32)


def measure(proc: Processor, channels: int, sr: float = SR, host_delay: int = 0) -> Measurement:
    """Measure ``proc``'s delay (prepared here for ``channels`` at ``sr``) minus ``host_delay``."""
    proc.prepare(ProcessSpec(float(sr), 512, channels))
    total = int(proc.latency_samples)
    reported = total - host_delay
    n = LEAD + MAX_LATENCY // 4 + total
    imp = np.zeros((channels, n), np.float32)
    imp[:, LEAD] = LEVEL
    y = _run(proc, imp)
    peak = np.abs(y).sum(axis=0)
    impulse = int(np.argmax(peak)) - LEAD - host_delay if peak.max() > 1e-6 else None
    m = int(sr)  # one second of sweep
    s = _sweep(m, sr) * LEVEL
    x = np.zeros((channels, LEAD + m + total + LEAD), np.float32)
    x[:, LEAD:LEAD + m] = s
    y = _run(proc, x)
    from scipy.signal import fftconvolve

    mono = y.sum(axis=0)
    c = fftconvolve(mono, s[::-1].astype(np.float64), mode="full")  # c[k + m - 1] = sum y[k + i] s[i]
    lags = np.arange(c.shape[0]) - (m - 1) - LEAD
    ok = (lags >= -host_delay) & (lags <= MAX_LATENCY)
    sweep = int(lags[ok][np.argmax(np.abs(c[ok]))]) - host_delay if np.abs(c[ok]).max() > 1e-9 else None
    proc.reset()
    return Measurement(reported, impulse, sweep)


def host_delay(proc: Processor) -> int:
    """The part of ``proc.latency_samples`` that is the host's own (known exactly), after prepare."""
    from .lv2 import LV2Processor
    from .pedalboard_adapter import PedalboardProcessor

    if isinstance(proc, LV2Processor):
        return proc.latency_samples - proc.plugin_latency
    if isinstance(proc, PedalboardProcessor):
        return proc.latency_samples - int(getattr(proc.plugin, "reported_latency_samples", 0) or 0)
    raise MixcoreError(f"{type(proc).__name__}: not a hosted plugin")


def check(proc: Processor, channels: int, sr: float = SR) -> Measurement:
    proc.prepare(ProcessSpec(float(sr), 512, channels))
    return measure(proc, channels, sr, host_delay(proc))


__all__ = ["Measurement", "measure", "check", "host_delay"]
