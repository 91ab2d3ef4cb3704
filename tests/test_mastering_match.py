"""Reference matching (tone, loudness, width), the report and the loudness-matched A/B.

The spectral distance is measured here independently of mixcore: scipy.signal.welch of the mid
signal, mean power per 1/3-octave band 30 Hz - 16 kHz, RMS of the level-normalised dB difference.
"""
from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pyloudnorm
import pytest
import scipy.signal as ss
import soundfile as sf
from helpers import cli, read, write

from mixcore.demo import synth
from mixcore.mastering import match_file
from mixcore.mastering.match import analyse, plan_match

SR = 48000


def program(seconds: float, peak_db: float = -3.0, side: float = 1.0) -> np.ndarray:
    x = synth.kick(seconds)[0] * 0.6 + synth.bass(seconds)[0] * 0.5 + synth.snare(seconds)[0] * 0.4
    st = synth.chords(seconds) * 0.3 + synth.hats(seconds) * 0.3 + x
    m, s = 0.5 * (st[0] + st[1]), 0.5 * (st[0] - st[1]) * side
    st = np.stack([m + s, m - s])
    return (st / np.abs(st).max() * 10 ** (peak_db / 20)).astype(np.float32)


def tilt(x: np.ndarray, db_per_decade: float) -> np.ndarray:
    """A known spectral tilt: gain 6 dB per decade around 1 kHz (held below 20 Hz), by FFT."""
    n = x.shape[1]
    f = np.fft.rfftfreq(n, 1.0 / SR)
    g = 10 ** (db_per_decade * np.log10(np.maximum(f, 20.0) / 1000.0) / 20.0)
    return np.fft.irfft(np.fft.rfft(x.astype(np.float64), axis=1) * g, n, axis=1)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    f, pa = ss.welch(a.astype(np.float64).mean(axis=0), SR, nperseg=8192)
    _, pb = ss.welch(b.astype(np.float64).mean(axis=0), SR, nperseg=8192)
    centres = 1000.0 * 2.0 ** (np.arange(-15, 15) / 3.0)
    d = []
    for fc in centres[(centres >= 30.0) & (centres <= 16000.0)]:
        band = (f >= fc / 2 ** (1 / 6)) & (f <= fc * 2 ** (1 / 6))
        d.append(10 * np.log10(pa[band].mean() / pb[band].mean()))
    d = np.array(d)
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


def side_mid_db(x: np.ndarray) -> float:
    x = x.astype(np.float64)
    return 10 * np.log10(np.sum((x[0] - x[1]) ** 2) / np.sum((x[0] + x[1]) ** 2))


def lufs(x: np.ndarray) -> float:
    return pyloudnorm.Meter(SR).integrated_loudness(x.T.astype(np.float64))


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    d = tmp_path_factory.mktemp("match")
    ref = program(6.0)
    mix = tilt(program(6.0), 6.0)
    mix = (mix / np.abs(mix).max() * 0.3).astype(np.float32)
    write(d / "ref.wav", ref)
    write(d / "mix.wav", mix)
    return d, ref, mix


@pytest.mark.parametrize("amount", [1.0, 0.5])
def test_tone_match_removes_a_known_tilt(material, amount):
    d, ref, mix = material
    before = distance(mix, ref)
    assert before > 4.0  # the tilt is there
    r = match_file(d / "mix.wav", d / f"tone{amount}.wav", [d / "ref.wav"], match="tone", amount=amount)
    after = distance(read(d / f"tone{amount}.wav"), ref)
    if amount == 1.0:
        assert after <= 0.1 * before  # stated: at least 90 % of the distance removed at 100 %
    else:
        assert after == pytest.approx(0.5 * before, rel=0.1)  # proportional: half the tilt remains
    assert r.distance_after_db == pytest.approx(after, abs=0.1)  # mixcore's own figure agrees
    # the applied curve is the opposite tilt: -6 dB/decade times the amount, level offset removed
    p = r.plan
    band = (p.points_hz >= 30) & (p.points_hz <= 16000)
    slope = np.polyfit(np.log10(p.points_hz[band]), p.eq_db[band], 1)[0]
    assert slope == pytest.approx(-6.0 * amount, abs=0.3)
    assert abs(p.eq_db[band].mean()) < 0.5


