"""``reverb``: an 8-line feedback delay network."""
from __future__ import annotations

import math

import numpy as np

from .._dsp.reverb import process_reverb
from ..params import Param
from .base import ProcessSpec, Processor
from .registry import register

#: Base line lengths in ms at room_size 0.5 (scaled by 0.5 + room_size).
LINE_MS = (29.7, 37.1, 41.1, 43.7, 53.9, 59.3, 67.1, 73.3)
ALLPASS_MS = (4.77, 3.59, 12.73, 9.31)
ALLPASS_G = 0.6
MOD_DEPTH_MS = 0.25  # delay modulation of the odd lines
MOD_RATES_HZ = (0.0, 0.41, 0.0, 0.53, 0.0, 0.67, 0.0, 0.79)
MAX_PREDELAY_MS = 500.0
# output taps: two orthogonal rows of an 8x8 Hadamard matrix
OUT_L = np.array([1, 1, 1, 1, 1, 1, 1, 1], dtype=np.float64)
OUT_R = np.array([1, -1, 1, -1, 1, -1, 1, -1], dtype=np.float64)


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % p for p in range(2, int(n ** 0.5) + 1))


def prime_lengths(ms: tuple[float, ...], scale: float, sample_rate: float) -> list[int]:
    """The smallest distinct primes at or above each length (mutually prime delay lines)."""
    out: list[int] = []
    for m in ms:
        n = max(2, int(round(m * scale * 1e-3 * sample_rate)))
        while not _is_prime(n) or n in out:
            n += 1
        out.append(n)
    return out


def _pow2(n: int) -> int:
    return 1 << max(1, int(n).bit_length())


@register
class Reverb(Processor):
    """Feedback delay network reverb (Jot & Chaigne, 1991).

    Eight delay lines of mutually prime lengths (scaled by ``room_size``) fed
    back through a normalised 8x8 Hadamard matrix (orthogonal, so the loop
    loses energy only through the line gains). Each line's gain
    ``g_i = 10^(-3 d_i / (decay_s fs))`` makes every mode decay by 60 dB in
    ``decay_s`` seconds (RT60); a unity-DC one-pole low-pass in each line,
    set by ``damping``, makes high frequencies decay faster. Four Schroeder
    allpasses diffuse the input, ``predelay_ms`` delays it, and the left and
    right outputs tap the lines with orthogonal sign patterns (decorrelated
    stereo). Four of the lines are slowly modulated (0.25 ms at 0.4-0.8 Hz, deterministic) against
    metallic ringing. ``mix`` 1 is 100 % wet.
    """

    type_name = "reverb"
    PARAMS = (
        Param("room_size", 0.5, 0.0, 1.0),
        Param("decay_s", 1.5, 0.1, 20.0, "s"),
        Param("damping", 0.5, 0.0, 1.0),
        Param("predelay_ms", 0.0, 0.0, MAX_PREDELAY_MS, "ms"),
        Param("mix", 0.3, 0.0, 1.0),
    )

    def _prepare(self, spec: ProcessSpec) -> None:
        fs = spec.sample_rate
        longest = prime_lengths(LINE_MS, 1.5, fs)[-1]
        self._lines = np.zeros((8, _pow2(longest + 2 + int(2 * MOD_DEPTH_MS * 1e-3 * fs) + 2)), dtype=np.float64)
        self._mdepth = np.array([MOD_DEPTH_MS * 1e-3 * fs if r > 0 else 0.0 for r in MOD_RATES_HZ])
        self._mrate = np.array([2 * math.pi * r / fs for r in MOD_RATES_HZ])
        self._moff = np.zeros(16)  # offsets, then the allpass interpolators' last outputs
        self._lp = np.zeros(8, dtype=np.float64)
        ap_len = [max(1, int(round(m * 1e-3 * fs))) for m in ALLPASS_MS]
        self._apd = np.array(ap_len, dtype=np.int64)
        self._ap = np.zeros((4, _pow2(max(ap_len) + 2)), dtype=np.float64)
        self._pd = np.zeros(_pow2(int(MAX_PREDELAY_MS * 1e-3 * fs) + 2), dtype=np.float64)
        self._w = np.zeros(1, dtype=np.int64)

    def _update(self) -> None:
        fs = self.spec.sample_rate
        lengths = prime_lengths(LINE_MS, 0.5 + self.room_size, fs)
        self._d = np.array(lengths, dtype=np.int64)
        self._g = np.array([10.0 ** (-3.0 * d / (self.decay_s * fs)) for d in lengths], dtype=np.float64)
        # damping 0..1 -> one-pole pole 0..0.7 at 48 kHz, rate-independent cutoff
        self._damp = math.exp(-2 * math.pi * (20000.0 * (1 - self.damping) + 1500.0 * self.damping) / fs) \
            if self.damping > 0 else 0.0
        self._pdd = int(round(self.predelay_ms * 1e-3 * fs))
        self._wet_gain = 0.6 / math.sqrt(8.0)

    def reset(self) -> None:
        for a in (self._lines, self._lp, self._ap, self._pd, self._moff):
            a[...] = 0.0
        self._w[0] = 0

    def process(self, block: np.ndarray) -> None:
        process_reverb(block, self._lines, self._d, self._g, self._lp, self._damp, self._ap, self._apd, ALLPASS_G,
                       self._pd, self._pdd, OUT_L, OUT_R, self.mix, self._wet_gain, self._w, self._mdepth,
                       self._mrate, self._moff)

    @property
    def tail_samples(self) -> int:
        fs = self.spec.sample_rate
        return int(min(30.0, self.decay_s * 1.1 + self.predelay_ms * 1e-3 + 0.1) * fs)
