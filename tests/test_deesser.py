"""De-esser: exact pass-through below threshold, static reduction from scipy's Butterworth responses."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import cycle_blocks, noise
from helpers import run_blocks as run
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

import mixcore
from mixcore.processors import ProcessSpec


def tone(f: float, amp: float, n: int, sr: int) -> np.ndarray:
    return amp * np.sin(2 * np.pi * f * np.arange(n) / sr)


def amplitudes(y: np.ndarray, freqs: list[float], sr: int) -> np.ndarray:
    """Least-squares amplitude of each sine in y."""
    t = np.arange(len(y)) / sr
    basis = np.concatenate([[np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)] for f in freqs]).T
    coef, *_ = np.linalg.lstsq(basis, y.astype(np.float64), rcond=None)
    return np.hypot(coef[0::2], coef[1::2])


def response(kind: str, fc: float, f: float, sr: int) -> complex:
    b, a = signal.butter(2, fc, kind, fs=sr)
    return signal.freqz(b, a, worN=[f], fs=sr)[1][0]


def static_gain(f: float, amp: float, fc: float, threshold_db: float, ratio: float, sr: int) -> float:
    """G = 10^(gr/20) from the hard-knee curve on the band's peak level A |HP(f)|."""
    level = 20 * np.log10(amp * abs(response("high", fc, f, sr)))
    return 10 ** (min(0.0, (1 / ratio - 1) * (level - threshold_db)) / 20)


def expected_gain(f: float, G: float, fc: float, sr: int) -> float:
    """|T(f)| = |LP(f) + G (1 - LP(f))|: the low band untouched, the complement scaled by G."""
    lp = response("low", fc, f, sr)
    return abs(lp + G * (1 - lp))


