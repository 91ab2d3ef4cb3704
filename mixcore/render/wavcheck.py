"""Truncated WAV files: a header that promises more audio than the file holds.

libsndfile reads such a file up to its end without a word (a copy cut short, a recorder that
crashed before it fixed the header). :func:`truncation_warning` prints one line on stderr naming
the file and how much is missing, once per file and process; the file still renders with what
it holds. The RIFF chunks are walked here (a few small reads), never trusting a size beyond the file.
"""
from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

MAX_CHUNKS = 4096  # a garbage file must not make the walk long
_warned: set[tuple] = set()


def wav_shortfall(path: Path) -> tuple[int, int, int] | None:
    """(frames the header declares, frames the file holds, sample rate) when the data chunk of a
    RIFF/RIFX WAVE file is cut short, else None (not such a file, not truncated, or unreadable)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(12)
            if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX"):
                return None
            endian = "<" if head[:4] == b"RIFF" else ">"
            pos, block_align, rate = 12, 0, 0
            for _ in range(MAX_CHUNKS):
                f.seek(pos)
                hdr = f.read(8)
                if len(hdr) < 8:
                    return None
                cid, n = hdr[:4], struct.unpack(endian + "I", hdr[4:])[0]
                if cid == b"fmt ":
                    fmt = f.read(16)
                    if len(fmt) < 16:
                        return None
                    _tag, _ch, rate, _bps, block_align = struct.unpack(endian + "HHIIH", fmt[:14])
                elif cid == b"data":
                    held = size - (pos + 8)
                    if n in (0, 0xFFFFFFFF) or n <= held or block_align <= 0 or rate <= 0:
                        return None  # 0 and 0xFFFFFFFF: a stream's placeholder, read to the end by design
                    return n // block_align, max(held, 0) // block_align, rate
                pos += 8 + n + (n & 1)
                if pos >= size:
                    return None
    except OSError:
        return None
    return None


def truncation_warning(path: Path, where: str) -> None:
    """Print ``mixcore: warning: <where>: <path>: truncated: ...`` once when ``path`` is a cut-short WAV."""
    short = wav_shortfall(Path(path))
    if short is None:
        return
    try:
        st = os.stat(path)
        key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    except OSError:
        return
    if key in _warned:
        return
    _warned.add(key)
    declared, held, rate = short
    print(f"mixcore: warning: {where}: {path}: truncated: header says {declared} frames, file holds {held} "
          f"({(declared - held) / rate:.3f} s missing)", file=sys.stderr)
