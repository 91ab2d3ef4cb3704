"""Temporary files for atomic output: written beside the target, renamed over it when complete.

``tempfile.mkstemp`` creates files readable by their owner only (0600), which a rename would carry
over to the output; :func:`temp_beside` gives the temporary file the mode a plain ``open(path, "w")``
would have (0666 minus the umask), so a finished render is as readable as any file the user writes.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def default_mode() -> int:
    """0666 minus the process's umask (read without changing it for longer than a call)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def temp_beside(path: str | Path, suffix: str = ".part") -> tuple[int, str]:
    """``mkstemp`` in ``path``'s folder, named after it, with the default file mode; returns (fd, name)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.fchmod(fd, default_mode())
    return fd, tmp
