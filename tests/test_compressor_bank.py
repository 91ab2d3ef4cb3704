"""Many compressors in one call (compressor.pxi ``compress_bank``): every lane bit-identical to the
compressor run alone, for any number of lanes, block length and settings, in both builds (baseline
and AVX2); the cases the bank does not take (rms detector, sidechain filter, makeup glide) fall back."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixcore._dsp import cpu
from mixcore.processors.base import ProcessSpec
from mixcore.processors.compressor import Compressor


def kernels():
    mods = [importlib.import_module("mixcore._dsp.compressor")]
    if cpu.has_avx2():
        mods.append(importlib.import_module("mixcore._dsp.compressor_avx2"))
    return mods


def make(seed: int, channels: int) -> Compressor:
    rng = np.random.default_rng(seed)
    c = Compressor(threshold_db=float(rng.uniform(-40, -5)), ratio=float(rng.uniform(1.0, 20.0)),
                   knee_db=float(rng.choice([0.0, 3.0, 12.0])), attack_ms=float(rng.uniform(0.1, 50.0)),
                   release_ms=float(rng.uniform(5.0, 500.0)), makeup_db=float(rng.uniform(-3.0, 6.0)),
                   mix=float(rng.choice([1.0, 0.5])))
    c.prepare(ProcessSpec(48000.0, 8192, channels))
    return c


def program(seed: int, channels: int, n: int) -> np.ndarray:
    """Noise under a moving envelope (loud, soft and silent stretches: all the kernel's skips)."""
    rng = np.random.default_rng(seed)
    env = np.repeat(rng.choice([0.0, 0.003, 0.1, 0.9], size=n // 300 + 1), 300)[:n]
    return (rng.standard_normal((channels, n)) * env).astype(np.float32)


@settings(max_examples=40, deadline=None)
@given(lanes=st.sampled_from([1, 2, 3, 7, 16, 17]), n=st.sampled_from([0, 1, 5, 257, 4096]),
       seed=st.integers(0, 10**6), mono=st.booleans())
def test_bank_is_bitidentical_to_each_compressor_alone(lanes, n, seed, mono):
    ch = 1 if mono else 2
    for mod in kernels():
        alone = [make(seed + i, ch) for i in range(lanes)]
        banked = [make(seed + i, ch) for i in range(lanes)]
        for block in range(2):  # state carried over must agree too
            xs = [program(seed * 3 + i + 777 * block, ch, n) for i in range(lanes)]
            ys = [x.copy() for x in xs]
            for c, x in zip(alone, xs):
                c.process(x)
            mod.compress_bank(ys, [c._state[0] for c in banked], [c._params for c in banked],
                              [c._makeup.state for c in banked])
            for x, y in zip(xs, ys):
                assert x.tobytes() == y.tobytes()
            for a, b in zip(alone, banked):
                assert a._state.tobytes() == b._state.tobytes()
                assert a.gain_reduction_db == b.gain_reduction_db


def test_builds_agree():
    outs = set()
    for mod in kernels():
        cs = [make(i, 2) for i in range(9)]
        ys = [program(40 + i, 2, 20000) for i in range(9)]
        mod.compress_bank(ys, [c._state[0] for c in cs], [c._params for c in cs], [c._makeup.state for c in cs])
        outs.add(b"".join(y.tobytes() for y in ys))
    assert len(outs) == 1


@pytest.mark.parametrize("change", [{"detector": "rms"}, {"sidechain_hpf_hz": 100.0}, {"link": 0.0}, {"makeup_db": 4.0}])
def test_cases_the_bank_does_not_take_fall_back(change):
    a = [make(i, 2) for i in range(3)]
    b = [make(i, 2) for i in range(3)]
    x0 = program(5, 2, 1000)
    for c in (a[1], b[1]):
        c.process(x0.copy())
        for k, v in change.items():
            c.set_param(k, v)  # a makeup change glides
    assert b[1].bank_key() is None and b[0].bank_key() == ("compressor", 2)
    xs = [program(6 + i, 2, 3000) for i in range(3)]
    ys = [x.copy() for x in xs]
    for c, x in zip(a, xs):
        c.process(x)
    Compressor.process_bank(b, ys)
    assert all(x.tobytes() == y.tobytes() for x, y in zip(xs, ys))


def test_bad_input_is_refused():
    mod = kernels()[0]
    c = make(1, 2)
    with pytest.raises(ValueError, match="one shape"):
        mod.compress_bank([np.zeros((2, 10), np.float32), np.zeros((2, 11), np.float32)],
                          [c._state[0]] * 2, [c._params] * 2, [c._makeup.state] * 2)
    c.process(program(1, 2, 100))
    c.set_param("makeup_db", 3.0)
    with pytest.raises(ValueError, match="glide"):
        mod.compress_bank([np.zeros((2, 10), np.float32)], [c._state[0]], [c._params], [c._makeup.state])
