"""EQ against the RBJ cookbook formulas and scipy."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
from helpers import noise

import mixcore
from mixcore.errors import MixcoreError
from mixcore.processors.filters import KINDS, band_coeffs, to_sos

SR = 48000


def freqz_db(coeffs, f):
    _, h = ss.sosfreqz(to_sos(coeffs), worN=np.atleast_1d(f), fs=SR)
    return 20 * np.log10(np.abs(h))


@pytest.mark.parametrize("kind", ["highpass", "lowpass"])
def test_butterworth_is_minus_3_db_at_cutoff(kind):
    assert freqz_db(band_coeffs(SR, kind, 1000.0, 0.7071067811865476, 0.0), 1000.0)[0] == pytest.approx(-3.0103, abs=0.01)


@pytest.mark.parametrize("gain", [-12.0, -3.0, 6.0, 15.0])
def test_peak_gain_at_centre_and_shelves_half_at_corner(gain):
    assert freqz_db(band_coeffs(SR, "peak", 2000.0, 1.0, gain), 2000.0)[0] == pytest.approx(gain, abs=0.05)
    assert freqz_db(band_coeffs(SR, "lowshelf", 200.0, 0.7071, gain), 200.0)[0] == pytest.approx(gain / 2, abs=0.05)
    assert freqz_db(band_coeffs(SR, "highshelf", 5000.0, 0.7071, gain), 5000.0)[0] == pytest.approx(gain / 2, abs=0.05)
    assert freqz_db(band_coeffs(SR, "lowshelf", 200.0, 0.7071, gain), 10.0)[0] == pytest.approx(gain, abs=0.05)
    assert freqz_db(band_coeffs(SR, "highshelf", 5000.0, 0.7071, gain), 22000.0)[0] == pytest.approx(gain, abs=0.1)


def test_notch_and_bandpass():
    assert freqz_db(band_coeffs(SR, "notch", 1000.0, 2.0, 0.0), 1000.0)[0] < -100
    assert freqz_db(band_coeffs(SR, "bandpass", 1000.0, 2.0, 0.0), 1000.0)[0] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("sr", [22050, 44100, 48000, 96000, 192000])
def test_output_matches_scipy_sosfilt(sr):
    bands = [{"kind": k, "freq_hz": f, "q": 0.9, "gain_db": 4.0}
             for k, f in zip(KINDS, (100, 200, 5000, 40, 9000, 1000, 3000))]
    x = noise(20000, 2, seed=1)
    y = mixcore.EQ(bands=bands)(x, sr)
    sos = to_sos(np.array([band_coeffs(sr, b["kind"], b["freq_hz"], b["q"], b["gain_db"]) for b in bands]))
    ref = ss.sosfilt(sos, x.astype(np.float64), axis=1)
    np.testing.assert_allclose(y, ref, atol=1e-4 * np.abs(ref).max())


def test_response_db_matches_freqz():
    eq = mixcore.EQ(bands=[{"kind": "peak", "freq_hz": 300.0, "gain_db": -4.0, "q": 2.0},
                           {"kind": "highshelf", "freq_hz": 8000.0, "gain_db": 3.0}])
    f = np.array([50.0, 300.0, 1000.0, 8000.0, 16000.0])
    sos = to_sos(np.array([band_coeffs(SR, "peak", 300, 2.0, -4.0), band_coeffs(SR, "highshelf", 8000, 0.7071067811865476, 3.0)]))
    _, h = ss.sosfreqz(sos, worN=f, fs=SR)
    np.testing.assert_allclose(eq.response_db(f, SR), 20 * np.log10(np.abs(h)), atol=1e-9)


def test_band_automation_by_name():
    eq = mixcore.EQ(bands=[{"kind": "peak", "freq_hz": 1000.0, "gain_db": 0.0}])
    eq.prepare(mixcore.ProcessSpec(SR, 512, 1))
    eq.set_param("bands[0].gain_db", 6.0)
    assert eq.bands[0]["gain_db"] == 6.0
    np.testing.assert_allclose(eq._target[0], band_coeffs(SR, "peak", 1000.0, 0.7071067811865476, 6.0))


@pytest.mark.parametrize("bands, pattern", [
    ([{"kind": "peek", "freq_hz": 100}], r"bands\[0\]\.kind: 'peek' is not one of .*\(did you mean 'peak'\?\)"),
    ([{"kind": "peak", "freq_hz": 5.0}], r"bands\[0\]\.freq_hz: 5\.0 is out of range, expected 10 \.\. 100000 Hz"),
    ([{"kind": "peak", "freq": 100}], r"bands\[0\]\.freq: unknown key \(did you mean 'freq_hz'\?\)"),
    ([{"kind": "peak", "freq_hz": 100, "q": 0}], r"bands\[0\]\.q: 0 is out of range"),
    ("peak", r"bands: expected a list of bands"),
])
def test_bad_bands(bands, pattern):
    with pytest.raises(MixcoreError, match=pattern):
        mixcore.EQ(bands=bands)


def test_frequency_above_nyquist_is_refused():
    with pytest.raises(MixcoreError, match=r"bands\[0\]\.freq_hz: 30000 Hz is not below the Nyquist"):
        mixcore.EQ(bands=[{"kind": "lowpass", "freq_hz": 30000.0}])(noise(10), 48000)


def test_silence_decays_to_exact_zero_without_denormals():
    eq = mixcore.EQ(bands=[{"kind": "highpass", "freq_hz": 20.0}])
    x = np.zeros((1, 480000), np.float32)
    x[0, 0] = 1.0
    y = eq(x, SR)
    assert y[0, -1] == 0.0 and np.all(eq._state == 0.0)


@pytest.mark.parametrize("slope", [12, 24, 36, 48])
@pytest.mark.parametrize("kind", ["highpass", "lowpass"])
def test_slopes_are_butterworth(slope, kind):
    """|H| = 1 / sqrt(1 + (f/fc)^(+-2N)), N = slope / 6: -3.01 dB at the cutoff, ~slope dB one octave out."""
    fc = 1000.0
    eq = mixcore.EQ(bands=[{"kind": kind, "freq_hz": fc, "slope_db": slope}])
    n = slope // 6
    f = np.array([fc, fc / 2 if kind == "highpass" else fc * 2, fc / 4 if kind == "highpass" else fc * 4])
    ratio = f / fc if kind == "lowpass" else fc / f
    # the bilinear transform warps frequencies: compare with the analog prototype at the warped frequency
    warp = np.tan(np.pi * f / SR) / np.tan(np.pi * fc / SR)
    warp = warp if kind == "lowpass" else 1 / warp
    expect = -10 * np.log10(1 + warp ** (2 * n))
    np.testing.assert_allclose(eq.response_db(f, SR), expect, atol=0.01)
    assert eq.response_db(np.array([fc]), SR)[0] == pytest.approx(-3.0103, abs=0.01)
    assert ratio[0] == 1.0
    y = eq(noise(4800, 2, seed=3), SR)
    assert np.all(np.isfinite(y))


def test_slope_only_for_pass_filters():
    with pytest.raises(MixcoreError, match=r"bands\[0\]\.slope_db: only high-pass and low-pass"):
        mixcore.EQ(bands=[{"kind": "peak", "freq_hz": 100.0, "slope_db": 24}])
    with pytest.raises(MixcoreError, match=r"bands\[0\]\.slope_db: 18 is not one of"):
        mixcore.EQ(bands=[{"kind": "highpass", "freq_hz": 100.0, "slope_db": 18}])


def test_parameter_changes_glide_without_zipper_noise():
    eq = mixcore.EQ(bands=[{"kind": "peak", "freq_hz": 1000.0, "gain_db": 0.0, "q": 1.0}])
    eq.prepare(mixcore.ProcessSpec(SR, 4096, 1))
    before = eq._coeffs.copy()
    eq.set_param("bands[0].gain_db", 12.0)
    after = band_coeffs(SR, "peak", 1000.0, 1.0, 12.0)
    ramp = int(0.002 * SR)
    x = np.zeros((1, 10), np.float32)
    eq.process(x)
    np.testing.assert_allclose(eq._coeffs[0], before[0] + (after - before[0]) * 10 / ramp, rtol=1e-9, atol=1e-12)
    eq.process(np.zeros((1, ramp), np.float32))
    np.testing.assert_array_equal(eq._coeffs[0], after)  # exactly the target once the glide ends
