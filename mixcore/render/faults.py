"""Naming a non-finite output: which node, which processor, when in the song (one line each)."""
from __future__ import annotations

from ..errors import MixcoreError
from .finite import clock
from .nodes import NodeState


def node_label(st: NodeState) -> str:
    """``tracks[0] 'kick'``, ``buses[1] 'drums'``, ``master``."""
    node = st.plan.node
    where = node.where or node.name
    return where if node.kind == "master" else f"{where} {node.name!r}"


def proc_label(proc) -> str:
    """``compressor``, ``compressor 'glue'`` (its own id), ``vst3 'MixcoreTestEffect'``."""
    kind = getattr(proc, "type_name", "") or type(proc).__name__
    name = getattr(proc, "name", None) if kind in ("vst3", "pedalboard") else getattr(proc, "id", None)
    return f"{kind} {name!r}" if isinstance(name, str) and name and name != kind else kind


def unlocated_error(st: NodeState, e0: int, sample_rate: int) -> MixcoreError:
    """NaN or Inf after a node's chain, its processor not known (live playback, or not reproduced)."""
    return MixcoreError(f"{node_label(st)} chain: non-finite output (NaN or Inf) in the block at "
                        f"{clock(max(e0 - st.plan.out_latency, 0) / sample_rate)} in the song")


class Unlocated(Exception):
    """Internal: NaN or Inf after a node's chain, on a path that does not check each processor."""

    def __init__(self, st: NodeState, e0: int) -> None:
        super().__init__(st.plan.node.name)
        self.st = st
        self.e0 = e0
