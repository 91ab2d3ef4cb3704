"""Every test case of EBU Tech 3341 (2023, Table 1: loudness 1-14, true peak 15-23) and EBU Tech 3342
(2023, Table 1: loudness range 1-6), with the signals synthesised here from the documents' own
descriptions (1 kHz stereo sines at per-channel peak levels in dBFS, 48 kHz) and the documents'
expected readings and tolerances.

Cases 7 and 8 of Tech 3341 and 5 and 6 of Tech 3342 are "authentic programme" recordings (a narrow
loudness range promo and a wide loudness range drama) that cannot be synthesised from a
description: they are stood in for by programme-like signals of the same kind (noise with a
speech-like envelope; quiet passages, dialogue and loud scenes), made to read -23 LUFS on
pyloudnorm (an independent implementation) and built with a loudness range of about 5 and 15 LU.
Case 13 (the maximum momentary loudness of 20 files whose 400 ms bursts sit at 20 ms offsets) goes
through real 24-bit WAV files, as the EBU distributes it.
"""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import mixcore
from mixcore.metering import LoudnessMeter

SR = 48000
TOL = 0.1      # LU, Tech 3341 loudness
LRA_TOL = 1.0  # LU, Tech 3342


def tones(parts, channels: int = 2, freq: float = 1000.0) -> np.ndarray:
    """A 1 kHz sine, continuous in phase, in every channel: ``parts`` are (per-channel peak dBFS or
    None for silence, seconds)."""
    amp = np.concatenate([np.full(int(round(sec * SR)), 0.0 if lv is None else 10.0 ** (lv / 20.0))
                          for lv, sec in parts])
    x = (amp * np.sin(2 * np.pi * freq * np.arange(amp.size) / SR)).astype(np.float32)
    return np.tile(x, (channels, 1))


def analyze(x: np.ndarray, true_peak: bool = False):
    return mixcore.analyze(x, SR, true_peak=true_peak)


def meter(x: np.ndarray) -> LoudnessMeter:
    m = LoudnessMeter(SR, x.shape[0], true_peak=False)
    m.process(x)
    return m


# --- Tech 3341 cases 1-5: steady tones and gated integrated loudness ---------------------------------

@pytest.mark.parametrize("level", [-23.0, -33.0], ids=["case1", "case2"])
def test_3341_cases_1_2_steady_tone_reads_its_level_on_m_s_and_i(level):
    r = analyze(tones([(level, 20.0)]))
    c = r.curves()
    assert r.integrated_lufs == pytest.approx(level, abs=TOL)
    assert r.momentary_max_lufs == pytest.approx(level, abs=TOL)
    assert r.short_term_max_lufs == pytest.approx(level, abs=TOL)
    full_m, full_s = c["t_s"] >= 0.4 - 1e-9, c["t_s"] >= 3.0 - 1e-9   # windows that hold only the tone
    assert np.all(np.abs(c["momentary_lufs"][full_m] - level) <= TOL)
    assert np.all(np.abs(c["short_term_lufs"][full_s] - level) <= TOL)


@pytest.mark.parametrize("parts", [
    [(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)],
    [(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)],
    [(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)],
], ids=["case3", "case4", "case5"])
def test_3341_cases_3_4_5_gating(parts):
    assert analyze(tones(parts)).integrated_lufs == pytest.approx(-23.0, abs=TOL)


def test_3341_case_6_five_channels_and_the_silent_lfe_version():
    levels = {"L": -28.0, "R": -28.0, "C": -24.0, "Ls": -30.0, "Rs": -30.0}
    ch = {k: tones([(lv, 20.0)], channels=1)[0] for k, lv in levels.items()}
    five = np.stack([ch["L"], ch["R"], ch["C"], ch["Ls"], ch["Rs"]])                          # L R C Ls Rs
    six = np.stack([ch["L"], ch["R"], ch["C"], np.zeros_like(ch["L"]), ch["Ls"], ch["Rs"]])    # + silent LFE
    assert analyze(five).integrated_lufs == pytest.approx(-23.0, abs=TOL)
    assert analyze(six).integrated_lufs == pytest.approx(-23.0, abs=TOL)


# --- Tech 3341 cases 7 and 8 (and Tech 3342 cases 5 and 6): programme stand-ins -------------------

