"""``reverb``: an 8-line feedback delay network with damping, modulation and diffusion."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..params import Param
from ..simd import kernel
from .base import ProcessSpec, Processor
from .registry import register

_K = kernel("reverb")
process_reverb = _K.process_reverb
process_reverb_automated = _K.process_reverb_automated
loop_filters = _K.loop_filters

#: Line lengths in ms at room_size 0.5; scaled by (0.5 + room_size), then moved up to distinct primes.
LINE_MS = (29.7, 37.1, 41.1, 43.7, 53.9, 59.3, 67.1, 73.3)
#: Input diffusers (Dattorro 1997, fig. 1, at 29.761 kHz: 142, 107, 379, 277 samples) and the
#: fifth allpass that decorrelates the right channel's onset.
ALLPASS_MS = (4.77, 3.59, 12.73, 9.31, 7.37)
ALLPASS_G = (0.75, 0.75, 0.625, 0.625, 0.6)
#: Modulation of the odd lines: rates in Hz, depth in ms (peak), start phases.
LFO_HZ = (0.37, 0.53, 0.71, 0.97)
LFO_DEPTH_MS = 0.2
LFO_PHASE = (0.0, 0.5 * math.pi, math.pi, 1.5 * math.pi)
LFO_STEP = 16  # samples between LFO steps (MODSTEP in pyx/reverb.pyx)
#: Frequency at which ``damping`` sets the decay time, and how far: RT60(8 kHz) = decay_s (1 - 0.9 damping).
DAMPING_REF_HZ = 8000.0
DAMPING_MAX = 0.9
#: Output gains: the sum of the taps, and the diffused input added for the onset.
WET_GAIN = 0.6 / math.sqrt(8.0)
EARLY_GAIN = 0.25
MAX_PREDELAY_MS = 500.0
COEF_SMOOTHING_MS = 50.0


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % p for p in range(2, int(n ** 0.5) + 1))


@lru_cache(maxsize=64)
def prime_lengths(scale: float, sample_rate: float, ms: tuple[float, ...] = LINE_MS) -> tuple[int, ...]:
    """The smallest distinct primes at or above each length ``ms * scale`` (mutually prime lines)."""
    out: list[int] = []
    for m in ms:
        n = max(2, int(round(m * scale * 1e-3 * sample_rate)))
        while not _is_prime(n) or n in out:
            n += 1
        out.append(n)
    return tuple(out)


def loop_filter(d: int, decay_s: float, damping: float, sample_rate: float) -> tuple[float, float]:
    """``(G, b)`` of the loop filter ``G / (1 - b z^-1)`` of a line of ``d`` samples.

    DC gain ``G / (1 - b) = g = 10^(-3 d / (decay_s fs))`` (60 dB in ``decay_s``), and the
    gain at 8 kHz is ``g^(1 / alpha)``, ``alpha = 1 - 0.9 damping`` (60 dB in ``alpha decay_s``).
    Solving ``(1 - b)^2 / (1 - 2 b cos w + b^2) = rho^2`` for the root in [0, 1)::

        b = (1 - rho^2 cos w - rho sqrt((1 - cos w)(2 - rho^2 (1 + cos w)))) / (1 - rho^2)

    (``rho >= 1 - 1e-12``: ``(g, 0)``.) Computed by the kernel's code (pyx/reverb.pxi ``_loop_filter``),
    which the automated runs use too.
    """
    out = np.empty(2)
    loop_filters(out, np.array([d], dtype=np.int64), decay_s, damping, sample_rate, DAMPING_MAX, DAMPING_REF_HZ)
    return float(out[0]), float(out[1])


def _pow2(n: int) -> int:
    return 1 << max(1, int(n).bit_length())


@register
class Reverb(Processor):
    """Feedback delay network reverb (Jot & Chaigne, AES 90th Convention, 1991).

    - Eight delay lines of mutually prime lengths (distinct primes near 30..73 ms, scaled by
      ``0.5 + room_size``), fed back through the normalised 8x8 Hadamard matrix ``H / sqrt(8)``,
      which is orthogonal, so the loop itself neither gains nor loses energy.
    - Each line's loop gain ``g_i = 10^(-3 d_i / (decay_s fs))`` takes every mode down 60 dB in
      ``decay_s`` seconds (RT60), whatever the line's length ``d_i``.
    - Frequency-dependent decay (Jot's absorptive filters): the gain is a one-pole low-pass
      ``G_i / (1 - b_i z^-1)`` with DC gain ``g_i`` and, at 8 kHz, the gain that gives an RT60 of
      ``decay_s (1 - 0.9 damping)`` (:func:`loop_filter`); ``damping`` 0 is flat. (Near full
      damping of a short decay the input diffusers' own ringing, about 0.2 s, sets a floor.)
    - The odd lines' lengths swing by +-0.2 ms at 0.37..0.97 Hz (deterministic sines, the same
      on every run), read through first-order allpass interpolation (lossless, so the decay
      time is kept), which breaks up metallic ringing (Dattorro, JAES 45(9), 1997).
    - The input (the mean of the channels) is delayed by ``predelay_ms`` and diffused by four
      Schroeder allpasses (Dattorro's lengths and gains) before it enters every line.
    - Outputs: left taps all lines with +1, right with alternating signs (orthogonal patterns:
      decorrelated stereo), plus a little of the diffused input so the wet signal starts exactly
      ``predelay_ms`` after the dry one; the right channel's copy passes one more allpass.
      A mono block gets the left output; channel ``c`` of a wider block gets left for even ``c``.
    - ``mix`` 1 is 100 % wet; ``mix``, ``decay_s`` and ``damping`` glide per sample (20, 50,
      50 ms). ``room_size`` and ``predelay_ms`` resize delay lines and are not automatable.
    - Sample-accurate automation: ``decay_s``, ``damping`` and ``mix`` may arrive per sample; at
      sample ``i`` the coefficients head for the values at ``i`` and glide as above.

    ``tail_samples`` is ``(1.1 decay_s + predelay) fs``.
    """

    type_name = "reverb"
    SAMPLE_ACCURATE = True
    # the parameters, typed for checkers and IDEs (read and set as attributes; declared in PARAMS)
    room_size: float
    decay_s: float
    damping: float
    predelay_ms: float
    mix: float
    PARAMS = (
        Param("room_size", default=0.5, lo=0.0, hi=1.0, automatable=False, taper="linear",
              doc="scales the delay lines (0.5 .. 1.5 x)"),
        Param("decay_s", default=1.5, lo=0.1, hi=20.0, unit="s", smoothing_ms=COEF_SMOOTHING_MS, taper="log",
              doc="RT60 at low frequencies"),
        Param("damping", default=0.5, lo=0.0, hi=1.0, smoothing_ms=COEF_SMOOTHING_MS,
              doc="high-frequency decay: RT60 at 8 kHz = decay_s (1 - 0.9 damping)", taper="linear"),
        Param("predelay_ms", default=0.0, lo=0.0, hi=MAX_PREDELAY_MS, unit="ms", automatable=False, taper="log"),
        Param("mix", default=0.3, lo=0.0, hi=1.0, smoothing_ms=20.0, doc="0 dry .. 1 wet only", taper="linear"),
    )

    def _prepare(self, spec: ProcessSpec) -> None:
        fs = spec.sample_rate
        longest = prime_lengths(1.5, fs)[-1] + int(math.ceil(LFO_DEPTH_MS * 1e-3 * fs)) + 4
        self._lines = np.zeros((_pow2(longest), 8), dtype=np.float64)  # interleaved: one row per sample
        self._coef = np.zeros((3, 16), dtype=np.float64)
        self._state = np.zeros(36, dtype=np.float64)
        ap_len = [max(1, int(round(m * 1e-3 * fs))) for m in ALLPASS_MS]
        self._apd = np.array(ap_len, dtype=np.int64)
        self._apg = np.array(ALLPASS_G, dtype=np.float64)
        self._ap = np.zeros((len(ap_len), _pow2(max(ap_len) + 1)), dtype=np.float64)
        self._pd = np.zeros(_pow2(int(math.ceil(MAX_PREDELAY_MS * 1e-3 * fs)) + 1), dtype=np.float64)
        self._counters = np.zeros(2, dtype=np.int64)
        self._d = None
        self._mix = self._param_ramp("mix")
        self._coef_samples = int(round(COEF_SMOOTHING_MS * 1e-3 * fs))
        self._prm = np.zeros(7, dtype=np.float64)
        self._prm[:4] = [2.0 * math.sin(math.pi * f * LFO_STEP / fs) for f in LFO_HZ]
        self._prm[4] = LFO_DEPTH_MS * 1e-3 * fs
        self._prm[5] = WET_GAIN
        self._prm[6] = EARLY_GAIN

    def _update(self) -> None:
        fs = self.spec.sample_rate
        d = np.array(prime_lengths(0.5 + self.room_size, fs), dtype=np.int64)
        if self._d is not None and not np.array_equal(d, self._d):
            self._state[20:24] += d[1::2] - self._d[1::2]  # keep the modulated reads next to their lines
        self._d = d
        self._pdd = int(round(self.predelay_ms * 1e-3 * fs))
        target = np.empty(16)
        loop_filters(target, d, self.decay_s, self.damping, fs, DAMPING_MAX, DAMPING_REF_HZ)
        self._glide_coefficients(target)
        self._mix.set_target(self.mix)

    def _glide_coefficients(self, target: np.ndarray) -> None:
        """Start a linear ramp of the loop-filter coefficients from where they are to ``target``."""
        current, tgt, step = self._coef
        if np.array_equal(tgt, target):
            return
        tgt[:] = target
        if self._coef_samples <= 0:
            current[:] = target
            self._counters[1] = 0
        else:
            step[:] = (target - current) / self._coef_samples
            self._counters[1] = self._coef_samples

    def reset(self) -> None:
        for a in (self._lines, self._ap, self._pd, self._state):
            a[...] = 0.0
        depth = self._prm[4]
        for m, phase in enumerate(LFO_PHASE):  # state layout: see process_reverb
            self._state[12 + m] = math.sin(phase)
            self._state[16 + m] = math.cos(phase)
            self._state[20 + m] = self._d[2 * m + 1] + depth * math.sin(phase)
        self._coef[0] = self._coef[1]
        self._counters[:] = 0
        self._mix.jump()

    def process(self, block: np.ndarray) -> None:
        process_reverb(block, self._lines, self._d, self._coef, self._state, self._ap, self._apd, self._apg,
                       self._pd, self._pdd, self._mix.state, self._counters, self._prm)

    def process_automated(self, block: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """``decay_s``, ``damping``, ``mix`` per sample (``values[name][i]`` at sample i)."""
        v = self._per_sample(values, block.shape[1])
        process_reverb_automated(block, self._lines, self._d, self._coef, self._state, self._ap, self._apd, self._apg,
                                 self._pd, self._pdd, self._mix.state, self._counters, self._prm, v["decay_s"],
                                 v["damping"], v["mix"], self.spec.sample_rate, self._coef_samples,
                                 float(self._mix.ramp_samples), DAMPING_MAX, DAMPING_REF_HZ)
        self._keep_last(values)

    @property
    def tail_samples(self) -> int:
        if self.spec is None:
            return 0
        return int(math.ceil((1.1 * self.decay_s + self.predelay_ms * 1e-3) * self.spec.sample_rate - 1e-6))
