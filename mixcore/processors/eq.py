"""``eq``: a parametric equaliser of RBJ cookbook biquads."""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from .._dsp.biquad import process_cascade, process_cascade_ramped, process_cascade_varying
from ..errors import MixcoreError, cut, did_you_mean, short
from ..params import Param
from ..simd import kernel, use_avx2
from .base import ProcessSpec, Processor
from .filters import KINDS, band_coeffs
from .registry import register

BAND_KEYS = ("kind", "freq_hz", "q", "gain_db", "slope_db")
RAMP_MS = 2.0  # coefficient glide on a parameter change while running
SLOPES = (12, 24, 36, 48)
FREQ = (10.0, 100000.0)
Q = (0.025, 40.0)
GAIN = (-48.0, 48.0)
#: What a band without ``q`` or ``gain_db`` gets (Q 1/sqrt(2): Butterworth for the pass filters).
BAND_DEFAULTS = {"q": 0.7071067811865476, "gain_db": 0.0}
FLUSH_EVERY = 16  # the filters' denormal flush runs every 16th sample of the stream (pyx/biquad.pyx)
#: The cascade kernel across many EQs (pyx/eqbank.pxi), where it pays: with AVX2 it runs 16 lanes
#: at once about 2.5x faster than one EQ at a time; the SSE2 build is only level with it, so
#: without AVX2 every EQ runs alone (same bits either way).
_BANK = kernel("eqbank") if use_avx2() else None
_BAND_PARAM = re.compile(r"bands\[([0-9]{1,4})\]\.(freq_hz|q|gain_db)\Z")  # \Z: "$" passes a trailing newline


class BandsParam(Param):
    """``bands``: a list of ``{kind, freq_hz, q, gain_db}`` tables, validated key by key."""

    def validate(self, value: Any, where: str = "") -> list[dict[str, Any]]:
        key = f"{where}{self.name}"
        if not isinstance(value, (list, tuple)):
            raise MixcoreError(f"{key}: expected a list of bands, got {short(value)}")
        return [validate_band(b, f"{key}[{i}]") for i, b in enumerate(value)]

    def describe_range(self) -> str:
        return "a list of {kind, freq_hz, q, gain_db}"


