"""EQ: the whole magnitude response, measured from an impulse through ``mixcore.EQ``, against the RBJ
Audio EQ Cookbook formulas written out here (not mixcore's ``band_coeffs``) and scipy's Butterworth
designs, for several Q values and slopes; -3 dB points of band-pass and notch from the analog formula."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal as ss
from scipy.optimize import brentq

import mixcore

SR = 48000
N = 1 << 14  # impulse response length: every filter below has decayed far below float32 resolution
F = np.geomspace(20.0, 20000.0, 400)


def rbj(kind: str, f0: float, q: float, gain_db: float = 0.0):
    """(b, a) of one cookbook biquad, straight from the text of the cookbook."""
    A = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * f0 / SR
    cw, sw = math.cos(w0), math.sin(w0)
    alpha = sw / (2 * q)
    if kind == "lowpass":
        b, a = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2], [1 + alpha, -2 * cw, 1 - alpha]
    elif kind == "highpass":
        b, a = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2], [1 + alpha, -2 * cw, 1 - alpha]
    elif kind == "bandpass":  # constant 0 dB peak gain
        b, a = [alpha, 0, -alpha], [1 + alpha, -2 * cw, 1 - alpha]
    elif kind == "notch":
        b, a = [1, -2 * cw, 1], [1 + alpha, -2 * cw, 1 - alpha]
    elif kind == "peak":
        b, a = [1 + alpha * A, -2 * cw, 1 - alpha * A], [1 + alpha / A, -2 * cw, 1 - alpha / A]
    elif kind == "lowshelf":
        r = 2 * math.sqrt(A) * alpha
        b = [A * ((A + 1) - (A - 1) * cw + r), 2 * A * ((A - 1) - (A + 1) * cw), A * ((A + 1) - (A - 1) * cw - r)]
        a = [(A + 1) + (A - 1) * cw + r, -2 * ((A - 1) + (A + 1) * cw), (A + 1) + (A - 1) * cw - r]
    elif kind == "highshelf":
        r = 2 * math.sqrt(A) * alpha
        b = [A * ((A + 1) + (A - 1) * cw + r), -2 * A * ((A - 1) + (A + 1) * cw), A * ((A + 1) + (A - 1) * cw - r)]
        a = [(A + 1) - (A - 1) * cw + r, 2 * ((A - 1) - (A + 1) * cw), (A + 1) - (A - 1) * cw - r]
    else:
        raise ValueError(kind)
    return np.array(b), np.array(a)


def measured_ir(band: dict) -> np.ndarray:
    """Impulse response of a one-band EQ, processed by mixcore in float32 blocks."""
    x = np.zeros(N, dtype=np.float32)
    x[0] = 1.0
    ir = mixcore.EQ(bands=[band])(x, SR, block_size=1000)
    assert np.all(np.abs(ir[-64:]) < 1e-6)  # decayed: the DTFT of ir is the filter's response
    return ir.astype(np.float64)


def response(b, a, f):
    return np.abs(ss.freqz(b, a, worN=np.atleast_1d(f), fs=SR)[1])


def assert_same_response(ir, ref, f=F):
    got = response(ir, [1.0], f)
    # dB within 0.01 dB where the response is above -40 dB; below that, absolute agreement
    loud = ref > 0.01
    np.testing.assert_allclose(20 * np.log10(got[loud]), 20 * np.log10(ref[loud]), atol=0.01)
    np.testing.assert_allclose(got[~loud], ref[~loud], atol=2e-4)


CASES = [(k, f0, q, g)
         for k, f0, g in (("peak", 1000.0, 9.0), ("peak", 250.0, -12.0), ("lowshelf", 300.0, 8.0),
                          ("highshelf", 4000.0, -10.0), ("lowshelf", 150.0, -6.0), ("highshelf", 6000.0, 12.0))
         for q in (0.3, 0.7071, 2.0, 6.0)]
CASES += [(k, f0, q, 0.0) for k, f0 in (("notch", 1000.0), ("bandpass", 2000.0), ("highpass", 200.0),
                                        ("lowpass", 5000.0)) for q in (0.4, 0.7071, 1.5, 5.0)]


@pytest.mark.parametrize("kind,f0,q,gain", CASES, ids=[f"{k}-{f0:g}-q{q:g}-{g:+g}dB" for k, f0, q, g in CASES])
def test_whole_response_matches_the_cookbook(kind, f0, q, gain):
    ir = measured_ir({"kind": kind, "freq_hz": f0, "q": q, "gain_db": gain})
    assert_same_response(ir, response(*rbj(kind, f0, q, gain), F))


@pytest.mark.parametrize("kind", ["peak", "lowshelf", "highshelf", "bandpass", "notch", "highpass", "lowpass"])
def test_q_changes_the_response_away_from_the_centre(kind):
    """The cases above are Q-sensitive: the response an octave off f0 moves by > 1 dB between Q values."""
    f = np.array([1000.0 / 2, 1000.0 * 2])
    g = 9.0 if kind in ("peak", "lowshelf", "highshelf") else 0.0
    lo = 20 * np.log10(response(*rbj(kind, 1000.0, 0.5, g), f))
    hi = 20 * np.log10(response(*rbj(kind, 1000.0, 3.0, g), f))
    assert np.max(np.abs(hi - lo)) > 1.0


@pytest.mark.parametrize("kind,f0", [("highpass", 120.0), ("lowpass", 500.0)])
@pytest.mark.parametrize("slope", [24, 36, 48])
def test_steep_slopes_match_scipy_butterworth(kind, f0, slope):
    ir = measured_ir({"kind": kind, "freq_hz": f0, "slope_db": slope})
    sos = ss.butter(slope // 6, f0, btype="high" if kind == "highpass" else "low", fs=SR, output="sos")
    ref = np.abs(ss.sosfreqz(sos, worN=F, fs=SR)[1])
    assert_same_response(ir, ref)
    # -3.01 dB at the cutoff, and the slope an octave beyond it is `slope` dB per octave (within 1 dB)
    f_far = np.array([f0 / 2, f0 / 4]) if kind == "highpass" else np.array([f0 * 2, f0 * 4])
    at = 20 * np.log10(response(ir, [1.0], np.array([f0]))[0])
    assert at == pytest.approx(-3.0103, abs=0.02)
    far = 20 * np.log10(response(ir, [1.0], f_far))
    assert abs(far[1] - far[0]) == pytest.approx(slope, abs=1.0)


@pytest.mark.parametrize("kind", ["bandpass", "notch"])
@pytest.mark.parametrize("q", [0.5, 1.0, 2.0, 4.0, 10.0])
def test_minus_3_db_points_of_bandpass_and_notch(kind, q):
    """-3 dB edges at f0 (sqrt(1 + 1/(4Q^2)) -+ 1/(2Q)) in the analog prototype, mapped to the digital
    filter by the bilinear transform's frequency warping, tan(pi f / fs) / tan(pi f0 / fs) (which moves them
    by up to 0.7 % at 1 kHz of 48 kHz)."""
    f0 = 1000.0
    ir = measured_ir({"kind": kind, "freq_hz": f0, "q": q})

    def db_plus_3(f):
        return 20 * np.log10(response(ir, [1.0], f)[0]) + 3.0103

    root = math.sqrt(1 + 1 / (4 * q * q))
    t0 = math.tan(math.pi * f0 / SR)
    want_lo, want_hi = (SR / math.pi * math.atan(t0 * w) for w in (root - 1 / (2 * q), root + 1 / (2 * q)))
    assert want_lo == pytest.approx(f0 * (root - 1 / (2 * q)), rel=1e-2)  # the analog edges, nearly
    assert want_hi == pytest.approx(f0 * (root + 1 / (2 * q)), rel=1e-2)
    lo = brentq(db_plus_3, 1.0, f0 * 0.999 if kind == "bandpass" else f0 * 0.99999, xtol=1e-6)
    hi = brentq(db_plus_3, f0 * 1.001 if kind == "bandpass" else f0 * 1.00001, 20000.0, xtol=1e-6)
    assert lo == pytest.approx(want_lo, rel=1e-4)
    assert hi == pytest.approx(want_hi, rel=1e-4)
    assert f0 / (hi - lo) == pytest.approx(q, rel=1e-2)  # Q = centre / -3 dB bandwidth
