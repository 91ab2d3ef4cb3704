"""LV2 plugins: session entries ``{ type = "lv2", uri = "...", params = { symbol = value } }``.

An entry's keys: ``uri`` (the plugin, from the installed LV2 world), ``params`` (control input ports
by symbol, in the plugin's own units, checked against the port's range), ``preset`` (one of the
plugin's LV2 presets, by label or URI), ``sidechain`` (a track or bus feeding the plugin's sidechain
input), ``state`` (the LV2 State extension's properties, Turtle, as ``Session.save`` writes them),
``latency_samples`` (``"measured"``), ``isolate``, ``on_crash``, ``tail_s`` and ``id``. Applied in the
order state, preset, params. A saved session stores every control port's value in ``params`` and,
for a plugin with the State extension, its properties in ``state``.

Discovery is :mod:`.lilv` (ctypes over liblilv, loaded at run time); the instances, their host
features and the per-block ``run`` are :mod:`mixcore._dsp.lv2host` (Cython, ``run`` without the GIL).
Why the split is explained in :mod:`.lilv`.

* **Fixed blocks.** The plugin always runs on blocks of :data:`BLOCK` samples (the automation grid,
  ``CONTROL_INTERVAL``), through a FIFO that delays by exactly ``BLOCK``; with the plugin's own
  latency this is ``latency_samples``, which the router compensates on every path. So the output
  never depends on ``--block-size`` or threads, and a parameter set on the automation grid takes
  effect exactly there.
* **Latency, checked.** The plugin's latency port is read after a block of silence when it is
  prepared, and again after every block: a plugin whose reported latency changes while playing is
  an error, never a silent shift.
* **Channels.** A plugin with as many audio inputs and outputs as the track has channels runs
  once; a mono plugin on a stereo track runs as two instances (dual mono); a stereo plugin on a
  mono track gets the track on both inputs and gives the mean of its two outputs.
* **Features.** URID map/unmap, options, fixed/bounded/power-of-two block length and the worker
  extension, synchronous (:mod:`mixcore._dsp.lv2host`); a plugin requiring anything else is refused.
* **Trust.** The plugin's bundle and library must lie in the LV2 folders
  (:func:`.folders.lv2_folders`), checked before its binary is loaded.
"""
from __future__ import annotations

import difflib
import math
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._dsp import crashguard
from ..errors import MixcoreError, did_you_mean
from ..params import NameParam, Param, ParamSet
from ..processors.base import Processor, ProcessSpec
from ..render.automation import CONTROL_INTERVAL

#: Samples per ``run`` call: every LV2 plugin sees blocks of exactly this size.
BLOCK = CONTROL_INTERVAL
#: After a reset, blocks of silence run until the reported latency is the same twice (at most this many).
PRIME_BLOCKS = 64
#: Where a plugin's binary may also lead (by a symlink inside its bundle): the system's library folders.
SYSTEM_LIBRARY_FOLDERS = (Path("/usr/lib"), Path("/usr/local/lib"))
LV2_KEYS = ("type", "id", "uri", "params", "preset", "state", "sidechain", "tail_s", "latency_samples", "isolate",
            "on_crash")


def _f32(x: float) -> float:
    """A float read from a plugin's Turtle (as float32) with its shortest decimal: 0.1, not 0.100000001."""
    return float(str(np.float32(x))) if math.isfinite(x) else x


