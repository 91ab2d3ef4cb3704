"""Hosting a real VST3 (MixcoreTestEffect, built from plugins/): parameters, latency, state, presets.

MixcoreTestEffect is exactly specified (plugins/src/TestEffect.cpp):
    v[n] = shape(x[n - latency_samples]);  y[n] = s * g * (v[n] + 0.5 * v[n - E])
with g = 10^(gain_db/20), s = -1 when invert, shape = tanh when mode = "saturate", E = echo_ms in
samples. The tests check the hosted output against that formula and against itself cut into
blocks of any size.
"""
from __future__ import annotations

import base64
import tomllib

import numpy as np
import pytest
import tomli_w
from helpers import noise, write

import mixcore
from mixcore.errors import MixcoreError
from mixcore.hosting import hosted_state, load_plugin, make_hosted, plugin_path
from mixcore.hosting.pedalboard_adapter import PedalboardProcessor
from mixcore.processors import ProcessSpec
from mixcore.session import Session

SR = 48000


@pytest.fixture
def effect(vst3_plugins):
    return vst3_plugins["MixcoreTestEffect"]


def hold(channels: int) -> int:
    """The adapter's hold-back (see pedalboard_adapter): 2 * channels + 1 samples."""
    return 2 * channels + 1


def stream(proc, x: np.ndarray, sizes, max_block: int | None = None, changes=None) -> np.ndarray:
    """Run ``x`` through ``proc`` in blocks of ``sizes`` (cycled); ``changes``: {input sample: (param, value)}."""
    sizes = list(sizes)
    proc.prepare(ProcessSpec(SR, max_block or max(sizes), x.shape[0]))
    proc.reset()
    out, i, k = [], 0, 0
    changes = dict(changes or {})
    while i < x.shape[1]:
        if i in changes:
            proc.set_param(*changes.pop(i))
        n = min(sizes[k % len(sizes)], x.shape[1] - i)
        nxt = min((c for c in changes if c > i), default=None)
        if nxt is not None:
            n = min(n, nxt - i)
        b = x[:, i:i + n].copy()
        proc.process(b)
        out.append(b)
        i += n
        k += 1
    return np.concatenate(out, axis=1)


def formula(x, latency=0, gain_db=0.0, invert=False, saturate=False, echo=0):
    """The plugin's output, delayed by ``latency`` in total (float32 arithmetic, like the plugin)."""
    v = np.tanh(x) if saturate else x.astype(np.float32)
    g = np.float32(10 ** (gain_db / 20)) * np.float32(-1 if invert else 1)
    e = np.zeros_like(v)
    if echo:
        e[:, echo:] = v[:, :-echo]
    y = (g * (v + np.float32(0.5) * e)).astype(np.float32)
    return np.concatenate([np.zeros((x.shape[0], latency), np.float32), y[:, : x.shape[1] - latency]], axis=1)


# -- parameters ----------------------------------------------------------------------------
def test_parameters_are_pedalboards_identifiers_and_act_as_specified(effect):
    p = mixcore.load_plugin(effect, gain_db=-6.0)
    assert set(p.parameters) == {"gain_db", "invert", "mode", "latency_samples", "echo_ms", "bypass"}
    assert p.parameters["gain_db"] == pytest.approx(-6.0) and p.gain_db == pytest.approx(-6.0)
    x = noise(4800, 2, seed=1)
    np.testing.assert_allclose(p(x, SR), x * 10 ** (-6 / 20), rtol=1e-6, atol=0)


def test_boolean_and_choice_parameters(effect):
    x = noise(4800, 2, seed=2, level=0.9)
    np.testing.assert_array_equal(load_plugin(effect, invert=True)(x, SR), -x)
    np.testing.assert_allclose(load_plugin(effect, mode="saturate")(x, SR), np.tanh(x), atol=2e-7, rtol=0)
    p = load_plugin(effect)
    p.mode = "saturate"  # attribute access works too
    assert p.get_param("mode") == "saturate" and p.parameters["invert"] is False


def test_numbers_are_set_exactly(effect):
    """pedalboard's own setter would snap 1.0 dB to 1.008 dB (its table of ~1000 sampled values)."""
    p = load_plugin(effect, gain_db=1.0, echo_ms=12.345)
    assert p.parameters["gain_db"] == pytest.approx(1.0, abs=1e-5)
    assert p.parameters["echo_ms"] == pytest.approx(12.345, abs=1e-4)
    p.set_param("latency_samples", 100.4)  # an integer parameter takes its nearest step
    assert p.parameters["latency_samples"] == 100.0


