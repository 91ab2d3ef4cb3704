"""Any ``pedalboard.Plugin`` (a built-in effect or a loaded VST3/AU) in mixcore's processor model.

pedalboard's streaming call ``plugin.process(block, sr, buffer_size, reset=False)`` has habits that
a host with fixed-size blocks, delay compensation and block-size-independent output must work
around (pedalboard 0.9.26: ``process.h``, ``BufferUtils.h``, ``ExternalPlugin.h``, ``_pedalboard.py``):

1. **It re-prepares the plugin whenever a call's block is larger than any before.** The plugin is
   prepared with ``min(buffer_size, n)`` of the first call after a reset, and preparing a plugin
   clears its delay lines and envelopes. So a first block of 17 samples followed by blocks of 4096
   silently wipes the plugin's state mid-stream.
2. **It returns fewer samples than it was given while a latent plugin fills up** (its reported
   latency, trimmed from the start of the stream).
3. **It guesses the channel layout from the array's shape**: a ``(2, 1)`` or ``(2, 2)`` block is
   taken as interleaved or refused, so blocks of ``n <= channels`` samples cannot be passed at all.
4. **Its setter snaps a VST3's continuous parameter** to one of about a thousand values it sampled
   when loading (``gain_db = 1.0`` became 1.008 dB); the adapter sets the normalised value the
   plugin's own text parser gives instead (:meth:`PedalboardProcessor._set_external_float`).

The adapter therefore

* always passes the same ``buffer_size`` (:data:`HOST_BLOCK`), so the plugin is prepared for the same
  maximum block whatever the render's block size;
* **primes** the plugin after every reset with silence, in chunks of :data:`PRIME_CHUNK`, until a
  chunk comes back whole. That prepares it for :data:`HOST_BLOCK` and lets pedalboard trim the
  latency from the silence instead of from the music. The samples that came in but not out are the
  plugin's latency ``L`` as pedalboard compensates it (the VST3's ``reported_latency_samples``,
  and e.g. 240 for ``BrickwallLimiter``);
* holds back up to ``D = 2 * channels + 1`` input samples, so that every chunk it passes to
  pedalboard is longer than the channel count, while keeping ``channels + 1`` samples in reserve so
  that a parameter change can be applied exactly at the sample where the host makes it (see
  :meth:`PedalboardProcessor.set_param`).

The output is then exactly the plugin's output delayed by ``latency_samples = L + D (+ margin)``,
the same whatever the block sizes of the calls, and the router compensates that latency like any
other. ``margin`` is 0 except for the built-ins in :data:`VARIABLE_DELIVERY`, which buffer
internally in fixed blocks and deliver with a delay that varies by a sample or so; they get
:data:`VARIABLE_MARGIN`. A plugin that delivers later than that is an error, never a silent shift.

Because of the priming, a time-variant plugin (a chorus LFO, a noise generator) has run for the
priming length (a constant, independent of the block size) before the first sample of music.

**Crashes.** A plugin that crashes in-process takes mixcore with it. Every call into the plugin is
announced to :mod:`mixcore._dsp.crashguard` (the place, what it does, the song position), whose
signal handler then writes one line naming them and suggesting ``isolate = true`` before the
process dies of the signal.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._dsp import crashguard
from ..errors import MixcoreError, cut, did_you_mean, short
from ..params import Param, ParamSet
from ..processors.base import Processor, ProcessSpec

#: The ``buffer_size`` given to pedalboard on every call: the plugin is always prepared for this
#: maximum block (larger feeds are cut into blocks of this size by pedalboard).
HOST_BLOCK = 2048
#: Silence is fed in chunks of this many samples after a reset until a chunk comes back whole.
PRIME_CHUNK = 8192
#: Give up priming after this much silence (a latency this long is not supported).
MAX_PRIME = 1 << 21
#: Extra delay for built-ins whose delivery delay varies by a few samples (internal fixed blocks).
VARIABLE_MARGIN = 64
VARIABLE_DELIVERY = {"PitchShift"}


def one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def place(where: str, node: str) -> str:
    """``tracks[0].chain[1] (track 'kick')``: where a hosted plugin sits, for crash reports."""
    if not node:
        return where
    kind = "track" if where.startswith("tracks") else "bus" if where.startswith("buses") else "node"
    return f"{where} ({kind} {node!r})"


def crash_text(where: str, node: str, name: str) -> bytes:
    """What :mod:`~mixcore._dsp.crashguard` says of a plugin: ``tracks[0].chain[1] (track 'kick'): plugin 'X'``."""
    at = place(where, node)
    return f"{at + ': ' if at else ''}plugin {name!r}"[:400].encode("utf-8", "replace")


#: What crashguard suggests after the crash line: a VST3 can be isolated, a pedalboard built-in cannot.
ISOLATE_TAIL = crashguard.ISOLATE
BUILTIN_TAIL = b""


@dataclass(frozen=True, kw_only=True)
class HostedParam(Param):
    """A hosted plugin's parameter, named by pedalboard's Python identifier.

    ``kind`` is ``float`` (checked against ``lo .. hi`` when the plugin declares a range),
    ``bool``, ``choice`` (one of ``choices``), ``enum`` (a pedalboard enum, by member name),
    ``optional_float`` (a number or None) or ``path`` (a file, resolved by the session builder).
    """

    kind: str = "float"

    def validate(self, value: Any, where: str = "") -> Any:
        key = f"{where}{self.name}"
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, float)) and value in (0, 1):  # a step automation lane
                return bool(value)
            raise MixcoreError(f"{key}: expected true or false, got {short(value)}")
        if self.kind == "path":
            if isinstance(value, str) and value:
                return value
            raise MixcoreError(f"{key}: expected a file path, got {short(value)}")
        if self.kind == "optional_float" and value is None:
            return None
        if self.kind in ("choice", "enum"):
            return super().validate(value, where)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MixcoreError(f"{key}: expected a number ({self.describe_range()}), got {short(value)}")
        return super().validate(value, where)

    def describe_range(self) -> str:
        if self.kind == "bool":
            return "true or false"
        if math.isinf(self.lo) and math.isinf(self.hi) and self.choices is None:
            return "a number (the plugin checks its range)"
        return super().describe_range()


def _plain(value: Any) -> Any:
    """A parameter value as a plain Python scalar (pedalboard wraps its values; enums become names)."""
    if isinstance(value, bool):
        return value
    if any(c.__name__ == "WrappedBool" for c in type(value).__mro__):  # pedalboard's boolean parameters
        return bool(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if hasattr(value, "name") and hasattr(type(value), "__members__"):
        return value.name
    return value


def external_params(plugin: Any) -> tuple[HostedParam, ...]:
    """The parameters of a loaded VST3/AU, from pedalboard's parameter objects."""
    out = []
    for name, p in plugin.parameters.items():
        value = _plain(getattr(plugin, name))
        unit = p.label or ""
        if p.type is bool:
            out.append(HostedParam(name, default=value, lo=0.0, hi=1.0, kind="bool", doc=p.name))
        elif p.type is str:
            choices = tuple(str(v) for v in p.valid_values)
            out.append(HostedParam(name, default=value, choices=choices, kind="choice", doc=p.name))
        else:
            lo = -math.inf if p.min_value is None else float(p.min_value)
            hi = math.inf if p.max_value is None else float(p.max_value)
            out.append(HostedParam(name, default=float(value) if isinstance(value, (int, float)) else value,
                                   lo=lo, hi=hi, unit=unit, doc=p.name))
    return tuple(out)