def test_several_references_are_averaged(material, tmp_path):
    d, ref, _ = material
    write(tmp_path / "up.wav", tilt(ref, 3.0).astype(np.float32))
    write(tmp_path / "down.wav", tilt(ref, -3.0).astype(np.float32))
    mix = analyse(d / "mix.wav")
    plan = plan_match(mix, [analyse(tmp_path / "up.wav"), analyse(tmp_path / "down.wav")], ("tone",), 1.0)
    band = (plan.points_hz >= 30) & (plan.points_hz <= 16000)
    slope = np.polyfit(np.log10(plan.points_hz[band]), plan.eq_db[band], 1)[0]
    assert slope == pytest.approx(-6.0, abs=0.3)  # the mean of +3 and -3 is the untilted reference


@pytest.mark.parametrize("amount", [1.0, 0.5])
def test_loudness_match(material, amount):
    d, ref, mix = material
    out = d / f"loud{amount}.wav"
    r = match_file(d / "mix.wav", out, [d / "ref.wav"], match="loudness", amount=amount)
    want = lufs(mix) + amount * (lufs(ref) - lufs(mix))
    assert lufs(read(out)) == pytest.approx(want, abs=0.1)
    assert r.master.reached and r.plan.fir is None and r.plan.width == 1.0


def test_limiting_of_a_loud_reference_is_not_copied(tmp_path):
    mix = program(6.0, -3.0)
    loud = np.clip(program(6.0, -3.0) * 8.0, -0.9, 0.9).astype(np.float32)  # a crushed master
    write(tmp_path / "mix.wav", mix)
    write(tmp_path / "loud.wav", loud)
    r = match_file(tmp_path / "mix.wav", tmp_path / "m.wav", [tmp_path / "loud.wav"], match="loudness",
                   amount=1.0, max_limiting_db=3.0)
    m = r.master
    assert not m.reached and "capped at 3 dB" in m.note
    assert 2.5 <= m.limiter_gr_db <= 3.05
    y = read(tmp_path / "m.wav")
    assert lufs(y) < lufs(loud) - 1.0
    u = ss.resample_poly(y.astype(np.float64), 8, 1, axis=1)[:, 4000:-4000]
    assert 20 * np.log10(np.abs(u).max()) <= -1.0


@pytest.mark.parametrize("amount", [1.0, 0.5])
def test_width_match(tmp_path, amount):
    ref = program(6.0, side=1.0)
    mix = program(6.0, side=0.6)
    write(tmp_path / "ref.wav", ref)
    write(tmp_path / "mix.wav", mix)
    gap = side_mid_db(ref) - side_mid_db(mix)
    assert gap > 4.0
    # the matching alone (chain = "none"): stated tolerance 0.25 dB of side/mid energy
    r = match_file(tmp_path / "mix.wav", tmp_path / "w.wav", [tmp_path / "ref.wav"], match="width", amount=amount,
                   chain="none")
    got = side_mid_db(read(tmp_path / "w.wav")) - side_mid_db(mix)
    assert got == pytest.approx(amount * gap, abs=0.25)
    assert r.plan.width == pytest.approx(10 ** (amount * gap / 20), rel=0.03)
    # with the default chain, whose glue compressor weighs loud passages less: within 0.5 dB
    match_file(tmp_path / "mix.wav", tmp_path / "d.wav", [tmp_path / "ref.wav"], match="width", amount=amount)
    got = side_mid_db(read(tmp_path / "d.wav")) - side_mid_db(mix)
    assert got == pytest.approx(amount * gap, abs=0.5)


