"""K-weighting filter design at any sample rate (ITU-R BS.1770-4).

The two stages are designed from their analog prototypes by the bilinear
transform with pre-warping, as in libebur128 and pyloudnorm, rather than taken
from the 48 kHz table: a high shelf (f0 = 1681.97 Hz, +4.0 dB, Q = 0.7072)
modelling the head, and the RLB high-pass (f0 = 38.135 Hz, Q = 0.5003).
At 48 kHz they reproduce the standard's table of coefficients.
"""
from __future__ import annotations

import math

import numpy as np

SHELF_F0 = 1681.974450955533
SHELF_GAIN_DB = 3.999843853973347
SHELF_Q = 0.7071752369554196
HP_F0 = 38.13547087602444
HP_Q = 0.5003270373238773


def k_weighting(sample_rate: float) -> np.ndarray:
    """(2, 5) array of [b0, b1, b2, a1, a2]: the pre-filter then the RLB high-pass."""
    K = math.tan(math.pi * SHELF_F0 / sample_rate)
    Vh = 10.0 ** (SHELF_GAIN_DB / 20.0)
    Vb = Vh ** 0.4996667741545416
    a0 = 1.0 + K / SHELF_Q + K * K
    shelf = [(Vh + Vb * K / SHELF_Q + K * K) / a0, 2.0 * (K * K - Vh) / a0, (Vh - Vb * K / SHELF_Q + K * K) / a0,
             2.0 * (K * K - 1.0) / a0, (1.0 - K / SHELF_Q + K * K) / a0]
    K = math.tan(math.pi * HP_F0 / sample_rate)
    a0 = 1.0 + K / HP_Q + K * K
    hp = [1.0, -2.0, 1.0, 2.0 * (K * K - 1.0) / a0, (1.0 - K / HP_Q + K * K) / a0]
    return np.array([shelf, hp], dtype=np.float64)


#: BS.1770-4 Table 1 and 2 (48 kHz), for tests.
TABLE_48K = np.array([
    [1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585],
    [1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621],
])


def channel_weights(channels: int) -> np.ndarray:
    """G_i of BS.1770-4: 1.0 for L, R, C; 1.41 (+1.5 dB) for surrounds; LFE excluded (5.1 order L R C LFE Ls Rs)."""
    if channels == 6:
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    if channels == 5:
        return np.array([1.0, 1.0, 1.0, 1.41, 1.41])
    return np.ones(channels)
