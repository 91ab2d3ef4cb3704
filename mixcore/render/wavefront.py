"""The wavefront: the engine's threads (see render/engine.py's docstring).

At step ``s`` the nodes of depth ``d`` run block group ``s - d``, for every depth at once: a node's
inputs for that group were made at an earlier step, and so was its own previous group, so all
items of a step (nodes and banks) are independent and the threads take them one by one from a
shared list (deepest first). The calling thread takes part, then hands out the completed group
while the workers run the next step.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait


class Wavefront:
    """``layers``: the engine's steps per depth (items); ``run_item(item, e0, n, slot)`` runs one."""

    def __init__(self, pool: ThreadPoolExecutor, threads: int, layers: list[list], group: int, slots: int,
                 run_item: Callable) -> None:
        self.pool = pool
        self.threads = threads
        self.layers = layers
        self.group = group
        self.slots = slots
        self.run_item = run_item

    def run(self, tasks: list[tuple]) -> None:
        """Run independent (item, runs) tasks on every thread, the caller's included."""
        self._finish(self._start(tasks))

    def blocks(self, total: int, B: int, publish) -> Iterator[tuple[int, int]]:
        """Run ``total`` engine samples in blocks of B; yield (e0, n) once a block is complete (after
        ``publish(slot)``). Step s runs depth d of group s - d, a group being ``self.group`` consecutive
        blocks (each node runs them in order within its task)."""
        depth = len(self.layers)
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
                    out.extend((st, r) for st in self.layers[d])
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
                        publish(slot)
                        yield e0, n
        finally:
            if pending is not None:  # the caller stopped early, or a step failed: let the workers stop
                for _ in pending[0]:
                    pass
                wait(pending[1])

    def _start(self, tasks: list[tuple]) -> tuple[Iterator[tuple], list[Future]]:
        """Hand a list of independent node runs to the worker threads (they take them in turn)."""
        it = iter(tasks)
        return it, [self.pool.submit(self._drain, it) for _ in range(self.threads - 1)]

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
        run = self.run_item
        try:
            for st, runs in it:  # next() on a shared list iterator is atomic under the GIL
                for e0, n, slot in runs:
                    run(st, e0, n, slot)
        except BaseException:
            for _ in it:  # take the rest, so the other threads stop after their current node
                pass
            raise