def test_match_cli_json_and_report(material):
    d, ref, mix = material
    r = cli("master", "mix.wav", "-o", "cli.wav", "--reference", "ref.wav", "--match-amount", "tone=100,width=50",
            "--json", "--report", "r.html", cwd=d)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    m = doc["match"]
    assert m["amounts"] == {"tone": 1.0, "loudness": 0.7, "width": 0.5}
    assert m["eq"] == "parametric" and len(m["eq_curve"]["freq_hz"]) == len(m["eq_curve"]["gain_db"])
    assert 1 <= len(m["eq_bands"]) <= 12  # the default: mixcore eq bands
    assert doc["spectral_distance_after_db"] < 0.2 * doc["spectral_distance_before_db"]
    for key in ("gain_db", "limiter_gr_db", "output_lufs", "true_peak_dbtp"):
        assert isinstance(doc[key], float)
    assert "width" in m and "target_lufs" in m
    page = (d / "r.html").read_text()
    imgs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert imgs
    png = base64.b64decode(imgs[0])
    import matplotlib.image

    assert matplotlib.image.imread(io.BytesIO(png), format="png").ndim == 3
    assert f"{doc['output_lufs']:.2f} LUFS" in page and "limiter gain reduction" in page
    assert f"{doc['spectral_distance_after_db']:.2f} dB" in page
    r = cli("master", "mix.wav", "-o", "cli2.wav", "--report", "r.png", "-q", cwd=d)
    assert r.returncode == 0, r.stderr
    img = matplotlib.image.imread(str(d / "r.png"))
    assert img.shape[0] > 200 and img.shape[1] > 400


@pytest.mark.parametrize("args, message", [
    (["--reference", "nothere.wav"], "--reference: file not found: nothere.wav"),
    (["--reference", "mono.wav"], "is mono but the mix"),
    (["--reference", "ref.wav", "--match", "tone,widht"], "did you mean 'width'"),
    (["--reference", "ref.wav", "--match-amount", "tone=170"], "--match-amount: tone: 170 is out of range"),
    (["--reference", "ref.wav", "--match-amount", "colour=50"], "--match-amount: 'colour=50'"),
    (["--reference", "ref.wav", "--sample-rate", "1000"], "--sample-rate: 1000 is out of range"),
    (["--match", "tone"], "give a reference track"),
    (["--report", "r.jpg"], "--report: r.jpg must end in .png or .html"),
])
def test_match_errors_are_one_line(material, args, message):
    d, ref, _ = material
    write(d / "mono.wav", ref[:1])
    r = cli("master", "mix.wav", "-o", "bad.wav", *args, cwd=d)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (d / "bad.wav").exists()