_SIGNATURE = re.compile(r"__init__\(self: [\w.]+(?P<args>.*)\) -> None")


def _split_top_level(text: str) -> list[str]:
    """Split at commas that are not inside brackets: "a: int = 1, b: Union[str, x]" -> two parts."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def constructor_args(cls: type) -> list[tuple[str, str, bool]]:
    """(name, type text, has default) of a pedalboard built-in's constructor, from its pybind11 signature."""
    m = _SIGNATURE.search(cls.__init__.__doc__ or "")
    if not m:
        return []
    out = []
    for part in _split_top_level(m["args"]):
        head, eq, _default = part.partition(" = ")
        name, _, type_text = head.partition(":")
        out.append((name.strip(), type_text.strip(), bool(eq)))
    return out


def builtin_params(plugin: Any) -> tuple[HostedParam, ...]:
    """The parameters of a pedalboard built-in: its constructor's arguments (pedalboard checks ranges)."""
    out = []
    cls = type(plugin)
    for name, type_text, _ in constructor_args(cls):
        prop = getattr(cls, name, None)
        current = getattr(plugin, name, None) if isinstance(prop, property) else None
        settable = isinstance(prop, property) and prop.fset is not None
        if type_text == "bool":
            out.append(HostedParam(name, default=bool(current), lo=0.0, hi=1.0, kind="bool", automatable=settable))
        elif type_text == "float":
            out.append(HostedParam(name, default=_plain(current), automatable=settable))
        elif type_text.startswith("Optional[float]"):
            out.append(HostedParam(name, default=_plain(current), kind="optional_float", automatable=False))
        elif current is not None and hasattr(type(current), "__members__"):
            out.append(HostedParam(name, default=current.name, choices=tuple(type(current).__members__), kind="enum",
                                   automatable=settable))
        elif "str" in type_text:
            out.append(HostedParam(name, default=current if isinstance(current, str) else None, kind="path",
                                   automatable=False))
    return tuple(out)


