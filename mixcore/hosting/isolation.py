"""Run a hosted plugin in a worker process (``isolate = true``), audio through shared memory.

The worker loads the plugin exactly as the host would (same adapter, same blocks), so the output
is bit-identical to in-process hosting. Per block the host copies the block into a shared-memory
buffer, sends one small message over a pipe, and waits (with a timeout) for the reply. If the
worker dies (a segfault in the plugin) or does not answer in time (a hang), the host raises one
line naming the plugin, where it sits in the session and the time in the song; the host process
itself is never at risk. With ``on_crash = "bypass"`` the render goes on with the plugin bypassed
(its latency kept, so the timing of the mix does not change) and a warning says so.
"""
from __future__ import annotations

import multiprocessing as mp
import pickle
import struct
import signal
import sys
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from ..errors import MixcoreError
from ..processors.base import ProcessSpec, Processor

TIMEOUT_S = 10.0  # per block; a plugin that takes longer is considered hung
START_TIMEOUT_S = 60.0


def _worker(conn, shm_name: str, entry: dict, base_dir: str, where: str) -> None:
    """Worker process: load the plugin, then process blocks in shared memory until told to stop."""
    from pathlib import Path

    from . import make_hosted

    shm = shared_memory.SharedMemory(name=shm_name)
    try:
        try:
            proc = make_hosted({k: v for k, v in entry.items() if k not in ("isolate", "on_crash")},
                               Path(base_dir), where)
        except Exception as e:  # report, do not crash
            conn.send(("error", str(e)))
            return
        conn.send(("loaded", proc.PARAMS and [p.name for p in proc.PARAMS]))
        while True:
            raw = conn.recv_bytes()
            if len(raw) == 8:  # the hot path: "process (channels, n) in shared memory", no pickling
                ch, n = struct.unpack("<ii", raw)
                proc.process(np.ndarray((ch, n), dtype=np.float32, buffer=shm.buf))
                conn.send_bytes(b"k")
                continue
            msg = pickle.loads(raw)
            cmd = msg[0]
            if cmd == "prepare":
                spec = ProcessSpec(*msg[1])
                proc.prepare(spec)
                proc.reset()
                conn.send(("ok", proc.latency_samples))
            elif cmd == "reset":
                proc.reset()
                conn.send(("ok", proc.latency_samples))
            elif cmd == "set":
                try:
                    proc.set_param(msg[1], msg[2])
                    conn.send(("ok", proc.get_param(msg[1])))
                except Exception as e:
                    conn.send(("error", str(e)))
            elif cmd == "state":
                from . import hosted_state

                conn.send(("ok", hosted_state(proc)))
            elif cmd == "stop":
                conn.send(("ok",))
                return
    finally:
        shm.close()


