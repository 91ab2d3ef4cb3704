"""Compressor: sample-accurate automation (with and without a sidechain key) against a per-sample
reference written independently in plain Python from the Giannoulis/Massberg/Reiss formulas."""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import noise, write

import mixcore
from mixcore.errors import MixcoreError
from mixcore.processors import ProcessSpec
from mixcore.session import Session

SR = 48000


def reference(x, key, p, rms=False):
    """Per-sample model: x, key (channels, n) float32; p: name -> per-sample float64 arrays.

    Static curve, dB-domain attack/release one-pole, linked detector, makeup and dry/wet mix, in
    float64 with libm's log10/exp, one sample at a time.
    """
    n = x.shape[1]
    y = x.astype(np.float64).copy()
    g = 0.0
    ms = 0.0
    a_rms = math.exp(-1.0 / (0.010 * SR))
    for i in range(n):
        T, R, W = p["threshold_db"][i], p["ratio"][i], p["knee_db"][i]
        if rms:
            ms += (float(np.max(key[:, i].astype(np.float64) ** 2)) - ms) * (1 - a_rms)
            level = math.sqrt(ms)
        else:
            level = float(np.max(np.abs(key[:, i])))
        xdb = 20 * math.log10(max(level, 1e-10))
        over = xdb - T
        if 2 * over < -W:
            gc = 0.0
        elif W > 0 and 2 * abs(over) <= W:
            gc = (1 / R - 1) * (over + W / 2) ** 2 / (2 * W)
        else:
            gc = T + over / R - xdb
        t = p["attack_ms"][i] if gc < g else p["release_ms"][i]
        a = math.exp(-1.0 / (t * 1e-3 * SR))
        g = a * g + (1 - a) * gc
        lin = 10 ** ((g + p["makeup_db"][i]) / 20)
        y[:, i] *= 1 + p["mix"][i] * (lin - 1)
    return y


def ramps(n, rng):
    """Per-sample parameter curves that sweep through every region of the static curve."""
    u = np.linspace(0.0, 1.0, n)
    return {
        "threshold_db": -40.0 + 30.0 * u,
        "ratio": 1.5 + 8.0 * (1 - u),
        "knee_db": 12.0 * np.abs(np.sin(3 * np.pi * u)),
        "attack_ms": 0.5 + 20.0 * u,
        "release_ms": 200.0 - 150.0 * u,
        "makeup_db": 6.0 * np.sin(2 * np.pi * u),
        "mix": 0.5 + 0.5 * np.cos(np.pi * u) ** 2,
    }


def prepared(n, **kw):
    c = mixcore.Compressor(**kw)
    c.prepare(ProcessSpec(SR, n, 2))
    return c


@pytest.mark.parametrize("detector", ["peak", "rms"])
@pytest.mark.parametrize("with_key", [False, True])
def test_per_sample_parameters_match_the_reference(detector, with_key):
    n = 6000
    rng = np.random.default_rng(3)
    x = noise(n, 2, seed=4, level=0.9) * np.linspace(0.05, 1.0, n).astype(np.float32)
    key = noise(n, 2, seed=5, level=0.9) if with_key else x.copy()
    p = ramps(n, rng)
    c = prepared(n, detector=detector)
    y = x.copy()
    c.process_automated(y, p, key=key if with_key else None)
    expect = reference(x, key, p, rms=detector == "rms")
    np.testing.assert_allclose(y, expect, rtol=2e-6, atol=2e-7)
    assert np.abs(y - x).max() > 0.1  # it really compresses
    # the processor keeps the last values for what follows
    assert c.threshold_db == pytest.approx(p["threshold_db"][-1]) and c.mix == pytest.approx(p["mix"][-1])


def test_constant_arrays_give_the_fixed_path_bit_for_bit():
    n = 9000
    x = noise(n, 2, seed=6, level=0.8)
    kw = dict(threshold_db=-25.0, ratio=3.0, knee_db=6.0, attack_ms=3.0, release_ms=80.0, makeup_db=2.0, mix=0.7)
    fixed = x.copy()
    prepared(n, **kw).process(fixed)
    auto = x.copy()
    prepared(n, **kw).process_automated(auto, {k: np.full(n, float(v)) for k, v in kw.items()})
    np.testing.assert_array_equal(fixed, auto)


def test_split_anywhere_gives_the_same_samples():
    """Cut the automated block at arbitrary points (the engine's block boundaries): same bits."""
    n = 5000
    x = noise(n, 2, seed=7, level=0.9)
    p = ramps(n, None)
    whole = x.copy()
    prepared(n).process_automated(whole, p)
    c = prepared(n)
    parts = x.copy()
    for a, b in [(0, 1), (1, 300), (300, 301), (301, 2049), (2049, 5000)]:
        piece = np.ascontiguousarray(parts[:, a:b])
        c.process_automated(piece, {k: v[a:b] for k, v in p.items()})
        parts[:, a:b] = piece
    np.testing.assert_array_equal(whole, parts)


def test_switches_cut_the_block_and_bad_names_are_refused():
    n = 4000
    x = noise(n, 2, seed=8, level=0.9)
    link = np.where(np.arange(n) < 1500, 1.0, 0.0)
    y = x.copy()
    c = prepared(n, threshold_db=-30.0, ratio=6.0)
    c.process_automated(y, {"link": link, "threshold_db": np.full(n, -30.0)})
    a = x[:, :1500].copy()
    b = x[:, 1500:].copy()
    r = prepared(n, threshold_db=-30.0, ratio=6.0)
    r.process(a)
    r.link = 0.0
    r.process(b)
    np.testing.assert_array_equal(y, np.concatenate([a, b], axis=1))
    with pytest.raises(MixcoreError, match="'sidechain' cannot be automated"):
        c.process_automated(x.copy(), {"sidechain": np.zeros(n)})


def test_session_sidechain_automation_is_sample_accurate_and_block_size_free(tmp_path):
    """Threshold automated on a keyed compressor: per-sample values (not a 32-sample grid), and the
    same samples for blocks of 64, 777 (on 2 threads) and 4096."""
    n = SR // 2
    kick = noise(n, 2, seed=9, level=0.9)
    bass = noise(n, 2, seed=10, level=0.3)
    write(tmp_path / "k.wav", kick)
    write(tmp_path / "b.wav", bass)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, automation_interval=4096,
                tracks=[{"name": "kick", "source": "k.wav", "output": "kbus"},
                        {"name": "bass", "source": "b.wav", "output": "bbus",
                         "chain": [{"type": "compressor", "id": "c", "ratio": 10.0, "attack_ms": 1.0,
                                    "sidechain": "kick"}]}],
                buses=[{"name": "kbus", "mute": True}, {"name": "bbus"}],
                automation=[{"target": "bass.c.threshold_db", "points": [[0.0, -45.0], [0.5, -5.0]]}])
    y64 = np.concatenate(list(s.stream(64)), axis=1)
    y4k = np.concatenate(list(s.stream(4096)), axis=1)
    y2t = np.concatenate(list(s.stream(777, threads=2)), axis=1)
    np.testing.assert_array_equal(y64, y4k)
    np.testing.assert_array_equal(y2t, y4k)
    p = {"threshold_db": -45.0 + 40.0 * np.arange(n) / n, "ratio": np.full(n, 10.0), "knee_db": np.zeros(n),
         "attack_ms": np.full(n, 1.0), "release_ms": np.full(n, 100.0), "makeup_db": np.zeros(n),
         "mix": np.ones(n)}
    expect = reference(bass, kick, p)
    np.testing.assert_allclose(y4k, expect, rtol=2e-6, atol=2e-7)
