"""``width``: mid/side stereo width."""
from __future__ import annotations

import numpy as np

from .._dsp.width import process_width, process_width_automated
from ..params import Param
from .base import ProcessSpec, Processor
from .filters import highpass_coeffs
from .registry import register


@register
class Width(Processor):
    """Stereo width by mid/side: M = (L+R)/2, S = (L-R)/2, S' = width * S, L = M+S', R = M-S'.

    ``width`` 0 gives mono, 1 leaves the signal unchanged, 2 doubles the side
    level; the mid signal is never changed. Changes ramp over 20 ms. A mono
    input passes unchanged. ``bass_mono_hz`` high-passes the side signal
    (RBJ 2nd order, Q 0.7071) so that everything below it is mono.
    """

    type_name = "width"
    SAMPLE_ACCURATE = True
    # the parameters, typed for checkers and IDEs (read and set as attributes; declared in PARAMS)
    width: float
    bass_mono_hz: float
    PARAMS = (Param("width", default=1.0, lo=0.0, hi=2.0, smoothing_ms=20.0, taper="linear"),
              Param("bass_mono_hz", default=0.0, lo=0.0, hi=500.0, unit="Hz", automatable=False, taper="log",
                    doc="below this the side signal is removed (0: off)"))

    def _prepare(self, spec: ProcessSpec) -> None:
        self._ramp = self._param_ramp("width")
        self._z = np.zeros(2, dtype=np.float64)

    def _update(self) -> None:
        self._ramp.set_target(self.width)
        fs = self.spec.sample_rate
        self._hp = highpass_coeffs(fs, min(self.bass_mono_hz, 0.45 * fs)) if self.bass_mono_hz > 0 else np.zeros(0)

    def reset(self) -> None:
        self._ramp.jump()
        self._z[...] = 0.0

    def process(self, block: np.ndarray) -> None:
        process_width(block, self._ramp.state, self._hp, self._z)

    def process_automated(self, block: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """``width`` per sample: the kernel's step with ``values["width"][i]`` at sample i instead of the ramp."""
        w = values.get("width")
        if w is None or block.shape[0] < 2 or block.shape[1] == 0:
            return self.process(block)
        process_width_automated(block, np.ascontiguousarray(w, dtype=np.float64), self._hp, self._z)
        self._values.values["width"] = float(w[-1])
        self._ramp.set_target(float(w[-1]))
        self._ramp.jump()
