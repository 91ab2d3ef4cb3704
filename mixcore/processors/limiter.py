"""``limiter``: true-peak lookahead limiter."""
from __future__ import annotations

import math

import numpy as np

from ..params import Param
from ..simd import kernel
from .base import ProcessSpec, Processor
from .registry import register

_K = kernel("limiter")
process_limiter = _K.process_limiter
process_limiter_automated = _K.process_limiter_automated
limiter_coeffs = _K.limiter_coeffs

#: Internal safety margin below the ceiling, covering the interpolator's error.
MARGIN_DB = 0.1
#: Interpolator taps per phase (the detector looks TAPS/2 samples ahead).
TAPS = 24
#: Samples per chunk of the kernel's gain stage (LCH in pyx/limiter.pxi): the delay ring holds this much more.
CHUNK = 256


def interpolator_phases(taps: int = 12, factor: int = 4, beta: float = 7.0) -> np.ndarray:
    """Polyphase windowed-sinc interpolator: rows k = 1..factor-1 give x(m + k/factor).

    Row k, tap j multiplies x[m + taps/2 - j]. Kaiser window (beta) over the
    ``taps * factor`` long prototype; each phase is normalised to unit DC gain.
    """
    half = taps // 2
    rows = []
    for k in range(1, factor):
        j = np.arange(taps)
        offset = (half - j) - k / factor  # sample position relative to the point m + k/factor
        arg = np.clip(1 - (offset / (half + 0.5)) ** 2, 0, None)
        w = np.i0(beta * np.sqrt(arg)) / np.i0(beta)
        h = np.sinc(offset) * w
        rows.append(h / h.sum())
    return np.ascontiguousarray(np.array(rows, dtype=np.float64))


def _pow2(n: int) -> int:
    return 1 << max(1, int(n - 1).bit_length())


@register
class Limiter(Processor):
    """Lookahead limiter with a true-peak ceiling (ITU-R BS.1770-4 Annex 2 style detection).

    Peaks are detected on a 4x oversampled signal (24-tap polyphase Kaiser-sinc
    interpolator, local maxima refined by a parabola), the needed gain is the sliding minimum of
    ``ceiling / true_peak`` over the lookahead window, smoothed by a moving
    average of the same length so it is reached before the peak, then released
    exponentially (``release_ms``). Output sample peaks never exceed the
    ceiling (a final clip guards rounding). Latency: lookahead + 11 samples.

    Sample-accurate automation: ``ceiling_dbtp`` and ``release_ms`` may arrive per sample. The
    values at sample ``i`` are used in the step that takes in input sample ``i``, exactly as
    ``set_param`` before that sample would: for the required gain of the sample whose true peak
    becomes known then (12 samples earlier) and for the release and the clip of the sample that
    leaves then (``latency_samples`` earlier). So a lane moves the ceiling up to a latency early,
    never late. ``lookahead_ms`` sets the latency, fixed for a render: it is not automatable.
    """

    type_name = "limiter"
    SAMPLE_ACCURATE = True
    # the parameters, typed for checkers and IDEs (read and set as attributes; declared in PARAMS)
    ceiling_dbtp: float
    release_ms: float
    lookahead_ms: float
    PARAMS = (
        Param("ceiling_dbtp", default=-1.0, lo=-20.0, hi=0.0, unit="dBTP", taper="linear"),
        Param("release_ms", default=100.0, lo=1.0, hi=2000.0, unit="ms", taper="log"),
        Param("lookahead_ms", default=5.0, lo=0.5, hi=20.0, unit="ms", automatable=False, taper="log",
              doc="sets the latency (not automatable)"),
    )

    _FIR = np.ascontiguousarray(interpolator_phases(TAPS), dtype=np.float32)

    def _prepare(self, spec: ProcessSpec) -> None:
        ch = spec.num_channels
        self._D = max(1, int(round(self.lookahead_ms * 1e-3 * spec.sample_rate)))
        # workspace: the last TAPS inputs followed by the block (the interpolator's input)
        self._w = np.zeros(ch * (TAPS + spec.max_block_size), dtype=np.float32)
        self._tail = np.zeros((ch, TAPS), dtype=np.float32)
        self._seg = np.zeros(spec.max_block_size, dtype=np.float64)
        self._dline = np.zeros((ch, _pow2(self._D + TAPS + CHUNK)), dtype=np.float32)
        self._vh = np.ones((2, self._D + 1), dtype=np.float64)  # sliding minimum: r of this block, suffix minima
        self._hring = np.ones(_pow2(self._D + 1), dtype=np.float64)
        self._state = np.zeros(5, dtype=np.float64)
        self._istate = np.zeros(2, dtype=np.int64)
        self._const = np.zeros(2, dtype=np.float64)  # limiter_coeffs' input

    def _update(self) -> None:
        fs = self.spec.sample_rate
        D = max(1, int(round(self.lookahead_ms * 1e-3 * fs)))
        if D != self._D:
            self._prepare(self.spec)
            self.reset()
        c = self._const  # derived by the kernel's code for automated runs (pyx/limiter.pxi _derive)
        c[0], c[1] = self.ceiling_dbtp, self.release_ms
        self._ceiling, self._clip, self._a_rel = limiter_coeffs(c, MARGIN_DB, fs)

    def reset(self) -> None:
        self._tail[...] = 0.0
        self._dline[...] = 0.0
        self._hring[...] = 1.0
        self._vh[...] = 1.0  # r before the first sample: 1 (no reduction), neutral in the minimum
        self._state[:] = (0.0, float(self._D), 1.0, 1.0, 1.0)
        # the phase (in its block of D) of the r taken in before the first one, r[-TAPS/2 - 1]
        self._istate[:] = (0, ((-(TAPS // 2)) % self._D - 1) % self._D)

    def process(self, block: np.ndarray) -> None:
        # the kernel puts the last TAPS inputs (_tail) and the block into _w, and the new last TAPS into _tail
        process_limiter(block, self._tail, self._w, self._FIR, self._seg, self._dline, self._vh, self._hring,
                        self._state, self._istate, self._ceiling, self._clip, self._a_rel, self._D)

    def process_automated(self, block: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """``ceiling_dbtp`` and ``release_ms`` per sample (``values[name][i]`` at sample i)."""
        v = self._per_sample(values, block.shape[1])
        process_limiter_automated(block, self._tail, self._w, self._FIR, self._seg, self._dline, self._vh,
                                  self._hring, self._state, self._istate, v["ceiling_dbtp"], v["release_ms"],
                                  MARGIN_DB, self.spec.sample_rate, self._D)
        self._keep_last(values)

    @property
    def latency_samples(self) -> int:
        return self._D - 1 + TAPS // 2

    @property
    def gain_reduction_db(self) -> float:
        """The largest gain reduction since the last reset (negative dB, or 0)."""
        return 20.0 * math.log10(max(float(self._state[3]), 1e-12))
