"""``mixcore plugins list [--json] [--rescan]`` and ``mixcore plugins info PATH [--json]``."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "plugins"
HELP = "find plugins (standard VST3 folders and MIXCORE_PLUGIN_PATH) and describe one"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="plugins_command", metavar="{list,info}")
    sub.required = True
    ls = sub.add_parser("list", help="scan for plugins; crashing or hanging ones go to a deny-list")
    ls.add_argument("--path", type=Path, action="append", help="scan this folder instead (repeatable)")
    ls.add_argument("--rescan", action="store_true", help="forget the deny-list and probe everything again")
    ls.add_argument("--json", action="store_true")
    info = sub.add_parser("info", help="name, vendor, version, category, parameters and latency of a plugin")
    info.add_argument("path", type=Path)
    info.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..hosting.scan import probe, scan

    console = Console()
    if args.plugins_command == "info":
        d = probe(args.path)
        if args.json:
            print(json.dumps(d))
            return 0
        console.print(f"[bold]{d['name']}[/] by {d['vendor']} {d['version']} ({d['category']}"
                      f"{', instrument' if d['is_instrument'] else ''}), latency {d['latency_samples']} samples")
        t = Table()
        for col in ("parameter", "range / choices", "default", "unit"):
            t.add_column(col)
        for q in d["parameters"]:
            rng = ("on/off" if q["boolean"] else ", ".join(q["choices"]) if q["choices"]
                   else f"{q['min']:g} .. {q['max']:g}")
            t.add_row(q["name"], rng, str(q["default"]), q["unit"] or "")
        console.print(t)
        return 0
    found = scan(args.path, rescan=args.rescan)
    if args.json:
        print(json.dumps(found))
        return 0
    t = Table(title=f"{len(found)} plugins")
    for col in ("name", "vendor", "kind", "status", "path"):
        t.add_column(col)
    for d in found:
        if d["status"] == "ok":
            t.add_row(d["name"], d["vendor"], "instrument" if d["is_instrument"] else "effect", "ok", d["path"])
        else:
            t.add_row("", "", "", f"denied: {d['reason']}", d["path"])
    console.print(t)
    return 0
