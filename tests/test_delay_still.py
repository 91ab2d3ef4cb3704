"""The delay's still path (pyx/delay.pyx ``_delay_still``: whole delay, no low-pass, no ping-pong,
nothing gliding) against the delay formula written out in numpy, bit for bit, for any blocks."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mixcore.processors.base import ProcessSpec
from mixcore.processors.delay import Delay

SR = 48000.0


def reference(x: np.ndarray, d: int, fb: float, mix: float) -> np.ndarray:
    """y[n] = line[n - d]; line[n] = x[n] + fb * y[n] (|y| < 1e-30 fed back as 0); out = (1-mix) x + mix y."""
    ch, n = x.shape
    line = np.zeros((ch, n + d))
    out = np.empty_like(x)
    for s in range(0, n, d):  # d samples at a time: they read only what was written before
        e = min(n, s + d)
        y = line[:, s:e]  # line[k] holds the input written d samples before position k + d
        yf = np.where(np.abs(y) < 1e-30, 0.0, y)
        xs = x[:, s:e].astype(np.float64)
        line[:, s + d:e + d] = xs + fb * yf
        out[:, s:e] = (xs * (1.0 - mix) + y * mix).astype(np.float32)
    return out


@settings(max_examples=30, deadline=None)
@given(ms=st.sampled_from([0.5, 1.0, 10.0, 375.0, 1000.0]), fb=st.floats(0.0, 0.95), mix=st.floats(0.0, 1.0),
       seed=st.integers(0, 1000), cuts=st.lists(st.integers(1, 30000), min_size=1, max_size=6))
def test_still_delay_is_the_formula(ms, fb, mix, seed, cuts):
    d = Delay(time_ms=ms, feedback=fb, mix=mix)
    d.prepare(ProcessSpec(SR, 32768, 2))
    x = (np.random.default_rng(seed).standard_normal((2, sum(cuts))) * 0.3).astype(np.float32)
    x[:, -len(x[0]) // 4:] *= np.float32(1e-35)  # tiny values: the loop's flush
    y = x.copy()
    i = 0
    for n in cuts:
        blk = np.ascontiguousarray(y[:, i:i + n])
        d.process(blk)
        y[:, i:i + n] = blk
        i += n
    want = reference(x, int(round(ms * SR / 1000.0)), float(np.float64(fb)), float(np.float64(mix)))
    assert y.tobytes() == want.tobytes()