def test_parameter_errors_are_one_line_and_name_the_key(effect, tmp_path):
    where = "tracks[2].chain[1]"

    def error(params) -> str:
        with pytest.raises(MixcoreError) as e:
            make_hosted({"type": "vst3", "path": str(effect), "params": params}, tmp_path, where)
        assert "\n" not in str(e.value)
        return str(e.value)

    assert error({"gain": 1.0}) == (f"{where}.params.gain: unknown parameter of 'MixcoreTestEffect' "
                                    f"(did you mean 'gain_db'?)")
    assert error({"zzz": 1.0}).startswith(f"{where}.params.zzz: unknown parameter of 'MixcoreTestEffect'; "
                                          f"expected one of gain_db, invert, mode")
    assert error({"gain_db": 99.0}) == f"{where}.params.gain_db: 99.0 is out of range, expected -24 .. 24 dB"
    assert error({"echo_ms": -1}) == f"{where}.params.echo_ms: -1 is out of range, expected 0 .. 2000 ms"
    assert error({"gain_db": "loud"}).startswith(f"{where}.params.gain_db: expected a number (-24 .. 24 dB)")
    assert error({"invert": "yes"}) == f"{where}.params.invert: expected true or false, got 'yes'"
    assert error({"mode": "saturated"}) == (f"{where}.params.mode: 'saturated' is not one of clean, saturate "
                                            f"(did you mean 'saturate'?)")
    assert error([1, 2]) == f"{where}.params: expected a table of parameter values, got [1, 2]"
    with pytest.raises(MixcoreError, match=r"^gain: unknown parameter of 'MixcoreTestEffect' "
                                           r"\(did you mean 'gain_db'\?\)$"):
        load_plugin(effect, gain=3.0)


def test_entry_errors_name_the_key(effect, tmp_path):
    def error(entry) -> str:
        with pytest.raises(MixcoreError) as e:
            make_hosted({"type": "vst3", **entry}, tmp_path, "buses[0].chain[0]")
        return str(e.value)

    assert error({"path": str(effect), "paramz": {}}).startswith(
        "buses[0].chain[0].paramz: unknown key (did you mean 'params'?); expected one of type, id, path")
    assert error({}).startswith("buses[0].chain[0].path: required key is missing")
    assert error({"path": "nope.vst3"}) == (f"buses[0].chain[0].path: {tmp_path / 'nope.vst3'} is not in a plugin "
                                            f"folder; allow its folder with --plugin-path {tmp_path} or "
                                            f"MIXCORE_PLUGIN_PATH")
    with plugin_path(tmp_path):
        assert error({"path": "nope.vst3"}) == f"buses[0].chain[0].path: plugin not found: {tmp_path / 'nope.vst3'}"
        (tmp_path / "Broken.vst3").mkdir()
        assert error({"path": "Broken.vst3"}).startswith("buses[0].chain[0].path: cannot load plugin")
    assert error({"path": str(effect), "plugin_name": "Other"}) == (
        "buses[0].chain[0].plugin_name: 'Other' is not in MixcoreTestEffect.vst3; it holds 'MixcoreTestEffect'")
    assert error({"path": str(effect), "state": "not base64!"}).startswith("buses[0].chain[0].state: not valid base64")
    assert error({"path": str(effect), "preset": "x.vstpreset"}) == (
        f"buses[0].chain[0].preset: file not found: {tmp_path / 'x.vstpreset'}")
    assert error({"path": str(effect), "isolate": "yes"}) == (
        "buses[0].chain[0].isolate: expected true or false, got 'yes'")
    assert error({"path": str(effect), "tail_s": 99}).startswith("buses[0].chain[0].tail_s: expected 0 .. 30 s")
    assert error({"path": str(effect), "sidechain": "kick"}).startswith(
        "buses[0].chain[0].sidechain: a hosted plugin cannot take a sidechain")
    p = make_hosted({"type": "vst3", "path": str(effect), "plugin_name": "MixcoreTestEffect"}, tmp_path, "x")
    assert p.name == "MixcoreTestEffect"


