"""Reference matching that hands back an editable chain (issue 18): band-limited references, the
parametric match EQ, ``--save-chain`` reproduced by ``master --chain`` and by a session, the amounts
per dimension and weighted references.

Spectra and distances here are measured independently of mixcore (scipy Welch, 1/3-octave bands);
loudness with pyloudnorm; true peak by 8x oversampling (scipy resample_poly).
"""
from __future__ import annotations

import json
import tomllib

import numpy as np
import pyloudnorm
import pytest
import scipy.signal as ss
from helpers import cli, read, write
from test_mastering_match import SR, distance, program, side_mid_db, tilt

from mixcore.demo import synth
from mixcore.mastering import match_file
from mixcore.mastering.match import analyse, plan_match
from mixcore.mastering.report import spectrum_curves
from mixcore.processors.eq import EQ


def lufs(x: np.ndarray) -> float:
    return pyloudnorm.Meter(SR).integrated_loudness(x.T.astype(np.float64))


def true_peak_8x(x: np.ndarray) -> float:
    return 20 * np.log10(np.abs(ss.resample_poly(x.astype(np.float64), 8, 1, axis=1)).max())


def band_distance(a: np.ndarray, b: np.ndarray, lo: float, hi: float) -> float:
    """RMS level-normalised dB difference of 1/3-octave mid bands centred in [lo, hi] (scipy Welch)."""
    f, pa = ss.welch(a.astype(np.float64).mean(axis=0), SR, nperseg=8192)
    _, pb = ss.welch(b.astype(np.float64).mean(axis=0), SR, nperseg=8192)
    centres = 1000.0 * 2.0 ** (np.arange(-15, 15) / 3.0)
    d = []
    for fc in centres[(centres >= lo) & (centres <= hi)]:
        band = (f >= fc / 2 ** (1 / 6)) & (f <= fc * 2 ** (1 / 6))
        d.append(10 * np.log10(pa[band].mean() / pb[band].mean()))
    d = np.array(d)
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


def fft_eq(x: np.ndarray, bands: list[dict]) -> np.ndarray:
    """``x`` through the magnitude response of ``bands`` (zero phase, by FFT)."""
    n = x.shape[1]
    f = np.fft.rfftfreq(n, 1.0 / SR)
    g = 10 ** (EQ(bands=bands).response_db(np.maximum(f, 1.0), SR) / 20)
    return np.fft.irfft(np.fft.rfft(x.astype(np.float64), axis=1) * g, n, axis=1)


@pytest.fixture(scope="module")
def mix_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("chain")
    write(d / "mix.wav", program(3.0, -8.0))
    return d


# --- 0: band-limited references -----------------------------------------------------------------

@pytest.mark.parametrize("eq", ["parametric", "linear"])
def test_low_passed_reference_is_matched_below_its_cutoff_only(mix_file, eq):
    d = mix_file
    mix = read(d / "mix.wav")
    sos = ss.butter(16, 4000.0, "low", fs=SR, output="sos")
    ref = ss.sosfiltfilt(sos, tilt(program(3.0, -3.0), 3.0), axis=1).astype(np.float32)  # 4 kHz brick wall
    write(d / "lp.wav", ref)
    r = match_file(d / "mix.wav", d / f"lp-{eq}.wav", [d / "lp.wav"], amount=1.0, chain="none", match_eq=eq)
    p = r.plan
    lo, hi = p.region_hz
    assert 3000 <= hi <= 4500 and lo <= 40
    assert "above 4 kHz the reference holds no energy: left flat" in p.region_text
    above = p.points_hz > hi * 2 ** 0.5
    assert np.abs(p.eq_db[above]).max() <= 1.0  # flat above the reference's band
    assert p.eq_db[p.points_hz > 4500].max() <= 1.0  # no boost over 1 dB past the cutoff
    assert p.eq_db.max() <= 4.0  # no brick wall of boosts (the tilt itself is +-3.4 dB over 20 Hz - 4 kHz)
    # the reported distance is over the matched region only, and small after matching
    assert r.distance_before_db < 5.0 and r.distance_after_db < 0.5
    assert r.distance_after_db == pytest.approx(band_distance(read(d / f"lp-{eq}.wav"), ref, 30, hi), abs=0.3)
    curves = spectrum_curves(r)
    for k, v in curves.items():
        if k != "freq_hz":
            assert np.nanmax(np.abs(v)) < 60.0, k  # bounded (was +130 / -195 dB)
    assert np.all(np.isnan(curves["reference"][curves["freq_hz"] > 6000]))  # not drawn where it holds nothing


