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
