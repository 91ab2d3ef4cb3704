"""Commit last: every output of a command is written to a temporary file and renamed into place
only when everything that can fail has succeeded.

    with CommitSet() as outputs:
        tmp = outputs.stage(Path("mix.wav"), "-o")      # write the new mix to tmp
        outputs.write_bytes(Path("mix.json"), data, "--manifest")
        ...                                             # anything here may still fail
    # leaving the block normally renames every temporary file over its target; an exception
    # (an error, Ctrl-C, SIGTERM) removes them all and leaves every existing file as it was

The renames run with SIGINT, SIGTERM and SIGHUP held back (when called from the main thread), so
an interruption never leaves half of the outputs new and half old.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from ..atomic import temp_beside
from ..errors import MixcoreError

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def prepare_target(path: Path, where: str) -> list[Path]:
    """Refuse a target that is a folder, create its missing parent folders; returns those made."""
    path = Path(path)
    if path.is_dir():
        raise MixcoreError(f"{where}: {path} is a folder; give a file name")
    made = []
    folder = path.parent.absolute()
    while not folder.exists() and folder != folder.parent:
        made.append(folder)
        folder = folder.parent
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise MixcoreError(f"{where}: cannot create the folder {path.parent}: a file has that name") from None
    except OSError as e:
        raise MixcoreError(f"{where}: cannot create the folder {path.parent}: {e.strerror or e}") from None
    return made


class CommitSet:
    """Temporary files and their targets (see the module docstring)."""

    def __init__(self) -> None:
        self._staged: dict[str, tuple[Path, str]] = {}  # absolute target -> (target, temporary file)
        self._made: list[Path] = []  # folders made for the targets: removed again (when empty) on discard

    def __enter__(self) -> "CommitSet":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def stage(self, target: str | Path, where: str = "output") -> Path:
        """The temporary file that will replace ``target`` (created empty; the same one when
        ``target`` is staged again)."""
        target = Path(target)
        key = os.path.abspath(target)
        if key in self._staged:
            return Path(self._staged[key][1])
        self._made += prepare_target(target, where)
        try:
            fd, tmp = temp_beside(target)
        except OSError as e:
            self._remove_made()
            raise MixcoreError(f"{where}: cannot write {target}: {e.strerror or e}") from None
        os.close(fd)
        self._staged[key] = (target, tmp)
        return Path(tmp)

    def staged(self, target: str | Path) -> Path:
        """Where ``target``'s new content is now: its temporary file if staged, else ``target``."""
        entry = self._staged.get(os.path.abspath(target))
        return Path(entry[1]) if entry else Path(target)

    def __contains__(self, target: str | Path) -> bool:
        return os.path.abspath(target) in self._staged

    def write_bytes(self, target: str | Path, data: bytes, where: str = "output") -> Path:
        tmp = self.stage(target, where)
        try:
            with open(tmp, "wb") as f:
                f.write(data)
        except OSError as e:
            raise MixcoreError(f"{where}: cannot write {target}: {e.strerror or e}") from None
        return tmp

    def commit(self) -> None:
        """Rename every temporary file over its target."""
        staged, self._staged = list(self._staged.values()), {}
        self._made = []
        with _signals_held():
            try:
                for target, _tmp in staged:
                    if target.is_dir():
                        raise MixcoreError(f"{target} is a folder; give a file name")
                while staged:
                    target, tmp = staged[0]
                    try:
                        os.replace(tmp, target)
                    except OSError as e:
                        raise MixcoreError(f"cannot write {target}: {e.strerror or e}") from None
                    staged.pop(0)
            finally:
                _unlink(tmp for _t, tmp in staged)

    def discard(self) -> None:
        """Remove every temporary file (and the folders made for them); the targets stay as they are."""
        staged, self._staged = list(self._staged.values()), {}
        _unlink(tmp for _t, tmp in staged)
        self._remove_made()

    def _remove_made(self) -> None:
        made, self._made = sorted(self._made, key=lambda p: len(p.parts), reverse=True), []
        for folder in made:
            try:
                folder.rmdir()
            except OSError:
                pass  # no longer empty: something else is in it now


def _unlink(names) -> None:
    for name in names:
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass


@contextmanager
def _signals_held():
    """Hold SIGINT/SIGTERM/SIGHUP back for the duration; deliver the first one afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    old = {}
    try:
        for s in SIGNALS:
            old[s] = signal.signal(s, lambda n, _f: got.append(n))
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if got:
            handler = old.get(got[0])
            if callable(handler):
                handler(got[0], None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), got[0])


@contextmanager
def outputs_of(commit: CommitSet | None):
    """``commit`` itself (its owner commits it), or a new set committed when the block succeeds."""
    if commit is not None:
        yield commit
        return
    with CommitSet() as own:
        yield own
