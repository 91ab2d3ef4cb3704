"""Delay against the comb-filter formulas, scipy's one-pole, and sine phase."""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import noise
from helpers import run_blocks as run
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

import mixcore
from mixcore.processors import ProcessSpec


def impulse(n: int, channels: int = 2) -> np.ndarray:
    x = np.zeros((channels, n), np.float32)
    x[:, 0] = 1.0
    return x


@pytest.mark.parametrize("sr", [44100, 48000, 96000])
@pytest.mark.parametrize("time_ms", [10.0, 20.0, 250.0, 5000.0])
def test_an_impulse_comes_back_after_exactly_the_delay(sr, time_ms):
    d = round(time_ms * sr / 1000)
    y = mixcore.Delay(time_ms=time_ms, feedback=0.0, mix=1.0)(impulse(d + 100), sr)
    for ch in (0, 1):
        assert np.nonzero(y[ch])[0].tolist() == [d]
        assert y[ch, d] == 1.0


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("fb", [0.3, 0.5, 0.98])
def test_feedback_echoes_at_multiples_with_amplitude_fb_to_the_k(sr, fb):
    d = round(0.010 * sr)
    y = mixcore.Delay(time_ms=10.0, feedback=fb, mix=1.0)(impulse(8 * d + 1), sr)
    nz = np.nonzero(y[0])[0]
    np.testing.assert_array_equal(nz, d * np.arange(1, 9))
    expected = np.array([fb ** k for k in range(8)], dtype=np.float64)
    np.testing.assert_allclose(y[0, nz], expected, rtol=2e-7)
    np.testing.assert_array_equal(y[0], y[1])


def test_the_loop_lowpass_is_scipys_one_pole_once_per_round_trip():
    sr, d, fb, fc = 48000, 480, 0.5, 2000.0
    y = mixcore.Delay(time_ms=10.0, feedback=fb, mix=1.0, lowpass_hz=fc)(impulse(4 * d, 1), sr)[0]
    a = 1.0 - math.exp(-2 * math.pi * fc / sr)
    h = signal.lfilter([a], [1.0, -(1.0 - a)], np.r_[1.0, np.zeros(d - 1)])
    assert y[d] == 1.0 and not np.any(y[:d]) and not np.any(y[d + 1:2 * d])
    np.testing.assert_allclose(y[2 * d:3 * d], fb * h, atol=1e-7)                     # echo 2: once through LP
    np.testing.assert_allclose(y[3 * d:4 * d], fb ** 2 * np.convolve(h, h)[:d], atol=1e-7)  # echo 3: twice


