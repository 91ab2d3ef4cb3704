"""Truncated WAV files: a header that promises more audio than the file holds.

libsndfile reads such a file up to its end without a word (a copy cut short, a recorder that
crashed before it fixed the header). :func:`truncation_warning` prints one line on stderr naming
the file and how much is missing, once per file and process; the file still renders with what
it holds. The RIFF chunks are walked by wavread.walk (a few small reads, no size trusted beyond the file).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .wavread import walk

_warned: set[tuple] = set()


def wav_shortfall(path: Path) -> tuple[int, int, int] | None:
    """(frames the header declares, frames the file holds, sample rate) when the data chunk of a
    RIFF/RIFX WAVE file is cut short, else None (not such a file, not truncated, or unreadable)."""
    w = walk(path)
    if w is None or w.data is None or w.fmt is None:
        return None
    _tag, _channels, rate, block_align = w.fmt_fields()
    pos, n = w.data
    held = w.size - pos
    if n in (0, 0xFFFFFFFF) or n <= held or block_align <= 0 or rate <= 0:
        return None  # 0 and 0xFFFFFFFF: a stream's placeholder, read to the end by design
    return n // block_align, max(held, 0) // block_align, rate


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
