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
        out.append(("tone matched", "", p.region_text))
        out.append(("spectral distance to reference (matched region)", _fmt(match.distance_before_db, "dB"),
                    _fmt(match.distance_after_db, "dB")))
        if p.has_eq:
            kind = "linear-phase FIR" if p.fir is not None else f"parametric, {len(p.bands)} bands"
            out.append((f"match EQ ({kind})", "", f"{p.eq_db.min():+.1f} .. {p.eq_db.max():+.1f} dB"))
        if p.side_mid_before_db is not None:
            out.append(("side/mid energy", _fmt(p.side_mid_before_db, "dB"), _fmt(p.side_mid_after_db, "dB")))
        out.append(("width", "", f"x{p.width:.3f}"))
        for n in p.notes:
            out.append(("warning", "", n))
    if master.note:
        out.append(("note", "", master.note))
    return out


def match_summary(match) -> list[str]:
    """The terminal lines of a match: what moved, where the tone was matched, the warnings."""
    p = match.plan
    if p.fir is not None:
        eq = f"linear-phase EQ {p.eq_db.min():+.1f} .. {p.eq_db.max():+.1f} dB"
    elif p.bands:
        eq = f"parametric EQ, {len(p.bands)} bands, {p.eq_db.min():+.1f} .. {p.eq_db.max():+.1f} dB"
    else:
        eq = "no EQ"
    lines = [f"matched {', '.join(p.dimensions)} ({', '.join(f'{k} {v:.0%}' for k, v in p.amounts.items())}): "
             f"{eq}, width x{p.width:.2f}, spectral distance to the reference "
             f"{match.distance_before_db:.2f} -> {match.distance_after_db:.2f} dB",
             p.region_text]
    lines += [f"warning: {n}" for n in p.notes]
    return lines


def band_rows(match) -> list[tuple[str, str, str, str, str]]:
    """(number, kind, frequency, gain, Q) of the parametric match EQ's bands."""
    return [(str(i + 1), b["kind"], f"{b['freq_hz']:.1f} Hz", f"{b['gain_db']:+.2f} dB", f"{b['q']:.3f}")
            for i, b in enumerate(match.plan.bands)]


def spectrum_curves(match) -> dict[str, np.ndarray]:
    """The curves of the spectrum panel (dB re. each curve's mean over the matched region, NaN where the
    signal holds no energy), with "freq_hz"; "reference" is the weighted combination."""
    from .match import holds_energy, smoothed_db

    p = match.plan
    pts = p.points_hz
    inside = np.ones(len(pts), dtype=bool)
    if p.region is not None:
        inside[:] = False
        inside[p.region[0]: p.region[1] + 1] = True
    out = {"freq_hz": pts}
    for prof, label in ((match.mix, "before"), (match.output, "after")):
        d = smoothed_db(prof.freqs, prof.mid_power, pts)
        out[label] = np.where(holds_energy(pts, d), d - d[inside].mean(), np.nan)
    for i, c in enumerate(p.reference_curves):
        out[f"reference {i + 1}"] = c
    if len(p.reference_curves) > 1 or p.target_db is None:
        stack = np.array(p.reference_curves)
        w = np.array(p.weights)[:, None] * np.isfinite(stack)
        comb = np.nansum(np.nan_to_num(stack) * w, axis=0) / np.maximum(w.sum(axis=0), 1e-12)
        comb[np.any(~np.isfinite(stack) & (np.array(p.weights)[:, None] > 0), axis=0)] = np.nan  # all must hold energy
        out["reference"] = comb
    else:
        out["reference"] = p.reference_curves[0]
    return out


