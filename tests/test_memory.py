"""Constant memory (README: "Renders stream"): a session ten times longer renders in about the same peak
memory. Each render runs in a fresh subprocess that reports its own peak RSS (VmHWM); the long render's
peak may exceed the short one's by at most 5 % plus 6 MB, far less than the long sources (4 stereo float
tracks of 60 s, 92 MB) or the long output (23 MB) held in memory would add."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

import mixcore

SR = 48000
TRACKS = 4
CHILD = """
import sys
import mixcore
mixcore.Session.load(sys.argv[1]).render(sys.argv[2])
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(int(line.split()[1]))  # kB
"""


def session(folder: Path, seconds: float) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    text = "sample_rate = 48000\ntail_s = 0.5\n"
    for i in range(TRACKS):
        with sf.SoundFile(str(folder / f"t{i}.wav"), "w", SR, 2, "FLOAT") as f:
            for _ in range(int(seconds)):  # written a second at a time: the test itself stays small
                f.write((rng.standard_normal((SR, 2)) * 0.1).astype(np.float32))
        text += (f'\n[[tracks]]\nname = "t{i}"\nsource = "t{i}.wav"\noutput = "bus"\n'
                 f'chain = [ {{ type = "eq", bands = [ {{ kind = "peak", freq_hz = {300 * (i + 1)}.0, '
                 f'gain_db = 3.0 }} ] }}, {{ type = "compressor", threshold_db = -30.0 }} ]\n')
    text += '\n[[buses]]\nname = "bus"\nchain = [ { type = "reverb" }, { type = "limiter" } ]\n'
    (folder / "s.toml").write_text(text)
    return folder / "s.toml"


def peak_rss_kb(path: Path) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(mixcore.__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, "-c", CHILD, str(path), str(path.parent / "out.wav")], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert sf.info(str(path.parent / "out.wav")).frames > 0
    return int(r.stdout.split()[-1])


def test_peak_memory_does_not_grow_with_the_session_length(tmp_path):
    short = peak_rss_kb(session(tmp_path / "short", 6))
    long = peak_rss_kb(session(tmp_path / "long", 60))
    assert long <= 1.05 * short + 6 * 1024, f"peak RSS {short} kB for 6 s, {long} kB for 60 s"
