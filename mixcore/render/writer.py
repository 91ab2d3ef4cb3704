"""Atomic, block-by-block audio writers with seeded TPDF dither.

The file is written to a temporary name beside the target and renamed into
place only when complete (or with a command's other outputs: :mod:`.commit`),
so a failed render never leaves a partial file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import MixcoreError
from ..simd import kernel
from .commit import CommitSet

mix = kernel("mix")  # interleaving float output: pyx/mix.pxi

FORMATS = {".wav": "WAV", ".flac": "FLAC", ".aiff": "AIFF", ".aif": "AIFF"}


def output_format(path: Path, bit_depth: int | str, where: str = "output") -> tuple[str, str]:
    """(soundfile format, subtype) for ``path``'s extension and the bit depth."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise MixcoreError(f"{where}: {path}: unknown format {path.suffix!r}; use .wav, .flac or .aiff")
    if bit_depth == "float":
        if fmt == "FLAC":
            raise MixcoreError(f"{where}: {path}: FLAC holds no float samples; set bit_depth = 16 or 24")
        return fmt, "FLOAT"
    return fmt, {16: "PCM_16", 24: "PCM_24"}[int(bit_depth)]


DITHERS = ("tpdf", "shaped")
#: Frames per write to the file at least: shorter blocks are gathered first (64 KiB per stereo float writer).
WRITE_FRAMES = 8192


class Ditherer:
    """Quantises float blocks to 16/24-bit integers with TPDF dither (±1 LSB, triangular).

    The noise comes from one PCG64 stream seeded by ``seed``; it is drawn in
    order, sample after sample, so the result does not depend on block sizes.
    ``dither="shaped"`` puts the same TPDF dither inside a second-order error-feedback
    loop, noise transfer function (1 - z^-1)^2 (``mixcore._dsp.dither``: less noise
    below about fs/6, more in the top octave).
    """

    def __init__(self, bit_depth: int, channels: int, seed: int, dither: str = "tpdf") -> None:
        if dither not in DITHERS:
            raise MixcoreError(f"dither: unknown kind {dither!r}; expected one of {', '.join(DITHERS)}")
        self.bits = int(bit_depth)
        self.channels = channels
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.scale = float(2 ** (self.bits - 1))
        self.shaped = dither == "shaped"
        self._err = np.zeros((channels, 2), dtype=np.float64)

    def quantise(self, block: np.ndarray) -> np.ndarray:
        """(channels, n) float -> (n, channels) int16 or int32 (24-bit left-justified)."""
        n = block.shape[1]
        u = self.rng.random((n, 2 * self.channels))  # interleaved in time: block-size independent
        tpdf = u[:, : self.channels] - u[:, self.channels:]
        if self.shaped:
            from .._dsp.dither import quantise_shaped

            x = np.ascontiguousarray(block.T, dtype=np.float64) * self.scale
            out = np.empty((n, self.channels), dtype=np.int32)
            quantise_shaped(x, np.ascontiguousarray(tpdf), self._err, out, -self.scale, self.scale - 1)
            return out.astype(np.int16) if self.bits == 16 else out << 8
        x = block.T.astype(np.float64) * self.scale + tpdf
        q = np.clip(np.rint(x), -self.scale, self.scale - 1)
        if self.bits == 16:
            return q.astype(np.int16)
        return q.astype(np.int32) << 8


