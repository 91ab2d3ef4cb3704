"""Reference matching: the tone, loudness and stereo width of one or more reference tracks.

Each dimension moves the mix part of the way towards the references (``amount`` 0-1, per dimension;
0.7 by default, as careful engineers use a match EQ):

- **tone**: the long-term average spectrum (Welch: Hann frames of ``NFFT`` samples, 50 % overlap,
  mean periodogram) of the mid signal M = (L + R) / 2 of mix and references, each smoothed over
  1/3 octave (mean power over [f 2^-1/6, f 2^1/6]) at points 1/6 octave apart. The matching curve is
  ``D(f) = ref_dB(f) - mix_dB(f)``, its mean over ``F_LO``-``F_HI`` (the level offset, handled by the
  loudness stage) removed, clamped to +-``MAX_EQ_DB`` and scaled by the amount. Several references
  are averaged in dB after removing each one's own level offset.
  The curve is realised as a **linear-phase FIR** (frequency sampling of the zero-phase response
  on a 32768-point grid, ``FIR_TAPS`` taps, Hann window) run by the existing partitioned
  convolution kernel. Why linear phase: a match EQ applies a broad curve to a finished mix, and a
  linear-phase filter changes only the magnitude, so transients and the stereo image keep their
  phase relations, and the result equals the designed curve (the convolution is exact). The costs
  are pre-ringing, kept small by the smoothing and the clamp, and latency: (taps - 1) / 2 samples
  plus the convolution's partition, reported as ``latency_samples`` and removed by the mastering
  pass like any chain latency.
- **loudness**: the target is ``L_mix + amount (L_ref - L_mix)`` (integrated loudness, BS.1770-4;
  several references: mean of their LUFS) unless a target is given. The reference's limiting is not
  copied: the limiter's largest gain reduction is capped (``max_limiting_db``) and reported.
- **width**: the side/mid energy ratio r = sum S^2 / sum M^2 (after the match EQ, computed from the
  Welch spectra weighted by |H(f)|^2). The ``width`` processor scales S by w, so r' = w^2 r and
  ``w = (r_ref / r_mix)^(amount / 2)``, within the processor's range 0-2.

``spectral_distance`` (used by the report, ``mixcore compare`` and the benchmark) is the RMS over the
1/3-octave points from ``F_LO`` to ``F_HI`` of the level-normalised dB difference of two smoothed
spectra.
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


def spectral_distance(a: Profile, b: Profile) -> float:
    """RMS dB difference of the 1/3-octave smoothed mid spectra, 30 Hz - 16 kHz, level offset removed."""
    pts = curve_points(min(a.sample_rate, b.sample_rate), F_LO, F_HI, per_octave=3)
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

@dataclass
class MatchPlan:
    """What matching will do: the EQ curve, the width and the loudness target."""

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

    def to_json_dict(self) -> dict:
        def num(x):
            return None if x is None or not math.isfinite(x) else round(float(x), 4)

        return {"dimensions": list(self.dimensions), "amounts": {k: round(v, 4) for k, v in self.amounts.items()},
                "eq_curve": {"freq_hz": [round(float(f), 2) for f in self.points_hz],
                             "gain_db": [round(float(g), 3) for g in self.eq_db]},
                "eq": "linear-phase FIR" if self.fir is not None else None,
                "eq_taps": None if self.fir is None else len(self.fir),
                "width": round(self.width, 4), "side_mid_before_db": num(self.side_mid_before_db),
                "side_mid_reference_db": num(self.side_mid_reference_db),
                "side_mid_after_db": num(self.side_mid_after_db), "reference_lufs": num(self.reference_lufs),
                "target_lufs": num(self.target_lufs), "notes": self.notes}


def _db10(x: float) -> float:
    return 10.0 * math.log10(x) if x > 0 else -math.inf


def plan_match(mix: Profile, refs: list[Profile], dimensions=DIMENSIONS, amounts=None) -> MatchPlan:
    """Compare ``mix`` with ``refs`` (already analysed at the mix's rate) and plan the correction."""
    amounts = parse_amount(amounts)
    sr = mix.sample_rate
    pts = curve_points(sr)
    band = _in_band(pts)
    mix_db = smoothed_db(mix.freqs, mix.mid_power, pts)
    diffs = []
    for r in refs:
        d = smoothed_db(r.freqs, r.mid_power, pts) - mix_db
        diffs.append(d - d[band].mean())
    diff = np.mean(diffs, axis=0)
    diff = diff - diff[band].mean()
    plan = MatchPlan(dimensions=tuple(dimensions), amounts=amounts, points_hz=pts, eq_db=np.zeros_like(pts))
    weight = None
    if "tone" in dimensions and amounts["tone"] > 0:
        plan.eq_db = np.clip(diff, -MAX_EQ_DB, MAX_EQ_DB) * amounts["tone"]
        if np.any(np.abs(diff) > MAX_EQ_DB):
            plan.notes.append(f"tone: the difference exceeds +-{MAX_EQ_DB:g} dB somewhere; clamped")
        plan.fir = design_fir(sr, pts, plan.eq_db)
        weight = np.abs(np.fft.rfft(plan.fir, NFFT)) ** 2
    plan.reference_lufs = float(np.mean([r.integrated_lufs for r in refs]))
    if mix.channels == 2:
        r_mix = mix.side_mid_ratio(weight)
        r_ref = float(np.exp(np.mean([math.log(max(r.side_mid_ratio(), 1e-12)) for r in refs])))
        plan.side_mid_before_db = _db10(mix.side_mid_ratio())
        plan.side_mid_reference_db = _db10(r_ref)
        if "width" in dimensions and amounts["width"] > 0:
            if r_mix < 1e-8:
                plan.notes.append("width: the mix has no side signal; width left unchanged")
            else:
                w = (r_ref / r_mix) ** (amounts["width"] / 2.0)
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
        return float(np.mean([spectral_distance(self.mix, r) for r in self.references]))

    @property
    def distance_after_db(self) -> float:
        return float(np.mean([spectral_distance(self.output, r) for r in self.references]))

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
               **master_kwargs) -> MatchResult:
    """Master ``inp`` to ``out`` matched to ``references`` (paths).

    ``match``: the dimensions ("tone", "loudness", "width", or a comma-separated string); ``amount``:
    a fraction 0-1 for all, a dict per dimension (fractions), or the CLI's text ("70",
    "tone=70,width=50", in %). ``target_lufs`` overrides the loudness match; without either the
    loudness target is ``fallback_lufs``. ``chain`` (see :mod:`.chain`) runs between the match EQ and
    the width change. Other keywords go to :func:`master_file`. The output replaces ``out`` when all
    is done (with ``commit``, a :class:`~mixcore.render.commit.CommitSet`, it stays staged there).
    """
    from ..processors.registry import processor_types
    from ..render.sources import probe
    from .loudness_target import master_file

    inp, out = Path(inp), Path(out)
    refs = [Path(r) for r in ([references] if isinstance(references, (str, Path)) else references)]
    if not refs:
        raise MixcoreError("--reference: give at least one reference track")
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
    plan = plan_match(mix, profiles, dims, amounts)
    if target_lufs is not None:
        plan.target_lufs = float(target_lufs)
    elif plan.target_lufs is None:
        plan.target_lufs = float(fallback_lufs)
    types = processor_types()
    from .chain import resolve_chain

    procs = []
    if plan.fir is not None:
        procs.append(MatchEQ(plan.fir))
    procs += resolve_chain(chain, float(mix.integrated_lufs))
    if plan.width != 1.0:
        procs.append(types["width"](width=plan.width))
    from ..render.commit import outputs_of

    with outputs_of(commit) as outputs:
        master = master_file(inp, out, target_lufs=plan.target_lufs, ceiling_dbtp=ceiling_dbtp, chain=procs,
                             max_limiting_db=max_limiting_db, commit=outputs, **master_kwargs)
        output = analyse(outputs.staged(out), master.sample_rate, "-o")
        output.path = str(out)
    return MatchResult(master=master, plan=plan, mix=mix, references=profiles, output=output)
