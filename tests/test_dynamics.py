"""Compressor, limiter, gain and width against formulas and independent references."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal as ss
from helpers import noise
from hypothesis import given, settings
from hypothesis import strategies as st

import mixcore

SR = 48000


@pytest.mark.parametrize("knee", [0.0, 6.0, 12.0])
@pytest.mark.parametrize("level", [-50, -30, -26, -23, -21, -20, -18, -14, -8, 0])
def test_compressor_static_curve(knee, level):
    """DC input settles on the Giannoulis/Massberg/Reiss static curve (within 0.2 dB)."""
    T, R = -20.0, 4.0
    c = mixcore.Compressor(threshold_db=T, ratio=R, knee_db=knee, attack_ms=1.0, release_ms=10.0)
    x = np.full((2, SR // 2), 10 ** (level / 20), np.float32)
    out_db = 20 * math.log10(c(x, SR)[0, -1])
    over = level - T
    if 2 * over < -knee:
        expect = level
    elif knee > 0 and 2 * abs(over) <= knee:
        expect = level + (1 / R - 1) * (over + knee / 2) ** 2 / (2 * knee)
    else:
        expect = T + over / R
    assert out_db == pytest.approx(expect, abs=0.2)


def test_compressor_attack_time_constant_and_makeup():
    """A step from -40 to 0 dB: gain falls towards -15 dB with time constant attack_ms."""
    c = mixcore.Compressor(threshold_db=-20, ratio=4, attack_ms=10.0, release_ms=100.0, makeup_db=3.0)
    x = np.full((1, SR), 0.01, np.float32)
    x[0, SR // 2:] = 1.0
    y = c(x, SR)
    g = 20 * np.log10(y[0, SR // 2:] / 1.0) - 3.0
    tau = int(0.010 * SR)
    assert g[tau] == pytest.approx(-15.0 * (1 - math.exp(-1)), abs=0.1)
    assert g[-1] == pytest.approx(-15.0, abs=0.01)
    assert 20 * np.log10(y[0, 100] / 0.01) == pytest.approx(3.0, abs=1e-3)


def test_compressor_mix_and_rms_and_sidechain_key():
    x = noise(SR, 2, seed=1, level=0.9)
    wet = mixcore.Compressor(threshold_db=-30, ratio=8)(x, SR)
    half = mixcore.Compressor(threshold_db=-30, ratio=8, mix=0.5)(x, SR)
    np.testing.assert_allclose(half, 0.5 * (x + wet), atol=1e-6)
    assert np.all(np.isfinite(mixcore.Compressor(detector="rms")(x, SR)))
    c = mixcore.Compressor(threshold_db=-30, ratio=10, attack_ms=1.0)
    c.prepare(mixcore.ProcessSpec(SR, SR, 2))
    quiet = (x * 0.001).astype(np.float32)
    loud_key = np.ones((2, SR), np.float32)
    c.process_with_key(quiet, loud_key)
    assert 20 * np.log10(np.abs(quiet[:, -1000:]).max() / (0.001 * 0.9)) < -20  # ducked by the key, not its own level


@pytest.mark.parametrize("signal", ["noise", "sine", "program"])
def test_limiter_keeps_sample_peaks_under_the_ceiling(signal):
    rng = np.random.default_rng(2)
    t = np.arange(2 * SR) / SR
    x = {"noise": rng.standard_normal((2, 2 * SR)) * 0.7,
         "sine": np.stack([np.sin(2 * np.pi * 11999 * t + 0.785)] * 2) * 2.0,
         "program": np.stack([np.sin(2 * np.pi * 110 * t) * (1 + np.sin(2 * np.pi * 0.5 * t)),
                              np.sin(2 * np.pi * 220 * t)]) + rng.standard_normal((2, 2 * SR)) * 0.1}[signal]
    y = mixcore.Limiter(ceiling_dbtp=-1.0)(x.astype(np.float32), SR)
    assert np.abs(y).max() <= 10 ** (-1 / 20)
    # true peak with an independent estimate (8x polyphase resampling), away from the signal's ends
    u = ss.resample_poly(y.astype(np.float64), 8, 1, axis=1)[:, 8000:-8000]
    tp = 20 * np.log10(np.abs(u).max())
    assert tp <= -1.0


def test_limiter_latency_is_exact_and_quiet_signals_pass_unchanged():
    lim = mixcore.Limiter(lookahead_ms=5.0)
    lim.prepare(mixcore.ProcessSpec(SR, 1000, 1))
    lim.reset()
    x = np.zeros((1, 1000), np.float32)
    x[0, 10] = 0.25
    y = x.copy()
    lim.process(y)
    assert lim.latency_samples == 240 - 1 + 12  # lookahead - 1 + half the true-peak interpolator
    assert np.argmax(y[0]) == 10 + lim.latency_samples and y[0].max() == 0.25
    q = noise(10000, 2, seed=3, level=0.1)
    np.testing.assert_array_equal(mixcore.Limiter()(q, SR), q)


def test_gain_ramp_and_width():
    g = mixcore.Gain(gain_db=0.0)
    g.prepare(mixcore.ProcessSpec(SR, 4096, 1))
    g.gain_db = -6.0
    y = np.ones((1, 2000), np.float32)
    g.process(y)
    ramp = int(0.02 * SR)
    assert y[0, 0] == pytest.approx(1 - (1 - 10 ** (-6 / 20)) / ramp, rel=1e-6)
    assert y[0, ramp - 1] == pytest.approx(10 ** (-6 / 20), rel=1e-6)
    assert np.all(np.diff(y[0, :ramp]) < 0)
    x = noise(1000, 2, seed=4)
    for w in (0.0, 0.5, 2.0):
        y = mixcore.Width(width=w)(x, SR).astype(np.float64)
        m, s = (x[0] + x[1]) / 2, (x[0] - x[1]) / 2
        np.testing.assert_allclose((y[0] + y[1]) / 2, m, atol=1e-7)
        np.testing.assert_allclose((y[0] - y[1]) / 2, w * s, atol=1e-7)


@settings(max_examples=25, deadline=None)
@given(thr=st.floats(-60, 0), ratio=st.floats(1, 100), att=st.floats(0.01, 1000), rel=st.floats(1, 5000),
       knee=st.floats(0, 24), ceiling=st.floats(-20, 0), sr=st.sampled_from([22050, 44100, 96000, 192000]))
def test_random_parameters_never_give_nan(thr, ratio, att, rel, knee, ceiling, sr):
    x = noise(3000, 2, seed=5, level=1.0) * 4
    chain = mixcore.Chain([mixcore.Compressor(threshold_db=thr, ratio=ratio, attack_ms=att, release_ms=rel, knee_db=knee),
                           mixcore.Limiter(ceiling_dbtp=ceiling)])
    y = chain(x, sr)
    assert np.all(np.isfinite(y)) and np.abs(y).max() <= 10 ** (ceiling / 20)


def test_compressor_auto_makeup_sidechain_hpf_and_unlinked_channels():
    c = mixcore.Compressor(threshold_db=-20, ratio=4, auto_makeup=1.0)
    assert c.auto_makeup_db == pytest.approx(7.5)  # half of the 15 dB the curve takes off a 0 dBFS input
    x = np.full((1, SR // 2), 0.01, np.float32)  # -40 dB: below the threshold, only makeup applies
    assert 20 * np.log10(c(x, SR)[0, -1] / 0.01) == pytest.approx(7.5, abs=1e-3)
    # a loud 40 Hz tone drives the detector unless the sidechain high-pass removes it
    t = np.arange(SR) / SR
    bass = (0.9 * np.sin(2 * np.pi * 40 * t)).astype(np.float32).reshape(1, -1)
    plain = mixcore.Compressor(threshold_db=-20, ratio=8)(bass, SR)
    hpf = mixcore.Compressor(threshold_db=-20, ratio=8, sidechain_hpf_hz=500.0)(bass, SR)
    assert np.abs(plain[0, SR // 2:]).max() < 0.5 < np.abs(hpf[0, SR // 2:]).max()
    # unlinked: a quiet channel next to a loud one keeps its level
    st = np.stack([np.full(SR // 2, 0.9), np.full(SR // 2, 0.01)]).astype(np.float32)
    linked = mixcore.Compressor(threshold_db=-20, ratio=4)(st, SR)
    free = mixcore.Compressor(threshold_db=-20, ratio=4, link=0.0)(st, SR)
    assert free[1, -1] == pytest.approx(0.01, rel=1e-5) and linked[1, -1] < 0.005
    assert free[0, -1] == pytest.approx(linked[0, -1], rel=1e-6)
