"""Run a compiled :class:`~mixcore.graph.plan.RenderPlan` block by block.

A node, for one block: reads its input (a track: its source; a bus or the master: the sum of
its inputs' signals of the same block, taken along each edge through the edge's compensation
delay, in the plan's fixed summation order, ``NodePlan.sums``), runs its chain in place, then
applies fader and pan into its output buffer. A node sums its own inputs, so the sums, and thus
the output, are bit-identical whatever thread runs it, the block size or the thread count.

Threads: a software pipeline over the layers (a wavefront). At step ``s`` the nodes of depth
``d`` run block ``s - d``, for every depth at once: a node's inputs for that block were made at
an earlier step, and so was its own previous block, so all nodes of a step are independent and
the threads take them one by one from a shared list (deepest first: the master and the buses,
which would otherwise run alone after the tracks, start first). Block ``k`` is complete after
step ``k + depth``; while the caller consumes it (writes, meters), the worker threads already run
the next step. A node's blocks stay in order (its processors keep their state), and each
node's output -- and its pre-fader signal when a pre-fader send taps it -- lives in a ring of
``layers + 1`` slots (block ``b`` in slot ``b % slots``), so a slot is rewritten only after
every reader, the caller included, is done with it: memory stays flat. With one thread the
layers run in order within each block (``run_block``), without the pipeline.

Banks: the nodes of one layer that take no automation of their processors and no sidechain key
(R1's 16 tracks) run as a bank: each reads its input, then for each position k of the chains the
processors whose ``bank_key()`` agree run in one ``process_bank`` call (one kernel across all their
lanes -- SIMD across tracks), then each applies its fader and pan. ``process_bank`` is bit-identical to
``process`` on each, so banking changes speed, not output. With N threads a layer's bank is cut into N
interleaved banks, one task each.

Non-finite samples (NaN, Inf) never pass a node: the fader's kernel and every sum report whether
their output is finite (one fused pass), so on the fast paths a node costs one check per block; a
chain that made NaN or Inf is then named by running the render again up to that block with a check
after each of its processors (:meth:`Engine._locate`; renders are deterministic). The other paths
(automation, sidechains, ``on_crash = "bypass"``) check after every processor.

Engine time ``e`` runs ahead of song time by the latency in front of a point:
the signal at a node's input at engine time ``e`` belongs to song time
``e - arrival``. The first ``total_latency`` samples of the master's output are
dropped, so the output is aligned with the sources.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np

from ..graph.plan import EdgePlan, NodePlan, RenderPlan, schedule
from ..errors import MixcoreError
from ..processors.base import Processor
from ..simd import kernel
from .automation import CONTROL_INTERVAL, Lane
from .finite import all_finite, clock, first_bad
from .sources import SourceReader
from .stream import Trim  # noqa: F401 (moved to render/stream.py)

mix = kernel("mix")  # gains, sums, de-interleaving: pyx/mix.pxi, its AVX2 build where the CPU has it

HALF_PI = math.pi / 2.0
CENTRE = math.sqrt(0.5)  # -3.01 dB: a mono signal fed to both channels at centre
#: Frames per pipeline step, at least: with blocks shorter than this, each task of a step runs
#: a node over several consecutive blocks, so the threads meet about once per STEP_FRAMES.
STEP_FRAMES = 8192


def pan_gains(pan, gain_db, mono: bool):
    """Left/right gains of fader + pan (scalars or arrays), exactly as SPEC §2.

    Mono: constant power, theta = (pan + 1) * pi / 4, L = cos(theta), R = sin(theta).
    Stereo: balance; the far channel is attenuated by cos(|pan| * pi / 2).
    """
    g = np.power(10.0, np.asarray(gain_db, dtype=np.float64) / 20.0)
    p = np.asarray(pan, dtype=np.float64)
    if mono:
        theta = (p + 1.0) * (math.pi / 4.0)
        gl, gr = np.cos(theta), np.sin(theta)
    else:
        gl = np.where(p > 0.0, np.cos(np.abs(p) * HALF_PI), 1.0)
        gr = np.where(p < 0.0, np.cos(np.abs(p) * HALF_PI), 1.0)
    gl = np.where(np.abs(gl) < 1e-12, 0.0, gl) * g  # cos(pi/2) is 6e-17, not 0
    gr = np.where(np.abs(gr) < 1e-12, 0.0, gr) * g
    return gl, gr


def view(flat: np.ndarray, channels: int, n: int) -> np.ndarray:
    """A C-contiguous (channels, n) view of the front of a flat buffer."""
    return flat[: channels * n].reshape(channels, n)


class DelayLine:
    """A fixed delay of ``d`` samples on a stereo edge (PDC)."""

    def __init__(self, delay: int, channels: int, block: int) -> None:
        self.d = delay
        self.buf = np.zeros((channels, delay + block), dtype=np.float32)

    def reset(self) -> None:
        self.buf[...] = 0.0

    def push(self, x: np.ndarray) -> np.ndarray:
        """Write n samples, return the n samples delayed by d (a view, valid until the next push)."""
        n = x.shape[1]
        d = self.d
        b = self.buf
        b[:, d:d + n] = x
        out = b[:, :n].copy()
        b[:, :d] = b[:, n:n + d]
        return out


@dataclass
class _NodeState:
    plan: NodePlan
    # flat float32 buffers, viewed as C-contiguous (channels, n) per block (see view())
    works: list[np.ndarray]  # per slot, channels * B: the chain runs in place here (one buffer, shared
    #                          by every slot, unless a pre-fader send taps it)
    outs: list[np.ndarray]  # per slot, 2 * B: after fader and pan
    inbuf: np.ndarray | None  # 2 * B: where a bus of other than 2 channels sums its inputs
    keys: dict[int, np.ndarray] = field(default_factory=dict)  # processor index -> sidechain key, 2 * B
    gain_lane: Lane | None = None
    pan_lane: Lane | None = None
    proc_lanes: dict[int, list[tuple[str, Lane]]] = field(default_factory=dict)
    send_lanes: dict[str, Lane] = field(default_factory=dict)  # destination bus -> level_db lane
    gains: tuple = (1.0, 1.0)
    active: bool = True
    sums: list = field(default_factory=list)  # (source state, EdgePlan, plain?, flat key or None), in order
    out: np.ndarray | None = None  # the output slot of the block last handed out (what callers read)
    starts: list[int] = field(default_factory=list)  # engine time at which processor k's input is song time 0
    started: int = 0  # max(starts): from here on every processor runs on whole blocks
    work_views: list[np.ndarray] = field(default_factory=list)  # per slot: works as (channels, B)
    out_views: list[np.ndarray] = field(default_factory=list)  # per slot: outs as (2, B)
    plain: list | None = None  # the sources, in summation order, when every input is a plain edge
    plain_gains: np.ndarray | None = None  # their edge gains
    guarded: frozenset = frozenset()  # chain positions bypassed (not refused) on a non-finite output
    locate: bool = False  # check after every processor (set while locating a non-finite output)
    sum_op: object = None  # mix.SumOp: the plain sum of the inputs into the work buffer, prepared
    gain_op: object = None  # mix.GainsOp: fader and pan into the output slot, prepared (no gain/pan lanes)

    def __post_init__(self) -> None:
        self.guarded = frozenset(k for k, p in enumerate(self.plan.node.processors)
                                 if getattr(p, "on_crash", None) == "bypass")
        self.starts = [self.plan.arrival + pre for pre in self.plan.pre_latency]
        self.started = max(self.starts, default=0)
        # whole-block views of every slot, made once (most blocks are whole; view() for the others)
        ch = self.plan.node.channels
        self.work_views = [w.reshape(ch, -1) for w in self.works]
        self.out_views = [o.reshape(2, -1) for o in self.outs]

    def work(self, slot: int, n: int) -> np.ndarray:
        v = self.work_views[slot]
        return v if v.shape[1] == n else view(self.works[slot], self.plan.node.channels, n)

    def output(self, slot: int, n: int) -> np.ndarray:
        v = self.out_views[slot]
        return v if v.shape[1] == n else view(self.outs[slot], 2, n)


@dataclass
class _Bank:
    """Nodes of one layer run together: inputs one by one, each chain position in one call per
    ``bank_key``, the faders in one call (see the module's docstring)."""
    members: list[_NodeState]
    started: int = 0  # from here on every member's processors run on whole blocks
    steps: list = field(default_factory=list)  # the chains as calls run(slot, n), planned by _plan_bank
    epoch: int = -1  # Processor._epoch when the steps were planned (-1: not planned)
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

    def plan(self) -> None:
        """The chains of the members as a list of calls ``f(slot, n)``: for each chain position, the
        processors of one ``bank_key`` in one prepared native operation (``bank_op``; else one
        ``process_bank`` call), the others alone. Planned again whenever a parameter changes."""
        self.epoch = Processor._epoch
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


def _alone(proc, st: _NodeState):
    def run(slot: int, n: int) -> None:
        proc.process(st.work(slot, n))
    return run


def _together(procs: list, sts: list[_NodeState]):
    cls = type(procs[0])

    def run(slot: int, n: int) -> None:
        cls.process_bank(procs, [st.work(slot, n) for st in sts])
    return run


class Engine:
    """Executes a plan. ``lanes`` maps (node, processor index or -1, param) -> Lane."""

    def __init__(self, plan: RenderPlan, lanes: dict[tuple[str, int, str], Lane] | None = None,
                 threads: int = 1, interval: int = CONTROL_INTERVAL) -> None:
        self.plan = plan
        self.interval = int(interval)
        self.threads = max(1, int(threads))
        # pipeline: blocks per step, and output slots per node (see the module's docstring)
        self.group = max(1, STEP_FRAMES // plan.block_size) if self.threads > 1 else 1
        self.slots = (len(plan.layers) + 1) * self.group if self.threads > 1 else 1
        B = plan.block_size
        S = self.slots
        self.states: dict[str, _NodeState] = {}
        for name in plan.order:
            np_ = plan.nodes[name]
            node = np_.node
            tapped = any(ep.edge.kind == "send" and ep.edge.pre_fader for ep in np_.outputs)
            works = [np.zeros(node.channels * B, dtype=np.float32) for _ in range(S if tapped else 1)]
            st = _NodeState(
                plan=np_,
                works=works if tapped else works * S,
                outs=[np.zeros(2 * B, dtype=np.float32) for _ in range(S)],
                inbuf=None if node.kind == "track" or node.channels == 2 else np.zeros(2 * B, dtype=np.float32),
                active=not node.muted,
            )
            st.out = st.outs[0]
            st.gains = tuple(float(v) for v in pan_gains(node.pan, node.gain_db, node.channels == 1))
            for ep in np_.inputs:
                if ep.edge.kind == "sidechain" and ep.edge.processor_index not in st.keys:
                    st.keys[ep.edge.processor_index] = np.zeros(2 * B, dtype=np.float32)
            self.states[name] = st
        self.delays: dict[int, DelayLine] = {
            id(ep): DelayLine(ep.delay, 2, B)
            for np_ in plan.nodes.values() for ep in np_.outputs if ep.delay > 0
        }
        for (node, index, param), lane in (lanes or {}).items():
            st = self.states[node]
            if index < 0 and param == "gain_db":
                st.gain_lane = lane
            elif index < 0 and param == "pan":
                st.pan_lane = lane
            elif index < 0 and param.startswith("send:"):
                st.send_lanes[param[5:]] = lane
            else:
                st.proc_lanes.setdefault(index, []).append((param, lane))
        for st in self.states.values():
            st.sums = [self._sum_entry(st, ep) for ep in st.plan.sums]
            every_plain = not st.keys and all(plain for _src, _ep, plain, _key in st.sums)
            st.plain = [src for src, _ep, _plain, _key in st.sums] if every_plain else None
            st.plain_gains = np.array([ep.gain for _src, ep, _plain, _key in st.sums], dtype=np.float64)
            if st.plain is not None and st.inbuf is None and st.plan.node.source is None:
                st.sum_op = mix.SumOp(st.works, st.plan.node.channels,
                                      [[src.outs[s] for src in st.plain] for s in range(S)],
                                      [2] * len(st.plain), st.plain_gains)
            if st.gain_lane is None and st.pan_lane is None:
                st.gain_op = mix.GainsOp([[w] for w in st.works], [[o] for o in st.outs], [st.plan.node.channels],
                                         np.array(st.gains[:1]), np.array(st.gains[1:]))
        self._pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None
        self._locating = False  # True while a failed render is run again to name a processor (_locate)
        self._in_blocks = False  # True while blocks() runs (it locates a failure; run_block alone cannot)
        automated = {name for name, st in self.states.items() if st.proc_lanes}
        self._active_layers = [  # the plan's steps (graph/plan.py), each a node or a bank
            [_Bank([self.states[n] for n in step.nodes]) if step.bank else self.states[step.nodes[0]] for step in layer]
            for layer in schedule(plan, automated, self.threads)]

    def _sum_entry(self, dst: _NodeState, ep: EdgePlan) -> tuple:
        """How ``dst`` takes edge ``ep``: plain edges (post-fader, no compensation delay, no send
        automation) are one native ``dst += out * gain``; the others go through ``_edge_signal``."""
        e = ep.edge
        src = self.states[e.src]
        plain = not (ep.delay > 0 or (e.kind == "send" and (e.pre_fader or e.dst in src.send_lanes)))
        return src, ep, plain, dst.keys[e.processor_index] if e.kind == "sidechain" else None

    # -- lifecycle --------------------------------------------------------
    def reset(self) -> None:
        """Rewind: sources to their start, every processor and delay cleared."""
        for st in self.states.values():
            node = st.plan.node
            for proc in node.processors:
                proc.reset()
            if node.source is not None and st.active:
                node.source.offset = st.plan.arrival
                node.source.open()
            for buf in (*st.works, *st.outs, st.inbuf, *st.keys.values()):  # flat buffers
                if buf is not None:
                    buf[...] = 0.0
        for d in self.delays.values():
            d.reset()
        self._apply_lanes_at_start()

    def close(self) -> None:
        for st in self.states.values():
            if st.plan.node.source is not None:
                st.plan.node.source.close()
            for proc in st.plan.node.processors:
                if hasattr(proc, "close"):  # e.g. an isolated plugin's worker process
                    proc.close()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _apply_lanes_at_start(self) -> None:
        sr = self.plan.sample_rate
        for st in self.states.values():
            for index, lanes in st.proc_lanes.items():
                song0 = -(st.plan.arrival + st.plan.pre_latency[index])
                last_grid = (song0 // self.interval) * self.interval
                for param, lane in lanes:
                    proc = st.plan.node.processors[index]
                    proc.set_param(param, lane.at(last_grid, sr))
                    proc.reset()  # start at the value, not ramping towards it

    def output(self, name: str, n: int) -> np.ndarray:
        """Node ``name``'s output (post-fader, (2, n)) of the block just run: a view, valid until the
        next block runs (or, in :meth:`blocks`, until the generator is resumed)."""
        return view(self.states[name].out, 2, n)

    # -- scheduling -------------------------------------------------------
    def run_block(self, e0: int, n: int) -> None:
        """Process engine samples [e0, e0 + n) through every node, layer by layer (the nodes of a
        layer on the threads), without the pipeline; the block is then in every node's ``out``."""
        try:
            self._run_layers(e0, n)
        except _Unlocated as u:
            if self._in_blocks:  # blocks() names the processor (_locate)
                raise
            raise _unlocated_error(u.st, u.e0, self.plan.sample_rate) from None  # a caller stepping blocks itself

    def _run_layers(self, e0: int, n: int) -> None:
        for active in self._active_layers:
            if self._pool is not None and len(active) > 1:
                run = ((e0, n, 0),)
                self._finish(self._start([(st, run) for st in active]))
            else:
                for st in active:
                    self._run_item(st, e0, n, 0)
        if self.slots > 1:
            self._publish(0)

    def blocks(self, total: int, block_size: int | None = None) -> Iterator[tuple[int, int]]:
        """Run ``total`` engine samples; yield (e0, n) after each block is done, its signals in every
        node's ``out`` until the generator is resumed."""
        B = block_size or self.plan.block_size
        self._in_blocks = True
        try:
            if self._pool is None:
                e0 = 0
                while e0 < total:
                    n = min(B, total - e0)
                    self.run_block(e0, n)
                    yield e0, n
                    e0 += n
                return
            yield from self._pipeline(total, B)
        except _Unlocated as u:  # the threads have stopped: find the processor, then raise its error
            self._locate(u.st, u.e0, B, total)
        finally:
            self._in_blocks = False

    def _locate(self, st: _NodeState, e_fail: int, B: int, total: int) -> None:
        """A node's chain made NaN or Inf in the block at ``e_fail``, found at its fader (the fast paths
        check nothing else). The render is deterministic, so run it again from the start, checking
        every processor of that node, up to that block: the first to make it is named (MixcoreError).
        This costs a second pass over the song so far, and only when the render fails anyway."""
        self._locating = True
        for other in self.states.values():  # every node, so no other one fails unlocated first
            other.locate = True
        try:
            self.reset()
            e0 = 0
            while e0 <= e_fail and e0 < total:
                n = min(B, total - e0)
                self._run_layers(e0, n)
                e0 += n
        finally:
            for other in self.states.values():
                other.locate = False
            self._locating = False
        raise _unlocated_error(st, e_fail, self.plan.sample_rate)  # not reproduced: say what is known

    def _pipeline(self, total: int, B: int) -> Iterator[tuple[int, int]]:
        """The wavefront (see the module's docstring): step s runs depth d of group s - d, a group
        being ``self.group`` consecutive blocks (each node runs them in order within its task)."""
        depth = len(self._active_layers)
        nblocks = -(-total // B)
        M = self.group
        ngroups = -(-nblocks // M)
        steps = ngroups + depth - 1
        S = self.slots

        def runs(g: int) -> list[tuple[int, int, int]]:  # the blocks of group g: (e0, n, slot)
            return [(b * B, min(B, total - b * B), b % S) for b in range(g * M, min(g * M + M, nblocks))]

        def tasks(s: int) -> list[tuple]:
            out = []
            for d in range(depth - 1, -1, -1):  # deepest first
                g = s - d
                if 0 <= g < ngroups:
                    r = runs(g)
                    out.extend((st, r) for st in self._active_layers[d])
            return out

        pending = self._start(tasks(0))
        try:
            for s in range(steps):
                running, pending = pending, None
                self._finish(running)
                if s + 1 < steps:  # the workers run ahead while the caller takes group k
                    pending = self._start(tasks(s + 1))
                k = s - (depth - 1)
                if k >= 0:
                    for e0, n, slot in runs(k):
                        self._publish(slot)
                        yield e0, n
        finally:
            if pending is not None:  # the caller stopped early, or a step failed: let the workers stop
                for _ in pending[0]:
                    pass
                wait(pending[1])

    def _start(self, tasks: list[tuple]) -> tuple[Iterator[tuple], list[Future]]:
        """Hand a list of independent node runs to the worker threads (they take them in turn)."""
        it = iter(tasks)
        return it, [self._pool.submit(self._drain, it) for _ in range(self.threads - 1)]

    def _finish(self, running: tuple[Iterator[tuple], list[Future]]) -> None:
        """Take part in the running list on the calling thread, then wait for the workers."""
        it, futures = running
        try:
            self._drain(it)
        finally:
            wait(futures)
        for f in futures:
            f.result()  # a worker's error is raised here

    def _drain(self, it: Iterator[tuple]) -> None:
        run = self._run_item
        try:
            for st, runs in it:  # next() on a shared list iterator is atomic under the GIL
                for e0, n, slot in runs:
                    run(st, e0, n, slot)
        except BaseException:
            for _ in it:  # take the rest, so the other threads stop after their current node
                pass
            raise

    def _publish(self, slot: int) -> None:
        """Point every node's ``out`` at the slot of the block handed out."""
        for st in self.states.values():
            st.out = st.outs[slot]

    # -- one node or bank, one block -----------------------------------------
    def _run_item(self, item, e0: int, n: int, slot: int) -> None:
        if type(item) is _Bank:
            self._run_bank(item, e0, n, slot)
        else:
            self._run_node(item, e0, n, slot)

    def _run_bank(self, bank: _Bank, e0: int, n: int, slot: int) -> None:
        if e0 < bank.started or self._locating:  # node by node until every member runs (or to locate)
            for st in bank.members:
                self._run_node(st, e0, n, slot)
            return
        if bank.read_op is not None:
            bank.read_op.run(slot, n)
        for st in bank.unread:
            self._input(st, e0, n, slot)  # (checked at the fader)
        if bank.provisional or bank.epoch != Processor._epoch:
            bank.plan()
        for step in bank.steps:
            step(slot, n)
        if bank.gain_op is not None:
            bad = bank.gain_op.run(slot, n)
            if bad >= 0:
                st = bank.faded[bad]
                self._fader_failed(st, st.work(slot, n), st.output(slot, n), e0, False)
        for st in bank.others:
            self._output(st, st.work(slot, n), e0, n, slot, checked=False)

    def _input(self, st: _NodeState, e0: int, n: int, slot: int) -> np.ndarray:
        """The node's input for this block, in its work buffer (returned as a (channels, n) view)."""
        node = st.plan.node
        work = st.work(slot, n)
        if node.source is not None:
            node.source.read_into(work)
            if node.polarity_invert:
                np.negative(work, out=work)
            if st.sums:  # a track's only inputs are sidechain keys
                self._sum_inputs(st, None, e0, n, slot)
        else:
            self._sum_inputs(st, work, e0, n, slot)
        return work

    def _run_node(self, st: _NodeState, e0: int, n: int, slot: int) -> None:
        work = self._input(st, e0, n, slot)
        if not st.proc_lanes and not st.keys and e0 >= st.started and not st.guarded and not st.locate:
            for proc in st.plan.node.processors:  # the common case: one native call each, checked at the fader
                proc.process(work)
            self._output(st, work, e0, n, slot, checked=False)
        else:
            self._run_chain(st, work, e0, n)  # every processor's output checked
            self._output(st, work, e0, n, slot)

    def _output(self, st: _NodeState, work: np.ndarray, e0: int, n: int, slot: int, checked: bool = True) -> None:
        """Fader and pan, from the chain's output into the node's output slot; a NaN or Inf there stops
        the render. ``checked``: each processor's output was checked, so it is the fader's fault; else
        the chain made it somewhere (NaN or Inf from the chain always shows after any gain: Inf * 0 is
        NaN), and :meth:`_locate` finds where."""
        if st.gain_op is not None:
            if st.gain_op.run(slot, n) < 0:
                return
            ok = False
        else:
            ok = self._apply_gain_lanes(st, work, st.output(slot, n), e0, n)
        if not ok:
            self._fader_failed(st, work, st.output(slot, n), e0, checked)

    def _fader_failed(self, st: _NodeState, work: np.ndarray, out: np.ndarray, e0: int, checked: bool) -> None:
        if not checked and st.plan.node.processors and not all_finite(work):
            raise _Unlocated(st, e0)
        self._overflow(st, "fader", out, e0 - st.plan.out_latency)

    def _sum_inputs(self, st: _NodeState, work: np.ndarray | None, e0: int, n: int, slot: int) -> None:
        """The node's input (into ``work``, unless None) and sidechain keys for this block: the sum of
        every edge's signal of the same block, in the plan's summation order (one native pass per
        destination: ``mix.sum_into`` adds exactly as zeroing and accumulating one by one would)."""
        if st.sum_op is not None:  # the common case
            if not st.sum_op.run(slot, n):
                self._overflow(st, "the sum of its inputs", work, e0 - st.plan.arrival)
            return
        inp = work if st.inbuf is None or work is None else view(st.inbuf, 2, n)
        into: dict[int, tuple[list, list]] = {}
        if inp is not None:
            into[-1] = ([], [])
        for index in st.keys:
            into[index] = ([], [])
        for src, ep, plain, key in st.sums:
            if plain:
                sig, gain = src.output(slot, n), ep.gain
            else:
                sig, gain = self._edge_signal(src, ep, e0, n, slot)
            sigs, gains = into[-1 if key is None else ep.edge.processor_index]
            sigs.append(sig)
            gains.append(gain)
        for index, (sigs, gains) in into.items():
            dst = inp if index < 0 else view(st.keys[index], 2, n)
            if not mix.sum_into(dst, sigs, np.array(gains, dtype=np.float64)):
                what = "the sum of its inputs" if index < 0 else f"the sidechain key of chain[{index}]"
                self._overflow(st, what, dst, e0 - st.plan.arrival)
        if inp is not work:  # a bus of other than 2 channels
            work[...] = inp

    def _edge_signal(self, src: _NodeState, ep: EdgePlan, e0: int, n: int, slot: int) -> tuple[np.ndarray, float]:
        """What an edge carries in this block, and its gain: the tap (pre-fader: the chain's output;
        else after fader and pan), an automated send level, then the compensation delay."""
        e = ep.edge
        if e.kind == "send" and e.pre_fader:
            sig = view(src.works[slot], src.plan.node.channels, n)
            gain = ep.gain * (CENTRE if sig.shape[0] == 1 else 1.0)
        else:
            sig = src.output(slot, n)
            gain = ep.gain
        lane = src.send_lanes.get(e.dst) if e.kind == "send" else None
        if lane is not None:  # automated send level: per-sample gain at the tap, before any delay
            pos = np.arange(e0 - src.plan.out_latency, e0 - src.plan.out_latency + n)
            g = np.power(10.0, lane.at_samples(pos, self.plan.sample_rate) / 20.0)
            g *= gain / ep.gain
            sig = (sig if sig.shape[0] == 2 else np.repeat(sig, 2, 0)).astype(np.float64) * g
            sig = np.ascontiguousarray(sig, dtype=np.float32)
            gain = 1.0
        if ep.delay > 0:
            sig = self.delays[id(ep)].push(sig if sig.shape[0] == 2 else np.repeat(sig, 2, 0))
        return sig, gain

    def _run_chain(self, st: _NodeState, work: np.ndarray, e0: int, n: int) -> None:
        """The chain in order; processor k starts at song time 0 of its input (engine time
        ``arrival + pre_latency[k]``): before that it is not called (its input is the silence
        ahead of the song), so a time-variant processor -- a modulated reverb, a chorus LFO --
        starts at the same point of the song whatever latency sits upstream (isolating a plugin
        or changing a lookahead elsewhere leaves it bit-identical)."""
        for k, proc in enumerate(st.plan.node.processors):
            key = view(st.keys[k], 2, n) if k in st.keys else None
            start = st.starts[k]
            if e0 >= start:
                self._run_guarded(st, k, proc, work, key, e0)
            elif e0 + n > start:  # the song starts inside this block
                i = start - e0
                piece = np.ascontiguousarray(work[:, i:])
                self._run_guarded(st, k, proc, piece, None if key is None else np.ascontiguousarray(key[:, i:]),
                                  start)
                work[:, i:] = piece

    def _run_guarded(self, st: _NodeState, k: int, proc, block: np.ndarray, key, e0: int) -> None:
        """Run processor k on ``block`` and refuse a non-finite output (an isolated plugin with
        ``on_crash = "bypass"`` is bypassed instead: the dry block passes, delayed by its latency)."""
        if k in st.guarded:
            dry = block.copy()
            self._run_processor(st, k, proc, block, key, e0)
            if not all_finite(block):
                self._bypass(st, k, proc, block, dry, e0)
            return
        self._run_processor(st, k, proc, block, key, e0)
        if not all_finite(block):
            self._non_finite(st, k, block, e0)

    # -- non-finite samples ---------------------------------------------------------
    def _non_finite(self, st: _NodeState, k: int, block: np.ndarray, e0: int) -> None:
        """Processor k of the node made NaN or Inf in ``block`` (engine time ``e0`` at its start)."""
        proc = st.plan.node.processors[k]
        i, _ch, what = first_bad(block)
        raise MixcoreError(f"{_node_label(st)} chain[{k}] {_proc_label(proc)}: non-finite output ({what}) at "
                           f"{clock(self._song_time(st, k, e0 + i))} in the song")

    def _song_time(self, st: _NodeState, k: int, e: int) -> float:
        """Song time (s) of processor k's output at engine time ``e`` (its latency taken off)."""
        try:
            latency = int(st.plan.node.processors[k].latency_samples)
        except Exception:
            latency = 0
        return (e - st.starts[k] - latency) / self.plan.sample_rate

    def _overflow(self, st: _NodeState, what: str, block: np.ndarray, song0: int) -> None:
        """A fader or a sum of finite signals went beyond the float range (``song0``: song time of block[0])."""
        i, _ch, kind = first_bad(block)
        raise MixcoreError(f"{_node_label(st)} {what}: non-finite output ({kind}) at "
                           f"{clock((song0 + i) / self.plan.sample_rate)} in the song (samples beyond the float "
                           f"range: a level far above full scale)")

    def _bypass(self, st: _NodeState, k: int, proc, block: np.ndarray, dry: np.ndarray, e0: int) -> None:
        """An isolated plugin with ``on_crash = "bypass"`` gave NaN or Inf: bypass it from here on."""
        i, _ch, what = first_bad(block)
        t = clock(self._song_time(st, k, e0 + i))
        print(f"mixcore: warning: {_node_label(st)} chain[{k}] {_proc_label(proc)}: non-finite output ({what}) at "
              f"{t} in the song; on_crash = \"bypass\": going on without it", file=sys.stderr)
        proc.bypass_now()
        block[...] = dry
        proc.process(block)  # bypassed: the dry signal, delayed by the plugin's latency

    def _run_processor(self, st: _NodeState, k: int, proc, work: np.ndarray, key, e0: int) -> None:
        lanes = st.proc_lanes.get(k)
        if lanes:
            self._run_automated(st, k, proc, lanes, work, key, e0)
        elif key is not None:
            proc.process_with_key(work, key)
        else:
            proc.process(work)

    def _apply_gain_lanes(self, st: _NodeState, work: np.ndarray, out: np.ndarray, e0: int, n: int) -> bool:
        node = st.plan.node
        sr = self.plan.sample_rate
        pos = np.arange(e0 - st.plan.out_latency, e0 - st.plan.out_latency + n)
        g = st.gain_lane.at_samples(pos, sr) if st.gain_lane else node.gain_db
        p = st.pan_lane.at_samples(pos, sr) if st.pan_lane else node.pan
        gl, gr = pan_gains(p, g, node.channels == 1)
        return mix.apply_gain_arrays(work, out, np.ascontiguousarray(np.broadcast_to(gl, (n,))),
                                     np.ascontiguousarray(np.broadcast_to(gr, (n,))))

    def _run_automated(self, st: _NodeState, k: int, proc, lanes, work: np.ndarray, key, e0: int) -> None:
        """Sample-accurate processors get per-sample values; the others are processed in pieces cut
        at the control grid of song time, with the lanes' values set there."""
        n = work.shape[1]
        sr = self.plan.sample_rate
        song0 = e0 - st.plan.arrival - st.plan.pre_latency[k]
        if proc.SAMPLE_ACCURATE:  # with a key: also TAKES_SIDECHAIN, so process_automated takes key=
            pos = np.arange(song0, song0 + n)
            values = {param: lane.at_samples(pos, sr) for param, lane in lanes}
            if key is None:
                proc.process_automated(work, values)
            else:  # a sidechain key, aligned with the processor's input (plan.py)
                proc.process_automated(work, values, key=key)
            return
        i = 0
        while i < n:
            pos = song0 + i
            if pos % self.interval == 0:
                for param, lane in lanes:
                    proc.set_param(param, lane.at(pos, sr))
            step = self.interval - (pos % self.interval)
            j = min(n, i + step)
            piece = np.ascontiguousarray(work[:, i:j])
            if key is not None:
                proc.process_with_key(piece, np.ascontiguousarray(key[:, i:j]))
            else:
                proc.process(piece)
            work[:, i:j] = piece
            i = j


def _node_label(st: _NodeState) -> str:
    """``tracks[0] 'kick'``, ``buses[1] 'drums'``, ``master``."""
    node = st.plan.node
    where = node.where or node.name
    return where if node.kind == "master" else f"{where} {node.name!r}"


def _proc_label(proc) -> str:
    """``compressor``, ``compressor 'glue'`` (its own id), ``vst3 'MixcoreTestEffect'``."""
    kind = getattr(proc, "type_name", "") or type(proc).__name__
    name = getattr(proc, "name", None) if kind in ("vst3", "pedalboard") else getattr(proc, "id", None)
    return f"{kind} {name!r}" if isinstance(name, str) and name and name != kind else kind


def _unlocated_error(st: _NodeState, e0: int, sample_rate: int) -> MixcoreError:
    """NaN or Inf after a node's chain, its processor not known (live playback, or not reproduced)."""
    return MixcoreError(f"{_node_label(st)} chain: non-finite output (NaN or Inf) in the block at "
                        f"{clock(max(e0 - st.plan.out_latency, 0) / sample_rate)} in the song")


class _Unlocated(Exception):
    """Internal: NaN or Inf after a node's chain, on a path that does not check each processor."""

    def __init__(self, st: _NodeState, e0: int) -> None:
        super().__init__(st.plan.node.name)
        self.st = st
        self.e0 = e0


__all__ = ["Engine", "Trim", "pan_gains", "DelayLine", "EdgePlan"]
