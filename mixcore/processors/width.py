"""``width``: mid/side stereo width."""
from __future__ import annotations

import numpy as np

from .._dsp.width import process_width
from ..params import Param
from .base import ProcessSpec, Processor
from .registry import register
from .smoothing import Ramp


@register
class Width(Processor):
    """Stereo width by mid/side: M = (L+R)/2, S = (L-R)/2, S' = width * S, L = M+S', R = M-S'.

    ``width`` 0 gives mono, 1 leaves the signal unchanged, 2 doubles the side
    level; the mid signal is never changed. Changes ramp over 20 ms. A mono
    input passes unchanged.
    """

    type_name = "width"
    PARAMS = (Param("width", 1.0, 0.0, 2.0, smoothing_ms=20.0),)

    def _prepare(self, spec: ProcessSpec) -> None:
        self._ramp = Ramp(self.width)
        self._ramp.configure(spec.sample_rate, 20.0)

    def _update(self) -> None:
        self._ramp.set_target(self.width)

    def reset(self) -> None:
        self._ramp.jump()

    def process(self, block: np.ndarray) -> None:
        process_width(block, self._ramp.state)
