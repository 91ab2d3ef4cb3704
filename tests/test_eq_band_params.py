"""EQ band keys are declared Params: session validation, the processors listing, automation and MIDI
(maps and learn) all take a band key's range, unit and taper from the one declaration (BAND_PARAMS)."""
from __future__ import annotations

import json

import mido
import numpy as np
import pytest
from helpers import cli, write

import mixcore
from mixcore.errors import MixcoreError
from mixcore.live import LivePlayer
from mixcore.params import UNIT_SUFFIXES, UNITLESS
from mixcore.processors.eq import BAND_PARAMS
from mixcore.session import Session

SR = 48000
BANDS = '[ { kind = "highpass", freq_hz = 40.0 }, { kind = "peak", freq_hz = 1000.0, gain_db = -3.0 } ]'


def session_file(tmp_path, bands: str = BANDS, extra: str = "") -> str:
    write(tmp_path / "a.wav", np.full((1, SR // 2), 0.25, dtype=np.float32))
    (tmp_path / "s.toml").write_text(f'sample_rate = {SR}\ntail_s = 0.0\n[[tracks]]\nname = "a"\nsource = "a.wav"\n'
                                     f'chain = [ {{ type = "eq", bands = {bands} }} ]\n{extra}')
    return str(tmp_path / "s.toml")


def test_a_band_value_out_of_range_is_one_line_naming_the_key(tmp_path):
    s = session_file(tmp_path, '[ { kind = "peak", freq_hz = 100.0 }, { kind = "peak", freq_hz = 5.0 } ]')
    r = cli("render", s, "-o", str(tmp_path / "o.wav"), cwd=tmp_path)
    assert r.returncode == 2 and not (tmp_path / "o.wav").exists()
    assert r.stderr == (f"mixcore: error: {s}: tracks[0].chain[0].bands[1].freq_hz: 5.0 is out of range, "
                        "expected 10 .. 100000 Hz\n")


def test_processors_lists_each_band_key_with_unit_range_and_taper(tmp_path):
    r = cli("processors", "eq", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {p["name"]: p for p in json.loads(r.stdout)["eq"]["params"]}
    assert [n for n in rows] == ["bands", "bands[i].kind", "bands[i].freq_hz", "bands[i].q", "bands[i].gain_db",
                                 "bands[i].slope_db"]
    assert (rows["bands[i].freq_hz"]["unit"], rows["bands[i].freq_hz"]["min"], rows["bands[i].freq_hz"]["max"],
            rows["bands[i].freq_hz"]["taper"]) == ("Hz", 10.0, 100000.0, "log")
    assert (rows["bands[i].gain_db"]["unit"], rows["bands[i].gain_db"]["taper"]) == ("dB", "linear")
    assert (rows["bands[i].q"]["min"], rows["bands[i].q"]["max"], rows["bands[i].q"]["taper"]) == (0.025, 40.0, "log")
    assert rows["bands[i].kind"]["choices"][:2] == ["peak", "lowshelf"]


def test_band_key_names_carry_their_unit():
    for p in BAND_PARAMS:
        suffix = next((s for s in sorted(UNIT_SUFFIXES, key=len, reverse=True) if p.name.endswith(s)), None)
        assert p.name in UNITLESS if suffix is None else p.unit == UNIT_SUFFIXES[suffix], p.name


def test_param_for_set_and_get_a_band_key():
    eq = mixcore.EQ(bands=[{"kind": "highpass", "freq_hz": 40.0, "slope_db": 24},
                           {"kind": "peak", "freq_hz": 1000.0, "gain_db": -3.0}])
    p = eq.param_for("bands[1].gain_db")
    assert (p.name, p.lo, p.hi, p.unit, p.taper, p.default) == ("bands[1].gain_db", -48.0, 48.0, "dB", "linear", -3.0)
    assert eq.param_for("bands[2].gain_db") is None and eq.param_for("bands[1].gain") is None
    eq.set_param("bands[1].kind", "lowshelf")  # any declared key, the kind too
    assert eq.bands[1]["kind"] == "lowshelf" and eq.get_param("bands[0].slope_db") == 24
    assert eq.get_param("bands[1].slope_db") == 12  # a default key is read as its default
    with pytest.raises(MixcoreError, match=r"^bands\[1\]\.q: 50 is out of range, expected 0\.025 \.\. 40$"):
        eq.set_param("bands[1].q", 50)
    with pytest.raises(MixcoreError, match=r"^bands\[3\]\.q: there are only 2 bands$"):
        eq.set_param("bands[3].q", 1.0)


def test_band_automation_is_checked_against_the_declared_param(tmp_path):
    def build(target, points):
        write(tmp_path / "a.wav", np.full((1, SR // 2), 0.25, dtype=np.float32))
        return Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[
            {"name": "a", "source": "a.wav", "chain": [{"type": "eq", "bands": [
                {"kind": "highpass", "freq_hz": 40.0}, {"kind": "peak", "freq_hz": 1000.0}]}]}],
            automation=[{"target": target, "points": points}]).compile()

    with pytest.raises(MixcoreError, match=r"automation\[0\]\.points: bands\[1\]\.gain_db: 60\.0 is out of range, "
                                           r"expected -48 \.\. 48 dB"):
        build("a.eq.bands[1].gain_db", [[0.0, 0.0], [0.2, 60.0]])
    for key in ("kind", "slope_db"):
        with pytest.raises(MixcoreError, match=rf"parameter 'bands\[0\]\.{key}' of 'eq' cannot be automated"):
            build(f"a.eq.bands[0].{key}", [[0.0, 1.0]])
    _plan, lanes, _ = build("a.eq.bands[1].q", [[0.0, 0.5], [0.2, 4.0]])
    assert lanes[("a", 0, "bands[1].q")].at(SR // 5, SR) == 4.0


def midi_file(path, events):
    mf = mido.MidiFile(ticks_per_beat=480)
    mf.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0), *events]))
    mf.save(path)


def test_a_midi_map_onto_a_band_key_follows_its_declared_taper(tmp_path):
    session_file(tmp_path)
    midi_file(tmp_path / "m.mid", [mido.Message("control_change", control=1, value=64, time=0),
                                   mido.Message("control_change", control=2, value=32, time=0)])
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[
        {"name": "a", "source": "a.wav", "chain": [{"type": "eq", "bands": [
            {"kind": "highpass", "freq_hz": 40.0}, {"kind": "peak", "freq_hz": 1000.0}]}]}],
        midi=[{"file": "m.mid", "map": [{"cc": 1, "target": "a.eq.bands[1].gain_db"},
                                        {"cc": 2, "target": "a.eq.bands[1].freq_hz"}]}])
    _plan, lanes, _ = s.compile()
    # gain_db: linear over -48 .. 48 dB; freq_hz: log over 10 .. 100000 Hz
    assert lanes[("a", 0, "bands[1].gain_db")].at(0, SR) == pytest.approx(-48.0 + 96.0 * 64 / 127)
    assert lanes[("a", 0, "bands[1].freq_hz")].at(0, SR) == pytest.approx(10.0 * 10000.0 ** (32 / 127))


def test_learn_onto_a_band_key_follows_its_declared_taper(tmp_path):
    session_file(tmp_path)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[
        {"name": "a", "source": "a.wav", "chain": [{"type": "eq", "bands": [
            {"kind": "highpass", "freq_hz": 40.0}, {"kind": "peak", "freq_hz": 1000.0}]}]}])
    port = mido.ports.EchoPort()
    player = LivePlayer(s, port, learn=["a.eq.bands[1].freq_hz"], block_size=4096)
    blocks = player.stream()
    next(blocks)
    port.send(mido.Message("control_change", control=21, value=64))
    for _ in blocks:
        pass
    value = player.points["a.eq.bands[1].freq_hz"][-1][1]
    assert value == pytest.approx(10.0 * 10000.0 ** (64 / 127))  # log: 64/127 of four decades above 10 Hz
