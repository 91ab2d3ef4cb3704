"""Hosting: third-party VST3/AU plugins and pedalboard's built-in effects as mixcore processors.

* :mod:`.pedalboard_adapter` -- :class:`PedalboardProcessor`, any pedalboard plugin with mixcore's
  lifecycle, fixed-size in-place blocks and an exactly known latency.
* :mod:`.vst3` -- :func:`load_plugin` and ``{ type = "vst3" }`` entries (params, preset, state).
* :mod:`.lv2` -- ``{ type = "lv2", uri = "..." }`` entries: LV2 plugins through liblilv (:mod:`.lilv`).
* :mod:`.builtin` -- ``{ type = "pedalboard", name = "Chorus" }`` entries.
* :mod:`.isolation` -- ``isolate = true``: the plugin in a worker process, crashes contained.
* :mod:`.scan` -- ``mixcore plugins list|info``: probing in subprocesses, a persistent deny-list.
* :mod:`.folders` -- the plugin folders: a session loads plugins from nowhere else (docs/SECURITY.md).

Honest limits (pedalboard 0.9.26): plugins get no tempo or playhead and no auxiliary (sidechain)
input, and pedalboard does not pass on a plugin's tail length (an entry's ``tail_s`` declares it).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import MixcoreError, short
from ..processors.base import Processor
from .builtin import builtin_names, builtin_state, make_builtin
from .folders import add_plugin_path, check_plugin, plugin_folders, plugin_path
from .pedalboard_adapter import PedalboardProcessor
from .vst3 import ON_CRASH, VST3_KEYS, VST3Processor, check_keys, load_plugin, make_vst3, resolve, vst3_state

HOSTED_TYPES = ("vst3", "pedalboard", "lv2")


def make_hosted(entry: dict, base_dir: Path, where: str, node: str = "") -> Processor:
    """Build a session chain entry of ``type`` ``vst3``, ``pedalboard`` or ``lv2``.

    ``base_dir`` resolves relative paths; ``where`` (e.g. ``tracks[2].chain[1]``) starts every
    error message; ``node`` (the track or bus name) goes into an isolated plugin's crash report.
    """
    if not isinstance(entry, dict):
        raise MixcoreError(f"{where}: a chain entry is a table with a 'type', got {short(entry)}")
    kind = entry.get("type")
    if kind == "lv2":
        from .lv2 import LV2_KEYS, find_plugin, make_lv2

        check_keys(entry, LV2_KEYS, where)
        isolate = _isolation(entry, where)
        if isolate:
            if entry.get("sidechain") is not None:
                raise MixcoreError(f"{where}.sidechain: an isolated plugin takes no sidechain yet; "
                                   f"drop isolate = true to feed it one")
            from .isolation import IsolatedProcessor

            make_lv2(entry, Path(base_dir), where, node)  # every check first, in this process (no binary loaded)
            info, _w = find_plugin(entry["uri"], where)
            return IsolatedProcessor(entry, Path(base_dir), where, node=node, checked=info.bundle.resolve())
        return make_lv2(entry, Path(base_dir), where, node)
    if "sidechain" in entry:
        raise MixcoreError(f"{where}.sidechain: a hosted plugin cannot take a sidechain (pedalboard gives plugins "
                           f"no auxiliary input); use a native processor such as 'compressor'")
    if kind == "pedalboard":
        proc = make_builtin(entry, Path(base_dir), where)
        object.__setattr__(proc, "node", node)  # named in the crash report
        return proc
    if kind != "vst3":
        raise MixcoreError(f"{where}.type: {short(kind)} is not a hosted type; expected one of {', '.join(HOSTED_TYPES)}")
    check_keys(entry, VST3_KEYS, where)
    if "path" not in entry:
        raise MixcoreError(f"{where}.path: required key is missing (the plugin bundle, e.g. path = \"Comp.vst3\")")
    isolate = _isolation(entry, where)
    # the gate: nothing of a bundle outside the plugin folders (or on the deny-list) is ever loaded
    path = resolve(Path(base_dir), entry["path"], f"{where}.path")
    checked = check_plugin(path, f"{where}.path")
    if isolate:
        from .isolation import IsolatedProcessor

        if not path.exists():
            raise MixcoreError(f"{where}.path: plugin not found: {path}")
        return IsolatedProcessor(entry, Path(base_dir), where, node=node, checked=checked)
    return make_vst3(entry, Path(base_dir), where, node, checked=checked)


def _isolation(entry: dict, where: str) -> bool:
    """``isolate`` (checked) and ``on_crash`` (only with it)."""
    isolate = entry.get("isolate", False)
    if not isinstance(isolate, bool):
        raise MixcoreError(f"{where}.isolate: expected true or false, got {short(isolate)}")
    if "on_crash" in entry:
        if entry["on_crash"] not in ON_CRASH:
            raise MixcoreError(f"{where}.on_crash: {short(entry['on_crash'])} is not one of {', '.join(ON_CRASH)}")
        if not isolate:
            raise MixcoreError(f"{where}.on_crash: only applies with isolate = true")
    return isolate


def hosted_state(proc: Processor) -> dict[str, Any]:
    """The chain entry that reproduces ``proc`` as it is now.

    For a VST3 the plugin's whole state is embedded as base64 (``state``), so a saved session
    renders the same even if the parameters were changed by hand or by a preset; for a pedalboard
    built-in, its current ``params``.
    """
    from .isolation import IsolatedProcessor

    if isinstance(proc, IsolatedProcessor):
        return proc.state_entry()
    if proc.type_name == "lv2":
        from .lv2 import lv2_state

        return lv2_state(proc)
    if isinstance(proc, VST3Processor):
        return vst3_state(proc)
    if isinstance(proc, PedalboardProcessor):
        if proc.is_external:  # pedalboard.load_plugin(...) wrapped directly: the bundle's path is unknown
            raise MixcoreError(f"{proc.name!r} was loaded with pedalboard.load_plugin, which keeps no path; load it "
                               f"with mixcore.load_plugin(path) to save it in a session")
        return builtin_state(proc)
    raise TypeError(f"not a hosted processor: {proc!r}")


__all__ = ["PedalboardProcessor", "VST3Processor", "load_plugin", "make_hosted", "hosted_state", "builtin_names",
           "HOSTED_TYPES", "add_plugin_path", "check_plugin", "plugin_folders", "plugin_path"]
