"""``mixcore presets [NAME]``: the shipped chain presets, with what each one sets."""
from __future__ import annotations

import argparse

from ..errors import MixcoreError, did_you_mean

NAME = "presets"
HELP = "list the shipped chain presets, or print one (what it sets, exactly)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?")


def run(args: argparse.Namespace) -> int:
    import tomllib

    from ..session.presets import shipped

    found = shipped()
    if args.name is None:
        for name, path in found.items():
            desc = tomllib.loads(path.read_text()).get("description", "")
            print(f"{name:10s} {desc}")
        return 0
    if args.name not in found:
        raise MixcoreError(f"no shipped preset named {args.name!r}{did_you_mean(args.name, found)}")
    print(found[args.name].read_text(), end="")
    return 0
