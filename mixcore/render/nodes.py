"""A node's runtime state in the engine: its buffers (flat float32, viewed as C-contiguous
(channels, n) per block), lanes, sums and prepared native operations; the delay line of a
compensated edge; the fader/pan law.

Each node's output -- and its pre-fader signal when a pre-fader send taps it -- lives in a ring of
slots (block ``b`` in slot ``b % slots``; one slot with one thread): see render/engine.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..graph.plan import NodePlan
from ..processors.coeffs import gain_from_db
from .automation import Lane

HALF_PI = math.pi / 2.0
CENTRE = math.sqrt(0.5)  # -3.01 dB: a mono signal fed to both channels at centre


def pan_gains(pan, gain_db, mono: bool):
    """Left/right gains of fader + pan (scalars or arrays), exactly as SPEC §2.

    Mono: constant power, theta = (pan + 1) * pi / 4, L = cos(theta), R = sin(theta).
    Stereo: balance; the far channel is attenuated by cos(|pan| * pi / 2).
    """
    g = gain_from_db(np.asarray(gain_db, dtype=np.float64))  # libm: a held fader lane gives the constant's bits
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
class NodeState:
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
    guarded: frozenset = frozenset()  # chain positions bypassed (not refused) on a non-finite output
    locate: bool = False  # check after every processor (set while locating a non-finite output)
    sum_op: object = None  # mix.SumOp: the sum of the inputs into the work buffer when every edge is plain
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
