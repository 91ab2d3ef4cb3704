"""``mixcore verify MANIFEST``: re-render and check the output's hash."""
from __future__ import annotations

import argparse
from pathlib import Path

from . import plugin_path

NAME = "verify"
HELP = "re-render from a manifest and check the output hash"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("manifest", type=Path, help="manifest written by 'mixcore render --manifest'")
    plugin_path.add_argument(p)


def run(args: argparse.Namespace) -> int:
    from ..render.manifest import verify_manifest

    plugin_path.apply(args)
    ok, message = verify_manifest(args.manifest)
    print(("match: " if ok else "MISMATCH: ") + message)
    return 0 if ok else 1
