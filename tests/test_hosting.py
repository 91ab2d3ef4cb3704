"""Hosting real plugins: the project's own VST3 (built from plugins/) and pedalboard's built-ins."""
from __future__ import annotations

import numpy as np
import pedalboard
import pytest
from helpers import noise, write

import mixcore
from mixcore.errors import MixcoreError
from mixcore.hosting import hosted_state, make_hosted
from mixcore.processors import ProcessSpec
from mixcore.session import Session


@pytest.fixture
def effect(vst3_plugins):
    return vst3_plugins["MixcoreTestEffect"]


def run_blocks(proc, x, block):
    proc.prepare(ProcessSpec(48000.0, block, x.shape[0]))
    proc.reset()
    out = []
    for i in range(0, x.shape[1], block):
        b = np.ascontiguousarray(x[:, i:i + block])
        proc.process(b)
        out.append(b)
    return np.concatenate(out, axis=1)


def test_parameters_by_name_and_gain(effect):
    p = mixcore.load_plugin(effect, gain_db=-6.0)
    assert {"gain_db", "invert", "mode", "latency_samples", "tail_ms"} <= set(p.parameters)
    x = noise(4800, 2, seed=1)
    y = p(x, 48000)
    np.testing.assert_allclose(y, x * 10 ** (-6 / 20), rtol=1e-5, atol=1e-7)


def test_boolean_and_choice_parameters(effect):
    x = noise(4800, 2, seed=2, level=0.9)
    inv = mixcore.load_plugin(effect, invert=True)(x, 48000)
    np.testing.assert_allclose(inv, -x, atol=1e-7)
    sat = mixcore.load_plugin(effect, mode="saturate")(x, 48000)
    np.testing.assert_allclose(sat, np.tanh(x), atol=1e-6)


def test_parameter_errors_name_the_key(effect, tmp_path):
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.params\.gain: unknown parameter of "
                                           r"'MixcoreTestEffect' \(did you mean 'gain_db'\?\)"):
        make_hosted({"type": "vst3", "path": str(effect), "params": {"gain": 1.0}}, tmp_path, "tracks[0].chain[0]")
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.params\.gain_db: 99\.0 rejected"):
        make_hosted({"type": "vst3", "path": str(effect), "params": {"gain_db": 99.0}}, tmp_path, "tracks[0].chain[0]")
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.path: plugin not found"):
        make_hosted({"type": "vst3", "path": "nope.vst3"}, tmp_path, "tracks[0].chain[0]")
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.paramz: unknown key \(did you mean 'params'\?\)"):
        make_hosted({"type": "vst3", "path": str(effect), "paramz": {}}, tmp_path, "tracks[0].chain[0]")


@pytest.mark.parametrize("block", [64, 511, 4096])
def test_adapter_reports_and_keeps_the_plugin_latency(effect, block):
    p = mixcore.load_plugin(effect, latency_samples=100)
    x = noise(9000, 2, seed=3)
    y = run_blocks(p, x, block)
    assert p.latency_samples == 100  # known after prepare
    np.testing.assert_array_equal(y[:, 100:], x[:, :-100])  # delayed by exactly the reported latency
    assert not np.any(y[:, :100])
    np.testing.assert_array_equal(p(x, 48000), x)  # one-shot use removes it again


def test_latent_plugin_on_one_of_two_parallel_paths_is_compensated(effect, tmp_path):
    x = noise(20000, 2, seed=4)
    write(tmp_path / "a.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=48000, tail_s=0.0,
                tracks=[{"name": "wet", "source": "a.wav", "output": "fx"},
                        {"name": "dry", "source": "a.wav"}],
                buses=[{"name": "fx", "chain": [{"type": "vst3", "path": str(effect),
                                                 "params": {"latency_samples": 257}}]}])
    for block in (64, 4096):
        y = np.concatenate(list(s.stream(block)), axis=1)
        np.testing.assert_array_equal(y, x + x)  # no comb filtering, aligned with the source


