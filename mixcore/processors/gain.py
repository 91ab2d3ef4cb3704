"""``gain``: a smoothed gain stage."""
from __future__ import annotations

import numpy as np

from .._dsp.gain import process_gain
from ..params import Param
from .base import ProcessSpec, Processor
from .registry import register
from .smoothing import Ramp


@register
class Gain(Processor):
    """Gain in dB, y = x * 10^(gain_db/20).

    A change of ``gain_db`` ramps the linear gain linearly over 20 ms, so
    automation never clicks.
    """

    type_name = "gain"
    PARAMS = (Param("gain_db", 0.0, -120.0, 48.0, "dB", smoothing_ms=20.0, doc="gain"),)

    def _prepare(self, spec: ProcessSpec) -> None:
        self._ramp = Ramp(10.0 ** (self.gain_db / 20.0))
        self._ramp.configure(spec.sample_rate, self.PARAMS[0].smoothing_ms)

    def _update(self) -> None:
        self._ramp.set_target(10.0 ** (self.gain_db / 20.0))

    def reset(self) -> None:
        self._ramp.jump()

    def process(self, block: np.ndarray) -> None:
        process_gain(block, self._ramp.state)