class IsolatedProcessor(Processor):
    """A hosted plugin in its own process, with the same lifecycle as every processor."""

    type_name = "vst3"

    def __init__(self, entry: dict, base_dir, where: str, *, node: str = "") -> None:
        object.__setattr__(self, "entry", dict(entry))
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "node", node)
        object.__setattr__(self, "on_crash", entry.get("on_crash", "error"))
        if self.on_crash not in ("error", "bypass"):
            raise MixcoreError(f"{where}.on_crash: {self.on_crash!r} is not one of error, bypass")
        super().__init__(id=entry.get("id", "vst3"))
        object.__setattr__(self, "_base_dir", str(base_dir))
        object.__setattr__(self, "_proc", None)
        object.__setattr__(self, "_latency", 0)
        object.__setattr__(self, "_bypassed", False)
        object.__setattr__(self, "_pos", 0)
        self._start(max_bytes=1)

    # -- worker management ---------------------------------------------------
    @property
    def plugin_name(self) -> str:
        from pathlib import Path

        return Path(str(self.entry.get("path", "plugin"))).stem

    def _start(self, max_bytes: int) -> None:
        ctx = mp.get_context("spawn")
        shm = shared_memory.SharedMemory(create=True, size=max(4, max_bytes))
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(child, shm.name, self.entry, self._base_dir, self.where), daemon=True)
        proc.start()
        child.close()
        object.__setattr__(self, "_shm", shm)
        object.__setattr__(self, "_conn", parent)
        object.__setattr__(self, "_proc", proc)
        reply = self._call(None, timeout=START_TIMEOUT_S, what="loading")
        if reply[0] == "error":
            self.close()
            raise MixcoreError(reply[1])

    def _call(self, msg, timeout: float | None = None, what: str = "processing", raw: bool = False) -> tuple:
        timeout = TIMEOUT_S if timeout is None else timeout
        try:
            if msg is not None:
                self._conn.send_bytes(msg if raw else pickle.dumps(msg))
            if self._conn.poll(timeout):
                if raw:
                    self._conn.recv_bytes()
                    return ("ok",)
                return self._conn.recv()
            failure = f"did not answer within {timeout:g} s (hung)"
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            failure = None
        if failure is None:
            self._proc.join(2.0)
            code = self._proc.exitcode
            failure = (f"crashed ({signal.Signals(-code).name})" if code is not None and code < 0
                       else f"exited (status {code})")
        self._kill()
        return ("dead", failure, what)

    def _kill(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5.0)

    def _fail(self, failure: str, what: str) -> None:
        t = self._pos / self.spec.sample_rate if self.spec else 0.0
        where = f"{self.where} (node {self.node!r})" if self.node else self.where
        msg = (f"{where}: plugin {self.plugin_name!r} {failure} while {what} at "
               f"{int(t // 60)}:{t % 60:06.3f} in the song")
        if self.on_crash == "bypass" and what in ("processing", "preparing"):
            print(f"mixcore: warning: {msg}; on_crash = \"bypass\": going on without it", file=sys.stderr)
            object.__setattr__(self, "_bypassed", True)
            return
        raise MixcoreError(msg)

    def close(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send_bytes(pickle.dumps(("stop",)))
                self._conn.poll(2.0)
            except (OSError, EOFError):
                pass
            self._kill()
        try:
            self._shm.close()
            self._shm.unlink()
        except (FileNotFoundError, AttributeError):
            pass

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- processor lifecycle -------------------------------------------------------
    def prepare(self, spec: ProcessSpec) -> None:
        if spec == self.spec:
            return
        object.__setattr__(self, "spec", spec)
        need = spec.num_channels * spec.max_block_size * 4
        if self._shm.size < need:
            self.close()
            self._start(need)
        self.reset()

    def reset(self) -> None:
        object.__setattr__(self, "_pos", 0)
        object.__setattr__(self, "_bypassed", False)
        if not self._proc.is_alive():  # a worker that died in an earlier render starts afresh
            self._start(self.spec.num_channels * self.spec.max_block_size * 4)
        s = self.spec
        reply = self._call(("prepare", (s.sample_rate, s.max_block_size, s.num_channels)), what="preparing")
        if reply[0] == "dead":
            self._fail(reply[1], reply[2])  # raises, or (on_crash = "bypass") marks the plugin bypassed
        object.__setattr__(self, "_latency", 0 if self._bypassed else int(reply[1]))
        object.__setattr__(self, "_delay", np.zeros((s.num_channels, self._latency), dtype=np.float32))

    def process(self, block: np.ndarray) -> None:
        ch, n = block.shape
        if n == 0:
            return
        if not self._bypassed:
            buf = np.ndarray((ch, n), dtype=np.float32, buffer=self._shm.buf)
            buf[...] = block
            reply = self._call(struct.pack("<ii", ch, n), raw=True)
            if reply[0] == "ok":
                block[...] = buf
                object.__setattr__(self, "_pos", self._pos + n)
                return
            self._fail(reply[1], reply[2])
        # bypassed: keep the plugin's latency so the mix stays aligned
        both = np.concatenate([self._delay, block], axis=1)
        block[...] = both[:, :n]
        object.__setattr__(self, "_delay", both[:, n:].copy())
        object.__setattr__(self, "_pos", self._pos + n)

    @property
    def latency_samples(self) -> int:
        return self._latency

    @property
    def tail_samples(self) -> int:
        return int(round(float(self.entry.get("tail_s", 0.0)) * self.spec.sample_rate)) if self.spec else 0

    def set_param(self, name: str, value: Any) -> None:
        reply = self._call(("set", name, value), what="setting a parameter")
        if reply[0] == "error":
            raise MixcoreError(reply[1])
        if reply[0] == "dead":
            self._fail(reply[1], "setting a parameter")

    def state_entry(self) -> dict:
        reply = self._call(("state",), what="saving its state")
        if reply[0] != "ok":
            raise MixcoreError(f"{self.where}: cannot read the plugin's state")
        entry = dict(reply[1])
        entry["isolate"] = True
        if self.on_crash != "error":
            entry["on_crash"] = self.on_crash
        return entry