@pytest.mark.parametrize("delay_samples", [48.5, 100.25, 1000.75, 1.5])
def test_fractional_delay_gives_a_sine_the_right_phase_and_level(delay_samples):
    sr, f = 48000, 1000.0
    n = np.arange(sr // 4)
    x = np.sin(2 * np.pi * f * n / sr).astype(np.float32).reshape(1, -1)
    y = mixcore.Delay(time_ms=delay_samples * 1000 / sr, feedback=0.0, mix=1.0)(x, sr)[0].astype(np.float64)
    seg = slice(2000, len(n))
    basis = np.stack([np.sin(2 * np.pi * f * n[seg] / sr), np.cos(2 * np.pi * f * n[seg] / sr)], axis=1)
    (s, c), *_ = np.linalg.lstsq(basis, y[seg], rcond=None)
    period = sr / f
    measured = -np.arctan2(c, s) * period / (2 * np.pi)  # y = sin(w (n - D)): phase -w D, known modulo a period
    error = (measured - delay_samples + period / 2) % period - period / 2
    assert abs(error) < 0.01
    assert 20 * np.log10(np.hypot(s, c)) == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("bpm", [90.0, 120.0])
@pytest.mark.parametrize("beats", [0.25, 0.75, 1.0])
def test_time_in_beats_follows_the_tempo(bpm, beats):
    sr = 48000
    d = mixcore.Delay(time_beats=beats, time_ms=10.0, feedback=0.0, mix=1.0)  # beats win over ms
    d.tempo_bpm = bpm
    y = d(impulse(sr), sr)
    assert np.nonzero(y[0])[0].tolist() == [round(beats * 60 / bpm * sr)]


def test_tempo_and_beats_changes_after_prepare_take_effect():
    sr = 48000
    d = mixcore.Delay(time_beats=1.0, feedback=0.0, mix=1.0)
    d.prepare(ProcessSpec(sr, 512, 1))
    d.tempo_bpm = 90.0
    assert d.time_s == pytest.approx(60 / 90)
    y = d(impulse(sr, 1), sr)
    assert np.argmax(y[0]) == round(60 / 90 * sr)
    d.time_beats = None  # back to time_ms
    y = d(impulse(sr, 1), sr)
    assert np.argmax(y[0]) == round(0.250 * sr)
    with pytest.raises(mixcore.MixcoreError, match="tempo_bpm"):
        d.tempo_bpm = 0.0


def test_ping_pong_alternates_left_and_right():
    sr, fb = 48000, 0.5
    d = round(0.005 * sr)
    x = impulse(7 * d)
    x[1, 0] = 0.5  # the mono sum (0.75) enters the left line
    y = mixcore.Delay(time_ms=5.0, feedback=fb, mix=1.0, ping_pong=1.0)(x, sr)
    assert np.nonzero(y[0])[0].tolist() == [d, 3 * d, 5 * d]
    assert np.nonzero(y[1])[0].tolist() == [2 * d, 4 * d, 6 * d]
    np.testing.assert_allclose(y[0, [d, 3 * d, 5 * d]], 0.75 * np.array([1, fb ** 2, fb ** 4]), rtol=1e-7)
    np.testing.assert_allclose(y[1, [2 * d, 4 * d, 6 * d]], 0.75 * np.array([fb, fb ** 3, fb ** 5]), rtol=1e-7)


def test_mix_blends_dry_and_wet_linearly():
    sr = 48000
    x = noise(4800, 2, seed=4)
    np.testing.assert_array_equal(mixcore.Delay(time_ms=3.0, feedback=0.7, mix=0.0)(x, sr), x)
    wet = mixcore.Delay(time_ms=3.0, feedback=0.0, mix=1.0)(x, sr)
    half = mixcore.Delay(time_ms=3.0, feedback=0.0, mix=0.5)(x, sr)
    np.testing.assert_allclose(half, 0.5 * x + 0.5 * wet, atol=1e-7)
    np.testing.assert_array_equal(wet[:, 144:], x[:, :-144])


@pytest.mark.parametrize("new_ms", [130.0, 70.0])
def test_a_time_change_glides_without_a_click(new_ms):
    sr, f, p = 48000, 440.0, 24000
    x = (0.9 * np.sin(2 * np.pi * f * np.arange(sr) / sr)).astype(np.float32).reshape(1, -1)
    y = run(mixcore.Delay(time_ms=100.0, feedback=0.0, mix=1.0), x, sr, 512, {p: {"time_ms": new_ms}})[0]
    # while the time ramps over 50 ms the read pointer moves at 1 - d', d' = (new - old) / 50 ms:
    # a pitch change, never a jump
    speed = 1.0 + abs(new_ms - 100.0) / 50.0
    w = 2 * np.pi * f / sr
    assert np.abs(np.diff(y[p - 100:])).max() <= 0.9 * w * speed * 1.01
    ramp = round(0.050 * sr)
    d_new = round(new_ms * sr / 1000)
    np.testing.assert_array_equal(y[p + ramp:], x[0, p + ramp - d_new:sr - d_new])  # settles at the new time
    # reset goes straight to the target: no glide
    d = mixcore.Delay(time_ms=100.0, feedback=0.0, mix=1.0)
    d.prepare(ProcessSpec(sr, 512, 1))
    d.time_ms = new_ms
    assert np.nonzero(d(impulse(sr // 2, 1), sr)[0])[0].tolist() == [round(new_ms * sr / 1000)]


def test_tail_covers_the_echoes_down_to_minus_90_db_and_is_capped():
    sr = 48000
    d = mixcore.Delay(time_ms=100.0, feedback=0.5, mix=1.0)
    d.prepare(ProcessSpec(sr, 512, 1))
    tail = d.tail_samples
    assert tail == 4800 * 16  # echo k has 0.5^(k-1): the 16th is the first below -90 dB
    y = d(impulse(tail + 4801, 1), sr)[0]
    assert 20 * np.log10(np.abs(y[tail - 4800])) > -90.0 > 20 * np.log10(np.abs(y[tail]))
    d.feedback = 0.0
    assert d.tail_samples == 4800
    d.feedback, d.time_ms = 0.98, 5000.0
    assert d.tail_samples == 30 * sr


def test_block_size_never_changes_the_output_even_while_parameters_glide():
    sr = 44100
    x = noise(20000, 2, seed=7, level=0.8)
    changes = {5000: {"time_ms": 3.7, "feedback": 0.9}, 12345: {"mix": 0.2, "lowpass_hz": 800.0}}

    def make():
        return mixcore.Delay(time_ms=2.13, feedback=0.6, mix=0.7, lowpass_hz=5000.0, ping_pong=1.0)

    whole = run(make(), x, sr, x.shape[1], changes)
    for block in (1, 17, 509, 4096):
        np.testing.assert_array_equal(run(make(), x, sr, block, changes), whole)
    d = make()
    d.prepare(ProcessSpec(sr, 512, 2))
    empty = np.zeros((2, 0), np.float32)
    d.process(empty)  # a zero-length block is fine and changes nothing
    y = noise(600, 2, seed=8)
    ref = make()(y, sr)
    d.reset()
    d.process(empty)
    blk = y.copy()
    d.process(blk)
    np.testing.assert_array_equal(blk, ref)


@settings(max_examples=25, deadline=None)
@given(time_ms=st.floats(0, 5000), beats=st.one_of(st.none(), st.floats(0, 16)), fb=st.floats(0, 0.98),
       mix=st.floats(0, 1), lp=st.floats(20, 96000), ping=st.sampled_from([0.0, 1.0]),
       sr=st.integers(22050, 192000), channels=st.integers(1, 3))
def test_random_parameters_never_give_nan_or_inf(time_ms, beats, fb, mix, lp, ping, sr, channels):
    """Finite, and bounded: before the first echo (delay d) the output is exactly (1 - mix) x; after it,
    the energy is at most (1 - mix) + mix c / (1 - fb) times the input's (the loop gain is at most fb,
    the low-pass and the interpolator do not amplify, 5 % slack; c = channels when ping-pong sums them)."""
    x = noise(3000, channels, seed=3, level=1.0)
    d = mixcore.Delay(time_ms=time_ms, time_beats=beats, feedback=fb, mix=mix, lowpass_hz=lp, ping_pong=ping)
    y = d(x, sr, block_size=1000).astype(np.float64)
    assert np.all(np.isfinite(y))
    delay = max(1.0, (beats * 0.5 if beats is not None else time_ms * 1e-3) * sr)  # tempo 120: 0.5 s a beat
    first = min(int(delay) - 2, x.shape[1])  # the interpolator reads up to 2 samples ahead
    if first > 0:
        np.testing.assert_allclose(y[:, :first], (1 - mix) * x[:, :first].astype(np.float64), atol=1e-6)
    c = channels if ping and channels > 1 else 1
    bound = (1 - mix) + mix * c / (1 - fb)
    assert np.linalg.norm(y) <= 1.05 * bound * np.linalg.norm(x)