# -- latency and blocks ----------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 2])
def test_output_is_the_plugin_delayed_by_latency_samples_whatever_the_blocks(effect, channels):
    p = load_plugin(effect, latency_samples=100, echo_ms=10.0, gain_db=-6.0)
    x = noise(12000, channels, seed=3)
    outs = {sizes: stream(p, x, sizes, max_block=4096) for sizes in [(1,), (17,), (509,), (4096,), (1, 2, 3, 700, 5)]}
    assert p.latency_samples == 100 + hold(channels)  # the plugin's reported latency + the adapter's hold-back
    for sizes, y in outs.items():
        np.testing.assert_array_equal(y, outs[(4096,)], err_msg=f"blocks {sizes}")
    expect = formula(x, latency=p.latency_samples, gain_db=-6.0, echo=480)
    np.testing.assert_allclose(outs[(4096,)], expect, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(p(x, SR), formula(x, gain_db=-6.0, echo=480), rtol=1e-6, atol=1e-9)  # one-shot: aligned


def test_the_first_block_may_be_small(effect):
    """pedalboard re-prepares a plugin whose block grows; the adapter's priming prevents that."""
    p = load_plugin(effect, echo_ms=10.0)
    x = noise(20000, 2, seed=4)
    np.testing.assert_array_equal(stream(p, x, (17, 4096, 4096, 4096, 4096)), stream(p, x, (4096,)))


@pytest.mark.parametrize("sizes", [(1,), (2,), (3,), (17,), (509,), (64, 1, 1, 2, 300)])
def test_a_parameter_change_lands_on_its_sample(effect, sizes):
    p = load_plugin(effect, latency_samples=7)
    x = noise(6000, 2, seed=5)
    # changes at least channels + 1 samples apart land exactly (see PedalboardProcessor.set_param)
    y = stream(p, x, sizes, max_block=512, changes={1000: ("gain_db", -12.0), 1003: ("gain_db", 6.0),
                                                     4321: ("invert", True)})
    g = np.ones(6000, np.float32)
    g[1000:1003] = np.float32(10 ** (-12 / 20))
    g[1003:] = np.float32(10 ** (6 / 20))
    g[4321:] *= -1
    # the plugin applies its gain after its 7-sample delay line: out[n] = g(n) * x[n - 7]; the adapter
    # then delays everything by its hold-back D, and the parameter changes move with the audio
    D = p.latency_samples - 7
    expect = np.zeros_like(x)
    expect[:, D + 7:] = g[7: 6000 - D] * x[:, : 6000 - D - 7]
    np.testing.assert_allclose(y, expect, rtol=1e-6, atol=1e-9)


def test_reset_clears_the_plugin_and_renders_are_repeatable(effect):
    p = load_plugin(effect, echo_ms=100.0, latency_samples=64)
    x = noise(9000, 2, seed=6)
    first = stream(p, x, (512,))
    p.reset()
    np.testing.assert_array_equal(stream(p, x, (512,)), first)
    np.testing.assert_array_equal(stream(p, np.zeros_like(x), (512,)), np.zeros_like(x))  # nothing left over


def test_sample_rate_is_passed_on_prepare(effect):
    p = load_plugin(effect, echo_ms=10.0)
    x = noise(4000, 2, seed=7)
    for sr in (44100, 96000):
        np.testing.assert_allclose(p(x, sr), formula(x, echo=round(0.010 * sr)), rtol=1e-6, atol=1e-9)


def test_chain_mixes_native_and_hosted_processors(effect):
    x = noise(48000, 2, seed=8)
    chain = mixcore.Chain([mixcore.Gain(gain_db=-6.0), load_plugin(effect, gain_db=6.0), mixcore.Width(width=1.0)])
    np.testing.assert_allclose(chain(x, SR), x, rtol=1e-5, atol=1e-7)
    assert chain.latency_samples == hold(2)


# -- sessions ----------------------------------------------------------------------------------
def test_latent_plugin_on_one_of_two_parallel_paths_sums_without_comb_filtering(effect, tmp_path):
    x = noise(20000, 2, seed=9)
    write(tmp_path / "a.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0,
                tracks=[{"name": "wet", "source": "a.wav", "output": "fx"}, {"name": "dry", "source": "a.wav"}],
                buses=[{"name": "fx", "chain": [{"type": "vst3", "path": str(effect),
                                                 "params": {"latency_samples": 257}}]}])
    for block in (17, 509, 4096):
        y = np.concatenate(list(s.stream(block)), axis=1)
        np.testing.assert_array_equal(y, x + x)  # aligned with each other and with the source


def test_plugin_parameter_automation_lands_on_the_grid(effect, tmp_path):
    x = noise(48000, 2, seed=10)
    write(tmp_path / "a.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, automation_interval=32,
                tracks=[{"name": "a", "source": "a.wav", "chain": [{"type": "vst3", "id": "fx", "path": str(effect)}]}],
                automation=[{"target": "a.fx.gain_db", "points": [[0.0, 0.0], [0.5, -6.0]], "curve": "step"}])
    y17, y4096 = (np.concatenate(list(s.stream(b)), axis=1) for b in (17, 4096))
    np.testing.assert_array_equal(y17, y4096)
    np.testing.assert_array_equal(y17[:, :24000], x[:, :24000])
    np.testing.assert_allclose(y17[:, 24000:], x[:, 24000:] * 10 ** (-6 / 20), rtol=1e-6, atol=1e-9)


def test_declared_tail_lets_the_echo_ring_out(effect, tmp_path):
    x = noise(1000, 2, seed=11)
    write(tmp_path / "a.wav", x)
    entry = {"type": "vst3", "path": str(effect), "params": {"echo_ms": 500.0}}
    cut = Session(base_dir=tmp_path, sample_rate=SR, tracks=[{"name": "a", "source": "a.wav", "chain": [entry]}])
    assert np.concatenate(list(cut.stream(4096)), axis=1).shape[1] == 1000  # pedalboard reports no tail
    s = Session(base_dir=tmp_path, sample_rate=SR, tracks=[
        {"name": "a", "source": "a.wav", "chain": [{**entry, "tail_s": 0.6}]}])
    y = np.concatenate(list(s.stream(4096)), axis=1)
    assert y.shape[1] == 1000 + 28800  # "auto" tail = the declared 0.6 s
    np.testing.assert_array_equal(y[:, :1000], x)
    np.testing.assert_array_equal(y[:, 24000:25000], np.float32(0.5) * x)  # the echo, complete
    assert not np.any(y[:, 1000:24000]) and not np.any(y[:, 25000:])


def test_an_instrument_in_an_effect_chain_is_a_clear_error(vst3_plugins, tmp_path):
    write(tmp_path / "a.wav", noise(1000, 2))
    for isolate in (False, True):
        s = Session(base_dir=tmp_path, sample_rate=SR, tracks=[{"name": "a", "source": "a.wav", "chain": [
            {"type": "vst3", "path": str(vst3_plugins["MixcoreSynth"]), "isolate": isolate}]}])
        with pytest.raises(MixcoreError, match=r"^tracks\[0\]\.chain\[0\]: 'MixcoreSynth' cannot process 2-channel "
                                               r"audio at 48000 Hz: .*does not accept audio input"):
            list(s.stream(512))


# -- state and presets -----------------------------------------------------------------------
def test_state_round_trips_through_toml(effect, tmp_path):
    p = load_plugin(effect, gain_db=-3.5, invert=True, mode="saturate", echo_ms=20.0)
    entry = hosted_state(p)
    assert entry["type"] == "vst3" and entry["path"] == str(effect)
    assert base64.b64decode(entry["state"]) == bytes(p.plugin.raw_state)
    again = tomllib.loads(tomli_w.dumps({"e": entry}))["e"]
    q = make_hosted(again, tmp_path, "tracks[0].chain[0]")
    assert q.parameters == pytest.approx(p.parameters)
    x = noise(5000, 2, seed=12)
    np.testing.assert_array_equal(q(x, SR), p(x, SR))
    np.testing.assert_allclose(q(x, SR), formula(x, gain_db=-3.5, invert=True, saturate=True, echo=960),
                               rtol=1e-5, atol=1e-7)


def test_params_override_a_stored_state(effect, tmp_path):
    state = hosted_state(load_plugin(effect, gain_db=-3.5, mode="saturate"))["state"]
    q = make_hosted({"type": "vst3", "path": str(effect), "state": state, "params": {"gain_db": 1.0}}, tmp_path, "t")
    assert q.parameters["gain_db"] == pytest.approx(1.0) and q.parameters["mode"] == "saturate"


def test_state_round_trips_through_a_saved_session(effect, tmp_path):
    x = noise(6000, 2, seed=13)
    write(tmp_path / "a.wav", x)
    p = load_plugin(effect, gain_db=-3.5, invert=True, mode="saturate")
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0)
    s.add_track("a", "a.wav", chain=[p])
    saved = s.save(tmp_path / "with-state.toml")
    assert "state = " in saved.read_text()
    again = Session.load(saved)
    y = np.concatenate(list(again.stream(512)), axis=1)
    np.testing.assert_array_equal(y, np.concatenate(list(s.stream(512)), axis=1))
    np.testing.assert_allclose(y, formula(x, gain_db=-3.5, invert=True, saturate=True), rtol=1e-5, atol=1e-7)