def test_compare_turns_the_louder_down(tmp_path):
    a = program(6.0, -1.0)
    b = tilt(program(6.0, -1.0), 2.0)
    b = (b / np.abs(b).max() * 10 ** (-9 / 20)).astype(np.float32)
    write(tmp_path / "a.wav", a)
    sf.write(str(tmp_path / "b.flac"), b.T, SR, subtype="PCM_24")
    r = cli("compare", "a.wav", "b.flac", "-o", "ab", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["a"]["gain_db"] < -5.0 and doc["b"]["gain_db"] == 0.0  # A was louder: only A moves
    ca, cb = read(tmp_path / "ab" / "A-a.wav"), read(tmp_path / "ab" / "B-b.wav")
    assert abs(lufs(ca) - lufs(cb)) <= 0.05
    assert np.array_equal(cb, read(tmp_path / "b.flac"))  # the quieter one is copied unchanged
    assert np.abs(ca).max() <= np.abs(a).max()  # turned down only: nothing can clip
    assert doc["tilt_db_per_decade"] == pytest.approx(2.0, abs=0.3)
    r = cli("compare", "a.wav", "b.flac", cwd=tmp_path)
    assert r.returncode == 0 and "loudness-matched" in r.stdout and "tilt +2" in r.stdout
    r = cli("compare", "a.wav", "missing.wav", "-o", "x", cwd=tmp_path)
    assert r.returncode == 2 and "B: file not found: missing.wav" in r.stderr and not (tmp_path / "x").exists()


def test_match_is_deterministic_and_takes_other_rates_and_mono(material, tmp_path):
    d, ref, mix = material
    kw = dict(bit_depth=16, dither="shaped", seed=5)
    match_file(d / "mix.wav", tmp_path / "a.wav", [d / "ref.wav"], **kw)
    match_file(d / "mix.wav", tmp_path / "b.wav", [d / "ref.wav"], **kw)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    # a reference at another rate is resampled (soxr) for the analysis
    write(tmp_path / "ref44.wav", ss.resample_poly(ref, 147, 160, axis=1).astype(np.float32), 44100)
    r = match_file(d / "mix.wav", tmp_path / "c.wav", [tmp_path / "ref44.wav"], match="tone", amount=1.0)
    assert distance(read(tmp_path / "c.wav"), ref) <= 0.15 * distance(mix, ref)
    # mono mix and mono reference: tone and loudness, no width
    write(tmp_path / "mono-mix.wav", mix[:1])
    write(tmp_path / "mono-ref.wav", ref[:1])
    r = match_file(tmp_path / "mono-mix.wav", tmp_path / "m.wav", [tmp_path / "mono-ref.wav"], amount=1.0)
    y = read(tmp_path / "m.wav")
    assert y.shape[0] == 1 and r.plan.width == 1.0 and r.plan.side_mid_before_db is None
    assert distance(np.repeat(y, 2, axis=0), np.repeat(ref[:1], 2, axis=0)) <= 0.15 * distance(mix, ref)
    assert lufs(y) == pytest.approx(lufs(ref[:1]), abs=0.1)


def test_report_without_matplotlib_is_one_line(material, tmp_path):
    import os
    import subprocess
    import sys

    import mixcore

    d, _, _ = material
    fake = tmp_path / "nompl" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('matplotlib is not installed')\n")
    root = os.path.dirname(os.path.dirname(mixcore.__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "nompl"), root]))
    r = subprocess.run([sys.executable, "-m", "mixcore", "master", "mix.wav", "-o", str(tmp_path / "m.wav"),
                        "--report", str(tmp_path / "r.html")], cwd=d, env=env, capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == ("mixcore: error: --report needs matplotlib, a dependency of mixcore: "
                                 "pip install matplotlib")
    assert not (tmp_path / "m.wav").exists()  # refused before any work


def test_match_eq_is_the_designed_curve_and_its_latency_is_removed(tmp_path):
    from mixcore.mastering import master_file
    from mixcore.mastering.match import MatchEQ, curve_points, design_fir

    pts = curve_points(SR)
    curve = np.clip(-6.0 * np.log10(pts / 1000.0), -12, 12)
    h = design_fir(SR, pts, curve)
    assert np.allclose(h, h[::-1])  # symmetric: linear phase
    w, H = ss.freqz(h, worN=pts, fs=SR)
    band = (pts >= 30) & (pts <= 16000)
    assert np.abs(20 * np.log10(np.abs(H[band])) - curve[band]).max() < 0.5
    # a flat curve is a pure delay; the mastering pass removes the latency: output == input
    x = program(3.0, -20.0)
    write(tmp_path / "x.wav", x)
    flat = design_fir(SR, pts, np.zeros_like(pts))
    r = master_file(tmp_path / "x.wav", tmp_path / "y.wav", target_lufs=mixcore_lufs(tmp_path / "x.wav"),
                    chain=[MatchEQ(flat)], tolerance_lu=0.5)
    assert r.gain_db == 0.0 and r.limiter_gr_db == 0.0
    assert np.abs(read(tmp_path / "y.wav") - x).max() < 1e-6


def mixcore_lufs(path) -> float:
    import mixcore

    return mixcore.analyze(path).integrated_lufs
