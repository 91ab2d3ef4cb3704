"""``mixcore play`` end to end from the command line: a profile, learning a control, saving the learned
profile, recording the take and writing the performance with ``-o``.

There is no MIDI system here (no ALSA sequencer, no python-rtmidi), so the controller is a *scripted
port*: a mido backend (selected with mido's own ``MIDO_BACKEND`` variable, written below) whose one input
plays a MIDI file, each message at the first block that starts at or after its time. The player polls
its port once per block, so the port counts blocks by the polls that find nothing more; nothing of
mixcore is replaced. Without a MIDI system at all, ``play`` fails with one line (tests/test_live.py)."""
from __future__ import annotations

import hashlib
import os
import tomllib

import mido
import numpy as np
import pytest
from helpers import cli, noise, write

SR = 48000
BLOCK = 512

BACKEND = '''
"""mido backend: one input port, "Scripted", playing $SCRIPTED_MIDI by blocks of $SCRIPTED_MIDI_BLOCK_S."""
import os

import mido
from mido.ports import BaseInput


def get_devices(**kwargs):
    return [{"name": "Scripted", "is_input": True, "is_output": False}]


class Input(BaseInput):
    def __init__(self, name=None, **kwargs):
        self._step = float(os.environ["SCRIPTED_MIDI_BLOCK_S"])
        self._events, t = [], 0.0
        for msg in mido.MidiFile(os.environ["SCRIPTED_MIDI"]):  # times in seconds (tempo map applied)
            t += msg.time
            if not msg.is_meta:
                self._events.append((t, msg))
        self._block = 0
        BaseInput.__init__(self, name)

    def _receive(self, block=True):
        if self._events and self._events[0][0] <= self._block * self._step + 1e-9:
            return self._events.pop(0)[1]
        self._block += 1  # nothing more before this block: the next poll is the next block's
        return None
'''

SESSION = """
sample_rate = 48000
tail_s = 0.0

[[tracks]]
name = "a"
source = "a.wav"
chain = [ { type = "eq", bands = [ { kind = "lowpass", freq_hz = 8000.0 } ] }, { type = "compressor", id = "c" } ]
"""

PROFILE = """
[[map]]
cc = 7
channel = 1
target = "a.gain_db"
min = -60.0
max = 6.0

[[map]]
cc = 20
channel = 1
target = "a.c.threshold_db"
min = -50.0
max = 0.0
"""


def sha(p) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def controller_file(path) -> None:
    """CC 7 (gain) and CC 20 (threshold) moves, and CC 21 on channel 4 (to be learned) at 0.1 s."""
    mf = mido.MidiFile(ticks_per_beat=480)  # no tempo event: 120 bpm, 1 s = 960 ticks
    tr = mido.MidiTrack()
    mf.tracks.append(tr)
    events = [(96, mido.Message("control_change", control=21, value=127, channel=3)),
              (192, mido.Message("control_change", control=7, value=64, channel=0)),
              (288, mido.Message("control_change", control=20, value=30, channel=0)),
              (480, mido.Message("control_change", control=21, value=0, channel=3)),
              (672, mido.Message("control_change", control=7, value=110, channel=0))]
    last = 0
    for tick, msg in events:
        tr.append(msg.copy(time=tick - last))
        last = tick
    mf.save(str(path))


@pytest.fixture
def scripted(tmp_path, monkeypatch):
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "scriptedmidi.py").write_text(BACKEND)
    controller_file(tmp_path / "moves.mid")
    write(tmp_path / "a.wav", noise(SR, 2, seed=1, level=0.5))
    (tmp_path / "s.toml").write_text(SESSION)
    (tmp_path / "profile.toml").write_text(PROFILE)
    monkeypatch.setenv("MIDO_BACKEND", "scriptedmidi")
    monkeypatch.setenv("SCRIPTED_MIDI", str(tmp_path / "moves.mid"))
    monkeypatch.setenv("SCRIPTED_MIDI_BLOCK_S", repr(BLOCK / SR))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "backend") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return tmp_path