def test_single_instrument_reference(tmp_path):
    bass = synth.bass(3.0)[0] * 0.5
    bass = ss.sosfiltfilt(ss.butter(8, 900.0, "low", fs=SR, output="sos"), bass)  # energy below 1 kHz only
    hats = synth.hats(3.0)[0] * 0.3
    mix = np.stack([bass + hats, bass + hats]).astype(np.float32)
    shelf = [{"kind": "lowshelf", "freq_hz": 150.0, "gain_db": 4.0, "q": 0.7}]
    ref = fft_eq(np.stack([bass, bass]), shelf).astype(np.float32)
    write(tmp_path / "mix.wav", mix)
    write(tmp_path / "bass.wav", ref)
    r = match_file(tmp_path / "mix.wav", tmp_path / "o.wav", [tmp_path / "bass.wav"], amount=1.0, chain="none",
                   match="tone")
    p = r.plan
    lo, hi = p.region_hz
    assert lo <= 80 and 500 <= hi <= 1000
    assert "above" in p.region_text and "the reference holds no energy: left flat" in p.region_text
    outside = (p.points_hz > hi * 2 ** 0.5) | (p.points_hz < lo / 2 ** 0.5)
    assert p.eq_db[outside].max() <= 1.0 and p.eq_db[outside].min() >= -1.0
    assert r.distance_after_db < 1.0
    assert band_distance(read(tmp_path / "o.wav"), ref, 50, 500) < 1.0
    curves = spectrum_curves(r)
    assert all(np.nanmax(np.abs(v)) < 60.0 for k, v in curves.items() if k != "freq_hz")


def test_clamped_and_region_are_reported_on_the_terminal_and_in_the_report(mix_file):
    d = mix_file
    x = program(3.0, -10.0)
    peak = [{"kind": "peak", "freq_hz": 1000.0, "gain_db": 18.0, "q": 1.0}]
    sos = ss.butter(16, 4000.0, "low", fs=SR, output="sos")
    write(d / "loud-peak.wav", ss.sosfiltfilt(sos, fft_eq(x, peak), axis=1).astype(np.float32))
    r = cli("master", "mix.wav", "-o", "cp.wav", "--reference", "loud-peak.wav", "--report", "cp.html", cwd=d)
    assert r.returncode == 0, r.stderr
    assert "clamped" in r.stdout and "above 4 kHz the reference holds no energy: left flat" in r.stdout
    page = (d / "cp.html").read_text()
    assert "clamped" in page and "above 4 kHz the reference holds no energy: left flat" in page
    assert "match EQ bands" in page and "<td>peak</td>" in page


# --- 1: the parametric EQ and the saved chain ---------------------------------------------------

KNOWN = [{"kind": "lowshelf", "freq_hz": 120.0, "gain_db": 3.0, "q": 0.7},
         {"kind": "peak", "freq_hz": 2500.0, "gain_db": -4.0, "q": 1.4},
         {"kind": "highshelf", "freq_hz": 9000.0, "gain_db": 2.5, "q": 0.7}]