class AtomicWriter:
    """``with AtomicWriter(path, sr, ch, bit_depth, seed) as w: w.write(block)``.

    The samples go to a temporary file beside ``path``. Without ``commit`` it is renamed over
    ``path`` when the block ends without an error; with a :class:`~mixcore.render.commit.CommitSet`
    it stays staged there and the set renames it (or removes it) with the command's other outputs.
    A write that fails (disk full, file size limit) is one line naming the file and the OS's reason.
    """

    def __init__(self, path: Path, sample_rate: int, channels: int, bit_depth: int | str = "float",
                 seed: int = 0, where: str = "output", dither: str = "tpdf", commit: CommitSet | None = None) -> None:
        self.path = Path(path)
        self.format, self.subtype = output_format(self.path, bit_depth, where)
        self.sample_rate = int(sample_rate)
        self.channels = channels
        self.dither = None if bit_depth == "float" else Ditherer(int(bit_depth), channels, seed, dither)
        self.where = where
        self._own = commit is None
        self._commit = CommitSet() if commit is None else commit
        self._tmp: Path | None = None
        self._file: sf.SoundFile | None = None
        self._frames = np.empty((0, channels), dtype=np.float32)  # interleaving buffer (float output)
        self._pending: np.ndarray | None = None  # small blocks gathered into one write (WRITE_FRAMES)
        self._held = 0  # frames of _pending filled

    @property
    def temp_path(self) -> Path | None:
        """The file being written (renamed over ``path`` on commit)."""
        return self._tmp

    def __enter__(self) -> "AtomicWriter":
        try:
            self._tmp = self._commit.stage(self.path, self.where)
            self._file = sf.SoundFile(str(self._tmp), "w", samplerate=self.sample_rate, channels=self.channels,
                                      format=self.format, subtype=self.subtype)
        except MixcoreError:
            self._abandon()
            raise
        except Exception as e:
            self._abandon()
            raise MixcoreError(f"{self.where}: cannot write {self.path}: {_reason(e)}") from None
        except BaseException:
            self._abandon()
            raise
        if self.subtype in ("FLOAT", "DOUBLE"):
            # libsndfile adds a PEAK chunk holding the time of writing to float files: the same audio
            # would give different bytes a second later. Switch it off (SFC_SET_ADD_PEAK_CHUNK = 0x1050).
            sf._snd.sf_command(self._file._file, 0x1050, sf._ffi.NULL, 0)
        return self

    def write(self, block: np.ndarray) -> None:
        """Append a (channels, n) float32 block. Blocks shorter than WRITE_FRAMES are gathered and
        written together (one libsndfile call costs about as much as interleaving 5,000 frames)."""
        assert self._file is not None
        n = block.shape[1]
        if n == 0:
            return
        if self.dither is not None:
            frames = self.dither.quantise(block)
            if n < WRITE_FRAMES:
                self._hold(frames)
                return
        else:
            block = np.asarray(block, dtype=np.float32)
            if block.strides[1] != block.itemsize:
                block = np.ascontiguousarray(block)
            if n < WRITE_FRAMES:
                self._room(n, np.float32)
                mix.interleave(block, self._pending[self._held:self._held + n])
                self._held += n
                return
            if self._frames.shape[0] < n:
                self._frames = np.empty((n, self.channels), dtype=np.float32)
            frames = self._frames[:n]
            mix.interleave(block, frames)
        self.flush()
        self._write(frames)

    def _room(self, n: int, dtype) -> None:
        """Make room for n more frames in the gathering buffer (writing what it holds when full)."""
        if self._pending is None or self._pending.dtype != dtype:
            self.flush()
            self._pending = np.empty((WRITE_FRAMES, self.channels), dtype=dtype)
        elif self._held + n > WRITE_FRAMES:
            self.flush()

    def _hold(self, frames: np.ndarray) -> None:
        n = frames.shape[0]
        self._room(n, frames.dtype)
        self._pending[self._held:self._held + n] = frames
        self._held += n

    def flush(self) -> None:
        """Write the gathered frames."""
        if self._held:
            held, self._held = self._held, 0
            self._write(self._pending[:held])

    def _write(self, frames: np.ndarray) -> None:
        try:
            self._file.write(frames)
        except Exception as e:
            raise MixcoreError(f"{self.where}: cannot write {self.path}: {_reason(e)}") from None

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._file is not None and self._tmp is not None
        if exc_type is None:
            try:
                self.flush()
            except BaseException:
                self._close_quietly()
                self._abandon()
                raise
        try:
            self._file.close()
        except Exception as e:
            if exc_type is None:
                self._abandon()
                raise MixcoreError(f"{self.where}: cannot write {self.path}: {_reason(e)}") from None
        if exc_type is not None:
            self._abandon()
        elif self._own:
            self._commit.commit()

    def _close_quietly(self) -> None:
        try:
            self._file.close()
        except Exception:
            pass

    def _abandon(self) -> None:
        if self._own:  # else the caller's commit set removes the temporary file with the others
            self._commit.discard()


def _reason(e: BaseException) -> str:
    """The OS's reason for a failed write (libsndfile says only "System error.")."""
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    if getattr(e, "code", None) == 2 and sf._ffi.errno:  # SFE_SYSTEM: errno holds the cause
        return os.strerror(sf._ffi.errno)
    return " ".join(str(e).split()) or type(e).__name__
