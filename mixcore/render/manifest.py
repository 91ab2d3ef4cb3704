"""Render manifests: enough to repeat a render and prove it came out the same.

``write_manifest`` records versions, the session's canonical hash, every
input's hash (sources, MIDI files, plugin binaries and presets), the seed and
the output's hash. ``verify_manifest`` re-renders and names the first thing
that differs when the output does not match.
"""
from __future__ import annotations

import hashlib
import json
import platform
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import MixcoreError

PACKAGES = ("mixcore", "numpy", "pedalboard", "soundfile", "soxr", "mido", "pydantic")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    if path.is_dir():  # a plugin bundle: hash every file in a fixed order
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(path)).encode())
            h.update(bytes.fromhex(sha256_file(f)))
        return h.hexdigest()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def session_inputs(session) -> dict[str, Path]:
    """Every file the render reads, by a stable label."""
    from ..session.build import resolve

    m = session.model
    files: dict[str, Path] = {}
    for i, t in enumerate(m.tracks):
        files[f"tracks[{i}].source"] = resolve(session.base_dir, t.source)
        if t.instrument and isinstance(t.instrument.get("path"), str):
            files[f"tracks[{i}].instrument.path"] = resolve(session.base_dir, t.instrument["path"])
    for i, md in enumerate(m.midi):
        files[f"midi[{i}].file"] = resolve(session.base_dir, md.file)
    chains = [(f"tracks[{i}].chain", t.chain) for i, t in enumerate(m.tracks)]
    chains += [(f"buses[{i}].chain", b.chain) for i, b in enumerate(m.buses)] + [("master.chain", m.master.chain)]
    for where, chain in chains:
        for j, entry in enumerate(chain):
            for key in ("path", "preset"):
                if isinstance(entry.get(key), str):
                    files[f"{where}[{j}].{key}"] = resolve(session.base_dir, entry[key])
    return files


def build_manifest(session, output: Path) -> dict[str, Any]:
    from ..session.io import model_to_toml

    canon = model_to_toml(session.model)
    return {
        "manifest_version": 1,
        "versions": versions(),
        "session": str(session.path.resolve()) if session.path else None,
        "session_sha256": hashlib.sha256(canon.encode()).hexdigest(),
        "session_toml": canon,
        "base_dir": str(session.base_dir.resolve()),
        "inputs": {k: {"path": str(p.resolve()), "sha256": sha256_file(p)} for k, p in session_inputs(session).items()},
        "seed": session.model.seed,
        "sample_rate": session.sample_rate,
        "output": {"path": str(Path(output).resolve()), "sha256": sha256_file(Path(output))},
    }


def write_manifest(path: Path, session, result) -> None:
    from ..session.io import write_text_atomic

    data = build_manifest(session, result.path)
    data["output"]["frames"] = result.frames
    write_text_atomic(Path(path), json.dumps(data, indent=2) + "\n")


def verify_manifest(path: Path) -> tuple[bool, str]:
    """Re-render from the manifest; (True, message) on a match, else (False, first difference)."""
    from ..session import Session
    from ..session.io import model_from_dict

    import tomllib

    try:
        data = json.loads(Path(path).read_text())
        canon = data["session_toml"]
        expected = data["output"]["sha256"]
    except FileNotFoundError:
        raise MixcoreError(f"{path}: manifest not found") from None
    except (ValueError, KeyError, TypeError) as e:
        raise MixcoreError(f"{path}: not a mixcore manifest ({e})") from None
    session = Session(model_from_dict(tomllib.loads(canon), prefix=f"{path}: session_toml: "),
                      base_dir=Path(data["base_dir"]))
    for label, info in data["inputs"].items():
        p = Path(info["path"])
        if not p.exists():
            return False, f"input {label} is missing: {p}"
        if sha256_file(p) != info["sha256"]:
            return False, f"input {label} changed: {p}"
    now = versions()
    changed = [f"{k} {v} -> {now.get(k)}" for k, v in data.get("versions", {}).items() if now.get(k) != v]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / ("verify" + Path(data["output"]["path"]).suffix)
        session.render(out, meter=False)
        got = sha256_file(out)
    if got == expected:
        return True, "output matches " + expected[:16] + (f" (versions differ: {'; '.join(changed)})" if changed else "")
    if changed:
        return False, "output differs; versions changed: " + "; ".join(changed)
    return False, f"output differs ({got[:16]} != {expected[:16]}) with the same inputs and versions"
