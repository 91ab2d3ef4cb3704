"""``gate``: noise gate (or downward expander) with hold and range."""
from __future__ import annotations

import numpy as np

from .._dsp.gate import gate_coeffs, process_gate, process_gate_automated
from ..params import Param
from .base import ProcessSpec, Processor
from .registry import register


@register
class Gate(Processor):
    """Noise gate: open while the linked peak level ``max_c |x_c|`` is at or above ``threshold_db``.

    Once the level falls below the threshold the gate stays open for exactly ``hold_ms``
    (``round(hold_ms fs / 1000)`` samples), then closes to ``-range_db`` (``range_db`` is a
    positive attenuation; 80 dB by default, 0 never attenuates). The gain ``g`` moves in dB,
    ``g <- target + (g - target) a``, with ``a = exp(-1 / (t fs))`` and ``t = attack_ms`` while
    opening, ``release_ms`` while closing: exponential in amplitude, a time constant of ``t``
    (Zoelzer, *DAFX*, 2nd ed., sec. 4.2.3; Giannoulis, Massberg & Reiss, JAES 60(6), 2012).
    An open gate multiplies by exactly 1.

    ``mode = "expander"``: after the hold, the gain below the threshold follows the downward
    expander curve ``(L - T)(ratio - 1)`` dB (``L`` the level in dB, ``T`` the threshold, so
    every dB below the threshold gives ``ratio`` dB less output), never below ``-range_db``.

    Channels are linked: one gain, driven by the loudest channel. The gate starts closed.
    The parameters set the detector and the gain's ballistics, which already glide, so they
    are not smoothed further.

    Sample-accurate automation: every numeric parameter may arrive per sample; sample ``i`` is
    processed with the values at ``i`` (as if set before it). ``mode`` is a choice, held per block
    (not automatable).
    """

    type_name = "gate"
    SAMPLE_ACCURATE = True
    # the parameters, typed for checkers and IDEs (read and set as attributes; declared in PARAMS)
    threshold_db: float
    range_db: float
    attack_ms: float
    hold_ms: float
    release_ms: float
    mode: str
    ratio: float
    PARAMS = (
        Param("threshold_db", default=-40.0, lo=-100.0, hi=0.0, unit="dB", taper="linear",
              doc="opens at or above this peak level"),
        Param("range_db", default=80.0, lo=0.0, hi=100.0, unit="dB", taper="linear",
              doc="attenuation when closed (positive dB)"),
        Param("attack_ms", default=1.0, lo=0.01, hi=500.0, unit="ms", doc="time constant of opening", taper="log"),
        Param("hold_ms", default=20.0, lo=0.0, hi=5000.0, unit="ms", taper="log",
              doc="stays open this long after the level drops"),
        Param("release_ms", default=100.0, lo=1.0, hi=5000.0, unit="ms", doc="time constant of closing", taper="log"),
        Param("mode", default="gate", choices=("gate", "expander")),
        Param("ratio", default=2.0, lo=1.0, hi=20.0, taper="log",
              doc="expander mode: dB of output change per dB of input below the threshold"),
    )

    def _prepare(self, spec: ProcessSpec) -> None:
        self._state = np.zeros(3, dtype=np.float64)
        self._const = np.zeros(4, dtype=np.float64)  # gate_coeffs' input

    def _update(self) -> None:
        c = self._const  # derived by the kernel's code for automated runs (pyx/gate.pyx _derive)
        c[0], c[1], c[2], c[3] = self.threshold_db, self.attack_ms, self.release_ms, self.hold_ms
        self._thr, self._a_att, self._a_rel, self._hold = gate_coeffs(c, self.spec.sample_rate)
        self._ratio = self.ratio if self.mode == "expander" else 0.0
        self._thr_db = self.threshold_db
        self._range_db = self.range_db

    def reset(self) -> None:
        self._state[0] = -self._range_db  # closed until a signal opens it
        self._state[1] = 1e18  # samples since the level was above the threshold: long ago
        self._state[2] = -1.0  # the kernel computes the linear gain

    def process(self, block: np.ndarray) -> None:
        process_gate(block, self._state, self._thr, self._thr_db, self._range_db, self._a_att, self._a_rel,
                     self._hold, self._ratio)

    def process_automated(self, block: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Parameters per sample (``values[name][i]`` at sample i), derived by the kernel as in ``_update``."""
        v = self._per_sample(values, block.shape[1])
        process_gate_automated(block, self._state, v["threshold_db"], v["range_db"], v["attack_ms"], v["hold_ms"],
                               v["release_ms"], v["ratio"], self.mode == "expander", self.spec.sample_rate)
        self._keep_last(values)
