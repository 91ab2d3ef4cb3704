"""Render manifests: enough to repeat a render and prove it came out the same.

``write_manifest`` records versions (and a hash of mixcore's own code, whose
version string does not change between commits), the session's canonical hash,
every input's hash (sources, MIDI files, plugin binaries and presets), every
hosted plugin's binary and state after loading, the seed and the output's hash.

``verify_manifest`` checks, in this order, and stops at the first difference:
the manifest itself (its session text against its hash), each input file, each
plugin (binary, then state), then re-renders; when the output differs it names
the versions that changed, or else the first sample that differs from the
original output (when that file is still there, unchanged).
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
    out["mixcore-code"] = code_hash()[:16]
    return out


def code_hash() -> str:
    """sha256 over mixcore's Python sources and compiled kernels (relative path + bytes, sorted)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".so", ".pyd", ".toml")
                   and "__pycache__" not in p.parts)
    for f in files:
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def plugin_records(session) -> dict[str, dict[str, Any]]:
    """Every hosted plugin of the session as loaded for a render: name, binary hash, state hash.

    Built from the session's graph, so plugins inside chain presets are included. The state is
    what the plugin reports after its path, preset, state and params are applied: ``raw_state``
    for a VST3 (asked of the worker for an isolated one), all parameter values for a pedalboard
    built-in (their defaults may change between pedalboard versions).
    """
    from ..session.build import build_graph

    graph = build_graph(session.model, session.base_dir, session.sample_rate)
    out: dict[str, dict[str, Any]] = {}
    try:
        for node in graph.nodes.values():
            src = node.source
            if src is not None and hasattr(src, "plugin"):  # a MIDI track's instrument
                track = next(t for t in session.model.tracks if t.name == node.name)
                out[f"{node.where}.instrument"] = _record(src.plugin.name, _entry_path(track.instrument, session),
                                                          src.plugin.raw_state)
            for k, proc in enumerate(node.processors):
                if proc.type_name not in ("vst3", "pedalboard"):
                    continue
                label = f"{node.where}.chain[{k}]"
                if hasattr(proc, "state_entry"):  # isolated
                    import base64

                    entry = proc.state_entry()
                    out[label] = _record(proc.plugin_name, _entry_path(proc.entry, session),
                                         base64.b64decode(entry.get("state", "")))
                elif proc.type_name == "vst3":
                    out[label] = _record(proc.name, _entry_path(proc.entry, session), proc.plugin.raw_state)
                else:
                    params = {k2: v for k2, v in sorted(proc.parameters.items())
                              if isinstance(v, (int, float, str, bool))}
                    out[label] = _record(proc.name, None, json.dumps(params, sort_keys=True).encode())
    finally:
        for node in graph.nodes.values():
            if node.source is not None:
                node.source.close()
            for proc in node.processors:
                if hasattr(proc, "close"):
                    proc.close()
    return out


def _entry_path(entry: dict, session) -> Path | None:
    from ..session.build import resolve

    return resolve(session.base_dir, entry["path"]) if isinstance(entry.get("path"), str) else None


def _record(name: str, path: Path | None, state: bytes) -> dict[str, Any]:
    rec: dict[str, Any] = {"name": str(name)}
    if path is not None:
        rec["path"] = str(Path(path).resolve())
        rec["binary_sha256"] = sha256_file(Path(path))
    rec["state_sha256"] = hashlib.sha256(bytes(state)).hexdigest()
    return rec


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


def build_manifest(session, output: Path, written: Path | None = None) -> dict[str, Any]:
    """The manifest of a render to ``output``; its bytes are read from ``written`` when given (the
    temporary file of a render not yet committed)."""
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
        "plugins": plugin_records(session),
        "seed": session.model.seed,
        "sample_rate": session.sample_rate,
        "resampled": session.resampled_sources(),
        "output": {"path": str(Path(output).resolve()), "sha256": sha256_file(Path(written or output))},
    }


