"""K-weighting filter design at any sample rate, and channel weights (ITU-R BS.1770-4).

BS.1770-4 gives the K-weighting filter only as coefficients at 48 kHz (Tables 1
and 2): a high shelf (the acoustic effect of the head) then the RLB high-pass.
For other rates this module goes back to the analog prototypes and designs each
stage again with the bilinear transform, pre-warped at the stage's corner
frequency, as libebur128 does:

shelf, ``K = tan(pi f0 / fs)``, ``a0 = 1 + K/Q + K^2``::

    b = [Vh + Vb K/Q + K^2, 2 (K^2 - Vh), Vh - Vb K/Q + K^2] / a0
    a = [1, 2 (K^2 - 1) / a0, (1 - K/Q + K^2) / a0]

high-pass (same K, a0 with its own f0, Q)::

    b = [1, -2, 1]
    a = [1, 2 (K^2 - 1) / a0, (1 - K/Q + K^2) / a0]

The prototype parameters (f0, Q, Vh, Vb of the shelf; f0, Q of the high-pass)
are not typed in: ``prototype()`` solves them in closed form from the
standard's 48 kHz table (with ``r = 1 - a1 + a2``: ``K^2 = (1 + a1 + a2) / r``,
``K/Q = 2 (1 - a2) / r``, ``a0 = 4 / r``, ``Vh = K^2 - b1 a0 / 2``,
``Vb = (b0 - b2) a0 / (2 K/Q)``), so 48 kHz gives back the table (to rounding)
and every other rate gets the same analog filter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: BS.1770-4 Table 1 (pre-filter) and Table 2 (RLB high-pass) at 48 kHz: b0, b1, b2, a1, a2.
TABLE_48K = np.array([
    [1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585],
    [1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621],
])

#: The lowest rate the design accepts: the shelf's corner (1.68 kHz) must sit well below Nyquist.
MIN_SAMPLE_RATE = 8000


@dataclass(frozen=True)
class Prototype:
    """Analog prototype parameters of the two K-weighting stages."""

    shelf_f0_hz: float
    shelf_q: float
    shelf_vh: float   # linear gain of the shelf at high frequencies (about +4 dB)
    shelf_vb: float   # linear band gain term of the shelf (about sqrt(vh))
    hp_f0_hz: float
    hp_q: float


def _solve(b0: float, b1: float, b2: float, a1: float, a2: float, fs: float):
    r = 1.0 - a1 + a2
    K = math.sqrt((1.0 + a1 + a2) / r)
    k_over_q = 2.0 * (1.0 - a2) / r
    a0 = 4.0 / r
    f0 = fs * math.atan(K) / math.pi
    Q = K / k_over_q
    vh = K * K - b1 * a0 / 2.0
    vb = (b0 - b2) * a0 / (2.0 * k_over_q)
    return f0, Q, vh, vb


@lru_cache(maxsize=1)
def prototype() -> Prototype:
    """The analog prototypes, solved from BS.1770-4's 48 kHz table (see the module docstring)."""
    f0, q, vh, vb = _solve(*TABLE_48K[0], 48000.0)
    hf0, hq, _, _ = _solve(*TABLE_48K[1], 48000.0)
    return Prototype(f0, q, vh, vb, hf0, hq)


def k_weighting(sample_rate: float) -> np.ndarray:
    """(2, 5) array of [b0, b1, b2, a1, a2]: the pre-filter, then the RLB high-pass, at ``sample_rate``."""
    fs = float(sample_rate)
    if not fs >= MIN_SAMPLE_RATE:
        raise ValueError(f"sample rate {sample_rate:g} Hz: K-weighting needs at least {MIN_SAMPLE_RATE} Hz")
    p = prototype()
    K = math.tan(math.pi * p.shelf_f0_hz / fs)
    a0 = 1.0 + K / p.shelf_q + K * K
    shelf = [(p.shelf_vh + p.shelf_vb * K / p.shelf_q + K * K) / a0, 2.0 * (K * K - p.shelf_vh) / a0,
             (p.shelf_vh - p.shelf_vb * K / p.shelf_q + K * K) / a0, 2.0 * (K * K - 1.0) / a0,
             (1.0 - K / p.shelf_q + K * K) / a0]
    K = math.tan(math.pi * p.hp_f0_hz / fs)
    a0 = 1.0 + K / p.hp_q + K * K
    hp = [1.0, -2.0, 1.0, 2.0 * (K * K - 1.0) / a0, (1.0 - K / p.hp_q + K * K) / a0]
    return np.array([shelf, hp], dtype=np.float64)


def channel_weights(channels: int, layout=None, *, dual_mono: bool = False) -> np.ndarray:
    """G_i of BS.1770-4 for ``channels`` channels laid out as ``layout`` (see
    ``mixcore.metering.layouts.resolve``: by default 1-6 channels up to 5.1 in WAV order, 8 = 7.1,
    12 = 7.1.4); ``dual_mono`` counts a single channel twice (+3 dB, a mono signal played on two
    loudspeakers). ValueError when no layout applies."""
    from .layouts import resolve, weights

    g = np.array(weights(resolve(channels, layout)), dtype=np.float64)
    if dual_mono:
        if channels != 1:
            raise ValueError(f"dual mono is for one channel, not {channels}")
        g *= 2.0
    return g
