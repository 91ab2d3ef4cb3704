"""``compressor``: feed-forward, log-domain, soft knee, linked channels, sidechain."""
from __future__ import annotations

import math

import numpy as np

from .._dsp.compressor import process_compressor
from ..params import NameParam, Param
from .base import ProcessSpec, Processor
from .registry import register
from .smoothing import Ramp

RMS_WINDOW_MS = 10.0


@register
class Compressor(Processor):
    """Feed-forward compressor after Giannoulis, Massberg & Reiss (JAES 2012).

    Static curve (x and T in dB, W = knee width):

    - below the knee, ``2 (x - T) < -W``: no change;
    - in the knee, ``|2 (x - T)| <= W``: ``x + (1/R - 1) (x - T + W/2)^2 / (2 W)``;
    - above: ``T + (x - T) / R``.

    The gain change is smoothed in dB with separate attack and release one-poles
    (``exp(-1 / (t fs))``), channels are linked (the detector takes the loudest
    channel), ``makeup_db`` is added after, and ``mix`` blends with the dry
    signal for parallel compression. ``detector = "rms"`` uses a 10 ms
    mean-square detector. ``sidechain`` names a track or bus whose signal the
    router feeds to the detector (:meth:`process_with_key`).
    """

    type_name = "compressor"
    PARAMS = (
        Param("threshold_db", -20.0, -60.0, 0.0, "dB"),
        Param("ratio", 4.0, 1.0, 100.0),
        Param("attack_ms", 10.0, 0.01, 1000.0, "ms"),
        Param("release_ms", 100.0, 1.0, 5000.0, "ms"),
        Param("knee_db", 0.0, 0.0, 24.0, "dB"),
        Param("makeup_db", 0.0, -24.0, 48.0, "dB", smoothing_ms=20.0),
        Param("detector", "peak", choices=("peak", "rms")),
        NameParam("sidechain", None, doc="track or bus feeding the detector", automatable=False),
        Param("mix", 1.0, 0.0, 1.0),
    )

    def _prepare(self, spec: ProcessSpec) -> None:
        self._state = np.zeros(3, dtype=np.float64)
        self._params = np.zeros(8, dtype=np.float64)
        self._makeup = Ramp(self.makeup_db)
        self._makeup.configure(spec.sample_rate, 20.0)

    def _update(self) -> None:
        fs = self.spec.sample_rate
        p = self._params
        p[0] = self.threshold_db
        p[1] = self.ratio
        p[2] = self.knee_db
        p[3] = math.exp(-1.0 / (self.attack_ms * 1e-3 * fs))
        p[4] = math.exp(-1.0 / (self.release_ms * 1e-3 * fs))
        p[5] = math.exp(-1.0 / (RMS_WINDOW_MS * 1e-3 * fs))
        p[6] = 1.0 if self.detector == "rms" else 0.0
        p[7] = self.mix
        self._makeup.set_target(self.makeup_db)

    def reset(self) -> None:
        self._state[...] = 0.0
        self._makeup.jump()

    def process(self, block: np.ndarray) -> None:
        process_compressor(block, block, self._state, self._params, self._makeup.state)

    def process_with_key(self, block: np.ndarray, key: np.ndarray) -> None:
        """Compress ``block`` with the detector listening to ``key`` (external sidechain)."""
        process_compressor(block, key, self._state, self._params, self._makeup.state)

    @property
    def gain_reduction_db(self) -> float:
        """The largest gain reduction since the last reset (a negative number of dB, or 0)."""
        return float(self._state[2])

    @property
    def tail_samples(self) -> int:
        return 0

    def static_curve_db(self, level_db: np.ndarray) -> np.ndarray:
        """Output level of the static curve for input levels in dB (without makeup)."""
        x = np.asarray(level_db, dtype=np.float64)
        T, R, W = self.threshold_db, self.ratio, self.knee_db
        over = x - T
        knee = x + (1 / R - 1) * (over + W / 2) ** 2 / (2 * W) if W > 0 else x
        return np.where(2 * over < -W, x, np.where((W > 0) & (2 * np.abs(over) <= W), knee, T + over / R))
