"""Biquad coefficient design: pure functions after RBJ's Audio EQ Cookbook.

Robert Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
coefficients" (W3C Audio EQ Cookbook). Each function returns the normalised
coefficients ``[b0, b1, b2, a1, a2]`` (a0 divided out) as a float64 array, for

    H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2)

with w0 = 2 pi f0 / fs, alpha = sin(w0) / (2 Q), A = 10^(gain_db / 40).
"""
from __future__ import annotations

import numpy as np

from .coeffs import gain_from_db

KINDS = ("peak", "lowshelf", "highshelf", "highpass", "lowpass", "bandpass", "notch")


def _norm(b0, b1, b2, a0, a1, a2) -> np.ndarray:
    """[b0, b1, b2, a1, a2] / a0; for array inputs, shape (n, 5)."""
    b0, b1, b2, a0, a1, a2 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (b0, b1, b2, a0, a1, a2)))
    return np.stack([b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0], axis=-1)


def _w(sample_rate, freq_hz, q):
    # numpy functions, so every design function also takes arrays (one filter per element)
    w0 = 2.0 * np.pi * np.asarray(freq_hz, dtype=np.float64) / sample_rate
    return np.cos(w0), np.sin(w0), np.sin(w0) / (2.0 * np.asarray(q, dtype=np.float64))


def lowpass_coeffs(sample_rate: float, freq_hz: float, q: float = 0.7071067811865476) -> np.ndarray:
    """LPF: H(s) = 1 / (s^2 + s/Q + 1)."""
    c, _s, al = _w(sample_rate, freq_hz, q)
    return _norm((1 - c) / 2, 1 - c, (1 - c) / 2, 1 + al, -2 * c, 1 - al)


def highpass_coeffs(sample_rate: float, freq_hz: float, q: float = 0.7071067811865476) -> np.ndarray:
    """HPF: H(s) = s^2 / (s^2 + s/Q + 1)."""
    c, _s, al = _w(sample_rate, freq_hz, q)
    return _norm((1 + c) / 2, -(1 + c), (1 + c) / 2, 1 + al, -2 * c, 1 - al)


def bandpass_coeffs(sample_rate: float, freq_hz: float, q: float = 0.7071067811865476) -> np.ndarray:
    """BPF, constant 0 dB peak gain: H(s) = (s/Q) / (s^2 + s/Q + 1)."""
    c, _s, al = _w(sample_rate, freq_hz, q)
    return _norm(al, 0.0, -al, 1 + al, -2 * c, 1 - al)


def notch_coeffs(sample_rate: float, freq_hz: float, q: float = 0.7071067811865476) -> np.ndarray:
    """Notch: H(s) = (s^2 + 1) / (s^2 + s/Q + 1)."""
    c, _s, al = _w(sample_rate, freq_hz, q)
    return _norm(1.0, -2 * c, 1.0, 1 + al, -2 * c, 1 - al)


def peak_coeffs(sample_rate: float, freq_hz: float, q: float, gain_db: float) -> np.ndarray:
    """Peaking EQ: H(s) = (s^2 + s (A/Q) + 1) / (s^2 + s/(A Q) + 1); gain_db at f0."""
    A = gain_from_db(np.asarray(gain_db, dtype=np.float64) / 2.0)  # 10^(gain_db/40), libm: see coeffs.py
    c, _s, al = _w(sample_rate, freq_hz, q)
    return _norm(1 + al * A, -2 * c, 1 - al * A, 1 + al / A, -2 * c, 1 - al / A)


def lowshelf_coeffs(sample_rate: float, freq_hz: float, q: float, gain_db: float) -> np.ndarray:
    """Low shelf: gain_db below f0, gain_db/2 at f0 (RBJ, Q form)."""
    A = gain_from_db(np.asarray(gain_db, dtype=np.float64) / 2.0)  # 10^(gain_db/40), libm: see coeffs.py
    c, _s, al = _w(sample_rate, freq_hz, q)
    k = 2 * np.sqrt(A) * al
    return _norm(A * ((A + 1) - (A - 1) * c + k), 2 * A * ((A - 1) - (A + 1) * c), A * ((A + 1) - (A - 1) * c - k),
                 (A + 1) + (A - 1) * c + k, -2 * ((A - 1) + (A + 1) * c), (A + 1) + (A - 1) * c - k)


def highshelf_coeffs(sample_rate: float, freq_hz: float, q: float, gain_db: float) -> np.ndarray:
    """High shelf: gain_db above f0, gain_db/2 at f0 (RBJ, Q form)."""
    A = gain_from_db(np.asarray(gain_db, dtype=np.float64) / 2.0)  # 10^(gain_db/40), libm: see coeffs.py
    c, _s, al = _w(sample_rate, freq_hz, q)
    k = 2 * np.sqrt(A) * al
    return _norm(A * ((A + 1) + (A - 1) * c + k), -2 * A * ((A - 1) + (A + 1) * c), A * ((A + 1) + (A - 1) * c - k),
                 (A + 1) - (A - 1) * c + k, 2 * ((A - 1) - (A + 1) * c), (A + 1) - (A - 1) * c - k)


def band_coeffs(sample_rate: float, kind: str, freq_hz: float, q: float, gain_db: float) -> np.ndarray:
    """Coefficients of one EQ band of ``kind``."""
    if kind in ("peak", "lowshelf", "highshelf"):
        return {"peak": peak_coeffs, "lowshelf": lowshelf_coeffs, "highshelf": highshelf_coeffs}[kind](
            sample_rate, freq_hz, q, gain_db)
    return {"highpass": highpass_coeffs, "lowpass": lowpass_coeffs, "bandpass": bandpass_coeffs,
            "notch": notch_coeffs}[kind](sample_rate, freq_hz, q)


def to_sos(coeffs: np.ndarray) -> np.ndarray:
    """[b0, b1, b2, a1, a2] rows -> scipy's sos rows [b0, b1, b2, 1, a1, a2]."""
    c = np.atleast_2d(coeffs)
    return np.column_stack([c[:, :3], np.ones(len(c)), c[:, 3:]])
