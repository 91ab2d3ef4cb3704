"""Gate and expander against their one-pole ballistics, static curves and hold, to the sample."""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import cycle_blocks, noise
from helpers import run_blocks as run
from hypothesis import given, settings
from hypothesis import strategies as st

import mixcore
from mixcore.processors import ProcessSpec


def loud_then_quiet(sr: int, loud: float = 0.5, quiet: float = 0.001, channels: int = 1) -> np.ndarray:
    x = np.full((channels, sr), loud, np.float32)
    x[:, sr // 2:] = quiet
    return x


def gain_db(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 20 * np.log10(np.abs(y.astype(np.float64)) / np.abs(x.astype(np.float64)))


@pytest.mark.parametrize("range_db", [0.0, 20.0, 80.0, 100.0])
def test_closed_attenuation_is_range_db_and_open_is_exactly_unity(range_db):
    sr = 48000
    x = loud_then_quiet(sr)
    y = mixcore.Gate(threshold_db=-40.0, range_db=range_db, attack_ms=0.1, hold_ms=5.0, release_ms=2.0)(x, sr)
    np.testing.assert_array_equal(y[0, sr // 8:sr // 2], x[0, sr // 8:sr // 2])  # open: bit for bit
    np.testing.assert_allclose(gain_db(y[0, -sr // 8:], x[0, -sr // 8:]), -range_db, atol=1e-6)


def test_an_input_below_the_threshold_from_the_start_stays_closed():
    sr = 48000
    x = noise(sr // 2, 2, seed=1, level=0.009)  # below -40 dBFS everywhere
    y = mixcore.Gate(threshold_db=-40.0, range_db=30.0)(x, sr)
    np.testing.assert_allclose(y, x * 10 ** (-30 / 20), rtol=1e-6)


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("hold_ms", [0.0, 1.0, 10.0, 37.0])
def test_hold_is_honoured_to_the_sample(sr, hold_ms):
    x = loud_then_quiet(sr)
    y = mixcore.Gate(threshold_db=-40.0, range_db=60.0, attack_ms=0.1, hold_ms=hold_ms, release_ms=10.0)(x, sr)
    drop, hold = sr // 2, round(hold_ms * sr / 1000)
    np.testing.assert_array_equal(y[0, drop:drop + hold], x[0, drop:drop + hold])  # held open
    assert abs(y[0, drop + hold]) < abs(x[0, drop + hold])                       # closing from the next sample


@pytest.mark.parametrize("attack_ms, release_ms", [(0.5, 20.0), (5.0, 150.0)])
def test_opening_and_closing_follow_one_poles_in_db(attack_ms, release_ms):
    sr, rng, hold = 48000, 60.0, 0.0
    x = np.full((1, sr), 0.001, np.float32)  # closed ...
    x[0, sr // 4:sr // 2] = 0.5               # ... open ...
    y = mixcore.Gate(threshold_db=-40.0, range_db=rng, attack_ms=attack_ms, hold_ms=hold, release_ms=release_ms)(x, sr)
    g = gain_db(y[0], x[0])
    k = np.arange(1, 200)
    a_att = math.exp(-1 / (attack_ms * 1e-3 * sr))
    a_rel = math.exp(-1 / (release_ms * 1e-3 * sr))
    np.testing.assert_allclose(g[sr // 4 + k - 1], -rng * a_att ** k, atol=1e-5)          # opening
    np.testing.assert_allclose(g[sr // 2 + k - 1], -rng * (1 - a_rel ** k), atol=1e-5)    # ... closing
    assert g[sr // 4 - 1] == pytest.approx(-rng, abs=1e-6)


@pytest.mark.parametrize("ratio, range_db, expected", [(2.0, 60.0, -10.0), (3.0, 60.0, -20.0), (5.0, 20.0, -20.0)])
def test_expander_follows_its_static_curve_and_floors_at_the_range(ratio, range_db, expected):
    sr = 48000
    x = np.full((1, sr // 2), 10 ** (-50 / 20), np.float32)  # 10 dB below a -40 dB threshold
    y = mixcore.Gate(mode="expander", threshold_db=-40.0, ratio=ratio, range_db=range_db, hold_ms=0.0,
                     release_ms=5.0)(x, sr)
    assert gain_db(y[0, -1:], x[0, -1:])[0] == pytest.approx(expected, abs=1e-6)
    above = np.full((1, 4800), 0.5, np.float32)
    np.testing.assert_array_equal(mixcore.Gate(mode="expander", threshold_db=-40.0, attack_ms=0.01)(above, sr)[:, 480:],
                                  above[:, 480:])


def test_channels_are_linked():
    sr = 48000
    x = loud_then_quiet(sr, channels=2)
    x[1] *= 0.001  # the right channel alone never reaches the threshold
    y = mixcore.Gate(threshold_db=-40.0, range_db=40.0, attack_ms=0.1, hold_ms=5.0, release_ms=5.0)(x, sr)
    np.testing.assert_array_equal(y[1, sr // 8:sr // 2], x[1, sr // 8:sr // 2])  # opened by the left channel
    np.testing.assert_allclose(gain_db(y[1, -100:], x[1, -100:]), -40.0, atol=1e-6)
    np.testing.assert_allclose(gain_db(y[0], x[0]), gain_db(y[1], x[1]), atol=1e-4)


def test_a_longer_hold_set_while_closed_does_not_reopen_the_gate():
    sr = 48000
    x = loud_then_quiet(sr)
    y = run(mixcore.Gate(threshold_db=-40.0, range_db=50.0, hold_ms=5.0, release_ms=1.0), x, sr, 512,
            {sr * 3 // 4: {"hold_ms": 2000.0}})
    np.testing.assert_allclose(gain_db(y[0, -sr // 8:], x[0, -sr // 8:]), -50.0, atol=1e-6)


def test_block_size_never_changes_the_output():
    sr = 44100
    x = noise(20000, 2, seed=7, level=0.8)
    x[:, 5000:9000] *= 0.001
    x[:, 14000:] *= 0.01
    changes = {3000: {"threshold_db": -30.0}, 11111: {"mode": "expander", "ratio": 3.0, "range_db": 40.0}}

    def make():
        return mixcore.Gate(threshold_db=-20.0, range_db=70.0, attack_ms=0.3, hold_ms=3.0, release_ms=30.0)

    whole = run(make(), x, sr, x.shape[1], changes)
    for block in (1, 17, 509, 4096):
        np.testing.assert_array_equal(run(make(), x, sr, block, changes), whole)
    # empty blocks at the start and between blocks change nothing: the processor that received them
    # goes on exactly like one that did not
    g = make()
    g.prepare(ProcessSpec(sr, 4096, 2))
    g.reset()
    got = cycle_blocks(x, [0, 4096, 0, 0, 4096], lambda blk, _pos: g.process(blk))
    np.testing.assert_array_equal(got, run(make(), x, sr, 4096))


@settings(max_examples=25, deadline=None)
@given(thr=st.floats(-100, 0), rng=st.floats(0, 100), att=st.floats(0.01, 500), hold=st.floats(0, 5000),
       rel=st.floats(1, 5000), mode=st.sampled_from(["gate", "expander"]), ratio=st.floats(1, 20),
       sr=st.integers(22050, 192000), channels=st.integers(1, 3))
def test_random_parameters_never_give_nan_or_inf(thr, rng, att, hold, rel, mode, ratio, sr, channels):
    g = mixcore.Gate(threshold_db=thr, range_db=rng, attack_ms=att, hold_ms=hold, release_ms=rel, mode=mode,
                     ratio=ratio)
    x = noise(3000, channels, seed=3, level=1.0)
    x[:, 1000:2000] = 0.0
    y = g(x, sr, block_size=1000)
    assert np.all(np.isfinite(y)) and np.all(np.abs(y) <= np.abs(x))
