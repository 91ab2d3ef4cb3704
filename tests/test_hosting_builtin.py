"""pedalboard's built-in effects as session entries: { type = "pedalboard", name = "Chorus", params = {...} }."""
from __future__ import annotations

import numpy as np
import pedalboard
import pytest
import scipy.signal
from helpers import noise, write

from mixcore.errors import MixcoreError
from mixcore.hosting import builtin_names, hosted_state, make_hosted
from mixcore.hosting.builtin import streams
from mixcore.processors import ProcessSpec
from mixcore.session import Session

SR = 48000


def stream(proc, x: np.ndarray, block: int) -> np.ndarray:
    proc.prepare(ProcessSpec(SR, block, x.shape[0]))
    proc.reset()
    out = []
    for i in range(0, x.shape[1], block):
        b = x[:, i:i + block].copy()
        proc.process(b)
        out.append(b)
    return np.concatenate(out, axis=1)


def build(name: str, tmp_path, **params):
    return make_hosted({"type": "pedalboard", "name": name, "params": params}, tmp_path, "tracks[0].chain[0]")


def test_the_effects_a_mix_needs_are_available():
    names = builtin_names()
    for name in ("Chorus", "Phaser", "PitchShift", "Distortion", "Convolution", "Reverb", "Delay", "Compressor",
                 "LadderFilter", "BrickwallLimiter"):
        assert name in names
    for name in ("MP3Compressor", "Resample", "GSMFullRateCompressor", "Pedalboard", "VST3Plugin", "Mix"):
        assert name not in names


def test_distortion_in_a_session_is_tanh_of_the_driven_input(tmp_path):
    x = noise(48000, 2, seed=1)
    write(tmp_path / "a.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[{"name": "a", "source": "a.wav", "chain": [
        {"type": "pedalboard", "name": "Distortion", "params": {"drive_db": 12.0}}]}])
    y = np.concatenate(list(s.stream(1000)), axis=1)
    np.testing.assert_allclose(y, np.tanh(x * 10 ** (12 / 20)), atol=2e-6, rtol=0)
    np.testing.assert_array_equal(y, pedalboard.Distortion(drive_db=12.0)(x, SR))


def test_convolution_with_an_impulse_response_file_relative_to_the_session(tmp_path):
    ir = np.zeros(300, np.float32)
    ir[[0, 37, 299]] = [0.5, -0.25, 0.125]
    (tmp_path / "irs").mkdir()
    write(tmp_path / "irs" / "ir.wav", ir[None, :])
    x = noise(20000, 2, seed=2)
    p = build("Convolution", tmp_path, impulse_response_filename="irs/ir.wav")
    y = p(x, SR)
    np.testing.assert_allclose(y, pedalboard.Convolution(str(tmp_path / "irs" / "ir.wav"))(x, SR), atol=1e-6, rtol=0)
    # JUCE normalises the impulse response: the output is the true convolution times one constant
    expect = np.stack([scipy.signal.fftconvolve(c, ir)[: x.shape[1]] for c in x.astype(np.float64)])
    k = float(np.sum(y * expect) / np.sum(expect * expect))
    np.testing.assert_allclose(y, k * expect, atol=2e-6, rtol=0)
    assert hosted_state(p)["params"]["impulse_response_filename"] == "irs/ir.wav"  # as the session wrote it
    with pytest.raises(MixcoreError, match=r"^tracks\[0\]\.chain\[0\]\.params\.impulse_response_filename: "
                                           r"file not found: .*nope\.wav$"):
        build("Convolution", tmp_path, impulse_response_filename="nope.wav")
    with pytest.raises(MixcoreError, match=r"^tracks\[0\]\.chain\[0\]\.params\.impulse_response_filename: "
                                           r"required by 'Convolution'"):
        build("Convolution", tmp_path)


@pytest.mark.parametrize("name", [n for n in builtin_names() if n not in ("Convolution", "PitchShift")])
def test_every_builtin_gives_the_same_output_whatever_the_block_size(name, tmp_path):
    x = noise(12000, 2, seed=3, level=0.5)
    p = build(name, tmp_path)
    ref = stream(p, x, 4096)
    assert np.all(np.isfinite(ref))
    for block in (1, 17, 509):
        np.testing.assert_array_equal(stream(p, x, block), ref, err_msg=f"{name}, blocks of {block}")


def test_latent_builtin_is_compensated(tmp_path):
    x = noise(20000, 2, seed=4, level=1.5)
    p = build("BrickwallLimiter", tmp_path, ceiling_db=-6.0)
    y = p(x, SR)
    assert p.latency_samples == 240 + 5  # pedalboard's lookahead, then the adapter's hold-back
    np.testing.assert_allclose(y, pedalboard.BrickwallLimiter(ceiling_db=-6.0)(x, SR), atol=1e-6, rtol=0)


