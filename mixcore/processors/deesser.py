"""``deesser``: split-band de-esser."""
from __future__ import annotations

import math

import numpy as np

from .._dsp.deesser import process_deesser
from ..params import Param
from .base import ProcessSpec, Processor
from .filters import lowpass_coeffs
from .registry import register

ATTACK_MS = 1.0
RELEASE_MS = 60.0


@register
class DeEsser(Processor):
    """Split-band de-esser: only the band above ``freq_hz`` is turned down.

    ``high = x - LPF(x)`` (the complement of an RBJ low-pass, Q 0.7071, at
    ``freq_hz``, so that low + high is the input exactly); its linked
    peak level drives a compressor curve (``threshold_db``, ``ratio``) with
    1 ms attack and 60 ms release, and the output is
    ``x - high * (1 - g)``: below the threshold the output is the input,
    exactly. ``listen = 1`` outputs the detector's band instead.
    """

    type_name = "deesser"
    PARAMS = (
        Param("freq_hz", 6500.0, 2000.0, 16000.0, "Hz"),
        Param("threshold_db", -30.0, -60.0, 0.0, "dB"),
        Param("ratio", 4.0, 1.0, 20.0),
        Param("listen", 0.0, 0.0, 1.0, doc="1: hear only the sibilance band"),
    )

    def _prepare(self, spec: ProcessSpec) -> None:
        self._z = np.zeros((spec.num_channels, 2), dtype=np.float64)
        self._g = np.zeros(1, dtype=np.float64)

    def _update(self) -> None:
        fs = self.spec.sample_rate
        f = min(self.freq_hz, 0.45 * fs)
        self._coeffs = lowpass_coeffs(fs, f)
        self._a_att = math.exp(-1.0 / (ATTACK_MS * 1e-3 * fs))
        self._a_rel = math.exp(-1.0 / (RELEASE_MS * 1e-3 * fs))

    def reset(self) -> None:
        self._z[...] = 0.0
        self._g[0] = 0.0

    def process(self, block: np.ndarray) -> None:
        process_deesser(block, self._coeffs, self._z, self._g, self.threshold_db, self.ratio, self._a_att,
                        self._a_rel, self.listen >= 0.5)
