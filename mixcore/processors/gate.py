"""``gate``: a noise gate with hold and range."""
from __future__ import annotations

import math

import numpy as np

from .._dsp.gate import process_gate
from ..params import Param
from .base import ProcessSpec, Processor
from .registry import register


@register
class Gate(Processor):
    """Noise gate: open while the (linked) peak level is at or above ``threshold_db``.

    After the level falls below the threshold the gate stays open for
    ``hold_ms``, then closes to ``-range_db``. The gain moves in dB with
    one-pole time constants ``attack_ms`` (opening) and ``release_ms`` (closing).
    ``mode = "expander"``: below the threshold the gain is
    ``(level_db - threshold_db) * (ratio - 1)`` dB (a downward expander), never
    below ``-range_db``.
    """

    type_name = "gate"
    PARAMS = (
        Param("threshold_db", -40.0, -100.0, 0.0, "dB"),
        Param("range_db", 80.0, 0.0, 120.0, "dB", doc="attenuation when closed (positive dB)"),
        Param("attack_ms", 1.0, 0.01, 500.0, "ms"),
        Param("hold_ms", 20.0, 0.0, 5000.0, "ms"),
        Param("release_ms", 100.0, 1.0, 5000.0, "ms"),
        Param("mode", "gate", choices=("gate", "expander")),
        Param("ratio", 2.0, 1.0, 20.0, doc="expander: dB of attenuation per dB below the threshold, plus one"),
    )

    def _prepare(self, spec: ProcessSpec) -> None:
        self._state = np.zeros(2, dtype=np.float64)

    def _update(self) -> None:
        fs = self.spec.sample_rate
        self._thr = 10.0 ** (self.threshold_db / 20.0)
        self._a_att = math.exp(-1.0 / (self.attack_ms * 1e-3 * fs))
        self._a_rel = math.exp(-1.0 / (self.release_ms * 1e-3 * fs))
        self._hold = round(self.hold_ms * 1e-3 * fs)

    def reset(self) -> None:
        self._state[0] = -self.range_db  # closed until a signal opens it
        self._state[1] = 1e18

    def process(self, block: np.ndarray) -> None:
        process_gate(block, self._state, self._thr, self.range_db, self._a_att, self._a_rel, float(self._hold),
                     self.ratio if self.mode == "expander" else 0.0)