def _programme(levels_db, seconds_each: float, seed: int) -> np.ndarray:
    """Stereo programme-like material: noise tilted towards low frequencies with a 4 Hz
    syllable-like envelope and some correlation between the channels, one RMS level per section."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(seconds_each * SR)
    t = np.arange(n) / SR
    out = []
    for lv in levels_db:
        src = lfilter([1.0], [1.0, -0.95], rng.standard_normal((3, n)), axis=1) * 0.3 + rng.standard_normal((3, n))
        env = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6.3)) ** 2
        x = np.stack([src[0] + 0.6 * src[2], src[1] + 0.6 * src[2]]) * env
        out.append(x * 10.0 ** (lv / 20.0) / np.sqrt(np.mean(x ** 2)))
    return np.concatenate(out, axis=1)


def _to_minus_23(x: np.ndarray) -> np.ndarray:
    import pyloudnorm as pyln

    ref = pyln.Meter(SR).integrated_loudness(x.T.astype(np.float64))
    return (x * 10.0 ** ((-23.0 - ref) / 20.0)).astype(np.float32)


def _reference_lra(x: np.ndarray) -> float:
    """Tech 3342 computed directly (scipy's lfilter with BS.1770's 48 kHz coefficients, 3 s windows
    every 100 ms, -70 LUFS and -20 LU gates, nearest-rank 10th and 95th percentiles as in the
    document's MATLAB code): an implementation independent of mixcore's."""
    from scipy.signal import lfilter

    y = lfilter([1.53512485958697, -2.69169618940638, 1.19839281085285],
                [1.0, -1.69065929318241, 0.73248077421585], x.astype(np.float64), axis=1)
    y = lfilter([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621], y, axis=1)
    e = np.concatenate([[0.0], np.cumsum((y ** 2).sum(axis=0))])
    hop, win = SR // 10, 3 * SR
    ends = np.arange(win, y.shape[1] + 1, hop)
    st = -0.691 + 10 * np.log10((e[ends] - e[ends - win]) / win)
    st = st[st > -70.0]
    st = np.sort(st[st > -0.691 + 10 * np.log10(np.mean(10 ** ((st + 0.691) / 10))) - 20.0])
    n = st.size
    return float(st[int(round(0.95 * (n - 1)))] - st[int(round(0.10 * (n - 1)))])


def _sections(span_db: float) -> list[float]:
    """11 section levels evenly spread over ``span_db`` below -20 dBFS RMS, in a fixed shuffled order."""
    levels = np.linspace(-20.0 - span_db, -20.0, 11)
    np.random.default_rng(0).shuffle(levels)
    return list(levels)


# narrow loudness range (a promo: sections within a few dB) and wide (a drama: quiet passages,
# dialogue, loud scenes); 10 s sections whose spread gives a loudness range of about 5 and 15 LU
@pytest.mark.parametrize("span, lra", [(5.6, 5.0), (16.6, 15.0)], ids=["case7_3342case5", "case8_3342case6"])
def test_3341_cases_7_8_and_3342_cases_5_6_programme(span, lra):
    x = _to_minus_23(_programme(_sections(span), 10.0, seed=int(span)))
    r = analyze(x)
    assert r.integrated_lufs == pytest.approx(-23.0, abs=TOL)
    assert r.loudness_range_lu == pytest.approx(lra, abs=LRA_TOL)
    assert r.loudness_range_lu == pytest.approx(_reference_lra(x), abs=0.1)
    # the loudness range is unchanged when the programme is repeated (Tech 3342 section 4)
    assert analyze(np.concatenate([x, x], axis=1)).loudness_range_lu == pytest.approx(r.loudness_range_lu, abs=0.2)


# --- Tech 3341 cases 9-14: short-term and momentary loudness and their maxima ------------------------

def test_3341_case_9_short_term_is_constant_after_3s():
    r = analyze(tones([(-20.0, 1.34), (-30.0, 1.66)] * 5))
    c = r.curves()
    after = c["t_s"] >= 3.0 - 1e-9
    assert after.sum() >= 100
    assert np.all(np.abs(c["short_term_lufs"][after] + 23.0) <= TOL)


@pytest.mark.parametrize("i", range(20))
def test_3341_case_10_max_short_term_of_each_file(i):
    r = analyze(tones([(None, i * 0.15), (-23.0, 3.0), (None, 1.0)]))
    assert r.short_term_max_lufs == pytest.approx(-23.0, abs=TOL)


def test_3341_case_11_successive_short_term_maxima():
    x = np.concatenate([tones([(None, i * 0.15), (-38.0 + i, 3.0), (None, 3.0 - i * 0.15)]) for i in range(20)],
                       axis=1)
    m = meter(x)
    for c in (m.curves(), m.fine_curves()):   # every 100 ms and every 10 ms
        for i in range(20):
            seg = (c["t_s"] > 6.0 * i + 1e-9) & (c["t_s"] <= 6.0 * (i + 1) + 1e-9)
            assert np.max(c["short_term_lufs"][seg]) == pytest.approx(-38.0 + i, abs=TOL), (i, c["step_s"])


def test_3341_case_12_momentary_is_constant_after_1s():
    r = analyze(tones([(-20.0, 0.18), (-30.0, 0.22)] * 25))
    c = r.curves()
    after = c["t_s"] >= 1.0 - 1e-9
    assert after.sum() >= 85
    assert np.all(np.abs(c["momentary_lufs"][after] + 23.0) <= TOL)


def test_3341_case_13_max_momentary_of_each_of_20_wav_files(tmp_path):
    """The 400 ms bursts sit at 20 ms offsets: a meter that only looks at windows ending every 100 ms
    misses up to 80 ms of a burst (-0.97 dB); every one of the 20 files must read -23.0 +-0.1."""
    readings = []
    for i in range(20):
        path = tmp_path / f"seq-3341-13-{i + 1}-24bit.wav"
        sf.write(path, tones([(None, i * 0.02), (-23.0, 0.4), (None, 1.0)]).T, SR, subtype="PCM_24")
        readings.append(mixcore.analyze(path).momentary_max_lufs)
    assert np.all(np.abs(np.array(readings) + 23.0) <= TOL), np.round(readings, 2)


def test_3341_case_14_successive_momentary_maxima():
    x = np.concatenate([tones([(None, i * 0.02), (-38.0 + i, 0.4), (None, 0.4 - i * 0.02)]) for i in range(20)],
                       axis=1)
    c = meter(x).fine_curves()
    assert c["step_s"] == pytest.approx(0.01)
    for i in range(20):
        seg = (c["t_s"] > 0.8 * i + 1e-9) & (c["t_s"] <= 0.8 * (i + 1) + 1e-9)
        assert np.max(c["momentary_lufs"][seg]) == pytest.approx(-38.0 + i, abs=TOL), i


# --- Tech 3341 cases 15-23: true peak -----------------------------------------------------------------

def _tapered(x: np.ndarray, ms: float = 10.0) -> np.ndarray:
    n = int(ms * 1e-3 * SR)
    ramp = np.linspace(0.0, 1.0, n)
    x = x.copy()
    x[:n] *= ramp
    x[-n:] *= ramp[::-1]
    return x


@pytest.mark.parametrize("divisor, amp, phase_deg, expect", [
    (4, 0.50, 0.0, -6.0), (4, 0.50, 45.0, -6.0), (6, 0.50, 60.0, -6.0), (8, 0.50, 67.5, -6.0),
    (4, 1.41, 45.0, 3.0),
], ids=["case15", "case16", "case17", "case18", "case19"])
def test_3341_cases_15_19_true_peak_of_sines(divisor, amp, phase_deg, expect):
    n = np.arange(SR)
    x = _tapered(amp * np.sin(2 * np.pi * n / divisor + np.deg2rad(phase_deg)))
    tp = analyze(np.tile(x.astype(np.float32), (2, 1)), true_peak=True).true_peak_dbtp
    assert expect - 0.4 <= tp <= expect + 0.2


@pytest.mark.parametrize("offset", range(4), ids=[f"case{20 + k}" for k in range(4)])
def test_3341_cases_20_23_true_peak_of_one_fast_period(offset):
    """fs/6 at 0.5 holding one period of fs/4 at 1.0, continuous in phase, made at 4 fs, low-passed
    and taken down to fs with an offset of 0-3 samples (at 4 fs)."""
    from scipy.signal import resample_poly

    up = 4 * SR
    slow = 0.5 * np.sin(2 * np.pi * (SR / 6) * np.arange(up // 2) / up)          # 0.5 s; 24 samples a period
    fast = np.sin(2 * np.pi * (SR / 4) * np.arange(16) / up)                      # one period, 16 samples
    hi = np.concatenate([slow, fast, slow])                                        # both join at phase 0
    hi[:up // 100] *= np.linspace(0, 1, up // 100)
    hi[-(up // 100):] *= np.linspace(1, 0, up // 100)
    x = resample_poly(hi[offset:], 1, 4).astype(np.float32)
    tp = analyze(np.tile(x, (2, 1)), true_peak=True).true_peak_dbtp
    assert -0.4 <= tp <= 0.2


# --- Tech 3342 cases 1-4: loudness range of tone steps -------------------------------------------------

@pytest.mark.parametrize("levels, lra", [
    ([-20.0, -30.0], 10.0), ([-20.0, -15.0], 5.0), ([-40.0, -20.0], 20.0),
    ([-50.0, -35.0, -20.0, -35.0, -50.0], 15.0),
], ids=["case1", "case2", "case3", "case4"])
def test_3342_cases_1_4_loudness_range(levels, lra):
    x = tones([(lv, 20.0) for lv in levels])
    assert analyze(x).loudness_range_lu == pytest.approx(lra, abs=LRA_TOL)
    # unchanged when the signal is repeated in its full length
    assert analyze(np.concatenate([x, x], axis=1)).loudness_range_lu == pytest.approx(lra, abs=LRA_TOL)
