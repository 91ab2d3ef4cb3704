"""Block readers for audio files: constant memory, resampled with soxr when needed.

A reader pulls the file in fixed chunks of its own (``CHUNK`` frames), so what
it returns never depends on the render's block size: soxr sees the same
chunks whatever blocks the engine asks for.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import MixcoreError
from ..simd import kernel
from .finite import all_finite, file_error

mix = kernel("mix")  # gains, sums, de-interleaving: pyx/mix.pxi, its AVX2 build where the CPU has it

CHUNK = 65536


def probe(path: Path, where: str) -> sf._SoundFileInfo:
    """Return the file's info, or a one-line error naming the key and file."""
    if not path.exists():
        raise MixcoreError(f"{where}: file not found: {path}")
    if path.is_dir():
        raise MixcoreError(f"{where}: {path} is a folder, not an audio file")
    try:
        info = sf.info(str(path))
    except Exception as e:  # libsndfile's message is the cause
        raise MixcoreError(f"{where}: cannot read {path}: {' '.join(str(e).split())}") from None
    if info.frames <= 0:
        raise MixcoreError(f"{where}: {path} holds no audio (0 frames)")
    if info.channels not in (1, 2):
        raise MixcoreError(f"{where}: {path} has {info.channels} channels; sources are mono or stereo")
    return info


class SourceReader:
    """Reads one file as float32 blocks of shape (channels, n) at ``sample_rate``.

    ``offset`` zeros come first (a track whose input must wait for a latent
    sidechain); after the end of the file it returns zeros.
    """

    def __init__(self, path: Path, sample_rate: int, where: str = "source", quality: str = "HQ") -> None:
        info = probe(path, where)
        self.quality = quality  # soxr quality when resampling (mastering uses "VHQ")
        self.path = path
        self.where = where
        self.channels = int(info.channels)
        self.file_rate = int(info.samplerate)
        self.sample_rate = int(sample_rate)
        self.file_frames = int(info.frames)
        if self.file_rate == self.sample_rate:
            self.frames = self.file_frames
        else:
            self.frames = int(round(self.file_frames * self.sample_rate / self.file_rate))
        self.offset = 0
        self._file: sf.SoundFile | None = None
        self._resampler = None
        self._chunk = np.zeros((0, self.channels), dtype=np.float32)  # read buffer, frames x channels
        self._data = self._chunk  # the current chunk, interleaved as the file holds it
        self._pos = 0  # frames of _data handed out
        self._zeros = 0  # offset zeros still to hand out
        self._produced = 0  # samples handed out, offset included
        self._eof = False

    def open(self) -> None:
        self.close()
        try:
            self._file = sf.SoundFile(str(self.path))
        except Exception as e:
            raise MixcoreError(f"{self.where}: cannot read {self.path}: {' '.join(str(e).split())}") from None
        self._resampler = (
            soxr.ResampleStream(self.file_rate, self.sample_rate, self.channels, dtype="float32",
                                quality=self.quality)
            if self.file_rate != self.sample_rate else None
        )
        if self._chunk.shape[0] != CHUNK:
            self._chunk = np.zeros((CHUNK, self.channels), dtype=np.float32)
        self._data = self._chunk[:0]
        self._pos = 0
        self._zeros = self.offset
        self._produced = 0
        self._eof = False
        self._emitted_audio = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _fill(self) -> None:
        """Read the next chunk of (resampled) audio into ``_data``, interleaved (frames, channels)."""
        assert self._file is not None
        try:
            data = self._file.read(CHUNK, dtype="float32", always_2d=True, out=self._chunk)
        except Exception as e:
            raise MixcoreError(f"{self.where}: error reading {self.path}: {' '.join(str(e).split())}") from None
        # NaN or Inf would poison the whole mix: refused at the file's own frames. A chunk to resample is
        # checked here, before soxr (which reads it next, from the cache); one that is not, piece by piece
        # just before it is de-interleaved (read_into): the chunk may have left the cache by the time a
        # block asks for its piece, and checking it there reads it once from memory instead of twice.
        self._frame0 = self._file.tell() - data.shape[0]
        if self._resampler is not None and data.shape[0] and not all_finite(data):
            raise file_error(f"{self.where}: {self.path}", data, self._frame0, self.file_rate)
        last = data.shape[0] < CHUNK
        if self._resampler is not None:
            data = np.ascontiguousarray(self._resampler.resample_chunk(data, last=last), dtype=np.float32)
        # never hand out more than the nominal length (soxr may round differently)
        room = self.frames - self._emitted_audio
        data = data[:max(room, 0)]
        self._emitted_audio += data.shape[0]
        if last:
            self._eof = True
        self._data = data
        self._pos = 0

    def read_into(self, out: np.ndarray) -> None:
        """Fill ``out`` (channels, n) with the next n samples: the offset's zeros, the file, then zeros."""
        n = out.shape[1]
        i = min(n, self._zeros)
        if i:
            out[:, :i] = 0.0
            self._zeros -= i
        while i < n:
            if self._pos >= self._data.shape[0]:
                if self._eof:
                    out[:, i:] = 0.0
                    break
                self._fill()
                continue
            k = min(n - i, self._data.shape[0] - self._pos)
            piece = self._data[self._pos:self._pos + k]
            if self._resampler is None and not all_finite(piece):  # see _fill
                raise file_error(f"{self.where}: {self.path}", piece, self._frame0 + self._pos, self.file_rate)
            mix.deinterleave(piece, out[:, i:i + k])
            self._pos += k
            i += k
        self._produced += n