def at_block(t: float) -> float:
    """Song time of the first block starting at or after t: where the player applies a move."""
    return int(np.ceil(t * SR / BLOCK - 1e-9)) * BLOCK / SR


def test_play_learn_profile_record_and_output(scripted):
    d = scripted
    r = cli("play", "s.toml", "--midi-in", "Scripted", "-o", "live.wav", "--profile", "profile.toml",
            "--learn", "a.pan", "--save-profile", "learned.toml", "--record", "take.toml", "--no-realtime",
            "--block-size", str(BLOCK), cwd=d)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "recorded 5 moves into take.toml\n"
    # the learned profile: the two maps of the profile, then CC 21 of channel 4 over the full pan range
    maps = tomllib.loads((d / "learned.toml").read_text())["map"]
    # a learned map has no min/max: it follows the target's taper (pan: linear over -1 .. 1)
    assert [(m.get("cc"), m.get("channel", 1), m["target"], m.get("min"), m.get("max")) for m in maps] == [
        (7, 1, "a.gain_db", -60.0, 6.0), (20, 1, "a.c.threshold_db", -50.0, 0.0), (21, 4, "a.pan", None, None)]
    # the take: every move at the start of the block it arrived before, as step lanes
    lanes = {a["target"]: a for a in tomllib.loads((d / "take.toml").read_text())["automation"]}
    assert {k: a["curve"] for k, a in lanes.items()} == {"a.gain_db": "step", "a.c.threshold_db": "step",
                                                          "a.pan": "step"}
    np.testing.assert_allclose(lanes["a.pan"]["points"], [[0.0, 0.0], [at_block(0.1), 1.0], [at_block(0.5), -1.0]])
    np.testing.assert_allclose(lanes["a.gain_db"]["points"], [
        [0.0, 0.0], [at_block(0.2), -60 + 66 * 64 / 127], [at_block(0.7), -60 + 66 * 110 / 127]])
    np.testing.assert_allclose(lanes["a.c.threshold_db"]["points"],
                               [[0.0, -20.0], [at_block(0.3), -50 + 50 * 30 / 127]])
    # the recorded take renders offline to the bytes of the live performance
    r = cli("render", "take.toml", "-o", "again.wav", "-q", cwd=d)
    assert r.returncode == 0, r.stderr
    assert sha(d / "again.wav") == sha(d / "live.wav")
    # the moves are in the output: it differs from the untouched session
    r = cli("render", "s.toml", "-o", "plain.wav", "-q", cwd=d)
    assert sha(d / "plain.wav") != sha(d / "live.wav")
    # playing again with the saved profile (no learning) gives the same performance
    r = cli("play", "s.toml", "--midi-in", "Scripted", "-o", "live2.wav", "--profile", "learned.toml",
            "--no-realtime", "--block-size", str(BLOCK), cwd=d)
    assert r.returncode == 0, r.stderr
    assert sha(d / "live2.wav") == sha(d / "live.wav")


def test_play_errors_are_one_line(scripted):
    d = scripted
    r = cli("play", "s.toml", "--midi-in", "Scriptd", "-o", "x.wav", cwd=d)
    assert r.returncode == 2 and r.stderr == ("mixcore: error: --midi-in: no MIDI input named 'Scriptd' "
                                              "(did you mean 'Scripted'?); inputs: Scripted\n")
    r = cli("play", "s.toml", "--midi-in", "Scripted", "-o", "x.wav", "--record", "s.toml", cwd=d)
    assert r.returncode == 2 and r.stderr.startswith("mixcore: error: --record: ") and r.stderr.count("\n") == 1
    r = cli("play", "s.toml", "--midi-in", "Scripted", "-o", "x.wav", "--learn", "b.pan", "--no-realtime", cwd=d)
    assert r.returncode == 2 and "no track or bus named 'b'" in r.stderr and r.stderr.count("\n") == 1
    assert not (d / "x.wav").exists()
