"""A streaming loudness meter: ITU-R BS.1770-4, EBU Tech 3341 (EBU Mode) and Tech 3342 (LRA).

``process(block)`` runs the Cython kernels on each block as it passes
(K-weighting and 100 ms step energies, levels, true peak); nothing of the
audio is kept but one weighted energy per 100 ms step and one per 10 ms
sub-step (88 bytes per 100 ms, 3.2 MB per hour). ``result()`` does the gating
and the statistics on those energies with numpy. Definitions (``p_k = sum_c G_c
e_{c,k}``, the weighted K-weighted energy of step k, ``hop`` samples = 100 ms):

- loudness of a window of N steps: ``L = -0.691 + 10 log10(sum p_k / (N hop))``;
- momentary: N = 4 (400 ms), short-term: N = 30 (3 s), one value every 100 ms
  (the curves; value k is the window ending at (k + 1) * 100 ms). The meter
  starts in silence: the first windows are counted from the first sample with
  zeros before it, as a meter started with the programme would show them;
- maximum momentary and short-term: the same windows ending every 10 ms (the
  kernel also keeps one weighted energy per 10 ms sub-step, ``FINE_SUBSTEPS``
  per step), so a burst that does not line up with the 100 ms grid is still
  seen whole to within 5 ms (EBU Tech 3341 cases 10 and 13: at most
  10 log10(395 / 400) = -0.055 dB for a 400 ms burst);
- integrated (BS.1770-4 section 5.1 / Tech 3341): the gating blocks are the
  complete 400 ms windows (75 % overlap); absolute gate: blocks above -70
  LUFS; relative gate: blocks above (loudness of the mean power of the
  absolutely gated blocks) - 10 LU; the result is the loudness of the mean
  power of the blocks above both;
- loudness range (Tech 3342): the complete 3 s short-term windows above -70
  LUFS and above (loudness of their mean power) - 20 LU; LRA is their 95th
  minus 10th percentile (linear interpolation between ranks);
- true peak: ``mixcore._dsp.truepeak`` (Annex 2, 4x); sample peak, RMS
  (``20 log10 sqrt(mean_c mean_n x_c^2)``, so a full-scale sine is -3.01 dBFS),
  crest factor (sample peak - RMS, dB), stereo correlation
  (``sum x_L x_R / sqrt(sum x_L^2 sum x_R^2)``) and balance
  (``10 log10(sum x_L^2 / sum x_R^2)``, positive when the left is louder).

The step boundaries count from the first sample and every kernel is exact
whatever the block sizes, so the results never depend on how the signal was
cut into blocks.
"""
from __future__ import annotations

import math

import numpy as np

from .._dsp.loudness import LoudnessKernel
from .._dsp.truepeak import TruePeakKernel
from .kweighting import MIN_SAMPLE_RATE, channel_weights, k_weighting
from .layouts import resolve
from .result import AnalysisResult, db

FINE_SUBSTEPS = 10      # sub-steps per 100 ms step on which the maxima are looked for (10 ms)
MOMENTARY_STEPS = 4     # 400 ms
SHORT_TERM_STEPS = 30   # 3 s
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
LRA_PERCENTILES = (10.0, 95.0)


def loudness(power: np.ndarray | float) -> np.ndarray | float:
    """-0.691 + 10 log10(mean weighted power); -inf for silence."""
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(power)


def gated(lufs: np.ndarray) -> np.ndarray:
    """A copy with the values at or below the absolute gate (-70 LUFS) set to -inf (silence)."""
    out = np.array(lufs, dtype=np.float64)
    out[~(out > ABSOLUTE_GATE_LUFS)] = -math.inf
    return out


