"""``isolate = true``: a hosted plugin in its own worker process, audio through shared memory.

The worker (``python -m mixcore.hosting.isolation_worker``, started with :mod:`subprocess`, so the
user's script is never re-imported) builds the plugin exactly as in-process hosting does -- the
same :func:`~.vst3.make_vst3` and :class:`~.pedalboard_adapter.PedalboardProcessor` -- and receives
the same calls in the same order, so isolated output is bit-identical to in-process output (the
render removes every processor's latency).

**Pipelining.** The host does not wait for the block it just handed over: ``process(block k)``
copies block *k* into one of two shared-memory slots, posts it, then waits for block *k - 1*
(posted by the previous call, processed by the worker in the meantime) and returns audio from a
FIFO primed with ``P = max_block_size`` samples of silence. So the worker processes while the host
renders the rest of the graph, and the isolated processor's latency is the plugin's plus ``P``,
which the router compensates like any other. Parameter changes, resets and state requests first
wait for the block in flight, so the worker sees exactly the calls, in the order, that in-process
hosting would.

**Signalling.** Requests and responses are counters in a shared control segment. A waiting side
first *spins* on the other's counter (a few microseconds, then yielding the CPU on every turn, so
two processes sharing one CPU still make progress), then sleeps on a socket; a side that finds the
other asleep sends it one wake-up byte. The sleep-flag handshake has a full memory fence between
store and load (an uncontended lock round trip: a locked instruction), every sleep has a short
timeout, and on CPUs that reorder loads or stores acquire/release fences order the audio around the
counters. Control messages are pickled over a second socket.

**Failures.** If the worker dies (a segfault in the plugin closes its sockets: noticed at once) or
does not answer within :data:`TIMEOUT_S` (a hang), the host raises one line naming the plugin,
where it sits in the session and the time in the song; the host process itself is never at risk.
With ``on_crash = "bypass"`` the render goes on with the plugin bypassed -- its latency kept, so
the timing of the mix does not change -- and a warning says so. The host keeps the last
``latency_samples + max_block_size`` samples of its own input, so the dry signal takes over at the
exact sample where the plugin's output stops: the audio the dead worker held (the block in flight,
the plugin's own delay) is replaced by the dry input it came from, nothing is lost.

**Stopping.** Ctrl-C (and any signal the host turns into an exception, such as SIGTERM in the CLI)
kills every worker at once, so that a render thread waiting for a hung plugin stops within a slice
of its wait instead of at the timeout; closing kills a worker that is busy instead of waiting for
it. A worker dies with its host: ``PR_SET_PDEATHSIG`` on Linux (the worker is always started from
a thread that lives as long as the host, the main thread or a spawner thread, since the signal
follows the thread that started it), and a watchdog thread that sees the parent change elsewhere.

This module is the host's side, :class:`IsolatedProcessor`; the channel (control segment layout,
attach, handshake) is :mod:`.isolation_ipc` and the worker's main loop :mod:`.isolation_worker`.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MixcoreError
from ..params import Param, ParamSet
from ..processors.base import Processor, ProcessSpec
from ..render.finite import clock
from .pedalboard_adapter import place
from .isolation_ipc import (  # noqa: F401  (re-exported: the channel's names, as before the split)
    CTRL_BYTES, H_SLEEP, HOST_SPIN, LENS, OP_MESSAGE, OP_PROCESS, OPS, PURE_SPIN, REQ, RESP, SLICE_S, W_SLEEP,
    WORKER_SPIN, _ORDERED, _attach, _Side)
from .isolation_worker import WATCH_S, _die_with_host, _serve, _worker_main  # noqa: F401  (re-exported)

#: Seconds a plugin may take for one block or control message before it is considered hung
#: (environment: MIXCORE_PLUGIN_TIMEOUT_S).
TIMEOUT_S = float(os.environ.get("MIXCORE_PLUGIN_TIMEOUT_S", "10"))
#: Seconds allowed for starting the worker and loading the plugin.
START_TIMEOUT_S = 60.0
#: Seconds an idle worker is given to stop when asked before it is killed.
STOP_S = 1.0
#: Seconds closing waits for the block in flight (the last of a render) before the worker is killed.
FINISH_S = 0.1


# -- the host side ------------------------------------------------------------------------
_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def _popen(args: list[str], **kw: Any) -> subprocess.Popen:
    """Start a worker from a thread that lives as long as the process (the worker's PR_SET_PDEATHSIG
    follows the thread that started it: a render thread that ends would take the worker with it)."""
    global _spawner
    if threading.current_thread() is threading.main_thread():
        return subprocess.Popen(args, **kw)
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(1, thread_name_prefix="mixcore-spawner")
    return _spawner.submit(subprocess.Popen, args, **kw).result()


#: Every processor with a worker, for :func:`_interrupted`.
_LIVE: "weakref.WeakSet[IsolatedProcessor]" = weakref.WeakSet()
#: The handlers found for the signals :func:`_interrupted` wraps: {signal number: handler}.
_WRAPPED: dict[int, Any] = {}
_STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def _interrupted(signum: int, frame: Any) -> None:
    """Ctrl-C (or SIGTERM/SIGHUP where the host handles them): kill every worker at once -- a render
    thread waiting for a hung plugin then stops within one slice of its wait -- then do what the
    handler found there does (Ctrl-C: raise KeyboardInterrupt)."""
    for _ in range(3):  # another thread may start a worker meanwhile: the set changes, look again
        try:
            procs = list(_LIVE)
            break
        except RuntimeError:
            procs = []
    for proc in procs:
        proc._interrupt()
    prev = _WRAPPED.get(signum)
    if callable(prev):
        prev(signum, frame)
    elif signum == signal.SIGINT:
        raise KeyboardInterrupt


def _wrap_signals() -> None:
    """Put :func:`_interrupted` in front of the Python handlers of SIGINT, SIGTERM and SIGHUP (from the
    main thread only: Python runs signal handlers there). Default and ignored dispositions of
    SIGTERM/SIGHUP are left alone: the process dies, and its workers with it."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in _STOP_SIGNALS:
        current = signal.getsignal(sig)
        if current is _interrupted or not callable(current):
            continue
        try:
            signal.signal(sig, _interrupted)
        except (ValueError, OSError):
            continue
        _WRAPPED[sig] = current


