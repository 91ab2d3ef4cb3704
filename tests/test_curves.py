"""Loudness curves as data (SPEC section 5, "Curves"): ``analyze --json --curves``, ``--csv``, the
Python API (meter, analysis, a render's metered nodes) and the plots, all at the same true times:
``t_s[k]`` is the end of the window whose loudness is element k; silence is null."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import soundfile as sf

import mixcore
from helpers import cli

SR = 48000
BURST = (1.23, 1.63)   # a 400 ms 1 kHz burst at -20 dBFS in 3 s of silence


def burst_file(path, seconds: float = 3.0, start: float = BURST[0]):
    x = np.zeros((int(seconds * SR), 2), np.float32)
    n = int(0.4 * SR)
    t = np.arange(n) / SR
    i = int(round(start * SR))
    x[i:i + n] = (0.1 * np.sin(2 * np.pi * 1000 * t))[:, None]
    sf.write(path, x, SR, subtype="FLOAT")
    return path


def _check_burst_curves(c, duration=3.0):
    t = np.array(c["t_s"])
    assert c["step_s"] == 0.1
    assert t.tolist() == [round(0.1 * (k + 1), 10) for k in range(int(round(duration * 10)))]
    assert t[-1] == duration                                   # ends with the file, not 3 s later
    mom = [None if v is None or not math.isfinite(v) else v for v in c["momentary_lufs"]]
    st = [None if v is None or not math.isfinite(v) else v for v in c["short_term_lufs"]]
    # nothing before the burst starts (1.23 s): the windows ending at 0.1 .. 1.2 s hold only silence
    assert all(v is None for v in mom[:12]) and all(v is None for v in st[:12])
    # the window ending at 1.3 s is the first to hold some of it (70 ms of 400: -20 + 10 log10(70/400))
    assert mom[12] == pytest.approx(-20.0 + 10 * math.log10(0.07 / 0.4), abs=0.2)
    # the most of the burst is in the window ending at 1.6 s (1.23 .. 1.6 s: 370 ms of it)
    assert t[int(np.nanargmax([np.nan if v is None else v for v in mom]))] == 1.6
    # the momentary window has passed the burst by 2.1 s (1.7 .. 2.1 s): silence again, null
    assert mom[20] is None and st[20] is not None


def test_json_curves_of_a_burst_at_a_known_time(tmp_path):
    burst_file(tmp_path / "b.wav")
    r = cli("analyze", "b.wav", "--json", "--curves", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d["curves"]) == {"step_s", "t_s", "momentary_lufs", "short_term_lufs"}
    _check_burst_curves(d["curves"])
    # without --curves the report is as before
    plain = json.loads(cli("analyze", "b.wav", "--json", cwd=tmp_path).stdout)
    assert "curves" not in plain and set(plain) == set(d) - {"curves"}


def test_csv_holds_the_same_table(tmp_path):
    burst_file(tmp_path / "b.wav")
    r = cli("analyze", "b.wav", "--json", "--curves", "--csv", "out/curves.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)["curves"]
    with open(tmp_path / "out" / "curves.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["t_s", "momentary_lufs", "short_term_lufs"]
    assert len(rows) == 1 + len(c["t_s"])
    for row, t, m, s in zip(rows[1:], c["t_s"], c["momentary_lufs"], c["short_term_lufs"]):
        assert float(row[0]) == t
        assert (row[1] == "" and m is None) or float(row[1]) == m
        assert (row[2] == "" and s is None) or float(row[2]) == s
    # several files: one table each, named after the file
    burst_file(tmp_path / "c.wav", start=0.5)
    r = cli("analyze", "b.wav", "c.wav", "--csv", "t.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "t-b.csv").exists() and (tmp_path / "t-c.csv").exists()
    r = cli("analyze", "b.wav", "--curves", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--json" in r.stderr


def test_python_api_meter_analysis_and_render_nodes_give_the_same_curves(tmp_path):
    from mixcore.metering import LoudnessMeter
    from mixcore.session import Session

    path = burst_file(tmp_path / "b.wav")
    a = mixcore.analyze(path).curves()
    _check_burst_curves(a)
    x = sf.read(path, dtype="float32", always_2d=True)[0].T.copy()
    m = LoudnessMeter(SR, 2)
    for i in range(0, x.shape[1], 1000):   # blocks that do not line up with the 100 ms steps
        m.process(x[:, i:i + 1000])
    for k in ("t_s", "momentary_lufs", "short_term_lufs"):
        assert np.array_equal(m.curves()[k], a[k])
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[{"name": "lead", "source": "b.wav"}])
    node = s.render(tmp_path / "mix.wav", meter_nodes=["lead"]).node_loudness["lead"].curves()
    assert np.array_equal(node["t_s"], a["t_s"])
    assert np.array_equal(np.isfinite(node["momentary_lufs"]), np.isfinite(a["momentary_lufs"]))


def test_analyze_plot_draws_exactly_the_curve_times(tmp_path):
    import matplotlib.pyplot as plt

    from mixcore.metering.plot import figure

    path = burst_file(tmp_path / "b.wav")
    c = json.loads(cli("analyze", "b.wav", "--json", "--curves", cwd=tmp_path).stdout)["curves"]
    fig = figure(mixcore.analyze(path))
    try:
        wave, loud, spec = fig.axes
        lines = {ln.get_label(): ln for ln in loud.get_lines()}
        mom, st = lines["momentary (400 ms)"], lines["short-term (3 s)"]
        assert mom.get_xdata().tolist() == c["t_s"] and st.get_xdata().tolist() == c["t_s"]
        for ln, key in ((mom, "momentary_lufs"), (st, "short_term_lufs")):
            y = ln.get_ydata()
            assert [None if np.isnan(v) else float(v) for v in y] == c[key]
        for ax in (wave, loud):
            assert ax.get_xlim()[1] == pytest.approx(3.0)       # the time axes end with the file
        for ax in fig.axes:                                     # every axis says its unit
            assert "(" in ax.get_xlabel() and "(" in ax.get_ylabel()
        assert "re." in spec.get_ylabel()                       # and what the spectrum's dB is relative to
        fig.canvas.draw()
        legend = loud.get_legend().get_window_extent()
        assert legend.x0 >= loud.get_window_extent().x1         # the legend is beside the data, not on it
    finally:
        plt.close(fig)


def test_master_report_draws_the_curve_times(tmp_path):
    import matplotlib.pyplot as plt

    from mixcore.mastering import master_file
    from mixcore.mastering.report import _figure

    x = np.random.default_rng(3).standard_normal((2, int(3.5 * SR))).astype(np.float32) * 0.05
    sf.write(tmp_path / "mix.wav", x.T, SR, subtype="FLOAT")
    res = master_file(tmp_path / "mix.wav", tmp_path / "m.wav", target_lufs=-16.0, chain=None)
    _, fig = _figure(res)
    try:
        ax = fig.axes[0]
        drawn = [ln for ln in ax.get_lines() if ln.get_label().startswith(("before", "after"))]
        assert [ln.get_xdata().tolist() for ln in drawn] == [res.before.curves()["t_s"].tolist(),
                                                             res.after.curves()["t_s"].tolist()]
        assert drawn[0].get_xdata()[-1] == pytest.approx(3.5) and ax.get_xlim()[1] == pytest.approx(3.5)
        fig.canvas.draw()
        assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1
    finally:
        plt.close(fig)