def test_state_round_trips_through_a_saved_session(effect, tmp_path):
    p = mixcore.load_plugin(effect, gain_db=-3.5, invert=True, mode="saturate")
    entry = hosted_state(p)
    assert entry["type"] == "vst3" and entry["state"]
    q = make_hosted(entry, tmp_path, "x")
    assert q.parameters["gain_db"] == pytest.approx(-3.5, abs=1e-4)
    assert q.parameters["invert"] is True or q.parameters["invert"] == 1
    assert q.parameters["mode"] == "saturate"
    x = noise(4000, 2, seed=5)
    write(tmp_path / "a.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=48000, tail_s=0.0)
    s.add_track("a", "a.wav", chain=[p])
    saved = s.save(tmp_path / "with-state.toml")
    assert "state = " in saved.read_text()
    again = Session.load(saved)
    np.testing.assert_array_equal(np.concatenate(list(again.stream(512)), axis=1),
                                  np.concatenate(list(s.stream(512)), axis=1))
    expect = -np.tanh(x) * 10 ** (-3.5 / 20)
    got = np.concatenate(list(again.stream(512)), axis=1)
    np.testing.assert_allclose(got, expect, atol=1e-5)


def test_pedalboard_builtin_in_a_session(tmp_path):
    x = noise(48000, 2, seed=6)
    write(tmp_path / "a.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=48000, tail_s=0.0,
                tracks=[{"name": "a", "source": "a.wav",
                         "chain": [{"type": "pedalboard", "name": "Distortion", "params": {"drive_db": 12.0}}]}])
    y = np.concatenate(list(s.stream(1000)), axis=1)
    np.testing.assert_allclose(y, pedalboard.Distortion(drive_db=12.0)(x, 48000), atol=1e-6)
    np.testing.assert_allclose(y, np.tanh(x * 10 ** (12 / 20)), atol=1e-5)


def test_chain_mixes_native_and_pedalboard_plugins():
    x = noise(48000, 2, seed=7)
    chain = mixcore.Chain([mixcore.Gain(gain_db=-6.0), pedalboard.Gain(gain_db=6.0), mixcore.Width(width=1.0)])
    np.testing.assert_allclose(chain(x, 48000), x, rtol=1e-5, atol=1e-7)
    assert len(chain) == 3 and chain.latency_samples == 0


def test_a_hosted_plugin_cannot_take_a_sidechain(effect, tmp_path):
    write(tmp_path / "a.wav", noise(100, 1))
    s = Session(base_dir=tmp_path, sample_rate=48000, tracks=[
        {"name": "a", "source": "a.wav", "chain": [{"type": "vst3", "path": str(effect), "sidechain": "a"}]}])
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.sidechain: hosted plugins cannot take"):
        list(s.stream(64))


def test_instrument_track_plays_the_midi_file_at_the_right_times(vst3_plugins, tmp_path):
    import mido

    mf = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mf.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
    tr.append(mido.Message("note_on", note=69, velocity=127, time=480))     # 0.5 s
    tr.append(mido.Message("note_off", note=69, velocity=0, time=480))      # 1.0 s
    tr.append(mido.Message("note_on", note=81, velocity=64, time=960))     # 2.0 s
    tr.append(mido.Message("note_off", note=81, velocity=0, time=240))     # 2.25 s
    mf.save(tmp_path / "notes.mid")
    s = Session(base_dir=tmp_path, sample_rate=48000, tail_s=0.0, tracks=[{
        "name": "synth", "source": "notes.mid", "pan": -1.0,
        "instrument": {"type": "vst3", "path": str(vst3_plugins["MixcoreSynth"]), "params": {"level": 1.0},
                       "tail_s": 0.5}}])
    outs = [np.concatenate(list(s.stream(b)), axis=1) for b in (64, 4096)]
    np.testing.assert_array_equal(outs[0], outs[1])
    y = outs[0][0]
    assert y.shape[0] == int(2.75 * 48000)
    nz = np.nonzero(np.abs(y) > 1e-6)[0]
    assert nz[0] in (24000, 24001) and nz[-1] <= 48000 * 2.25
    first = y[24000:48000]
    t = np.arange(24000) / 48000
    np.testing.assert_allclose(first, np.sin(2 * np.pi * 440 * t) * np.cos(0.0), atol=1e-4)
    second = y[96000:108000]
    amp = np.abs(second).max()
    assert amp == pytest.approx(64 / 127, rel=1e-3)
    spec = np.abs(np.fft.rfft(second))
    assert np.argmax(spec) * 48000 / len(second) == pytest.approx(880.0, abs=4.0)


def test_instrument_errors(vst3_plugins, tmp_path):
    import mido

    mf = mido.MidiFile()
    mf.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, time=10)]))
    mf.save(tmp_path / "n.mid")
    write(tmp_path / "a.wav", noise(100, 1))
    cases = [
        ({"name": "s", "source": "n.mid"}, r"tracks\[0\]\.instrument: a MIDI source needs an instrument"),
        ({"name": "s", "source": "n.mid", "instrument": {"type": "vst3", "path": str(vst3_plugins["MixcoreTestEffect"])}},
         r"tracks\[0\]\.instrument: 'MixcoreTestEffect' is an effect, not an instrument"),
        ({"name": "s", "source": "a.wav", "instrument": {"type": "vst3", "path": str(vst3_plugins["MixcoreSynth"])}},
         r"tracks\[0\]\.instrument: only a MIDI source"),
    ]
    for track, pattern in cases:
        with pytest.raises(MixcoreError, match=pattern):
            list(Session(base_dir=tmp_path, sample_rate=48000, tracks=[track]).stream(512))


