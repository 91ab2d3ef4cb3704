"""Every registered processor keeps the shared contract: vocabulary, lifecycle, block-size independence."""
from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import cli, noise

from mixcore.params import UNIT_SUFFIXES, UNITLESS
from mixcore.processors import ProcessSpec, processor_types

NATIVE = sorted(n for n in processor_types() if not n.startswith("test_"))
EXPECTED = {"gain", "eq", "compressor", "limiter", "width", "delay", "reverb", "gate", "deesser"}


def test_the_spec_processors_are_all_there():
    assert EXPECTED <= set(NATIVE)


@pytest.mark.parametrize("kind", NATIVE)
def test_parameter_names_carry_their_unit(kind):
    cls = processor_types()[kind]
    for p in cls.PARAMS:
        suffix = next((s for s in sorted(UNIT_SUFFIXES, key=len, reverse=True) if p.name.endswith(s)), None)
        if suffix is None:
            assert p.name in UNITLESS, f"{kind}.{p.name}: no unit suffix and not a known unitless name"
        else:
            assert p.unit == UNIT_SUFFIXES[suffix], f"{kind}.{p.name}: unit {p.unit!r}"


@pytest.mark.parametrize("kind", NATIVE)
def test_lifecycle_and_block_size_independence(kind):
    cls = processor_types()[kind]
    x = noise(9000, 2, seed=11, level=0.8)
    whole = cls()(x, 48000, block_size=9000)
    assert whole.shape == x.shape and whole.dtype == np.float32
    assert np.all(np.isfinite(whole))
    proc = cls()
    proc.prepare(ProcessSpec(48000.0, 4096, 2))
    for block in (1, 17, 509, 4096):
        proc.reset()
        lat = proc.latency_samples
        y = np.concatenate([x, np.zeros((2, lat), np.float32)], axis=1)
        out = []
        for i in range(0, y.shape[1], block):
            b = np.ascontiguousarray(y[:, i:i + block])
            proc.process(b)
            out.append(b)
        np.testing.assert_array_equal(np.concatenate(out, axis=1)[:, lat:], whole)
    empty = np.zeros((2, 0), np.float32)
    proc.process(empty)
    assert "(" in repr(proc)


@pytest.mark.parametrize("kind", NATIVE)
def test_mono_works(kind):
    cls = processor_types()[kind]
    y = cls()(noise(3000, 1, seed=1)[0], 44100)
    assert y.shape == (3000,) and np.all(np.isfinite(y))


def test_processors_command_lists_every_type():
    r = cli("processors", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert set(NATIVE) <= set(info)
    names = {p["name"] for p in info["compressor"]["params"]}
    assert {"threshold_db", "ratio", "attack_ms", "release_ms", "knee_db", "makeup_db", "detector", "sidechain", "mix"} <= names
    r = cli("processors", "compresor")
    assert r.returncode == 2 and "did you mean 'compressor'" in r.stderr
