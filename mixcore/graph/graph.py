"""Tracks, buses and the master as nodes; outputs, sends and sidechains as edges.

The graph only *connects* things that were made elsewhere: a node receives its
processors ready-made (see :mod:`mixcore.session.build`).

Signal flow of a node (SPEC §2, routing semantics)::

    input (track: source -> polarity; bus: sum of its inputs)
      -> chain -> pre-fader sends -> fader -> pan/balance -> post-fader sends, output

Edges leave a node either before the fader (``pre_fader`` sends) or after the
pan stage (outputs, post-fader sends, sidechain keys).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..errors import MixcoreError
from ..processors.base import Processor

EdgeKind = Literal["output", "send", "sidechain"]


@dataclass
class Node:
    name: str
    kind: Literal["track", "bus", "master"]
    processors: list[Processor] = field(default_factory=list)
    channels: int = 2  # channels through the chain (a track: its source's)
    gain_db: float = 0.0
    pan: float = 0.0
    muted: bool = False
    polarity_invert: bool = False
    source: object = None  # a SourceReader for tracks
    where: str = ""  # key path in the session, for errors ("tracks[2]")


@dataclass
class Edge:
    src: str
    dst: str
    kind: EdgeKind
    level_db: float = 0.0
    pre_fader: bool = False
    processor_index: int = -1  # sidechain: which processor of dst takes the key
    where: str = ""


class Graph:
    """Nodes by name plus edges, in the order they were added (which fixes summation order)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []

    def add(self, node: Node) -> Node:
        if node.name in self.nodes:
            raise MixcoreError(f"{node.where}.name: duplicate name {node.name!r} (names are unique among tracks and buses)")
        self.nodes[node.name] = node
        return node

    def connect(self, edge: Edge) -> None:
        for end in (edge.src, edge.dst):
            if end not in self.nodes:
                from ..errors import did_you_mean

                buses = [n for n, v in self.nodes.items() if v.kind != "track"] if edge.kind != "sidechain" else list(self.nodes)
                raise MixcoreError(
                    f"{edge.where}: no bus named {end!r}{did_you_mean(end, buses)}"
                    if edge.kind != "sidechain" else f"{edge.where}: no track or bus named {end!r}{did_you_mean(end, buses)}"
                )
        if edge.kind != "sidechain" and self.nodes[edge.dst].kind == "track":
            raise MixcoreError(f"{edge.where}: {edge.dst!r} is a track; outputs and sends go to buses or 'master'")
        if edge.src == edge.dst:
            raise MixcoreError(f"{edge.where}: {edge.src!r} routes into itself")
        self.edges.append(edge)

    def inputs(self, name: str) -> list[Edge]:
        return [e for e in self.edges if e.dst == name]

    def outputs(self, name: str) -> list[Edge]:
        return [e for e in self.edges if e.src == name]

    def topological_order(self) -> list[str]:
        """Nodes so that every edge runs forwards; ties keep the order of definition.

        Raises a one-line error naming the cycle when there is one.
        """
        indeg = {n: 0 for n in self.nodes}
        for e in self.edges:
            indeg[e.dst] += 1
        order: list[str] = []
        ready = [n for n in self.nodes if indeg[n] == 0]
        position = {n: i for i, n in enumerate(self.nodes)}
        while ready:
            ready.sort(key=position.__getitem__)
            n = ready.pop(0)
            order.append(n)
            for e in self.outputs(n):
                indeg[e.dst] -= 1
                if indeg[e.dst] == 0:
                    ready.append(e.dst)
        if len(order) != len(self.nodes):
            raise MixcoreError(self._describe_cycle(self._find_cycle({n for n in self.nodes if n not in order})))
        return order

    def _find_cycle(self, remaining: set[str]) -> list[Edge]:
        """The edges of one cycle among ``remaining`` (the nodes a topological sort could not place).

        Every such node has an input from another such node, so walking *upstream* from any of them
        must come back to a node already seen (walking downstream could end at a node that is only
        fed by the cycle, such as 'master'). The cycle is returned downstream, starting at the node
        defined first.
        """
        node = next(n for n in self.nodes if n in remaining)
        seen: dict[str, int] = {}
        path: list[Edge] = []  # path[i] feeds the node reached after i steps upstream
        while node not in seen:
            seen[node] = len(path)
            edge = next(e for e in self.edges if e.dst == node and e.src in remaining)
            path.append(edge)
            node = edge.src
        cycle = path[seen[node]:][::-1]
        position = {n: i for i, n in enumerate(self.nodes)}
        first = min(range(len(cycle)), key=lambda i: position[cycle[i].src])
        return cycle[first:] + cycle[:first]

    @staticmethod
    def _describe_cycle(cycle: list[Edge]) -> str:
        """``routing cycle: x -> y -> x (buses[0].output, buses[1].output): ...`` -- nodes and keys."""
        names = " -> ".join([e.src for e in cycle] + [cycle[0].src])
        keys = [e.where for e in cycle if e.where]
        keyed = [e.where for e in cycle if e.kind == "sidechain" and e.where]
        if keyed:
            return (f"sidechain cycle: {names} ({', '.join(keyed)}): a sidechain key must not come from a node "
                    f"that the keyed node feeds")
        return f"routing cycle: {names} ({', '.join(keys)}): outputs, sends and sidechains must not loop"

    def layers(self, order: list[str]) -> list[list[str]]:
        """Group nodes by depth (longest path from a source): nodes of one layer are independent."""
        depth: dict[str, int] = {}
        for n in order:
            depth[n] = max((depth[e.src] + 1 for e in self.inputs(n)), default=0)
        out: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for n in order:
            out[depth[n]].append(n)
        return out
