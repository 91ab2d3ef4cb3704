"""The worker process of plugin isolation (:mod:`mixcore.hosting.isolation`).

Started as ``python -m mixcore.hosting.isolation_worker MSG_FD WAKE_FD HOST_PID``: it dies with its
host, builds the plugin exactly as in-process hosting does and serves the host's requests in order
(blocks in shared memory, control messages pickled over a socket).
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from ..errors import MixcoreError
from ..processors.base import ProcessSpec
from .isolation_ipc import H_SLEEP, LENS, OP_PROCESS, OPS, REQ, RESP, W_SLEEP, WORKER_SPIN, _attach, _Side

#: Seconds between two looks of a worker's watchdog at its parent.
WATCH_S = 0.2


def _die_with_host(host: int) -> None:
    """End this worker when the host process ``host`` ends, even while the plugin hangs.

    Linux: the kernel sends SIGKILL when the thread that started the worker ends (the host starts
    workers from threads that live as long as it does). Elsewhere, and as a second line, a daemon
    thread looks at the parent's pid (a worker whose host died is adopted by another process).
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != host:  # the host died before the line above
        os._exit(1)

    def watch() -> None:
        while os.getppid() == host:
            time.sleep(WATCH_S)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="mixcore-watchdog", daemon=True).start()


def _worker_main(msg_fd: int, wake_fd: int, host: int = 0) -> None:
    """Entry point of ``python -m mixcore.hosting.isolation_worker MSG_FD WAKE_FD HOST_PID``."""
    if host:
        _die_with_host(host)
    conn = Connection(msg_fd)
    wake = socket.socket(fileno=wake_fd)
    wake.setblocking(False)
    entry, base_dir, where, ctrl_name, checked, folders = conn.recv()
    ctrl_shm = _attach(ctrl_name)
    ctrl = ctrl_shm.buf.cast("i")
    try:
        _serve(conn, _Side(ctrl, wake, W_SLEEP, H_SLEEP), entry, base_dir, where, checked, folders)
    finally:
        try:
            ctrl.release()
            ctrl_shm.close()
        except BufferError:
            pass


def _serve(conn: Connection, side: _Side, entry: dict, base_dir: str, where: str, checked: str,
           folders: list[str]) -> None:
    """Build the plugin, then serve requests in order until told to stop or the host is gone.

    ``checked`` is the bundle's real path, already checked by the host against the plugin
    ``folders``; it is checked again here, before anything of it is loaded.
    """
    from .folders import add_plugin_path, check_plugin
    from .pedalboard_adapter import one_line
    from .vst3 import make_vst3, vst3_state

    lv2 = entry.get("type") == "lv2"
    try:
        if lv2:  # the LV2 folders and the trust check are make_lv2's (the host's extra folders allowed here)
            from .lv2 import lv2_state, make_lv2

            add_plugin_path(*folders)
            proc = make_lv2(entry, Path(base_dir), where)
            vst3_state = lv2_state  # noqa: F811 -- the state of whichever kind was built
        else:
            real = check_plugin(checked, f"{where}.path", [Path(f) for f in folders])
            proc = make_vst3(entry, Path(base_dir), where, checked=real)
    except MixcoreError as e:
        conn.send(("error", str(e)))
        return
    except Exception as e:
        conn.send(("error", f"{where}: cannot load the plugin: {one_line(e)}"))
        return
    conn.send(("loaded", proc.name, proc.PARAMS, proc.latency_samples, getattr(proc, "is_instrument", False)))
    ctrl = side.ctrl
    shm: shared_memory.SharedMemory | None = None
    slots: list[np.ndarray] = []
    views: list[dict[int, np.ndarray]] = [{}, {}]
    ch = 0
    last = 0
    process = proc.process
    try:
        while True:
            if ctrl[REQ] > last:  # the next request is already there (the host runs ahead: pipelining)
                side.ordered()
            else:
                state = side.wait(REQ, last + 1, WORKER_SPIN, 1.0)
                if state is None:
                    return  # the host is gone
                if not state:
                    continue
            target = ctrl[REQ]
            while last < target:
                seq = last + 1
                s = seq & 1
                if ctrl[OPS[s]] == OP_PROCESS:  # the hot path: a block in shared memory, in place
                    n = ctrl[LENS[s]]
                    v = views[s].get(n)
                    if v is None:
                        v = views[s][n] = slots[s][: ch * n].reshape(ch, n)
                    process(v)
                else:
                    msg = conn.recv()
                    cmd = msg[0]
                    try:
                        if cmd == "attach":
                            views = [{}, {}]
                            v = None
                            slots = []
                            if shm is not None:
                                shm.close()
                            shm = _attach(msg[1])
                            ch, cap = msg[2], msg[3]
                            flat = np.ndarray((2 * ch * cap,), dtype=np.float32, buffer=shm.buf)
                            slots = [flat[i * ch * cap:(i + 1) * ch * cap] for i in range(2)]
                            del flat
                            conn.send(("ok",))
                        elif cmd == "prepare":
                            proc.prepare(ProcessSpec(*msg[1]))
                            conn.send(("ok", proc.latency_samples))
                        elif cmd == "reset":
                            proc.reset()
                            conn.send(("ok", proc.latency_samples))
                        elif cmd == "set":
                            proc.set_param(msg[1], msg[2], where=msg[3])
                            conn.send(("ok", proc.get_param(msg[1])))
                        elif cmd == "params":
                            conn.send(("ok", proc.parameters))
                        elif cmd == "state":
                            conn.send(("ok", vst3_state(proc)))
                        elif cmd == "play":  # an instrument renders a chunk of MIDI (render/instrument.py)
                            _, msgs, duration, sr, channels, fresh = msg
                            audio = proc.plugin(msgs, duration=duration, sample_rate=sr,
                                                num_channels=channels, reset=fresh)
                            conn.send(("ok", np.ascontiguousarray(audio, dtype=np.float32)))
                        elif cmd == "stop":
                            conn.send(("ok",))
                            return
                    except MixcoreError as e:
                        conn.send(("error", str(e)))
                last = seq
                side.publish(RESP, seq)
    finally:
        views = [{}, {}]
        slots = []
        if shm is not None:
            try:
                shm.close()
            except BufferError:  # an exception's traceback may still hold a view; the process ends anyway
                pass


if __name__ == "__main__":
    _worker_main(*map(int, sys.argv[1:4]))
