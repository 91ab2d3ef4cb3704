"""Run a compiled :class:`~mixcore.graph.plan.RenderPlan` block by block.

Per block, layer by layer (nodes of one layer are independent and may run on
worker threads), each node: reads its input (a track's source, or the sum its
inputs left in its input buffer), runs its chain in place, then applies fader
and pan into its output buffer. After a layer, the main thread pushes every
node's signals along its edges, through the edge's compensation delay, into
the destinations' buffers, always in the same order, so the sums, and thus the
output, are bit-identical whatever the block size or thread count.

Engine time ``e`` runs ahead of song time by the latency in front of a point:
the signal at a node's input at engine time ``e`` belongs to song time
``e - arrival``. The first ``total_latency`` samples of the master's output are
dropped, so the output is aligned with the sources.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .._dsp import mix
from ..graph.plan import EdgePlan, NodePlan, RenderPlan
from .automation import CONTROL_INTERVAL, Lane

HALF_PI = math.pi / 2.0
CENTRE = math.sqrt(0.5)  # -3.01 dB: a mono signal fed to both channels at centre


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
    work: np.ndarray  # channels * B: the chain runs in place here
    inbuf: np.ndarray | None  # 2 * B: what upstream nodes sum into (buses, master)
    out: np.ndarray  # 2 * B: after fader and pan
    keys: dict[int, np.ndarray] = field(default_factory=dict)  # processor index -> sidechain key, 2 * B
    gain_lane: Lane | None = None
    pan_lane: Lane | None = None
    proc_lanes: dict[int, list[tuple[str, Lane]]] = field(default_factory=dict)
    send_lanes: dict[str, Lane] = field(default_factory=dict)  # destination bus -> level_db lane
    gains: tuple = (1.0, 1.0)
    active: bool = True
    edges: list | None = None  # (EdgePlan, flat target or None), filled by Engine._push


class Engine:
    """Executes a plan. ``lanes`` maps (node, processor index or -1, param) -> Lane."""

    def __init__(self, plan: RenderPlan, lanes: dict[tuple[str, int, str], Lane] | None = None,
                 threads: int = 1, interval: int = CONTROL_INTERVAL) -> None:
        self.plan = plan
        self.interval = int(interval)
        self.threads = max(1, int(threads))
        B = plan.block_size
        self.states: dict[str, _NodeState] = {}
        for name in plan.order:
            np_ = plan.nodes[name]
            node = np_.node
            st = _NodeState(
                plan=np_,
                work=np.zeros(node.channels * B, dtype=np.float32),
                inbuf=None if node.kind == "track" else np.zeros(2 * B, dtype=np.float32),
                out=np.zeros(2 * B, dtype=np.float32),
                active=not node.muted,
            )
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
        self._pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None
        self._active_layers = [[self.states[name] for name in layer if self.states[name].active]
                               for layer in plan.layers]

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
            for buf in (st.work, st.out, st.inbuf, *st.keys.values()):  # flat buffers
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

    # -- one block --------------------------------------------------------
    def run_block(self, e0: int, n: int) -> None:
        """Process engine samples [e0, e0 + n) through every node."""
        for active in self._active_layers:
            if self._pool is not None and len(active) > 1:
                self._run_parallel(active, e0, n)
            else:
                for st in active:
                    self._run_node(st, e0, n)
            for st in active:
                self._push(st, n, e0)

    def _run_parallel(self, active: list[_NodeState], e0: int, n: int) -> None:
        """Run one layer's nodes on the threads: one share per thread (the calling thread takes the
        first), so a layer costs one hand-off per thread rather than one per node. Nodes write only
        their own buffers, so the shares never touch; the pushes that follow are in a fixed order."""
        k = min(self.threads, len(active))
        shares = [active[i::k] for i in range(k)]  # interleaved: costly nodes are spread out
        futures = [self._pool.submit(self._run_nodes, share, e0, n) for share in shares[1:]]
        self._run_nodes(shares[0], e0, n)
        for f in futures:
            f.result()

    def _run_nodes(self, share: list[_NodeState], e0: int, n: int) -> None:
        for st in share:
            self._run_node(st, e0, n)

    def _run_node(self, st: _NodeState, e0: int, n: int) -> None:
        node = st.plan.node
        work = view(st.work, node.channels, n)
        if node.source is not None:
            node.source.read_into(work)
            if node.polarity_invert:
                np.negative(work, out=work)
        else:
            inbuf = view(st.inbuf, 2, n)
            work[...] = inbuf
            inbuf[...] = 0.0
        if not st.proc_lanes and not st.keys:  # the common case: one native call per processor
            for proc in node.processors:
                proc.process(work)
        else:
            self._run_chain(st, work, e0, n)
        out = view(st.out, 2, n)
        if st.gain_lane is None and st.pan_lane is None:
            mix.apply_gains(work, out, st.gains[0], st.gains[1])
        else:
            self._apply_gain_lanes(st, work, out, e0, n)

    def _run_chain(self, st: _NodeState, work: np.ndarray, e0: int, n: int) -> None:
        for k, proc in enumerate(st.plan.node.processors):
            lanes = st.proc_lanes.get(k)
            key = view(st.keys[k], 2, n) if k in st.keys else None
            if lanes:
                self._run_automated(st, k, proc, lanes, work, key, e0)
            elif key is not None:
                proc.process_with_key(work, key)
                key[...] = 0.0
            else:
                proc.process(work)

    def _apply_gain_lanes(self, st: _NodeState, work: np.ndarray, out: np.ndarray, e0: int, n: int) -> None:
        node = st.plan.node
        sr = self.plan.sample_rate
        pos = np.arange(e0 - st.plan.out_latency, e0 - st.plan.out_latency + n)
        g = st.gain_lane.at_samples(pos, sr) if st.gain_lane else node.gain_db
        p = st.pan_lane.at_samples(pos, sr) if st.pan_lane else node.pan
        gl, gr = pan_gains(p, g, node.channels == 1)
        mix.apply_gain_arrays(work, out, np.ascontiguousarray(np.broadcast_to(gl, (n,))),
                              np.ascontiguousarray(np.broadcast_to(gr, (n,))))

    def _run_automated(self, st: _NodeState, k: int, proc, lanes, work: np.ndarray, key, e0: int) -> None:
        """Sample-accurate processors get per-sample values; the others are processed in pieces cut
        at the control grid of song time, with the lanes' values set there."""
        n = work.shape[1]
        sr = self.plan.sample_rate
        song0 = e0 - st.plan.arrival - st.plan.pre_latency[k]
        if getattr(proc, "SAMPLE_ACCURATE", False) and (key is None or _takes_key(proc)):
            pos = np.arange(song0, song0 + n)
            values = {param: lane.at_samples(pos, sr) for param, lane in lanes}
            if key is None:
                proc.process_automated(work, values)
            else:  # a sidechain key, aligned with the processor's input (plan.py)
                proc.process_automated(work, values, key=key)
                key[...] = 0.0
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
        if key is not None:
            key[...] = 0.0

    def _push(self, st: _NodeState, n: int, e0: int = 0) -> None:
        """Send a node's signals along its edges into their destinations (in the plan's edge order)."""
        edges = st.edges
        if edges is None:
            edges = st.edges = [(ep, self._plain_target(st, ep)) for ep in st.plan.outputs]
        out = None
        for ep, plain in edges:
            if plain is not None:  # post-fader, no delay, no send automation: one native call
                if out is None:
                    out = view(st.out, 2, n)
                mix.accumulate(plain[: 2 * n].reshape(2, n), out, ep.gain)
                continue
            e = ep.edge
            dst = self.states[e.dst]
            if e.kind == "send" and e.pre_fader:
                sig = view(st.work, st.plan.node.channels, n)
                gain = ep.gain * (CENTRE if sig.shape[0] == 1 else 1.0)
            else:
                sig = view(st.out, 2, n)
                gain = ep.gain
            lane = st.send_lanes.get(e.dst) if e.kind == "send" else None
            if lane is not None:  # automated send level: per-sample gain at the tap, before any delay
                pos = np.arange(e0 - st.plan.out_latency, e0 - st.plan.out_latency + n)
                g = np.power(10.0, lane.at_samples(pos, self.plan.sample_rate) / 20.0)
                g *= gain / ep.gain
                sig = (sig if sig.shape[0] == 2 else np.repeat(sig, 2, 0)).astype(np.float64) * g
                sig = np.ascontiguousarray(sig, dtype=np.float32)
                gain = 1.0
            if ep.delay > 0:
                sig = self.delays[id(ep)].push(sig if sig.shape[0] == 2 else np.repeat(sig, 2, 0))
            target = dst.keys[e.processor_index] if e.kind == "sidechain" else dst.inbuf
            mix.accumulate(view(target, 2, n), sig, gain)

    def _plain_target(self, st: _NodeState, ep: EdgePlan) -> np.ndarray | None:
        """The flat destination buffer of an edge that needs nothing but ``dst += out * gain``."""
        e = ep.edge
        if ep.delay > 0 or (e.kind == "send" and (e.pre_fader or e.dst in st.send_lanes)):
            return None
        dst = self.states[e.dst]
        return dst.keys[e.processor_index] if e.kind == "sidechain" else dst.inbuf

    # -- whole runs -------------------------------------------------------
    def blocks(self, total: int, block_size: int | None = None) -> Iterator[tuple[int, int]]:
        """Run ``total`` engine samples; yield (e0, n) after each block is done."""
        B = block_size or self.plan.block_size
        e0 = 0
        while e0 < total:
            n = min(B, total - e0)
            self.run_block(e0, n)
            yield e0, n
            e0 += n


def _takes_key(proc) -> bool:
    """Whether ``proc.process_automated`` accepts a sidechain ``key`` (else the engine uses the grid)."""
    cls = type(proc)
    known = _TAKES_KEY.get(cls)
    if known is None:
        known = _TAKES_KEY[cls] = "key" in inspect.signature(proc.process_automated).parameters
    return known


_TAKES_KEY: dict[type, bool] = {}


class Trim:
    """Drop the first ``skip`` samples of a stream of blocks and stop after ``total``."""

    def __init__(self, skip: int, total: int) -> None:
        self.skip = skip
        self.total = total
        self.pos = 0  # stream samples seen

    def __call__(self, block: np.ndarray) -> np.ndarray:
        n = block.shape[1]
        a = min(max(self.skip - self.pos, 0), n)
        b = min(max(self.skip + self.total - self.pos, 0), n)
        self.pos += n
        return block[:, a:b]


__all__ = ["Engine", "Trim", "pan_gains", "DelayLine", "EdgePlan"]
