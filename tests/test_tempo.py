"""A TOML session's ``tempo_bpm`` and ``beats_per_bar`` reach what counts in beats: a delay's
``time_beats``, automation in bars, and a MIDI file without tempo events (CC automation)."""
from __future__ import annotations

import mido
import numpy as np
import pytest
from helpers import read, write

import mixcore

SR = 48000


def render(tmp_path, text: str) -> np.ndarray:
    (tmp_path / "s.toml").write_text(text)
    mixcore.Session.load(tmp_path / "s.toml").render(tmp_path / "out.wav")
    return read(tmp_path / "out.wav")


def dc(tmp_path, seconds: float) -> None:
    write(tmp_path / "dc.wav", np.full((2, int(seconds * SR)), 0.5, np.float32))


def step_times(y: np.ndarray) -> list[int]:
    """Samples at which the (piecewise constant) left channel changes."""
    return [int(i) + 1 for i in np.flatnonzero(np.diff(y[0]) != 0)]


@pytest.mark.parametrize("bpm, beats", [(150.0, 1.0), (90.0, 0.5), (100.0, 1.5)])
def test_delay_time_beats_follows_the_session_tempo(tmp_path, bpm, beats):
    click = np.zeros((2, SR), np.float32)
    click[:, 0] = 1.0
    write(tmp_path / "click.wav", click)
    y = render(tmp_path, f"""
sample_rate = 48000
tempo_bpm = {bpm}
tail_s = 0.0

[[tracks]]
name = "click"
source = "click.wav"
chain = [ {{ type = "delay", time_beats = {beats}, feedback = 0.0, mix = 1.0 }} ]
""")
    want = int(round(beats * 60.0 / bpm * SR))
    assert int(np.argmax(np.abs(y[0]))) == want
    assert np.abs(y[0, :want]).max() < 1e-6  # nothing before the echo (no dry signal, no earlier tap)


def test_automation_in_bars_follows_tempo_bpm_and_beats_per_bar(tmp_path):
    dc(tmp_path, 1.5)
    y = render(tmp_path, """
sample_rate = 48000
tempo_bpm = 150.0
beats_per_bar = 3
tail_s = 0.0

[[tracks]]
name = "dc"
source = "dc.wav"

[[automation]]
target = "dc.gain_db"
points = [ [0.0, -20.0], [0.5, 0.0], [1.0, -6.0] ]
time_unit = "bars"
curve = "step"
""")
    # half a bar = 1.5 beats = 0.6 s at 150 bpm; one bar = 3 beats = 1.2 s
    assert step_times(y) == [int(0.6 * SR), int(1.2 * SR)]
    assert y[0, int(0.6 * SR)] / y[0, 0] == pytest.approx(10.0, rel=1e-5)


def cc_file(path, tempo_bpm: float | None) -> None:
    mf = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mf.tracks.append(tr)
    if tempo_bpm is not None:
        tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    tr.append(mido.Message("control_change", control=7, value=0, time=0))
    tr.append(mido.Message("control_change", control=7, value=127, time=960))  # beat 2
    tr.append(mido.Message("control_change", control=7, value=64, time=240))   # beat 2.5
    mf.save(str(path))


MIDI_SESSION = """
sample_rate = 48000
tempo_bpm = 150.0
tail_s = 0.0

[[tracks]]
name = "dc"
source = "dc.wav"

[[midi]]
file = "{file}"
map = [ {{ cc = 7, target = "dc.gain_db", min = -40.0, max = 0.0 }} ]
"""


def test_midi_file_without_tempo_events_follows_tempo_bpm(tmp_path):
    dc(tmp_path, 1.5)
    cc_file(tmp_path / "no_tempo.mid", None)
    y = render(tmp_path, MIDI_SESSION.format(file="no_tempo.mid"))
    # beat 2 = 0.8 s and beat 2.5 = 1.0 s at the session's 150 bpm
    assert step_times(y) == [int(0.8 * SR), int(1.0 * SR)]
    assert y[0, int(0.8 * SR)] / y[0, 0] == pytest.approx(100.0, rel=1e-5)
    # a file with its own tempo (100 bpm) follows that instead: beat 2 = 1.2 s, beat 2.5 = 1.5 s
    cc_file(tmp_path / "tempo.mid", 100.0)
    dc(tmp_path, 1.4)
    y = render(tmp_path, MIDI_SESSION.format(file="tempo.mid"))
    assert step_times(y) == [int(1.2 * SR)]
