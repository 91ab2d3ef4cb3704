"""The meter against EBU Tech 3341 / 3342 signals, pyloudnorm and BS.1770's table."""
from __future__ import annotations

import json

import numpy as np
import pyloudnorm as pyln
import pytest
from helpers import cli, noise, write

import mixcore
from mixcore.demo import synth
from mixcore.metering import LoudnessMeter
from mixcore.metering.kweighting import TABLE_48K, k_weighting

SR = 48000


def sine(level_db, seconds, sr=SR, channels=2, freq=1000.0):
    t = np.arange(int(seconds * sr)) / sr
    return np.tile(10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t), (channels, 1)).astype(np.float32)


def seq(*parts):
    return np.concatenate([sine(db, s) for db, s in parts], axis=1)


def test_k_weighting_matches_the_standards_table_at_48k():
    np.testing.assert_allclose(k_weighting(48000), TABLE_48K, atol=1e-12)


@pytest.mark.parametrize("signal, expect", [
    (lambda: sine(-23, 20), -23.0),                                              # 3341 case 1
    (lambda: sine(-33, 20), -33.0),                                              # case 2
    (lambda: seq((-36, 10), (-23, 60), (-36, 10)), -23.0),                       # case 3
    (lambda: seq((-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)), -23.0),  # case 4
    (lambda: seq((-26, 20), (-20, 20.1), (-26, 20)), -23.0),                     # case 5
])
def test_ebu_3341_integrated(signal, expect):
    assert mixcore.analyze(signal(), SR).integrated_lufs == pytest.approx(expect, abs=0.1)


def test_surround_channel_weights():
    """5.0 and 5.1: BS.1770-4 weights 1.0 (L, R, C), 1.41 (Ls, Rs), LFE excluded, by the formula."""
    import scipy.signal as ss

    t = np.arange(20 * SR) / SR
    s = np.sin(2 * np.pi * 1000 * t)
    amps = [10 ** (-28 / 20)] * 3 + [10 ** (-24.5 / 20)] * 2
    _, h = ss.sosfreqz(np.column_stack([TABLE_48K[:, :3], np.ones(2), TABLE_48K[:, 3:]]), worN=[1000.0], fs=SR)
    k = np.abs(h[0]) ** 2
    expect = -0.691 + 10 * np.log10(sum(g * 0.5 * a * a * k for g, a in zip([1, 1, 1, 1.41, 1.41], amps)))
    five = np.stack([s * a for a in amps]).astype(np.float32)
    assert mixcore.analyze(five, SR).integrated_lufs == pytest.approx(expect, abs=0.01)
    six = np.stack([s * amps[0]] * 3 + [s] + [s * amps[3]] * 2).astype(np.float32)  # a loud LFE is ignored
    assert mixcore.analyze(six, SR).integrated_lufs == pytest.approx(expect, abs=0.01)


def test_ebu_3341_momentary_and_short_term_of_a_steady_tone():
    r = mixcore.analyze(sine(-23, 20), SR)
    assert r.momentary_max_lufs == pytest.approx(-23.0, abs=0.1)
    assert r.short_term_max_lufs == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("parts, lra", [
    (((-20, 20), (-30, 20)), 10.0),
    (((-20, 20), (-15, 20)), 5.0),
    (((-40, 20), (-20, 20)), 20.0),
    (((-50, 20), (-35, 20), (-20, 20), (-35, 20), (-50, 20)), 15.0),
])
def test_ebu_3342_loudness_range(parts, lra):
    assert mixcore.analyze(seq(*parts), SR).loudness_range_lu == pytest.approx(lra, abs=1.0)


