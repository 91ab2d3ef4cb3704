"""Short material (issue 13): files of 1, 100 and 1000 samples render, analyze and master.

Loudness needs whole 100 ms steps (momentary, short-term) and a 400 ms gating block (integrated):
where there is not enough audio it is null in JSON, and the rest of the report -- true peak, sample
peak, RMS, correlation -- is intact."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import cli, noise, read, write

SR = 48000
LENGTHS = (1, 100, 1000)


def _peak_db(x: np.ndarray) -> float:
    return 20.0 * math.log10(float(np.max(np.abs(x))))


@pytest.mark.parametrize("n", LENGTHS)
def test_a_short_source_renders(tmp_path, n):
    x = noise(n, 2, seed=n, level=0.5)
    write(tmp_path / "s.wav", x)
    (tmp_path / "s.toml").write_text('tail_s = 0.0\n\n[[tracks]]\nname = "a"\nsource = "s.wav"\n')
    r = cli("render", "s.toml", "-o", "out.wav", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    y = read(tmp_path / "out.wav")
    assert y.shape == (2, n)
    np.testing.assert_array_equal(y, x)  # a stereo track at 0 dB, centre: the samples themselves
    assert "no loudness (shorter than 400 ms)" in r.stdout and "-inf LUFS" not in r.stdout, r.stdout


@pytest.mark.parametrize("n", LENGTHS)
def test_a_short_file_analyzes_with_null_loudness(tmp_path, n):
    x = noise(n, 2, seed=n, level=0.5)
    write(tmp_path / "s.wav", x)
    r = cli("analyze", "--json", "s.wav", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["integrated_lufs"] is None
    assert d["momentary_max_lufs"] is None and d["short_term_max_lufs"] is None
    assert d["duration_s"] == pytest.approx(n / SR)
    assert d["sample_peak_dbfs"] == pytest.approx(_peak_db(x), abs=1e-4)
    assert d["true_peak_dbtp"] is not None and d["true_peak_dbtp"] >= d["sample_peak_dbfs"] - 1e-6
    assert d["rms_dbfs"] == pytest.approx(10 * math.log10(float(np.mean(x.astype(np.float64) ** 2))), abs=1e-3)
    assert len(d["true_peak_per_channel_dbtp"]) == 2


@pytest.mark.parametrize("n", LENGTHS)
def test_a_short_file_masters_under_the_ceiling(tmp_path, n):
    x = noise(n, 2, seed=n, level=0.99)
    write(tmp_path / "s.wav", x)
    r = cli("master", "s.wav", "-o", "m.wav", "--json", "--ceiling-dbtp", "-3", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["input_lufs"] is None and d["output_lufs"] is None and d["reached"] is False
    assert "loudness needs at least 400 ms" in d["note"]
    assert d["true_peak_dbtp"] <= -3.0 + 1e-3
    y = read(tmp_path / "m.wav")
    assert y.shape == (2, n) and np.isfinite(y).all()
    assert _peak_db(y) <= -3.0 + 1e-3


def test_a_short_file_masters_in_16_bit_with_a_summary_line(tmp_path):
    write(tmp_path / "s.wav", noise(100, 2, seed=1, level=0.5))
    r = cli("master", "s.wav", "-o", "m.wav", "--bit-depth", "16", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("wrote m.wav: n/a -> n/a LUFS")
    assert read(tmp_path / "m.wav").shape == (2, 100)


def test_compare_names_a_short_file(tmp_path):
    write(tmp_path / "a.wav", noise(SR, 2, seed=1))
    write(tmp_path / "b.wav", noise(1000, 2, seed=2))
    r = cli("compare", "a.wav", "b.wav", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == ("mixcore: error: B: b.wav is 20.8 ms long; loudness needs at least 400 ms, "
                                "so there is no level to match")
