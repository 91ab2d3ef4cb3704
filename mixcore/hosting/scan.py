"""Finding and describing plugins. Every plugin is probed in a subprocess, so one that crashes or
hangs while loading is recorded in a persistent deny-list with the reason instead of taking the
scan (or the user's session) down.

    python -m mixcore.hosting.scan PATH     # probe one plugin, print JSON (used by the scanner)
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

PROBE_TIMEOUT_S = 60.0


def default_folders() -> list[Path]:
    """The standard VST3 folders on Linux plus every folder in MIXCORE_PLUGIN_PATH."""
    folders = [Path.home() / ".vst3", Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3")]
    extra = os.environ.get("MIXCORE_PLUGIN_PATH", "")
    folders += [Path(p) for p in extra.split(os.pathsep) if p]
    return folders


def denylist_path() -> Path:
    base = Path(os.environ.get("MIXCORE_CACHE_DIR") or Path.home() / ".cache" / "mixcore")
    return base / "plugin-denylist.json"


def load_denylist() -> dict[str, str]:
    p = denylist_path()
    try:
        return json.loads(p.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def save_denylist(deny: dict[str, str]) -> None:
    from ..session.io import write_text_atomic

    p = denylist_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(p, json.dumps(deny, indent=2, sort_keys=True) + "\n")


def _num(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def describe(path: Path, sample_rate: float = 48000.0, block: int = 512) -> dict[str, Any]:
    """Load a plugin in this process and describe it (name, vendor, parameters, latency)."""
    import numpy as np

    from . import load_plugin

    proc = load_plugin(path, where=str(path))
    plugin = proc.plugin
    params = []
    for name, p in plugin.parameters.items():
        valid = list(getattr(p, "valid_values", None) or [])
        choices = [str(v) for v in valid] if valid and not all(isinstance(v, (int, float)) for v in valid) else None
        value = getattr(plugin, name)
        boolean = bool(valid) and all(isinstance(v, bool) for v in valid)
        value = bool(value) if boolean else (float(value) if isinstance(value, (int, float)) else str(value))
        params.append({
            "name": name, "label": p.name, "unit": p.label or None,
            "min": _num(float(p.min_value)) if not (choices or boolean) else None,
            "max": _num(float(p.max_value)) if not (choices or boolean) else None,
            "default": value,
            "choices": None if boolean else choices, "boolean": boolean,
        })
    channels = 2
    if not plugin.is_instrument:
        plugin.process(np.zeros((channels, 1), np.float32), sample_rate, buffer_size=block, reset=True)
    return {
        "path": str(path), "name": plugin.name, "vendor": plugin.manufacturer_name, "version": plugin.version,
        "category": plugin.category, "identifier": plugin.identifier, "is_instrument": bool(plugin.is_instrument),
        "latency_samples": int(plugin.reported_latency_samples), "parameters": params,
    }


def probe(path: Path, timeout: float | None = None) -> dict[str, Any]:
    """``describe`` in a subprocess; a crash or hang becomes a MixcoreError naming the plugin."""
    timeout = PROBE_TIMEOUT_S if timeout is None else timeout
    path = Path(path)
    if not path.exists():
        raise MixcoreError(f"{path}: plugin not found")
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    try:
        r = subprocess.run([sys.executable, "-m", "mixcore.hosting.scan", str(path)], capture_output=True,
                           text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise MixcoreError(f"{path}: plugin hung while loading (no answer within {timeout:g} s)") from None
    if r.returncode < 0:
        raise MixcoreError(f"{path}: plugin crashed while loading ({signal.Signals(-r.returncode).name})")
    if r.returncode != 0:
        lines = (r.stderr or r.stdout).strip().splitlines()
        raise MixcoreError(lines[-1].removeprefix("mixcore: error: ") if lines else f"{path}: cannot load plugin")
    return json.loads(r.stdout)


def find_bundles(folders: list[Path]) -> list[Path]:
    found = []
    for folder in folders:
        if folder.is_dir():
            found += sorted(p for p in folder.rglob("*.vst3") if not any(q.suffix == ".vst3" for q in p.parents))
    return found


def scan(folders: list[Path] | None = None, rescan: bool = False) -> list[dict[str, Any]]:
    """Probe every bundle in ``folders``; failures go to the deny-list (skipped next time unless rescan)."""
    deny = {} if rescan else load_denylist()
    out = []
    changed = rescan
    for path in find_bundles(folders if folders is not None else default_folders()):
        key = str(path.resolve())
        if key in deny:
            out.append({"path": str(path), "status": "denied", "reason": deny[key]})
            continue
        try:
            info = probe(path)
            info["status"] = "ok"
            out.append(info)
        except MixcoreError as e:
            deny[key] = str(e)
            changed = True
            out.append({"path": str(path), "status": "denied", "reason": str(e)})
    if changed:
        save_denylist(deny)
    return out


if __name__ == "__main__":
    try:
        print(json.dumps(describe(Path(sys.argv[1]))))
    except MixcoreError as e:
        print(f"mixcore: error: {e}", file=sys.stderr)
        sys.exit(2)
