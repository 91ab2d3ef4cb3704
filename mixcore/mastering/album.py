"""Album mode: master several tracks with one chain so that their loudness is consistent.

The album's loudness is measured over all tracks as one programme (BS.1770 gating across the whole
album); the album gain brings it to the target. Each track then moves towards the target by at
most ``track_adjust_db`` more (or less) than the album gain, so a quiet interlude stays a little
quieter while the loud songs match; each track is then mastered (measure -> gain -> true-peak
limiter) to its own resulting target.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MixcoreError
from .loudness_target import MasterResult, master_file


@dataclass
class AlbumResult:
    album_lufs_before: float
    album_gain_db: float
    tracks: list[MasterResult]

    @property
    def spread_lu(self) -> float:
        vals = [t.output_lufs for t in self.tracks if math.isfinite(t.output_lufs)]
        return max(vals) - min(vals) if vals else 0.0


def album_loudness(paths: list[Path]) -> tuple[float, list[float]]:
    """(loudness of all tracks as one programme, loudness of each)."""
    from ..metering.analyze import CHUNK, probe_any
    from ..metering.meter import LoudnessMeter
    from ..render.finite import all_finite, file_error

    import soundfile as sf

    infos = [probe_any(p) for p in paths]
    rates = {i.samplerate for i in infos}
    chans = {i.channels for i in infos}
    if len(rates) != 1 or len(chans) != 1:
        raise MixcoreError("--album: every track needs the same sample rate and channel count")
    album = LoudnessMeter(infos[0].samplerate, infos[0].channels, true_peak=False)
    each = []
    for p in paths:
        m = LoudnessMeter(infos[0].samplerate, infos[0].channels, true_peak=False)
        done = 0
        with sf.SoundFile(str(p)) as f:
            for block in f.blocks(blocksize=CHUNK, dtype="float32", always_2d=True):
                block = np.ascontiguousarray(block)
                if not all_finite(block):  # NaN or Inf: refused (see render/finite.py)
                    raise file_error(str(p), block, done, infos[0].samplerate)
                done += block.shape[0]
                x = np.ascontiguousarray(block.T)
                m.process(x)
                album.process(x)
        each.append(m.integrated())
    return album.integrated(), each


def master_album(inputs: list[Path], out_dir: Path, *, target_lufs: float = -14.0, ceiling_dbtp: float = -1.0,
                 track_adjust_db: float = 3.0, bit_depth="float", suffix: str = ".wav", commit=None,
                 **master_kwargs) -> AlbumResult:
    """Master ``inputs`` into ``out_dir`` (see the module docstring); ``master_kwargs`` (``dither``,
    ``seed``, ``sample_rate``) go to :func:`master_file` for every track. The masters replace
    existing files together, once every track is done (with ``commit``, they stay staged there)."""
    from ..render.commit import outputs_of
    from ..render.writer import FORMATS

    inputs = [Path(p) for p in inputs]
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise MixcoreError(f"-o: {out_dir} is a file; with --album it is the folder for the masters")
    if out_dir.suffix.lower() in FORMATS and not out_dir.is_dir():
        raise MixcoreError(f"-o: {out_dir} looks like an audio file; with --album -o names the folder "
                           "for the masters")
    if len(inputs) < 2:
        raise MixcoreError("--album: give two or more tracks")
    if not 0.0 <= track_adjust_db <= 24.0:
        raise MixcoreError(f"--track-adjust-db: {track_adjust_db} is out of range, expected 0 .. 24 dB")
    outs = [out_dir / (p.stem + suffix) for p in inputs]
    if len({o.name for o in outs}) != len(outs):
        raise MixcoreError("--album: two tracks share a file name; their masters would overwrite each other")
    for o in outs:
        if o.resolve() in {p.resolve() for p in inputs}:
            raise MixcoreError(f"-o: {o} is one of the inputs; refusing to overwrite it")
    album_before, each = album_loudness(inputs)
    if not math.isfinite(album_before):
        raise MixcoreError("--album: the tracks are silent; nothing to master")
    gain = target_lufs - album_before
    for p, lufs in zip(inputs, each):
        if not math.isfinite(lufs):
            raise MixcoreError(f"{p}: the track is silent; nothing to master")
    results = []
    with outputs_of(commit) as outputs:
        for p, o, lufs in zip(inputs, outs, each):
            own = target_lufs - lufs
            g = gain + float(np.clip(own - gain, -track_adjust_db, track_adjust_db))
            results.append(master_file(p, o, target_lufs=lufs + g, ceiling_dbtp=ceiling_dbtp, bit_depth=bit_depth,
                                       commit=outputs, **master_kwargs))
    return AlbumResult(album_lufs_before=album_before, album_gain_db=gain, tracks=results)