def describe_params(plugin: Any) -> tuple[HostedParam, ...]:
    return external_params(plugin) if isinstance(getattr(plugin, "parameters", None), dict) else builtin_params(plugin)


class PedalboardProcessor(Processor):
    """Wraps any pedalboard plugin; same lifecycle as every native processor.

    ``process`` works in place on blocks of any size from 0 to ``spec.max_block_size``; the output
    is the plugin's output delayed by exactly ``latency_samples`` (see the module docstring).
    Parameters are pedalboard's identifiers (``gain_db``, ``mode``, ...), validated against the
    plugin's ranges and choices.
    """

    type_name = "pedalboard"

    def __init__(self, plugin: Any, *, id: str | None = None) -> None:
        import pedalboard

        if not isinstance(plugin, pedalboard.Plugin):
            raise TypeError(f"not a pedalboard plugin: {plugin!r}")
        object.__setattr__(self, "plugin", plugin)
        object.__setattr__(self, "PARAMS", describe_params(plugin))
        object.__setattr__(self, "_values", ParamSet(self.PARAMS))
        object.__setattr__(self, "spec", None)
        object.__setattr__(self, "id", id or self.type_name)
        object.__setattr__(self, "tail_s", 0.0)  # declared by a session entry's ``tail_s``
        object.__setattr__(self, "where", "")  # the session key path, for error messages
        object.__setattr__(self, "node", "")  # the track or bus it sits on (crash reports)
        object.__setattr__(self, "_fed", 0)  # input samples passed to the plugin since the reset
        object.__setattr__(self, "_crash_text", b"")
        # crashguard's suggestion after the crash line (``isolate = true`` exists for VST3 entries only)
        object.__setattr__(self, "_crash_tail", ISOLATE_TAIL if self.is_external else BUILTIN_TAIL)
        object.__setattr__(self, "_latency", 0)
        object.__setattr__(self, "_np", 0)  # pending (not yet fed) input samples
        object.__setattr__(self, "_nq", 0)  # output samples queued
        object.__setattr__(self, "_requested", {})  # the last value asked for, per parameter

    # -- identity and parameters ------------------------------------------------
    @property
    def name(self) -> str:
        """The plugin's own name (``MixcoreTestEffect``) or the built-in's class (``Chorus``)."""
        name = getattr(self.plugin, "name", None)
        return name if isinstance(name, str) and name else type(self.plugin).__name__

    @property
    def is_external(self) -> bool:
        return isinstance(getattr(self.plugin, "parameters", None), dict)

    def param_for(self, name: str) -> Param | None:
        return self._values.by_name.get(name)

    def set_param(self, name: str, value: Any, where: str = "") -> None:
        """Set a parameter by pedalboard's identifier, validated; exact to the sample in a stream.

        Input samples held back (see the module docstring) were received before this call, so they
        are passed to the plugin first, with the old value. That is possible whenever more than
        ``channels`` samples are held back, which the adapter's reserve guarantees unless two
        changes come less than ``channels + 1`` samples apart; then the pending samples take the
        new value too.
        """
        last = self._requested
        if name in last and last[name] == value and type(last[name]) is type(value):
            return  # the same value again (automation sets every lane at every grid point)
        param = self._values.by_name.get(name)
        if param is None:
            names = list(self._values.by_name)
            hint = did_you_mean(name, names)
            raise MixcoreError(f"{where}{cut(name)}: unknown parameter of {self.name!r}"
                               + (hint if hint else f"; expected one of {', '.join(names)}"))
        v = param.validate(value, where)
        if param.kind == "enum":
            v = getattr(type(getattr(self.plugin, name)), v)
        if self.spec is not None and self._np > self.spec.num_channels:
            self._feed(self._np)
        text = self._guard_text()
        slot = crashguard.enter(text, self._crash_tail, crashguard.SETTING, self._fed if self.spec else -1,
                                self.spec.sample_rate if self.spec else 0.0)
        try:
            if param.kind == "float" and self.is_external:
                self._set_external_float(param, float(v))
            else:
                setattr(self.plugin, name, v)
        except (ValueError, TypeError, AttributeError, RuntimeError) as e:
            raise MixcoreError(f"{where}{cut(name)}: {short(value)} rejected by {self.name!r}: {one_line(e)}") from None
        finally:
            crashguard.leave(slot)
        self._values.values[name] = _plain(getattr(self.plugin, name))
        last[name] = value

    def _set_external_float(self, param: HostedParam, v: float) -> None:
        """Set a VST3's number exactly: the plugin's own text parser gives the normalised value.

        pedalboard's setter snaps a continuous parameter to the nearest of about a thousand values it
        sampled when loading (``gain_db = 1.0`` became 1.008). Reading the value back guards against a
        plugin whose text parser is broken; then pedalboard's setter is used after all.
        """
        plugin = self.plugin
        getter = getattr(plugin, "_get_parameter_by_python_name", None)
        ap = getter(param.name) if getter is not None else plugin.parameters[param.name]
        raw = float(ap.get_raw_value_for_text(repr(v)))
        if 0.0 <= raw <= 1.0:
            old = ap.raw_value
            ap.raw_value = raw
            got = float(getattr(plugin, param.name))
            span = param.hi - param.lo if math.isfinite(param.hi - param.lo) else max(1.0, abs(v))
            steps = ap.num_steps
            tol = max(1e-4 * span, span / (steps - 1) / 2 * 1.001 if 1 < steps < 2**30 else 0.0)
            if abs(got - v) <= tol:
                return
            ap.raw_value = old
        setattr(plugin, param.name, v)

    def sync_values(self) -> None:
        """Re-read every parameter from the plugin (after a state or preset was loaded)."""
        object.__setattr__(self, "_requested", {})
        for p in self.PARAMS:
            self._values.values[p.name] = _plain(getattr(self.plugin, p.name, None))

    def get_param(self, name: str) -> Any:
        if name not in self._values.by_name:
            raise MixcoreError(f"{cut(name)}: unknown parameter of {self.name!r}{did_you_mean(name, self._values.by_name)}")
        return _plain(getattr(self.plugin, name))

    @property
    def parameters(self) -> dict[str, Any]:
        return {p.name: _plain(getattr(self.plugin, p.name, None)) for p in self.PARAMS}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.plugin!r})"

    # -- lifecycle ---------------------------------------------------------------
    def _guard_text(self) -> bytes:
        return guard_text(self)

    def _prepare(self, spec: ProcessSpec) -> None:
        self._guard_text()
        ch = spec.num_channels
        object.__setattr__(self, "_hold", 2 * ch + 1)  # D: most input samples ever held back
        object.__setattr__(self, "_reserve", ch + 1)  # R: samples kept back after a regular feed
        cap = spec.max_block_size + self._hold + 1
        object.__setattr__(self, "_pend", np.zeros((ch, cap), np.float32))
        object.__setattr__(self, "_flat", np.zeros(ch * cap, np.float32))  # contiguous feed chunks
        object.__setattr__(self, "_outq", np.zeros((ch, cap + self._hold + VARIABLE_MARGIN + HOST_BLOCK),
                                                    np.float32))

    def _call(self, chunk: np.ndarray, what: int = crashguard.PROCESSING) -> np.ndarray:
        sr = self.spec.sample_rate
        slot = crashguard.enter(self._crash_text, self._crash_tail, what, self._fed, sr)
        try:
            out = self.plugin.process(chunk, sr, buffer_size=HOST_BLOCK, reset=False)
        except Exception as e:  # e.g. a plugin that takes no audio input, or not this many channels
            where = f"{self.where}: " if self.where else ""
            raise MixcoreError(f"{where}{self.name!r} cannot process {chunk.shape[0]}-channel audio at "
                               f"{sr:g} Hz: {one_line(e)}") from None
        finally:
            crashguard.leave(slot)
        return out

    def reset(self) -> None:
        """Clear the plugin, prime it with silence (see the module docstring), clear the FIFOs."""
        spec = self.spec
        if spec is None:
            return
        ch = spec.num_channels
        object.__setattr__(self, "_fed", 0)
        slot = crashguard.enter(self._guard_text(), self._crash_tail, crashguard.PREPARING, 0, spec.sample_rate)
        try:
            self.plugin.reset()
        finally:
            crashguard.leave(slot)
        silence = np.zeros((ch, PRIME_CHUNK), np.float32)
        fed = returned = 0
        while True:
            m = self._call(silence, crashguard.PREPARING).shape[1]
            fed += PRIME_CHUNK
            returned += m
            if m == PRIME_CHUNK:
                break
            if fed >= MAX_PRIME:
                raise MixcoreError(f"{self.where + ': ' if self.where else ''}{self.name!r} returned no audio "
                                   f"after {fed} samples of silence; a latency this long is not supported")
        lag = fed - returned
        margin = VARIABLE_MARGIN if type(self.plugin).__name__ in VARIABLE_DELIVERY else 0
        object.__setattr__(self, "_latency", lag + self._hold + margin)
        object.__setattr__(self, "_np", 0)
        self._outq[:, : self._hold + margin] = 0.0
        object.__setattr__(self, "_nq", self._hold + margin)

    def _feed(self, f: int) -> None:
        """Pass the first ``f`` pending samples (f > channels) to the plugin; queue what comes back."""
        ch = self.spec.num_channels
        chunk = self._flat[: ch * f].reshape(ch, f)
        chunk[...] = self._pend[:, :f]
        out = self._call(chunk)
        object.__setattr__(self, "_fed", self._fed + f)
        m = out.shape[1]
        q = self._nq
        self._outq[:, q:q + m] = out
        object.__setattr__(self, "_nq", q + m)
        rest = self._np - f
        if rest:
            self._pend[:, :rest] = self._pend[:, f:self._np]
        object.__setattr__(self, "_np", rest)

    def process(self, block: np.ndarray) -> None:
        n = block.shape[1]
        if n == 0:
            return
        p = self._np
        self._pend[:, p:p + n] = block
        p += n
        object.__setattr__(self, "_np", p)
        if p > self._hold:
            self._feed(p - self._reserve)
        q = self._nq
        if q < n:
            where = f"{self.where}: " if self.where else ""
            raise MixcoreError(f"{where}{self.name!r} delivered its audio later than the "
                               f"{self._latency} samples of latency measured when it was prepared "
                               f"(a plugin whose latency changes while playing cannot be kept aligned)")
        block[...] = self._outq[:, :n]
        if q > n:
            self._outq[:, : q - n] = self._outq[:, n:q]
        object.__setattr__(self, "_nq", q - n)

    @property
    def latency_samples(self) -> int:
        """Delay of the output behind the input: the plugin's latency + the adapter's hold-back."""
        if self.spec is None:
            return int(getattr(self.plugin, "reported_latency_samples", 0) or 0)
        return int(self._latency)

    @property
    def tail_samples(self) -> int:
        """pedalboard does not pass on a plugin's tail length; a session entry's ``tail_s`` declares it."""
        sr = self.spec.sample_rate if self.spec else 48000.0
        return int(round(float(self.tail_s) * sr))


__all__ = ["PedalboardProcessor", "HostedParam", "describe_params", "constructor_args", "HOST_BLOCK"]


def guard_text(proc) -> bytes:
    """The crash report's words for a hosted plugin (``where``, ``node``, ``name``), kept on the processor
    as ``_crash_text`` because crashguard reads them during each call; installs the handler."""
    text = crash_text(proc.where, proc.node, proc.name)
    if text != proc._crash_text:
        object.__setattr__(proc, "_crash_text", text)
    crashguard.install()
    return proc._crash_text
