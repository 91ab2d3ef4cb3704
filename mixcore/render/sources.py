"""Block readers for audio files: constant memory, resampled with soxr when needed.

A reader pulls the file in fixed chunks of its own (``CHUNK`` frames), so what
it returns never depends on the render's block size: soxr sees the same
chunks whatever blocks the engine asks for. A plain uncompressed WAV file (PCM 16/24/32, float
32/64) is read directly with preadv (wavread.py), to the same float32 soundfile gives;
everything else through soundfile.

A session file is untrusted data: only regular files are read (a FIFO would block forever, a
device never ends), a header's sample rate must be plausible before anything is resampled, and a
session may name more sources than the process may open files: a reader opens its file on its
first read, closes it at the end, and with very many sources (:func:`plan_readers`) holds it open
only while it reads one chunk.
"""
from __future__ import annotations

import os
import resource
import stat
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import MixcoreError, short_path
from ..simd import kernel
from .wavcheck import truncation_warning
from .wavread import WavData, layout
from .finite import all_finite, file_error

mix = kernel("mix")  # gains, sums, de-interleaving: pyx/mix.pxi, its AVX2 build where the CPU has it

CHUNK = 65536
_EMPTY = np.zeros((0, 2), dtype=np.float32)


#: Sample rates a source's header may claim (a crafted 1 Hz header would make soxr allocate GBs).
MIN_RATE, MAX_RATE = 8000, 768000
#: Sources beyond which readers share the open-file budget and read in small chunks (see plan_readers).
MANY_SOURCES = 256
SMALL_CHUNK = 2048


def probe(path: Path, where: str) -> sf._SoundFileInfo:
    """Return the file's info, or a one-line error naming the key and file."""
    check_regular(path, where)
    info = read_info(path, where)
    if info.frames <= 0:
        raise MixcoreError(f"{where}: {path} holds no audio (0 frames)")
    if info.channels not in (1, 2):
        raise MixcoreError(f"{where}: {path} has {info.channels} channels; sources are mono or stereo")
    check_rate(info.samplerate, path, where)
    truncation_warning(path, where)
    return info


def check_regular(path: Path, where: str) -> None:
    """Refuse anything but a regular file (symlinks followed), before anything opens it."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise MixcoreError(f"{where}: file not found: {short_path(path)}") from None
    except OSError as e:
        raise MixcoreError(f"{where}: cannot read {short_path(path)}: {e.strerror}") from None
    except ValueError:  # a NUL character
        raise MixcoreError(f"{where}: {short_path(repr(str(path)))} is not a valid file name") from None
    if stat.S_ISDIR(mode):
        raise MixcoreError(f"{where}: {short_path(path)} is a folder, not an audio file")
    if not stat.S_ISREG(mode):
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a file")
        raise MixcoreError(f"{where}: {short_path(path)} is {kind}, not a regular file; only files are read")


def check_rate(rate: float, path: Path, where: str) -> None:
    """Refuse a header whose sample rate is outside MIN_RATE .. MAX_RATE."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise MixcoreError(f"{where}: {short_path(path)}: its header claims {rate} Hz; "
                           f"sample rates run {MIN_RATE} .. {MAX_RATE} Hz")


def read_info(path: Path, where: str) -> sf._SoundFileInfo:
    """``soundfile.info``, one line on failure, and nothing printed by the C decoders (libmpg123)."""
    try:
        with quiet_stderr():
            return sf.info(str(path))
    except Exception as e:  # libsndfile's message is the cause, unless it only guessed
        cause = " ".join(str(e).split()).replace(f"Error opening {str(path)!r}: ", "")
        if "Format not recognised" in cause or "does not exist" in cause:
            cause = "unknown or damaged header"  # random bytes look like MPEG to libsndfile: "does not exist"
        raise MixcoreError(f"{where}: {short_path(path)}: not an audio file soundfile can read ({cause})") from None


