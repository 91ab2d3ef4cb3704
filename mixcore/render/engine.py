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

Steps: the plan's steps (graph/plan.py ``schedule``) per layer, each a node alone or a bank
(render/banks.py: sources, each chain position and the faders of many nodes in one native call each,
bit-identical to node by node). The hot path runs prepared native operations (``SumOp``, ``GainsOp``,
``SourceReadOp``, the banks' kernels) that hold their buffers' addresses: a block costs one call per
operation. Module map: nodes.py (a node's buffers and state), banks.py, wavefront.py (the threads),
faults.py (naming a non-finite output).

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

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..graph.plan import EdgePlan, RenderPlan, schedule
from ..processors.coeffs import gain_from_db
from ..errors import MixcoreError
from ..simd import kernel
from .automation import CONTROL_INTERVAL, Lane
from .finite import all_finite, clock, first_bad
from .banks import Bank
from .faults import Unlocated, node_label, proc_label, unlocated_error
from .nodes import CENTRE, DelayLine, NodeState, pan_gains, view
from .stream import Trim  # noqa: F401 (moved to render/stream.py)
from .wavefront import Wavefront

mix = kernel("mix")  # gains, sums, de-interleaving: pyx/mix.pxi, its AVX2 build where the CPU has it

#: Frames per pipeline step, at least: with blocks shorter than this, each task of a step runs
#: a node over several consecutive blocks, so the threads meet about once per STEP_FRAMES.
STEP_FRAMES = 8192


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
        self.states: dict[str, NodeState] = {}
        for name in plan.order:
            np_ = plan.nodes[name]
            node = np_.node
            tapped = any(ep.edge.kind == "send" and ep.edge.pre_fader for ep in np_.outputs)
            works = [np.zeros(node.channels * B, dtype=np.float32) for _ in range(S if tapped else 1)]
            st = NodeState(
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
            if every_plain and st.inbuf is None and st.plan.node.source is None:  # the common case, prepared
                st.sum_op = mix.SumOp(st.works, st.plan.node.channels,
                                      [[src.outs[s] for src, _ep, _p, _k in st.sums] for s in range(S)],
                                      [2] * len(st.sums), np.array([ep.gain for _s, ep, _p, _k in st.sums]))
            if st.gain_lane is None and st.pan_lane is None:
                st.gain_op = mix.GainsOp([[w] for w in st.works], [[o] for o in st.outs], [st.plan.node.channels],
                                         np.array(st.gains[:1]), np.array(st.gains[1:]))
        self._pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None
        self._locating = False  # True while a failed render is run again to name a processor (_locate)
        self._in_blocks = False  # True while blocks() runs (it locates a failure; run_block alone cannot)
        automated = {name for name, st in self.states.items() if st.proc_lanes}
        self._active_layers = [  # the plan's steps (graph/plan.py), each a node or a bank
            [Bank([self.states[n] for n in step.nodes]) if step.bank else self.states[step.nodes[0]] for step in layer]
            for layer in schedule(plan, automated, self.threads)]
        self._wave = (Wavefront(self._pool, self.threads, self._active_layers, self.group, self.slots, self._run_item)
                      if self._pool is not None else None)

    def _sum_entry(self, dst: NodeState, ep: EdgePlan) -> tuple:
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
            self._wave = None

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
        except Unlocated as u:
            if self._in_blocks:  # blocks() names the processor (_locate)
                raise
            raise unlocated_error(u.st, u.e0, self.plan.sample_rate) from None  # a caller stepping blocks itself

    def _run_layers(self, e0: int, n: int) -> None:
        for active in self._active_layers:
            if self._wave is not None and len(active) > 1:
                self._wave.run([(st, ((e0, n, 0),)) for st in active])
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
            if self._wave is None:
                e0 = 0
                while e0 < total:
                    n = min(B, total - e0)
                    self.run_block(e0, n)
                    yield e0, n
                    e0 += n
                return
            yield from self._wave.blocks(total, B, self._publish)
        except Unlocated as u:  # the threads have stopped: find the processor, then raise its error
            self._locate(u.st, u.e0, B, total)
        finally:
            self._in_blocks = False

    def _locate(self, st: NodeState, e_fail: int, B: int, total: int) -> None:
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
        raise unlocated_error(st, e_fail, self.plan.sample_rate)  # not reproduced: say what is known

    def _publish(self, slot: int) -> None:
        """Point every node's ``out`` at the slot of the block handed out."""
        for st in self.states.values():
            st.out = st.outs[slot]

    # -- one node or bank, one block -----------------------------------------
    def _run_item(self, item, e0: int, n: int, slot: int) -> None:
        if type(item) is Bank:
            self._run_bank(item, e0, n, slot)
        else:
            self._run_node(item, e0, n, slot)

    def _run_bank(self, bank: Bank, e0: int, n: int, slot: int) -> None:
        if e0 < bank.started or self._locating:  # node by node until every member runs (or to locate)
            for st in bank.members:
                self._run_node(st, e0, n, slot)
            return
        if bank.read_op is not None:
            bank.read_op.run(slot, n)
        for st in bank.unread:
            self._input(st, e0, n, slot)  # (checked at the fader)
        bad = bank.run(slot, n)
        if bad is not None:
            self._fader_failed(bad, bad.work(slot, n), bad.output(slot, n), e0, False)
        for st in bank.others:
            self._output(st, st.work(slot, n), e0, n, slot, checked=False)

    def _input(self, st: NodeState, e0: int, n: int, slot: int) -> np.ndarray:
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

    def _run_node(self, st: NodeState, e0: int, n: int, slot: int) -> None:
        work = self._input(st, e0, n, slot)
        if not st.proc_lanes and not st.keys and e0 >= st.started and not st.guarded and not st.locate:
            for proc in st.plan.node.processors:  # the common case: one native call each, checked at the fader
                proc.process(work)
            self._output(st, work, e0, n, slot, checked=False)
        else:
            self._run_chain(st, work, e0, n)  # every processor's output checked
            self._output(st, work, e0, n, slot)

    def _output(self, st: NodeState, work: np.ndarray, e0: int, n: int, slot: int, checked: bool = True) -> None:
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

    def _fader_failed(self, st: NodeState, work: np.ndarray, out: np.ndarray, e0: int, checked: bool) -> None:
        if not checked and st.plan.node.processors and not all_finite(work):
            raise Unlocated(st, e0)
        self._overflow(st, "fader", out, e0 - st.plan.out_latency)

    def _sum_inputs(self, st: NodeState, work: np.ndarray | None, e0: int, n: int, slot: int) -> None:
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

    def _edge_signal(self, src: NodeState, ep: EdgePlan, e0: int, n: int, slot: int) -> tuple[np.ndarray, float]:
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
            g = gain_from_db(lane.at_samples(pos, self.plan.sample_rate))
            g *= gain / ep.gain
            sig = (sig if sig.shape[0] == 2 else np.repeat(sig, 2, 0)).astype(np.float64) * g
            sig = np.ascontiguousarray(sig, dtype=np.float32)
            gain = 1.0
        if ep.delay > 0:
            sig = self.delays[id(ep)].push(sig if sig.shape[0] == 2 else np.repeat(sig, 2, 0))
        return sig, gain

    def _run_chain(self, st: NodeState, work: np.ndarray, e0: int, n: int) -> None:
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

    def _run_guarded(self, st: NodeState, k: int, proc, block: np.ndarray, key, e0: int) -> None:
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
    def _non_finite(self, st: NodeState, k: int, block: np.ndarray, e0: int) -> None:
        """Processor k of the node made NaN or Inf in ``block`` (engine time ``e0`` at its start)."""
        proc = st.plan.node.processors[k]
        i, _ch, what = first_bad(block)
        raise MixcoreError(f"{node_label(st)} chain[{k}] {proc_label(proc)}: non-finite output ({what}) at "
                           f"{clock(self._song_time(st, k, e0 + i))} in the song")

    def _song_time(self, st: NodeState, k: int, e: int) -> float:
        """Song time (s) of processor k's output at engine time ``e`` (its latency taken off)."""
        try:
            latency = int(st.plan.node.processors[k].latency_samples)
        except Exception:
            latency = 0
        return (e - st.starts[k] - latency) / self.plan.sample_rate

    def _overflow(self, st: NodeState, what: str, block: np.ndarray, song0: int) -> None:
        """A fader or a sum of finite signals went beyond the float range (``song0``: song time of block[0])."""
        i, _ch, kind = first_bad(block)
        raise MixcoreError(f"{node_label(st)} {what}: non-finite output ({kind}) at "
                           f"{clock((song0 + i) / self.plan.sample_rate)} in the song (samples beyond the float "
                           f"range: a level far above full scale)")

    def _bypass(self, st: NodeState, k: int, proc, block: np.ndarray, dry: np.ndarray, e0: int) -> None:
        """An isolated plugin with ``on_crash = "bypass"`` gave NaN or Inf: bypass it from here on."""
        i, _ch, what = first_bad(block)
        t = clock(self._song_time(st, k, e0 + i))
        print(f"mixcore: warning: {node_label(st)} chain[{k}] {proc_label(proc)}: non-finite output ({what}) at "
              f"{t} in the song; on_crash = \"bypass\": going on without it", file=sys.stderr)
        proc.bypass_now()
        block[...] = dry
        proc.process(block)  # bypassed: the dry signal, delayed by the plugin's latency

    def _run_processor(self, st: NodeState, k: int, proc, work: np.ndarray, key, e0: int) -> None:
        lanes = st.proc_lanes.get(k)
        if lanes:
            self._run_automated(st, k, proc, lanes, work, key, e0)
        elif key is not None:
            proc.process_with_key(work, key)
        else:
            proc.process(work)

    def _apply_gain_lanes(self, st: NodeState, work: np.ndarray, out: np.ndarray, e0: int, n: int) -> bool:
        node = st.plan.node
        sr = self.plan.sample_rate
        pos = np.arange(e0 - st.plan.out_latency, e0 - st.plan.out_latency + n)
        g = st.gain_lane.at_samples(pos, sr) if st.gain_lane else node.gain_db
        p = st.pan_lane.at_samples(pos, sr) if st.pan_lane else node.pan
        gl, gr = pan_gains(p, g, node.channels == 1)
        return mix.apply_gain_arrays(work, out, np.ascontiguousarray(np.broadcast_to(gl, (n,))),
                                     np.ascontiguousarray(np.broadcast_to(gr, (n,))))

    def _run_automated(self, st: NodeState, k: int, proc, lanes, work: np.ndarray, key, e0: int) -> None:
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


__all__ = ["Engine", "Trim", "pan_gains", "DelayLine", "EdgePlan"]
