"""Any ``pedalboard.Plugin`` (a built-in or a loaded VST3/AU) in mixcore's processor model.

pedalboard's streaming ``process(block, sr, reset=False)`` hands back *fewer*
samples than it was given while a latent plugin fills its delay, so its output
is shifted earlier by the reported latency. The adapter keeps a FIFO primed with
``reported_latency_samples`` zeros: every call returns exactly as many samples
as it was given, and the output is the plugin's output delayed by exactly
``latency_samples``, which the router compensates like any other latency.
"""
from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from ..errors import MixcoreError, did_you_mean
from ..params import Param, ParamSet
from ..processors.base import ProcessSpec, Processor

_NOT_PARAMS = {"is_effect", "is_instrument", "name", "manufacturer_name", "version", "category", "identifier",
               "descriptive_name", "raw_state", "preset_data", "reported_latency_samples", "parameters",
               "has_shared_container", "is_loaded"}


class HostedParam(Param):
    """A plugin parameter: validated by the plugin itself (pedalboard's setters check ranges)."""

    def validate(self, value: Any, where: str = "") -> Any:
        return value


def plugin_params(plugin: Any) -> tuple[Param, ...]:
    """Describe a pedalboard plugin's parameters as mixcore Params."""
    out: list[Param] = []
    ext = getattr(plugin, "parameters", None)
    if isinstance(ext, dict):  # an ExternalPlugin (VST3/AU)
        for name, p in ext.items():
            lo, hi = getattr(p, "min_value", -math.inf), getattr(p, "max_value", math.inf)
            choices = None
            valid = getattr(p, "valid_values", None)
            if getattr(p, "is_boolean", False):
                lo, hi = 0.0, 1.0
            elif valid and not all(isinstance(v, (int, float)) for v in valid):
                choices = tuple(str(v) for v in valid)
            out.append(HostedParam(name, getattr(plugin, name), lo if lo is not None else -math.inf,
                                   hi if hi is not None else math.inf, getattr(p, "label", "") or "",
                                   choices=choices))
        return tuple(out)
    for name, attr in inspect.getmembers(type(plugin)):
        if isinstance(attr, property) and not name.startswith("_") and name not in _NOT_PARAMS and attr.fset:
            out.append(HostedParam(name, getattr(plugin, name)))
    return tuple(out)


class PedalboardProcessor(Processor):
    """Wraps a pedalboard plugin; same lifecycle as every native processor."""

    type_name = "pedalboard"

    def __init__(self, plugin: Any, *, id: str | None = None, entry: dict | None = None) -> None:
        object.__setattr__(self, "plugin", plugin)
        object.__setattr__(self, "entry", dict(entry or {}))
        object.__setattr__(self, "PARAMS", plugin_params(plugin))
        object.__setattr__(self, "_values", ParamSet(self.PARAMS))
        object.__setattr__(self, "spec", None)
        object.__setattr__(self, "id", id or type(plugin).__name__.lower())

    @property
    def name(self) -> str:
        return getattr(self.plugin, "name", type(self.plugin).__name__)

    def set_param(self, name: str, value: Any, where: str = "") -> None:
        if name not in self._values.by_name:
            raise MixcoreError(f"{where}{name}: unknown parameter of {self.name!r}{did_you_mean(name, self._values.by_name)}"
                               f"; parameters: {', '.join(self._values.by_name)}")
        try:
            setattr(self.plugin, name, value)
        except (ValueError, TypeError, AttributeError) as e:
            raise MixcoreError(f"{where}{name}: {value!r} rejected by {self.name!r}: {' '.join(str(e).split())}") from None
        self._values.values[name] = getattr(self.plugin, name)

    def get_param(self, name: str) -> Any:
        return getattr(self.plugin, name)

    @property
    def parameters(self) -> dict[str, Any]:
        return {p.name: getattr(self.plugin, p.name) for p in self.PARAMS}

    def __repr__(self) -> str:
        return f"PedalboardProcessor({self.plugin!r})"

    def _prepare(self, spec: ProcessSpec) -> None:
        self._fifo = np.zeros((spec.num_channels, 0), dtype=np.float32)

    def reset(self) -> None:
        # Prime: a one-sample call with reset=True makes pedalboard prepare the plugin for this spec, so the
        # plugin reports the latency its current parameters give, and the first render equals the second.
        spec = self.spec
        self.plugin.process(np.zeros((spec.num_channels, 1), np.float32), spec.sample_rate,
                            buffer_size=spec.max_block_size, reset=True)
        self.plugin.reset()
        self._fifo = np.zeros((spec.num_channels, self.latency_samples), dtype=np.float32)

    def process(self, block: np.ndarray) -> None:
        n = block.shape[1]
        if n == 0:
            return
        out = self.plugin.process(block, self.spec.sample_rate, buffer_size=self.spec.max_block_size, reset=False)
        out = np.asarray(out, dtype=np.float32).reshape(block.shape[0], -1)
        fifo = np.concatenate([self._fifo, out], axis=1) if self._fifo.shape[1] else out
        if fifo.shape[1] < n:  # a plugin that holds back more than it reports: pad, keep the timing
            fifo = np.concatenate([np.zeros((block.shape[0], n - fifo.shape[1]), np.float32), fifo], axis=1)
        block[...] = fifo[:, :n]
        self._fifo = fifo[:, n:]

    @property
    def latency_samples(self) -> int:
        return int(getattr(self.plugin, "reported_latency_samples", 0) or 0)

    @property
    def tail_samples(self) -> int:
        """pedalboard does not pass on a plugin's own tail length: the entry's ``tail_s`` declares it."""
        sr = self.spec.sample_rate if self.spec else 48000.0
        return int(round(float(self.entry.get("tail_s", 0.0)) * sr))