@contextmanager
def quiet_stderr():
    """Send file descriptor 2 to /dev/null for a moment (C libraries print there directly)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def open_file_budget() -> int:
    """Files the readers may hold open at once: half the soft limit (raised to the hard one first)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(8, (int(soft) - 64) // 2)


def plan_readers(readers: list) -> None:
    """Many sources: each holds its file open only while it reads, in small chunks (no output change).

    Only readers that do not resample take small chunks: soxr's output depends on its chunks.
    """
    readers = [r for r in readers if isinstance(r, SourceReader)]
    if len(readers) > min(MANY_SOURCES, open_file_budget()):
        for r in readers:
            r.keep_open = False
            if r.file_rate == r.sample_rate:
                r.chunk_frames = SMALL_CHUNK


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
        self.keep_open = True  # False: the file is open only while a chunk is read (plan_readers)
        # frames per read: CHUNK when resampling (soxr's output depends on its chunks), else at most the file
        self.chunk_frames = CHUNK if self.file_rate != self.sample_rate else min(CHUNK, self.file_frames + 1)
        self._file: sf.SoundFile | None = None
        wav = layout(path, info)  # a plain WAV file: read directly (wavread.py), else by soundfile
        self._wav = WavData(path, wav) if wav is not None else None
        self._file_pos = 0  # frames read from the file (to seek to when it is opened again)
        self._resampler = None
        self._chunk = _EMPTY[:0, :self.channels]  # read buffer, frames x channels: allocated on the first read
        self._data = self._chunk  # the current chunk, interleaved as the file holds it
        self._pos = 0  # frames of _data handed out
        self._zeros = 0  # offset zeros still to hand out
        self._produced = 0  # samples handed out, offset included
        self._eof = False

    def open(self) -> None:
        """Start from the beginning; the file itself is opened by the first read."""
        self.close()
        self._file_pos = 0
        self._resampler = (
            soxr.ResampleStream(self.file_rate, self.sample_rate, self.channels, dtype="float32",
                                quality=self.quality)
            if self.file_rate != self.sample_rate else None
        )
        self._chunk = _EMPTY[:0, :self.channels]
        self._data = self._chunk
        self._pos = 0
        self._zeros = self.offset
        self._produced = 0
        self._eof = False
        self._emitted_audio = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._wav is not None:
            self._wav.close()

    def _acquire(self) -> None:
        """Open the file (at the frame reached) and allocate the read buffer, if not yet done."""
        if self._wav is not None:
            if not self._wav.is_open:
                check_regular(self.path, self.where)
                try:
                    self._wav.open()
                except OSError as e:
                    self.close()
                    raise MixcoreError(f"{self.where}: cannot read {self.path}: {e.strerror or e}") from None
        elif self._file is None:
            check_regular(self.path, self.where)
            try:
                self._file = sf.SoundFile(str(self.path))
                if self._file_pos:
                    self._file.seek(self._file_pos)
            except Exception as e:
                self.close()
                raise MixcoreError(f"{self.where}: cannot read {self.path}: {' '.join(str(e).split())}") from None
        if self._chunk.shape[0] != self.chunk_frames:
            self._chunk = np.zeros((self.chunk_frames, self.channels), dtype=np.float32)

    def _after_read(self, frames: int, last: bool) -> None:
        """Count what was read; at the end (or between chunks, with many sources) close the file."""
        self._file_pos += frames
        if last or not self.keep_open:
            self.close()

    def _fill(self) -> None:
        """Read the next chunk of (resampled) audio into ``_data``, interleaved (frames, channels)."""
        self._acquire()
        try:
            if self._wav is not None:
                data = self._wav.read(self._file_pos, self.chunk_frames, self._chunk)
            else:
                data = self._file.read(self.chunk_frames, dtype="float32", always_2d=True, out=self._chunk)
        except Exception as e:
            raise MixcoreError(f"{self.where}: error reading {self.path}: {' '.join(str(e).split())}") from None
        # NaN or Inf would poison the whole mix: refused at the file's own frames. A chunk to resample is
        # checked here, before soxr (which reads it next, from the cache); one that is not, piece by piece
        # just before it is de-interleaved (read_into): the chunk may have left the cache by the time a
        # block asks for its piece, and checking it there reads it once from memory instead of twice.
        self._frame0 = self._file_pos  # the file's frame of data[0]
        if self._resampler is not None and data.shape[0] and not all_finite(data):
            raise file_error(f"{self.where}: {self.path}", data, self._frame0, self.file_rate)
        last = data.shape[0] < self.chunk_frames
        self._after_read(data.shape[0], last)
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
        if self._eof and self._pos >= self._data.shape[0] and self._chunk.shape[0]:
            self._chunk = self._data = _EMPTY[:0, :self.channels]  # all handed out: free the read buffer
