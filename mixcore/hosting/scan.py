"""Finding and describing plugins (``mixcore plugins list`` and ``mixcore plugins info``).

Every plugin is probed in a subprocess (``python -m mixcore.hosting.scan PATH``), so one that
crashes or hangs while loading cannot take the scan -- or the user's session -- down. A plugin
that fails is written to a persistent deny-list (``$MIXCORE_CACHE_DIR`` or ``~/.cache/mixcore``,
file ``plugin-denylist.json``) with the reason, and skipped by later scans until its bundle
changes or ``--rescan`` is given.

LV2 plugins are found through liblilv in the LV2 folders (:func:`.folders.lv2_folders`: ``~/.lv2``,
``/usr/lib/lv2``, ``/usr/local/lib/lv2``, ``LV2_PATH``, ``MIXCORE_PLUGIN_PATH``, ``--plugin-path``) and
probed one bundle per subprocess (a bundle may hold many plugins in one binary); the deny-list holds
bundles of both formats.

VST3 folders scanned: the plugin folders (:mod:`.folders`): ``~/.vst3``, ``/usr/lib/vst3``,
``/usr/local/lib/vst3`` (the VST3 standard locations on Linux), every folder in
``MIXCORE_PLUGIN_PATH`` (separated by ``os.pathsep``) and those given with ``--plugin-path``. A
bundle found there whose real path leads outside them (a symlink) is reported, never probed. A
denied plugin is also refused by every session that names it (:func:`.folders.check_plugin`).
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import MixcoreError

#: Seconds a plugin may take to load and describe itself before it is considered hung.
PROBE_TIMEOUT_S = 60.0
PROBE_SAMPLE_RATE = 48000.0
PROBE_BLOCK = 512


def default_folders() -> list[Path]:
    """The plugin folders: the standard ones, then ``MIXCORE_PLUGIN_PATH``, then ``--plugin-path``."""
    from .folders import plugin_folders

    return plugin_folders()


def denylist_path() -> Path:
    base = Path(os.environ.get("MIXCORE_CACHE_DIR") or Path.home() / ".cache" / "mixcore")
    return base / "plugin-denylist.json"


def _signature(path: Path) -> str:
    """Changes when the bundle is rebuilt or replaced (newest modification time inside it)."""
    try:
        newest = max((p.stat().st_mtime_ns for p in [path, *path.rglob("*")]), default=0)
    except OSError:
        newest = 0
    return str(newest)


def load_denylist() -> dict[str, dict[str, str]]:
    """{resolved bundle path: {"reason": ..., "signature": ...}}; a missing or broken file is empty."""
    try:
        data = json.loads(denylist_path().read_text())
    except (FileNotFoundError, ValueError, OSError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict) and "reason" in v}


def save_denylist(deny: dict[str, dict[str, str]]) -> None:
    from ..session.io import write_text_atomic

    p = denylist_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(p, json.dumps(deny, indent=2, sort_keys=True) + "\n")


def denied(path: Path) -> str | None:
    """Why the bundle at ``path`` (a real path) is on the deny-list, or None (not there, or rebuilt since)."""
    deny = load_denylist()
    known = deny.get(str(path))
    if known is None or known.get("signature") != _signature(path):
        return None
    head, sep, rest = str(known["reason"]).partition(": ")
    return rest if sep and Path(head).name == path.name else str(known["reason"])


def _num(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def describe(path: Path) -> dict[str, Any]:
    """Load a plugin in *this* process and describe it: name, vendor, version, category,
    parameters (name, range, default, unit, choices) and the latency it reports once prepared
    for stereo at 48 kHz in blocks of 512."""
    import numpy as np

    from .vst3 import open_plugin

    path = Path(path)
    plugin = open_plugin(path, None, str(path))
    params = []
    for name, p in plugin.parameters.items():
        value = getattr(plugin, name)
        kind = "bool" if p.type is bool else "choice" if p.type is str else "float"
        params.append({
            "name": name,
            "label": p.name,
            "unit": p.label or None,
            "kind": kind,
            "min": _num(float(p.min_value)) if kind == "float" and p.min_value is not None else None,
            "max": _num(float(p.max_value)) if kind == "float" and p.max_value is not None else None,
            "default": bool(value) if kind == "bool" else str(value) if kind == "choice" else float(value),
            "choices": [str(v) for v in p.valid_values] if kind == "choice" else None,
            "boolean": kind == "bool",
        })
    if plugin.is_instrument:
        plugin([], duration=PROBE_BLOCK / PROBE_SAMPLE_RATE, sample_rate=PROBE_SAMPLE_RATE, num_channels=2,
               buffer_size=PROBE_BLOCK, reset=True)
    else:
        plugin.process(np.zeros((2, PROBE_BLOCK), np.float32), PROBE_SAMPLE_RATE, buffer_size=PROBE_BLOCK, reset=True)
    return {
        "path": str(path), "name": plugin.name, "vendor": plugin.manufacturer_name, "version": plugin.version,
        "category": plugin.category, "identifier": plugin.identifier, "is_instrument": bool(plugin.is_instrument),
        "latency_samples": int(plugin.reported_latency_samples), "parameters": params,
    }


def describe_lv2_bundle(bundle: Path) -> list[dict[str, Any]]:
    """Describe every LV2 plugin of ``bundle`` in *this* process: URI, name, author, audio ports and the
    latency each reports once instantiated at 48 kHz (None where it cannot be run: an instrument, a
    layout or a feature mixcore does not host, with the reason in ``note``)."""
    from ..processors.base import ProcessSpec
    from .lv2 import LV2Processor, check_features, lv2_world

    w = lv2_world()
    out = []
    for uri in w.uris():
        info = w.plugin(uri)
        if info is None or info.bundle != bundle:
            continue
        ins, outs, sc = info.audio(True), info.audio(False), info.audio(True, sidechain=True)
        d: dict[str, Any] = {"format": "lv2", "uri": uri, "name": info.name, "vendor": info.author,
                             "path": str(bundle), "inputs": len(ins), "outputs": len(outs),
                             "sidechain_inputs": len(sc), "latency_samples": None, "note": None,
                             "presets": sorted(info.presets.values())}
        try:
            check_features(info, "")
            if not (len(ins) == len(outs) and len(ins) in (1, 2)):
                raise MixcoreError(f"{len(ins)} audio input(s), {len(outs)} output(s): not hosted")
            proc = LV2Processor(info, w)
            proc.prepare(ProcessSpec(PROBE_SAMPLE_RATE, PROBE_BLOCK, len(ins)))
            d["latency_samples"] = proc.plugin_latency
            proc.close()
        except MixcoreError as e:
            d["note"] = str(e).removeprefix(".uri: ")
        out.append(d)
    return out


def probe(path: Path, timeout: float | None = None) -> dict[str, Any]:
    """``describe`` in a subprocess; a crash, a hang or a load error becomes a one-line MixcoreError."""
    timeout = PROBE_TIMEOUT_S if timeout is None else timeout
    path = Path(path)
    if not path.exists():
        raise MixcoreError(f"{path}: plugin not found")
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    try:
        r = subprocess.run([sys.executable, "-m", "mixcore.hosting.scan", str(path)], capture_output=True,
                           text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise MixcoreError(f"{path}: plugin hung while loading (no answer within {timeout:g} s)") from None
    if r.returncode < 0:
        try:
            sig = signal.Signals(-r.returncode).name
        except ValueError:
            sig = f"signal {-r.returncode}"
        raise MixcoreError(f"{path}: plugin crashed while loading ({sig})")
    if r.returncode != 0:
        lines = [ln for ln in (r.stderr or "").strip().splitlines() if ln.strip()]
        reason = lines[-1].removeprefix("mixcore: error: ") if lines else f"exit status {r.returncode}"
        raise MixcoreError(reason if reason.startswith(str(path)) else f"{path}: cannot load plugin: {reason}")
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise MixcoreError(f"{path}: the plugin printed something that is not a description") from None


def find_bundles(folders: list[Path]) -> list[Path]:
    """Every ``*.vst3`` bundle under ``folders`` (not descending into bundles), in order, once."""
    found: list[Path] = []
    seen: set[Path] = set()
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in sorted(folder.rglob("*.vst3")):
            if any(q.suffix == ".vst3" for q in p.parents) or p.resolve() in seen:
                continue
            seen.add(p.resolve())
            found.append(p)
    return found


def scan(folders: list[Path] | None = None, rescan: bool = False, timeout: float | None = None,
         formats: tuple[str, ...] = ("vst3",)) -> list[dict[str, Any]]:
    """Probe every VST3 bundle in ``folders`` (default: :func:`default_folders`) and, with ``"lv2"`` in
    ``formats`` (as ``mixcore plugins list`` asks), every LV2 bundle of the LV2 folders.

    Each result is a description with ``status = "ok"``, or ``{"path", "status": "denied",
    "reason"}``. Failures are added to the deny-list; denied bundles are not probed again unless
    they changed since or ``rescan`` is true.
    """
    from .folders import check_folder

    folders = list(folders) if folders is not None else default_folders()
    deny = load_denylist()
    out = []
    changed = False
    for path in find_bundles(folders) if "vst3" in formats else []:
        try:
            check_folder(path, "", folders)
        except MixcoreError as e:  # a symlink out of the plugin folders: not probed, not remembered
            out.append({"format": "vst3", "path": str(path), "status": "denied", "reason": str(e)})
            continue
        key = str(path.resolve())
        sig = _signature(path)
        known = deny.get(key)
        if known and not rescan and known.get("signature") == sig:
            out.append({"format": "vst3", "path": str(path), "status": "denied", "reason": known["reason"]})
            continue
        try:
            info = probe(path, timeout)
        except MixcoreError as e:
            deny[key] = {"reason": str(e), "signature": sig}
            changed = True
            out.append({"format": "vst3", "path": str(path), "status": "denied", "reason": str(e)})
            continue
        if deny.pop(key, None) is not None:
            changed = True
        info["status"] = "ok"
        info["format"] = "vst3"
        out.append(info)
    todo = []
    for path in _lv2_bundles() if "lv2" in formats else []:
        key = str(path.resolve())
        known = deny.get(key)
        if known and not rescan and known.get("signature") == _signature(path):
            out.append({"format": "lv2", "path": str(path), "status": "denied", "reason": known["reason"]})
        else:
            todo.append(path)
    for path, result in probe_lv2(todo, timeout).items():
        key = str(path.resolve())
        if isinstance(result, MixcoreError):
            deny[key] = {"reason": str(result), "signature": _signature(path)}
            changed = True
            out.append({"format": "lv2", "path": str(path), "status": "denied", "reason": str(result)})
            continue
        if deny.pop(key, None) is not None:
            changed = True
        out += [{**d, "status": "ok"} for d in result]
    if changed:
        save_denylist(deny)
    return out


def probe_lv2(bundles: list[Path], timeout: float | None = None) -> dict[Path, Any]:
    """:func:`describe_lv2_bundle` of each bundle, in one subprocess that answers a line per bundle
    (an LV2 scan loads dozens of bundles: one process each would cost seconds apiece). A bundle that
    crashes or hangs the subprocess gets a MixcoreError; a new subprocess goes on with the next."""
    import select
    import time

    timeout = PROBE_TIMEOUT_S if timeout is None else timeout
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    from .folders import ENV, extra_folders

    env[ENV] = os.pathsep.join(str(f) for f in extra_folders())  # the child's LV2 world: the same folders
    results: dict[Path, Any] = {}
    remaining = list(bundles)
    while remaining:
        p = subprocess.Popen([sys.executable, "-m", "mixcore.hosting.scan", "--lv2", *map(str, remaining)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                             env=env, text=True)
        deadline = time.monotonic() + timeout
        try:
            while remaining:
                ready, _, _ = select.select([p.stdout], [], [], max(0.0, deadline - time.monotonic()))
                line = p.stdout.readline() if ready else None
                if not line:
                    break
                try:
                    answer = json.loads(line)
                except ValueError:
                    continue
                bundle = remaining.pop(0)
                results[bundle] = (MixcoreError(f"{bundle}: cannot load plugin: {answer['error']}")
                                   if "error" in answer else answer["plugins"])
                deadline = time.monotonic() + timeout
            if not remaining:
                break
            bundle = remaining.pop(0)  # the one the subprocess was working on
            if line is None:
                p.kill()
                p.wait()
                results[bundle] = MixcoreError(f"{bundle}: plugin hung while loading (no answer within {timeout:g} s)")
            else:
                code = p.wait()
                try:
                    sig = signal.Signals(-code).name if code < 0 else f"exit status {code}"
                except ValueError:
                    sig = f"signal {-code}"
                results[bundle] = MixcoreError(f"{bundle}: plugin crashed while loading ({sig})")
        finally:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdout.close()
    return results


def _lv2_bundles() -> list[Path]:
    """The bundles of the LV2 world (LV2 folders only) whose real paths stay in them; none without liblilv."""
    from .folders import check_folder, lv2_folders
    from .lilv import available

    if not available():
        return []
    from .lv2 import lv2_world

    w = lv2_world()
    folders = lv2_folders()
    bundles: list[Path] = []
    for uri in w.uris():
        info = w.plugin(uri)
        if info is not None and info.bundle not in bundles:
            try:
                check_folder(info.bundle, "", folders)
            except MixcoreError:
                continue
            bundles.append(info.bundle)
    return bundles


if __name__ == "__main__":
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the plugin prints goes to stderr; stdout carries only the description
    try:
        if sys.argv[1] == "--lv2":  # one line per bundle, each as soon as it is described
            for arg in sys.argv[2:]:
                try:
                    answer = {"plugins": describe_lv2_bundle(Path(arg))}
                except Exception as e:  # noqa: BLE001 -- a plugin's failure, reported for its bundle
                    answer = {"error": " ".join(str(e).split())}
                print(json.dumps(answer), file=out, flush=True)
        else:
            print(json.dumps(describe(Path(sys.argv[1]))), file=out, flush=True)
    except MixcoreError as e:
        print(f"mixcore: error: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:
        print(f"mixcore: error: {sys.argv[1]}: {' '.join(str(e).split())}", file=sys.stderr)
        sys.exit(2)