def _figure(master, match=None):
    from ..metering.plot import LEGEND_OUTSIDE, loudness_lines
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
        p = match.plan
        curves = spectrum_curves(match)
        pts = curves["freq_hz"]
        ax = axes[1]
        for label in ("before", "after"):
            ax.semilogx(pts, curves[label], label=label)
        refs = [k for k in curves if k.startswith("reference ")]
        if len(refs) > 1:
            for k, w in zip(refs, p.weights):
                ax.semilogx(pts, curves[k], ":", lw=0.9, label=f"{k} (weight {w:.2f})")
        ax.semilogx(pts, curves["reference"], "k--", label="reference" if len(refs) == 1 else "combined target")
        if p.region is not None:
            ax.axvspan(pts[0], pts[p.region[0]], color="0.9", lw=0)
            ax.axvspan(pts[p.region[1]], pts[-1], color="0.9", lw=0)
        vals = np.concatenate([v[np.isfinite(v)] for k, v in curves.items() if k != "freq_hz"])
        if vals.size:
            ax.set_ylim(max(vals.min(), -80.0) - 3.0, min(vals.max(), 40.0) + 3.0)
        ax.set(xlabel="frequency (Hz)", ylabel="level (dB re. mean)")
        ax.set_title("mid spectrum, 1/3-octave smoothed, re. each curve's mean over the matched region\n"
                     f"(grey: not matched; spectral distance {match.distance_before_db:.2f} -> "
                     f"{match.distance_after_db:.2f} dB)", fontsize=10)
        ax.legend(**LEGEND_OUTSIDE)
        ax = axes[2]
        if p.target_db is not None:
            ax.semilogx(p.points_hz, p.target_db, color="0.5", ls="--", label="target difference (100 %)")
        kind = "linear-phase FIR" if p.fir is not None else f"parametric, {len(p.bands)} bands"
        ax.semilogx(p.points_hz, p.eq_db, color="C3", label=f"applied EQ ({kind}, tone {p.amounts['tone']:.0%})")
        for b in p.bands:
            ax.plot([b["freq_hz"]], [np.interp(np.log(b["freq_hz"]), np.log(p.points_hz), p.eq_db)], "o",
                    color="C3", ms=3)
        ax.axhline(0.0, color="0.6", lw=0.8)
        if p.bands:
            text = "\n".join(f"{n:>2} {k:<9} {f:>9} {g:>9} Q {q}" for n, k, f, g, q in band_rows(match))
            ax.text(1.02, 0.0, text, transform=ax.transAxes, fontsize=6.5, family="monospace", va="bottom")
        if p.region is not None:
            ax.axvspan(p.points_hz[0], p.points_hz[p.region[0]], color="0.9", lw=0)
            ax.axvspan(p.points_hz[p.region[1]], p.points_hz[-1], color="0.9", lw=0)
        ax.set(xlabel="frequency (Hz)", ylabel="gain (dB)")
        ax.set_title(f"match EQ, gain {master.gain_db:+.2f} dB, width x{p.width:.2f}\n{p.region_text}", fontsize=10)
        ax.legend(**LEGEND_OUTSIDE)
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
        p = match.plan
        each = []
        for i, r in enumerate(match.references):
            sm = p.side_mid_each_db[i] if i < len(p.side_mid_each_db) else None
            each.append(f"<tr><td>{esc(str(r.path))}</td><td>{p.weights[i]:.2f}</td>"
                        f"<td>{esc(_fmt(r.integrated_lufs, 'LUFS'))}</td><td>{esc(_fmt(sm, 'dB'))}</td></tr>")
        each.append(f"<tr><td>combined target</td><td>1.00</td><td>{esc(_fmt(p.reference_lufs, 'LUFS'))}</td>"
                    f"<td>{esc(_fmt(p.side_mid_reference_db, 'dB'))}</td></tr>")
        refs = ("<h2>references</h2><table><tr><th>reference</th><th>weight</th><th>loudness</th>"
                "<th>side/mid energy</th></tr>" + "".join(each) + "</table>")
        if p.bands:
            refs += ("<h2>match EQ bands (eq processor)</h2><table><tr><th>band</th><th>kind</th><th>frequency</th>"
                     "<th>gain</th><th>Q</th></tr>"
                     + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                               for row in band_rows(match))
                     + "</table>")
    img = base64.b64encode(png).decode("ascii")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>mixcore master report</title>"
            f"<style>body{{font-family:sans-serif;max-width:960px;margin:auto}}td,th{{padding:2px 10px;"
            f"text-align:right}}td:first-child{{text-align:left}}</style></head><body>"
            f"<h1>mixcore master: {esc(Path(master.path).name)}</h1>"
            f"<table><tr><th></th><th>before</th><th>after</th></tr>{table}</table>{refs}"
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
