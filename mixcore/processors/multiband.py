"""``multiband``: a 3- or 4-band compressor on Linkwitz-Riley crossovers.

Orchestrates existing kernels (``pyx/biquad.pyx`` for the crossovers, ``pyx/compressor.pyx`` per band);
Python works once per band per block, never per sample.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._dsp.biquad import process_cascade
from ..errors import MixcoreError, cut, did_you_mean, short
from ..params import Param
from .base import ProcessSpec, Processor
from .compressor import Compressor
from .filters import highpass_coeffs, lowpass_coeffs
from .registry import register

BAND_KEYS = ("threshold_db", "ratio", "attack_ms", "release_ms", "knee_db", "makeup_db")
BUTTERWORTH_Q = 1.0 / math.sqrt(2.0)


def allpass_coeffs(sample_rate: float, freq_hz: float, q: float = BUTTERWORTH_Q) -> np.ndarray:
    """RBJ 2nd-order allpass: H(s) = (s^2 - s/Q + 1) / (s^2 + s/Q + 1)."""
    w0 = 2 * math.pi * freq_hz / sample_rate
    c, al = math.cos(w0), math.sin(w0) / (2 * q)
    a0 = 1 + al
    return np.array([(1 - al) / a0, -2 * c / a0, 1.0, -2 * c / a0, (1 - al) / a0])


def band_paths(sample_rate: float, crossovers: list[float]) -> list[np.ndarray]:
    """Biquad cascades giving each band from the input: LR4 low/high-passes, and allpasses so that
    every band has the same phase as the others (the bands then sum to an allpass: flat magnitude)."""
    lp = lambda f: [lowpass_coeffs(sample_rate, f, BUTTERWORTH_Q)] * 2  # noqa: E731  LR4 = Butterworth^2
    hp = lambda f: [highpass_coeffs(sample_rate, f, BUTTERWORTH_Q)] * 2  # noqa: E731
    paths = []
    n = len(crossovers)
    for k in range(n + 1):
        sections = []
        for j, f in enumerate(crossovers):
            if j < k:
                sections += hp(f)
            elif j == k:
                sections += lp(f)
            else:
                sections.append(allpass_coeffs(sample_rate, f))
        paths.append(np.ascontiguousarray(np.array(sections, dtype=np.float64)))
    return paths


class CrossoversParam(Param):
    def validate(self, value: Any, where: str = "") -> list[float]:
        key = f"{where}{self.name}"
        if not isinstance(value, (list, tuple)) or len(value) not in (2, 3):
            raise MixcoreError(f"{key}: expected 2 or 3 crossover frequencies (3 or 4 bands), got {short(value)}")
        out = []
        for i, f in enumerate(value):
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not 20.0 <= f <= 20000.0:
                raise MixcoreError(f"{key}[{i}]: {short(f)} is out of range, expected 20 .. 20000 Hz")
            if out and f <= out[-1] * 1.5:
                raise MixcoreError(f"{key}[{i}]: {short(f)} Hz must be above 1.5 x the previous crossover ({out[-1]:g} Hz)")
            out.append(float(f))
        return out


class BandSettingsParam(Param):
    def validate(self, value: Any, where: str = "") -> list[dict]:
        key = f"{where}{self.name}"
        if not isinstance(value, (list, tuple)):
            raise MixcoreError(f"{key}: expected a list of band settings, got {short(value)}")
        out = []
        for i, b in enumerate(value):
            if not isinstance(b, dict):
                raise MixcoreError(f"{key}[{i}]: expected a table of compressor settings, got {short(b)}")
            for k in b:
                if k not in BAND_KEYS:
                    raise MixcoreError(f"{key}[{i}].{k}: unknown key{did_you_mean(k, BAND_KEYS)}")
            probe = Compressor()
            for k, v in b.items():
                probe._values.set(k, v, where=f"{key}[{i}].")
            out.append(dict(b))
        return out


@register
class Multiband(Processor):
    """3- or 4-band compressor.

    ``crossovers_hz`` (2 or 3 frequencies) split the signal with 4th-order Linkwitz-Riley filters
    (two cascaded Butterworth sections); lower bands pass through the 2nd-order allpasses of the
    crossovers above them, so all bands share one phase response and, uncompressed, sum to an
    allpass: a flat magnitude response. Each band has its own compressor (``bands``: one table of
    threshold_db, ratio, attack_ms, release_ms, knee_db, makeup_db per band; missing keys take the
    compressor's defaults, missing bands no compression).
    """

    type_name = "multiband"
    # the parameters, typed for checkers and IDEs (read and set as attributes; declared in PARAMS)
    crossovers_hz: list[float]
    bands: list[dict[str, Any]]
    PARAMS = (
        CrossoversParam("crossovers_hz", default=[200.0, 2000.0], unit="Hz", automatable=False,
                        doc="2 or 3 crossover frequencies, 20 .. 20000 Hz, each above 1.5 x the one before"),
        BandSettingsParam("bands", default=[], automatable=False,
                          doc="one table per band, lowest first: {threshold_db, ratio, attack_ms, release_ms, "
                              "knee_db, makeup_db} (compressor parameters; missing keys: its defaults, "
                              "missing bands: no compression)"),
    )

    def _settings(self) -> list[dict]:
        n = len(self.crossovers_hz) + 1
        if len(self.bands) > n:
            raise MixcoreError(f"{self.id}.bands: {len(self.bands)} band settings for {n} bands")
        return [self.bands[k] if k < len(self.bands) else {"ratio": 1.0} for k in range(n)]

    def _prepare(self, spec: ProcessSpec) -> None:
        self._buf = np.zeros(spec.num_channels * spec.max_block_size, dtype=np.float32)
        self._acc = np.zeros(spec.num_channels * spec.max_block_size, dtype=np.float32)

    def _update(self) -> None:
        spec = self.spec
        if max(self.crossovers_hz) >= 0.45 * spec.sample_rate:
            raise MixcoreError(f"{self.id}.crossovers_hz: {max(self.crossovers_hz):g} Hz is too close to the "
                               f"Nyquist frequency at {spec.sample_rate:g} Hz")
        self._paths = band_paths(spec.sample_rate, self.crossovers_hz)
        self._states = [np.zeros((spec.num_channels, len(p), 2)) for p in self._paths]
        self._comps = []
        for settings in self._settings():
            c = Compressor(**settings)
            c.prepare(spec)
            self._comps.append(c)

    def reset(self) -> None:
        for st in self._states:
            st[...] = 0.0
        for c in self._comps:
            c.reset()

    def process(self, block: np.ndarray) -> None:
        ch, n = block.shape
        buf = self._buf[: ch * n].reshape(ch, n)
        acc = self._acc[: ch * n].reshape(ch, n)
        acc[...] = 0.0
        for path, state, comp in zip(self._paths, self._states, self._comps):
            buf[...] = block
            process_cascade(buf, path, state)
            comp.process(buf)
            acc += buf
        block[...] = acc
