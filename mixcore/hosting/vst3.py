"""VST3 (and AU) plugins: ``mixcore.load_plugin`` and session entries ``{ type = "vst3", ... }``.

An entry's keys: ``path`` (the bundle, relative to the session file), ``plugin_name`` (one plugin
of a shell bundle), ``params`` (by pedalboard's identifiers), ``preset`` (a ``.vstpreset`` file),
``state`` (base64 of the plugin's own state, as ``hosted_state`` writes it), ``isolate`` and
``on_crash`` (run in a worker process, see :mod:`.isolation`), ``tail_s`` (how long the plugin
rings on after its input stops: pedalboard does not pass a plugin's own tail length on) and ``id``.
They are applied in the order state, preset, params, so ``params`` override a stored state.
"""
from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from ..errors import MixcoreError, cut, did_you_mean, short
from .pedalboard_adapter import PedalboardProcessor, one_line

VST3_KEYS = ("type", "id", "path", "plugin_name", "params", "preset", "state", "isolate", "on_crash", "tail_s")
ON_CRASH = ("error", "bypass")
MAX_TAIL_S = 30.0


class VST3Processor(PedalboardProcessor):
    """A loaded VST3/AU plugin. ``path`` is the bundle it came from."""

    type_name = "vst3"

    def __init__(self, plugin: Any, *, path: Path, plugin_name: str | None = None, id: str | None = None) -> None:
        super().__init__(plugin, id=id)
        object.__setattr__(self, "path", Path(path))
        object.__setattr__(self, "plugin_name", plugin_name)
        object.__setattr__(self, "entry_path", str(path))  # as the session wrote it (relative paths kept)
        object.__setattr__(self, "entry", {"type": "vst3", "path": str(path)})  # the chain entry it came from

    @property
    def is_instrument(self) -> bool:
        return bool(self.plugin.is_instrument)

    def play(self, messages: list, *, duration: float, sample_rate: float, num_channels: int, reset: bool,
             start: int = 0):
        """An instrument renders ``duration`` seconds of ``messages`` (mido, times in seconds from the
        chunk's start); the same call as :meth:`~.isolation.IsolatedProcessor.play` (``start`` unused)."""
        return self.plugin(messages, duration=duration, sample_rate=sample_rate, num_channels=num_channels,
                           reset=reset)


def check_keys(entry: dict, allowed: tuple[str, ...], where: str) -> None:
    for k in entry:
        if k not in allowed:
            raise MixcoreError(f"{where}.{cut(k)}: unknown key{did_you_mean(str(k), allowed)}; expected one of "
                               f"{', '.join(allowed)}")


def check_tail(entry: dict, where: str) -> float:
    tail = entry.get("tail_s", 0.0)
    if isinstance(tail, bool) or not isinstance(tail, (int, float)) or not 0 <= tail <= MAX_TAIL_S:
        raise MixcoreError(f"{where}.tail_s: expected 0 .. {MAX_TAIL_S:g} s (how long the plugin rings on "
                           f"after its input stops), got {short(tail)}")
    return float(tail)


def apply_params(proc: PedalboardProcessor, params: Any, where: str) -> None:
    """Set ``params`` (a table) on ``proc``; errors name ``<where>.params.<name>``."""
    if params is None:
        return
    if not isinstance(params, dict):
        raise MixcoreError(f"{where}.params: expected a table of parameter values, got {short(params)}")
    from ..params import check_written

    for name, value in params.items():
        check_written(proc._values.by_name.get(str(name)), value, f"{where}.params.")
        proc.set_param(str(name), value, where=f"{where}.params.")


def resolve(base_dir: Path, path: Any, key: str) -> Path:
    if not isinstance(path, (str, Path)) or not str(path):
        raise MixcoreError(f"{key}: expected a file path, got {short(path)}")
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