def test_vstpreset_and_declared_tail(effect, tmp_path):
    p = mixcore.load_plugin(effect, gain_db=-9.0, mode="saturate")
    (tmp_path / "x.vstpreset").write_bytes(p.plugin.preset_data)
    q = make_hosted({"type": "vst3", "path": str(effect), "preset": "x.vstpreset"}, tmp_path, "t")
    assert q.parameters["gain_db"] == pytest.approx(-9.0, abs=1e-3) and q.parameters["mode"] == "saturate"
    with pytest.raises(MixcoreError, match=r"t\.preset: file not found"):
        make_hosted({"type": "vst3", "path": str(effect), "preset": "nope.vstpreset"}, tmp_path, "t")
    write(tmp_path / "a.wav", noise(1000, 2))
    s = Session(base_dir=tmp_path, sample_rate=48000, tracks=[
        {"name": "a", "source": "a.wav", "chain": [{"type": "vst3", "path": str(effect), "tail_s": 0.5}]}])
    assert np.concatenate(list(s.stream(4096)), axis=1).shape[1] == 1000 + 24000  # "auto" tail honours it


def test_plugin_parameter_automation_lands_on_the_grid(effect, tmp_path):
    x = noise(48000, 2, seed=9)
    write(tmp_path / "a.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=48000, tail_s=0.0, automation_interval=32,
                tracks=[{"name": "a", "source": "a.wav", "chain": [{"type": "vst3", "id": "fx", "path": str(effect)}]}],
                automation=[{"target": "a.fx.gain_db", "points": [[0.0, 0.0], [0.5, -6.0]], "curve": "step"}])
    y64, y4096 = (np.concatenate(list(s.stream(b)), axis=1) for b in (64, 4096))
    np.testing.assert_array_equal(y64, y4096)
    np.testing.assert_array_equal(y64[:, :24000], x[:, :24000])
    np.testing.assert_allclose(y64[:, 24000:], x[:, 24000:] * 10 ** (-6 / 20), rtol=1e-5, atol=1e-7)