def test_pitch_shift_streams_or_is_refused_with_the_reason(tmp_path):
    """pedalboard 0.9.26's PitchShift is silent when fed block by block (spotify/pedalboard#415)."""
    t = np.arange(96000) / SR
    x = np.stack([0.5 * np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)
    if not streams("PitchShift"):
        broken = pedalboard.PitchShift(semitones=12.0)
        out = [broken.process(np.ascontiguousarray(x[:, i:i + 4096]), SR, buffer_size=4096, reset=False)
               for i in range(0, x.shape[1], 4096)]
        assert not np.any(np.concatenate(out, axis=1))  # the upstream bug, as the error says
        with pytest.raises(MixcoreError, match=r"^tracks\[0\]\.chain\[0\]\.name: 'PitchShift' cannot be used in "
                                               r"a session: pedalboard's PitchShift returns silence .*#415"):
            build("PitchShift", tmp_path, semitones=12.0)
        return
    y = build("PitchShift", tmp_path, semitones=12.0)(x, SR)  # a fixed pedalboard: an octave up
    seg = y[0, 24000:72000]
    f = np.argmax(np.abs(np.fft.rfft(seg * np.hanning(len(seg))))) * SR / len(seg)
    assert f == pytest.approx(880.0, abs=3.0)


def test_builtin_parameter_automation_lands_on_its_sample(tmp_path):
    x = noise(48000, 2, seed=5)
    write(tmp_path / "a.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, automation_interval=32, tracks=[
        {"name": "a", "source": "a.wav", "chain": [{"type": "pedalboard", "name": "Gain", "id": "g",
                                                    "params": {"gain_db": 0.0}}]}],
        automation=[{"target": "a.g.gain_db", "points": [[0.0, 0.0], [0.25, -6.0]], "curve": "step"}])
    y17, y4096 = (np.concatenate(list(s.stream(b)), axis=1) for b in (17, 4096))
    np.testing.assert_array_equal(y17, y4096)
    np.testing.assert_array_equal(y17[:, :12000], x[:, :12000])
    np.testing.assert_allclose(y17[:, 12000:], x[:, 12000:] * 10 ** (-6 / 20), rtol=1e-6, atol=1e-9)


def test_state_of_a_builtin_round_trips(tmp_path):
    p = build("Chorus", tmp_path, rate_hz=2.0, depth=0.5, mix=0.75)
    p.set_param("feedback", 0.25)
    entry = hosted_state(p)
    assert entry == {"type": "pedalboard", "name": "Chorus",
                     "params": {"rate_hz": 2.0, "depth": 0.5, "centre_delay_ms": 7.0, "feedback": 0.25, "mix": 0.75}}
    q = make_hosted(entry, tmp_path, "x")
    x = noise(10000, 2, seed=6)
    np.testing.assert_array_equal(q(x, SR), p(x, SR))


def test_enumerations_are_given_by_name(tmp_path):
    p = build("LadderFilter", tmp_path, mode="HPF24", cutoff_hz=1000.0)
    assert p.parameters["mode"] == "HPF24"
    assert hosted_state(p)["params"]["mode"] == "HPF24"
    with pytest.raises(MixcoreError, match=r"params\.mode: 'HPF25' is not one of LPF12, HPF12, BPF12, LPF24, HPF24, "
                                           r"BPF24 \(did you mean 'HPF24'\?\)"):
        build("LadderFilter", tmp_path, mode="HPF25")


def test_errors_name_the_key(tmp_path):
    def error(entry) -> str:
        with pytest.raises(MixcoreError) as e:
            make_hosted({"type": "pedalboard", **entry}, tmp_path, "master.chain[0]")
        assert "\n" not in str(e.value)
        return str(e.value)

    assert error({"name": "Chrous"}).startswith("master.chain[0].name: 'Chrous' is not a pedalboard effect "
                                                "(did you mean 'Chorus'?); expected one of Bitcrush")
    assert error({"name": "MP3Compressor"}) == ("master.chain[0].name: 'MP3Compressor' cannot be used in a session: "
                                                "its codec delay depends on the block size")
    assert error({"name": "Chorus", "params": {"rate": 1.0}}) == (
        "master.chain[0].params.rate: unknown parameter of 'Chorus' (did you mean 'rate_hz'?)")
    assert error({"name": "Chorus", "params": {"rate_hz": "fast"}}).startswith(
        "master.chain[0].params.rate_hz: expected a number")
    assert error({"name": "Delay", "params": {"delay_seconds": 100.0}}) == (
        "master.chain[0].params.delay_seconds: rejected by 'Delay': Delay (in seconds) must be between 0.0s and 30s.")
    assert error({"name": "BrickwallLimiter", "params": {"true_peak": "yes"}}) == (
        "master.chain[0].params.true_peak: expected true or false, got 'yes'")
    assert error({"name": "Chorus", "param": {}}).startswith(
        "master.chain[0].param: unknown key (did you mean 'params'?)")
    assert error({"name": "Chorus", "sidechain": "kick"}).startswith(
        "master.chain[0].sidechain: a hosted plugin cannot take a sidechain")
    p = build("Chorus", tmp_path)
    with pytest.raises(MixcoreError, match=r"^mix: 2\.0 rejected by 'Chorus': Mix must be between 0\.0 and 1\.0\.$"):
        p.set_param("mix", 2.0)
