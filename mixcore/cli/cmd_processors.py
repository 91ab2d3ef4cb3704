"""``mixcore processors [TYPE] [--json]``: the native processor types and their parameters."""
from __future__ import annotations

import argparse
import json
import math

from ..errors import MixcoreError, did_you_mean

NAME = "processors"
HELP = "list the native processor types and their parameters (name, unit, range, default, taper, notes)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("type", nargs="?", help="one processor type")
    p.add_argument("--json", action="store_true", help="print JSON")


def describe() -> dict[str, dict]:
    from ..processors.registry import processor_types

    out = {}
    for name, cls in sorted(processor_types().items()):
        if name.startswith("test_"):
            continue
        params = []
        for p in cls.PARAMS:
            params.append(_row(p, p.name))
            # a list of tables (an EQ's bands): each key as a row of its own, named as automation names it
            params.extend(_row(f, f"{p.name}[i].{f.name}") for f in getattr(p, "fields", ()))
        out[name] = {"class": cls.__name__, "summary": _summary(cls.__doc__), "params": params}
    return out


def _row(p, name: str) -> dict:
    return {
        "name": name, "unit": p.unit or None, "default": p.default,
        "min": None if not math.isfinite(p.lo) else p.lo, "max": None if not math.isfinite(p.hi) else p.hi,
        "choices": list(p.choices) if p.choices else None, "smoothing_ms": p.smoothing_ms or None,
        "taper": p.taper if p.choices is None and math.isfinite(p.lo) and math.isfinite(p.hi) else None,
        "doc": p.doc or None,
    }


def run(args: argparse.Namespace) -> int:
    info = describe()
    if args.type:
        if args.type not in info:
            raise MixcoreError(f"unknown processor type {args.type!r}{did_you_mean(args.type, info)}")
        info = {args.type: info[args.type]}
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    for name, d in info.items():
        console.print(Text.assemble((name, "bold"), f"  (mixcore.{d['class']}): {d['summary']}"),
                      highlight=False)
        t = Table()
        for col in ("parameter", "unit", "range", "default", "taper"):
            t.add_column(col, no_wrap=True)
        t.add_column("notes")
        for p in d["params"]:
            rng = ", ".join(p["choices"]) if p["choices"] else (
                f"{_n(p['min'])} .. {_n(p['max'])}" if p["min"] is not None or p["max"] is not None else "")
            t.add_row(*map(Text, (p["name"], p["unit"] or "", rng, repr(p["default"]), p["taper"] or "",
                                  p["doc"] or "")))  # Text: no markup, "bands[i]" stays as written
        console.print(t)
    return 0


def _summary(doc: str | None) -> str:
    """The first paragraph of a docstring, as one line (reST double backquotes dropped)."""
    para = (doc or "").strip().split("\n\n")[0]
    return " ".join(para.split()).replace("``", "")


def _n(x) -> str:
    return "" if x is None else f"{x:g}"
