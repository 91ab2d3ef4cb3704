"""``gain``: a smoothed gain stage."""
from __future__ import annotations

import numpy as np

from .._dsp.gain import process_gain
from ..params import Param
from .base import ProcessSpec, Processor
from .coeffs import gain_from_db
from .registry import register


@register
class Gain(Processor):
    """Gain in dB, y = x * 10^(gain_db/20).

    A change of ``gain_db`` ramps the linear gain linearly over 20 ms, so
    automation never clicks.
    """

    type_name = "gain"
    SAMPLE_ACCURATE = True
    # the parameters, typed for checkers and IDEs (read and set as attributes; declared in PARAMS)
    gain_db: float
    PARAMS = (Param("gain_db", default=0.0, lo=-120.0, hi=48.0, unit="dB", smoothing_ms=20.0, taper="fader",
                    doc="gain"),)

    def _prepare(self, spec: ProcessSpec) -> None:
        self._ramp = self._param_ramp("gain_db", gain_from_db(self.gain_db))

    def _update(self) -> None:
        self._ramp.set_target(gain_from_db(self.gain_db))

    def reset(self) -> None:
        self._ramp.jump()

    def process(self, block: np.ndarray) -> None:
        process_gain(block, self._ramp.state)

    def process_automated(self, block: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """``gain_db`` per sample: y[i] = x[i] * 10^(gain_db[i] / 20), exactly."""
        g = values.get("gain_db")
        if g is None or block.shape[1] == 0:
            return self.process(block)
        np.multiply(block, gain_from_db(g), out=block, casting="unsafe")  # libm pow, as _update (not np.power)
        self._values.values["gain_db"] = float(g[-1])
        self._ramp.set_target(gain_from_db(float(g[-1])))
        self._ramp.jump()