def write_manifest(path: Path, session, result, commit=None) -> None:
    """Write the manifest of ``result``; with ``commit`` (a CommitSet holding the render's staged
    output) it is staged there too, to be renamed into place with the output."""
    from ..render.commit import outputs_of

    with outputs_of(commit) as outputs:
        data = build_manifest(session, result.path, outputs.staged(result.path))
        data["output"]["frames"] = result.frames
        outputs.write_bytes(Path(path), (json.dumps(data, indent=2) + "\n").encode("utf-8"), "--manifest")


def verify_manifest(path: Path) -> tuple[bool, str]:
    """Re-render from the manifest; (True, message) on a match, else (False, first difference)."""
    from ..session import Session
    from ..session.io import model_from_dict

    import tomllib

    try:
        data = json.loads(Path(path).read_text())
        canon = data["session_toml"]
        expected = data["output"]["sha256"]
        inputs = data["inputs"]
        recorded_hash = data["session_sha256"]
    except FileNotFoundError:
        raise MixcoreError(f"{path}: manifest not found") from None
    except (ValueError, KeyError, TypeError) as e:
        raise MixcoreError(f"{path}: not a mixcore manifest ({e})") from None
    if hashlib.sha256(canon.encode()).hexdigest() != recorded_hash:
        return False, "the manifest's session_toml does not match its session_sha256 (the manifest was edited)"
    session = Session(model_from_dict(tomllib.loads(canon), prefix=f"{path}: session_toml: "),
                      base_dir=Path(data["base_dir"]))
    for label, info in inputs.items():
        p = Path(info["path"])
        if not p.exists():
            return False, f"input {label} is missing: {p}"
        if sha256_file(p) != info["sha256"]:
            return False, f"input {label} changed: {p}"
    if "plugins" in data:
        now_plugins = plugin_records(session)
        for label, rec in data["plugins"].items():
            got = now_plugins.get(label)
            if got is None:
                return False, f"plugin {label} ({rec.get('name')}) is no longer in the session"
            if got.get("binary_sha256") != rec.get("binary_sha256"):
                return False, f"plugin {label} ({rec.get('name')}) binary changed: {rec.get('path')}"
            if got["state_sha256"] != rec["state_sha256"]:
                return False, (f"plugin {label} ({rec.get('name')}) loads with a different state "
                               f"(state {got['state_sha256'][:16]} != {rec['state_sha256'][:16]})")
    now = versions()
    changed = [f"{k} {v} -> {now.get(k)}" for k, v in data.get("versions", {}).items() if now.get(k) != v]
    original = Path(data["output"]["path"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / ("verify" + original.suffix)
        session.render(out, meter=False)
        got = sha256_file(out)
        if got == expected:
            return True, "output matches " + expected[:16] + (f" (versions differ: {'; '.join(changed)})" if changed else "")
        where = _first_difference(original, out, expected, session.sample_rate)
    if changed:
        return False, f"output differs{where}; versions changed: " + "; ".join(changed)
    return False, f"output differs ({got[:16]} != {expected[:16]}){where} with the same inputs, plugins and versions"


def _first_difference(original: Path, again: Path, expected: str, sample_rate: int) -> str:
    """``" from sample N (t s)"`` when the original output is still there and unchanged, else ``""``."""
    import numpy as np
    import soundfile as sf

    if not original.is_file() or sha256_file(original) != expected:
        return ""
    a, _ = sf.read(str(original), always_2d=True, dtype="float64")
    b, _ = sf.read(str(again), always_2d=True, dtype="float64")
    n = min(len(a), len(b))
    diff = np.nonzero(np.any(a[:n] != b[:n], axis=1))[0]
    if len(diff):
        return f" from sample {diff[0]} ({diff[0] / sample_rate:.3f} s)"
    return f" in length ({len(b)} frames, was {len(a)})" if len(a) != len(b) else " in the file's metadata"
