"""A streaming loudness meter: integrated, momentary, short-term, LRA, true peak.

``process(block)`` runs the Cython kernels (K-weighting and 100 ms step
energies, true/sample peak); ``result()`` does the gating on the step
energies with numpy. Definitions:

- block loudness (BS.1770-4): ``-0.691 + 10 log10(sum_c G_c z_c)``, z_c the
  mean square of the K-weighted channel over the block;
- momentary: 400 ms blocks; short-term: 3 s blocks; both every 100 ms;
- integrated: 400 ms blocks with 75 % overlap, absolute gate -70 LUFS,
  relative gate 10 LU below the gated mean;
- loudness range (EBU Tech 3342): short-term values above -70 LUFS and above
  (their energy mean - 20 LU); LRA = 95th - 10th percentile.
"""
from __future__ import annotations

import math

import numpy as np

from .._dsp.loudness import meter_block
from .._dsp.truepeak import true_peak_block
from ..processors.limiter import interpolator_phases
from .kweighting import channel_weights, k_weighting
from .result import AnalysisResult, _db

TP_TAPS = 12
_FIR = np.ascontiguousarray(interpolator_phases(TP_TAPS), dtype=np.float32)
# no interpolated point exceeds sum|fir| times the largest tap; the parabola adds at most 1/8
_BOUND = float(np.max(np.sum(np.abs(_FIR.astype(np.float64)), axis=1))) * 1.125 * (1 + 1e-6)


class LoudnessMeter:
    """Meter a stream of float32 blocks of shape (channels, n)."""

    def __init__(self, sample_rate: float, channels: int, *, true_peak: bool = True) -> None:
        self.true_peak = bool(true_peak)  # False: loudness only (true_peak_dbtp of the result is nan)
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        if self.sample_rate % 10:
            raise ValueError(f"sample rate {sample_rate} is not a whole number of 100 ms steps")
        self.hop = self.sample_rate // 10
        self._coeffs = k_weighting(self.sample_rate)
        self._weights = channel_weights(self.channels)
        self._z = np.zeros((self.channels, 2, 2))
        self._acc = np.zeros(self.channels)
        self._count = np.zeros(1, dtype=np.int64)
        self._raw = np.zeros(self.channels + 1)
        self._steps: list[np.ndarray] = []
        self._tail = np.zeros((self.channels, TP_TAPS), dtype=np.float32)  # the last TP_TAPS samples seen
        self._peak = np.zeros(self.channels)
        self._speak = np.zeros(self.channels)
        self.frames = 0

    def process(self, block: np.ndarray) -> None:
        x = np.ascontiguousarray(block, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ValueError(f"expected a block of shape ({self.channels}, n), got {x.shape}")
        n = x.shape[1]
        if n == 0:
            return
        out = np.empty((self.channels, n // self.hop + 1))
        k = meter_block(x, self._coeffs, self._z, self._acc, self._count, self.hop, out, self._raw, self._speak)
        if k:
            self._steps.append(out[:, :k].copy())
        if self.true_peak:
            self._true_peak(x, self._tail, self._peak)
        self.frames += n

    @staticmethod
    def _true_peak(x: np.ndarray, tail: np.ndarray, peak: np.ndarray) -> None:
        w = np.concatenate([tail, x], axis=1)
        true_peak_block(w, x.shape[1], _FIR, _BOUND, peak)
        tail[...] = w[:, -TP_TAPS:]

    def _flushed_peaks(self) -> np.ndarray:
        """True peaks including the last samples (zeros pushed through a copy of the state)."""
        tail, peak = self._tail.copy(), self._peak.copy()
        self._true_peak(np.zeros((self.channels, TP_TAPS), np.float32), tail, peak)
        return peak

    def block_loudness(self, steps_per_block: int) -> np.ndarray:
        """Loudness (LUFS) of every full window of ``steps_per_block`` 100 ms steps, hop 100 ms."""
        e = self.step_energies()
        if e.shape[1] < steps_per_block:
            return np.zeros(0)
        c = np.cumsum(np.pad(e, ((0, 0), (1, 0))), axis=1)
        z = (c[:, steps_per_block:] - c[:, :-steps_per_block]) / (steps_per_block * self.hop)
        power = self._weights @ z
        with np.errstate(divide="ignore"):
            return -0.691 + 10.0 * np.log10(power)

    def step_energies(self) -> np.ndarray:
        return np.concatenate(self._steps, axis=1) if self._steps else np.zeros((self.channels, 0))

    def integrated(self) -> float:
        e = self.step_energies()
        if e.shape[1] < 4:
            return -math.inf
        c = np.cumsum(np.pad(e, ((0, 0), (1, 0))), axis=1)
        z = (c[:, 4:] - c[:, :-4]) / (4 * self.hop)  # (channels, blocks)
        power = self._weights @ z
        with np.errstate(divide="ignore"):
            lk = -0.691 + 10.0 * np.log10(power)
        keep = lk > -70.0
        if not np.any(keep):
            return -math.inf
        rel = -0.691 + 10.0 * math.log10(float(np.mean(power[keep]))) - 10.0
        keep &= lk > rel
        if not np.any(keep):
            return -math.inf
        return -0.691 + 10.0 * math.log10(float(np.mean(power[keep])))

    def loudness_range(self) -> float:
        st = self.block_loudness(30)
        st = st[st > -70.0]
        if st.size == 0:
            return 0.0
        rel = 10.0 * math.log10(float(np.mean(10.0 ** (st / 10.0)))) - 20.0
        st = st[st > rel]
        if st.size == 0:
            return 0.0
        lo, hi = np.percentile(st, [10, 95])
        return float(hi - lo)

    def result(self, path: str | None = None) -> AnalysisResult:
        mom = self.block_loudness(4)
        st = self.block_loudness(30)
        peaks = self._flushed_peaks() if self.true_peak else np.full(self.channels, math.nan)
        n = max(self.frames, 1)
        ms = self._raw[: self.channels] / n
        rms = _db(math.sqrt(float(np.mean(ms)))) if self.frames else -math.inf
        sample_peak = _db(float(np.max(self._speak))) if self.frames else -math.inf
        corr = None
        balance = None
        if self.channels == 2:
            den = math.sqrt(self._raw[0] * self._raw[1])
            corr = float(self._raw[2] / den) if den > 0 else 0.0
            balance = 10.0 * math.log10(self._raw[0] / self._raw[1]) if self._raw[0] > 0 and self._raw[1] > 0 else None
        return AnalysisResult(
            path=path, sample_rate=self.sample_rate, channels=self.channels, duration_s=self.frames / self.sample_rate,
            integrated_lufs=self.integrated(), loudness_range_lu=self.loudness_range(),
            true_peak_dbtp=(_db(float(np.max(peaks))) if self.frames else -math.inf) if self.true_peak else math.nan,
            sample_peak_dbfs=sample_peak,
            momentary_max_lufs=float(np.max(mom)) if mom.size else -math.inf,
            short_term_max_lufs=float(np.max(st)) if st.size else -math.inf,
            correlation=corr, rms_dbfs=rms,
            crest_db=(sample_peak - rms) if math.isfinite(rms) else 0.0,
            balance_db=balance, true_peak_per_channel_dbtp=[_db(float(p)) for p in peaks],
            momentary_lufs=mom, short_term_lufs=st,
        )