@pytest.fixture(scope="module")
def known(mix_file):
    d = mix_file
    mix = read(d / "mix.wav")
    m, s = 0.5 * (mix[0] + mix[1]), 0.5 * (mix[0] - mix[1]) * 1.5  # a known width change
    ref = fft_eq(np.stack([m + s, m - s]), KNOWN)
    write(d / "known.wav", (ref / np.abs(ref).max() * 10 ** (-2 / 20)).astype(np.float32))
    return d


def test_parametric_fit_is_mixcore_eq_bands_and_follows_a_known_eq(known):
    d = known
    mix, ref = analyse(d / "mix.wav"), analyse(d / "known.wav")
    p = plan_match(mix, [ref], ("tone",), 1.0)
    assert p.eq_mode == "parametric" and 1 <= len(p.bands) <= 12
    assert {b["kind"] for b in p.bands} <= {"peak", "lowshelf", "highshelf"}
    # the plan's curve is exactly what mixcore's eq processor does with these bands
    assert np.allclose(p.eq_db, EQ(bands=p.bands).response_db(p.points_hz, SR), atol=1e-9)
    inside = (p.points_hz >= 40) & (p.points_hz <= 16000)
    want = EQ(bands=KNOWN).response_db(p.points_hz, SR)
    err = (p.eq_db - want)[inside]
    assert np.abs(err - err.mean()).max() < 1.0  # the known EQ (up to level) within 1 dB
    lin = plan_match(mix, [ref], ("tone",), 1.0, eq_mode="linear")
    assert lin.fir is not None and not lin.bands
    assert np.sqrt(np.mean((p.eq_db - lin.eq_db)[inside] ** 2)) < 0.5  # parametric within 0.5 dB of linear


def test_saved_chain_reproduces_the_match_via_master_and_via_a_session(known):
    d = known
    (d / "c.toml").write_text("old")
    r = cli("master", "mix.wav", "-o", "a.wav", "--reference", "known.wav", "--save-chain", "c.toml",
            "--ceiling-dbtp", "-1.5", "--json", cwd=d)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    saved = tomllib.loads((d / "c.toml").read_text())
    types = [(e["type"], e.get("id")) for e in saved["chain"]]
    assert types == [("eq", "match_eq"), ("eq", "master_eq"), ("compressor", "master_compressor"),
                     ("width", "match_width"), ("gain", "match_loudness"), ("limiter", "match_limiter")]
    assert saved["max_limiting_db"] == 6.0
    assert saved["chain"][0]["bands"] == [{k: v for k, v in b.items() if k != "q" or v != 0.7071067811865476}
                                          for b in doc["match"]["eq_bands"]]
    assert saved["target_lufs"] == pytest.approx(doc["target_lufs"], abs=1e-3)
    assert saved["ceiling_dbtp"] == -1.5 and saved["chain"][-1]["ceiling_dbtp"] == -1.5
    assert saved["chain"][3]["width"] == pytest.approx(doc["match"]["width"], abs=1e-4)
    a = read(d / "a.wav")
    # master --chain: the file's own target and ceiling, master's own loudness loop and limiter
    r = cli("master", "mix.wav", "-o", "b.wav", "--chain", "c.toml", "--json", cwd=d)
    assert r.returncode == 0, r.stderr
    bdoc = json.loads(r.stdout)
    assert bdoc["target_lufs"] == pytest.approx(doc["target_lufs"], abs=1e-3) and bdoc["ceiling_dbtp"] == -1.5
    assert [c["type"] for c in bdoc["chain"]] == ["eq", "eq", "compressor", "width"]
    b = read(d / "b.wav")
    assert lufs(b) == pytest.approx(lufs(a), abs=0.1)
    assert true_peak_8x(b) <= -1.5 + 0.05 and true_peak_8x(a) <= -1.5 + 0.05
    # the same file in the master chain of a session, after the node's own (transparent) eq and limiter:
    # the gain and the limiter run as written, and no id clashes
    (d / "s.toml").write_text('sample_rate = 48000\n[[tracks]]\nname = "mix"\nsource = "mix.wav"\n'
                              '[master]\nchain = [ { type = "eq", bands = [ { kind = "peak", freq_hz = 1000.0 } ] },'
                              ' { type = "limiter", ceiling_dbtp = 0.0 }, { preset = "c.toml" } ]\n')
    r = cli("render", "s.toml", "-o", "s.wav", "-q", cwd=d)
    assert r.returncode == 0, r.stderr
    s = read(d / "s.wav")
    assert lufs(s) == pytest.approx(lufs(a), abs=0.1)
    assert true_peak_8x(s) <= -1.5 + 0.05
    n = a.shape[1]
    assert np.abs(s[:, :n] - a).max() < 1e-4  # the same processing, sample for sample
    # ... and as a track's chain
    (d / "t.toml").write_text('sample_rate = 48000\n[[tracks]]\nname = "mix"\nsource = "mix.wav"\n'
                              'chain = [ { preset = "c.toml" } ]\n')
    r = cli("render", "t.toml", "-o", "t.wav", "-q", cwd=d)
    assert r.returncode == 0, r.stderr
    assert np.abs(read(d / "t.wav")[:, :n] - a).max() < 1e-4


