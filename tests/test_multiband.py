"""Multiband compressor: Linkwitz-Riley bands sum flat; each band compresses only its range."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import noise

import mixcore
from mixcore.errors import MixcoreError

SR = 48000


@pytest.mark.parametrize("crossovers", [[200.0, 2000.0], [120.0, 1000.0, 6000.0]])
def test_bands_sum_flat_without_compression(crossovers):
    x = np.zeros((1, 1 << 15), np.float32)
    x[0, 0] = 1.0
    y = mixcore.Multiband(crossovers_hz=crossovers)(x, SR)[0].astype(np.float64)
    mag = 20 * np.log10(np.abs(np.fft.rfft(y)))
    f = np.fft.rfftfreq(len(y), 1 / SR)
    band = (f > 20) & (f < 20000)
    assert np.abs(mag[band]).max() < 0.01


def test_only_the_low_band_is_compressed():
    t = np.arange(SR) / SR
    low = 0.5 * np.sin(2 * np.pi * 60 * t)
    high = 0.5 * np.sin(2 * np.pi * 5000 * t)
    x = np.stack([low + high] * 2).astype(np.float32)
    mb = mixcore.Multiband(crossovers_hz=[200.0, 2000.0],
                           bands=[{"threshold_db": -30.0, "ratio": 10.0, "attack_ms": 1.0}])
    y = mb(x, SR)[0, SR // 2:].astype(np.float64)
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    ref = np.abs(np.fft.rfft((low + high)[SR // 2:] * np.hanning(len(y))))
    f = np.fft.rfftfreq(len(y), 1 / SR)
    at = lambda s, hz: s[np.argmin(np.abs(f - hz))]  # noqa: E731
    assert 20 * np.log10(at(spec, 60) / at(ref, 60)) < -10
    assert 20 * np.log10(at(spec, 5000) / at(ref, 5000)) == pytest.approx(0.0, abs=0.05)


def test_multiband_errors():
    with pytest.raises(MixcoreError, match=r"crossovers_hz: expected 2 or 3"):
        mixcore.Multiband(crossovers_hz=[1000.0])
    with pytest.raises(MixcoreError, match=r"crossovers_hz\[1\]: 250\.0 Hz must be above"):
        mixcore.Multiband(crossovers_hz=[200.0, 250.0])
    with pytest.raises(MixcoreError, match=r"bands\[0\]\.ratio: 0\.5 is out of range"):
        mixcore.Multiband(bands=[{"ratio": 0.5}])
    with pytest.raises(MixcoreError, match=r"bands\[0\]\.treshold_db: unknown key \(did you mean 'threshold_db'\?\)"):
        mixcore.Multiband(bands=[{"treshold_db": -10}])
    assert np.all(np.isfinite(mixcore.Multiband()(noise(1000, 2), 44100)))