def test_vstpreset_file(effect, tmp_path):
    (tmp_path / "warm.vstpreset").write_bytes(load_plugin(effect, gain_db=-9.0, mode="saturate").plugin.preset_data)
    q = make_hosted({"type": "vst3", "path": str(effect), "preset": "warm.vstpreset"}, tmp_path, "t")
    assert q.parameters["gain_db"] == pytest.approx(-9.0, abs=1e-4) and q.parameters["mode"] == "saturate"
    (tmp_path / "bad.vstpreset").write_bytes(b"not a preset")
    with pytest.raises(MixcoreError, match=r"^t\.preset: 'MixcoreTestEffect' cannot load .*bad\.vstpreset"):
        make_hosted({"type": "vst3", "path": str(effect), "preset": "bad.vstpreset"}, tmp_path, "t")


def test_the_adapter_wraps_any_pedalboard_plugin_object(effect):
    import pedalboard

    p = PedalboardProcessor(pedalboard.load_plugin(str(effect), parameter_values={"gain_db": -6.0}))
    x = noise(3000, 2, seed=14)
    np.testing.assert_allclose(p(x, SR), x * 10 ** (-6 / 20), rtol=1e-6)
    with pytest.raises(MixcoreError, match="was loaded with pedalboard.load_plugin, which keeps no path"):
        hosted_state(p)
    with pytest.raises(TypeError):
        PedalboardProcessor(object())


