"""``eq``: a parametric equaliser of RBJ cookbook biquads."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._dsp.biquad import process_cascade, process_cascade_ramped, process_cascade_varying
from ..errors import MixcoreError, short
from ..params import Param, TableListParam
from ..simd import kernel, use_avx2
from .base import ProcessSpec, Processor
from .filters import KINDS, band_coeffs
from .registry import register

RAMP_MS = 2.0  # coefficient glide on a parameter change while running
SLOPES = (12, 24, 36, 48)
FREQ = (10.0, 100000.0)
Q = (0.025, 40.0)
GAIN = (-48.0, 48.0)
FLUSH_EVERY = 16  # the filters' denormal flush runs every 16th sample of the stream (pyx/biquad.pyx)
#: The cascade kernel across many EQs (pyx/eqbank.pxi), where it pays: with AVX2 it runs 16 lanes
#: at once about 2.5x faster than one EQ at a time; the SSE2 build is only level with it, so
#: without AVX2 every EQ runs alone (same bits either way).
_BANK = kernel("eqbank") if use_avx2() else None


class SlopeParam(Param):
    """``slope_db``: 12, 24, 36 or 48 (dB per octave), an integer."""

    def validate(self, value: Any, where: str = "") -> int:
        if value not in SLOPES or isinstance(value, bool):
            raise MixcoreError(f"{where}{self.name}: {short(value)} is not one of 12, 24, 36, 48 (dB per octave)")
        return int(value)


#: One band's keys as data: what validates a band, what ``bands[i].<key>`` automates and maps (range,
#: taper), what ``mixcore processors`` lists. A default of None: a required key.
BAND_PARAMS = (
    Param("kind", default=None, choices=KINDS, doc="required: the RBJ cookbook response"),
    Param("freq_hz", default=None, lo=FREQ[0], hi=FREQ[1], unit="Hz", taper="log",
          doc="required: centre or corner frequency, below the Nyquist frequency"),
    Param("q", default=0.7071067811865476, lo=Q[0], hi=Q[1], taper="log",
          doc="the cookbook's Q (0.7071: Butterworth high/low-pass)"),
    Param("gain_db", default=0.0, lo=GAIN[0], hi=GAIN[1], unit="dB", taper="linear",
          doc="peak and shelves"),
    SlopeParam("slope_db", default=12, lo=SLOPES[0], hi=SLOPES[-1], unit="dB", automatable=False,
               doc="dB per octave, 12/24/36/48: high/low-pass only"),
)
BAND_KEYS = tuple(p.name for p in BAND_PARAMS)
#: What a band without ``q`` or ``gain_db`` gets (Q 1/sqrt(2): Butterworth for the pass filters).
BAND_DEFAULTS = {p.name: p.default for p in BAND_PARAMS if p.name in ("q", "gain_db")}


class BandsParam(TableListParam):
    """``bands``: a list of ``{kind, freq_hz, q, gain_db}`` tables, validated key by key (:data:`BAND_PARAMS`)."""

    def validate_table(self, table: Any, key: str) -> dict[str, Any]:
        band = super().validate_table(table, key)
        if band["slope_db"] != 12 and band["kind"] not in ("highpass", "lowpass"):
            raise MixcoreError(f"{key}.slope_db: only high-pass and low-pass bands take a slope")
        if band["slope_db"] == 12:
            del band["slope_db"]  # a band of the default slope is written without one
        return band


def validate_band(band: Any, key: str) -> dict[str, Any]:
    return EQ.PARAMS[0].validate_table(band, key)


def _bands_doc() -> str:
    return (f"list of {{{', '.join(BAND_KEYS)}}} tables, one per band (the keys: the bands[i].<key> rows); "
            "automate one as bands[i].freq_hz")


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
    PARAMS = (BandsParam("bands", default=(), unit="", fields=BAND_PARAMS, item="band",
                         keys_text="{kind, freq_hz, q, gain_db}", doc=_bands_doc()),)

    def __init__(self, *, id: str | None = None, **params: Any) -> None:
        super().__init__(id=id, **params)
        self._values.values["bands"] = self.PARAMS[0].validate(self._values.values["bands"])

    def get_param(self, name: str) -> Any:
        return self._values.get(name)

    def saved_value(self, name: str, value: Any) -> Any:
        """``value`` of parameter ``name`` as a session file writes it: bands without their default keys."""
        if name != "bands":
            return value
        return [{k: v for k, v in band.items() if k not in BAND_DEFAULTS or v != BAND_DEFAULTS[k]}
                for band in value]

    def param_for(self, name: str) -> Param | None:
        return self._values.param_for(name)

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
            super().set_param(name, value)
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
            found = self._values.item(name)
            if found is None or found[2].choices is not None or not found[2].automatable:
                raise MixcoreError(f"{self.id}: {short(name)} cannot be automated")
            per_band.setdefault(found[1], {})[found[2].name] = np.asarray(v, dtype=np.float64)
        rows = []
        for i, b in enumerate(bands):
            auto = per_band.get(i)
            if not auto:
                # a constant band: designed once, as in _update (the design is the same for one value and
                # for arrays -- 10^(gain/40) through libm, coeffs.gain_from_db -- so a band held constant
                # by automation gets these bits too)
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
