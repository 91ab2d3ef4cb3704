"""``--plugin-path DIR`` (repeatable): allow plugins from DIR, beside the standard plugin folders
and ``MIXCORE_PLUGIN_PATH`` (see :mod:`mixcore.hosting.folders` and docs/SECURITY.md)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MixcoreError

HELP = ("also load plugins from DIR (repeatable); a session loads plugins only from plugin folders: the "
        "standard ones, MIXCORE_PLUGIN_PATH and these")


def add_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plugin-path", type=Path, action="append", default=[], metavar="DIR", help=HELP)


def apply(args: argparse.Namespace) -> list[Path]:
    """Allow the folders given with ``--plugin-path`` for this process; each must be a folder."""
    if not args.plugin_path:
        return []  # nothing to allow: mixcore.hosting is not imported (start-up)
    from ..hosting.folders import add_plugin_path

    folders = []
    for d in args.plugin_path:
        if not d.expanduser().is_dir():
            raise MixcoreError(f"--plugin-path: {d} is not a folder")
        folders.append(d.expanduser().absolute())
    add_plugin_path(*folders)
    return folders
