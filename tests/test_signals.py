"""No leftovers: SIGTERM and SIGHUP end a render like Ctrl-C (message, exit 128 + signal, temporary
files removed, old outputs kept); a temporary file of a killed process (kill -9) is removed by the
next render to the same output."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import cli, noise, write

import mixcore


def slow_session(folder: Path) -> Path:
    """120 s of 8 kHz audio rendered one sample per block: long enough to be stopped midway (about 11 s
    on this kind of machine since the engine's per-block cost fell; 30 s of audio ended before a signal
    sent from a loaded machine arrived)."""
    sf.write(str(folder / "a.wav"), noise(8000 * 120, 1, seed=3).T, 8000, subtype="FLOAT")
    (folder / "s.toml").write_text('block_size = 1\n[[tracks]]\nname = "a"\nsource = "a.wav"\n'
                                   'chain = [ { type = "eq" } ]\n')
    return folder / "s.toml"


def start(folder: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(mixcore.__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "mixcore", *args], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob(".*") if p.is_file())


def wait_for_temporaries(proc: subprocess.Popen, folder: Path, count: int) -> list[Path]:
    """Poll until the render has created its temporary files (it is then writing)."""
    for _ in range(6000):
        found = temporaries(folder)
        if len(found) >= count:
            return found
        if proc.poll() is not None:
            pytest.fail(f"the render ended before it was stopped: {proc.communicate()}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail("the render never created its temporary files")


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        _out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the render did not stop")
    return proc.returncode, err


@pytest.mark.parametrize("signum, code, name", [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGHUP, 129, "SIGHUP")])
def test_sigterm_and_sighup_stop_a_render_cleanly(tmp_path, signum, code, name):
    slow_session(tmp_path)
    old = {"out.wav": b"old mix", "m.json": b"old manifest", "stems/a.wav": b"old stem"}
    (tmp_path / "stems").mkdir()
    for rel, data in old.items():
        (tmp_path / rel).write_bytes(data)
    proc = start(tmp_path, "render", "s.toml", "-o", "out.wav", "--stems", "stems", "--manifest", "m.json",
                 "--threads", "1")
    wait_for_temporaries(proc, tmp_path, 2)  # the render is under way
    proc.send_signal(signum)
    rc, err = finish(proc)
    assert rc == code, err
    assert err.strip().splitlines()[-1] == f"mixcore: terminated by {name}", err
    assert "Traceback" not in err
    assert temporaries(tmp_path) == []
    for rel, data in old.items():
        assert (tmp_path / rel).read_bytes() == data, rel


def test_temporary_file_of_a_killed_render_is_removed_by_the_next(tmp_path):
    slow_session(tmp_path)
    proc = start(tmp_path, "render", "s.toml", "-o", "out.wav", "--threads", "1")
    left = wait_for_temporaries(proc, tmp_path, 1)
    proc.kill()  # kill -9: no cleanup runs
    proc.wait()
    assert temporaries(tmp_path) == left
    # a temporary file of a process that is still alive (this one) is not touched
    alive = tmp_path / f".out.wav.{os.getpid()}.mixcore.part"
    alive.write_bytes(b"busy")
    write(tmp_path / "b.wav", noise(4800, 1))
    (tmp_path / "quick.toml").write_text('[[tracks]]\nname = "b"\nsource = "b.wav"\n')
    r = cli("render", "quick.toml", "-o", "out.wav", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert temporaries(tmp_path) == [alive]
    assert sf.info(str(tmp_path / "out.wav")).frames > 0
