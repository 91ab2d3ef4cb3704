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
        self._buf = np.zeros((self.channels, 0), dtype=np.float32)
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
        self._buf = np.zeros((self.channels, self.offset), dtype=np.float32)
        self._produced = 0
        self._eof = False
        self._emitted_audio = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _fill(self) -> None:
        """Append the next chunk of (resampled) audio to the buffer."""
        assert self._file is not None
        try:
            data = self._file.read(CHUNK, dtype="float32", always_2d=True)
        except Exception as e:
            raise MixcoreError(f"{self.where}: error reading {self.path}: {' '.join(str(e).split())}") from None
        last = data.shape[0] < CHUNK
        if self._resampler is not None:
            data = self._resampler.resample_chunk(data, last=last)
        chunk = np.ascontiguousarray(data.T)
        # never hand out more than the nominal length (soxr may round differently)
        room = self.frames - self._emitted_audio
        chunk = chunk[:, :max(room, 0)]
        self._emitted_audio += chunk.shape[1]
        if last:
            self._eof = True
        self._buf = np.concatenate([self._buf, chunk], axis=1) if self._buf.shape[1] else chunk

    def read_into(self, out: np.ndarray) -> None:
        """Fill ``out`` (channels, n) with the next n samples."""
        n = out.shape[1]
        while self._buf.shape[1] < n and not self._eof:
            self._fill()
        k = min(n, self._buf.shape[1])
        out[:, :k] = self._buf[:, :k]
        out[:, k:] = 0.0
        self._buf = self._buf[:, k:]
        self._produced += n