@dataclass(frozen=True, kw_only=True)
class LV2Param(Param):
    """A control input port, named by its symbol. ``points``: its scale points (label -> value)."""

    index: int = -1
    integer: bool = False
    toggled: bool = False
    enumeration: bool = False
    points: tuple[tuple[str, float], ...] = ()

    def validate(self, value: Any, where: str = "") -> Any:
        key = f"{where}{self.name}"
        if isinstance(value, str) and self.points:
            labels = dict(self.points)
            if value not in labels:
                raise MixcoreError(f"{key}: {value!r} is not one of {', '.join(map(repr, labels))}"
                                   f"{did_you_mean(value, labels)}")
            return float(labels[value])
        if self.toggled:
            if isinstance(value, bool) or (isinstance(value, (int, float)) and value in (0, 1)):
                return float(bool(value))
            raise MixcoreError(f"{key}: expected true or false, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MixcoreError(f"{key}: expected a number ({self.describe_range()}), got {value!r}")
        v = float(value)
        if not math.isfinite(v) or v < self.lo or v > self.hi:
            raise MixcoreError(f"{key}: {value!r} is out of range, expected {self.describe_range()}")
        if self.enumeration and self.points and v not in {p for _, p in self.points}:
            raise MixcoreError(f"{key}: {value!r} is not one of the plugin's values: "
                               + ", ".join(f"{p:g} ({label})" for label, p in self.points))
        if self.integer and v != round(v):
            raise MixcoreError(f"{key}: expected a whole number ({self.describe_range()}), got {value!r}")
        return v

    def describe_range(self) -> str:
        if self.toggled:
            return "true or false"
        return super().describe_range()


def _params(info) -> tuple[Param, ...]:
    out: list[Param] = []
    for p in info.controls():
        lo = _f32(p.lo) if math.isfinite(p.lo) else -math.inf
        hi = _f32(p.hi) if math.isfinite(p.hi) else math.inf
        default = _f32(p.default) if math.isfinite(p.default) else (lo if math.isfinite(lo) else 0.0)
        default = min(max(default, lo), hi)
        out.append(LV2Param(p.symbol, default=default, lo=lo, hi=hi, unit=p.unit, doc=p.name, index=p.index,
                            integer=p.integer, toggled=p.toggled, enumeration=p.enumeration,
                            points=tuple((k, _f32(v)) for k, v in p.points.items())))
    if any(p.sidechain for p in info.audio(True, sidechain=True)) and "sidechain" not in {p.name for p in out}:
        out.append(NameParam("sidechain", default=None, doc="track or bus feeding the plugin's sidechain input",
                             automatable=False))
    return tuple(out)


def _free_states(states: list[int]) -> None:
    from . import lilv

    for st in states:
        lilv.lib().lilv_state_free(st)
    states.clear()


def _free(instances: list[int], holder: dict) -> None:
    """Deactivate (if active) and free the instances (also when the processor is collected)."""
    from . import lilv

    runner = holder.pop("runner", None)
    if runner is not None:
        runner.deactivate()
    for a in instances:
        lilv.lib().lilv_instance_free(a)
    instances.clear()
    holder.pop("features", None)


class LV2Processor(Processor):
    """A hosted LV2 plugin with mixcore's lifecycle (see the module docstring)."""

    type_name = "lv2"
    TAKES_SIDECHAIN = True  # used when the plugin has a sidechain input (its ``sidechain`` parameter)

    def __init__(self, info, world, *, id: str | None = None, where: str = "", node: str = "") -> None:
        object.__setattr__(self, "info", info)
        object.__setattr__(self, "world", world)  # the plugin's description lives in it
        object.__setattr__(self, "PARAMS", _params(info))
        object.__setattr__(self, "_values", ParamSet(self.PARAMS))
        object.__setattr__(self, "spec", None)
        object.__setattr__(self, "id", id or "lv2")
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "node", node)
        object.__setattr__(self, "tail_s", 0.0)
        object.__setattr__(self, "_runner", None)
        object.__setattr__(self, "_controls", None)
        object.__setattr__(self, "_layout", None)  # (sample rate, channels) the instances were made for
        object.__setattr__(self, "_latency", 0)
        object.__setattr__(self, "_measured", False)
        object.__setattr__(self, "_fed", 0)  # samples processed since the reset (crash reports)
        object.__setattr__(self, "_fresh", False)  # instantiated and activated, nothing run yet
        object.__setattr__(self, "measure_latency", False)  # latency_samples = "measured"
        object.__setattr__(self, "_measured_latency", None)  # what was measured, per layout
        object.__setattr__(self, "_crash_text", b"")
        object.__setattr__(self, "_instances", [])
        object.__setattr__(self, "_holder", {})  # the Runner, for the finalizer
        object.__setattr__(self, "_states", [])  # LilvStates (state extension) restored into every new instance
        weakref.finalize(self, _free_states, self._states)
        object.__setattr__(self, "_finalizer", weakref.finalize(self, _free, self._instances, self._holder))

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def uri(self) -> str:
        return self.info.uri

    def __repr__(self) -> str:
        return f"LV2Processor({self.info.uri!r})"

    # -- parameters -----------------------------------------------------------------
    def set_param(self, name: str, value: Any, where: str = "") -> None:
        """Set a control port by symbol (validated against its range); takes effect from the
        plugin block that holds the current sample (exactly at it on the automation grid)."""
        p = self._values.by_name.get(name)
        if p is None:
            symbols = [q.name for q in self.PARAMS if isinstance(q, LV2Param)]
            raise MixcoreError(f"{where}{name}: {self.info.name!r} has no control port {name!r}"
                               f"{did_you_mean(name, symbols)}; its ports: {', '.join(symbols)}")
        v = p.validate(value, where)
        self._values.values[name] = v
        if isinstance(p, LV2Param) and self._controls is not None:
            self._controls[:, p.index] = v
            object.__setattr__(self, "_measured", False)  # the latency may follow a parameter
            object.__setattr__(self, "_measured_latency", None)

    def close(self) -> None:
        """Free the plugin's instances (prepare makes new ones)."""
        object.__setattr__(self, "_runner", None)
        object.__setattr__(self, "_controls", None)
        object.__setattr__(self, "_layout", None)
        self._finalizer()

    # -- lifecycle ------------------------------------------------------------------
    def _prepare(self, spec: ProcessSpec) -> None:
        layout = (spec.sample_rate, spec.num_channels)
        if layout == self._layout:  # only the maximum block changed: the FIFO does not care
            return
        self.close()
        object.__setattr__(self, "_finalizer", weakref.finalize(self, _free, self._instances, self._holder))
        self._instantiate(spec)
        object.__setattr__(self, "_layout", layout)
        object.__setattr__(self, "_measured_latency", None)

    def _measure(self) -> int:
        """The plugin's latency measured (impulse and sweep agreeing) on a twin with the same settings."""
        from .check import measure

        if self._measured_latency is None:
            twin = LV2Processor(self.info, self.world, where=self.where, node=self.node)
            for p in self.PARAMS:
                if isinstance(p, LV2Param):
                    twin.set_param(p.name, self._values.values[p.name])
            m = measure(twin, self.spec.num_channels, self.spec.sample_rate, BLOCK)
            twin.close()
            if m.measured is None:
                raise self._fail(f"latency could not be measured (impulse: {m.impulse}, sweep: {m.sweep} samples); "
                                 f"remove latency_samples = \"measured\"")
            object.__setattr__(self, "_measured_latency", m.measured)
        return self._measured_latency

    @property
    def has_state(self) -> bool:
        """Whether the plugin has the LV2 State extension (properties beyond its ports)."""
        from . import lilv

        return bool(lilv.lib().lilv_plugin_has_extension_data(self.info.handle, self.world.node(lilv.STATE_EXT)))

    def state_text(self) -> str | None:
        """The plugin's State-extension properties as Turtle (None: it has none, or no instance to ask
        and no restored state). Port values are not in it: they are the entry's ``params``."""
        import ctypes

        from .._dsp import lv2host
        from . import lilv

        L = lilv.lib()
        if not self.has_state:
            return None
        if self._instances:
            cb = lilv.GET_VALUE(lambda *_: None)  # ports are saved as params
            st = L.lilv_state_new_from_instance(self.info.handle, self._instances[0], lv2host.map_address(), None,
                                                None, None, None, cb, None, 3, self._features.address)
            owned = True
        elif self._states:
            st, owned = self._states[-1], False
        else:
            return None
        try:
            if not st or not L.lilv_state_get_num_properties(st):
                return None
            raw = L.lilv_state_to_string(self.world.ptr, lv2host.map_address(), lv2host.unmap_address(), st,
                                         b"urn:mixcore:state", None)
            try:
                return ctypes.cast(raw, ctypes.c_char_p).value.decode("utf-8")
            finally:
                L.lilv_free(raw)
        finally:
            if owned and st:
                L.lilv_state_free(st)

    def _fail(self, text: str) -> MixcoreError:
        return MixcoreError(f"{self.where + ': ' if self.where else ''}{self.info.name!r} ({self.info.uri}) {text}")

    def _instantiate(self, spec: ProcessSpec) -> None:
        from .._dsp import lv2host
        from . import lilv

        info, C = self.info, spec.num_channels
        ins, outs, sc = info.audio(True), info.audio(False), info.audio(True, sidechain=True)
        if len(ins) == len(outs) == C:
            K, avg_out = 1, False
        elif len(ins) == len(outs) == 1 and C == 2:
            K, avg_out = 2, False  # dual mono
        elif len(ins) == len(outs) == 2 and C == 1:
            K, avg_out = 1, True
        else:
            raise self._fail(f"has {len(ins)} audio input(s) and {len(outs)} output(s); mixcore hosts mono "
                             f"(1 in, 1 out) and stereo (2 in, 2 out) plugins, on mono or stereo tracks, not "
                             f"this one on a {C}-channel track")
        all_features = [lv2host.Features(spec.sample_rate, BLOCK) for _ in range(K)]  # one worker each
        features = all_features[0]
        object.__setattr__(self, "_features", features)
        object.__setattr__(self, "_all_features", all_features)
        for features in all_features:
            slot = crashguard.enter(self._guard_text(), b"", crashguard.LOADING, -1, spec.sample_rate)
            try:
                a = lilv.lib().lilv_plugin_instantiate(info.handle, float(spec.sample_rate), features.address)
            finally:
                crashguard.leave(slot)
            if not a:
                raise self._fail(f"failed to instantiate at {spec.sample_rate:g} Hz")
            self._instances.append(a)
            features.bind(a)
            for st in self._states:  # the State extension: properties beyond the ports (before activate)
                slot = crashguard.enter(self._crash_text, b"", crashguard.STATE, -1, spec.sample_rate)
                try:
                    lilv.lib().lilv_state_restore(st, a, None, None, 0, features.address)
                finally:
                    crashguard.leave(slot)
        n = len(info.ports)
        controls = np.zeros((K, max(n, 1)), np.float32)
        for p in self.PARAMS:
            if isinstance(p, LV2Param):
                controls[:, p.index] = self._values.values[p.name]
        inq = np.zeros((C, BLOCK), np.float32)
        outq = np.zeros((C, BLOCK), np.float32)
        kq = np.zeros((2, BLOCK), np.float32)
        scratch = np.zeros((4, BLOCK), np.float32)
        silence = np.zeros(BLOCK, np.float32)
        sink = np.zeros((max(n, 1), BLOCK), np.float32)  # CV outputs
        avg_key = len(sc) == 1 and K == 1
        if len(sc) > 2:
            raise self._fail(f"has {len(sc)} sidechain inputs; mixcore feeds 1 or 2")
        workers = [f.worker_address for f in all_features]
        runner = lv2host.Runner(list(self._instances), workers, inq, outq, kq, scratch, controls, info.latency_port,
                                avg_out, avg_key, bool(sc))
        keep = [inq, outq, kq, scratch, silence, sink, controls]
        for k in range(K):
            for p in info.ports:
                if p.kind == "control":
                    addr = controls[k:k + 1, p.index:p.index + 1].ctypes.data
                elif p.kind == "audio" and p.is_input and p.sidechain:
                    row = kq[k] if (len(sc) == 1 and K == 2) else scratch[2] if avg_key else kq[sc.index(p)]
                    addr = row.ctypes.data
                elif p.kind == "audio" and p.is_input:
                    addr = inq[k].ctypes.data if K == 2 else inq[min(ins.index(p), C - 1)].ctypes.data
                elif p.kind == "audio":
                    i = outs.index(p)
                    addr = (scratch[i] if avg_out else outq[k] if K == 2 else outq[i]).ctypes.data
                elif p.kind == "atom":
                    runner.connect_atom(k, p.index, p.is_input, np.zeros(lv2host.ATOM_CAPACITY // 8, np.uint64))
                    continue
                elif p.kind == "cv":
                    addr = (silence if p.is_input else sink[p.index]).ctypes.data
                elif p.optional:
                    addr = 0
                else:
                    raise self._fail(f"port {p.symbol!r} is of a kind mixcore cannot connect")
                runner.connect(k, p.index, addr)
        object.__setattr__(self, "_keep", keep)
        object.__setattr__(self, "_controls", controls)
        object.__setattr__(self, "_runner", runner)
        self._holder["runner"] = runner
        self._holder["features"] = all_features  # the workers' memory outlives the instances
        runner.activate()
        object.__setattr__(self, "_fresh", True)

    def reset(self) -> None:
        """A new instance of the plugin (LV2's activate() does not clear every plugin's state: Calf's
        smoothed controls survive it), then blocks of silence until the latency it reports is the same
        twice in a row (some plugins report it a block late)."""
        r = self._runner
        if r is None:
            return
        if not self._fresh:  # a new instance: some plugins keep state (smoothed controls) across activate()
            spec = self.spec
            self.close()
            object.__setattr__(self, "_finalizer", weakref.finalize(self, _free, self._instances, self._holder))
            self._instantiate(spec)
            object.__setattr__(self, "_layout", (spec.sample_rate, spec.num_channels))
            r = self._runner
        object.__setattr__(self, "_fresh", False)
        slot = crashguard.enter(self._guard_text(), b"", crashguard.PREPARING, 0, self.spec.sample_rate)
        try:
            lat, prev = float(r.run_silence()), math.nan
            for _ in range(PRIME_BLOCKS):
                if lat == prev:
                    break
                lat, prev = float(r.run_silence()), lat
        finally:
            crashguard.leave(slot)
        object.__setattr__(self, "_fed", 0)
        if lat != prev:
            raise self._fail(f"reports a latency that does not settle ({prev:g}, then {lat:g} samples) in "
                             f"{PRIME_BLOCKS * BLOCK} samples of silence")
        if not (math.isfinite(lat) and 0 <= lat <= 1 << 22):
            raise self._fail(f"reports a latency of {lat:g} samples, which cannot be compensated")
        object.__setattr__(self, "_latency", self._measure() if self.measure_latency else int(round(lat)))
        object.__setattr__(self, "_measured", True)

    def process(self, block: np.ndarray) -> None:
        self.process_with_key(block, None)

    def process_with_key(self, block: np.ndarray, key: np.ndarray | None) -> None:
        """``block`` with the plugin's sidechain input fed from ``key`` (the router's, 2 rows; None:
        the block itself). Announced to crashguard: a crash names the plugin, its place and the time."""
        slot = crashguard.enter(self._crash_text, b"", crashguard.PROCESSING, self._fed, self.spec.sample_rate)
        try:
            changed = self._runner.process(block, key)
        finally:
            crashguard.leave(slot)
        object.__setattr__(self, "_fed", self._fed + block.shape[1])
        if changed:
            self._latency_changed()

    def _guard_text(self) -> bytes:
        from .pedalboard_adapter import guard_text

        return guard_text(self)

    def _latency_changed(self) -> None:
        now = self._controls[0, self.info.latency_port]
        raise self._fail(f"changed its reported latency from {self._latency} to {now:g} samples while playing; "
                         f"a latency that changes cannot be kept aligned (set the parameter that changes it in "
                         f"'params', not by automation)")

    @property
    def latency_samples(self) -> int:
        """``BLOCK`` (the FIFO) plus the latency the plugin reports. Read after a parameter was set
        (a lookahead, say), the plugin is reset and its latency measured again."""
        return BLOCK + self.plugin_latency

    @property
    def plugin_latency(self) -> int:
        """The latency the plugin itself reports (after prepare)."""
        if self._runner is not None and not self._measured:
            self.reset()
        return int(self._latency)

    @property
    def tail_samples(self) -> int:
        sr = self.spec.sample_rate if self.spec else 48000.0
        return int(round(float(self.tail_s) * sr))


# -- session entries --------------------------------------------------------------------
def lv2_world():
    from . import lilv
    from .folders import lv2_folders

    return lilv.world(lv2_folders())


def find_plugin(uri: Any, where: str):
    """(info, world) of ``uri``, or a one-line error (did-you-mean among the installed URIs)."""
    if not isinstance(uri, str) or not uri:
        raise MixcoreError(f"{where}.uri: expected a plugin URI (see 'mixcore plugins list'), got {uri!r}")
    try:
        w = lv2_world()
    except MixcoreError as e:
        raise MixcoreError(f"{where}: {e}") from None
    info = w.plugin(uri)
    if info is None:
        uris = w.uris()
        close = difflib.get_close_matches(uri, uris, n=1, cutoff=0.6)
        if not close:  # URIs share long prefixes: compare what follows the last '/' too
            tails = {u.rstrip("/").rpartition("/")[2]: u for u in uris}
            close = [tails[t] for t in difflib.get_close_matches(uri.rstrip("/").rpartition("/")[2], tails, n=1)]
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise MixcoreError(f"{where}.uri: no LV2 plugin {uri!r} is installed in the LV2 folders{hint}; "
                           f"'mixcore plugins list' shows them")
    return info, w


def check_trust(info, where: str) -> None:
    """The plugin's bundle and library must lie in the LV2 folders, and not be on the deny-list."""
    from .folders import check_folder, lv2_folders
    from .scan import denied

    folders = lv2_folders()
    real = check_folder(info.bundle, f"{where}.uri", folders)
    # Debian links some bundles' binaries to the system's library folder (calf.lv2/calf.so ->
    # /usr/lib/<triplet>/calf/calf.so): as trusted as /usr/lib/lv2 itself, and allowed
    check_folder(info.library, f"{where}.uri", [*folders, *SYSTEM_LIBRARY_FOLDERS])
    reason = denied(real)
    if reason is not None:
        raise MixcoreError(f"{where}.uri: {info.uri} is on the plugin deny-list ({reason}); once it is fixed, "
                           f"probe it again with 'mixcore plugins list --rescan'")


def check_features(info, where: str) -> None:
    from .._dsp import lv2host

    for f in info.required:
        if f not in lv2host.SUPPORTED:
            raise MixcoreError(f"{where}.uri: {info.name!r} requires the LV2 feature {f}, which mixcore does not "
                               f"provide")
    for p in info.ports:
        if p.kind == "other" and not p.optional:
            raise MixcoreError(f"{where}.uri: {info.name!r} has a port {p.symbol!r} of a kind mixcore cannot connect")
    if not info.audio(True):
        raise MixcoreError(f"{where}.uri: {info.name!r} has no audio input; mixcore hosts LV2 effects")


def apply_preset(proc: LV2Processor, preset: Any, where: str) -> None:
    from .._dsp import lv2host

    presets = proc.info.presets
    if not isinstance(preset, str) or not preset:
        raise MixcoreError(f"{where}.preset: expected a preset label or URI, got {preset!r}")
    by_label = {label: uri for uri, label in presets.items()}
    uri = preset if preset in presets else by_label.get(preset)
    if uri is None:
        if not presets:
            raise MixcoreError(f"{where}.preset: {proc.name!r} has no LV2 presets")
        raise MixcoreError(f"{where}.preset: {proc.name!r} has no preset {preset!r}"
                           f"{did_you_mean(preset, [*by_label, *presets])}; its presets: "
                           f"{', '.join(map(repr, by_label))}")
    from . import lilv

    st = proc.world.preset_state(uri, lv2host.map_address())
    values = lilv.port_values(st)
    if lilv.lib().lilv_state_get_num_properties(st):
        proc._states.append(st)  # restored into every instance
    else:
        lilv.lib().lilv_state_free(st)
    for symbol, value in values.items():
        p = proc._values.by_name.get(symbol)
        if isinstance(p, LV2Param):
            v = min(max(_f32(float(value)), p.lo), p.hi)  # a preset is the plugin's own: trusted, clamped
            proc.set_param(symbol, v, where=f"{where}.preset.")


def apply_state(proc: LV2Processor, text: Any, where: str) -> None:
    """``state``: the Turtle ``Session.save`` wrote (the State extension's properties, restored into
    every instance of the plugin)."""
    from .._dsp import lv2host
    from . import lilv

    if not isinstance(text, str) or not text.strip():
        raise MixcoreError(f"{where}.state: expected the plugin's state as Turtle text (as Session.save writes it), "
                           f"got {type(text).__name__}")
    if not proc.has_state:
        raise MixcoreError(f"{where}.state: {proc.name!r} has no LV2 State extension; its settings are its params")
    L = lilv.lib()
    st = L.lilv_state_new_from_string(proc.world.ptr, lv2host.map_address(), text.encode("utf-8"))
    if not st:
        raise MixcoreError(f"{where}.state: not an LV2 state (Turtle) that lilv can read")
    node = L.lilv_state_get_plugin_uri(st)
    applies = L.lilv_node_as_uri(node).decode() if node else ""
    if applies != proc.uri:
        L.lilv_state_free(st)
        raise MixcoreError(f"{where}.state: the state is for {applies or 'no plugin'}, not {proc.uri}")
    proc._states.append(st)


def make_lv2(entry: dict, base_dir: Path, where: str, node: str = "") -> LV2Processor:
    """Build an ``lv2`` chain entry (keys checked by the caller)."""
    info, w = find_plugin(entry.get("uri"), where)
    check_trust(info, where)
    check_features(info, where)
    ident = entry.get("id", "lv2")
    if not isinstance(ident, str) or not ident:
        raise MixcoreError(f"{where}.id: expected a non-empty string, got {ident!r}")
    proc = LV2Processor(info, w, id=ident, where=where, node=node)
    from .vst3 import check_tail

    object.__setattr__(proc, "tail_s", check_tail(entry, where))
    lat = entry.get("latency_samples", "reported")
    if lat not in ("reported", "measured"):
        raise MixcoreError(f"{where}.latency_samples: expected \"reported\" (the plugin's latency port, the "
                           f"default) or \"measured\" (an impulse and a sweep, see 'mixcore plugins check'), "
                           f"got {lat!r}")
    object.__setattr__(proc, "measure_latency", lat == "measured")
    if entry.get("sidechain") is not None:
        if "sidechain" not in proc._values.by_name:
            raise MixcoreError(f"{where}.sidechain: {info.name!r} has no sidechain input")
        proc._values.set("sidechain", entry["sidechain"], where=f"{where}.")
    if entry.get("state") is not None:
        apply_state(proc, entry["state"], where)
    if entry.get("preset") is not None:
        apply_preset(proc, entry["preset"], where)
    params = entry.get("params")
    if params is not None:
        if not isinstance(params, dict):
            raise MixcoreError(f"{where}.params: expected a table of control port values by symbol, got {params!r}")
        for name, value in params.items():
            if name == "sidechain":
                raise MixcoreError(f"{where}.params.sidechain: 'sidechain' is a key of the entry, not a parameter")
            proc.set_param(str(name), value, where=f"{where}.params.")
    return proc


def lv2_state(proc: LV2Processor) -> dict[str, Any]:
    """The entry that rebuilds ``proc``: every control port's current value in ``params``."""
    entry: dict[str, Any] = {"type": "lv2", "uri": proc.uri}
    if proc.id != "lv2":
        entry["id"] = proc.id
    if proc._values.values.get("sidechain"):
        entry["sidechain"] = proc._values.values["sidechain"]
    text = proc.state_text()
    if text is not None:
        entry["state"] = text
    entry["params"] = {p.name: proc._values.values[p.name] for p in proc.PARAMS if isinstance(p, LV2Param)}
    if proc.tail_s:
        entry["tail_s"] = proc.tail_s
    if proc.measure_latency:
        entry["latency_samples"] = "measured"
    return entry


__all__ = ["LV2Processor", "LV2Param", "BLOCK", "LV2_KEYS", "make_lv2", "lv2_state", "lv2_world"]