@pytest.mark.parametrize("divisor, phase_deg", [(4, 45.0), (6, 60.0), (8, 67.5), (4, 0.0)])
def test_true_peak_of_inter_sample_peaks(divisor, phase_deg):
    """A -6 dBFS-peak sine at fs/4, fs/6, fs/8 with a phase that puts the peak between samples."""
    n = 10 * SR
    t = np.arange(n)
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 4800.0)
    x = (0.5 * np.sin(2 * np.pi * t / divisor + np.deg2rad(phase_deg)) * fade).astype(np.float32)
    r = mixcore.analyze(np.stack([x, x]), SR)
    assert -6.02 - 0.4 <= r.true_peak_dbtp <= -6.02 + 0.2
    assert r.sample_peak_dbfs <= r.true_peak_dbtp


def program(seconds=20.0):
    x = (synth.kick(seconds)[0] * 0.5 + synth.bass(seconds)[0] * 0.4 + synth.snare(seconds)[0] * 0.3)
    ch = synth.chords(seconds) * 0.3 + synth.hats(seconds) * 0.3
    return np.ascontiguousarray((ch + x) * 0.8, dtype=np.float32)


@pytest.mark.parametrize("sr", [44100, 48000])
def test_integrated_agrees_with_pyloudnorm_on_program_material(sr):
    x = program()
    if sr != 48000:
        import soxr

        x = np.ascontiguousarray(soxr.resample(x.T, 48000, sr).T, dtype=np.float32)
    ours = mixcore.analyze(x, sr).integrated_lufs
    ref = pyln.Meter(sr).integrated_loudness(x.T.astype(np.float64))
    assert ours == pytest.approx(ref, abs=0.05)
    mono = np.ascontiguousarray(x[:1])
    assert mixcore.analyze(mono, sr).integrated_lufs == pytest.approx(
        pyln.Meter(sr).integrated_loudness(mono[0].astype(np.float64)), abs=0.05)


def test_meter_is_block_size_independent():
    x = program(8.0)
    results = []
    for block in (1, 17, 509, 4096):
        m = LoudnessMeter(SR, 2)
        for i in range(0, x.shape[1], block):
            m.process(np.ascontiguousarray(x[:, i:i + block]))
        r = m.result()
        results.append((r.integrated_lufs, r.loudness_range_lu, r.true_peak_dbtp, r.momentary_max_lufs,
                        r.short_term_max_lufs, r.correlation))
    assert all(r == results[0] for r in results)


def test_silence_and_correlation():
    r = mixcore.analyze(np.zeros((2, SR), np.float32), SR)
    assert r.integrated_lufs == float("-inf") and r.to_json_dict()["integrated_lufs"] is None
    x = noise(SR, 1, seed=1)
    assert mixcore.analyze(np.concatenate([x, x]), SR).correlation == pytest.approx(1.0)
    assert mixcore.analyze(np.concatenate([x, -x]), SR).correlation == pytest.approx(-1.0)


def test_analyze_cli_json_keys_and_errors(tmp_path):
    write(tmp_path / "a.wav", sine(-23, 5))
    write(tmp_path / "b.wav", sine(-20, 5, channels=1))
    r = cli("analyze", "a.wav", "b.wav", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    keys = {"path", "sample_rate", "channels", "duration_s", "integrated_lufs", "loudness_range_lu",
            "true_peak_dbtp", "sample_peak_dbfs", "momentary_max_lufs", "short_term_max_lufs", "correlation"}
    assert keys <= set(rows[0]) and rows[1]["correlation"] is None
    assert rows[0]["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)
    r = cli("analyze", "a.wav", "b.wav", cwd=tmp_path)
    assert r.returncode == 0 and "spread of integrated loudness" in r.stdout
    r = cli("analyze", "missing.wav", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "missing.wav" in r.stderr
    (tmp_path / "bad.wav").write_bytes(b"RIFFjunk")
    r = cli("analyze", "bad.wav", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "bad.wav" in r.stderr


def test_analyze_plot(tmp_path):
    write(tmp_path / "a.wav", program(6.0))
    r = cli("analyze", "a.wav", "--plot", "a.png", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
