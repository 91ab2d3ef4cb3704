"""The host/worker channel of plugin isolation (:mod:`mixcore.hosting.isolation`): the layout of the
shared control segment, the attach of a segment the host owns, and the spin-then-sleep handshake.

Each side publishes a counter in the control segment and waits on the other's: it first *spins*
(a few microseconds, then yielding the CPU on every turn), then sleeps on a socket; a side that finds
the other asleep sends it one wake-up byte. The sleep-flag handshake has a full memory fence between
store and load, every sleep has a short timeout, and on CPUs that reorder loads or stores
acquire/release fences order the audio around the counters.
"""
from __future__ import annotations

import os
import platform
import select
import socket
import threading
import time
from multiprocessing import shared_memory

#: Longest single sleep of a waiting side, in seconds (bounds the cost of a lost wake-up).
SLICE_S = 0.01
#: Looks at the counter (about 50 ns each) before a waiting side starts yielding the CPU.
PURE_SPIN = 400
#: Then turns with a sched_yield each (well under a microsecond when the CPU is free) before a side
#: sleeps: the host waiting for a block, the worker waiting for the next request.
HOST_SPIN = 2000
WORKER_SPIN = 200

# The control segment (int32 words). The host writes line 0, the worker line 1 (no false sharing).
# Request ``seq`` uses slot ``seq % 2``: its operation in OPS[slot], its block length in LENS[slot].
REQ, H_SLEEP = 0, 1
OPS, LENS = (4, 6), (5, 7)
RESP, W_SLEEP = 16, 17
OP_PROCESS, OP_MESSAGE = 1, 2
CTRL_BYTES = 128
#: x86 keeps loads in order and stores in order (TSO): only the store -> load fence of the sleep
#: handshake is needed there; elsewhere acquire and release fences order the audio around the counters.
_ORDERED = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


def _attach(name: str) -> shared_memory.SharedMemory:
    shm = shared_memory.SharedMemory(name=name)
    try:  # the host owns the segment: the worker's resource tracker must not unlink it
        from multiprocessing import resource_tracker

        resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
    except Exception:
        pass
    return shm


class _Side:
    """One end of the handshake: publish a counter, spin on the other's, sleep on a socket."""

    def __init__(self, ctrl: memoryview, wake: socket.socket, my_flag: int, other_flag: int) -> None:
        self.ctrl = ctrl
        self.wake = wake
        self.my_flag = my_flag
        self.other_flag = other_flag
        self.lock = threading.Lock()
        self.poller = select.poll()
        self.poller.register(wake.fileno(), select.POLLIN)

    def fence(self) -> None:
        """A full memory barrier: an uncontended lock round trip is a locked instruction."""
        self.lock.acquire()
        self.lock.release()

    def ordered(self) -> None:
        """An acquire or release fence: free on x86, a full fence elsewhere."""
        if not _ORDERED:
            self.fence()

    def publish(self, word: int, value: int) -> None:
        """Store ``value`` (after everything written before: release) and wake the other side if asleep."""
        if not _ORDERED:
            self.fence()
        ctrl = self.ctrl
        ctrl[word] = value
        self.lock.acquire()  # store -> load: the other side's sleep flag is read after the counter is visible
        self.lock.release()
        if ctrl[self.other_flag]:
            try:
                self.wake.send(b"\0")
            except OSError:
                pass  # the other side is gone; its waiting partner finds out

    def wait(self, word: int, target: int, spins: int, timeout: float) -> bool | None:
        """Wait until ``ctrl[word] >= target``: True; False after ``timeout``; None if the other side is gone."""
        ctrl = self.ctrl
        for _ in range(spins and PURE_SPIN):  # a few microseconds of pure spinning: the usual case
            if ctrl[word] >= target:
                self.ordered()  # acquire: what the other side wrote before the counter is visible
                return True
        for _ in range(spins):  # then let other processes on this CPU run between looks
            if ctrl[word] >= target:
                self.ordered()
                return True
            os.sched_yield()
        deadline = time.monotonic() + timeout
        while True:
            ctrl[self.my_flag] = 1
            self.fence()
            try:
                if ctrl[word] >= target:
                    self.ordered()
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if self.poller.poll(max(1, int(min(left, SLICE_S) * 1000))):
                    try:
                        if self.wake.recv(4096) == b"":
                            return None
                    except BlockingIOError:
                        pass
                    except OSError:  # ECONNRESET: the other side died with wake-up bytes unread
                        return None
            finally:
                ctrl[self.my_flag] = 0
