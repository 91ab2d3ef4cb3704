"""Loudness-matched A/B: measure two files, turn the louder one down to the other's loudness.

Louder sounds better, so an honest comparison removes the level difference first. Both files are
measured (integrated loudness BS.1770-4, true peak, LRA, 1/3-octave mid spectrum); the louder one gets
the gain ``L_quiet - L_loud`` (<= 0 dB), the quieter one none. The listening copies are 32-bit float
WAV: the quieter file's samples are copied unchanged and the louder one's only scaled down, so no
sample can grow and nothing can clip that did not already exceed full scale in the source (and even
that is kept, not clipped, in float).

The spectral difference is :func:`mixcore.mastering.match.spectral_distance` (RMS of the
level-normalised dB difference of the 1/3-octave smoothed mid spectra, 30 Hz - 16 kHz), with the
tilt: the least-squares slope of that difference (B - A) against log10 frequency, in dB per decade.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MixcoreError
from .match import F_HI, F_LO, Profile, analyse, curve_points, smoothed_db, spectral_distance

CHUNK = 65536


@dataclass
class CompareResult:
    a: Profile = field(repr=False)
    b: Profile = field(repr=False)
    gain_a_db: float
    gain_b_db: float
    spectral_difference_db: float
    tilt_db_per_decade: float
    copies: list[Path] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        def num(x):
            return None if x is None or not math.isfinite(x) else round(float(x), 4)

        def one(p: Profile, gain: float, copy: Path | None) -> dict:
            r = p.analysis
            return {"path": p.path, "integrated_lufs": num(r.integrated_lufs), "true_peak_dbtp": num(r.true_peak_dbtp),
                    "loudness_range_lu": num(r.loudness_range_lu), "gain_db": num(gain),
                    "matched_lufs": num(r.integrated_lufs + gain),
                    "matched_true_peak_dbtp": num(r.true_peak_dbtp + gain),
                    "copy": str(copy) if copy else None}

        ca, cb = (self.copies + [None, None])[:2]
        return {"a": one(self.a, self.gain_a_db, ca), "b": one(self.b, self.gain_b_db, cb),
                "spectral_difference_db": num(self.spectral_difference_db),
                "tilt_db_per_decade": num(self.tilt_db_per_decade)}


def _copy(src: Path, dst: Path, gain_db: float, commit) -> None:
    import soundfile as sf

    from ..render.writer import AtomicWriter

    g = 10.0 ** (gain_db / 20.0)
    with sf.SoundFile(str(src)) as f, AtomicWriter(dst, f.samplerate, f.channels, "float", where="-o",
                                                          commit=commit) as w:
        for block in f.blocks(blocksize=CHUNK, dtype="float64", always_2d=True):
            x = block.T if gain_db == 0.0 else block.T * g
            w.write(np.ascontiguousarray(x, dtype=np.float32))


def compare(a: str | Path, b: str | Path, out_dir: str | Path | None = None) -> CompareResult:
    """Measure ``a`` and ``b``; with ``out_dir``, write the loudness-matched copies ``A-<name>.wav``
    and ``B-<name>.wav`` there."""
    a, b = Path(a), Path(b)
    pa, pb = analyse(a, where="A"), analyse(b, where="B")
    for p, key in ((pa, "A"), (pb, "B")):
        if not math.isfinite(p.integrated_lufs) and p.analysis.duration_s < 0.4:
            raise MixcoreError(f"{key}: {p.path} is {p.analysis.duration_s * 1000:.3g} ms long; loudness needs at "
                               f"least 400 ms, so there is no level to match")
        if not math.isfinite(p.integrated_lufs):
            raise MixcoreError(f"{key}: {p.path} is silent (no gated loudness); nothing to compare")
    la, lb = pa.integrated_lufs, pb.integrated_lufs
    ga, gb = (lb - la, 0.0) if la > lb else (0.0, la - lb)
    pts = curve_points(min(pa.sample_rate, pb.sample_rate), F_LO, F_HI, per_octave=3)
    d = smoothed_db(pb.freqs, pb.mid_power, pts) - smoothed_db(pa.freqs, pa.mid_power, pts)
    tilt = float(np.polyfit(np.log10(pts), d, 1)[0])
    res = CompareResult(a=pa, b=pb, gain_a_db=ga, gain_b_db=gb, spectral_difference_db=spectral_distance(pb, pa),
                        tilt_db_per_decade=tilt)
    if out_dir is not None:
        out_dir = Path(out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise MixcoreError(f"-o: {out_dir} is a file; it must be a folder for the listening copies")
        dsts = [out_dir / f"A-{a.stem}.wav", out_dir / f"B-{b.stem}.wav"]
        for d_ in dsts:
            if d_.resolve() in (a.resolve(), b.resolve()):
                raise MixcoreError(f"-o: {d_} is an input; refusing to overwrite it")
        from ..render.commit import CommitSet

        with CommitSet() as outputs:  # both copies or neither
            _copy(a, dsts[0], ga, outputs)
            _copy(b, dsts[1], gb, outputs)
        res.copies = dsts
    return res
