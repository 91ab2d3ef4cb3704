"""The cascade kernel across many EQs (pyx/eqbank.pxi): every lane bit-identical to the EQ run alone
(biquad.process_cascade), for any number of lanes, block length and filter design, in both builds
(baseline and AVX2), and EQ.process_bank falling back during a coefficient glide."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixcore._dsp import cpu
from mixcore.processors import eq as eq_mod
from mixcore.processors.base import ProcessSpec
from mixcore.processors.eq import EQ

KINDS = ("peak", "lowshelf", "highshelf", "highpass", "lowpass")


def kernels():
    mods = [importlib.import_module("mixcore._dsp.eqbank")]
    if cpu.has_avx2():
        mods.append(importlib.import_module("mixcore._dsp.eqbank_avx2"))
    return mods


def make_eq(seed: int, channels: int, sections: int, sr: float = 48000.0) -> EQ:
    rng = np.random.default_rng(seed)
    bands = []
    for _ in range(sections):
        kind = KINDS[rng.integers(len(KINDS))]
        band = {"kind": kind, "freq_hz": float(rng.uniform(20.0, 0.45 * sr)), "q": float(rng.uniform(0.3, 8.0))}
        if kind in ("peak", "lowshelf", "highshelf"):
            band["gain_db"] = float(rng.uniform(-18.0, 18.0))
        bands.append(band)
    e = EQ(bands=bands)
    e.prepare(ProcessSpec(sr, 8192, channels))
    return e


def signal(seed: int, channels: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((channels, n)).astype(np.float32) * 0.3
    x[:, n // 2:] *= np.float32(1e-36)  # a decaying tail: the denormal flush must agree too
    return x


@settings(max_examples=40, deadline=None)
@given(lanes=st.sampled_from([1, 2, 3, 7, 16, 17, 33]), n=st.sampled_from([0, 1, 5, 129, 4096]),
       sections=st.integers(1, 5), seed=st.integers(0, 10**6), mono=st.booleans())
def test_bank_is_bitidentical_to_each_eq_alone(lanes, n, sections, seed, mono):
    channels = 1 if mono else 2
    for mod in kernels():
        alone = [make_eq(seed + i, channels, sections) for i in range(lanes)]
        banked = [make_eq(seed + i, channels, sections) for i in range(lanes)]
        for block in range(2):  # two blocks: the state carried over must agree as well
            xs = [signal(seed * 7 + i + 1000 * block, channels, n) for i in range(lanes)]
            ys = [x.copy() for x in xs]
            for e, x in zip(alone, xs):
                e.process(x)
            mod.cascade_bank(ys, [e._coeffs for e in banked], [e._state for e in banked], (block * n) % 16)
            for x, y in zip(xs, ys):
                assert x.tobytes() == y.tobytes()
            for a, b in zip(alone, banked):
                assert a._state.tobytes() == b._state.tobytes()


def test_builds_agree_and_flush_denormals():
    x = [signal(5, 2, 3008) for _ in range(20)]
    eqs = {m.__name__: [make_eq(i, 2, 4) for i in range(20)] for m in kernels()}
    outs = {}
    for m in kernels():
        y = [a.copy() for a in x]
        m.cascade_bank(y, [e._coeffs for e in eqs[m.__name__]], [e._state for e in eqs[m.__name__]], 0)
        outs[m.__name__] = b"".join(a.tobytes() for a in y)
        z = np.concatenate([e._state.reshape(-1, 2) for e in eqs[m.__name__]])
        assert (z == 0).all(axis=1).any()  # decayed sections were flushed at the last sample (3008 = 188 * 16)
        assert not ((z != 0) & (np.abs(z) < 1e-200)).any()  # and nothing is near the denormal range
    assert len(set(outs.values())) == 1


def test_the_flush_runs_every_16th_sample_of_the_stream():
    """The same stream cut anywhere (phases carried over) gives the same bits as one call; and a
    section left with tiny state is zeroed exactly at the next position 15 mod 16, not before."""
    for mod in kernels():
        x = signal(11, 2, 4000)
        whole = [make_eq(3, 2, 3)]
        cut = [make_eq(3, 2, 3)]
        y = x.copy()
        mod.cascade_bank([y], [whole[0]._coeffs], [whole[0]._state], 0)
        pieces, pos = [], 0
        for n in (1, 15, 16, 17, 999, 2952):
            p = np.ascontiguousarray(x[:, pos:pos + n])
            mod.cascade_bank([p], [cut[0]._coeffs], [cut[0]._state], pos % 16)
            pieces.append(p)
            pos += n
        assert np.concatenate(pieces, axis=1).tobytes() == y.tobytes()
    e = make_eq(4, 1, 1)
    e._state[...] = 1e-31  # tiny, silence in: flushed after the sample at position 15 mod 16 only
    z = np.zeros((1, 5), np.float32)
    e.process(z)  # positions 0..4
    assert e._state.any()
    e.process(np.zeros((1, 11), np.float32))  # positions 5..15
    assert not e._state.any()


def test_process_bank_during_a_glide_falls_back(monkeypatch):
    monkeypatch.setattr(eq_mod, "_BANK", importlib.import_module("mixcore._dsp.eqbank"))
    a = [make_eq(i, 2, 3) for i in range(4)]
    b = [make_eq(i, 2, 3) for i in range(4)]
    for e in (a[1], b[1]):
        e.process(signal(1, 2, 100))
        e.set_param("bands[0].freq_hz", 1234.0)  # a glide starts
    assert b[1].bank_key() is None and b[0].bank_key() == ("eq", 3, 2, 0)
    xs = [signal(9 + i, 2, 500) for i in range(4)]
    ys = [x.copy() for x in xs]
    for e, x in zip(a, xs):
        e.process(x)
    EQ.process_bank(b, ys)
    assert all(x.tobytes() == y.tobytes() for x, y in zip(xs, ys))


def test_shapes_are_checked():
    mod = kernels()[0]
    e = make_eq(1, 2, 2)
    with pytest.raises(ValueError, match="shapes"):
        mod.cascade_bank([np.zeros((2, 10), np.float32), np.zeros((2, 11), np.float32)],
                         [e._coeffs, e._coeffs], [e._state, e._state.copy()], 0)
    with pytest.raises(ValueError, match="one coefficient"):
        mod.cascade_bank([np.zeros((2, 10), np.float32)], [], [], 0)
    with pytest.raises(ValueError, match="phase"):
        mod.cascade_bank([np.zeros((2, 10), np.float32)], [e._coeffs], [e._state], -1)
