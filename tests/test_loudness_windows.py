"""Momentary (400 ms) and short-term (3 s) loudness from tone bursts of known length and position (EBU Tech
3341 cases 9, 10, 12, 13 style): values, and the times at which the meter shows them, from its 100 ms series.

A stereo 1 kHz sine at X dBFS reads X LUFS (Tech 3341); a window that covers a fraction c of a burst at
X dBFS (silence elsewhere) reads X + 10 log10(c)."""
from __future__ import annotations

import numpy as np
import pytest

import mixcore

SR = 48000
STEP = 0.1


def tone(level_db: float, seconds: float) -> np.ndarray:
    t = np.arange(int(round(seconds * SR))) / SR
    return 10 ** (level_db / 20) * np.sin(2 * np.pi * 1000.0 * t)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * SR)))


def stereo(*parts) -> np.ndarray:
    x = np.concatenate(parts)
    return np.stack([x, x]).astype(np.float32)


def expected_series(bursts, window_s, n_values):
    """Loudness of each window ending at (k + 1) * 100 ms, from the bursts' (start_s, length_s, level_db)."""
    ends = (np.arange(n_values) + 1) * STEP
    power = np.zeros(n_values)
    for start, length, level in bursts:
        overlap = np.clip(np.minimum(ends, start + length) - np.maximum(ends - window_s, start), 0, None)
        power += overlap / window_s * 10 ** (level / 10)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(power)


def assert_series(got, want, tol=0.1):
    """Equal (within tol LU) wherever the expected loudness is above -50 LUFS; quiet where it is silent."""
    loud = want > -50
    np.testing.assert_allclose(got[loud], want[loud], atol=tol)
    assert np.all(got[want == -np.inf] < -60)


def test_momentary_of_400ms_bursts_at_set_positions():
    """Tech 3341 case 13 style: 400 ms bursts at -23 dBFS at several positions (on and off the 100 ms grid)
    in silence; the maximum momentary is -23 LUFS and is shown where the window covers the whole burst."""
    bursts = [(1.0, 0.4, -23.0), (2.5, 0.4, -23.0), (4.2, 0.4, -30.0)]
    x = stereo(silence(1.0), tone(-23, 0.4), silence(1.1), tone(-23, 0.4), silence(1.3), tone(-30, 0.4),
               silence(1.0))
    r = mixcore.analyze(x, SR)
    assert r.momentary_max_lufs == pytest.approx(-23.0, abs=0.1)
    mom = r.momentary_lufs
    assert len(mom) == 56 and r.momentary_times_s()[-1] == pytest.approx(5.6)
    assert_series(mom, expected_series(bursts, 0.4, len(mom)))
    # the times the meter shows each burst's full level: the window's end at the burst's end
    times = r.momentary_times_s()
    for start, length, level in bursts:
        k = int(np.argmax(np.where(np.abs(times - (start + length)) < 0.25, mom, -np.inf)))
        assert times[k] == pytest.approx(start + length)
        assert mom[k] == pytest.approx(level, abs=0.1)
        assert mom[k - 1] == pytest.approx(level + 10 * np.log10(0.75), abs=0.1)  # 300 of the 400 ms
    # a burst shorter than the window reads lower by its share of the window
    short = mixcore.analyze(stereo(silence(0.5), tone(-23, 0.1), silence(0.5)), SR)
    assert short.momentary_max_lufs == pytest.approx(-23 + 10 * np.log10(0.25), abs=0.1)


def test_momentary_of_alternating_tone_is_steady():
    """Tech 3341 case 12: 0.18 s at -20 dBFS, 0.22 s at -30 dBFS, repeated: every complete momentary
    window reads -23 LUFS; the short-term (3 s = 7.5 periods) is not steady."""
    x = stereo(*[np.concatenate([tone(-20, 0.18), tone(-30, 0.22)]) for _ in range(12)])
    r = mixcore.analyze(x, SR)
    mom = r.momentary_lufs[3:]  # the complete 400 ms windows
    # one period is 400 ms (4 steps): windows end on period boundaries and between them; all read -23
    np.testing.assert_allclose(mom, -23.0, atol=0.15)


def test_short_term_of_alternating_tone_is_steady():
    """Tech 3341 case 9: 1.34 s at -20 dBFS, 1.66 s at -30 dBFS, 5 times: short-term -23 LUFS throughout
    once the 3 s window is full; the momentary maximum is the -20 parts' level."""
    x = stereo(*[np.concatenate([tone(-20, 1.34), tone(-30, 1.66)]) for _ in range(3)])
    r = mixcore.analyze(x, SR)
    st = r.short_term_lufs
    assert len(st) == 90
    np.testing.assert_allclose(st[29:], -23.0, atol=0.1)
    bursts = [(3.0 * i + d, length, level) for i in range(3)
              for d, length, level in ((0, 1.34, -20.0), (1.34, 1.66, -30.0))]
    assert_series(st, expected_series(bursts, 3.0, 90))  # filling up in the first 3 s
    assert st[12] == pytest.approx(-20 + 10 * np.log10(1.3 / 3), abs=0.1)
    assert r.momentary_max_lufs == pytest.approx(-20.0, abs=0.1)


def test_short_term_of_3s_bursts_at_set_positions():
    """Tech 3341 cases 10/11 style: 3 s bursts at set levels and positions in silence: the maximum
    short-term equals each burst's level, shown when the 3 s window ends at the burst's end."""
    bursts = [(0.5, 3.0, -23.0), (5.0, 3.0, -19.0)]
    x = stereo(silence(0.5), tone(-23, 3.0), silence(1.5), tone(-19, 3.0), silence(0.5))
    r = mixcore.analyze(x, SR)
    st, times = r.short_term_lufs, r.short_term_times_s()
    assert r.short_term_max_lufs == pytest.approx(-19.0, abs=0.1)
    assert times[int(np.argmax(st))] == pytest.approx(8.0)
    assert_series(st, expected_series(bursts, 3.0, len(st)))
    k = int(np.argmin(np.abs(times - 3.5)))
    assert st[k] == pytest.approx(-23.0, abs=0.1)
    assert st[k - 5] == pytest.approx(-23 + 10 * np.log10(2.5 / 3), abs=0.1)
    # the momentary follows the bursts within 400 ms, unlike the short-term
    mom = r.momentary_lufs
    assert mom[int(np.argmin(np.abs(times - 0.9)))] == pytest.approx(-23.0, abs=0.1)
    assert st[int(np.argmin(np.abs(times - 0.9)))] == pytest.approx(-23 + 10 * np.log10(0.4 / 3), abs=0.1)


def test_meter_series_is_the_same_when_streamed_in_odd_blocks():
    """The streaming meter's series (LoudnessMeter, fed odd block sizes) equals analyze()'s."""
    from mixcore.metering import LoudnessMeter

    x = stereo(silence(0.3), tone(-23, 0.4), silence(0.7), tone(-20, 1.0), silence(0.2))
    m = LoudnessMeter(SR, 2)
    pos = 0
    for n in [1, 4799, 4800, 4801, 333, 10000] * 20:
        if pos >= x.shape[1]:
            break
        m.process(np.ascontiguousarray(x[:, pos:pos + n]))
        pos += n
    r = mixcore.analyze(x, SR)
    np.testing.assert_array_equal(m.momentary(), r.momentary_lufs)
    np.testing.assert_array_equal(m.short_term(), r.short_term_lufs)
    assert_series(r.momentary_lufs, expected_series([(0.3, 0.4, -23.0), (1.4, 1.0, -20.0)], 0.4, 26))
