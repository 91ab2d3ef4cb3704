"""Banks: nodes of one layer run together (graph/plan.py ``schedule`` decides which, ``bankable``).

A bank reads its members' file sources in one native call (``SourceReadOp``), runs each chain
position as one native call per ``bank_key`` (``Processor.bank_op``: one kernel across the lanes of
every member, SIMD across tracks; else ``process_bank``; a processor that cannot join runs alone),
then every fader in one call (``GainsOp``). The native operations are prepared once, with their
buffers' addresses; the chains are planned again whenever any parameter changes
(when ``Processor._epoch`` moved, the members' ``_version``s are compared: automation elsewhere costs
one look) or while a member could not join (a glide running). Same bits as node by node.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..processors.base import Processor
from ..simd import kernel
from .nodes import NodeState
from .sources import SourceReader

mix = kernel("mix")


@dataclass
class Bank:
    """Nodes of one layer run together: inputs one by one, each chain position in one call per
    ``bank_key``, the faders in one call (see the module's docstring)."""
    members: list[NodeState]
    started: int = 0  # from here on every member's processors run on whole blocks
    steps: list = field(default_factory=list)  # the chains as calls run(slot, n), planned by _plan_bank
    epoch: int = -1  # Processor._epoch when the steps were last known valid (-1: not planned)
    versions: list = field(default_factory=list)  # the members' processors' _version when planned
    provisional: bool = True  # planned while a member could not join its bank (plan again next block)
    gain_op: object = None  # the faders of the members without gain/pan lanes (mix.GainsOp)
    faded: list = field(default_factory=list)  # those members, in the order of gain_op
    others: list = field(default_factory=list)  # the members with gain or pan lanes
    read_op: object = None  # the members' file sources, read in one call (mix.SourceReadOp)
    read: list = field(default_factory=list)  # the members read_op reads
    unread: list = field(default_factory=list)  # the others (a bus without inputs, an inverted polarity)

    def __post_init__(self) -> None:
        self.started = max(st.started for st in self.members)
        self.depth = max(len(st.plan.node.processors) for st in self.members)
        self.procs = [p for st in self.members for p in st.plan.node.processors]
        self.faded = [st for st in self.members if st.gain_op is not None]
        slots = len(self.members[0].works)
        self.read = [st for st in self.members if st.plan.node.source is not None and not st.sums
                     and not st.plan.node.polarity_invert and type(st.plan.node.source) is SourceReader]
        self.unread = [st for st in self.members if st not in self.read]
        if self.read:
            self.read_op = mix.SourceReadOp([st.plan.node.source for st in self.read],
                                            [[st.works[s] for st in self.read] for s in range(slots)],
                                            [st.plan.node.channels for st in self.read])
        self.others = [st for st in self.members if st.gain_op is None]
        if self.faded:
            self.gain_op = mix.GainsOp(
                [[st.works[s] for st in self.faded] for s in range(len(self.faded[0].works))],
                [[st.outs[s] for st in self.faded] for s in range(len(self.faded[0].outs))],
                [st.plan.node.channels for st in self.faded],
                np.array([st.gains[0] for st in self.faded]), np.array([st.gains[1] for st in self.faded]))

    def run(self, slot: int, n: int) -> NodeState | None:
        """The chains and faders of every member on its block (inputs read): the first member whose
        output is not finite, else None."""
        if self.provisional or self.epoch != Processor._epoch:
            if self.provisional or [p._version for p in self.procs] != self.versions:
                self.plan()
            self.epoch = Processor._epoch
        for step in self.steps:
            step(slot, n)
        if self.gain_op is not None:
            bad = self.gain_op.run(slot, n)
            if bad >= 0:
                return self.faded[bad]
        return None

    def plan(self) -> None:
        """The chains of the members as a list of calls ``f(slot, n)``: for each chain position, the
        processors of one ``bank_key`` in one prepared native operation (``bank_op``; else one
        ``process_bank`` call), the others alone. Planned again whenever a parameter changes."""
        self.epoch = Processor._epoch
        self.versions = [p._version for p in self.procs]
        self.provisional = False
        self.steps = []
        members = self.members
        for k in range(self.depth):
            groups: dict = {}
            for i, st in enumerate(members):
                procs = st.plan.node.processors
                if k >= len(procs):
                    continue
                proc = procs[k]
                key = proc.bank_key()
                if key is None:
                    self.provisional |= type(proc).bank_key is not Processor.bank_key  # it may join later
                    self.steps.append(_alone(proc, st))
                else:
                    groups.setdefault(key, ([], []))
                    groups[key][0].append(proc)
                    groups[key][1].append(st)
            for procs, sts in groups.values():  # in order of first appearance: fixed
                if len(procs) == 1:
                    self.steps.append(_alone(procs[0], sts[0]))
                    continue
                slots = len(sts[0].works)
                op = type(procs[0]).bank_op(procs, [[st.works[s] for st in sts] for s in range(slots)],
                                            [st.plan.node.channels for st in sts])
                self.steps.append(op.run if op is not None else _together(procs, sts))


def _alone(proc, st: NodeState):
    def run(slot: int, n: int) -> None:
        proc.process(st.work(slot, n))
    return run


def _together(procs: list, sts: list[NodeState]):
    cls = type(procs[0])

    def run(slot: int, n: int) -> None:
        cls.process_bank(procs, [st.work(slot, n) for st in sts])
    return run
