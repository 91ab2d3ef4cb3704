"""Finding and describing plugins (``mixcore plugins list`` and ``mixcore plugins info``).

Every plugin is probed in a subprocess (``python -m mixcore.hosting.scan PATH``), so one that
crashes or hangs while loading cannot take the scan -- or the user's session -- down. A plugin
that fails is written to a persistent deny-list (``$MIXCORE_CACHE_DIR`` or ``~/.cache/mixcore``,
file ``plugin-denylist.json``) with the reason, and skipped by later scans until its bundle
changes or ``--rescan`` is given.

Folders scanned: the plugin folders (:mod:`.folders`): ``~/.vst3``, ``/usr/lib/vst3``,
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


def scan(folders: list[Path] | None = None, rescan: bool = False, timeout: float | None = None) -> list[dict[str, Any]]:
    """Probe every bundle in ``folders`` (default: :func:`default_folders`).

    Each result is a description with ``status = "ok"``, or ``{"path", "status": "denied",
    "reason"}``. Failures are added to the deny-list; denied bundles are not probed again unless
    they changed since or ``rescan`` is true.
    """
    from .folders import check_folder

    folders = list(folders) if folders is not None else default_folders()
    deny = load_denylist()
    out = []
    changed = False
    for path in find_bundles(folders):
        try:
            check_folder(path, "", folders)
        except MixcoreError as e:  # a symlink out of the plugin folders: not probed, not remembered
            out.append({"path": str(path), "status": "denied", "reason": str(e)})
            continue
        key = str(path.resolve())
        sig = _signature(path)
        known = deny.get(key)
        if known and not rescan and known.get("signature") == sig:
            out.append({"path": str(path), "status": "denied", "reason": known["reason"]})
            continue
        try:
            info = probe(path, timeout)
        except MixcoreError as e:
            deny[key] = {"reason": str(e), "signature": sig}
            changed = True
            out.append({"path": str(path), "status": "denied", "reason": str(e)})
            continue
        if deny.pop(key, None) is not None:
            changed = True
        info["status"] = "ok"
        out.append(info)
    if changed:
        save_denylist(deny)
    return out


if __name__ == "__main__":
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever the plugin prints goes to stderr; stdout carries only the description
    try:
        print(json.dumps(describe(Path(sys.argv[1]))), file=out, flush=True)
    except MixcoreError as e:
        print(f"mixcore: error: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:
        print(f"mixcore: error: {sys.argv[1]}: {' '.join(str(e).split())}", file=sys.stderr)
        sys.exit(2)
