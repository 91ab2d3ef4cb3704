"""``compressor``: feed-forward, log-domain, soft knee, linked channels, sidechain."""
from __future__ import annotations

import math

import numpy as np

from .._dsp.biquad import process_cascade
from .._dsp.compressor import process_compressor
from ..params import NameParam, Param
from .base import ProcessSpec, Processor
from .filters import highpass_coeffs
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
        Param("auto_makeup", 0.0, 0.0, 1.0, doc="1: add half the gain reduction the curve gives a 0 dBFS input"),
        Param("sidechain_hpf_hz", 0.0, 0.0, 1000.0, "Hz", doc="high-pass the detector (0: off), so bass does not pump"),
        Param("link", 1.0, 0.0, 1.0, doc="1: one gain for all channels (the loudest drives it); 0: per channel"),
    )

    def _prepare(self, spec: ProcessSpec) -> None:
        self._state = np.zeros((spec.num_channels, 3), dtype=np.float64)
        self._hpf_state = np.zeros((spec.num_channels, 1, 2), dtype=np.float64)
        self._key = np.zeros(spec.num_channels * spec.max_block_size, dtype=np.float32)
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
        self._makeup.set_target(self.makeup_db + self.auto_makeup_db)
        self._hpf = (np.ascontiguousarray(highpass_coeffs(fs, min(self.sidechain_hpf_hz, 0.45 * fs)).reshape(1, 5))
                     if self.sidechain_hpf_hz > 0 else None)

    @property
    def auto_makeup_db(self) -> float:
        """Half the static curve's gain reduction at a 0 dBFS input (when ``auto_makeup`` is on)."""
        if self.auto_makeup < 0.5:
            return 0.0
        return -0.5 * float(self.static_curve_db(np.array([0.0]))[0])

    def reset(self) -> None:
        self._state[...] = 0.0
        self._hpf_state[...] = 0.0
        self._makeup.jump()

    def process(self, block: np.ndarray) -> None:
        self.process_with_key(block, block)

    def process_with_key(self, block: np.ndarray, key: np.ndarray) -> None:
        """Compress ``block`` with the detector listening to ``key`` (external sidechain)."""
        if self._hpf is not None:
            k = self._key[: key.size].reshape(key.shape)
            k[...] = key
            if self._hpf_state.shape[0] < k.shape[0]:
                self._hpf_state = np.zeros((k.shape[0], 1, 2))
            process_cascade(k, self._hpf, self._hpf_state)
            key = k
        if self.link >= 0.5 or block.shape[0] == 1:
            process_compressor(block, key, self._state[0], self._params, self._makeup.state)
            return
        # unlinked: one detector and gain per channel (the makeup ramp advances once per sample for all)
        ramp = self._makeup.state.copy()
        for c in range(block.shape[0]):
            r = ramp.copy()
            process_compressor(block[c:c + 1], key[min(c, key.shape[0] - 1):][:1], self._state[c], self._params, r)
        self._makeup.state[...] = r

    @property
    def gain_reduction_db(self) -> float:
        """The largest gain reduction since the last reset (a negative number of dB, or 0)."""
        return float(np.min(self._state[:, 2]))

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