def _number(value: Any, key: str, lo: float, hi: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MixcoreError(f"{key}: expected a number ({lo:g} .. {hi:g}{unit}), got {short(value)}")
    if not lo <= float(value) <= hi:
        raise MixcoreError(f"{key}: {short(value)} is out of range, expected {lo:g} .. {hi:g}{unit}")
    return float(value)


def validate_band(band: Any, key: str) -> dict[str, Any]:
    if not isinstance(band, dict):
        raise MixcoreError(f"{key}: a band is a table {{kind, freq_hz, q, gain_db}}, got {short(band)}")
    for k in band:
        if k not in BAND_KEYS:
            raise MixcoreError(f"{key}.{k}: unknown key{did_you_mean(k, BAND_KEYS)}; expected {', '.join(BAND_KEYS)}")
    kind = band.get("kind")
    if kind is None:
        raise MixcoreError(f"{key}.kind: required key is missing; one of {', '.join(KINDS)}")
    if kind not in KINDS:
        raise MixcoreError(f"{key}.kind: {short(kind)} is not one of {', '.join(KINDS)}{did_you_mean(str(kind), KINDS)}")
    if "freq_hz" not in band:
        raise MixcoreError(f"{key}.freq_hz: required key is missing")
    slope = band.get("slope_db", 12)
    if slope not in SLOPES or isinstance(slope, bool):
        raise MixcoreError(f"{key}.slope_db: {short(slope)} is not one of 12, 24, 36, 48 (dB per octave)")
    if slope != 12 and kind not in ("highpass", "lowpass"):
        raise MixcoreError(f"{key}.slope_db: only high-pass and low-pass bands take a slope")
    out = {
        "kind": kind,
        "freq_hz": _number(band["freq_hz"], f"{key}.freq_hz", *FREQ, " Hz"),
        "q": _number(band.get("q", BAND_DEFAULTS["q"]), f"{key}.q", *Q, ""),
        "gain_db": _number(band.get("gain_db", BAND_DEFAULTS["gain_db"]), f"{key}.gain_db", *GAIN, " dB"),
    }
    if slope != 12:
        out["slope_db"] = int(slope)
    return out


def butterworth_qs(order: int) -> list[float]:
    """Q of each 2nd-order section of an even-order Butterworth filter: 1 / (2 cos((2k-1) pi / (2N)))."""
    import math

    return [1.0 / (2.0 * math.cos((2 * k - 1) * math.pi / (2 * order))) for k in range(1, order // 2 + 1)]


def band_sections(sample_rate: float, band: dict) -> list:
    """The biquads of one band: one, or N/2 Butterworth sections for a steeper high/low-pass."""
    slope = band.get("slope_db", 12)
    if slope == 12:
        return [band_coeffs(sample_rate, band["kind"], band["freq_hz"], band["q"], band["gain_db"])]
    return [band_coeffs(sample_rate, band["kind"], band["freq_hz"], q, 0.0) for q in butterworth_qs(slope // 6)]


@register
class EQ(Processor):
    """Parametric EQ: a cascade of RBJ Audio EQ Cookbook biquads, one per band.

    Transposed direct form II with float64 state. ``gain_db`` matters for
    peak and shelf bands (full gain at a peak's centre, half of it at a shelf's
    corner frequency); ``q`` is the cookbook's Q (0.7071 gives Butterworth
    high/low-pass, -3.01 dB at ``freq_hz``). High/low-pass bands take
    ``slope_db`` 12 (default), 24, 36 or 48 dB/octave: Butterworth of order
    slope/6 as cascaded sections (``q`` then does not apply). A band value may be automated as
    ``bands[i].gain_db`` (or ``freq_hz``, ``q``); coefficients are recomputed
    at each change and glided to over 2 ms, sample by sample, so automation
    never zips.
    """

    type_name = "eq"
    SAMPLE_ACCURATE = True
    # the parameters, typed for checkers and IDEs (read and set as attributes; declared in PARAMS)
    bands: list[dict[str, Any]]
    PARAMS = (BandsParam("bands", default=(), unit="", doc=(
        f"list of {{kind, freq_hz, q, gain_db, slope_db}} tables; kind: {', '.join(KINDS)}; "
        f"freq_hz {FREQ[0]:g} .. {FREQ[1]:g} Hz (log taper), q {Q[0]:g} .. {Q[1]:g} (log), "
        f"gain_db {GAIN[0]:g} .. {GAIN[1]:g} dB (linear; peak and shelves), slope_db "
        f"{'/'.join(map(str, SLOPES))} (high/low-pass); automate one as bands[i].freq_hz")),)

    def __init__(self, *, id: str | None = None, **params: Any) -> None:
        super().__init__(id=id, **params)
        self._values.values["bands"] = BandsParam("bands", default=()).validate(self._values.values["bands"])

    def _set_param(self, name: str, value: Any) -> None:
        m = _BAND_PARAM.match(name)
        if m is None:
            return super().set_param(name, value)
        i, key = int(m.group(1)), m.group(2)
        bands = [dict(b) for b in self.bands]
        if i >= len(bands):
            raise MixcoreError(f"{name}: there are only {len(bands)} bands")
        bands[i][key] = value
        super().set_param("bands", bands)

    def get_param(self, name: str) -> Any:
        m = _BAND_PARAM.match(name)
        if m is None:
            return super().get_param(name)
        return self.bands[int(m.group(1))][m.group(2)]

    def saved_value(self, name: str, value: Any) -> Any:
        """``value`` of parameter ``name`` as a session file writes it: bands without their default keys."""
        if name != "bands":
            return value
        return [{k: v for k, v in band.items() if k not in BAND_DEFAULTS or v != BAND_DEFAULTS[k]}
                for band in value]

    def param_for(self, name: str) -> Param | None:
        m = _BAND_PARAM.match(name)
        if m is None:
            return super().param_for(name)
        if int(m.group(1)) >= len(self.bands):
            return None
        lo, hi, unit, taper = {"freq_hz": (*FREQ, "Hz", "log"), "q": (*Q, "", "log"),
                               "gain_db": (*GAIN, "dB", "linear")}[m.group(2)]
        return Param(name, default=self.bands[int(m.group(1))][m.group(2)], lo=lo, hi=hi, unit=unit, taper=taper)

    def _prepare(self, spec: ProcessSpec) -> None:
        self._pos = 0  # samples processed since reset, for the filters' flush phase (pyx/biquad.pyx)
        self._coeffs = None
        self._ramp_from_update = False
        self._state = np.zeros((spec.num_channels, len(self.bands), 2), dtype=np.float64)

    def _update(self) -> None:
        sr = self.spec.sample_rate
        rows = []
        for i, b in enumerate(self.bands):
            if b["freq_hz"] >= 0.5 * sr:
                raise MixcoreError(f"{self.id}.bands[{i}].freq_hz: {b['freq_hz']:g} Hz is not below the Nyquist "
                                   f"frequency ({0.5 * sr:g} Hz at {sr:g} Hz)")
            rows.extend(band_sections(sr, b))
        new = np.ascontiguousarray(np.array(rows, dtype=np.float64).reshape(-1, 5))
        old = getattr(self, "_coeffs", None)
        ramp = int(round(RAMP_MS * 1e-3 * sr))
        if old is not None and old.shape == new.shape and self._ramp_from_update and ramp > 0:
            # a parameter change while running: glide the coefficients over RAMP_MS (no zipper noise)
            self._target = new
            self._step = np.ascontiguousarray((new - old) / ramp)
            self._left = ramp
        else:
            self._coeffs = new
            self._target = new
            self._left = 0
        if self._state.shape[1] != len(rows):
            self._state = np.zeros((self.spec.num_channels, len(rows), 2), dtype=np.float64)

    def set_param(self, name: str, value: Any) -> None:
        self._ramp_from_update = self.spec is not None
        try:
            self._set_param(name, value)
        finally:
            self._ramp_from_update = False

    def reset(self) -> None:
        self._pos = 0
        self._state[...] = 0.0
        if self._left:
            self._coeffs = self._target
            self._left = 0

    def process(self, block: np.ndarray) -> None:
        phase = self._pos % FLUSH_EVERY
        self._pos = phase + block.shape[1]
        if self._left:
            self._left = process_cascade_ramped(block, self._coeffs, self._target, self._step, self._state, self._left,
                                                phase)
            if not self._left:
                self._coeffs = self._target
        else:
            process_cascade(block, self._coeffs, self._state, phase)

    def bank_key(self):
        """EQs with the same number of sections and channels run as one bank, except during a glide."""
        if _BANK is None or self._left or self._coeffs is None:
            return None
        return ("eq", self._coeffs.shape[0], self._state.shape[0], self._pos % FLUSH_EVERY)

    @classmethod
    def process_bank(cls, procs, blocks) -> None:
        keys = {p.bank_key() for p in procs}
        if None in keys or len(keys) != 1:
            return super().process_bank(procs, blocks)
        phase = procs[0]._pos % FLUSH_EVERY
        _BANK.cascade_bank(list(blocks), [p._coeffs for p in procs], [p._state for p in procs], phase)
        n = blocks[0].shape[1] if len(blocks) else 0
        for p in procs:
            p._pos = phase + n

    @classmethod
    def bank_op(cls, procs, works, channels):
        keys = {p.bank_key() for p in procs}
        if None in keys or len(keys) != 1:
            return None
        return _BANK.CascadeBankOp(works, channels, [p._coeffs for p in procs], [p._state for p in procs], list(procs))

    def process_automated(self, block: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Band values (``bands[i].freq_hz`` / ``q`` / ``gain_db``) per sample: the coefficients are
        designed for every sample (vectorised RBJ formulas) and the cascade follows them exactly."""
        n = block.shape[1]
        if n == 0:
            return
        if self._left:  # finish a glide first: from here on the coefficients are exact per sample
            self._coeffs = self._target
            self._left = 0
        sr = self.spec.sample_rate
        bands = [dict(b) for b in self.bands]
        per_band: dict[int, dict[str, np.ndarray]] = {}
        for name, v in values.items():
            m = _BAND_PARAM.match(name)
            if m is None:
                raise MixcoreError(f"{self.id}: {short(name)} cannot be automated")
            per_band.setdefault(int(m.group(1)), {})[m.group(2)] = np.asarray(v, dtype=np.float64)
        rows = []
        for i, b in enumerate(bands):
            auto = per_band.get(i)
            if not auto:
                for c in band_sections(sr, b):
                    rows.append(np.broadcast_to(c, (n, 5)))
                continue
            f = auto.get("freq_hz", np.full(n, b["freq_hz"]))
            if np.any(f >= 0.5 * sr):
                raise MixcoreError(f"{self.id}.bands[{i}].freq_hz: automation goes above the Nyquist frequency")
            vec = {**b, "freq_hz": f, "q": auto.get("q", b["q"]), "gain_db": auto.get("gain_db", b["gain_db"])}
            for c in band_sections(sr, vec):
                rows.append(np.broadcast_to(c, (n, 5)))
            for key, v in auto.items():
                b[key] = float(v[-1])
        co = np.ascontiguousarray(np.stack(rows, axis=1))  # (n, sections, 5)
        phase = self._pos % FLUSH_EVERY
        self._pos = phase + n
        process_cascade_varying(block, co, self._state, phase)
        self._values.values["bands"] = bands
        self._coeffs = np.ascontiguousarray(co[-1])
        self._target = self._coeffs

    def response_db(self, freqs_hz: np.ndarray, sample_rate: float) -> np.ndarray:
        """Magnitude response in dB of the whole cascade at ``freqs_hz``."""
        z = np.exp(-1j * 2 * np.pi * np.asarray(freqs_hz, dtype=np.float64) / sample_rate)
        h = np.ones_like(z)
        for b in self.bands:
            for c in band_sections(sample_rate, b):
                h *= (c[0] + c[1] * z + c[2] * z * z) / (1 + c[3] * z + c[4] * z * z)
        return 20 * np.log10(np.abs(h))
