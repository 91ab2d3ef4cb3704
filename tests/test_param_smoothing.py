"""A parameter's declared ``smoothing_ms`` is the glide the processor uses (not a number written beside it)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import mixcore
from mixcore.processors import ProcessSpec

FS = 48000.0


def with_smoothing(cls, name: str, ms: float):
    """A subclass of ``cls`` whose parameter ``name`` declares ``smoothing_ms = ms``."""
    params = tuple(dataclasses.replace(p, smoothing_ms=ms) if p.name == name else p for p in cls.PARAMS)
    return type(cls.__name__ + "Fast", (cls,), {"PARAMS": params})


def step_response(proc, name: str, value: float, n: int = 2400) -> np.ndarray:
    """Output of ``proc`` for a steady L=1, R=0.5 signal after ``name`` is set to ``value``."""
    proc.prepare(ProcessSpec(FS, n, 2))
    block = np.ascontiguousarray(np.tile(np.array([[1.0], [0.5]], dtype=np.float32), (1, n)))
    proc.process(block.copy())  # settle at the old value
    proc.set_param(name, value)
    proc.process(block)
    return block


@pytest.mark.parametrize("cls, name, start, value, params", [
    (mixcore.Width, "width", 1.0, 0.0, {}),
    (mixcore.Compressor, "makeup_db", 0.0, 6.0, {"threshold_db": 0.0}),  # no compression: the makeup only
    (mixcore.Gain, "gain_db", 0.0, 6.0, {}),
])
def test_the_glide_lasts_the_declared_smoothing_ms(cls, name, start, value, params):
    declared = cls.PARAMS[[p.name for p in cls.PARAMS].index(name)].smoothing_ms
    assert declared == 20.0
    slow = step_response(cls(**{name: start}, **params), name, value)
    fast = step_response(with_smoothing(cls, name, 1.0)(**{name: start}, **params), name, value)
    ramp = int(round(1e-3 * FS))  # 48 samples
    end = fast[:, ramp + 8:]
    np.testing.assert_array_equal(end, np.broadcast_to(end[:, -1:], end.shape))  # arrived after 1 ms
    np.testing.assert_array_equal(fast[:, -1], slow[:, -1])  # at the same value as the 20 ms glide ...
    mid = int(round(10e-3 * FS))
    assert not np.array_equal(slow[:, mid], slow[:, -1])  # ... which is still gliding at 10 ms
