"""Delay, reverb, gate and de-esser against formulas and measurements."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import noise
from hypothesis import given, settings
from hypothesis import strategies as st

import mixcore


def impulse(n, channels=2):
    x = np.zeros((channels, n), np.float32)
    x[:, 0] = 1.0
    return x


@pytest.mark.parametrize("sr", [44100, 48000, 96000])
def test_delay_time_and_feedback_exact(sr):
    y = mixcore.Delay(time_ms=10.0, feedback=0.5, mix=1.0)(impulse(sr // 10), sr)
    d = round(0.010 * sr)
    nz = np.nonzero(y[0])[0]
    np.testing.assert_array_equal(nz[:4], [d, 2 * d, 3 * d, 4 * d])
    np.testing.assert_allclose(y[0, [d, 2 * d, 3 * d]], [1.0, 0.5, 0.25], rtol=1e-7)


@pytest.mark.parametrize("bpm", [90.0, 120.0])
def test_delay_in_beats_follows_the_tempo(bpm):
    d = mixcore.Delay(time_beats=0.5, feedback=0.0, mix=1.0)
    d.tempo_bpm = bpm
    y = d(impulse(48000), 48000)
    assert np.argmax(y[0]) == round(0.5 * 60 / bpm * 48000)


def test_fractional_delay_of_a_sine_has_the_right_phase():
    sr, f = 48000, 500.0
    t = np.arange(sr) / sr
    x = np.sin(2 * np.pi * f * t).astype(np.float32).reshape(1, -1)
    y = mixcore.Delay(time_ms=1.0104166, feedback=0.0, mix=1.0)(x, sr)  # 48.5 samples
    expect = np.sin(2 * np.pi * f * (t - 48.5 / sr))
    np.testing.assert_allclose(y[0, 1000:], expect[1000:], atol=2e-4)


def test_delay_tail_covers_the_feedback():
    d = mixcore.Delay(time_ms=100.0, feedback=0.5)
    d.prepare(mixcore.ProcessSpec(48000, 512, 2))
    assert d.tail_samples == 4800 * (1 + 15)  # 0.5^15 < -90 dB


def schroeder_rt60(ir, sr):
    e = np.cumsum((ir.astype(np.float64) ** 2)[::-1])[::-1]
    edc = 10 * np.log10(e / e[0] + 1e-300)
    i5, i35 = np.argmax(edc <= -5), np.argmax(edc <= -35)
    slope = np.polyfit(np.arange(i5, i35) / sr, edc[i5:i35], 1)[0]
    return -60.0 / slope


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("rt", [0.5, 1.5, 4.0])
def test_reverb_rt60_by_schroeder_integration(sr, rt):
    y = mixcore.Reverb(decay_s=rt, mix=1.0, damping=0.0)(impulse(int(sr * rt * 1.6)), sr)
    for ch in (0, 1):
        assert schroeder_rt60(y[ch], sr) == pytest.approx(rt, rel=0.10)
    assert abs(np.corrcoef(y[0], y[1])[0, 1]) < 0.3  # decorrelated stereo


def test_reverb_predelay_and_dry_path():
    y = mixcore.Reverb(predelay_ms=20.0, mix=1.0)(impulse(4800), 48000)
    assert np.nonzero(y[0])[0][0] >= 960
    x = noise(4800, 2, seed=1)
    np.testing.assert_array_equal(mixcore.Reverb(mix=0.0)(x, 48000), x)


def test_reverb_is_stable_for_a_long_time():
    x = noise(48000 * 30, 2, seed=2, level=0.5)
    y = mixcore.Reverb(decay_s=20.0, room_size=1.0, damping=0.0, mix=1.0)(x, 48000)
    assert np.all(np.isfinite(y)) and np.abs(y).max() < 20


def test_gate_range_and_hold():
    sr = 48000
    x = np.full((1, sr), 0.5, np.float32)
    x[0, sr // 2:] = 0.001  # -60 dBFS: below the threshold
    g = mixcore.Gate(threshold_db=-40.0, range_db=30.0, attack_ms=0.1, hold_ms=50.0, release_ms=1.0)
    y = g(x, sr)
    assert y[0, sr // 4] == pytest.approx(0.5, rel=1e-6)  # open: unity
    hold = int(0.05 * sr)
    assert y[0, sr // 2 + hold - 1] == pytest.approx(0.001, rel=1e-6)  # still held open
    assert 20 * np.log10(y[0, -1] / 0.001) == pytest.approx(-30.0, abs=0.01)  # closed: range_db down


def test_deesser_reduces_only_sibilance():
    sr = 48000
    t = np.arange(sr) / sr
    low = 0.3 * np.sin(2 * np.pi * 500 * t)
    ess = 0.3 * np.sin(2 * np.pi * 9000 * t)
    quiet = (0.001 * np.sin(2 * np.pi * 500 * t)).astype(np.float32).reshape(1, -1)
    np.testing.assert_array_equal(mixcore.DeEsser(threshold_db=-30.0)(quiet, sr), quiet)
    d = mixcore.DeEsser(freq_hz=6000.0, threshold_db=-30.0, ratio=4.0)
    y = d((low + ess).astype(np.float32).reshape(1, -1), sr)[0, sr // 2:]
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    f = np.fft.rfftfreq(len(y), 1 / sr)
    at = lambda hz: spec[np.argmin(np.abs(f - hz))]  # noqa: E731
    ref = np.abs(np.fft.rfft((low + ess)[sr // 2:] * np.hanning(len(y))))
    assert 20 * np.log10(at(500) / ref[np.argmin(np.abs(f - 500))]) == pytest.approx(0.0, abs=0.1)
    assert 20 * np.log10(at(9000) / ref[np.argmin(np.abs(f - 9000))]) < -6.0


@settings(max_examples=20, deadline=None)
@given(rt=st.floats(0.1, 20), room=st.floats(0, 1), damp=st.floats(0, 1), fb=st.floats(0, 0.98),
       time_ms=st.floats(0, 5000), sr=st.sampled_from([22050, 44100, 48000, 96000, 192000]))
def test_time_effects_never_give_nan(rt, room, damp, fb, time_ms, sr):
    """Finite, the chain is its processors one after the other, and the gate at its end only attenuates
    what reaches it."""
    x = noise(2000, 2, seed=3, level=1.0)

    def procs():
        return [mixcore.Delay(time_ms=time_ms, feedback=fb, mix=0.5, ping_pong=1.0),
                mixcore.Reverb(decay_s=rt, room_size=room, damping=damp, mix=0.5), mixcore.DeEsser(), mixcore.Gate()]

    y = mixcore.Chain(procs())(x, sr)
    assert np.all(np.isfinite(y))
    v = x
    for p in procs():
        before, v = v, p(v, sr)
    np.testing.assert_array_equal(y, v)
    assert np.all(np.abs(v) <= np.abs(before))  # the gate never amplifies


def test_expander_mode_follows_its_ratio():
    sr = 48000
    x = np.full((1, sr), 10 ** (-50 / 20), np.float32)  # 10 dB below a -40 dB threshold
    y = mixcore.Gate(mode="expander", threshold_db=-40.0, ratio=2.0, range_db=60.0, hold_ms=0.0,
                     release_ms=5.0)(x, sr)
    assert 20 * np.log10(y[0, -1] / x[0, -1]) == pytest.approx(-10.0, abs=0.01)
    y = mixcore.Gate(mode="expander", threshold_db=-40.0, ratio=5.0, range_db=20.0, hold_ms=0.0,
                     release_ms=5.0)(x, sr)
    assert 20 * np.log10(y[0, -1] / x[0, -1]) == pytest.approx(-20.0, abs=0.01)  # floored at -range_db


def test_width_bass_mono():
    sr = 48000
    t = np.arange(sr) / sr
    low = np.sin(2 * np.pi * 50 * t)
    high = np.sin(2 * np.pi * 2000 * t)
    x = np.stack([low + high, -low + high]).astype(np.float32)  # the 50 Hz part is all side
    y = mixcore.Width(bass_mono_hz=200.0)(x, sr).astype(np.float64)
    side = (y[0] - y[1]) / 2
    assert np.abs(side[sr // 2:]).max() < 0.1  # 50 Hz side removed (12 dB/oct two octaves down: < -20 dB)
    np.testing.assert_allclose((y[0] + y[1]) / 2, high, atol=1e-6)  # mid untouched
