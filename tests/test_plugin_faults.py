"""Plugin faults (issue #13): a crash in-process is named, an isolated plugin never outlives or blocks its host.

* An in-process plugin crash kills mixcore (nothing can be rescued), but first one line on stderr
  names the plugin, where it sits and the song time, and suggests ``isolate = true``. The process
  still dies of the signal: for a subprocess the exit status is ``-SIGSEGV`` (139 in a shell).
* ``isolate = true``: Ctrl-C while the plugin hangs exits 130 at once, on any thread count; a host
  killed with ``kill -9`` takes its workers with it; ``on_crash = "bypass"`` continues with the dry
  signal from the exact sample where the plugin's output stops.
* A routing or sidechain cycle is named, with the keys that close it.

Uses the real MixcoreCrash plugin (plugins/src/CrashPlugin.cpp): a pass-through that segfaults in its
next processBlock once ``crash`` is on, inside the host's set call for ``crash_on_set``, and spins
(sleeping 10 ms at a time) once ``hang`` is on.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import cli, noise, write

import mixcore
from mixcore.errors import MixcoreError
from mixcore.session import Session

SR = 48000
SUGGEST = "; set isolate = true on its chain entry to keep the render going or bypass it\n"


@pytest.fixture
def crash(vst3_plugins, monkeypatch):
    bundle = Path(vst3_plugins["MixcoreCrash"])
    monkeypatch.setenv("MIXCORE_PLUGIN_PATH", str(bundle.parent))  # plugin folders (harmless where not checked)
    return str(bundle)


def crash_session(tmp_path: Path, crash: str, chain_extra: str = "", automation: str = "crash",
                  at: float = 1.5, seconds: float = 2.0, names: tuple[str, ...] = ("kick",)) -> None:
    """Tracks ``names``, each with a MixcoreCrash whose ``automation`` parameter turns on at ``at`` s."""
    write(tmp_path / "a.wav", noise(int(SR * seconds), 2, seed=4))
    text = ""
    for name in names:
        text += (f'[[tracks]]\nname = "{name}"\nsource = "a.wav"\n'
                 f'chain = [ {{ type = "vst3", id = "c", path = "{crash}"{chain_extra} }} ]\n')
        if automation:
            text += (f'[[automation]]\ntarget = "{name}.c.{automation}"\npoints = [[0.0, 0.0], [{at}, 1.0]]\n'
                     'curve = "step"\n')
    (tmp_path / "s.toml").write_text(text)


# -- in-process crashes ------------------------------------------------------------------------------
@pytest.mark.parametrize("threads", ["1", "2"])
def test_an_in_process_crash_says_which_plugin_where_and_when(crash, tmp_path, threads):
    crash_session(tmp_path, crash)
    r = cli("render", "s.toml", "-o", "out.wav", "--threads", threads, cwd=tmp_path)
    assert r.returncode == -signal.SIGSEGV, (r.returncode, r.stderr)  # still a crash: killed by the signal
    assert r.stderr == ("mixcore: error: tracks[0].chain[0] (track 'kick'): plugin 'MixcoreCrash' crashed (SIGSEGV) "
                        "while processing at 0:01.500 in the song" + SUGGEST)


def test_an_in_process_crash_while_loading_its_parameters(crash, tmp_path):
    crash_session(tmp_path, crash, ", params = { crash_on_set = true }", automation="")
    r = cli("render", "s.toml", "-o", "out.wav", cwd=tmp_path)
    assert r.returncode == -signal.SIGSEGV, (r.returncode, r.stderr)
    assert r.stderr == ("mixcore: error: tracks[0].chain[0] (track 'kick'): plugin 'MixcoreCrash' crashed (SIGSEGV) "
                        "while setting a parameter" + SUGGEST)


def test_the_crash_line_comes_before_faulthandlers_report(crash, tmp_path):
    """With Python's faulthandler on (as under pytest), both speak: the line first, then the traceback."""
    crash_session(tmp_path, crash, at=0.25)
    env = dict(os.environ, PYTHONFAULTHANDLER="1", PYTHONPATH=_root() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "mixcore", "render", "s.toml", "-o", "out.wav"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == -signal.SIGSEGV, (r.returncode, r.stderr)
    first, rest = r.stderr.split("\n", 1)
    assert first + "\n" == ("mixcore: error: tracks[0].chain[0] (track 'kick'): plugin 'MixcoreCrash' crashed "
                            "(SIGSEGV) while processing at 0:00.250 in the song" + SUGGEST)
    assert "Fatal Python error: Segmentation fault" in rest


# -- isolated plugins: Ctrl-C, kill -9 -------------------------------------------------------------
def _root() -> str:
    return str(Path(mixcore.__file__).resolve().parent.parent)


def _start_render(cwd: Path, threads: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=_root() + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MIXCORE_PLUGIN_TIMEOUT_S="120")  # a hang is never ended by the timeout in these tests
    return subprocess.Popen([sys.executable, "-m", "mixcore", "render", "s.toml", "-o", "out.wav", "--threads", threads],
                            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _workers(host: int) -> list[int]:
    """The host's children that are plugin workers."""
    pids = []
    for task in os.listdir(f"/proc/{host}/task"):
        try:
            kids = Path(f"/proc/{host}/task/{task}/children").read_text().split()
        except FileNotFoundError:
            continue
        for pid in map(int, kids):
            try:
                if b"mixcore.hosting.isolation" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(pid)
            except FileNotFoundError:
                pass
    return pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _hanging(pid: int) -> bool:
    """The worker's main thread sleeps in nanosleep: juce::Thread::sleep in the plugin's hang (a worker
    never sleeps that way otherwise: it waits in poll or sched_yield)."""
    try:
        return Path(f"/proc/{pid}/task/{pid}/syscall").read_text().split()[0] in ("35", "230")
    except (OSError, IndexError):
        return False


def _wait_for_hang(p: subprocess.Popen, count: int, hanging: int) -> list[int]:
    """Wait until ``hanging`` of the render's ``count`` workers hang (5 looks in a row); return all pids."""
    deadline = time.monotonic() + 60
    seen = 0
    while time.monotonic() < deadline:
        assert p.poll() is None, p.stderr.read()
        workers = _workers(p.pid)
        seen = seen + 1 if len(workers) == count and sum(map(_hanging, workers)) >= hanging else 0
        if seen >= 5:
            return workers
        time.sleep(0.02)
    raise AssertionError("the plugins never hung")


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("threads", ["1", "2"])
def test_ctrl_c_while_an_isolated_plugin_hangs_exits_130_at_once(crash, tmp_path, threads):
    """Two tracks hang: with two threads, one of them waits in a render thread, not the main thread
    (with one thread the render stops at the first)."""
    crash_session(tmp_path, crash, ", isolate = true", automation="hang", at=0.1, names=("kick", "snare"))
    p = _start_render(tmp_path, threads)
    workers = []
    try:
        workers = _wait_for_hang(p, 2, int(threads))
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=3.0)  # generous: it takes a fraction of a second (was 6 s, or 10 s and exit 2)
        except subprocess.TimeoutExpired:
            pytest.fail("the render did not stop within 3 s of Ctrl-C")
        err = p.stderr.read()
        assert p.returncode == 130 and err == "mixcore: interrupted\n", (p.returncode, err)
        assert not [w for w in workers if _alive(w)]
        assert sorted(f.name for f in tmp_path.iterdir()) == ["a.wav", "s.toml"]
    finally:
        p.kill()
        p.wait()
        _kill_all(workers)


def test_a_killed_host_takes_its_workers_with_it(crash, tmp_path):
    crash_session(tmp_path, crash, ", isolate = true", automation="hang", at=0.1)
    p = _start_render(tmp_path, "2")
    workers = []
    try:
        workers = _wait_for_hang(p, 1, 1)
        p.kill()  # kill -9: no cleanup runs in the host
        p.wait()
        deadline = time.monotonic() + 5.0  # it takes milliseconds; a generous bound against a busy machine
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not [w for w in workers if _alive(w)], "the hung worker outlived its host"
    finally:
        p.kill()
        p.wait()
        _kill_all(workers)


# -- on_crash = "bypass" ----------------------------------------------------------------------------
@pytest.mark.parametrize("block,threads", [(512, 1), (1000, 2), (4096, 1)])
def test_bypass_continues_with_the_dry_signal_from_the_exact_sample(crash, tmp_path, block, threads, capsys):
    """The plugin is a pass-through, so the track must come out as its source, bit for bit, crash or not:
    the audio the dead worker held (the block in flight, the plugin's delay) is replaced by the dry input."""
    x = noise(2 * SR, 2, seed=5)
    write(tmp_path / "a.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0,
                tracks=[{"name": "vox", "source": "a.wav",
                         "chain": [{"type": "vst3", "id": "c", "path": crash, "isolate": True, "on_crash": "bypass"}]}],
                automation=[{"target": "vox.c.crash", "points": [[0.0, 0.0], [0.5, 1.0]], "curve": "step"}])
    y = np.concatenate(list(s.stream(block, threads=threads)), axis=1)
    assert "crashed (SIGSEGV) while processing at 0:00.500 in the song" in capsys.readouterr().err
    assert y.shape == x.shape
    lost = np.flatnonzero(np.any(y != x, axis=0))
    assert lost.size == 0, f"{lost.size} samples differ from the dry signal, from sample {lost[0]}"


def test_bypass_after_the_worker_is_killed_between_blocks(crash, tmp_path, capsys):
    """A worker that dies between two calls (found by the next call) is replaced without a gap too."""
    from mixcore.hosting import make_hosted
    from mixcore.processors import ProcessSpec

    p = make_hosted({"type": "vst3", "path": crash, "isolate": True, "on_crash": "bypass"}, tmp_path, "t")
    p.prepare(ProcessSpec(SR, 256, 2))
    p.reset()
    L = p.latency_samples
    x = noise(SR // 2, 2, seed=6)
    out = []
    for i in range(0, x.shape[1], 256):
        if i == 256 * 37:
            os.kill(p._worker.pid, signal.SIGKILL)
            p._worker.wait(10)
        b = x[:, i:i + 256].copy()
        p.process(b)
        out.append(b)
    y = np.concatenate(out, axis=1)
    np.testing.assert_array_equal(y[:, L:], x[:, :-L])  # the input, delayed by the latency, without a gap
    assert not np.any(y[:, :L])
    assert "crashed (SIGKILL)" in capsys.readouterr().err
    p.close()


# -- cycles -----------------------------------------------------------------------------------------
def _cycle(tmp_path, buses):
    write(tmp_path / "a.wav", noise(4800, 2))
    s = Session(base_dir=tmp_path, sample_rate=SR, tracks=[{"name": "kick", "source": "a.wav", "output": "drums"}],
                buses=buses)
    with pytest.raises(MixcoreError) as e:
        list(s.stream(512))
    return str(e.value)


def test_a_sidechain_cycle_through_buses_is_named(tmp_path):
    msg = _cycle(tmp_path, [{"name": "drums", "chain": [{"type": "compressor", "sidechain": "verb"}],
                             "sends": [{"to": "verb"}]},
                            {"name": "verb"}])
    assert msg.startswith("sidechain cycle: drums -> verb -> drums (buses[0].chain[0].sidechain)"), msg
    msg = _cycle(tmp_path, [{"name": "drums", "chain": [{"type": "compressor", "sidechain": "master"}]}])
    assert msg.startswith("sidechain cycle: drums -> master -> drums (buses[0].chain[0].sidechain)"), msg


def test_a_routing_cycle_is_named_with_its_keys(tmp_path):
    msg = _cycle(tmp_path, [{"name": "drums", "output": "x"}, {"name": "x", "output": "y"},
                            {"name": "y", "output": "x"}])
    assert msg.startswith("routing cycle: x -> y -> x (buses[1].output, buses[2].output)"), msg
