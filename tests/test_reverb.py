"""FDN reverb: RT60 by Schroeder backward integration, damping per octave band, predelay, stability."""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import cycle_blocks, noise
from helpers import run_blocks as run
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

import mixcore
from mixcore.processors import ProcessSpec
from mixcore.processors.reverb import loop_filter, prime_lengths


def impulse(n: int, channels: int = 2) -> np.ndarray:
    x = np.zeros((channels, n), np.float32)
    x[:, 0] = 1.0
    return x


def schroeder_t30(ir: np.ndarray, sr: float) -> float:
    """RT60 from the energy decay curve (Schroeder 1965, backward integration), fitted from -5 to -35 dB (T30)."""
    e = np.cumsum((ir.astype(np.float64) ** 2)[::-1])[::-1]
    edc = 10 * np.log10(e / e[0] + 1e-300)
    i5, i35 = int(np.argmax(edc <= -5)), int(np.argmax(edc <= -35))
    slope = np.polyfit(np.arange(i5, i35) / sr, edc[i5:i35], 1)[0]
    return -60.0 / slope


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("rt", [0.5, 1.5, 4.0])
@pytest.mark.parametrize("room", [0.0, 0.7])
def test_rt60_by_schroeder_integration_is_decay_s(sr, rt, room):
    y = mixcore.Reverb(decay_s=rt, room_size=room, damping=0.0, mix=1.0)(impulse(int(sr * rt * 1.6)), sr)
    for ch in (0, 1):
        assert schroeder_t30(y[ch], sr) == pytest.approx(rt, rel=0.10)


@pytest.mark.parametrize("sr", [44100, 96000])
@pytest.mark.parametrize("damping", [0.3, 0.6, 0.8])
def test_damping_sets_the_decay_at_8_khz(sr, damping):
    rt = 2.0
    y = mixcore.Reverb(decay_s=rt, damping=damping, mix=1.0)(impulse(int(sr * rt * 1.6)), sr)[0].astype(np.float64)

    def band_t30(fc):
        sos = signal.butter(4, [fc / 2 ** (1 / 6), fc * 2 ** (1 / 6)], "bandpass", fs=sr, output="sos")  # 1/3 octave
        return schroeder_t30(signal.sosfilt(sos, y), sr)

    assert band_t30(8000.0) == pytest.approx(rt * (1 - 0.9 * damping), rel=0.08)
    assert band_t30(250.0) == pytest.approx(rt, rel=0.08)


def test_loop_filter_has_the_designed_gains():
    sr, d, rt, damping = 48000.0, 2003, 1.7, 0.6
    G, b = loop_filter(d, rt, damping, sr)
    _, h = signal.freqz([G], [1.0, -b], worN=[0.0, 8000.0], fs=sr)
    np.testing.assert_allclose(np.abs(h[0]), 10 ** (-3 * d / (rt * sr)), rtol=1e-12)  # 60 dB in decay_s
    np.testing.assert_allclose(np.abs(h[1]), 10 ** (-3 * d / ((1 - 0.9 * damping) * rt * sr)), rtol=1e-9)
    assert loop_filter(d, rt, 0.0, sr) == (10 ** (-3 * d / (rt * sr)), 0.0)


def test_line_lengths_are_distinct_primes_that_grow_with_the_room():
    small, big = prime_lengths(0.5, 48000.0), prime_lengths(1.5, 48000.0)
    for lengths in (small, big):
        assert len(set(lengths)) == len(lengths) >= 8
        assert all(n > 1 and all(n % k for k in range(2, int(n ** 0.5) + 1)) for n in lengths)
        assert all(math.gcd(a, b) == 1 for a in lengths for b in lengths if a != b)
    assert all(b > 2.9 * a for a, b in zip(small, big))


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("predelay_ms", [0.0, 7.3, 20.0, 500.0])
def test_predelay_is_exact_to_the_sample(sr, predelay_ms):
    y = mixcore.Reverb(predelay_ms=predelay_ms, mix=1.0)(impulse(sr), sr)
    for ch in (0, 1):
        assert np.nonzero(y[ch])[0][0] == round(predelay_ms * sr / 1000)


def test_mix_zero_passes_the_input_exactly_and_mix_blends_linearly():
    sr = 48000
    x = noise(9600, 2, seed=1, level=0.9)
    np.testing.assert_array_equal(mixcore.Reverb(mix=0.0)(x, sr), x)
    wet = mixcore.Reverb(mix=1.0)(x, sr)
    np.testing.assert_allclose(mixcore.Reverb(mix=0.3)(x, sr), 0.7 * x + 0.3 * wet, atol=1e-6)


def test_a_mix_change_ramps_linearly_over_20_ms():
    sr, p = 48000, 4800
    x = noise(9600, 2, seed=2)
    wet = mixcore.Reverb(mix=1.0)(x, sr).astype(np.float64)
    y = run(mixcore.Reverb(mix=0.0), x, sr, 512, {p: {"mix": 1.0}})
    ramp = round(0.020 * sr)
    m = np.clip((np.arange(x.shape[1]) - p + 1) / ramp, 0.0, 1.0)
    np.testing.assert_allclose(y, x * (1 - m) + wet * m, atol=1e-6)


