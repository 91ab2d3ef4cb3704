"""Bad input (SPEC §2, §4): non-zero exit, one line naming the file or key, no file left behind."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import cli, noise, write

GOOD_TRACK = '[[tracks]]\nname = "a"\nsource = "a.wav"\n'


def session(tmp_path, text):
    write(tmp_path / "a.wav", noise(4800, 2))
    (tmp_path / "s.toml").write_text(text)
    return tmp_path / "s.toml"


def assert_fails(tmp_path, args, pattern):
    before = set(p.name for p in tmp_path.iterdir())
    r = cli(*args, cwd=tmp_path)
    assert r.returncode != 0, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    import re

    assert re.search(pattern, lines[0]), lines[0]
    after = set(p.name for p in tmp_path.iterdir())
    assert after == before, after - before  # no partial output, no temp files


CASES = {
    "unknown top key": ('sampel_rate = 48000\n' + GOOD_TRACK, r"s\.toml: sampel_rate: unknown key \(did you mean 'sample_rate'\?\)"),
    "unknown track key": (GOOD_TRACK + 'gian_db = 1.0\n', r"tracks\[0\]\.gian_db: unknown key \(did you mean 'gain_db'\?\)"),
    "pan out of range": (GOOD_TRACK + 'pan = 2.0\n', r"tracks\[0\]\.pan: .*1.*got 2\.0"),
    "bad bit depth": ('bit_depth = 20\n' + GOOD_TRACK, r"bit_depth: .*got 20"),
    "missing source key": ('[[tracks]]\nname = "a"\n', r"tracks\[0\]\.source: required key is missing"),
    "bad name": ('[[tracks]]\nname = "a b"\nsource = "a.wav"\n', r"tracks\[0\]\.name: a name uses only letters"),
    "unknown type": (GOOD_TRACK + 'chain = [ { type = "compresor" } ]\n',
                     r"tracks\[0\]\.chain\[0\]\.type: unknown processor type 'compresor' \(did you mean 'compressor'\?\)"),
    "unknown param": (GOOD_TRACK + 'chain = [ { type = "compressor", treshold_db = -10 } ]\n',
                      r"tracks\[0\]\.chain\[0\]\.treshold_db: unknown parameter.*\(did you mean 'threshold_db'\?\)"),
    "param out of range": (GOOD_TRACK + 'chain = [ { type = "compressor", ratio = 0.5 } ]\n',
                           r"tracks\[0\]\.chain\[0\]\.ratio: 0\.5 is out of range, expected 1"),
    "duplicate ids": (GOOD_TRACK + 'chain = [ { type = "gain" }, { type = "gain" } ]\n',
                      r"tracks\[0\]\.chain\[1\]\.id: two processors with id 'gain'"),
    "missing file": ('[[tracks]]\nname = "a"\nsource = "nope.wav"\n', r"tracks\[0\]\.source: file not found: .*nope\.wav"),
    "cycle": (GOOD_TRACK + 'output = "x"\n[[buses]]\nname = "x"\noutput = "y"\n[[buses]]\nname = "y"\noutput = "x"\n',
              r"routing cycle: (x -> y -> x|y -> x -> y)"),
    "missing bus": (GOOD_TRACK + 'sends = [ { to = "verb" } ]\n', r"tracks\[0\]\.sends\[0\]\.to: no bus named 'verb'"),
    "duplicate name": (GOOD_TRACK + GOOD_TRACK, r"tracks\[1\]\.name: duplicate name 'a'"),
    "automation target": (GOOD_TRACK + '[[automation]]\ntarget = "aa.gain_db"\npoints = [[0.0, 1.0]]\n',
                          r"automation\[0\]\.target: no track or bus named 'aa' \(did you mean 'a'\?\)"),
    "automation value": (GOOD_TRACK + '[[automation]]\ntarget = "a.pan"\npoints = [[0.0, 3.0]]\n',
                         r"automation\[0\]\.points: value 3 of 'a\.pan' is out of range"),
    "invalid toml": ('tracks = [\n', r"s\.toml: invalid TOML"),
    "no tracks": ('sample_rate = 48000\n', r"tracks: the session has no tracks"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_session(tmp_path, case):
    text, pattern = CASES[case]
    s = session(tmp_path, text)
    assert_fails(tmp_path, ["render", s.name, "-o", "out.wav", "-q"], pattern)


def test_corrupt_wav(tmp_path):
    s = session(tmp_path, GOOD_TRACK)
    (tmp_path / "a.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    assert_fails(tmp_path, ["render", s.name, "-o", "out.wav"], r"tracks\[0\]\.source: .*a\.wav: not an audio file soundfile can read")


def test_empty_source(tmp_path):
    s = session(tmp_path, GOOD_TRACK)
    write(tmp_path / "a.wav", np.zeros((1, 0), dtype=np.float32))
    assert_fails(tmp_path, ["render", s.name, "-o", "out.wav"], r"tracks\[0\]\.source: .*a\.wav holds no audio")


def test_output_equal_to_input(tmp_path):
    s = session(tmp_path, GOOD_TRACK)
    assert_fails(tmp_path, ["render", s.name, "-o", "a.wav"], r"output: a\.wav is an input of the session")
    assert_fails(tmp_path, ["render", s.name, "-o", "s.toml"], r"unknown format '\.toml'")


def test_missing_session_file(tmp_path):
    assert_fails(tmp_path, ["render", "missing.toml", "-o", "out.wav"], r"missing\.toml: session file not found")


def test_bad_output_format_and_folder(tmp_path):
    s = session(tmp_path, GOOD_TRACK)
    assert_fails(tmp_path, ["render", s.name, "-o", "out.mp4"], r"unknown format '\.mp4'")
    (tmp_path / "folder.wav").mkdir()
    assert_fails(tmp_path, ["render", s.name, "-o", "folder.wav"], r"output: folder\.wav is a folder")
    assert_fails(tmp_path, ["render", s.name, "-o", "out.flac"], r"FLAC holds no float samples")


def test_bad_flags(tmp_path):
    s = session(tmp_path, GOOD_TRACK)
    assert_fails(tmp_path, ["render", s.name, "-o", "out.wav", "--block-size", "0"], r"--block-size: 0 is out of range")
    assert_fails(tmp_path, ["render", s.name, "--threads", "0"], r"--threads: 0 must be at least 1")
    assert_fails(tmp_path, ["render", s.name], r"output: no output file given")


def test_good_render_prints_a_summary(tmp_path):
    s = session(tmp_path, GOOD_TRACK)
    r = cli("render", s.name, "-o", "out.wav", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote out.wav" in r.stdout
    assert (tmp_path / "out.wav").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_render_check_passes_for_a_deterministic_session(tmp_path):
    s = session(tmp_path, GOOD_TRACK + 'chain = [ { type = "reverb", mix = 0.5 } ]\n')
    r = cli("render", s.name, "-o", "out.wav", "--check", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "same bytes" in r.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "out.wav", "s.toml"]


def test_a_misspelt_required_key_is_named_as_the_misspelling(tmp_path):
    (tmp_path / "s.toml").write_text('[[tracks]]\nname = "a"\nsorce = "a.wav"\n')
    r = cli("render", "s.toml", "-o", "x.wav", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == "mixcore: error: s.toml: tracks[0].sorce: unknown key (did you mean 'source'?)\n"
