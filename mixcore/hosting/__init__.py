"""Hosting third-party plugins (VST3/AU through pedalboard) and pedalboard's built-in effects."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ..errors import MixcoreError, did_you_mean
from ..processors.base import Processor
from .pedalboard_adapter import PedalboardProcessor

VST3_KEYS = ("type", "id", "path", "plugin_name", "params", "preset", "state", "isolate", "on_crash", "tail_s")
PEDALBOARD_KEYS = ("type", "id", "name", "params", "tail_s")
_CONTAINERS = {"Plugin", "Pedalboard", "Chain", "Mix", "PluginContainer", "ExternalPlugin", "VST3Plugin",
               "AudioUnitPlugin", "Resample", "GSMFullRateCompressor", "MP3Compressor"}


def builtin_names() -> list[str]:
    import pedalboard

    return sorted(n for n in dir(pedalboard) if isinstance(getattr(pedalboard, n), type)
                  and issubclass(getattr(pedalboard, n), pedalboard.Plugin) and n not in _CONTAINERS
                  and not n.startswith("_"))


def _check_keys(entry: dict, allowed: tuple[str, ...], where: str) -> None:
    for k in entry:
        if k not in allowed:
            raise MixcoreError(f"{where}.{k}: unknown key{did_you_mean(k, allowed)}; expected {', '.join(allowed)}")


def _apply_params(proc: PedalboardProcessor, params: Any, where: str) -> None:
    if params is None:
        return
    if not isinstance(params, dict):
        raise MixcoreError(f"{where}.params: expected a table of parameter values, got {params!r}")
    for name, value in params.items():
        proc.set_param(name, value, where=f"{where}.params.")


def load_plugin(path: str | Path, *, plugin_name: str | None = None, where: str = "path", **params: Any) -> PedalboardProcessor:
    """Load a VST3 (or AU) plugin through pedalboard and set ``params``."""
    import pedalboard

    p = Path(path)
    if not p.exists():
        raise MixcoreError(f"{where}: plugin not found: {p}")
    try:
        plugin = pedalboard.load_plugin(str(p), plugin_name=plugin_name)
    except Exception as e:
        raise MixcoreError(f"{where}: cannot load plugin {p}: {' '.join(str(e).split())}") from None
    proc = PedalboardProcessor(plugin, id="vst3", entry={"type": "vst3", "path": str(p)})
    object.__setattr__(proc, "type_name", "vst3")
    _apply_params(proc, params, where.rsplit(".", 1)[0] if where.endswith(".path") else where)
    return proc


def make_hosted(entry: dict, base_dir: Path, where: str, node: str = "") -> Processor:
    """Build a ``vst3`` or ``pedalboard`` chain entry of a session."""
    import pedalboard

    kind = entry["type"]
    if "sidechain" in entry:
        raise MixcoreError(f"{where}.sidechain: hosted plugins cannot take a sidechain (pedalboard gives plugins "
                           f"no auxiliary input); use a native processor such as 'compressor'")
    tail = entry.get("tail_s", 0.0)
    if isinstance(tail, bool) or not isinstance(tail, (int, float)) or not 0 <= tail <= 30:
        raise MixcoreError(f"{where}.tail_s: expected 0 .. 30 s (how long the plugin rings on), got {tail!r}")
    if kind == "pedalboard":
        _check_keys(entry, PEDALBOARD_KEYS, where)
        name = entry.get("name")
        names = builtin_names()
        if name not in names:
            raise MixcoreError(f"{where}.name: {name!r} is not a pedalboard effect{did_you_mean(str(name), names)}; "
                               f"expected one of {', '.join(names)}")
        proc = PedalboardProcessor(getattr(pedalboard, name)(), id=entry.get("id", "pedalboard"), entry=entry)
        _apply_params(proc, entry.get("params"), where)
        return proc
    _check_keys(entry, VST3_KEYS, where)
    if "path" not in entry:
        raise MixcoreError(f"{where}.path: required key is missing (the .vst3 bundle)")
    if "isolate" in entry and not isinstance(entry["isolate"], bool):
        raise MixcoreError(f"{where}.isolate: expected true or false, got {entry['isolate']!r}")
    if "on_crash" in entry and not entry.get("isolate"):
        raise MixcoreError(f"{where}.on_crash: only applies with isolate = true")
    if entry.get("isolate"):
        from .isolation import IsolatedProcessor

        if not (Path(entry["path"]) if Path(entry["path"]).is_absolute() else base_dir / entry["path"]).exists():
            raise MixcoreError(f"{where}.path: plugin not found: {entry['path']}")
        return IsolatedProcessor(entry, base_dir, where, node=node)
    path = Path(entry["path"])
    path = path if path.is_absolute() else base_dir / path
    proc = load_plugin(path, plugin_name=entry.get("plugin_name"), where=f"{where}.path")
    object.__setattr__(proc, "id", entry.get("id", "vst3"))
    object.__setattr__(proc, "entry", dict(entry))
    if entry.get("preset"):
        preset = Path(entry["preset"])
        preset = preset if preset.is_absolute() else base_dir / preset
        if not preset.exists():
            raise MixcoreError(f"{where}.preset: file not found: {preset}")
        try:
            proc.plugin.load_preset(str(preset))
        except Exception as e:
            raise MixcoreError(f"{where}.preset: cannot load {preset}: {' '.join(str(e).split())}") from None
    if entry.get("state"):
        try:
            proc.plugin.raw_state = base64.b64decode(entry["state"], validate=True)
        except Exception as e:
            raise MixcoreError(f"{where}.state: not a valid base64 plugin state: {' '.join(str(e).split())}") from None
    _apply_params(proc, entry.get("params"), where)
    return proc


def hosted_state(proc: PedalboardProcessor) -> dict[str, Any]:
    """A chain entry that rebuilds ``proc`` as it is now (plugin state embedded for VST3s)."""
    if hasattr(proc, "state_entry"):  # isolated: ask the worker
        return proc.state_entry()
    entry = {k: v for k, v in proc.entry.items() if k not in ("state", "params", "preset")}
    if proc.type_name == "vst3":
        entry["state"] = base64.b64encode(proc.plugin.raw_state).decode("ascii")
    else:
        entry.setdefault("type", "pedalboard")
        entry.setdefault("name", type(proc.plugin).__name__)
        entry["params"] = {k: v for k, v in proc.parameters.items() if isinstance(v, (int, float, str, bool))}
    if proc.id not in ("vst3", "pedalboard"):
        entry["id"] = proc.id
    return entry


__all__ = ["PedalboardProcessor", "load_plugin", "make_hosted", "hosted_state", "builtin_names"]