def test_stereo_output_is_decorrelated_and_a_mono_block_gets_the_left_channel():
    sr = 48000
    y = mixcore.Reverb(decay_s=1.5, mix=1.0)(impulse(sr * 2), sr)
    assert abs(np.corrcoef(y[0], y[1])[0, 1]) < 0.3
    mono = mixcore.Reverb(decay_s=1.5, mix=1.0)(impulse(sr * 2, 1)[0], sr)
    assert mono.shape == (sr * 2,)
    np.testing.assert_array_equal(mono, y[0])  # the input is the mean of the channels either way


def test_tail_is_one_point_one_decay_plus_predelay_and_the_response_is_quiet_after_it():
    sr = 48000
    r = mixcore.Reverb(decay_s=1.0, predelay_ms=100.0, damping=0.0, mix=1.0)
    r.prepare(ProcessSpec(sr, 512, 2))
    assert r.tail_samples == round((1.1 * 1.0 + 0.1) * sr)
    y = r(impulse(r.tail_samples + sr // 2), sr).astype(np.float64)
    energy = np.sum(y ** 2, axis=0)
    assert 10 * np.log10(energy[r.tail_samples:].sum() / energy.sum()) < -60.0


def test_energy_stays_bounded_for_30_s_at_the_longest_decay():
    sr = 48000
    x = noise(sr * 30, 2, seed=2, level=0.5)
    y = mixcore.Reverb(decay_s=20.0, room_size=1.0, damping=0.0, mix=1.0)(x, sr).astype(np.float64)
    assert np.all(np.isfinite(y))
    rms = np.sqrt(np.mean(y.reshape(2, 30, sr) ** 2, axis=(0, 2)))  # per second
    # a steady input fills the room towards a steady level (1 - e^(-13.8 t / RT60)), never beyond it
    t = np.arange(1, 31)
    expected = rms[-1] * np.sqrt((1 - np.exp(-13.8 * t / 20.0)) / (1 - np.exp(-13.8 * 30 / 20.0)))
    np.testing.assert_allclose(rms[5:], expected[5:], rtol=0.1)
    assert np.abs(y).max() < 10.0


def test_silence_after_the_sound_becomes_exact_zeros_no_denormals():
    sr = 48000
    x = np.zeros((2, sr * 8), np.float32)
    x[:, :100] = 0.5
    r = mixcore.Reverb(decay_s=0.1, room_size=0.0, damping=0.5, mix=1.0)
    y = r(x, sr)
    assert not np.any(y[:, -sr:])
    for state in (r._lines, r._ap, r._state[:8]):
        assert not np.any(state)


def test_decay_and_damping_changes_glide_and_keep_the_block_size_out_of_the_result():
    sr = 44100
    x = noise(30000, 2, seed=7, level=0.8)
    x[:, 15000:] = 0.0
    changes = {4000: {"decay_s": 4.0, "damping": 0.9}, 9001: {"mix": 0.8}, 12000: {"room_size": 0.9},
               17017: {"predelay_ms": 40.0}, 20000: {"decay_s": 0.3}}

    def make():
        return mixcore.Reverb(decay_s=1.0, damping=0.2, room_size=0.3, predelay_ms=3.0, mix=0.5)

    whole = run(make(), x, sr, x.shape[1], changes)
    assert np.all(np.isfinite(whole))
    for block in (1, 17, 509, 4096):
        np.testing.assert_array_equal(run(make(), x, sr, block, changes), whole)
    # empty blocks at the start and between blocks change nothing: the processor that received them
    # goes on exactly like one that did not
    r = make()
    r.prepare(ProcessSpec(sr, 4096, 2))
    r.reset()
    got = cycle_blocks(x, [0, 4096, 0, 0, 4096], lambda blk, _pos: r.process(blk))
    np.testing.assert_array_equal(got, run(make(), x, sr, 4096))
    np.testing.assert_array_equal(make()(x, sr), make()(x, sr))  # same on every run: the modulation is deterministic


@settings(max_examples=25, deadline=None)
@given(rt=st.floats(0.1, 20), room=st.floats(0, 1), damp=st.floats(0, 1), predelay=st.floats(0, 500),
       mix=st.floats(0, 1), sr=st.integers(22050, 192000), channels=st.integers(1, 3))
def test_random_parameters_never_give_nan_or_inf(rt, room, damp, predelay, mix, sr, channels):
    """Finite, bounded (peak at most 20x the input's, the bound the automation property test uses), and
    linear: the reverb is a linear time-invariant system at fixed parameters, so half the input gives
    exactly half the output (a power of two scales every intermediate value exactly)."""
    x = noise(4000, channels, seed=3, level=1.0)
    r = mixcore.Reverb(decay_s=rt, room_size=room, damping=damp, predelay_ms=predelay, mix=mix)
    y = r(x, sr, block_size=1000)
    assert np.all(np.isfinite(y))
    assert np.abs(y).max() <= 20.0
    half = mixcore.Reverb(decay_s=rt, room_size=room, damping=damp, predelay_ms=predelay, mix=mix)(
        x * np.float32(0.5), sr, block_size=1000)
    np.testing.assert_allclose(half, 0.5 * y, rtol=0, atol=1e-6)
