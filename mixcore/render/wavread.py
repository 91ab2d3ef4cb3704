"""Uncompressed WAV sources read straight from the file, without libsndfile in the loop.

:func:`walk` reads a RIFF/RIFX WAVE file's chunk list (a few small reads, no size trusted beyond
the file); :func:`layout` accepts a file for direct reading only when everything about it is plain:
little-endian RIFF, one ``fmt `` and one ``data`` chunk, PCM 16/24/32 bit or IEEE float 32/64 bit
(also as WAVE_FORMAT_EXTENSIBLE, all bits valid), the data chunk whole (not truncated, not a stream's
placeholder size) and soundfile's own ``info`` agreeing on frames, channels, rate and sample format.
Anything else (FLAC, AIFF, RF64, 8-bit, a cut-short file, an odd header) is read by soundfile.

The float32 that :class:`WavData` returns are bit for bit what ``soundfile.read(dtype="float32")``
returns (tests/test_wavread.py): float32 as stored; float64 rounded to float32; PCM as libsndfile
converts it, ``float(x) * 2**-15`` for 16 bit and ``float(x << 8) * 2**-31`` / ``float(x) * 2**-31``
for 24 / 32 bit (the int-to-float rounding first, then an exact power of two).

Every reader reads its chunks with ``os.preadv`` into its own buffer (one descriptor while it
reads; with very many sources it opens its file only per chunk). Not a memory map: reading a map
past the end of a file cut short while rendering stops the process (SIGBUS), and guarding against
that costs a system call per block -- more than the copy a map saves.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_CHUNKS = 4096  # a garbage file must not make the walk long
#: (format tag, bits) -> (numpy dtype of a sample, soundfile's subtype name)
SAMPLES = {(1, 16): ("<i2", "PCM_16"), (1, 24): ("<i3", "PCM_24"), (1, 32): ("<i4", "PCM_32"),
           (3, 32): ("<f4", "FLOAT"), (3, 64): ("<f8", "DOUBLE")}
#: KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT after their first two bytes (the format tag)
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_EXTENSIBLE = 0xFFFE


@dataclass(frozen=True)
class Wave:
    """A RIFF/RIFX WAVE file's chunk list as :func:`walk` found it."""
    endian: str  # "<" RIFF, ">" RIFX
    size: int  # bytes in the file
    fmt: bytes | None  # the last ``fmt `` chunk before the first ``data`` chunk (16 to 40 bytes)
    fmt_size: int  # its declared size
    data: tuple[int, int] | None  # the first ``data`` chunk: (offset of its first byte, declared size)
    fmt_chunks: int
    data_chunks: int
    complete: bool  # every chunk was walked (not cut off by MAX_CHUNKS)

    def fmt_fields(self) -> tuple[int, int, int, int]:
        """(format tag, channels, sample rate, block align) of ``fmt``."""
        tag, channels, rate, _bps, block_align = struct.unpack(self.endian + "HHIIH", self.fmt[:14])
        return tag, channels, rate, block_align


def walk(path: Path) -> Wave | None:
    """The file's chunks, or None when it is not a RIFF/RIFX WAVE file, a ``fmt `` chunk before the data
    is shorter than 16 bytes, or the file cannot be read."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(12)
            if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX"):
                return None
            endian = "<" if head[:4] == b"RIFF" else ">"
            fmt, fmt_size, data, fmts, datas, complete, pos = None, 0, None, 0, 0, False, 12
            for _ in range(MAX_CHUNKS):
                f.seek(pos)
                hdr = f.read(8)
                if len(hdr) < 8:
                    complete = True
                    break
                cid, n = hdr[:4], struct.unpack(endian + "I", hdr[4:])[0]
                if cid == b"fmt ":
                    fmts += 1
                    if data is None:
                        fmt, fmt_size = f.read(max(min(n, 40), 16)), n
                        if len(fmt) < 16:
                            return None
                elif cid == b"data":
                    datas += 1
                    if data is None:
                        data = (pos + 8, n)
                pos += 8 + n + (n & 1)
                if pos >= size:
                    complete = True
                    break
    except OSError:
        return None
    return Wave(endian, size, fmt, fmt_size, data, fmts, datas, complete)


@dataclass(frozen=True)
class Layout:
    """Where a plain WAV file's samples are and how they are stored."""
    offset: int  # byte offset of the first frame
    frames: int
    channels: int
    dtype: str  # "<i2", "<i3", "<i4", "<f4", "<f8"
    block_align: int  # bytes per frame


