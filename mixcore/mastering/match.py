"""Reference matching: the tone, loudness and stereo width of one or more reference tracks.

Each dimension moves the mix part of the way towards the references (``amount`` 0-1, per dimension;
0.7 by default, as careful engineers use a match EQ); 0 leaves the dimension as it is (the same as
not matching it), 1 matches it fully. Several references combine with ``weights`` (default equal).

- **tone**: the long-term average spectrum (Welch: Hann frames of ``NFFT`` samples, 50 % overlap,
  mean periodogram) of the mid signal M = (L + R) / 2 of mix and references, each smoothed over
  1/3 octave (mean power over [f 2^-1/6, f 2^1/6]) at points 1/6 octave apart.
  **Only where both hold energy**: a point counts when the mix and every reference hold energy there
  (:func:`holds_energy`: within ``RANGE_DB`` of the spectrum's maximum, within ``EDGE_DB`` of its
  maximum an octave either side, above white noise at ``FLOOR_DBFS``; the edge points dropped), and
  the longest such run is the matched region. Outside it the EQ is flat (0 dB, reached by a raised
  cosine over half an octave), so a low-passed or single-instrument reference never turns into a
  brick wall of boosts; the region is reported (CLI, report, JSON) and the spectral distance is
  computed over it only.
  The difference ``D(f) = ref_dB(f) - mix_dB(f)``, its mean over the matched region (within
  ``F_LO``-``F_HI``: the level offset, handled by the loudness stage) removed, clamped to
  +-``MAX_EQ_DB`` (reported as a warning), is the **target**; several references: the weighted mean
  in dB after removing each one's own level. It is realised
  * ``parametric`` (default): at most 12 bands of mixcore's own ``eq`` processor (low/high shelf and
    peaks; :mod:`.parametric`), fitted to the target; the tone amount scales the band gains. An
    engineer can read and change them, and ``--save-chain`` writes them (:mod:`.saved_chain`);
  * ``linear``: a **linear-phase FIR** (frequency sampling of the zero-phase response, target times
    the amount, on a 32768-point grid, ``FIR_TAPS`` taps, Hann window) run by the partitioned
    convolution kernel: only the magnitude changes and the result equals the designed curve
    exactly; the costs are pre-ringing and latency ((taps - 1) / 2 samples plus the partition,
    reported as ``latency_samples`` and removed by the mastering pass like any chain latency).
- **loudness**: the target is ``L_mix + amount (L_ref - L_mix)`` (integrated loudness, BS.1770-4;
  several references: the weighted mean of their LUFS) unless a target is given. The reference's
  limiting is not copied: the limiter's largest gain reduction is capped (``max_limiting_db``).
- **width**: the side/mid energy ratio r = sum S^2 / sum M^2 over the matched region (the mix's after
  the match EQ, from the Welch spectra weighted by |H(f)|^2; several references: the weighted mean of
  their ratios). The ``width`` processor scales S by w, so r' = w^2 r and
  ``w = (r_ref / r_mix)^(amount / 2)``, within the processor's range 0-2.

``spectral_distance`` (used by the report, ``mixcore compare`` and the benchmark) is the RMS over the
1/3-octave points from ``F_LO`` to ``F_HI`` (within the matched region, for a match) of the
level-normalised dB difference of two smoothed spectra.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MixcoreError, did_you_mean
from ..processors.convolution import PARTITION, Convolution

NFFT = 8192
F_LO, F_HI = 30.0, 16000.0
MAX_EQ_DB = 12.0
FIR_TAPS = 8191
DIMENSIONS = ("tone", "loudness", "width")
DEFAULT_AMOUNT = 0.7
READ = 65536


# --- analysis ---------------------------------------------------------------------------------

@dataclass
class Profile:
    """Long-term analysis of one file at ``sample_rate``: Welch spectra of mid and side, loudness."""

    path: str
    sample_rate: int
    channels: int
    freqs: np.ndarray = field(repr=False)
    mid_power: np.ndarray = field(repr=False)   # mean periodogram of M (per bin)
    side_power: np.ndarray = field(repr=False)  # mean periodogram of S (zeros for mono)
    integrated_lufs: float = -math.inf
    true_peak_dbtp: float = -math.inf
    analysis: object = field(default=None, repr=False)  # the meter's AnalysisResult

    def side_mid_ratio(self, weight: np.ndarray | None = None) -> float:
        """sum S^2 / sum M^2, optionally with the spectra weighted by ``weight`` (|H|^2)."""
        w = 1.0 if weight is None else weight
        m = float(np.sum(self.mid_power * w))
        return float(np.sum(self.side_power * w)) / m if m > 0 else 0.0


def analyse(path: str | Path, sample_rate: int | None = None, where: str = "input") -> Profile:
    """Stream ``path`` (resampled with soxr VHQ to ``sample_rate`` if given) into a :class:`Profile`."""
    from ..metering import LoudnessMeter
    from ..render.sources import SourceReader, probe

    path = Path(path)
    info = probe(path, where)
    sr = int(sample_rate or info.samplerate)
    reader = SourceReader(path, sr, where, quality="VHQ")
    ch = reader.channels
    meter = LoudnessMeter(sr, ch)
    win = np.hanning(NFFT + 1)[:NFFT]  # periodic Hann
    hop = NFFT // 2
    acc = np.zeros((2, NFFT // 2 + 1))
    frames = 0
    carry = np.zeros((2, 0))
    buf = np.zeros((ch, READ), dtype=np.float32)
    reader.open()
    try:
        done = 0
        while done < reader.frames:
            n = min(READ, reader.frames - done)
            blk = buf[:, :n]
            reader.read_into(blk)
            meter.process(blk)
            x = blk.astype(np.float64)
            ms = np.stack([0.5 * (x[0] + x[-1]), 0.5 * (x[0] - x[-1])])
            carry = np.concatenate([carry, ms], axis=1)
            k = (carry.shape[1] - NFFT) // hop + 1 if carry.shape[1] >= NFFT else 0
            if k > 0:
                seg = np.lib.stride_tricks.sliding_window_view(carry, NFFT, axis=1)[:, ::hop][:, :k]
                acc += (np.abs(np.fft.rfft(seg * win, axis=2)) ** 2).sum(axis=1)
                frames += k
                carry = carry[:, k * hop:]
            done += n
    finally:
        reader.close()
    if frames == 0:  # shorter than one frame: one zero-padded frame
        seg = np.zeros((2, NFFT))
        seg[:, : carry.shape[1]] = carry
        acc += np.abs(np.fft.rfft(seg * win, axis=1)) ** 2
        frames = 1
    acc /= frames
    res = meter.result()
    return Profile(path=str(path), sample_rate=sr, channels=ch, freqs=np.fft.rfftfreq(NFFT, 1.0 / sr),
                   mid_power=acc[0], side_power=acc[1] if ch == 2 else np.zeros_like(acc[1]),
                   integrated_lufs=float(res.integrated_lufs), true_peak_dbtp=float(res.true_peak_dbtp),
                   analysis=res)


def curve_points(sample_rate: float, lo: float = 20.0, hi: float = 20000.0, per_octave: int = 6) -> np.ndarray:
    """Frequencies 1/``per_octave`` octave apart on the 1 kHz grid, within [lo, min(hi, 0.45 fs)]."""
    top = min(hi, 0.45 * sample_rate)
    k = np.arange(math.ceil(per_octave * math.log2(lo / 1000.0)), math.floor(per_octave * math.log2(top / 1000.0)) + 1)
    return 1000.0 * 2.0 ** (k / per_octave)


def smoothed_db(freqs: np.ndarray, power: np.ndarray, points: np.ndarray, fraction: int = 3) -> np.ndarray:
    """Mean power over [f 2^(-1/2b), f 2^(1/2b)] (b = ``fraction``) at each point, in dB."""
    half = 2.0 ** (1.0 / (2 * fraction))
    csum = np.concatenate([[0.0], np.cumsum(power)])
    lo = np.searchsorted(freqs, points / half, side="left")
    hi = np.searchsorted(freqs, points * half, side="right")
    hi = np.maximum(hi, lo + 1)  # at least the nearest bin
    mean = (csum[hi] - csum[lo]) / (hi - lo)
    return 10.0 * np.log10(np.maximum(mean, 1e-30))


def _in_band(points: np.ndarray) -> np.ndarray:
    return (points >= F_LO) & (points <= F_HI)


# --- where a spectrum holds energy ------------------------------------------------------------

#: A point of a smoothed spectrum holds energy when it is (1) within ``RANGE_DB`` of the spectrum's
#: largest value, (2) within ``EDGE_DB`` of the largest value within an octave either side (a fall of
#: more than that within an octave is a band edge: a low-pass, a high-pass, an instrument's range) and
#: (3) above white noise at ``FLOOR_DBFS`` dB RMS re. full scale. The points next to a point without
#: energy are dropped too (their 1/3-octave window reaches over the edge), gaps of up to
#: ``GAP_POINTS`` points (1/3 octave) inside are bridged, and the longest run where the mix and every
#: reference hold energy is the matched region; outside it the match EQ is flat (0 dB), reached
#: over ``TAPER_OCT`` octave by a raised cosine.
RANGE_DB = 70.0
EDGE_DB = 30.0
FLOOR_DBFS = -120.0
GAP_POINTS = 2
TAPER_OCT = 0.5
_WIN_POWER_DB = 10.0 * math.log10(float(np.sum(np.hanning(NFFT + 1)[:NFFT] ** 2)))


def holds_energy(points: np.ndarray, level_db: np.ndarray, per_octave: int = 6) -> np.ndarray:
    """Where a smoothed spectrum (``smoothed_db`` at ``points``, 1/``per_octave`` octave apart) holds
    energy above its noise floor (the rule above ``RANGE_DB``)."""
    n = len(level_db)
    local = np.array([level_db[max(0, i - per_octave): i + per_octave + 1].max() for i in range(n)])
    ok = ((level_db >= level_db.max() - RANGE_DB) & (level_db >= local - EDGE_DB)
          & (level_db >= FLOOR_DBFS + _WIN_POWER_DB))
    inner = ok.copy()
    inner[1:] &= ok[:-1]
    inner[:-1] &= ok[1:]
    return inner


def matched_region(mask: np.ndarray) -> tuple[int, int] | None:
    """The longest run of ``mask`` (gaps of up to ``GAP_POINTS`` bridged) as (first, last) index."""
    idx = np.nonzero(mask)[0]
    if len(idx) == 0:
        return None
    runs, start = [], idx[0]
    for a, b in zip(idx[:-1], idx[1:]):
        if b - a > GAP_POINTS + 1:
            runs.append((start, a))
            start = b
    runs.append((start, idx[-1]))
    first, last = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
    return (int(first), int(last)) if last - first >= 6 else None  # at least an octave


def _taper(points: np.ndarray, curve: np.ndarray, region: tuple[int, int]) -> np.ndarray:
    """``curve`` inside ``region``, falling to 0 dB over ``TAPER_OCT`` octave outside it (raised cosine)."""
    a, b = region
    out = curve.copy()
    octs = np.log2(points)
    below = np.clip((octs[a] - octs[:a]) / TAPER_OCT, 0.0, 1.0)
    above = np.clip((octs[b + 1:] - octs[b]) / TAPER_OCT, 0.0, 1.0)
    out[:a] = curve[a] * 0.5 * (1.0 + np.cos(np.pi * below))
    out[b + 1:] = curve[b] * 0.5 * (1.0 + np.cos(np.pi * above))
    return out


def _hz(f: float) -> str:
    return f"{f / 1000:.3g} kHz" if f >= 1000 else f"{f:.0f} Hz"


def spectral_distance(a: Profile, b: Profile, region_hz: tuple[float, float] | None = None) -> float:
    """RMS dB difference of the 1/3-octave smoothed mid spectra, 30 Hz - 16 kHz (within ``region_hz``
    if given), level offset removed."""
    pts = curve_points(min(a.sample_rate, b.sample_rate), F_LO, F_HI, per_octave=3)
    if region_hz is not None:
        inside = (pts >= region_hz[0] * 0.999) & (pts <= region_hz[1] * 1.001)
        if inside.sum() >= 2:
            pts = pts[inside]
    d = smoothed_db(a.freqs, a.mid_power, pts) - smoothed_db(b.freqs, b.mid_power, pts)
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


# --- options ----------------------------------------------------------------------------------

def parse_match(text: str | None) -> tuple[str, ...]:
    """``"tone,width"`` -> ("tone", "width"); None -> all three."""
    if text is None:
        return DIMENSIONS
    keys = tuple(k.strip() for k in str(text).split(",") if k.strip())
    for k in keys:
        if k not in DIMENSIONS:
            raise MixcoreError(f"--match: unknown dimension {k!r}; expected {', '.join(DIMENSIONS)}"
                               f"{did_you_mean(k, DIMENSIONS)}")
    if not keys:
        raise MixcoreError(f"--match: empty; expected some of {', '.join(DIMENSIONS)}")
    return keys


def _percent(text: str, key: str) -> float:
    try:
        v = float(str(text).strip().rstrip("%"))
    except ValueError:
        raise MixcoreError(f"--match-amount: {key}: {text!r} is not a number (0 .. 100 %)") from None
    if not 0.0 <= v <= 100.0:
        raise MixcoreError(f"--match-amount: {key}: {v:g} is out of range, expected 0 .. 100 %")
    return v / 100.0


def parse_amount(text: str | float | dict | None) -> dict[str, float]:
    """``70`` or ``"70"`` -> every dimension 0.7; ``"tone=70,width=50"`` -> those two, the rest 0.7.

    A dict (Python API) takes fractions 0-1 per dimension."""
    out = dict.fromkeys(DIMENSIONS, DEFAULT_AMOUNT)
    if text is None:
        return out
    if isinstance(text, dict):
        for k, v in text.items():
            if k not in DIMENSIONS:
                raise MixcoreError(f"match_amount: unknown dimension {k!r}{did_you_mean(k, DIMENSIONS)}")
            out[k] = _percent(str(100.0 * float(v)), k)
        return out
    if isinstance(text, (int, float)):
        return dict.fromkeys(DIMENSIONS, _percent(str(100.0 * float(text)), "amount"))
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if len(parts) == 1 and "=" not in parts[0]:
        return dict.fromkeys(DIMENSIONS, _percent(parts[0], "amount"))
    for p in parts:
        k, eq, v = p.partition("=")
        k = k.strip()
        if not eq or k not in DIMENSIONS:
            raise MixcoreError(f"--match-amount: {p!r}: expected a percentage or DIMENSION=PERCENT with "
                               f"DIMENSION one of {', '.join(DIMENSIONS)}{did_you_mean(k, DIMENSIONS)}")
        out[k] = _percent(v, k)
    return out


# --- the matching EQ --------------------------------------------------------------------------

def design_fir(sample_rate: float, points: np.ndarray, gains_db: np.ndarray, taps: int = FIR_TAPS) -> np.ndarray:
    """Linear-phase FIR (odd ``taps``, symmetric) whose response follows ``gains_db`` at ``points``.

    Frequency sampling: the curve, interpolated in log frequency and held beyond its ends, is the
    zero-phase response on a 32768-point grid; its inverse FFT, centred and Hann-windowed to
    ``taps`` taps, is the filter (group delay (taps - 1) / 2)."""
    n = 32768
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    g = np.interp(np.log(np.maximum(f, 1e-3)), np.log(points), gains_db)
    h = np.fft.irfft(10.0 ** (g / 20.0), n)
    h = np.roll(h, taps // 2)[:taps] * np.hanning(taps + 2)[1:-1]
    return h


class MatchEQ(Convolution):
    """The linear-phase matching EQ: the designed FIR run by the partitioned convolution kernel.

    Latency: the convolution's partition plus the FIR's group delay (taps - 1) / 2."""

    type_name = "match_eq"

    def __init__(self, fir: np.ndarray) -> None:
        super().__init__()
        object.__setattr__(self, "_fir", np.asarray(fir, dtype=np.float64))

    def _load_ir(self, sample_rate: float, channels: int) -> np.ndarray:
        return np.tile(self._fir, (channels, 1))

    @property
    def latency_samples(self) -> int:
        return PARTITION + (len(self._fir) - 1) // 2


# --- the plan ---------------------------------------------------------------------------------

EQ_MODES = ("parametric", "linear")


@dataclass
class MatchPlan:
    """What matching will do: the EQ (parametric bands or a linear-phase curve), the width and the
    loudness target, and where the tone was matched."""

    dimensions: tuple[str, ...]
    amounts: dict[str, float]
    points_hz: np.ndarray = field(repr=False)
    eq_db: np.ndarray = field(repr=False)       # the applied curve (after clamp and amount)
    fir: np.ndarray | None = field(default=None, repr=False)
    width: float = 1.0
    side_mid_before_db: float | None = None
    side_mid_reference_db: float | None = None
    side_mid_after_db: float | None = None      # expected after EQ and width
    reference_lufs: float = -math.inf
    target_lufs: float | None = None
    notes: list[str] = field(default_factory=list)
    eq_mode: str = "parametric"
    bands: list[dict] = field(default_factory=list)  # the parametric EQ's bands (gains times the amount)
    target_db: np.ndarray | None = field(default=None, repr=False)  # the full difference to match (100 %)
    region: tuple[int, int] | None = None       # matched points (first, last index into points_hz)
    region_text: str = ""
    weights: list[float] = field(default_factory=list)
    reference_lufs_each: list[float] = field(default_factory=list)
    side_mid_each_db: list[float] = field(default_factory=list)
    reference_curves: list[np.ndarray] = field(default_factory=list, repr=False)  # each, level removed (NaN: no energy)

    @property
    def region_hz(self) -> tuple[float, float] | None:
        if self.region is None:
            return None
        return float(self.points_hz[self.region[0]]), float(self.points_hz[self.region[1]])

    @property
    def has_eq(self) -> bool:
        return self.fir is not None or bool(self.bands)

    def eq_processor(self):
        """The match EQ as a processor: the ``eq`` of the bands, or the linear-phase FIR; None if flat."""
        if self.fir is not None:
            return MatchEQ(self.fir)
        if self.bands:
            from ..processors.registry import processor_types

            return processor_types()["eq"](id="match_eq", bands=[dict(b) for b in self.bands])
        return None

    def to_json_dict(self) -> dict:
        def num(x):
            return None if x is None or not math.isfinite(x) else round(float(x), 4)

        eq = None
        if self.fir is not None:
            eq = "linear-phase FIR"
        elif self.bands:
            eq = "parametric"
        region = self.region_hz
        return {"dimensions": list(self.dimensions), "amounts": {k: round(v, 4) for k, v in self.amounts.items()},
                "eq_curve": {"freq_hz": [round(float(f), 2) for f in self.points_hz],
                             "gain_db": [round(float(g), 3) for g in self.eq_db]},
                "eq": eq, "eq_mode": self.eq_mode,
                "eq_taps": None if self.fir is None else len(self.fir),
                "eq_bands": [dict(b) for b in self.bands],
                "matched_hz": None if region is None else [round(region[0], 2), round(region[1], 2)],
                "matched": self.region_text,
                "width": round(self.width, 4), "side_mid_before_db": num(self.side_mid_before_db),
                "side_mid_reference_db": num(self.side_mid_reference_db),
                "side_mid_after_db": num(self.side_mid_after_db), "reference_lufs": num(self.reference_lufs),
                "reference_weights": [round(w, 4) for w in self.weights],
                "target_lufs": num(self.target_lufs), "notes": self.notes}


def _db10(x: float) -> float:
    return 10.0 * math.log10(x) if x > 0 else -math.inf


def parse_weights(text, count: int) -> list[float]:
    """``"0.7,0.3"`` (or a list) -> weights summing to 1, one per reference; None -> equal."""
    if text is None:
        return [1.0 / count] * count
    parts = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    if len(parts) != count:
        raise MixcoreError(f"--reference-weights: {len(parts)} weights for {count} references; give one per "
                           f"--reference")
    out = []
    for p in parts:
        try:
            v = float(p)
        except (TypeError, ValueError):
            raise MixcoreError(f"--reference-weights: {p!r} is not a number") from None
        if not math.isfinite(v) or v < 0:
            raise MixcoreError(f"--reference-weights: {p!r} must be a number >= 0")
        out.append(v)
    total = sum(out)
    if total <= 0:
        raise MixcoreError("--reference-weights: at least one weight must be above 0")
    return [v / total for v in out]


def _region_text(pts: np.ndarray, region, mix_mask: np.ndarray, ref_mask: np.ndarray, refs: int = 1) -> str:
    if region is None:
        return "tone not matched: the mix and the reference" + ("s" if refs > 1 else "") + \
            " hold energy in no common octave"
    a, b = region
    text = f"matched {_hz(pts[a])} - {_hz(pts[b])}"
    for side, sl, edge in (("below", slice(0, a), a), ("above", slice(b + 1, None), b)):
        if len(pts[sl]) == 0:
            continue
        nxt = edge - 1 if side == "below" else edge + 1
        mix_lacks, ref_lacks = not mix_mask[nxt], not ref_mask[nxt]
        ref = "the reference" if refs == 1 else "a reference"
        who = (f"the mix and {ref}" if mix_lacks and ref_lacks else ref if ref_lacks
               else "the mix" if mix_lacks else f"the mix or {ref}")
        text += f"; {side} {_hz(pts[edge])} {who} holds no energy: left flat"
    return text


def plan_match(mix: Profile, refs: list[Profile], dimensions=DIMENSIONS, amounts=None, *,
               eq_mode: str = "parametric", weights=None) -> MatchPlan:
    """Compare ``mix`` with ``refs`` (already analysed at the mix's rate) and plan the correction.

    ``weights`` (one per reference, default equal) combine the references' measurements: tone in dB
    per point after removing each one's level, loudness in LUFS, width as the side/mid energy ratio."""
    amounts = parse_amount(amounts)
    if eq_mode not in EQ_MODES:
        raise MixcoreError(f"--match-eq: unknown kind {eq_mode!r}; expected parametric or linear"
                           f"{did_you_mean(str(eq_mode), EQ_MODES)}")
    wts = parse_weights(weights, len(refs))
    sr = mix.sample_rate
    pts = curve_points(sr)
    band = _in_band(pts)
    mix_db = smoothed_db(mix.freqs, mix.mid_power, pts)
    ref_dbs = [smoothed_db(r.freqs, r.mid_power, pts) for r in refs]
    mix_mask = holds_energy(pts, mix_db)
    ref_masks = [holds_energy(pts, d) for d, w in zip(ref_dbs, wts)]
    ref_mask = np.logical_and.reduce([m for m, w in zip(ref_masks, wts) if w > 0])
    region = matched_region(mix_mask & ref_mask)
    plan = MatchPlan(dimensions=tuple(dimensions), amounts=amounts, points_hz=pts, eq_db=np.zeros_like(pts),
                     eq_mode=eq_mode, region=region, weights=wts,
                     region_text=_region_text(pts, region, mix_mask, ref_mask, sum(w > 0 for w in wts)))
    inside = np.zeros(len(pts), dtype=bool)
    if region is not None:
        inside[region[0]: region[1] + 1] = True
    norm = inside & band if (inside & band).sum() >= 2 else inside
    diff = np.zeros_like(pts)
    for d, m, w in zip(ref_dbs, ref_masks, wts):
        ref_curve = np.where(m, d - d[norm & m].mean() if (norm & m).any() else d - d.max(), np.nan)
        plan.reference_curves.append(ref_curve)
        if region is not None:
            dd = d - mix_db
            diff += w * (dd - dd[norm].mean())
    weight = None
    if region is not None:
        ok = inside & mix_mask & ref_mask  # bridged gaps: interpolated in log frequency
        diff = np.interp(np.log(pts), np.log(pts[ok]), diff[ok])
        diff = diff - diff[norm].mean()
        if np.any(np.abs(diff[inside]) > MAX_EQ_DB):
            plan.notes.append(f"tone: the difference exceeds +-{MAX_EQ_DB:g} dB somewhere; clamped")
        target = _taper(pts, np.clip(diff, -MAX_EQ_DB, MAX_EQ_DB), region)
        plan.target_db = target
        if "tone" in dimensions and amounts["tone"] > 0:
            if eq_mode == "linear":
                plan.eq_db = target * amounts["tone"]
                plan.fir = design_fir(sr, pts, plan.eq_db)
                weight = np.abs(np.fft.rfft(plan.fir, NFFT)) ** 2
            else:
                from .parametric import fit_bands, response_db, scale_gains

                lo, hi = pts[region[0]], pts[region[1]]
                plan.bands = scale_gains(fit_bands(sr, pts, target, f_range=(lo, hi)), amounts["tone"])
                plan.bands = [b for b in plan.bands if b["gain_db"] != 0.0]
                plan.eq_db = response_db(sr, plan.bands, pts)
                weight = 10.0 ** (response_db(sr, plan.bands, mix.freqs) / 10.0)
    elif "tone" in dimensions:
        plan.notes.append("tone: " + plan.region_text)
    plan.reference_lufs_each = [r.integrated_lufs for r in refs]
    plan.reference_lufs = float(sum(w * r.integrated_lufs for r, w in zip(refs, wts)))
    if mix.channels == 2:
        sel = np.ones_like(mix.freqs)
        if region is not None:  # width over the matched region, where both hold energy
            lo, hi = pts[region[0]] * 2 ** (-1 / 6), pts[region[1]] * 2 ** (1 / 6)
            sel = ((mix.freqs >= lo) & (mix.freqs <= hi)).astype(float)
        r_mix = mix.side_mid_ratio(sel if weight is None else weight * sel)
        each = [r.side_mid_ratio(sel) for r in refs]
        plan.side_mid_each_db = [_db10(x) for x in each]
        r_ref = float(sum(w * x for w, x in zip(wts, each)))
        plan.side_mid_before_db = _db10(mix.side_mid_ratio(sel))
        plan.side_mid_reference_db = _db10(r_ref)
        if "width" in dimensions and amounts["width"] > 0:
            if r_mix < 1e-8:
                plan.notes.append("width: the mix has no side signal; width left unchanged")
            else:
                w = (max(r_ref, 1e-12) / r_mix) ** (amounts["width"] / 2.0)
                if w > 2.0:
                    plan.notes.append(f"width: {w:.2f} needed, limited to 2")
                plan.width = float(min(w, 2.0))
        plan.side_mid_after_db = _db10(r_mix * plan.width ** 2)
    if "loudness" in dimensions:
        plan.target_lufs = mix.integrated_lufs + amounts["loudness"] * (plan.reference_lufs - mix.integrated_lufs)
    return plan


# --- the whole job ----------------------------------------------------------------------------

@dataclass
class MatchResult:
    master: object               # MasterResult
    plan: MatchPlan
    mix: Profile = field(repr=False)
    references: list[Profile] = field(repr=False)
    output: Profile = field(repr=False)

    @property
    def distance_before_db(self) -> float:
        """Spectral distance of the mix to the references (weighted), over the matched region only."""
        return self._distance(self.mix)

    @property
    def distance_after_db(self) -> float:
        return self._distance(self.output)

    def _distance(self, prof: Profile) -> float:
        ws = self.plan.weights or [1.0 / len(self.references)] * len(self.references)
        return float(sum(w * spectral_distance(prof, r, self.plan.region_hz) for r, w in zip(self.references, ws)))

    def to_json_dict(self) -> dict:
        m = self.master

        def num(x):
            return None if x is None or not math.isfinite(x) else round(float(x), 4)

        return {"input": str(self.mix.path), "output": str(m.path),
                "references": [str(r.path) for r in self.references],
                "input_lufs": num(m.input_lufs), "output_lufs": num(m.output_lufs),
                "target_lufs": num(m.target_lufs), "true_peak_dbtp": num(m.true_peak_dbtp),
                "ceiling_dbtp": m.ceiling_dbtp, "gain_db": num(m.gain_db), "limiter_gr_db": num(m.limiter_gr_db),
                "reached": m.reached, "passes": m.passes, "note": m.note,
                "spectral_distance_before_db": num(self.distance_before_db),
                "spectral_distance_after_db": num(self.distance_after_db),
                "match": self.plan.to_json_dict()}


def match_file(inp: str | Path, out: str | Path, references, *, match=DIMENSIONS, amount=None,
               target_lufs: float | None = None, ceiling_dbtp: float = -1.0, max_limiting_db: float = 6.0,
               fallback_lufs: float = -14.0, chain: str | list | None = "default", commit=None,
               match_eq: str = "parametric", weights=None, save_chain: str | Path | None = None,
               **master_kwargs) -> MatchResult:
    """Master ``inp`` to ``out`` matched to ``references`` (paths).

    ``match``: the dimensions ("tone", "loudness", "width", or a comma-separated string); ``amount``:
    a fraction 0-1 for all, a dict per dimension (fractions), or the CLI's text ("70",
    "tone=70,width=50", in %). ``target_lufs`` overrides the loudness match; without either the
    loudness target is ``fallback_lufs``. ``chain`` (see :mod:`.chain`) runs between the match EQ and
    the width change. ``match_eq``: "parametric" (at most 12 ``eq`` bands, the default) or "linear"
    (the linear-phase FIR); ``weights``: one per reference ("0.7,0.3" or a list; default equal);
    ``save_chain``: write everything decided as a chain file (:mod:`.saved_chain`), committed with the
    master. Other keywords go to :func:`master_file`. The output replaces ``out`` when all
    is done (with ``commit``, a :class:`~mixcore.render.commit.CommitSet`, it stays staged there).
    """
    from ..processors.registry import processor_types
    from ..render.sources import probe
    from .loudness_target import master_file

    inp, out = Path(inp), Path(out)
    refs = [Path(r) for r in ([references] if isinstance(references, (str, Path)) else references)]
    if not refs:
        raise MixcoreError("--reference: give at least one reference track")
    if match_eq not in EQ_MODES:
        raise MixcoreError(f"--match-eq: unknown kind {match_eq!r}; expected parametric or linear"
                           f"{did_you_mean(str(match_eq), EQ_MODES)}")
    wts = parse_weights(weights, len(refs))
    if save_chain is not None:
        from .saved_chain import check_save_path

        check_save_path(save_chain, match_eq, out)
    dims = parse_match(match) if not isinstance(match, (tuple, list)) else parse_match(",".join(match))
    amounts = parse_amount(amount)
    info = probe(inp, "input")
    sr = int(master_kwargs.get("sample_rate") or info.samplerate)
    for r in refs:
        ri = probe(r, "--reference")
        if r.resolve() == out.resolve():
            raise MixcoreError(f"-o: {out} is a reference file; refusing to overwrite it")
        if ri.channels != info.channels:
            kinds = {1: "mono", 2: "stereo"}
            raise MixcoreError(f"--reference: {r} is {kinds[ri.channels]} but the mix {inp} is "
                               f"{kinds[info.channels]}; give a reference with the mix's channel count")
    if master_kwargs.get("sample_rate") is not None and not 8000 <= int(sr) <= 384000:
        raise MixcoreError(f"--sample-rate: {sr} is out of range, expected 8000 .. 384000 Hz")
    mix = analyse(inp, sr, "input")
    if not math.isfinite(mix.integrated_lufs) and mix.analysis.duration_s < 0.4:
        raise MixcoreError(f"{inp}: the input is {mix.analysis.duration_s * 1000:.3g} ms long; loudness needs at "
                           f"least 400 ms, so it cannot be matched to a reference (master it without --reference)")
    if not math.isfinite(mix.integrated_lufs):
        raise MixcoreError(f"{inp}: the input is silent (no gated loudness); nothing to master")
    profiles = []
    for r in refs:
        p = analyse(r, sr, "--reference")
        if not math.isfinite(p.integrated_lufs):
            raise MixcoreError(f"--reference: {r} is silent; nothing to match")
        profiles.append(p)
    plan = plan_match(mix, profiles, dims, amounts, eq_mode=match_eq, weights=wts)
    if target_lufs is not None:
        plan.target_lufs = float(target_lufs)
    elif plan.target_lufs is None:
        plan.target_lufs = float(fallback_lufs)
    types = processor_types()
    from .chain import resolve_chain

    procs = []
    eq = plan.eq_processor()
    if eq is not None:
        procs.append(eq)
    procs += resolve_chain(chain, float(mix.integrated_lufs))
    if plan.width != 1.0:
        procs.append(types["width"](id="match_width", width=plan.width))
    if master_kwargs.get("width") is not None:  # --width: after the match's own (as master_file would)
        w = float(master_kwargs.pop("width"))
        if not 0.0 <= w <= 2.0:
            raise MixcoreError(f"--width: {w:g} is out of range, expected 0 .. 2")
        procs.append(types["width"](width=w))
    master_kwargs.pop("width", None)
    from ..render.commit import outputs_of

    with outputs_of(commit) as outputs:
        master = master_file(inp, out, target_lufs=plan.target_lufs, ceiling_dbtp=ceiling_dbtp, chain=procs,
                             max_limiting_db=max_limiting_db, commit=outputs, **master_kwargs)
        output = analyse(outputs.staged(out), master.sample_rate, "-o")
        output.path = str(out)
        result = MatchResult(master=master, plan=plan, mix=mix, references=profiles, output=output)
        if save_chain is not None:
            from .saved_chain import write_chain

            write_chain(save_chain, result, procs, max_limiting_db, commit=outputs)
    return result