def test_save_chain_is_committed_with_the_master(known):
    d = known
    (d / "keep.toml").write_text("old chain")
    (d / "keep.wav").write_bytes(b"old master")
    (d / "afile").write_text("")
    r = cli("master", "mix.wav", "-o", "keep.wav", "--reference", "known.wav", "--save-chain", "keep.toml",
            "--report", "afile/r.html", cwd=d)  # the report cannot be written: nothing is replaced
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert (d / "keep.toml").read_text() == "old chain" and (d / "keep.wav").read_bytes() == b"old master"
    for args, message in ((["--save-chain", "c.txt"], "--save-chain: c.txt must end in .toml"),
                          (["--save-chain", "c.toml", "--match-eq", "linear"], "cannot be written as a chain"),
                          (["--reference-weights", "1,2"], "2 weights for 1 references")):
        r = cli("master", "mix.wav", "-o", "bad.wav", "--reference", "known.wav", *args, cwd=d)
        assert r.returncode == 2 and message in r.stderr, r.stderr
    r = cli("master", "mix.wav", "-o", "bad.wav", "--save-chain", "c.toml", cwd=d)
    assert r.returncode == 2 and "give a reference track" in r.stderr
    assert not (d / "bad.wav").exists()


# --- 3: amounts per dimension -------------------------------------------------------------------

