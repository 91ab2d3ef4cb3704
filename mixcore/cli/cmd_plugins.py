"""``mixcore plugins list [--plugin-path DIR] [--rescan] [--json]`` and
``mixcore plugins info PATH [--plugin-path DIR] [--json]``.

``list`` probes every VST3 in the plugin folders (the standard ones, ``MIXCORE_PLUGIN_PATH`` and
``--plugin-path``), each in a subprocess; plugins that crash or hang while loading go to a
persistent deny-list (reason shown) instead of stopping the scan. ``info`` describes one plugin of
a plugin folder: name, vendor, version, category, parameters (pedalboard's identifiers, with range
or choices, default and unit) and latency.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import plugin_path

NAME = "plugins"
HELP = "find VST3 plugins in the plugin folders (standard ones, MIXCORE_PLUGIN_PATH, --plugin-path) or describe one"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="plugins_command", metavar="{list,info}", parser_class=type(p))
    sub.required = True
    ls = sub.add_parser("list", help="scan for plugins; crashing or hanging ones go to a deny-list",
                        description="Scan for plugins; crashing or hanging ones go to a deny-list.")
    ls.add_argument("--plugin-path", "--path", dest="plugin_path", type=Path, action="append", default=[],
                    metavar="DIR", help="also scan DIR, a plugin folder for this command (repeatable)")
    ls.add_argument("--rescan", action="store_true", help="probe denied plugins again")
    ls.add_argument("--json", action="store_true", help="print a JSON list")
    info = sub.add_parser("info", help="name, vendor, version, category, parameters and latency of a plugin",
                          description="Name, vendor, version, category, parameters and latency of a plugin.")
    info.add_argument("path", type=Path, help="a .vst3 bundle")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    plugin_path.add_argument(info)


def _range(q: dict) -> str:
    if q["boolean"]:
        return "true | false"
    if q["choices"]:
        return " | ".join(q["choices"])
    lo = "-inf" if q["min"] is None else f"{q['min']:g}"
    hi = "inf" if q["max"] is None else f"{q['max']:g}"
    return f"{lo} .. {hi}"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..hosting.folders import check_folder, plugin_folders
    from ..hosting.scan import probe, scan

    plugin_path.apply(args)
    console = Console(highlight=False)
    if args.plugins_command == "info":
        check_folder(args.path, "", plugin_folders())  # before the probe loads anything of it
        d = probe(args.path)
        if args.json:
            print(json.dumps(d))
            return 0
        kind = "instrument" if d["is_instrument"] else "effect"
        console.print(f"[bold]{d['name']}[/] {d['version']} by {d['vendor']} ({kind}, {d['category']}); "
                      f"latency {d['latency_samples']} samples")
        t = Table(box=None)
        for col in ("parameter", "range", "default", "unit"):
            t.add_column(col)
        for q in d["parameters"]:
            default = str(q["default"]).lower() if q["boolean"] else f"{q['default']:g}" if q["kind"] == "float" \
                else str(q["default"])
            t.add_row(q["name"], _range(q), default, q["unit"] or "")
        console.print(t)
        return 0
    folders = plugin_folders()
    found = scan(folders, rescan=args.rescan)
    if args.json:
        print(json.dumps(found))
        return 0
    print_folders(console, folders, found)
    ok = sum(d["status"] == "ok" for d in found)
    t = Table(title=f"{ok} plugins ({len(found) - ok} denied)", box=None)
    for col in ("name", "vendor", "kind", "latency", "path"):
        t.add_column(col, overflow="fold")  # a path is folded over lines, never cut: users copy it
    for d in found:
        if d["status"] == "ok":
            t.add_row(d["name"], d["vendor"], "instrument" if d["is_instrument"] else "effect",
                      str(d["latency_samples"]), d["path"])
        else:
            reason = d["reason"]  # names the bundle already, as a rule
            t.add_row("[red]denied[/]", "", "", "", reason if reason.startswith(d["path"]) else f"{d['path']}: {reason}")
    console.print(t)
    return 0


def print_folders(console, folders, found) -> None:
    """Which folders were scanned, how many plugins each held, and which do not exist."""
    existing = [f for f in folders if Path(f).is_dir()]
    if not existing:
        console.print("no plugin folder exists; scanned none of: " + ", ".join(str(f) for f in folders)
                      + " (add one with --plugin-path DIR or MIXCORE_PLUGIN_PATH)", soft_wrap=True)
        return
    console.print("scanned:")
    for f in folders:
        if Path(f).is_dir():
            n = sum(Path(d["path"]).is_relative_to(f) for d in found)
            console.print(f"  {f}  ({n} plugin{'' if n == 1 else 's'})", soft_wrap=True)
        else:
            console.print(f"  {f}  (does not exist)", soft_wrap=True)
