"""The render engine: block-size and run-to-run identity, lengths, resampling, dither, automation."""
from __future__ import annotations

import hashlib
import math

import mido
import numpy as np
import pytest
import soundfile as sf
import soxr
from helpers import noise, read, write

from mixcore.errors import MixcoreError
from mixcore.render.writer import Ditherer
from mixcore.session import Session

SR = 48000


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "a.wav", noise(20000, 1, seed=3))
    write(tmp_path / "b.wav", noise(15000, 2, seed=4))
    data = {
        "sample_rate": SR, "tail_s": 0.01,
        "tracks": [
            {"name": "a", "source": "a.wav", "pan": 0.3, "output": "grp",
             "chain": [{"type": "test_latency", "samples": 37}],
             "sends": [{"to": "fx", "level_db": -6.0}, {"to": "fx2", "level_db": -3.0, "pre_fader": True}]},
            {"name": "b", "source": "b.wav", "gain_db": -2.0, "pan": -0.2},
        ],
        "buses": [{"name": "grp", "chain": [{"type": "test_latency", "samples": 5}]},
                  {"name": "fx", "gain_db": -1.0}, {"name": "fx2", "pan": 0.5}],
        "automation": [{"target": "b.gain_db", "points": [[0.0, -20.0], [0.3, 0.0]]},
                       {"target": "grp.pan", "points": [[0.1, -1.0], [0.2, 1.0]]}],
    }
    return Session(base_dir=tmp_path, **data)


@pytest.mark.parametrize("block", [1, 64, 511, 4096])
def test_block_sizes_give_identical_output(project, block):
    ref = np.concatenate(list(project.stream(777)), axis=1)
    got = np.concatenate(list(project.stream(block)), axis=1)
    assert got.shape == ref.shape == (2, 20000 + 480)
    np.testing.assert_array_equal(got, ref)


def test_two_renders_are_byte_identical_and_threads_do_not_matter(project, tmp_path):
    a, b, c = tmp_path / "1.wav", tmp_path / "2.wav", tmp_path / "3.wav"
    project.render(a, block_size=100)
    project.render(b, block_size=4096)
    project.render(c, block_size=333, threads=2)
    assert sha(a) == sha(b) == sha(c)


def test_stream_matches_the_file(project, tmp_path):
    out = tmp_path / "mix.wav"
    project.render(out)
    np.testing.assert_array_equal(read(out), np.concatenate(list(project.stream(512)), axis=1))


def test_fader_automation_hits_exact_values(tmp_path):
    ones = np.full((1, 48000), 0.5, dtype=np.float32)
    write(tmp_path / "dc.wav", ones)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0,
                tracks=[{"name": "dc", "source": "dc.wav", "pan": -1.0}],
                automation=[{"target": "dc.gain_db", "points": [[0.25, -60.0], [0.75, 0.0]]}])
    y = np.concatenate(list(s.stream(1000)), axis=1)[0].astype(np.float64)
    for pos in (0, 12000, 18000, 24000, 30000, 36000, 47999):
        t = pos / SR
        db = np.interp(t, [0.25, 0.75], [-60.0, 0.0])
        assert y[pos] == pytest.approx(0.5 * 10 ** (db / 20), rel=1e-6), pos


def test_pan_automation_is_sample_accurate(tmp_path):
    write(tmp_path / "dc.wav", np.full((1, 4800), 0.5, dtype=np.float32))
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[{"name": "dc", "source": "dc.wav"}],
                automation=[{"target": "dc.pan", "points": [[0.0, -1.0], [0.1, 1.0]]}])
    y = np.concatenate(list(s.stream(64)), axis=1).astype(np.float64)
    pan = np.interp(np.arange(4800) / SR, [0.0, 0.1], [-1.0, 1.0])
    theta = (pan + 1) * math.pi / 4
    np.testing.assert_allclose(y[0], 0.5 * np.cos(theta), atol=1e-7)
    np.testing.assert_allclose(y[1], 0.5 * np.sin(theta), atol=1e-7)


