"""Temporary files for atomic output: written beside the target, renamed over it when complete.

A temporary file is named after its target and the process that writes it,
``.{name}.{pid}.mixcore.part`` (``.{name}.{pid}-{k}.mixcore.part`` for a second one of the same
process), so one left behind by a killed process (kill -9, a plugin that crashed the process) does
not pile up: creating a temporary file for a target removes the siblings whose process is gone.

``tempfile.mkstemp`` creates files readable by their owner only (0600), which a rename would carry
over to the output; :func:`temp_beside` gives the temporary file the mode a plain ``open(path, "w")``
would have (0666 minus the umask), so a finished render is as readable as any file the user writes.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

#: Every temporary file this process created (absolute names): ours even if our pid was used before.
_OURS: set[str] = set()


def default_mode() -> int:
    """0666 minus the process's umask (read without changing it for longer than a call)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # another user's process (or a number no process can have)
    return True


def _base(name: str) -> str:
    """The target's name as used in its temporary files' names (shortened to fit NAME_MAX)."""
    if len(name.encode()) <= 200:
        return name
    head = name.encode()[:100].decode("utf-8", "ignore")
    return head + "~" + hashlib.sha1(name.encode()).hexdigest()[:12]


def remove_stale(path: str | Path) -> list[Path]:
    """Remove the temporary files of ``path`` left by processes that are gone; returns them."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(_base(path.name))}\.(\d+)(?:-\d+)?\.mixcore\.[A-Za-z0-9]+\Z")
    removed = []
    try:
        entries = list(os.scandir(os.path.abspath(path.parent)))
    except OSError:
        return removed
    me = os.getpid()
    for entry in entries:
        m = pattern.match(entry.name)
        if m is None:
            continue
        pid = int(m.group(1))
        stale = entry.path not in _OURS if pid == me else not _alive(pid)
        if stale:
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def temp_beside(path: str | Path, suffix: str = ".part") -> tuple[int, str]:
    """A new temporary file in ``path``'s folder, named after it and this process, with the
    default file mode; returns (fd, name). Stale ones of dead processes are removed first."""
    path = Path(path)
    remove_stale(path)
    tail = ".mixcore" + suffix
    folder = os.path.abspath(path.parent)
    pid = os.getpid()
    for k in range(10000):
        name = os.path.join(folder, f".{_base(path.name)}.{pid}{'-' + str(k) if k else ''}{tail}")
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        _OURS.add(name)
        os.fchmod(fd, default_mode())
        return fd, name
    raise FileExistsError(f"{path}: too many temporary files beside it")