# -- instruments -------------------------------------------------------------------------------
def test_instrument_track_plays_the_notes_of_a_midi_file_at_the_right_times(vst3_plugins, tmp_path):
    import mido

    mf = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mf.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
    tr.append(mido.Message("note_on", note=69, velocity=127, time=480))     # 0.5 s
    tr.append(mido.Message("note_off", note=69, velocity=0, time=480))      # 1.0 s
    tr.append(mido.Message("note_on", note=81, velocity=64, time=960))      # 2.0 s
    tr.append(mido.Message("note_off", note=81, velocity=0, time=240))      # 2.25 s
    mf.save(tmp_path / "notes.mid")
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[{
        "name": "synth", "source": "notes.mid", "pan": -1.0,
        "instrument": {"type": "vst3", "path": str(vst3_plugins["MixcoreSynth"]), "params": {"level": 1.0},
                       "tail_s": 0.5}}])
    outs = [np.concatenate(list(s.stream(b)), axis=1) for b in (64, 4096)]
    np.testing.assert_array_equal(outs[0], outs[1])
    y = outs[0][0]
    assert y.shape[0] == int(2.75 * SR)
    sounding = np.nonzero(np.abs(y) > 1e-6)[0]
    assert sounding[0] in (24000, 24001) and sounding[-1] < 108000
    t = np.arange(24000) / SR
    np.testing.assert_allclose(y[24000:48000], np.sin(2 * np.pi * 440 * t), atol=1e-4)  # A4, full velocity
    assert not np.any(y[48000:96000])
    second = y[96000:108000]
    assert np.abs(second).max() == pytest.approx(64 / 127, rel=1e-3)
    spectrum = np.abs(np.fft.rfft(second))
    assert np.argmax(spectrum) * SR / len(second) == pytest.approx(880.0, abs=4.0)  # A5


def test_instrument_errors(vst3_plugins, tmp_path):
    import mido

    mf = mido.MidiFile()
    mf.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, time=10)]))
    mf.save(tmp_path / "n.mid")
    write(tmp_path / "a.wav", noise(100, 1))
    cases = [
        ({"name": "s", "source": "n.mid"}, r"tracks\[0\]\.instrument: a MIDI source needs an instrument"),
        ({"name": "s", "source": "n.mid",
          "instrument": {"type": "vst3", "path": str(vst3_plugins["MixcoreTestEffect"])}},
         r"tracks\[0\]\.instrument: 'MixcoreTestEffect' is an effect, not an instrument"),
        ({"name": "s", "source": "a.wav", "instrument": {"type": "vst3", "path": str(vst3_plugins["MixcoreSynth"])}},
         r"tracks\[0\]\.instrument: only a MIDI source"),
    ]
    for track, pattern in cases:
        with pytest.raises(MixcoreError, match=pattern):
            list(Session(base_dir=tmp_path, sample_rate=SR, tracks=[track]).stream(512))
