"""The streaming loop: source -> blocks -> trim -> sinks.

Every path that streams audio runs this one loop: ``Session.render`` and ``Session.stream`` (the
engine), ``play`` (the engine, its parameters changed between blocks), ``master`` (a file read
through a chain) and the standalone processor call (an array through a processor).

A *source* runs one block at a time and holds named signals (``"master"``, a node's name, or
``"out"`` for a chain), each late by its own latency; the stream cuts every signal to the same
``length`` frames, aligned (:class:`Trim`), and hands the block to the *sinks* of that signal.
A sink has ``write(block)`` (a (channels, n) view, valid only during the call); a sink that is a
context manager (an :class:`~mixcore.render.writer.AtomicWriter`) is entered before the source
opens and left after it closes, with the error if one stopped the stream (so it commits or
discards); a sink with ``close()`` is closed at the end.

    stream = Stream(source, [("master", writer), ("master", MeterSink(meter))], progress=bar)
    stream.run()                # or: for block in stream: ... (copies of the first signal's blocks)
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, nullcontext
from typing import Any, Protocol

import numpy as np

from ..errors import MixcoreError
from .finite import all_finite, clock, first_bad


class Sink(Protocol):
    def write(self, block: np.ndarray) -> None: ...


class Source(Protocol):
    length: int  # frames of every signal after the trim
    main: str  # the signal the stream yields and counts progress by

    def latency(self, name: str) -> int: ...
    def blocks(self) -> Iterator[int]: ...  # runs each block, yields its frames
    def signal(self, name: str, n: int) -> np.ndarray: ...  # the block just run (untrimmed)
    def close(self) -> None: ...


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


class MeterSink:
    """A :class:`~mixcore.metering.LoudnessMeter` as a sink."""

    def __init__(self, meter) -> None:
        self.meter = meter

    def write(self, block: np.ndarray) -> None:
        self.meter.process(block)


class ArraySink:
    """Collects ``frames`` frames of ``channels`` channels into :attr:`out`."""

    def __init__(self, channels: int, frames: int) -> None:
        self.out = np.empty((channels, frames), dtype=np.float32)
        self.pos = 0

    def write(self, block: np.ndarray) -> None:
        n = block.shape[1]
        self.out[:, self.pos:self.pos + n] = block
        self.pos += n


class Stream:
    """One pass of ``source`` (a :class:`Source`, or a function that opens one once the sinks are
    entered) into ``sinks`` (``(signal name, sink)`` pairs). ``progress(done, total)`` follows the
    frames of the source's main signal after each block that gave frames."""

    def __init__(self, source: Source | Callable[[], Source], sinks: list[tuple[str, Any]] = (),
                 progress: Callable[[int, int], None] | None = None) -> None:
        self._open = source if callable(source) and not hasattr(source, "blocks") else (lambda: source)
        self.sinks = list(sinks)
        self.progress = progress
        self.source: Source | None = None  # once opened

    def __iter__(self) -> Iterator[np.ndarray]:
        """Run the stream; yield a copy of each non-empty block of the main signal (after the sinks)."""
        with ExitStack() as stack:
            for _, sink in self.sinks:
                if hasattr(sink, "__enter__"):
                    stack.enter_context(sink)
                elif hasattr(sink, "close"):
                    stack.callback(sink.close)
            src = self.source = self._open()
            stack.callback(src.close)
            main = src.main
            names = list(dict.fromkeys([main, *(name for name, _ in self.sinks)]))
            trims = {name: Trim(src.latency(name), src.length) for name in names}
            by_name = {name: [s for k, s in self.sinks if k == name] for name in names}
            done = 0
            out = None
            for n in src.blocks():
                gave = False
                for name in names:
                    y = trims[name](src.signal(name, n))
                    if y.shape[1]:
                        gave = True
                        for sink in by_name[name]:
                            sink.write(y)
                        if name == main:
                            done += y.shape[1]
                            out = y
                if gave:
                    if self.progress is not None:
                        self.progress(done, src.length)
                    if out is not None:
                        yield out.copy()
                out = None

    def run(self) -> "Stream":
        for _ in self:
            pass
        return self


class EngineSource:
    """The engine's nodes as signals (``"master"``, a track or bus by name), ``length`` frames each.

    ``guard`` (a context-manager factory) wraps every step of the engine (errors named with the
    session file); ``before_block(e0)``, when given, runs before each block with the engine stepped
    block by block on this thread (the live player changes its parameters there)."""

    main = "master"

    def __init__(self, engine, length: int, *, guard: Callable[[], Any] | None = None,
                 before_block: Callable[[int], None] | None = None) -> None:
        self.engine = engine
        self.plan = engine.plan
        self.length = length
        self.guard = guard or nullcontext
        self.before_block = before_block
        self.position = 0  # engine samples run

    def latency(self, name: str) -> int:
        return self.plan.total_latency if name == "master" else self.plan.nodes[name].out_latency

    def signal(self, name: str, n: int) -> np.ndarray:
        return self.engine.output(name, n)

    def blocks(self) -> Iterator[int]:
        total = self.length + self.plan.total_latency
        with self.guard():
            self.engine.reset()
            if self.before_block is None:
                for e0, n in self.engine.blocks(total):
                    self.position = e0 + n
                    yield n
                return
            B = self.plan.block_size
            e0 = 0
            while e0 < total:
                self.before_block(e0)
                n = min(B, total - e0)
                self.engine.run_block(e0, n)
                e0 += n
                self.position = e0
                yield n

    def close(self) -> None:
        self.engine.close()


class ChainSource:
    """``frames`` frames from ``read(block)`` (fills a (channels, n) block, zeros past the end)
    through ``proc`` (prepared and reset here; None: unchanged), in blocks of ``block_size``, as
    the signal ``"out"``. ``where`` (a file): the chain's non-finite samples are an error naming it."""

    main = "out"

    def __init__(self, read: Callable[[np.ndarray], Any], frames: int, channels: int, sample_rate: float,
                 block_size: int, proc=None, *, where: str | None = None,
                 close: Callable[[], None] | None = None) -> None:
        from ..processors.base import ProcessSpec

        self.read, self.length, self.channels = read, frames, channels
        self.sample_rate, self.block_size, self.proc, self.where = sample_rate, block_size, proc, where
        self._close = close
        self.L = 0
        if proc is not None:
            proc.prepare(ProcessSpec(float(sample_rate), int(block_size), int(channels)))
            proc.reset()
            self.L = int(proc.latency_samples)
        self._flat = np.zeros(channels * block_size, dtype=np.float32)
        self._blk = self._flat[:0].reshape(channels, 0)

    def latency(self, name: str) -> int:
        return self.L

    def signal(self, name: str, n: int) -> np.ndarray:
        return self._blk

    def blocks(self) -> Iterator[int]:
        total, B, ch = self.length + self.L, self.block_size, self.channels
        done = 0
        while done < total:
            n = min(B, total - done)
            blk = self._blk = self._flat[: ch * n].reshape(ch, n)  # C-contiguous, as process() requires
            self.read(blk)
            if self.proc is not None:
                self.proc.process(blk)
                if self.where is not None and not all_finite(blk):  # never written nor metered
                    i, c, what = first_bad(blk)
                    raise MixcoreError(f"{self.where}: the mastering chain made a non-finite sample ({what}) at "
                                       f"{clock(max(done + i - self.L, 0) / self.sample_rate)} (channel {c + 1})")
            done += n
            yield n

    def close(self) -> None:
        if self._close is not None:
            self._close()


__all__ = ["Stream", "Trim", "Sink", "Source", "MeterSink", "ArraySink", "EngineSource", "ChainSource"]
