"""The mastering report: one PNG, or one self-contained HTML page with the PNGs embedded (base64).

It shows before/after integrated loudness, true peak, loudness range and the limiter's gain
reduction, the short-term loudness over time before and after, and (with references) the
1/3-octave smoothed mid spectra of the mix before and after and of the references, with the applied
EQ curve, gain and width change. matplotlib (a dependency) draws the figures.
"""
from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import numpy as np

from ..errors import MixcoreError

KINDS = (".png", ".html")


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MixcoreError("--report needs matplotlib, a dependency of mixcore: pip install matplotlib") from None
    return plt


def check_report_path(path: Path) -> None:
    """Refuse a bad report path (or a missing matplotlib) before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in KINDS:
        raise MixcoreError(f"--report: {path} must end in .png or .html")
    if path.is_dir():
        raise MixcoreError(f"--report: {path} is a folder; give a file name")
    _pyplot()


def _fmt(x, unit: str, digits: int = 2) -> str:
    return "-inf" if x is None or not math.isfinite(x) else f"{x:.{digits}f} {unit}"


def rows(master, match=None) -> list[tuple[str, str, str]]:
    """(quantity, before, after) for the table."""
    b, a = master.before, master.after
    out = [("integrated loudness", _fmt(b.integrated_lufs, "LUFS"), _fmt(a.integrated_lufs, "LUFS")),
           ("true peak", _fmt(b.true_peak_dbtp, "dBTP"), _fmt(a.true_peak_dbtp, "dBTP")),
           ("loudness range", _fmt(b.loudness_range_lu, "LU", 1), _fmt(a.loudness_range_lu, "LU", 1)),
           ("limiter gain reduction (max)", "", _fmt(master.limiter_gr_db, "dB")),
           ("gain into the limiter", "", f"{master.gain_db:+.2f} dB"),
           ("target / ceiling", "", f"{master.target_lufs:.2f} LUFS / {master.ceiling_dbtp:g} dBTP")]
    if match is not None:
        p = match.plan
        out.append(("spectral distance to reference", _fmt(match.distance_before_db, "dB"),
                    _fmt(match.distance_after_db, "dB")))
        if p.fir is not None:
            out.append(("match EQ (linear-phase FIR)", "", f"{p.eq_db.min():+.1f} .. {p.eq_db.max():+.1f} dB"))
        if p.side_mid_before_db is not None:
            out.append(("side/mid energy", _fmt(p.side_mid_before_db, "dB"), _fmt(p.side_mid_after_db, "dB")))
        out.append(("width", "", f"x{p.width:.3f}"))
    if master.note:
        out.append(("note", "", master.note))
    return out


def _figure(master, match=None):
    from ..metering.plot import LEGEND_OUTSIDE, loudness_lines
    from .match import curve_points, smoothed_db

    plt = _pyplot()
    n = 3 if match is not None else 1
    fig, axes = plt.subplots(n, 1, figsize=(10, 3.4 * n + 0.6), constrained_layout=True, squeeze=False)
    axes = axes[:, 0]
    b, a = master.before, master.after
    ax = axes[0]
    for res, label in ((b, "before"), (a, "after")):
        loudness_lines(ax, res, short_term_only=True,
                       label=f"{label}: {_fmt(res.integrated_lufs, 'LUFS')}, TP {_fmt(res.true_peak_dbtp, 'dBTP')}, "
                             f"LRA {_fmt(res.loudness_range_lu, 'LU', 1)}")
    ax.axhline(master.target_lufs, color="k", ls="--", lw=0.8, label=f"target {master.target_lufs:.2f} LUFS")
    ax.set(title=f"short-term loudness, 3 s windows, each at its end (limiter gain reduction up to "
                 f"{master.limiter_gr_db:.1f} dB)", xlabel="time (s)", ylabel="loudness (LUFS)",
           xlim=(0, max(b.duration_s, a.duration_s)))
    ax.legend(**LEGEND_OUTSIDE)
    if match is not None:
        pts = curve_points(match.mix.sample_rate)
        ax = axes[1]
        for prof, label in ((match.mix, "before"), (match.output, "after")):
            d = smoothed_db(prof.freqs, prof.mid_power, pts)
            ax.semilogx(pts, d - d.mean(), label=label)
        ref = np.mean([smoothed_db(r.freqs, r.mid_power, pts) for r in match.references], axis=0)
        ax.semilogx(pts, ref - ref.mean(), "k--", label="reference")
        ax.set(title="mid spectrum, 1/3-octave smoothed, each curve relative to its own mean "
                     f"(distance {match.distance_before_db:.2f} -> {match.distance_after_db:.2f} dB)",
               xlabel="frequency (Hz)", ylabel="level (dB re. the curve's mean)")
        ax.legend(**LEGEND_OUTSIDE)
        ax = axes[2]
        p = match.plan
        ax.semilogx(p.points_hz, p.eq_db, color="C3")
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set(title=f"applied match EQ (tone {p.amounts['tone']:.0%}), gain {master.gain_db:+.2f} dB, "
                     f"width x{p.width:.2f}", xlabel="frequency (Hz)", ylabel="gain (dB)")
    return plt, fig


def _png_bytes(master, match=None) -> bytes:
    plt, fig = _figure(master, match)
    try:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        return buf.getvalue()
    finally:
        plt.close(fig)


def _html(master, match, png: bytes) -> str:
    esc = html.escape
    table = "".join(f"<tr><td>{esc(q)}</td><td>{esc(b)}</td><td>{esc(a)}</td></tr>" for q, b, a in rows(master, match))
    refs = ""
    if match is not None:
        refs = "<p>references: " + ", ".join(esc(str(r.path)) for r in match.references) + "</p>"
    img = base64.b64encode(png).decode("ascii")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>mixcore master report</title>"
            f"<style>body{{font-family:sans-serif;max-width:960px;margin:auto}}td,th{{padding:2px 10px;"
            f"text-align:right}}td:first-child{{text-align:left}}</style></head><body>"
            f"<h1>mixcore master: {esc(Path(master.path).name)}</h1>{refs}"
            f"<table><tr><th></th><th>before</th><th>after</th></tr>{table}</table>"
            f"<img alt='loudness and spectra' src='data:image/png;base64,{img}'></body></html>")


def write_report(path: str | Path, master, match=None, commit=None) -> Path:
    """Write the report for a :class:`MasterResult` (and a :class:`MatchResult`) atomically (with
    ``commit``, a :class:`~mixcore.render.commit.CommitSet`, staged there); missing folders are made."""
    from ..render.commit import outputs_of

    path = Path(path)
    check_report_path(path)
    png = _png_bytes(master, match)
    data = png if path.suffix.lower() == ".png" else _html(master, match, png).encode("utf-8")
    with outputs_of(commit) as outputs:
        outputs.write_bytes(path, data, "--report")
    return path
