"""Compile a graph once into a render plan: order, layers, latencies, delays.

Plugin delay compensation (SPEC §2): a node's *arrival* latency is the largest
latency among the signals that reach it, so every path into a summing point is
delayed up to it (``EdgePlan.delay``). A sidechain key is aligned with the
signal at the input of the processor that takes it. The master's output
latency is the graph's total latency, which the engine removes from the output.

Steps (``schedule``): each layer of the plan as the operations the engine executes, in order: the
nodes that can run as a bank (``bankable``: the one place that decides it) together, cut into one
bank per thread, then the others alone. A bank reads its sources in one native call, runs each
chain position as one kernel call across its members (SIMD across tracks) and applies every fader
in one call; a node alone sums its inputs, runs its chain and applies its fader.

Summation order: a node sums its inputs in one fixed order (``NodePlan.sums``),
whatever thread runs it and whichever source finished first: by the position
of the source in the layers (depth, then order of definition), then by the
order of the source's edges. Float addition is not associative, so this order
is what keeps the output bit-identical for any thread count or block size.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..processors.base import ProcessSpec
from .graph import Edge, Graph, Node


@dataclass
class EdgePlan:
    edge: Edge
    delay: int = 0  # samples of compensation on this edge
    gain: float = 1.0  # linear send level


@dataclass
class NodePlan:
    node: Node
    arrival: int = 0  # latency of the signals at the node's input
    pre_latency: list[int] = field(default_factory=list)  # latency before processor k of the chain
    chain_latency: int = 0
    tail: int = 0  # samples the node may ring on after its inputs fall silent
    inputs: list[EdgePlan] = field(default_factory=list)
    outputs: list[EdgePlan] = field(default_factory=list)
    depth: int = 0  # the node's layer: 1 + the largest depth among its sources
    sums: list[EdgePlan] = field(default_factory=list)  # inputs from unmuted sources, in summation order

    @property
    def out_latency(self) -> int:
        return self.arrival + self.chain_latency


@dataclass
class RenderPlan:
    graph: Graph
    sample_rate: int
    block_size: int
    order: list[str]
    layers: list[list[str]]
    nodes: dict[str, NodePlan]

    @property
    def total_latency(self) -> int:
        return self.nodes["master"].out_latency

    @property
    def tail_samples(self) -> int:
        return self.nodes["master"].tail


def compile_plan(graph: Graph, sample_rate: int, block_size: int) -> RenderPlan:
    """Prepare every processor for its node and compute all compensation delays."""
    order = graph.topological_order()
    plans: dict[str, NodePlan] = {}
    for name in order:
        node = graph.nodes[name]
        spec = ProcessSpec(float(sample_rate), int(block_size), int(node.channels))
        pre: list[int] = []
        acc = 0
        tail = 0
        for proc in node.processors:
            proc.prepare(spec)
            pre.append(acc)
            acc += int(proc.latency_samples)
            tail += int(proc.tail_samples)
        np_ = NodePlan(node=node, pre_latency=pre, chain_latency=acc)
        in_edges = graph.inputs(name)
        arrival = 0
        for e in in_edges:
            src_out = plans[e.src].out_latency
            need = src_out - (pre[e.processor_index] if e.kind == "sidechain" else 0)
            arrival = max(arrival, need)
        np_.arrival = arrival
        np_.tail = tail + max((plans[e.src].tail for e in in_edges if e.kind != "sidechain"), default=0)
        for e in in_edges:
            src_out = plans[e.src].out_latency
            target = arrival + (pre[e.processor_index] if e.kind == "sidechain" else 0)
            ep = EdgePlan(edge=e, delay=target - src_out, gain=10.0 ** (e.level_db / 20.0))
            np_.inputs.append(ep)
            plans[e.src].outputs.append(ep)
        plans[name] = np_
    layers = graph.layers(order)
    _fix_summation_order(layers, plans)
    return RenderPlan(graph=graph, sample_rate=int(sample_rate), block_size=int(block_size), order=order,
                      layers=layers, nodes=plans)


def _fix_summation_order(layers: list[list[str]], plans: dict[str, NodePlan]) -> None:
    """Set every node's depth and its ``sums``: its inputs ordered by (rank of the source in the
    layers, index of the edge among the source's outputs); muted sources contribute nothing."""
    rank: dict[str, int] = {}
    for depth, layer in enumerate(layers):
        for name in layer:
            rank[name] = len(rank)
            plans[name].depth = depth

    def key(ep: EdgePlan) -> tuple[int, int]:
        outputs = plans[ep.edge.src].outputs
        return rank[ep.edge.src], next(i for i, o in enumerate(outputs) if o is ep)

    for np_ in plans.values():
        np_.sums = sorted((ep for ep in np_.inputs if not plans[ep.edge.src].node.muted), key=key)


@dataclass(frozen=True)
class Step:
    """One operation of a layer: one node, or several run as a bank."""
    nodes: tuple[str, ...]

    @property
    def bank(self) -> bool:
        return len(self.nodes) > 1


def bankable(np_: NodePlan, automated: bool) -> bool:
    """Whether a node can join a bank: it has processors, none of them automated (``automated``), no
    sidechain key, and none to bypass on a crash (those are checked after every block)."""
    node = np_.node
    return (bool(node.processors) and not automated
            and not any(ep.edge.kind == "sidechain" for ep in np_.inputs)
            and not any(getattr(p, "on_crash", None) == "bypass" for p in node.processors))


def schedule(plan: RenderPlan, automated: set[str], ways: int, banks: bool = True) -> list[list[Step]]:
    """Every layer's steps over its unmuted nodes: the bankable ones (two or more) as ``ways``
    interleaved banks (one per thread), then the others alone, in the layer's order. ``automated``:
    the nodes with an automated processor. ``banks=False``: every node alone (the reference path)."""
    steps = []
    for layer in plan.layers:
        active = [name for name in layer if not plan.nodes[name].node.muted]
        able = [name for name in active if bankable(plan.nodes[name], name in automated)] if banks else []
        if len(able) < 2:
            steps.append([Step((name,)) for name in active])
            continue
        n = max(1, min(ways, len(able) // 2))
        steps.append([Step(tuple(able[i::n])) for i in range(n)]
                     + [Step((name,)) for name in active if name not in able])
    return steps