def open_plugin(path: Path, plugin_name: Any, where: str, real: Path | None = None) -> Any:
    """``pedalboard.load_plugin`` with one-line errors naming ``where`` (the key of the path) and
    ``path``; ``real`` (the checked real path, see :func:`.folders.check_plugin`) is what is loaded."""
    import pedalboard

    file = str(real if real is not None else path)
    if not path.exists():
        raise MixcoreError(f"{where}: plugin not found: {path}")
    if plugin_name is not None:
        key = where.rsplit(".", 1)[0] + ".plugin_name" if "." in where else "plugin_name"
        if not isinstance(plugin_name, str):
            raise MixcoreError(f"{key}: expected a string, got {plugin_name!r}")
        try:
            names = list(pedalboard.VST3Plugin.get_plugin_names_for_file(file))
        except Exception as e:
            raise MixcoreError(f"{where}: cannot load plugin {path}: {one_line(e)}") from None
        if plugin_name not in names:
            raise MixcoreError(f"{key}: {plugin_name!r} is not in {path.name}{did_you_mean(plugin_name, names)}; "
                               f"it holds {', '.join(map(repr, names))}")
    try:
        return pedalboard.load_plugin(file, plugin_name=plugin_name)
    except Exception as e:
        raise MixcoreError(f"{where}: cannot load plugin {path}: {one_line(e)}") from None


def load_plugin(path: str | Path, *, plugin_name: str | None = None, **params: Any) -> VST3Processor:
    """Load a VST3 (or AU) plugin through pedalboard, with ``params`` set by pedalboard's identifiers.

    >>> fx = mixcore.load_plugin("plugins/build/.../MixcoreTestEffect.vst3", gain_db=-6.0)
    >>> y = fx(x, 48000)   # one-shot, latency removed; or put it in a Chain or a Session
    """
    p = Path(path).expanduser()
    proc = VST3Processor(open_plugin(p, plugin_name, "path"), path=p, plugin_name=plugin_name, id="vst3")
    for name, value in params.items():
        proc.set_param(name, value)
    return proc


def load_state(proc: VST3Processor, state: Any, where: str) -> None:
    if not isinstance(state, str):
        raise MixcoreError(f"{where}.state: expected a base64 string of the plugin's state, got {type(state).__name__}")
    try:
        raw = base64.b64decode(state, validate=True)
    except (binascii.Error, ValueError) as e:
        raise MixcoreError(f"{where}.state: not valid base64 ({one_line(e)})") from None
    try:
        proc.plugin.raw_state = raw
    except Exception as e:
        raise MixcoreError(f"{where}.state: {proc.name!r} refused the state: {one_line(e)}") from None
    proc.sync_values()


def load_preset(proc: VST3Processor, preset: Path, where: str) -> None:
    from ..render.sources import check_regular

    check_regular(preset, f"{where}.preset")  # not a FIFO or device
    try:
        proc.plugin.load_preset(str(preset))
    except Exception as e:
        raise MixcoreError(f"{where}.preset: {proc.name!r} cannot load {preset}: {one_line(e)}") from None
    proc.sync_values()


def make_vst3(entry: dict, base_dir: Path, where: str, node: str = "", *, checked: Path) -> VST3Processor:
    """Build an in-process ``vst3`` entry (keys checked by the caller; ``node``: its track or bus).

    ``checked`` is the bundle's real path as :func:`.folders.check_plugin` returned it: the file
    that is loaded, so a path that changes after the check cannot lead elsewhere.
    """
    path = resolve(base_dir, entry.get("path"), f"{where}.path")
    ident = entry.get("id", "vst3")
    if not isinstance(ident, str) or not ident:
        raise MixcoreError(f"{where}.id: expected a non-empty string, got {ident!r}")
    proc = VST3Processor(open_plugin(path, entry.get("plugin_name"), f"{where}.path", Path(checked)), path=path,
                         plugin_name=entry.get("plugin_name"), id=ident)
    object.__setattr__(proc, "entry_path", str(entry["path"]))
    object.__setattr__(proc, "entry", dict(entry))
    object.__setattr__(proc, "where", where)
    object.__setattr__(proc, "node", node)  # named in a crash report
    object.__setattr__(proc, "tail_s", check_tail(entry, where))
    if entry.get("state") is not None:
        load_state(proc, entry["state"], where)
    if entry.get("preset") is not None:
        load_preset(proc, resolve(base_dir, entry["preset"], f"{where}.preset"), where)
    apply_params(proc, entry.get("params"), where)
    return proc


def vst3_state(proc: VST3Processor) -> dict[str, Any]:
    """The entry that rebuilds ``proc`` as it is now, with its state embedded (base64)."""
    entry: dict[str, Any] = {"type": "vst3", "path": proc.entry_path}
    if proc.plugin_name:
        entry["plugin_name"] = proc.plugin_name
    if proc.id != "vst3":
        entry["id"] = proc.id
    entry["state"] = base64.b64encode(bytes(proc.plugin.raw_state)).decode("ascii")
    if proc.tail_s:
        entry["tail_s"] = proc.tail_s
    return entry
