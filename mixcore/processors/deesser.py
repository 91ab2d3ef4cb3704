"""``deesser``: split-band de-esser."""
from __future__ import annotations

import math

import numpy as np

from .._dsp.deesser import deesser_coeffs, process_deesser, process_deesser_automated
from ..params import Param
from .base import ProcessSpec, Processor
from .coeffs import one_pole
from .registry import register

#: Gain reduction attack, envelope release and gain release, in ms.
ATTACK_MS = 1.0
ENVELOPE_RELEASE_MS = 60.0
GAIN_RELEASE_MS = 10.0
BAND_Q = 1.0 / math.sqrt(2.0)


def butterworth2_coeffs(sample_rate: float, freq_hz: float, kind: str) -> np.ndarray:
    """RBJ cookbook low-pass or high-pass biquad ``[b0, b1, b2, a1, a2]`` normalised by ``a0``, Q = 1/sqrt(2).

    ``H(s) = 1 / (s^2 + sqrt(2) s + 1)`` (low) or ``s^2 / (...)`` (high) through the bilinear
    transform with the cutoff prewarped (R. Bristow-Johnson, *Cookbook formulae for audio EQ
    biquad filter coefficients*): the 2nd-order Butterworth filters, 12 dB/oct.
    """
    w0 = 2.0 * math.pi * freq_hz / sample_rate
    cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * BAND_Q)
    a0 = 1.0 + alpha
    b = ((1.0 - cw) / 2.0, 1.0 - cw, (1.0 - cw) / 2.0) if kind == "lowpass" else \
        ((1.0 + cw) / 2.0, -(1.0 + cw), (1.0 + cw) / 2.0)
    return np.array([b[0] / a0, b[1] / a0, b[2] / a0, -2.0 * cw / a0, (1.0 - alpha) / a0], dtype=np.float64)


@register
class DeEsser(Processor):
    """Split-band de-esser: only the band above ``freq_hz`` is turned down.

    With ``LP`` and ``HP`` the 2nd-order Butterworth low- and high-pass at ``freq_hz`` (the
    prewarped bilinear-transform designs of :func:`butterworth2_coeffs`, Q = 0.7071; at most
    0.45 fs), both from one trapezoidal state-variable filter per channel (Zavalishin, *The Art
    of VA Filter Design*, 2012, ch. 5), which, unlike a biquad, stays stable when ``freq_hz``
    moves every sample:

    - the band ``h = x - LP(x)`` is the exact complement of the low band, and the output is
      ``y = (x - h) + G h = x - (1 - G) h``: with no gain reduction (``G = 1``) the output is
      the input bit for bit. The response is ``T(f) = LP(f) + G (1 - LP(f))``: 1 in the low
      band, ``G`` well above ``freq_hz``. Far below ``freq_hz``, ``1 - LP`` is a quarter
      period ahead of the input, so a tone there changes in level by only about
      ``((1 - G) |1 - LP(f)|)^2 / 2`` (less than 0.05 dB for 500 Hz under a 6.5 kHz band);
    - the detector hears ``HP(x)`` (12 dB/oct), so low tones do not trigger it; its linked peak
      ``max_c |HP(x_c)|`` feeds a peak envelope (instant attack, 60 ms release) and a
      hard-knee compressor curve: above ``threshold_db`` the reduction is
      ``gr = (1/ratio - 1)(L - T)`` dB, smoothed by one-poles of 1 ms (more reduction) and
      10 ms (less), ``G = 10^(gr/20)``.

    For a steady sibilant of frequency ``f`` and amplitude ``A``: ``L = 20 log10(A |HP(f)|)``
    and the output amplitude is ``A |T(f)|``. ``listen = 1`` outputs ``HP(x)``, what the
    detector hears. The parameters change the detector or the curve, whose output glides, so
    they are not smoothed further; a new ``freq_hz`` takes effect at once.
    Sample-accurate automation: every parameter may arrive per sample (``listen`` switches at the
    sample where it crosses 0.5); sample ``i`` is processed with the values at ``i``.
    (Zoelzer, *DAFX*, 2nd ed., sec. 4.2.5; Giannoulis, Massberg & Reiss, JAES 60(6), 2012.)
    """

    type_name = "deesser"
    SAMPLE_ACCURATE = True
    # the parameters, typed for checkers and IDEs (read and set as attributes; declared in PARAMS)
    freq_hz: float
    threshold_db: float
    ratio: float
    listen: float
    PARAMS = (
        Param("freq_hz", default=6500.0, lo=2000.0, hi=16000.0, unit="Hz", taper="log",
              doc="lower edge (-3 dB) of the sibilance band"),
        Param("threshold_db", default=-30.0, lo=-60.0, hi=0.0, unit="dB", taper="linear",
              doc="peak level of the band where reduction starts"),
        Param("ratio", default=4.0, lo=1.0, hi=20.0, taper="log",
              doc="compression ratio of the band above the threshold"),
        Param("listen", default=0.0, lo=0.0, hi=1.0, doc="1: hear only the sibilance band", taper="linear"),
    )

    def _prepare(self, spec: ProcessSpec) -> None:
        self._z = np.zeros((spec.num_channels, 2), dtype=np.float64)
        self._h = np.zeros(spec.num_channels, dtype=np.float64)
        self._state = np.zeros(2, dtype=np.float64)
        self._co_run = np.zeros(3, dtype=np.float64)
        self._coeffs = np.zeros(3, dtype=np.float64)
        self._const = np.zeros(3, dtype=np.float64)  # deesser_coeffs' input

    def _update(self) -> None:
        fs = self.spec.sample_rate
        c = self._const  # derived by the kernel's code for automated runs (pyx/deesser.pyx _derive)
        c[0], c[1], c[2] = self.freq_hz, self.threshold_db, self.ratio
        self._thr, self._slope = deesser_coeffs(self._coeffs, c, fs)
        self._thr_db = self.threshold_db
        self._listen = self.listen >= 0.5
        self._r_env = one_pole(ENVELOPE_RELEASE_MS, fs)
        self._a_att = one_pole(ATTACK_MS, fs)
        self._a_rel = one_pole(GAIN_RELEASE_MS, fs)

    def reset(self) -> None:
        self._z[...] = 0.0
        self._state[...] = 0.0

    def process(self, block: np.ndarray) -> None:
        process_deesser(block, self._coeffs, self._z, self._h, self._state, self._thr, self._thr_db,
                        self._slope, self._r_env, self._a_att, self._a_rel, self._listen)

    def process_automated(self, block: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Parameters per sample (``values[name][i]`` at sample i), derived by the kernel as in ``_update``."""
        v = self._per_sample(values, block.shape[1])
        process_deesser_automated(block, self._co_run, self._z, self._h, self._state, v["freq_hz"],
                                  v["threshold_db"], v["ratio"], v["listen"], self._r_env, self._a_att, self._a_rel,
                                  self.spec.sample_rate)
        self._keep_last(values)