def _unwrap_signals() -> None:
    """Put the handlers back once no worker runs (where ours is still the one installed)."""
    if _LIVE or threading.current_thread() is not threading.main_thread():
        return
    for sig, prev in list(_WRAPPED.items()):
        if signal.getsignal(sig) is _interrupted:
            try:
                signal.signal(sig, prev)
            except (ValueError, OSError):
                continue
        del _WRAPPED[sig]


class IsolatedProcessor(Processor):
    """A ``vst3`` or ``lv2`` entry running in a worker process, with the same lifecycle as every processor."""

    type_name = "vst3"

    def __init__(self, entry: dict, base_dir: Path, where: str, *, node: str = "", checked: Path) -> None:
        """``checked``: the bundle's real path, as :func:`.folders.check_plugin` returned it."""
        from .folders import extra_folders, plugin_folders

        d = self.__dict__
        lv2 = entry.get("type") == "lv2"
        d["type_name"] = "lv2" if lv2 else "vst3"
        d["_checked"] = str(checked)  # what the worker loads (after checking it again)
        # an LV2 worker finds its plugin in the LV2 folders plus the folders this process allowed
        d["_folders"] = [str(f) for f in (extra_folders() if lv2 else plugin_folders())]
        d["entry"] = {k: v for k, v in entry.items() if k not in ("isolate", "on_crash")}
        d["where"] = where
        d["node"] = node
        d["on_crash"] = entry.get("on_crash", "error")
        d["id"] = entry.get("id", d["type_name"])
        d["spec"] = None
        d["PARAMS"] = ()
        d["_values"] = ParamSet(())
        d["_base_dir"] = str(base_dir)
        d["_name"] = (str(entry.get("uri")) if lv2 else Path(str(entry.get("path", "plugin"))).stem)
        d["_worker"] = None
        d["_ctrl"] = None
        d["_ctrl_shm"] = None
        d["_audio_shm"] = None
        d["_slots"] = []
        d["_views"] = [{}, {}]
        d["_worker_latency"] = 0
        d["_bypassed"] = False
        d["_delay"] = None
        d["_pos"] = 0
        d["_posted"] = 0  # the last request handed to the worker
        d["_inflight"] = 0  # length of the block posted and not yet collected (0: none)
        d["_inflight_pos"] = 0  # where that block starts in the input stream (for the crash report)
        d["_left"] = None  # the pipeline's FIFO of output received from the worker ...
        d["_m"] = 0  # ... and how many samples it holds
        d["_set"] = {}  # parameters set after loading, replayed when a worker is restarted
        d["_requested"] = {}  # the last value asked for, per parameter
        d["is_instrument"] = False
        d["_play_rate"] = 0
        d["_history"] = None  # the last input samples (ring), for a bypass without a gap
        d["_interrupt_flag"] = False  # set by Ctrl-C: the worker was killed, stop waiting for it
        self._start()

    # -- identity and parameters ------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def plugin_name(self) -> str:
        """The plugin's own name (as the worker loaded it), like :attr:`name`."""
        return self._name

    @property
    def tail_s(self) -> float:
        return float(self.entry.get("tail_s", 0.0))

    def param_for(self, name: str) -> Param | None:
        return self._values.by_name.get(name)

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values")
        if not name.startswith("_") and values is not None and name in values.by_name:
            return self.get_param(name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"IsolatedProcessor({self._name!r}, where={self.where!r})"

    # -- the worker ---------------------------------------------------------------------
    def _start(self) -> None:
        """Start a worker and load the plugin in it (with any parameters set since)."""
        d = self.__dict__
        ctrl_shm = shared_memory.SharedMemory(create=True, size=CTRL_BYTES)
        ctrl = ctrl_shm.buf.cast("i")
        for i in range(len(ctrl)):
            ctrl[i] = 0
        msg_host, msg_worker = socket.socketpair()
        wake_host, wake_worker = socket.socketpair()
        root = str(Path(__file__).resolve().parent.parent.parent)
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        errors = tempfile.TemporaryFile()
        _wrap_signals()
        worker = _popen(
            [sys.executable, "-m", "mixcore.hosting.isolation_worker", str(msg_worker.fileno()),
             str(wake_worker.fileno()), str(os.getpid())],
            pass_fds=(msg_worker.fileno(), wake_worker.fileno()), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=errors, env=env, start_new_session=True)
        _LIVE.add(self)
        msg_worker.close()
        wake_worker.close()
        wake_host.setblocking(False)
        conn = Connection(msg_host.detach())
        d.update(_ctrl_shm=ctrl_shm, _ctrl=ctrl, _conn=conn, _wake=wake_host, _worker=worker, _errors=errors,
                 _side=_Side(ctrl, wake_host, H_SLEEP, W_SLEEP), _posted=0, _inflight=0, _requested={})
        entry = dict(self.entry)
        if self._set:
            entry["params"] = {**dict(entry.get("params") or {}), **self._set}
        conn.send((entry, self._base_dir, self.where, ctrl_shm.name, self._checked, self._folders))
        reply = self._reply("loading", START_TIMEOUT_S)
        if reply[0] == "error":
            self.close()
            raise MixcoreError(reply[1])
        if reply[0] == "loaded":
            _, name, params, latency, is_instrument = reply
            d.update(_name=name, PARAMS=params, _values=ParamSet(params), _worker_latency=latency,
                     is_instrument=bool(is_instrument))

    def _alive(self) -> bool:
        return self._worker is not None and self._worker.poll() is None

    def _death(self) -> str:
        """How the worker ended: 'crashed (SIGSEGV)', or 'exited (status 1: <its last error line>)'."""
        try:
            code = self._worker.wait(2.0)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            try:
                return f"crashed ({signal.Signals(-code).name})"
            except ValueError:
                return f"crashed (signal {-code})"
        self._errors.seek(0)
        lines = self._errors.read().decode(errors="replace").strip().splitlines()
        return f"exited (status {code}{': ' + lines[-1] if lines else ''})"

    def _post(self, op: int, n: int = 0) -> int:
        seq = self._posted + 1
        s = seq & 1
        ctrl = self._ctrl
        ctrl[OPS[s]] = op
        ctrl[LENS[s]] = n
        self.__dict__["_posted"] = seq
        self._side.publish(REQ, seq)
        return seq

    def _interrupt(self) -> None:
        """Ctrl-C: kill the worker now (from the signal handler: no waiting); it is reaped on close."""
        self.__dict__["_interrupt_flag"] = True
        worker = self._worker
        if worker is not None and worker.returncode is None:
            try:
                os.kill(worker.pid, signal.SIGKILL)
            except OSError:
                pass

    def _await(self, seq: int, what: str) -> bool:
        """Wait until the worker has finished request ``seq``; False if it failed (and we bypass)."""
        deadline = time.monotonic() + TIMEOUT_S
        side = self._side
        state = side.wait(RESP, seq, HOST_SPIN, SLICE_S)
        while not state:
            if self._interrupt_flag:
                self._stop_interrupted()
            if state is None or not self._alive():
                self._failed(self._death(), what)
                return False
            if time.monotonic() > deadline:
                self._failed(f"did not answer within {TIMEOUT_S:g} s (hung)", what)
                return False
            state = side.wait(RESP, seq, 0, SLICE_S)
        return True

    def _drain(self) -> bool:
        """Collect the block in flight into the FIFO (before a message, a reset or closing)."""
        n = self._inflight
        if not n:
            return True
        if not self._await(self._posted, "processing"):
            return False
        s = self._posted & 1
        m = self._m
        self._left[:, m:m + n] = self._view(s, n)
        self.__dict__.update(_m=m + n, _inflight=0)
        return True

    def _message(self, msg: tuple, what: str) -> tuple:
        """Send a control message after the block in flight; wait for the reply (or the failure)."""
        if not self._alive():
            return self._failed(self._death(), what)
        if not self._drain():
            return ("bypassed",)
        try:
            self._conn.send(msg)
        except OSError:
            return self._failed(self._death(), what)
        self._post(OP_MESSAGE)
        return self._reply(what, TIMEOUT_S)

    def _reply(self, what: str, timeout: float) -> tuple:
        deadline = time.monotonic() + timeout
        try:
            while not self._conn.poll(SLICE_S):
                if self._interrupt_flag:
                    self._stop_interrupted()
                if not self._alive():
                    return self._failed(self._death(), what)
                if time.monotonic() > deadline:
                    return self._failed(f"did not answer within {timeout:g} s (hung)", what)
            return self._conn.recv()
        except (EOFError, OSError):
            return self._failed(self._death(), what)

    def _stop_interrupted(self) -> None:
        """The worker was killed by Ctrl-C (:func:`_interrupted`): close, and stop this thread too."""
        self.close()
        raise KeyboardInterrupt

    def _failed(self, failure: str, what: str) -> tuple:
        """The worker died or hung: one line naming plugin, place and song time -- or bypass."""
        if self._interrupt_flag:
            self._stop_interrupted()
        self._kill()
        pos = self._inflight_pos if what == "processing" else self._pos
        sr = self.spec.sample_rate if self.spec else self.__dict__.get("_play_rate", 0)
        t = pos / sr if sr else 0.0
        where = place(self.where, self.node)
        message = f"{where}: plugin {self._name!r} {failure} while {what} at {clock(t)} in the song"
        if self.on_crash != "bypass":
            self.close()  # a later reset (a new render) starts a fresh worker
            raise MixcoreError(message)
        print(f"mixcore: warning: {message}; on_crash = \"bypass\": going on without it", file=sys.stderr)
        self.__dict__["_bypassed"] = True
        self._bypass_line(keep=True)
        self.__dict__["_inflight"] = 0
        return ("bypassed",)

    def _bypass_line(self, keep: bool = False) -> None:
        """What replaces a bypassed plugin: a delay of its latency, so the mix keeps its timing.

        The line holds the next ``L = latency_samples`` output samples. With ``keep`` (a crash in
        the middle of a render) they are the ``m`` samples of the plugin's output already received
        (the pipeline's FIFO), then the dry input from the sample whose output never came back on:
        input ``[pos + m - L, pos)`` from the history, so not a sample is lost or repeated.
        """
        if self.spec is None:
            return
        ch, L = self.spec.num_channels, self.latency_samples
        line = np.zeros((ch, L), np.float32)
        if keep and self._left is not None:
            m = min(self._m, L)
            line[:, :m] = self._left[:, :m]
            self._recall(line[:, m:], self._pos + m - L)
        self.__dict__["_delay"] = line

    def _new_history(self) -> None:
        """A ring of the last ``latency_samples + max_block_size`` input samples (it is written at the
        start of each block, while the line reads the ``latency_samples`` before that block)."""
        spec = self.spec
        size = self.latency_samples + spec.max_block_size
        h = self._history
        if h is None or h.shape != (spec.num_channels, size):
            self.__dict__["_history"] = np.zeros((spec.num_channels, size), np.float32)

    def _remember(self, block: np.ndarray, pos: int) -> None:
        """Input ``block`` starts at input sample ``pos``: into the ring."""
        h = self._history
        size = h.shape[1]
        n = block.shape[1]
        i = pos % size
        k = min(n, size - i)
        h[:, i:i + k] = block[:, :k]
        if k < n:
            h[:, : n - k] = block[:, k:]

    def _recall(self, out: np.ndarray, pos: int) -> None:
        """Input samples ``[pos, pos + out.shape[1])`` from the ring (before the first sample: silence)."""
        h = self._history
        n = out.shape[1]
        if h is None or n == 0:
            out[...] = 0.0
            return
        size = h.shape[1]
        skip = min(n, max(0, -pos))
        out[:, :skip] = 0.0
        pos += skip
        j = skip
        while j < n:
            i = pos % size
            k = min(n - j, size - i)
            out[:, j:j + k] = h[:, i:i + k]
            j += k
            pos += k

    def _running(self, what: str = "processing") -> bool:
        """Make sure a worker runs: one stopped by close() (or by an earlier reported failure, or by
        Ctrl-C) is restarted, one that died on its own since the last call is reported like any crash
        (the error, or the bypass); False once bypassed."""
        if self._interrupt_flag:
            self.close()
        if self._bypassed:
            return False
        if not self._alive():
            if self._conn is not None:  # not closed: the plugin died between two calls
                self._failed(self._death(), what)
                return False
            self._start()
            if self.spec is not None and not self._bypassed:
                self._attach_audio()
        return not self._bypassed

    def _kill(self) -> None:
        if self._alive():
            self._worker.kill()
            self._worker.wait(5.0)

    def close(self) -> None:
        """Stop the worker and free its shared memory (a later reset starts a new worker).

        An idle worker is asked to stop (it answers at once); a busy one -- a block still in flight
        after :data:`FINISH_S`, a hang, or Ctrl-C -- is killed: nothing it holds is needed any more.
        """
        d = self.__dict__
        if self._alive():
            idle = not self._interrupt_flag and (not self._inflight or bool(
                self._side.wait(RESP, self._posted, HOST_SPIN, FINISH_S)))
            if idle:
                try:
                    self._conn.send(("stop",))
                    self._post(OP_MESSAGE)
                    self._worker.wait(STOP_S)
                except (OSError, EOFError, ValueError, subprocess.TimeoutExpired):
                    pass
            self._kill()
        if d.get("_worker") is not None and d["_worker"].returncode is None:
            try:
                d["_worker"].wait(5.0)  # killed (by Ctrl-C): reap it
            except subprocess.TimeoutExpired:
                pass
        _LIVE.discard(self)
        _unwrap_signals()
        d["_interrupt_flag"] = False
        d["_inflight"] = 0
        for key in ("_conn", "_wake", "_errors"):
            if d.get(key) is not None:
                d[key].close()
                d[key] = None
        d.update(_views=[{}, {}], _slots=[], _side=None)
        if d.get("_ctrl") is not None:
            d["_ctrl"].release()
            d["_ctrl"] = None
        for key in ("_audio_shm", "_ctrl_shm"):
            shm = d.get(key)
            if shm is not None:
                shm.close()
                try:
                    shm.unlink()
                except FileNotFoundError:
                    pass
                d[key] = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- lifecycle ----------------------------------------------------------------------
    def prepare(self, spec: ProcessSpec) -> None:
        if spec == self.spec:
            return
        if spec.num_channels < 1 or spec.max_block_size < 1 or spec.sample_rate <= 0:
            raise MixcoreError(f"{self.where}: invalid process spec {spec}")
        if self._alive():
            self._drain()
        self.__dict__.update(spec=spec, _m=0,
                             _left=np.zeros((spec.num_channels, 2 * spec.max_block_size), np.float32))
        if self._bypassed:
            self._bypass_line()
            return
        if self._alive():
            self._attach_audio()
        self.reset()

    def _attach_audio(self) -> None:
        """Two block slots in shared memory; the worker attaches them and prepares the plugin."""
        spec = self.spec
        d = self.__dict__
        if not self._drain():
            return
        old = d["_audio_shm"]
        ch, cap = spec.num_channels, spec.max_block_size
        shm = shared_memory.SharedMemory(create=True, size=4 * 2 * ch * cap)
        flat = np.ndarray((2 * ch * cap,), dtype=np.float32, buffer=shm.buf)
        d.update(_views=[{}, {}], _audio_shm=shm, _slots=[flat[i * ch * cap:(i + 1) * ch * cap] for i in range(2)])
        del flat
        if old is not None:
            old.close()
            old.unlink()
        if self._message(("attach", shm.name, ch, cap), "preparing")[0] == "ok":
            reply = self._message(("prepare", (spec.sample_rate, spec.max_block_size, spec.num_channels)),
                                  "preparing")
            if reply[0] == "error":
                raise MixcoreError(reply[1])
            if reply[0] == "ok":
                d["_worker_latency"] = int(reply[1])

    def _view(self, s: int, n: int) -> np.ndarray:
        """Slot ``s`` as a (channels, n) block (views are kept: making one costs a microsecond)."""
        v = self._views[s].get(n)
        if v is None:
            ch = self.spec.num_channels
            v = self._views[s][n] = self._slots[s][: ch * n].reshape(ch, n)
        return v

    def reset(self) -> None:
        spec = self.spec
        if spec is None:
            return
        d = self.__dict__
        d["_pos"] = 0
        if self._running("preparing"):
            reply = self._message(("reset",), "preparing")
            if reply[0] == "error":
                raise MixcoreError(reply[1])
            if reply[0] == "ok":
                d["_worker_latency"] = int(reply[1])
        # the pipeline's FIFO: P = max_block_size samples of silence
        self._left[:, : spec.max_block_size] = 0.0
        d.update(_m=spec.max_block_size, _inflight=0)
        self._new_history()
        if self._bypassed:
            self._bypass_line()

    def process(self, block: np.ndarray) -> None:
        n = block.shape[1]
        if n == 0:
            return
        d = self.__dict__
        if d["_bypassed"]:
            self._process_bypassed(block)
            return
        self._remember(block, d["_pos"])
        seq = d["_posted"] + 1
        s = seq & 1
        v = d["_views"][s].get(n)
        if v is None:
            v = self._view(s, n)
        np.copyto(v, block)
        ctrl = d["_ctrl"]
        ctrl[OPS[s]] = OP_PROCESS
        ctrl[LENS[s]] = n
        d["_posted"] = seq
        d["_side"].publish(REQ, seq)
        prev = d["_inflight"]
        d["_inflight"] = n
        if prev:  # collect the block posted by the previous call
            if ctrl[RESP] >= seq - 1:
                d["_side"].ordered()
            elif not self._await(seq - 1, "processing"):
                self._process_bypassed(block)  # it crashed, and on_crash = "bypass"
                return
            out = d["_views"][s ^ 1][prev]
        else:
            out = None
        m = d["_m"]
        left = d["_left"]
        if m == 0 and prev == n:  # the steady state of equal blocks: straight from the slot
            np.copyto(block, out)
        elif m >= n:
            block[...] = left[:, :n]
            left[:, : m - n] = left[:, n:m]
            m -= n
            if prev:
                left[:, m:m + prev] = out
                m += prev
            d["_m"] = m
        else:  # m < n: the FIFO's rest, then the start of the previous block (m + prev >= n)
            k = n - m
            block[:, :m] = left[:, :m]
            block[:, m:] = out[:, :k]
            left[:, : prev - k] = out[:, k:]
            d["_m"] = prev - k
        d["_inflight_pos"] = d["_pos"]
        d["_pos"] += n

    def bypass_now(self) -> None:
        """Bypass the plugin from here on (the engine found NaN or Inf in its output, and
        ``on_crash = "bypass"``): the worker is stopped, what it still held is dropped (it may not be
        finite either), and the input passes, delayed by the latency the mix was planned with."""
        if self._bypassed or self.spec is None:
            return
        L = self.latency_samples  # before bypassing: the property differs for a bypassed plugin
        self._kill()
        self.__dict__.update(_bypassed=True, _inflight=0,
                             _delay=np.zeros((self.spec.num_channels, L), np.float32))

    def _process_bypassed(self, block: np.ndarray) -> None:
        """The plugin is gone: pass the input through, delayed by its latency."""
        n = block.shape[1]
        line = np.concatenate([self._delay, block], axis=1)
        block[...] = line[:, :n]
        self.__dict__["_delay"] = np.ascontiguousarray(line[:, n:])
        self.__dict__["_pos"] += n

    @property
    def latency_samples(self) -> int:
        """The plugin's latency (as hosted in the worker) + one block of pipelining."""
        if self.spec is None:
            return int(self._worker_latency)
        if self._bypassed and not self._worker_latency:
            return 2 * self.spec.num_channels + 1 + self.spec.max_block_size  # the adapter's hold-back
        return int(self._worker_latency) + self.spec.max_block_size

    @property
    def tail_samples(self) -> int:
        return int(round(self.tail_s * self.spec.sample_rate)) if self.spec else 0

    def set_param(self, name: str, value: Any, where: str = "") -> None:
        """Set a parameter in the worker (after the block in flight); the same value again costs nothing."""
        requested = self._requested
        if name in requested and requested[name] == value and type(requested[name]) is type(value):
            return
        if not self._running("setting a parameter"):
            return
        reply = self._message(("set", name, value, where), "setting a parameter")
        if reply[0] == "error":
            raise MixcoreError(reply[1])
        if reply[0] == "ok":
            self._set[name] = reply[1]
            self._requested[name] = value

    def get_param(self, name: str) -> Any:
        if name in self._set:
            return self._set[name]
        return self.parameters.get(name)

    @property
    def parameters(self) -> dict[str, Any]:
        if self._bypassed or not self._alive():
            return dict(self._set)
        reply = self._message(("params",), "reading its parameters")
        if reply[0] == "error":
            raise MixcoreError(reply[1])
        return dict(reply[1]) if reply[0] == "ok" else dict(self._set)

    def state_entry(self) -> dict[str, Any]:
        """The entry that rebuilds this plugin as it is now (state embedded), still isolated."""
        if not self._running("saving its state"):
            raise MixcoreError(f"{self.where}: plugin {self._name!r} crashed; its state is lost")
        reply = self._message(("state",), "saving its state")
        if reply[0] != "ok":
            raise MixcoreError(f"{self.where}: cannot read the state of plugin {self._name!r}")
        entry = dict(reply[1])
        if self.type_name == "vst3":
            entry["path"] = self.entry["path"]
        entry["isolate"] = True
        if self.on_crash != "error":
            entry["on_crash"] = self.on_crash
        return entry

    def play(self, messages: list, *, duration: float, sample_rate: float, num_channels: int, reset: bool,
             start: int = 0) -> np.ndarray:
        """Render ``duration`` seconds of an instrument in the worker (``messages``: mido messages with
        times in seconds from the chunk's start; ``start``: the chunk's first sample, for the crash report).

        A chunk is one message each way (the audio comes back pickled: chunks are long, so the cost per
        sample is small); a crash or hang gives the same one line as an effect, and with
        ``on_crash = "bypass"`` the instrument falls silent for the rest of the render.
        """
        n = int(round(duration * sample_rate))
        d = self.__dict__
        d["_pos"], d["_play_rate"] = start, sample_rate
        if self._running("playing"):
            reply = self._message(("play", messages, duration, sample_rate, num_channels, reset), "playing")
            if reply[0] == "error":
                raise MixcoreError(reply[1])
            if reply[0] == "ok":
                return reply[1]
        return np.zeros((num_channels, n), np.float32)


if __name__ == "__main__":
    _worker_main(*map(int, sys.argv[1:4]))