def test_midi_cc_drives_the_fader_with_the_tempo_map(tmp_path):
    write(tmp_path / "dc.wav", np.full((1, 3 * SR), 0.5, dtype=np.float32))
    mf = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mf.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
    tr.append(mido.Message("control_change", control=7, value=0, channel=0, time=0))
    tr.append(mido.Message("control_change", control=7, value=127, channel=0, time=480))  # 0.5 s
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60), time=0))
    tr.append(mido.Message("control_change", control=7, value=64, channel=0, time=480))  # +1.0 s -> 1.5 s
    mf.save(tmp_path / "moves.mid")
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[{"name": "dc", "source": "dc.wav", "pan": -1}],
                midi=[{"file": "moves.mid", "map": [{"cc": 7, "channel": 1, "target": "dc.gain_db",
                                                      "min": -60.0, "max": 6.0}]}])
    y = np.concatenate(list(s.stream(512)), axis=1)[0].astype(np.float64)
    db = lambda v: -60 + 66 * v / 127  # noqa: E731
    assert y[SR // 2 - 1] == pytest.approx(0.5 * 10 ** (db(0) / 20), rel=1e-6)
    assert y[SR // 2] == pytest.approx(0.5 * 10 ** (db(127) / 20), rel=1e-6)
    assert y[3 * SR // 2 - 1] == pytest.approx(0.5 * 10 ** (db(127) / 20), rel=1e-6)
    assert y[3 * SR // 2] == pytest.approx(0.5 * 10 ** (db(64) / 20), rel=1e-6)


def test_tail_lengths(tmp_path):
    write(tmp_path / "a.wav", noise(1000))
    s = Session(base_dir=tmp_path, sample_rate=SR, tracks=[{"name": "a", "source": "a.wav"}], tail_s=0.5)
    assert np.concatenate(list(s.stream(512)), axis=1).shape[1] == 1000 + 24000
    s = Session(base_dir=tmp_path, sample_rate=SR, tracks=[
        {"name": "a", "source": "a.wav", "chain": [{"type": "test_tail", "samples": 300}], "output": "b"}],
        buses=[{"name": "b", "chain": [{"type": "test_tail", "samples": 200}]}])
    assert np.concatenate(list(s.stream(512)), axis=1).shape[1] == 1000 + 500  # "auto": tails add up a path
    s = Session(base_dir=tmp_path, sample_rate=SR, tracks=[
        {"name": "a", "source": "a.wav", "chain": [{"type": "test_tail", "samples": 10**7}]}])
    assert np.concatenate(list(s.stream(4096)), axis=1).shape[1] == 1000 + 30 * SR  # "auto" stops at 30 s


def test_resampled_source_matches_soxr(tmp_path):
    x = noise(44100, 2, seed=9)
    write(tmp_path / "a.wav", x, sr=44100)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[{"name": "a", "source": "a.wav"}])
    y = np.concatenate(list(s.stream(1000)), axis=1)
    ref = soxr.resample(x.T, 44100, SR, quality="HQ").T
    assert y.shape[1] == 48000
    np.testing.assert_allclose(y[:, :ref.shape[1]], ref[:, :48000], atol=2e-5)


def test_default_rate_is_the_highest_source_rate(tmp_path):
    write(tmp_path / "a.wav", noise(441, 1), sr=44100)
    write(tmp_path / "b.wav", noise(960, 1), sr=96000)
    s = Session(base_dir=tmp_path, tracks=[{"name": "a", "source": "a.wav"}, {"name": "b", "source": "b.wav"}])
    assert s.sample_rate == 96000


@pytest.mark.parametrize("bits", [16, 24])
def test_dither_is_seeded_tpdf_and_block_independent(tmp_path, bits):
    write(tmp_path / "a.wav", noise(30000, 2, seed=5))
    outs = []
    for seed, block in ((0, 100), (0, 4096), (1, 4096)):
        s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, bit_depth=bits, seed=seed,
                    tracks=[{"name": "a", "source": "a.wav"}])
        out = tmp_path / f"o{seed}{block}.wav"
        s.render(out, block_size=block)
        outs.append(sha(out))
        assert sf.info(str(out)).subtype == f"PCM_{bits}"
    assert outs[0] == outs[1] != outs[2]
    # silence + triangular dither on (-1, 1) LSB, rounded: P(|d| > 1/2) = 1/4, so the
    # output is -1, 0 or +1 LSB with variance 1/4 and mean 0
    d = Ditherer(bits, 2, seed=0)
    q = d.quantise(np.zeros((2, 200000), dtype=np.float32)).astype(np.float64)
    q = q / 256 if bits == 24 else q
    assert set(np.unique(q)) <= {-1.0, 0.0, 1.0}
    assert np.var(q) == pytest.approx(0.25, rel=0.03)
    assert abs(np.mean(q)) < 0.01


def test_stems_are_aligned_track_outputs(project, tmp_path):
    out = tmp_path / "mix.wav"
    r = project.render(out, stems=tmp_path / "stems")
    assert set(r.stems) == {"a", "b"}
    a = read(r.stems["a"])
    assert a.shape == (2, 20480)
    src = noise(20000, 1, seed=3)[0].astype(np.float64)
    theta = (0.3 + 1) * math.pi / 4
    np.testing.assert_allclose(a[0, :20000], src * math.cos(theta), atol=1e-7)


def test_session_round_trips_through_save(project, tmp_path):
    sub = tmp_path / "elsewhere"
    sub.mkdir()
    path = project.save(sub / "copy.toml")
    again = Session.load(path)
    np.testing.assert_array_equal(np.concatenate(list(again.stream(512)), axis=1),
                                  np.concatenate(list(project.stream(512)), axis=1))


def test_output_equal_to_an_input_is_refused(project, tmp_path):
    with pytest.raises(MixcoreError, match="input of the session"):
        project.render(tmp_path / "a.wav")
    assert read(tmp_path / "a.wav").shape == (1, 20000)


@pytest.mark.parametrize("bits", [16, 24])
def test_dither_variance_formula(bits):
    """``Ditherer.quantise``: with TPDF dither (+-1 LSB, variance 1/6) the total error q - x has mean 0
    and variance 1/6 + 1/12 = 1/4 LSB^2 whatever the signal: at 0, 1/4 and 1/2 LSB (where undithered
    rounding errs by 0, 1/4 and 1/2 exactly, and rectangular dither by 1/12 .. 1/4), and on a sine."""
    n = 200000
    lsb = 2.0 ** -(bits - 1)
    t = np.arange(n)
    signals = [np.full(n, 0.0), np.full(n, 0.25 * lsb), np.full(n, 0.5 * lsb), np.full(n, -1000.5 * lsb),
               0.3 * np.sin(2 * np.pi * 997.0 * t / SR)]
    for k, x in enumerate(signals):
        d = Ditherer(bits, 2, seed=3 + k)
        block = np.stack([x, x[::-1]]).astype(np.float32)
        q = d.quantise(block).astype(np.float64)
        q = q / 256 if bits == 24 else q
        err = q - block.T.astype(np.float64) / lsb  # in LSB
        assert np.abs(err).max() <= 1.5  # rounding (1/2) of the signal plus dither (< 1)
        assert np.var(err) == pytest.approx(0.25, rel=0.02)
        assert abs(np.mean(err)) < 0.005
    # the error is uncorrelated with the signal (no harmonic distortion left in it)
    assert abs(np.corrcoef(err[:, 0], block[0])[0, 1]) < 0.01


def test_render_meters_the_output_and_requested_nodes_in_the_same_pass(project, tmp_path):
    import mixcore

    out = tmp_path / "mix.wav"
    r = project.render(out, meter_nodes=["grp", "b"])
    assert r.loudness.integrated_lufs == pytest.approx(mixcore.analyze(out).integrated_lufs, abs=1e-9)
    stems = project.render(tmp_path / "m2.wav", stems=tmp_path / "st", meter_nodes=["b"])
    assert stems.node_loudness["b"].integrated_lufs == pytest.approx(
        mixcore.analyze(stems.stems["b"]).integrated_lufs, abs=1e-9)
    assert set(r.node_loudness) == {"grp", "b"}
    with pytest.raises(MixcoreError, match=r"--meter: no track or bus named 'gpr' \(did you mean 'grp'\?\)"):
        project.render(tmp_path / "x.wav", meter_nodes=["gpr"])


@pytest.mark.parametrize("bit_depth", ["float", 24])
def test_same_bytes_a_few_seconds_apart(tmp_path, bit_depth):
    """No timestamp in the file: libsndfile's PEAK chunk (float WAV) would carry the time of writing."""
    import time

    write(tmp_path / "a.wav", noise(4800, 2, seed=8))
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, bit_depth=bit_depth,
                tracks=[{"name": "a", "source": "a.wav"}])
    s.render(tmp_path / "1.wav")
    time.sleep(1.2)
    s.render(tmp_path / "2.wav")
    assert sha(tmp_path / "1.wav") == sha(tmp_path / "2.wav")
    assert b"PEAK" not in (tmp_path / "1.wav").read_bytes()[:200]
