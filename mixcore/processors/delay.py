"""``delay``: feedback delay, time in ms or beats, low-pass in the loop, ping-pong."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._dsp.delay import delay_coeffs, process_delay, process_delay_automated
from ..errors import MixcoreError
from ..params import Param
from .base import ProcessSpec, Processor
from .registry import register

MAX_TIME_S = 5.0
MAX_TAIL_S = 30.0
#: ``lowpass_hz`` at or above this leaves the loop unfiltered.
LOWPASS_OFF_HZ = 20000.0
#: Decay the tail is measured to: the echoes end when the feedback has taken them below -90 dB.
TAIL_DB = -90.0


@register
class Delay(Processor):
    """Feedback delay line (a comb filter with a low-pass in the loop).

    With ``d`` the delay in samples, ``fb`` the feedback and ``LP`` the loop filter::

        y[n]   = buf[n - d]
        buf[n] = x[n] + fb * LP(y)[n]
        out[n] = (1 - mix) x[n] + mix y[n]

    so an impulse comes back at ``d, 2d, 3d, ...`` with amplitudes ``1, fb, fb^2, ...``
    (each echo once more through ``LP``).

    - ``time_ms`` sets ``d = time_ms fs / 1000``; ``time_beats`` (when given) wins and
      follows the tempo: ``d = time_beats * 60 / tempo_bpm`` seconds. ``tempo_bpm`` is an
      attribute the session sets (default 120). ``d`` is at least one sample, and within
      1e-9 of a whole number it is that number (70 ms at 48 kHz is 3360 samples, exactly).
    - Fractional delays are read by 4-point cubic Hermite (Catmull-Rom) interpolation, exact
      at whole samples; below two samples, where the newest point is not written yet, by
      3rd-order Lagrange through delays 1..4 (Zoelzer, *DAFX*, 2nd ed., sec. 2.6.2; Smith,
      *Physical Audio Signal Processing*, "Delay-Line Interpolation").
    - ``time_*``, ``feedback`` and ``mix`` ramp linearly per sample (50, 20, 20 ms), so
      automating the time glides (a brief pitch change, the tape-delay effect) and never clicks.
    - ``lowpass_hz``: one-pole low-pass ``a = 1 - exp(-2 pi fc / fs)`` in the loop, so each
      echo is darker than the one before; 20000 (the default) or above: no filter.
    - ``ping_pong`` 1 (two or more channels): the mono sum enters the left line and the two
      lines feed each other, so the echoes alternate left, right, left...
    - ``mix`` 1 is 100 % wet.
    - Sample-accurate automation: every numeric parameter may arrive per sample; at sample ``i``
      the ramps head for the values at ``i`` and glide as above (so a moving ``time_*`` is read
      through the fractional interpolators, click-free); ``lowpass_hz`` and ``ping_pong`` switch
      at the sample.

    ``tail_samples``: ``d`` times the number of echoes until ``fb^k`` falls below -90 dB,
    at most 30 s.
    """

    type_name = "delay"
    SAMPLE_ACCURATE = True
    USES_TEMPO = True
    # the parameters, typed for checkers and IDEs (read and set as attributes; declared in PARAMS)
    time_ms: float
    time_beats: float | None
    feedback: float
    mix: float
    lowpass_hz: float
    ping_pong: float
    PARAMS = (
        Param("time_ms", default=250.0, lo=0.0, hi=MAX_TIME_S * 1000, unit="ms", smoothing_ms=50.0, taper="log",
              doc="delay time"),
        Param("time_beats", default=None, lo=0.0, hi=16.0, unit="beats", smoothing_ms=50.0,
              doc="delay time in beats of tempo_bpm; wins over time_ms when given", taper="log"),
        Param("feedback", default=0.3, lo=0.0, hi=0.98, smoothing_ms=20.0, taper="linear",
              doc="level of each echo relative to the one before"),
        Param("mix", default=0.5, lo=0.0, hi=1.0, smoothing_ms=20.0, doc="0 dry .. 1 wet only", taper="linear"),
        Param("lowpass_hz", default=LOWPASS_OFF_HZ, lo=20.0, hi=96000.0, unit="Hz",
              doc="one-pole low-pass in the feedback loop; 20000 or above: off", taper="log"),
        Param("ping_pong", default=0.0, lo=0.0, hi=1.0, taper="linear",
              doc="1: echoes alternate between left and right"),
    )

    def __init__(self, *, id: str | None = None, **params: Any) -> None:
        object.__setattr__(self, "_tempo_bpm", 120.0)
        if "time_beats" in params and params["time_beats"] is None:  # the default: time_ms rules
            del params["time_beats"]
        super().__init__(id=id, **params)

    # -- parameters -------------------------------------------------------
    def set_param(self, name: str, value: Any) -> None:
        if name == "time_beats" and value is None:  # back to time_ms
            self._values.values[name] = None
            if self.spec is not None:
                self._update()
            return
        super().set_param(name, value)

    @property
    def tempo_bpm(self) -> float:
        """Tempo that ``time_beats`` counts in (set by the session; default 120)."""
        return self._tempo_bpm

    @tempo_bpm.setter
    def tempo_bpm(self, bpm: float) -> None:
        bpm = float(bpm)
        if not (bpm > 0.0 and math.isfinite(bpm)):
            raise MixcoreError(f"tempo_bpm: expected a positive number, got {bpm!r}")
        object.__setattr__(self, "_tempo_bpm", bpm)
        if self.spec is not None:
            self._update()

    @property
    def time_s(self) -> float:
        """The delay time in seconds (from ``time_beats`` and the tempo when given)."""
        if self.time_beats is not None:
            return float(self.time_beats) * 60.0 / self._tempo_bpm
        return self.time_ms * 1e-3

    def _delay_samples(self, sample_rate: float) -> float:
        """The delay in samples, at least 1, snapped to a whole sample within 1e-9 (70 ms is 3360 at 48 kHz)."""
        return self._coeffs(sample_rate)[0]

    def _coeffs(self, sample_rate: float) -> tuple[float, float]:
        """(delay in samples, low-pass coefficient), derived by the kernel's code for automated runs
        (pyx/delay.pyx ``_derive``)."""
        beats = self.time_beats is not None
        values = np.array([float(self.time_beats) if beats else self.time_ms, self.lowpass_hz])
        return delay_coeffs(values, beats, self._tempo_bpm, sample_rate, LOWPASS_OFF_HZ, MAX_TIME_S)

    # -- lifecycle --------------------------------------------------------
    def _prepare(self, spec: ProcessSpec) -> None:
        size = 1 << int(math.ceil(math.log2(MAX_TIME_S * spec.sample_rate + 8)))
        self._buf = np.zeros((spec.num_channels, size), dtype=np.float64)
        self._lp = np.zeros(spec.num_channels, dtype=np.float64)
        self._w = np.zeros(1, dtype=np.int64)
        self._d = self._param_ramp("time_ms", self._delay_samples(spec.sample_rate))
        self._fb = self._param_ramp("feedback")
        self._mix = self._param_ramp("mix")

    def _update(self) -> None:
        d, self._a = self._coeffs(self.spec.sample_rate)
        self._d.set_target(d)
        self._fb.set_target(self.feedback)
        self._mix.set_target(self.mix)
        self._ping = self.ping_pong >= 0.5

    def reset(self) -> None:
        self._buf[...] = 0.0
        self._lp[...] = 0.0
        self._w[0] = 0
        for ramp in (self._d, self._fb, self._mix):
            ramp.jump()

    def process(self, block: np.ndarray) -> None:
        process_delay(block, self._buf, self._lp, self._d.state, self._fb.state, self._mix.state, self._w,
                      self._a, self._ping)

    def process_automated(self, block: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Parameters per sample (``values[name][i]`` at sample i); ``time_beats`` wins when given."""
        v = self._per_sample(values, block.shape[1])
        beats = "time_beats" in v
        process_delay_automated(block, self._buf, self._lp, self._d.state, self._fb.state, self._mix.state, self._w,
                                v["time_beats"] if beats else v["time_ms"], beats, v["feedback"], v["mix"],
                                v["lowpass_hz"], v["ping_pong"], self._tempo_bpm, self.spec.sample_rate,
                                float(self._d.ramp_samples), float(self._fb.ramp_samples),
                                float(self._mix.ramp_samples), LOWPASS_OFF_HZ, MAX_TIME_S)
        self._keep_last(values)

    @property
    def tail_samples(self) -> int:
        if self.spec is None:
            return 0
        fs = self.spec.sample_rate
        fb = self.feedback
        echoes = 1 if fb <= 0.0 else 1 + math.ceil(TAIL_DB / (20.0 * math.log10(fb)))
        return int(min(math.ceil(self._delay_samples(fs) * echoes), MAX_TAIL_S * fs))
