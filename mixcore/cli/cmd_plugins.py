"""``mixcore plugins list [--plugin-path DIR] [--rescan] [--json]`` and
``mixcore plugins info PATH [--plugin-path DIR] [--json]``.

``list`` probes every VST3 in the plugin folders (the standard ones, ``MIXCORE_PLUGIN_PATH`` and
``--plugin-path``), each in a subprocess, and every LV2 bundle in the LV2 folders (one subprocess
for them all, a new one after a crash); plugins that crash or hang while loading go to a
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
HELP = ("find VST3 and LV2 plugins in the plugin folders (standard ones, MIXCORE_PLUGIN_PATH, --plugin-path), "
        "describe one or check its latency")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="plugins_command", metavar="{list,info,check}", parser_class=type(p))
    sub.required = True
    ls = sub.add_parser("list", help="scan for plugins; crashing or hanging ones go to a deny-list",
                        description="Scan for plugins; crashing or hanging ones go to a deny-list.")
    ls.add_argument("--plugin-path", "--path", dest="plugin_path", type=Path, action="append", default=[],
                    metavar="DIR", help="also scan DIR, a plugin folder for this command (repeatable)")
    ls.add_argument("--rescan", action="store_true", help="probe denied plugins again")
    ls.add_argument("--format", choices=("all", "vst3", "lv2"), default="all",
                    help="which plugin formats to list (default: all)")
    ls.add_argument("--json", action="store_true", help="print a JSON list")
    info = sub.add_parser("info", help="name, vendor, version, category, parameters and latency of a plugin",
                          description="Name, vendor, version, category, parameters and latency of a plugin.")
    info.add_argument("path", type=Path, help="a .vst3 bundle or an LV2 plugin URI")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    plugin_path.add_argument(info)
    chk = sub.add_parser("check", help="measure a plugin's latency (impulse and sweep) beside what it reports",
                         description="Measure a plugin's latency with an impulse and a swept sine (cross-correlation) "
                                     "and print it beside the latency the plugin reports; exit status 1 when they "
                                     "differ. PLUGIN is an LV2 URI or a .vst3 bundle.")
    chk.add_argument("plugin", help="an LV2 plugin URI or a .vst3 bundle")
    chk.add_argument("--channels", type=int, choices=(1, 2), default=None,
                     help="channels to test with (default: the plugin's own, else 2)")
    chk.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="set a parameter first (repeatable; LV2: port symbol)")
    chk.add_argument("--json", action="store_true", help="print one JSON object")
    plugin_path.add_argument(chk)


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

    from ..hosting.folders import check_folder, lv2_folders, plugin_folders
    from ..hosting.scan import probe, scan

    plugin_path.apply(args)
    console = Console(highlight=False)
    if args.plugins_command == "check":
        return _check(args, console)
    if args.plugins_command == "info" and not args.path.exists() and ":" in str(args.path):
        return _lv2_info(str(args.path).replace(":/", "://", 1) if "://" not in str(args.path) else str(args.path),
                         args, console)
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
    formats = ("vst3", "lv2") if args.format == "all" else (args.format,)
    folders = plugin_folders()
    found = scan(folders, rescan=args.rescan, formats=formats)
    if args.json:
        print(json.dumps(found))
        return 0
    print_folders(console, [*(folders if "vst3" in formats else []), *(lv2_folders() if "lv2" in formats else [])],
                  found)
    ok = sum(d["status"] == "ok" for d in found)
    t = Table(title=f"{ok} plugin{'' if ok == 1 else 's'} ({len(found) - ok} denied)", box=None)
    for col in ("format", "name", "vendor", "kind", "latency", "path or URI"):
        t.add_column(col, overflow="fold")  # a path is folded over lines, never cut: users copy it
    for d in found:
        if d["status"] != "ok":
            reason = d["reason"]  # names the bundle already, as a rule
            t.add_row(d.get("format", "vst3"), "[red]denied[/]", "", "", "",
                      reason if reason.startswith(d["path"]) else f"{d['path']}: {reason}")
        elif d["format"] == "lv2":
            sc = f" +{d['sidechain_inputs']} sc" if d["sidechain_inputs"] else ""
            lat = "-" if d["latency_samples"] is None else str(d["latency_samples"])
            t.add_row("lv2", d["name"], d["vendor"], f"{d['inputs']}{sc} in, {d['outputs']} out", lat, d["uri"])
        else:
            t.add_row("vst3", d["name"], d["vendor"], "instrument" if d["is_instrument"] else "effect",
                      str(d["latency_samples"]), d["path"])
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
            n = sum(Path(d["path"]).is_relative_to(f) for d in found if d.get("path"))
            console.print(f"  {f}  ({n} plugin{'' if n == 1 else 's'})", soft_wrap=True)
        else:
            console.print(f"  {f}  (does not exist)", soft_wrap=True)


def _check(args: argparse.Namespace, console) -> int:
    import tomllib

    from ..errors import MixcoreError
    from ..hosting import make_hosted
    from ..hosting.check import check

    params = {}
    for item in args.param:
        name, eq, text = item.partition("=")
        if not eq:
            raise MixcoreError(f"--param: expected NAME=VALUE, got {item!r}")
        try:
            params[name] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            params[name] = text
    if Path(args.plugin).suffix == ".vst3" or Path(args.plugin).exists():
        entry = {"type": "vst3", "path": str(Path(args.plugin).absolute()), "params": params}
        where = "plugin"
    else:
        entry = {"type": "lv2", "uri": args.plugin, "params": params}
        where = "plugin"
    proc = make_hosted(entry, Path.cwd(), where)
    channels = args.channels
    if channels is None:
        info = getattr(proc, "info", None)
        n = len(info.audio(True)) if info is not None else 2
        channels = n if n in (1, 2) else 2
    m = check(proc, channels)
    name = getattr(proc, "name", args.plugin)
    if args.json:
        print(json.dumps({"plugin": args.plugin, "name": name, "channels": channels, "reported": m.reported,
                          "impulse": m.impulse, "sweep": m.sweep, "agrees": m.agrees}))
    else:
        verdict = "[green]agrees[/]" if m.agrees else "[red]DIFFERS[/]"
        console.print(f"{name}: latency reported {m.reported} samples; measured {m.impulse} (impulse), "
                      f"{m.sweep} (sweep): {verdict}", soft_wrap=True)
        if not m.agrees and m.measured is not None:
            console.print(f"  a session can use the measured value: latency_samples = \"measured\"")
    return 0 if m.agrees else 1


def _lv2_info(uri: str, args: argparse.Namespace, console) -> int:
    """An LV2 plugin's description from its Turtle (its binary is not loaded): ports by symbol."""
    import math

    from rich.table import Table

    from ..hosting.lv2 import check_trust, find_plugin

    info, _w = find_plugin(uri, "plugin")
    check_trust(info, "plugin")
    ins, outs, sc = info.audio(True), info.audio(False), info.audio(True, sidechain=True)

    def num(x: float):
        return None if not math.isfinite(x) else float(str(__import__("numpy").float32(x)))

    ports = [{"symbol": p.symbol, "name": p.name, "min": num(p.lo), "max": num(p.hi), "default": num(p.default),
              "unit": p.unit or None, "toggled": p.toggled, "integer": p.integer,
              "labels": dict(p.points) or None} for p in info.controls()]
    d = {"format": "lv2", "uri": info.uri, "name": info.name, "vendor": info.author, "path": str(info.bundle),
         "inputs": len(ins), "outputs": len(outs), "sidechain_inputs": len(sc),
         "required_features": info.required, "presets": sorted(info.presets.values()), "parameters": ports}
    if args.json:
        print(json.dumps(d))
        return 0
    console.print(f"[bold]{info.name}[/] by {info.author} (LV2, {len(ins)} in"
                  f"{f' + {len(sc)} sidechain' if sc else ''}, {len(outs)} out) in {info.bundle}", soft_wrap=True)
    if info.presets:
        console.print("presets: " + ", ".join(sorted(info.presets.values())), soft_wrap=True)
    t = Table(box=None)
    for col in ("symbol", "range", "default", "unit", "name"):
        t.add_column(col)
    for q in ports:
        rng = "true | false" if q["toggled"] else " | ".join(f"{v:g} {k!r}" for k, v in q["labels"].items()) \
            if q["labels"] else f"{q['min']:g} .. {q['max']:g}" if q["min"] is not None and q["max"] is not None else ""
        t.add_row(q["symbol"], rng, "" if q["default"] is None else f"{q['default']:g}", q["unit"] or "", q["name"])
    console.print(t)
    console.print("latency: 'mixcore plugins check URI' measures it beside what the plugin reports")
    return 0