def layout(path: Path, info) -> Layout | None:
    """The file's :class:`Layout` when it may be read directly (see the module's docstring), else None.
    ``info`` is soundfile's info of the same file: it must agree."""
    w = walk(path)
    if (w is None or w.endian != "<" or not w.complete or w.fmt_chunks != 1 or w.data_chunks != 1
            or w.fmt is None or w.data is None or w.fmt_size < 16):
        return None
    tag, channels, rate, block_align = w.fmt_fields()
    bits = struct.unpack("<H", w.fmt[14:16])[0]
    extensible = tag == _EXTENSIBLE
    if extensible:
        if w.fmt_size < 40 or len(w.fmt) < 40:
            return None
        cb_size, valid_bits = struct.unpack("<HH", w.fmt[16:20])
        if cb_size < 22 or valid_bits != bits or w.fmt[26:40] != _GUID_TAIL:
            return None
        tag = struct.unpack("<H", w.fmt[24:26])[0]
    sample = SAMPLES.get((tag, bits))
    if sample is None or channels < 1 or block_align != channels * (bits // 8):
        return None
    offset, n = w.data
    if n in (0, 0xFFFFFFFF) or offset + n > w.size:
        return None  # a stream's placeholder or a truncated file: soundfile's reading (and wavcheck's warning)
    frames = n // block_align
    if ((frames, channels, rate) != (info.frames, info.channels, info.samplerate)
            or info.format != ("WAVEX" if extensible else "WAV") or info.subtype != sample[1]):
        return None
    return Layout(offset, frames, channels, sample[0], block_align)


class WavData:
    """Reads frames of a file with a :class:`Layout` as float32 (frames, channels).

    ``open`` keeps a descriptor for ``os.preadv`` into the reader's own buffer; ``close`` releases it.
    (Not a memory map: reading a map past the end of a file cut short while rendering stops the
    process with SIGBUS, and guarding against it costs a system call per block -- more than the copy
    that a map saves.)"""

    def __init__(self, path: Path, lay: Layout) -> None:
        self.path = path
        self.layout = lay
        self._fd = -1
        self._raw = np.zeros(0, dtype=np.uint8)  # preadv buffer of a format that is converted
        self._wide = np.zeros(0, dtype=np.int32)  # 24 bit: samples widened to 4 bytes

    @property
    def is_open(self) -> bool:
        return self._fd >= 0

    def held_frames(self) -> int:
        """Frames the file holds now: fewer than ``layout.frames`` once it was cut short while read."""
        size = os.fstat(self._fd).st_size
        return min(max(size - self.layout.offset, 0) // self.layout.block_align, self.layout.frames)

    def open(self) -> None:
        self.close()
        self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def read(self, frame0: int, n: int, chunk: np.ndarray) -> np.ndarray:
        """Up to ``n`` frames from ``frame0``: fewer only at the end of the data (or of a file cut short
        since it was opened). ``chunk`` (n or more frames, float32) receives the samples."""
        lay = self.layout
        k = max(min(n, self.held_frames() - frame0), 0)  # a file cut short while rendering: what it holds
        start = lay.offset + frame0 * lay.block_align
        nbytes = k * lay.block_align
        if k == 0:
            return chunk[:0]
        if lay.dtype == "<f4":
            got = self._pread(memoryview(chunk[:k]).cast("B"), start)
            return chunk[:got // lay.block_align]
        else:
            if self._raw.size < nbytes:
                self._raw = np.zeros(nbytes, dtype=np.uint8)
            got = self._pread(memoryview(self._raw[:nbytes]), start)
            k = got // lay.block_align
            raw = self._raw[:k * lay.block_align]
        return self._convert(raw, k, chunk)

    def _pread(self, buf: memoryview, start: int) -> int:
        got = 0
        while got < len(buf):
            r = os.preadv(self._fd, [buf[got:]], start + got)
            if r <= 0:
                break
            got += r
        return got

    def _convert(self, raw: np.ndarray, k: int, chunk: np.ndarray) -> np.ndarray:
        """``k`` frames of raw little-endian samples as float32, exactly as libsndfile converts them."""
        ch = self.layout.channels
        dtype = self.layout.dtype
        out = chunk[:k]
        if dtype == "<i2":
            np.multiply(raw.view("<i2").reshape(k, ch), np.float32(2.0 ** -15), out=out, dtype=np.float32,
                        casting="unsafe")
        elif dtype == "<i4":
            np.multiply(raw.view("<i4").reshape(k, ch), np.float32(2.0 ** -31), out=out, dtype=np.float32,
                        casting="unsafe")
        elif dtype == "<i3":  # x << 8 as libsndfile: the 4 bytes from each sample's first, shifted left by 8
            m = k * ch
            if self._wide.size < m:
                self._wide = np.zeros(m, dtype=np.int32)
            wide = self._wide[:m]
            if m > 1:  # every sample but the last (whose 4th byte may be past the buffer)
                words = np.ndarray((m - 1,), dtype="<i4", buffer=raw, strides=(3,))
                np.left_shift(words, 8, out=wide[:m - 1])
            if m:
                wide[m - 1] = int.from_bytes(raw[3 * m - 3:3 * m].tobytes(), "little", signed=True) << 8
            np.multiply(wide.reshape(k, ch), np.float32(2.0 ** -31), out=out, dtype=np.float32, casting="unsafe")
        else:  # "<f8": rounded to float32 (one too large becomes +-Inf and is refused as non-finite)
            with np.errstate(over="ignore", invalid="ignore"):
                np.copyto(out, raw.view("<f8").reshape(k, ch), casting="unsafe")
        return out
