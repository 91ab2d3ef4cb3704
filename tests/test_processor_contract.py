"""Every registered processor keeps the shared contract: vocabulary, lifecycle, block-size independence."""
from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import cli, noise, write

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
def test_capabilities_are_declared_class_constants(kind):
    """The engine and the session builder read TAKES_SIDECHAIN, USES_TEMPO and SAMPLE_ACCURATE only;
    each must match what the class implements."""
    import inspect

    from mixcore.processors.base import Processor

    cls = processor_types()[kind]
    names = {p.name for p in cls.PARAMS}
    overrides = cls.process_with_key is not Processor.process_with_key
    assert cls.TAKES_SIDECHAIN == ("sidechain" in names) == overrides, kind
    assert cls.USES_TEMPO == isinstance(getattr(cls, "tempo_bpm", None), property), kind
    assert cls.SAMPLE_ACCURATE == (cls.process_automated is not Processor.process_automated), kind
    if cls.SAMPLE_ACCURATE and cls.TAKES_SIDECHAIN:  # the engine passes key= to process_automated
        assert "key" in inspect.signature(cls.process_automated).parameters, kind


#: Non-trivial parameters for every processor (the defaults of eq, gain and width are pass-throughs, a
#: 250 ms delay would not reach the 9000 samples below): each changes the signal and keeps state.
PARAMS = {
    "eq": dict(bands=[{"kind": "peak", "freq_hz": 1000.0, "gain_db": 6.0, "q": 2.0},
                      {"kind": "lowshelf", "freq_hz": 200.0, "gain_db": -4.0},
                      {"kind": "highpass", "freq_hz": 80.0, "slope_db": 24}]),
    "gain": dict(gain_db=-7.5),
    "width": dict(width=1.6, bass_mono_hz=150.0),
    "compressor": dict(threshold_db=-24.0, ratio=5.0, knee_db=6.0, makeup_db=3.0, attack_ms=2.0),
    "delay": dict(time_ms=37.0, feedback=0.5, lowpass_hz=5000.0, ping_pong=1.0),
    "gate": dict(threshold_db=-12.0, hold_ms=2.0, release_ms=20.0),
    "deesser": dict(freq_hz=5000.0, threshold_db=-30.0, ratio=6.0),
    "limiter": dict(ceiling_dbtp=-6.0),
    "reverb": dict(decay_s=0.8, mix=0.5, predelay_ms=7.0),
    "multiband": dict(bands=[{"threshold_db": -30.0, "ratio": 4.0}, {"threshold_db": -25.0, "ratio": 2.0}]),
}


def make_params(kind: str, tmp_path) -> dict:
    if kind == "convolution":
        ir = noise(2000, 2, seed=4, level=0.5) * np.exp(-np.arange(2000) / 300.0).astype(np.float32)
        return dict(ir=str(write(tmp_path / "ir.wav", ir)), mix=0.7)
    return PARAMS[kind]


@pytest.mark.parametrize("kind", NATIVE)
def test_lifecycle_and_block_size_independence(kind, tmp_path):
    cls = processor_types()[kind]
    params = make_params(kind, tmp_path)
    x = noise(9000, 2, seed=11, level=0.8)
    x[:, 6000:] *= 0.05  # a quiet end: dynamics processors release, tails ring out
    whole = cls(**params)(x, 48000, block_size=9000)
    assert whole.shape == x.shape and whole.dtype == np.float32
    assert np.all(np.isfinite(whole))
    assert np.abs(whole - x).max() > 1e-3  # the processor does something: the comparison below means something
    proc = cls(**params)
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


def test_a_param_is_declared_with_keywords():
    """Only the name is positional: ``Param("ratio", default=4.0, lo=1.0, hi=100.0)``, never a row of bare numbers."""
    from mixcore.params import Param

    with pytest.raises(TypeError):
        Param("ratio", 4.0, 1.0, 100.0)
    p = Param("ratio", default=4.0, lo=1.0, hi=100.0, taper="log")
    assert (p.default, p.lo, p.hi, p.smoothing_ms) == (4.0, 1.0, 100.0, 0.0)


@pytest.mark.parametrize("kind", NATIVE)
def test_every_parameter_is_visible_to_type_checkers(kind):
    """Parameters are read as attributes through ``__getattr__``, which type checkers and IDEs cannot see
    into; each class annotates every name in its PARAMS (``threshold_db: float``), and nothing else."""
    import types
    import typing

    cls = processor_types()[kind]
    hints = {k: v for k, v in typing.get_type_hints(cls).items() if k in cls.__dict__.get("__annotations__", {})
             and typing.get_origin(v) is not typing.ClassVar}
    assert set(hints) == {p.name for p in cls.PARAMS}, kind
    proc = cls()
    for p in cls.PARAMS:  # the default value has the annotated type
        hint = hints[p.name]
        allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (typing.get_origin(hint) or hint,)
        assert isinstance(getattr(proc, p.name), allowed), (kind, p.name)
