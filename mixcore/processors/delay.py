"""``delay``: feedback delay, time in ms or beats."""
from __future__ import annotations

import math

import numpy as np

from .._dsp.delay import process_delay
from ..params import Param
from .base import ProcessSpec, Processor
from .registry import register
from .smoothing import Ramp

MAX_TIME_S = 5.0
MAX_TAIL_S = 30.0


@register
class Delay(Processor):
    """Feedback delay line: ``y[n] = x[n - d]``, ``buf = x + feedback * lowpass(y)``.

    ``time_ms`` sets d; ``time_beats`` (when set) wins and follows the session's
    tempo (``tempo_bpm``, default 120): d = time_beats * 60 / bpm seconds.
    Fractional delays are read by cubic Hermite interpolation (exact at whole
    samples); a time change glides over 50 ms. The loop holds a one-pole
    low-pass at ``lowpass_hz`` (20000, the default, or above: no filter); ``ping_pong`` crosses the feedback between
    left and right. ``mix`` 1 is 100 % wet. The delay is at least one sample.
    """

    type_name = "delay"
    PARAMS = (
        Param("time_ms", 250.0, 0.0, MAX_TIME_S * 1000, "ms", smoothing_ms=50.0),
        Param("time_beats", None, 0.0, 16.0, "beats", smoothing_ms=50.0),
        Param("feedback", 0.3, 0.0, 0.98),
        Param("mix", 0.5, 0.0, 1.0),
        Param("lowpass_hz", 20000.0, 20.0, 96000.0, "Hz"),
        Param("ping_pong", 0.0, 0.0, 1.0, doc="1: feedback alternates between left and right"),
    )
    tempo_bpm = 120.0

    def set_param(self, name, value) -> None:
        if name == "time_beats" and value is None:
            self._values.values[name] = None
            return
        super().set_param(name, value)

    def _seconds(self) -> float:
        if self.time_beats is not None:
            return float(self.time_beats) * 60.0 / float(self.tempo_bpm)
        return self.time_ms * 1e-3

    def _samples(self) -> float:
        return max(1.0, min(self._seconds(), MAX_TIME_S) * self.spec.sample_rate)

    def _prepare(self, spec: ProcessSpec) -> None:
        size = 1 << int(math.ceil(math.log2(MAX_TIME_S * spec.sample_rate + 8)))
        self._buf = np.zeros((spec.num_channels, size), dtype=np.float64)
        self._lp = np.zeros(spec.num_channels, dtype=np.float64)
        self._w = np.zeros(1, dtype=np.int64)
        self._ramp = Ramp(self._samples())
        self._ramp.configure(spec.sample_rate, 50.0)

    def _update(self) -> None:
        fs = self.spec.sample_rate
        self._ramp.set_target(self._samples())
        fc = self.lowpass_hz
        self._a = 1.0 if fc >= min(20000.0, 0.45 * fs) else 1.0 - math.exp(-2.0 * math.pi * fc / fs)

    def reset(self) -> None:
        self._buf[...] = 0.0
        self._lp[...] = 0.0
        self._w[0] = 0
        self._ramp.jump()

    def process(self, block: np.ndarray) -> None:
        process_delay(block, self._buf, self._lp, self._ramp.state, self._w, self.feedback, self._a, self.mix,
                      bool(self.ping_pong >= 0.5))

    @property
    def tail_samples(self) -> int:
        d = self._samples()
        fb = self.feedback
        echoes = 1 if fb <= 0 else 1 + math.ceil(-90.0 / (20.0 * math.log10(fb)))
        return int(min(d * echoes, MAX_TAIL_S * self.spec.sample_rate))
