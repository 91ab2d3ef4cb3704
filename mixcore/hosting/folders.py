"""Plugin folders: the only places a session may load plugins from (see docs/SECURITY.md).

A plugin is a shared object whose code runs as soon as it is loaded, so a session file -- data,
possibly written by someone else -- must not be able to name just any bundle. The plugin folders are

* the platform's standard folders (:func:`standard_folders`): ``~/.vst3``, ``/usr/lib/vst3``,
  ``/usr/local/lib/vst3`` on Linux; the ``Library/Audio/Plug-Ins`` ``VST3`` and ``Components``
  folders (the user's and the system's) on macOS;
* every folder in ``MIXCORE_PLUGIN_PATH`` (separated by ``os.pathsep``);
* every folder this process allowed: ``--plugin-path DIR`` on the command line, or
  :func:`add_plugin_path` / ``with plugin_path(DIR):`` in Python.

:func:`check_plugin` is the gate, called before any file of a bundle is opened by a loader. It
compares real paths (symlinks and ``..`` resolved), so neither a symlink inside a plugin folder that
points outside nor a ``..`` escapes, and it refuses a bundle on the scan's deny-list (a plugin that
crashed or hung while ``mixcore plugins list`` probed it).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import MixcoreError

ENV = "MIXCORE_PLUGIN_PATH"
#: Folders allowed by this process (``--plugin-path``, :func:`add_plugin_path`, :func:`plugin_path`).
_allowed: list[Path] = []


def standard_folders() -> list[Path]:
    """The platform's standard plugin folders (VST3; on macOS also the AU ``Components`` folders)."""
    home = Path.home()
    if sys.platform == "darwin":
        lib = Path("Library") / "Audio" / "Plug-Ins"
        system = Path("/") / lib
        return [home / lib / "VST3", system / "VST3", home / lib / "Components", system / "Components"]
    if sys.platform == "win32":
        common = Path(os.environ.get("COMMONPROGRAMFILES", r"C:\Program Files\Common Files"))
        local = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
        return [common / "VST3", local / "Programs" / "Common" / "VST3"]
    return [home / ".vst3", Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3")]


def lv2_standard_folders() -> list[Path]:
    """LV2's standard folders on Linux (lilv's default ``LV2_PATH`` plus Debian's multiarch ones),
    then every folder in the ``LV2_PATH`` environment variable."""
    home = Path.home()
    std = [home / ".lv2", Path("/usr/local/lib/lv2"), Path("/usr/lib/lv2")]
    std += sorted(Path("/usr/lib").glob("*-linux-gnu*/lv2")) + sorted(Path("/usr/local/lib").glob("*-linux-gnu*/lv2"))
    env = [Path(p).expanduser() for p in os.environ.get("LV2_PATH", "").split(os.pathsep) if p.strip()]
    return _unique([*std, *env])


def lv2_folders(extra: Iterable[str | Path] = ()) -> list[Path]:
    """Where LV2 plugins may come from: :func:`lv2_standard_folders`, then ``MIXCORE_PLUGIN_PATH``
    and the folders this process allowed (``--plugin-path``), then ``extra``."""
    return _unique([*lv2_standard_folders(), *extra_folders(extra)])


def env_folders() -> list[Path]:
    """The folders in ``MIXCORE_PLUGIN_PATH``, in order."""
    return [Path(p).expanduser() for p in os.environ.get(ENV, "").split(os.pathsep) if p.strip()]


def _unique(folders: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for f in folders:
        if f not in out:
            out.append(f)
    return out


def extra_folders(extra: Iterable[str | Path] = ()) -> list[Path]:
    """The plugin folders beyond the standard ones, as absolute paths: ``MIXCORE_PLUGIN_PATH``, the
    folders this process allowed, then ``extra`` (what a batch passes on to its workers)."""
    given = [Path(p).expanduser() for p in extra]
    return _unique(p.absolute() for p in [*env_folders(), *_allowed, *given])


def plugin_folders(extra: Iterable[str | Path] = ()) -> list[Path]:
    """Every plugin folder: the standard ones, ``MIXCORE_PLUGIN_PATH``, those this process allowed,
    then ``extra``."""
    return _unique([*standard_folders(), *extra_folders(extra)])


def add_plugin_path(*folders: str | Path) -> None:
    """Allow plugins from ``folders`` for the rest of this process (what ``--plugin-path`` does)."""
    for f in folders:
        p = Path(f).expanduser().absolute()
        if p not in _allowed:
            _allowed.append(p)


@contextmanager
def plugin_path(*folders: str | Path) -> Iterator[None]:
    """Allow plugins from ``folders`` inside the ``with`` block::

        with mixcore.hosting.plugin_path("~/dev/plugins"):
            session.render("mix.wav")
    """
    saved = list(_allowed)
    add_plugin_path(*folders)
    try:
        yield
    finally:
        _allowed[:] = saved


def _inside(real: Path, folders: Iterable[Path]) -> bool:
    for f in folders:
        try:
            root = f.resolve()
        except (OSError, RuntimeError):  # a symlink loop: nothing can be inside it
            continue
        if real == root or real.is_relative_to(root):
            return True
    return False


def check_folder(path: str | Path, where: str, folders: Iterable[Path] | None = None) -> Path:
    """The real path of ``path`` if it lies in one of ``folders`` (default :func:`plugin_folders`);
    else a one-line MixcoreError starting with ``where`` that says how to allow it."""
    path = Path(path).expanduser().absolute()
    try:
        real = path.resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise MixcoreError(f"{_key(where)}{path}: cannot resolve the path: {' '.join(str(e).split())}") from None
    folders = plugin_folders() if folders is None else list(folders)
    if not _inside(real, folders):
        leads = f" (it leads to {real})" if real != path else ""
        raise MixcoreError(f"{_key(where)}{path} is not in a plugin folder{leads}; allow its folder with "
                           f"--plugin-path {real.parent} or {ENV}")
    return real


def check_plugin(path: str | Path, where: str, folders: Iterable[Path] | None = None) -> Path:
    """The real path of the bundle ``path`` if a session may load it; else a one-line MixcoreError.

    ``where`` (e.g. ``tracks[0].chain[1].path``) starts the message; ``folders`` defaults to
    :func:`plugin_folders`. Only ``stat`` and ``readlink`` touch the bundle here: no file of it is
    opened. A bundle on the scan's deny-list (unchanged since it was denied) is refused too.
    """
    real = check_folder(path, where, folders)
    from .scan import denied

    reason = denied(real)
    if reason is not None:
        raise MixcoreError(f"{_key(where)}{Path(path).name} is on the plugin deny-list ({reason}); "
                           f"once it is fixed, probe it again with 'mixcore plugins list --rescan'")
    return real


def _key(where: str) -> str:
    return f"{where}: " if where else ""


__all__ = ["ENV", "standard_folders", "lv2_standard_folders", "lv2_folders", "env_folders", "extra_folders", "plugin_folders", "add_plugin_path",
           "plugin_path", "check_folder", "check_plugin"]
