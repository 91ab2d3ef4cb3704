"""Issue #16, the first hour: the rough edges a new user hits (source checkout, MIDI learn tapers,
play without a MIDI system, demo overwriting edits, processors listing, saved sessions' text)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, cli, noise, read, write

from mixcore.demo import write_demo_project

README = ROOT / "README.md"
SR = 48000


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -c code`` in ``cwd`` with no PYTHONPATH: ``import mixcore`` finds ``cwd/mixcore`` first,
    as it does for a user in the checkout root."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


# -- 1. the source checkout ----------------------------------------------------------------------------

def test_unbuilt_source_checkout_fails_with_one_line_saying_what_to_do(tmp_path):
    shutil.copytree(ROOT / "mixcore", tmp_path / "mixcore",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    r = _python("import mixcore; mixcore.Compressor(threshold_db=-20)", tmp_path)
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert "compiled kernels are missing" in last and "pip install -e ." in last and "another folder" in last
    assert "No module named" not in r.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-m", "mixcore", "processors"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("mixcore: error: the compiled kernels are missing") and r.stderr.count("\n") == 1


def test_readme_python_snippet_runs_from_the_checkout_root(tmp_path):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    (tmp_path / "mixcore").symlink_to(ROOT / "mixcore")  # the checkout root: its source folder comes first
    write_demo_project(tmp_path / "mixcore-demo", seconds=2.0)
    r = _python(code + "\nprint(mixcore.__file__)\n", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(str(tmp_path / "mixcore" / "__init__.py"))
    assert (tmp_path / "mixcore-demo" / "python-mix.wav").exists()


# -- 2. tapers -------------------------------------------------------------------------------------------

def test_fader_law_and_log_taper():
    from mixcore.session.build import STRIP_PARAM_DEFS

    fader = STRIP_PARAM_DEFS["gain_db"]
    assert [fader.from_normalized(x) for x in (0.0, 0.1, 0.25, 0.5, 0.75, 0.875, 1.0)] == \
        [-120.0, -60.0, -30.0, -12.0, 0.0, 12.0, 24.0]
    assert fader.from_normalized(64 / 127) == pytest.approx(-11.811, abs=1e-3)  # mid travel: not -47 dB
    xs = np.linspace(0, 1, 1001)
    for p in (fader, STRIP_PARAM_DEFS["pan"]):
        ys = [p.from_normalized(x) for x in xs]
        assert all(a < b for a, b in zip(ys, ys[1:]))
        assert [p.to_normalized(y) for y in ys] == pytest.approx(list(xs), abs=1e-12)
    from mixcore import EQ, Delay

    f = EQ(bands=[{"kind": "peak", "freq_hz": 1000.0}]).param_for("bands[0].freq_hz")
    assert f.taper == "log" and f.from_normalized(0.5) == pytest.approx(1000.0)  # 10 Hz .. 100 kHz
    t = Delay().param_for("time_ms")
    assert t.taper == "log" and t.from_normalized(0.0) == 0.0 and t.from_normalized(1.0) == t.hi
    assert t.from_normalized(1 / 3) == pytest.approx(t.hi * 9 / 999)


def test_every_native_numeric_parameter_declares_a_taper():
    from mixcore.processors.registry import processor_types

    missing = [f"{name}.{p.name}" for name, cls in processor_types().items() if not name.startswith("test_")
               for p in cls.PARAMS
               if p.choices is None and np.isfinite(p.lo) and np.isfinite(p.hi) and p.taper is None]
    assert missing == []
    expect = {("gain", "gain_db"): "fader", ("compressor", "attack_ms"): "log", ("compressor", "mix"): "linear",
              ("deesser", "freq_hz"): "log", ("reverb", "decay_s"): "log", ("delay", "time_ms"): "log"}
    types = processor_types()
    assert {k: next(p for p in types[k[0]].PARAMS if p.name == k[1]).taper for k in expect} == expect


def _cc_file(path: Path, moves: list[tuple[int, int]], control: int = 7) -> Path:
    """A MIDI file at 120 bpm, 480 ticks per beat: CC ``control`` on channel 1 at (tick, value) moves."""
    import mido

    mf = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mf.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=500000))
    last = 0
    for tick, value in moves:
        tr.append(mido.Message("control_change", control=control, value=value, channel=0, time=tick - last))
        last = tick
    mf.save(str(path))
    return path


def _lane(session, target):
    from mixcore.session.build import resolve_target

    plan, lanes, _frames = session.compile(512)
    key, _ = resolve_target(plan.graph, target, "t")
    return lanes[key]


def test_midi_map_without_min_max_follows_the_target_taper(tmp_path):
    from mixcore.session import Session

    write(tmp_path / "a.wav", noise(SR // 2, 2, seed=1))
    _cc_file(tmp_path / "m.mid", [(0, 127), (240, 95), (480, 64), (720, 0)])  # 0, 0.25, 0.5, 0.75 s
    base = dict(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[
        {"name": "a", "source": "a.wav", "chain": [{"type": "eq", "bands": [{"kind": "lowpass", "freq_hz": 5000.0}]}]}])
    fader = Session(**base, midi=[{"file": "m.mid", "map": [{"cc": 7, "target": "a.gain_db"}]}])
    np.testing.assert_allclose(_lane(fader, "a.gain_db").values, [24.0, -0.0944882, -11.811024, -120.0], rtol=1e-6)
    freq = Session(**base, midi=[{"file": "m.mid", "map": [{"cc": 7, "target": "a.eq.bands[0].freq_hz"}]}])
    np.testing.assert_allclose(_lane(freq, "a.eq.bands[0].freq_hz").values,
                               [1e5, 10 * 1e4 ** (95 / 127), 10 * 1e4 ** (64 / 127), 10.0], rtol=1e-12)
    # explicit min/max: today's linear scaling (same lane, so the same bytes), unless a taper is asked for
    explicit = Session(**base, midi=[{"file": "m.mid", "map": [{"cc": 7, "target": "a.gain_db",
                                                                "min": -60.0, "max": 6.0}]}])
    np.testing.assert_array_equal(_lane(explicit, "a.gain_db").values,
                                  [-60.0 + 66.0 * v / 127 for v in (127, 95, 64, 0)])
    only_min = Session(**base, midi=[{"file": "m.mid", "map": [{"cc": 7, "target": "a.gain_db", "min": -60.0}]}])
    np.testing.assert_array_equal(_lane(only_min, "a.gain_db").values,  # max: 1.0, as before tapers
                                  [-60.0 + 61.0 * v / 127 for v in (127, 95, 64, 0)])
    tapered = Session(**base, midi=[{"file": "m.mid", "map": [{"cc": 7, "target": "a.gain_db", "min": -60.0,
                                                               "max": 6.0, "taper": "fader"}]}])
    np.testing.assert_allclose(_lane(tapered, "a.gain_db").values, [6.0, -0.0944882, -11.811024, -60.0],
                               rtol=1e-5)
    same = Session(**base, automation=[{"target": "a.gain_db", "curve": "step", "points": [
        [t, -60.0 + 66.0 * v / 127] for t, v in ((0.0, 127), (0.25, 95), (0.5, 64), (0.75, 0))]}])
    explicit.render(tmp_path / "midi.wav")
    same.render(tmp_path / "lane.wav")
    assert (tmp_path / "midi.wav").read_bytes() == (tmp_path / "lane.wav").read_bytes()
    from mixcore.errors import MixcoreError

    with pytest.raises(MixcoreError, match=r"midi\[0\]\.map\[0\]\.taper: a log taper needs a range from 0"):
        Session(**base, midi=[{"file": "m.mid", "map": [{"cc": 7, "target": "a.pan", "taper": "log"}]}]).compile(512)


# -- 3. play without a MIDI system ------------------------------------------------------------------------

@pytest.fixture
def play_dir(tmp_path):
    write(tmp_path / "a.wav", noise(SR, 2, seed=1, level=0.5))
    (tmp_path / "s.toml").write_text('sample_rate = 48000\ntail_s = 0.0\n\n[[tracks]]\nname = "a"\n'
                                     'source = "a.wav"\nchain = [ { type = "compressor", id = "c" } ]\n')
    return tmp_path


def test_play_with_a_midi_file_learns_records_and_re_renders(play_dir):
    _cc_file(play_dir / "ctl.mid", [(96, 127), (480, 95), (720, 64)])  # 0.1, 0.5, 0.75 s
    r = cli("play", "s.toml", "--midi-file", "ctl.mid", "--learn", "a.gain_db", "--record", "take.toml",
            "-o", "out.wav", "--save-profile", "p.toml", "--no-realtime", cwd=play_dir)
    assert r.returncode == 0, r.stderr
    import tomllib

    take = tomllib.loads((play_dir / "take.toml").read_text())
    pts = take["automation"][0]["points"]
    blocks = [np.ceil(t * SR / 512) * 512 / SR for t in (0.1, 0.5, 0.75)]  # moves land at block starts
    assert [p[0] for p in pts] == pytest.approx([0.0, *blocks])
    assert [p[1] for p in pts] == pytest.approx([0.0, 24.0, -0.0944882, -11.811024], rel=1e-6)  # fader law
    assert "min" not in (play_dir / "p.toml").read_text()  # the learned map follows the taper
    r = cli("render", "take.toml", "-o", "again.wav", "-q", cwd=play_dir)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(read(play_dir / "again.wav"), read(play_dir / "out.wav"))


def test_play_without_a_controller_just_plays(play_dir):
    r = cli("play", "s.toml", "-o", "out.wav", "--no-realtime", cwd=play_dir)
    assert r.returncode == 0, r.stderr
    assert cli("render", "s.toml", "-o", "ref.wav", "-q", cwd=play_dir).returncode == 0
    np.testing.assert_array_equal(read(play_dir / "out.wav"), read(play_dir / "ref.wav"))
    r = cli("play", "s.toml", "-o", "out.wav", "--learn", "a.gain_db", cwd=play_dir)
    assert r.returncode == 2 and "--learn: needs a controller" in r.stderr


RTMIDI_WITHOUT_ALSA_SEQ = '''
"""python-rtmidi as it behaves on Linux where the ALSA sequencer (/dev/snd/seq) is missing."""
API_UNSPECIFIED = 0
API_LINUX_ALSA = 2


class RtMidiError(Exception):
    pass


class SystemError(RtMidiError):
    pass


def get_compiled_api():
    return [API_LINUX_ALSA]


class MidiIn:
    def __init__(self, *args, **kwargs):
        raise SystemError("MidiInAlsa::initialize: error creating ALSA sequencer client object.")


MidiOut = MidiIn
'''


def test_play_names_the_missing_midi_system(play_dir, monkeypatch):
    assert not Path("/dev/snd/seq").exists()  # this machine has no sound hardware
    r = cli("play", "s.toml", "--midi-in", "Controller", "-o", "out.wav", cwd=play_dir)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and not (play_dir / "out.wav").exists()
    if "No module named 'rtmidi'" not in _python("import rtmidi", play_dir).stderr:
        assert "/dev/snd/seq" in r.stderr and "pip install" not in r.stderr
    else:  # the backend really is missing here: then that is what to install
        assert "pip install 'mixcore[midi-live]'" in r.stderr
    assert "--midi-file" in r.stderr
    # python-rtmidi installed, no ALSA sequencer: say that, not "install mixcore[midi-live]"
    (play_dir / "stub").mkdir()
    (play_dir / "stub" / "rtmidi.py").write_text(RTMIDI_WITHOUT_ALSA_SEQ)
    monkeypatch.setenv("PYTHONPATH", str(play_dir / "stub"))
    r = cli("play", "s.toml", "--midi-in", "Controller", "-o", "out.wav", cwd=play_dir)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "the ALSA sequencer /dev/snd/seq does not exist" in r.stderr and "pip install" not in r.stderr
    assert "--midi-file" in r.stderr


# -- 6. demo keeps edits ---------------------------------------------------------------------------------

def test_demo_refuses_to_overwrite_an_edited_session(tmp_path):
    demo = tmp_path / "mixcore-demo"
    demo.mkdir()
    (demo / "session.toml").write_text("# my mix\n")
    r = cli("demo", str(demo), "-q", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "session.toml differs from what the demo writes" in r.stderr and "--force" in r.stderr
    assert (demo / "session.toml").read_text() == "# my mix\n" and not (demo / "mix.wav").exists()
    assert [p.name for p in demo.rglob(".*part")] == []  # no temporary files left behind

    from mixcore.errors import MixcoreError

    small = tmp_path / "small"
    write_demo_project(small, seconds=0.5)
    write_demo_project(small, seconds=0.5)  # unchanged files: written again without a word
    write(small / "stems" / "kick.wav", noise(SR // 2, 1))
    with pytest.raises(MixcoreError, match=r"stems/kick\.wav differs .* --force"):
        write_demo_project(small, seconds=0.5)
    write_demo_project(small, seconds=0.5, force=True)
    write_demo_project(small, seconds=0.5)


# -- 10. processors, help, docs -------------------------------------------------------------------------

def test_processors_text_shows_notes_tapers_and_whole_summaries(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    r = cli("processors", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "track or bus feeding the detector" in text  # compressor.sidechain
    assert "1: one gain for all channels" in text  # compressor.link
    assert "│ bands[i].kind │ │ peak, lowshelf" in text  # eq's band format: each key a row, with its unit and taper
    assert re.search(r"│ bands\[i\]\.freq_hz\s+│ Hz\s+│ 10 \.\. 100000\s+│ None\s+│ log", r.stdout)
    assert "resampled with soxr to the session rate" in text  # convolution's summary, whole
    assert re.search(r"│ gain_db\s+│ dB\s+│ -120 \.\. 48\s+│ 0\.0\s+│ fader", r.stdout)
    r = cli("processors", "compressor", "--json", cwd=tmp_path)
    import json

    assert {p["name"]: p["taper"] for p in json.loads(r.stdout)["compressor"]["params"]}["attack_ms"] == "log"


def test_help_and_docs_leave_nothing_out(tmp_path):
    r = cli("play", "--help", cwd=tmp_path)
    help_text = " ".join(r.stdout.split())
    assert "session the session file" in help_text and "samples per block" in help_text
    assert "--midi-file" in help_text
    readme = README.read_text()
    natives = readme[readme.index("Native processors:"):readme.index("Hosted:")]
    assert "`multiband`" in natives and "`convolution`" in natives
    assert "SPEC" not in (ROOT / "docs" / "SESSION.md").read_text()


# -- 11. saved sessions read like hand-written ones -----------------------------------------------------

def test_saved_session_reads_like_a_hand_written_one_and_renders_the_same(tmp_path):
    import mixcore
    from mixcore.session import Session

    write(tmp_path / "a.wav", noise(SR // 2, 2, seed=3))
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, bit_depth=24)
    s.add_track("a", "a.wav", chain=[mixcore.EQ(bands=[{"kind": "highpass", "freq_hz": 80.0},
                                                       {"kind": "peak", "freq_hz": 900.0, "gain_db": 3.0,
                                                        "q": 0.7071}])])
    s.automate("a.gain_db", [(0.0, -60.0), (0.1, 0.0), (0.35, -3.5)])
    path = s.save(tmp_path / "saved.toml")
    text = path.read_text()
    assert "0.7071067811865476" not in text and "q = 0.7071," in text
    assert "    [0.0, -60.0],\n    [0.1, 0.0],\n    [0.35, -3.5],\n" in text
    s.render(tmp_path / "one.wav")
    Session.load(path).render(tmp_path / "two.wav")
    assert (tmp_path / "one.wav").read_bytes() == (tmp_path / "two.wav").read_bytes()


def test_session_takes_a_session_files_path(tmp_path):
    # Session("mix.toml") is what a new user types first: it loads the file (as Session.load), and
    # anything else that is not a model is refused at once instead of failing later in render()
    from mixcore import Session

    write(tmp_path / "a.wav", noise(4800, 2, seed=1))
    (tmp_path / "mix.toml").write_text('sample_rate = 48000\n[[tracks]]\nname = "a"\nsource = "a.wav"\n')
    s = Session(str(tmp_path / "mix.toml"))
    assert s.path == tmp_path / "mix.toml" and s.base_dir == tmp_path
    out = s.render(tmp_path / "out.wav")
    assert out.frames == 4800
    with pytest.raises(TypeError, match="not int"):
        Session(3)
    with pytest.raises(TypeError, match="takes no other arguments"):
        Session(tmp_path / "mix.toml", sample_rate=44100)