def test_below_the_threshold_the_output_is_the_input_exactly():
    sr = 48000
    x = noise(sr // 2, 2, seed=1, level=0.02)
    np.testing.assert_array_equal(mixcore.DeEsser(threshold_db=-20.0)(x, sr), x)
    low = tone(500.0, 0.9, sr // 2, sr) * np.minimum(1.0, np.arange(sr // 2) / (0.02 * sr))  # 20 ms fade-in
    low = low.astype(np.float32).reshape(1, -1)  # loud, but far below the band
    np.testing.assert_array_equal(mixcore.DeEsser(threshold_db=-30.0)(low, sr), low)


def test_with_ratio_one_the_split_is_exactly_complementary():
    sr = 44100
    x = noise(sr // 2, 2, seed=2, level=1.0)
    np.testing.assert_array_equal(mixcore.DeEsser(threshold_db=-60.0, ratio=1.0)(x, sr), x)


@pytest.mark.parametrize("sr", [44100, 48000, 96000])
@pytest.mark.parametrize("f, fc, threshold_db, ratio", [(9123.7, 6500.0, -30.0, 4.0), (7311.3, 5000.0, -20.0, 2.0),
                                                        (12345.6, 8000.0, -40.0, 10.0)])
def test_a_sibilant_sine_is_reduced_by_the_static_amount_and_a_500_hz_tone_is_untouched(sr, f, fc, threshold_db,
                                                                                          ratio):
    amp, n = 0.3, sr
    x = (tone(f, amp, n, sr) + tone(500.0, 0.3, n, sr)).astype(np.float32).reshape(1, -1)
    y = mixcore.DeEsser(freq_hz=fc, threshold_db=threshold_db, ratio=ratio)(x, sr)[0, sr // 4:]
    got = amplitudes(y, [f, 500.0], sr)
    G = static_gain(f, amp, fc, threshold_db, ratio, sr)
    want = expected_gain(f, G, fc, sr)
    assert 20 * np.log10(got[0] / amp) == pytest.approx(20 * np.log10(want), abs=0.1)
    assert 20 * np.log10(want) < -3.0  # a real reduction
    # the 500 Hz tone sees the same G; 1 - LP is a quarter period ahead there, so its level barely moves
    g500 = expected_gain(500.0, G, fc, sr)
    assert 20 * np.log10(got[1] / 0.3) == pytest.approx(20 * np.log10(g500), abs=0.02)
    assert abs(20 * np.log10(got[1] / 0.3)) < 0.05


def test_listen_outputs_the_detected_band_scipys_highpass():
    sr, fc = 48000, 7000.0
    x = noise(sr // 4, 2, seed=3, level=0.5)
    y = mixcore.DeEsser(freq_hz=fc, listen=1.0)(x, sr)
    b, a = signal.butter(2, fc, "high", fs=sr)
    np.testing.assert_allclose(y, signal.lfilter(b, a, x.astype(np.float64), axis=1), atol=1e-6)


def test_the_reduction_attacks_in_milliseconds_and_releases_back_to_the_exact_input():
    sr = 48000
    x = tone(500.0, 0.3, sr, sr)
    x[sr // 4:sr // 2] += tone(9123.7, 0.3, sr // 4, sr)
    x = x.astype(np.float32).reshape(1, -1)
    y = mixcore.DeEsser(freq_hz=6500.0, threshold_db=-30.0, ratio=4.0)(x, sr)[0]
    on = sr // 4
    want = expected_gain(9123.7, static_gain(9123.7, 0.3, 6500.0, -30.0, 4.0, sr), 6500.0, sr)
    window = slice(on + round(0.005 * sr), on + round(0.025 * sr))  # from 5 ms after the onset
    got = amplitudes(y[window], [9123.7, 500.0], sr)[0] / 0.3  # (the fit's time origin does not matter)
    assert 20 * np.log10(got) == pytest.approx(20 * np.log10(want), abs=0.3)
    np.testing.assert_array_equal(y[sr // 2 + round(0.4 * sr):], x[0, sr // 2 + round(0.4 * sr):])


def test_block_size_never_changes_the_output():
    sr = 44100
    x = noise(20000, 2, seed=7, level=0.8)
    x[:, 8000:12000] *= 0.01
    changes = {3000: {"threshold_db": -40.0}, 9999: {"freq_hz": 4000.0, "ratio": 8.0}, 15000: {"listen": 1.0}}

    def make():
        return mixcore.DeEsser(freq_hz=7000.0, threshold_db=-25.0, ratio=3.0)

    whole = run(make(), x, sr, x.shape[1], changes)
    for block in (1, 17, 509, 4096):
        np.testing.assert_array_equal(run(make(), x, sr, block, changes), whole)
    # empty blocks at the start and between blocks change nothing: the processor that received them
    # goes on exactly like one that did not
    d = make()
    d.prepare(ProcessSpec(sr, 4096, 2))
    d.reset()
    got = cycle_blocks(x, [0, 4096, 0, 0, 4096], lambda blk, _pos: d.process(blk))
    np.testing.assert_array_equal(got, run(make(), x, sr, 4096))


@settings(max_examples=25, deadline=None)
@given(fc=st.floats(2000, 16000), thr=st.floats(-60, 0), ratio=st.floats(1, 20), listen=st.sampled_from([0.0, 1.0]),
       sr=st.integers(22050, 192000), channels=st.integers(1, 3))
def test_random_parameters_never_give_nan_or_inf(fc, thr, ratio, listen, sr, channels):
    """Finite, and bounded by the de-esser's own relation: y = G x + (1 - G) LP(x) with 0 <= G <= 1, so
    every sample lies between x and LP(x) (LP: scipy's 2nd-order Butterworth at freq_hz, at most
    0.45 fs); with listen = 1 the output is HP(x)."""
    x = noise(3000, channels, seed=3, level=1.0)
    d = mixcore.DeEsser(freq_hz=fc, threshold_db=thr, ratio=ratio, listen=listen)
    y = d(x, sr, block_size=1000).astype(np.float64)
    assert np.all(np.isfinite(y))
    fc = min(fc, 0.45 * sr)
    if listen:
        hp = signal.lfilter(*signal.butter(2, fc, "highpass", fs=sr), x.astype(np.float64), axis=1)
        np.testing.assert_allclose(y, hp, atol=1e-4)
    else:
        lp = signal.lfilter(*signal.butter(2, fc, "lowpass", fs=sr), x.astype(np.float64), axis=1)
        assert np.all(y <= np.maximum(x, lp) + 1e-4) and np.all(y >= np.minimum(x, lp) - 1e-4)
