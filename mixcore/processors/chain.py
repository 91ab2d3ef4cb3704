"""``mixcore.Chain``: processors in series, native and pedalboard plugins mixed."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .base import ProcessSpec, Processor


def as_processor(obj: Any) -> Processor:
    """Return ``obj`` as a mixcore processor, wrapping pedalboard plugins."""
    if isinstance(obj, Processor):
        return obj
    import pedalboard

    if isinstance(obj, pedalboard.Plugin):
        from ..hosting.pedalboard_adapter import PedalboardProcessor

        return PedalboardProcessor(obj)
    raise TypeError(f"not a processor or pedalboard plugin: {obj!r}")


class Chain(Processor):
    """Processors in series. Latency and tail are the sums of the members'."""

    type_name = "chain"

    def __init__(self, processors: Iterable[Any] = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        object.__setattr__(self, "processors", [as_processor(p) for p in processors])

    def __iter__(self) -> Iterator[Processor]:
        return iter(self.processors)

    def __len__(self) -> int:
        return len(self.processors)

    def __getitem__(self, i: int) -> Processor:
        return self.processors[i]

    def append(self, proc: Any) -> None:
        p = as_processor(proc)
        if self.spec is not None:
            p.prepare(self.spec)
        self.processors.append(p)

    def __repr__(self) -> str:
        return "Chain([" + ", ".join(repr(p) for p in self.processors) + "])"

    def prepare(self, spec: ProcessSpec) -> None:
        object.__setattr__(self, "spec", spec)
        for p in self.processors:
            p.prepare(spec)

    def reset(self) -> None:
        for p in self.processors:
            p.reset()

    def process(self, block: np.ndarray) -> None:
        for p in self.processors:
            p.process(block)

    @property
    def latency_samples(self) -> int:
        return sum(int(p.latency_samples) for p in self.processors)

    @property
    def tail_samples(self) -> int:
        return sum(int(p.tail_samples) for p in self.processors)