@pytest.mark.parametrize("dim", ["tone", "width", "loudness"])
def test_each_amount_scales_its_own_dimension(known, dim):
    d = known
    mix, ref = read(d / "mix.wav"), read(d / "known.wav")
    out = {}
    for pct in (0, 50, 100):
        amount = {"tone": 1.0, "width": 1.0, "loudness": 1.0, dim: pct / 100}
        r = match_file(d / "mix.wav", d / f"amt-{dim}-{pct}.wav", [d / "known.wav"], amount=amount, chain="none",
                       target_lufs=None)
        out[pct] = (r, read(d / f"amt-{dim}-{pct}.wav"))
    (r0, y0), (rh, yh), (r1, y1) = out[0], out[50], out[100]
    if dim == "tone":
        assert not r0.plan.bands and np.abs(r0.plan.eq_db).max() == 0.0
        assert distance(y0, mix) < 0.05  # untouched
        assert r1.plan.bands and distance(y1, ref) < 0.3  # matched
        # half: the same bands at half the gain
        assert rh.plan.bands == [{**b, "gain_db": round(b["gain_db"] / 2, 2)} for b in r1.plan.bands]
    elif dim == "width":
        assert r0.plan.width == 1.0
        assert side_mid_db(y1) == pytest.approx(side_mid_db(ref), abs=0.3)
        assert rh.plan.width == pytest.approx(r1.plan.width ** 0.5, rel=1e-6)  # half the change in dB
        assert side_mid_db(yh) == pytest.approx(0.5 * (side_mid_db(y0) + side_mid_db(y1)), abs=0.2)
    else:
        assert lufs(y0) == pytest.approx(lufs(mix), abs=0.1)
        assert lufs(y1) == pytest.approx(lufs(ref), abs=0.1)
        assert lufs(yh) == pytest.approx(0.5 * (lufs(mix) + lufs(ref)), abs=0.1)
    if dim != "loudness":  # 0 % is the same as not matching that dimension at all
        others = ",".join(k for k in ("tone", "loudness", "width") if k != dim)
        match_file(d / "mix.wav", d / f"amt-{dim}-off.wav", [d / "known.wav"], match=others, amount=1.0,
                   chain="none")
        assert np.array_equal(read(d / f"amt-{dim}-off.wav"), y0)
    # the other dimensions are matched fully whatever this one's amount
    for y in (y0, y1):
        if dim != "loudness":
            assert lufs(y) == pytest.approx(lufs(ref), abs=0.1)
        if dim != "width":
            assert side_mid_db(y) == pytest.approx(side_mid_db(ref), abs=0.3)
        if dim != "tone":
            assert distance(y, ref) < 0.3
    if dim != "tone":
        assert r0.plan.bands == r1.plan.bands


# --- 2: weighted references ---------------------------------------------------------------------

def test_weighted_references(known, tmp_path):
    d = known
    base = read(d / "mix.wav")
    a = tilt(base, 4.0) * 0.8
    m, s = 0.5 * (a[0] + a[1]), 0.5 * (a[0] - a[1])
    a = np.stack([m + 1.6 * s, m - 1.6 * s])
    b = tilt(base, -4.0) * 0.3
    write(tmp_path / "a.wav", a.astype(np.float32))
    write(tmp_path / "b.wav", b.astype(np.float32))
    pa, pb, pm = analyse(tmp_path / "a.wav"), analyse(tmp_path / "b.wav"), analyse(d / "mix.wav")
    plan = plan_match(pm, [pa, pb], ("tone", "loudness", "width"), 1.0, weights="0.75,0.25", eq_mode="linear")
    band = (plan.points_hz >= 40) & (plan.points_hz <= 12000)
    slope = np.polyfit(np.log10(plan.points_hz[band]), plan.eq_db[band], 1)[0]
    assert slope == pytest.approx(0.75 * 4.0 - 0.25 * 4.0, abs=0.3)
    assert plan.reference_lufs == pytest.approx(0.75 * pa.integrated_lufs + 0.25 * pb.integrated_lufs, abs=1e-6)
    ea, eb = plan.side_mid_each_db  # each over the matched region: close to the whole file's
    assert ea == pytest.approx(side_mid_db(a), abs=0.5) and eb == pytest.approx(side_mid_db(b), abs=0.5)
    want = 10 * np.log10(0.75 * 10 ** (ea / 10) + 0.25 * 10 ** (eb / 10))  # the weighted energy ratio
    assert plan.side_mid_reference_db == pytest.approx(want, abs=1e-9)
    equal = plan_match(pm, [pa, pb], ("tone",), 1.0, eq_mode="linear")
    assert np.polyfit(np.log10(equal.points_hz[band]), equal.eq_db[band], 1)[0] == pytest.approx(0.0, abs=0.3)
    r = cli("master", str(d / "mix.wav"), "-o", "w.wav", "--reference", "a.wav", "--reference", "b.wav",
            "--reference-weights", "3,1", "--json", "--report", "w.html", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["match"]["reference_weights"] == [0.75, 0.25]
    page = (tmp_path / "w.html").read_text()
    assert "a.wav" in page and "b.wav" in page and "combined target" in page and "<td>0.75</td>" in page
