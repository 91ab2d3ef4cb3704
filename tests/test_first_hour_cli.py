"""Issue #16, items 5, 7, 8, 9: what a new user sees on the command line.

Resampling is never silent (a note per source, recorded in the manifest); every session error names the
session file before the key; ``master`` draws a bar per pass on a terminal and nothing on a pipe;
``plugins list`` says which folders it scanned and folds long paths instead of cutting them.
"""
from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from helpers import cli

SESSION = """sample_rate = 48000
[[tracks]]
name = "a"
source = "a.wav"
[[tracks]]
name = "b"
source = "b.wav"
chain = [ {{ type = "compressor", {param} = -12.0 }} ]
"""


def _song(tmp_path: Path, param: str = "threshold_db") -> Path:
    rng = np.random.default_rng(1)
    sf.write(str(tmp_path / "a.wav"), rng.uniform(-0.3, 0.3, (4800, 2)).astype(np.float32), 48000, subtype="FLOAT")
    sf.write(str(tmp_path / "b.wav"), rng.uniform(-0.3, 0.3, (4410, 2)).astype(np.float32), 44100, subtype="FLOAT")
    (tmp_path / "s.toml").write_text(SESSION.format(param=param))
    return tmp_path / "s.toml"


def test_a_resampled_source_gets_a_note_and_a_manifest_record(tmp_path):
    s = _song(tmp_path)
    r = cli("render", s, "-o", tmp_path / "mix.wav", "--manifest", tmp_path / "m.json")
    assert r.returncode == 0, r.stderr
    notes = [line for line in r.stderr.splitlines() if line.startswith("mixcore: note:")]
    assert notes == ["mixcore: note: tracks[1].source: b.wav is 44100 Hz; resampled to 48000 Hz (soxr)"]
    record = json.loads((tmp_path / "m.json").read_text())["resampled"]
    assert record == [{"key": "tracks[1].source", "path": "b.wav", "from_hz": 44100, "to_hz": 48000}]
    r = cli("render", s, "-o", tmp_path / "mix.wav", "-q")
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_every_session_error_names_the_file_then_the_key(tmp_path):
    s = _song(tmp_path, param="treshold_db")  # a mistake found when the processors are built
    r = cli("render", s, "-o", tmp_path / "mix.wav")
    assert r.returncode == 2
    assert r.stderr.startswith(f"mixcore: error: {s}: tracks[1].chain[0].treshold_db: unknown parameter"), r.stderr
    assert "did you mean 'threshold_db'" in r.stderr and r.stderr.count("\n") == 1
    # an error found while rendering (a NaN in a source) names the file too
    x = np.zeros((4800, 2), dtype=np.float32)
    x[100, 1] = np.nan
    sf.write(str(tmp_path / "a.wav"), x, 48000, subtype="FLOAT")
    (tmp_path / "s.toml").write_text(SESSION.format(param="threshold_db"))
    r = cli("render", s, "-o", tmp_path / "mix.wav", "-q")
    assert r.returncode == 2
    assert r.stderr == (f"mixcore: error: {s}: tracks[0].source: {tmp_path / 'a.wav'}: NaN at 0:00.002 (frame 100, "
                        "channel 2)\n"), r.stderr
    assert not (tmp_path / "mix.wav").exists()


def _master_cmd(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(2)
    t = np.arange(48000 * 3) / 48000
    x = (0.2 * np.sin(2 * np.pi * 220 * t) * (1 + rng.uniform(-0.1, 0.1, t.size)))[:, None].repeat(2, axis=1)
    sf.write(str(tmp_path / "mix.wav"), x.astype(np.float32), 48000, subtype="FLOAT")
    return [sys.executable, "-m", "mixcore", "master", str(tmp_path / "mix.wav"), "-o", str(tmp_path / "m.wav")]


def _env() -> dict:
    import mixcore

    env = dict(os.environ, MIXCORE_PROGRESS_DELAY_S="0", COLUMNS="100", TERM="xterm")
    env["PYTHONPATH"] = str(Path(mixcore.__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_master_draws_a_bar_per_pass_on_a_terminal_and_nothing_on_a_pipe(tmp_path):
    cmd = _master_cmd(tmp_path)
    # on a pipe: the summary on stdout, nothing on stderr
    r = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.startswith("wrote ")
    # on a terminal (a pty on stderr): a bar for the measurement and each pass
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out = p.stdout.read().decode()
    assert p.wait(timeout=300) == 0
    os.close(master)
    text = seen.decode(errors="replace")
    assert "measuring the input" in text and "pass 1: gain" in text, text[-2000:]
    assert out.startswith("wrote ")
    # -q: nothing, terminal or not
    r = subprocess.run([*cmd, "-q"], env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stderr == "" and r.stdout == ""


def test_plugins_list_names_the_folders_it_scanned_and_folds_long_paths(tmp_path, vst3_plugins):
    folder = vst3_plugins["MixcoreTestEffect"].parent
    env = dict(HOME=str(tmp_path), COLUMNS="80")
    r = cli("plugins", "list", "--format", "vst3", "--plugin-path", folder, env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "scanned:"
    assert f"  {tmp_path / '.vst3'}  (does not exist)" in lines
    assert f"  {folder}  (1 plugin)" in lines
    assert all(len(line) <= 80 for line in lines if not line.startswith("  /")), lines
    # the bundle's path is folded over lines, never cut with an ellipsis: without the line breaks it is whole
    assert "…" not in r.stdout
    header = next(i for i, line in enumerate(lines) if " path" in line and "name" in line)
    col = lines[header].index("path")
    start = next((i for i, line in enumerate(lines) if line[col:].strip().startswith(str(folder)[:20])), None)
    assert start is not None, r.stdout
    pieces = "".join(line[col:].strip() for line in lines[start:start + 8])
    assert pieces.startswith(str(vst3_plugins["MixcoreTestEffect"])), (pieces, r.stdout)