class LoudnessMeter:
    """Meter a stream of float32 blocks of shape (channels, n); see the module docstring.

    ``true_peak=False`` skips the true peak (``true_peak_dbtp`` is then nan); ``levels=False``
    skips sample peak, RMS, crest, correlation and balance (nan / None). With both off the meter
    does only what integrated loudness, momentary, short-term and LRA need. ``layout`` names the
    channels (``"7.1"``, ``"L,R,C,LFE,Ls,Rs"``, a list of names; default: from the channel count, see
    ``mixcore.metering.layouts``); ``dual_mono`` measures one channel as played on two loudspeakers.
    """

    def __init__(self, sample_rate: float, channels: int, *, true_peak: bool = True, levels: bool = True,
                 layout=None, dual_mono: bool = False) -> None:
        sr = float(sample_rate)
        if not (math.isfinite(sr) and sr >= MIN_SAMPLE_RATE):
            raise ValueError(f"sample rate {sample_rate}: the meter needs at least {MIN_SAMPLE_RATE} Hz")
        self.sample_rate = int(sr) if sr.is_integer() else sr
        self.channels = int(channels)
        self.true_peak = bool(true_peak)
        self.levels = bool(levels)
        # 100 ms steps; a rate that is not a multiple of 10 Hz gets the nearest whole number of samples
        self.hop = max(1, int(round(sr / 10.0)))
        self.layout = resolve(self.channels, layout)   # channel names; their positions give the weights
        self._weights = channel_weights(self.channels, self.layout, dual_mono=dual_mono)
        self._k = LoudnessKernel(k_weighting(sr), self._weights, self.hop, levels=self.levels,
                                 substeps=min(FINE_SUBSTEPS, self.hop))
        self._tp = TruePeakKernel(self.channels, sr) if self.true_peak else None

    @property
    def frames(self) -> int:
        """Samples per channel metered so far."""
        return int(self._k.frames)

    def reset(self) -> None:
        self._k.reset()
        if self._tp is not None:
            self._tp.reset()

    def process(self, block: np.ndarray) -> None:
        """Meter the next block (channels, n); the block is read, never modified."""
        x = block
        if not (isinstance(x, np.ndarray) and x.dtype == np.float32 and x.flags.c_contiguous):
            x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ValueError(f"expected a block of shape ({self.channels}, n), got {x.shape}")
        if x.shape[1] == 0:
            return
        self._k.process(x)
        if self._tp is not None:
            self._tp.process(x)

    # --- loudness over time -------------------------------------------------------------------

    def step_powers(self) -> np.ndarray:
        """Weighted K-weighted energy of every completed 100 ms step (float64, not normalised)."""
        return self._k.powers()

    def _windows(self, steps: int, complete: bool) -> np.ndarray:
        p = self.step_powers()
        if p.size == 0 or (complete and p.size < steps):  # shorter than one window: none
            return np.zeros(0)
        if complete:
            sums = np.lib.stride_tricks.sliding_window_view(p, steps).sum(axis=1)
        else:
            sums = np.lib.stride_tricks.sliding_window_view(np.concatenate([np.zeros(steps - 1), p]),
                                                            steps).sum(axis=1)
        return sums / (steps * self.hop)

    def _max_window(self, steps: int) -> float:
        """Largest mean power of the windows of ``steps`` steps ending at every sub-step (zeros before
        the first sample, as ``_windows``); 0.0 when no sub-step is complete."""
        p = self._k.fine_powers()
        if p.size == 0:
            return 0.0
        n = steps * self._k.substeps
        c = np.concatenate([[0.0], np.cumsum(p)])
        sums = c[1:] - c[np.maximum(np.arange(1, c.size) - n, 0)]
        return float(np.max(sums)) / (steps * self.hop)

    def _fine_windows(self, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """(end sample, mean power) of the windows of ``steps`` steps ending at every sub-step."""
        p = self._k.fine_powers()
        n = steps * self._k.substeps
        if p.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        sums = np.lib.stride_tricks.sliding_window_view(np.concatenate([np.zeros(n - 1), p]), n).sum(axis=1)
        return self._k.fine_ends(), sums / (steps * self.hop)

    def fine_curves(self) -> dict[str, np.ndarray | float]:
        """Momentary and short-term loudness every 10 ms: ``{"step_s", "t_s", "momentary_lufs",
        "short_term_lufs"}`` as ``AnalysisResult.curves`` gives them every 100 ms (``t_s[k]`` the
        end of window k in seconds, values below the absolute gate -inf)."""
        ends, m = self._fine_windows(MOMENTARY_STEPS)
        _, st = self._fine_windows(SHORT_TERM_STEPS)
        return {"step_s": self.hop / self._k.substeps / self.sample_rate, "t_s": ends / self.sample_rate,
                "momentary_lufs": gated(loudness(m)), "short_term_lufs": gated(loudness(st))}

    def curves(self) -> dict[str, np.ndarray | float]:
        """The 100 ms curves of everything metered so far; see ``AnalysisResult.curves``."""
        return self.result().curves()

    def momentary_max(self) -> float:
        """Maximum momentary loudness (LUFS) over the 400 ms windows ending every 10 ms; -inf for silence."""
        coarse = self._windows(MOMENTARY_STEPS, complete=False)
        if coarse.size == 0:  # shorter than one 100 ms step: no loudness to show (null in JSON)
            return -math.inf
        return float(loudness(max(self._max_window(MOMENTARY_STEPS), float(coarse.max(initial=0.0)))))

    def short_term_max(self) -> float:
        """Maximum short-term loudness (LUFS) over the 3 s windows ending every 10 ms; -inf for silence."""
        coarse = self._windows(SHORT_TERM_STEPS, complete=False)
        if coarse.size == 0:  # shorter than one 100 ms step: no loudness to show (null in JSON)
            return -math.inf
        return float(loudness(max(self._max_window(SHORT_TERM_STEPS), float(coarse.max(initial=0.0)))))

    def momentary(self) -> np.ndarray:
        """Momentary loudness (LUFS) every 100 ms; value k covers the 400 ms up to (k + 1) * 100 ms."""
        return loudness(self._windows(MOMENTARY_STEPS, complete=False))

    def short_term(self) -> np.ndarray:
        """Short-term loudness (LUFS) every 100 ms; value k covers the 3 s up to (k + 1) * 100 ms."""
        return loudness(self._windows(SHORT_TERM_STEPS, complete=False))

    def integrated(self) -> float:
        """Gated integrated loudness (LUFS); -inf when no block passes the gates."""
        z = self._windows(MOMENTARY_STEPS, complete=True)
        lk = loudness(z)
        keep = lk > ABSOLUTE_GATE_LUFS
        if not keep.any():
            return -math.inf
        relative = float(loudness(np.mean(z[keep]))) + RELATIVE_GATE_LU
        keep &= lk > relative
        return float(loudness(np.mean(z[keep]))) if keep.any() else -math.inf

    def loudness_range(self) -> float:
        """EBU Tech 3342 loudness range (LU); 0 when no short-term value passes the gates."""
        z = self._windows(SHORT_TERM_STEPS, complete=True)
        st = loudness(z)
        keep = st > ABSOLUTE_GATE_LUFS
        if not keep.any():
            return 0.0
        relative = float(loudness(np.mean(z[keep]))) + LRA_RELATIVE_GATE_LU
        kept = st[keep & (st > relative)]
        lo, hi = np.percentile(kept, LRA_PERCENTILES)
        return float(hi - lo)

    # --- everything ------------------------------------------------------------------------------

    def result(self, path: str | None = None) -> AnalysisResult:
        """The analysis of everything metered so far (the meter can go on afterwards)."""
        n = self.frames
        mom, st = self.momentary(), self.short_term()
        nan = math.nan
        if self._tp is not None:
            tpc = [db(p) for p in self._tp.peaks()]
            tp = max(tpc)
        else:
            tpc, tp = [nan] * self.channels, nan
        rms = crest = sample_peak = nan
        corr = balance = None
        if self.levels:
            sq = self._k.sum_squares()
            sample_peak = db(float(np.max(self._k.sample_peaks())))
            rms = db(math.sqrt(float(np.mean(sq)) / n)) if n else -math.inf
            crest = sample_peak - rms if math.isfinite(rms) else nan
            if self.channels == 2:
                den = math.sqrt(sq[0] * sq[1])
                corr = float(self._k.cross / den) if den > 0 else None
                balance = 10.0 * math.log10(sq[0] / sq[1]) if sq[0] > 0 and sq[1] > 0 else None
        return AnalysisResult(
            path=path, sample_rate=self.sample_rate, channels=self.channels, duration_s=n / self.sample_rate,
            integrated_lufs=self.integrated(), loudness_range_lu=self.loudness_range(),
            true_peak_dbtp=tp, sample_peak_dbfs=sample_peak,
            momentary_max_lufs=self.momentary_max(), short_term_max_lufs=self.short_term_max(),
            correlation=corr, rms_dbfs=rms, crest_db=crest, balance_db=balance,
            true_peak_per_channel_dbtp=tpc, layout=list(self.layout), momentary_lufs=mom, short_term_lufs=st, step_s=self.hop / self.sample_rate,
        )
