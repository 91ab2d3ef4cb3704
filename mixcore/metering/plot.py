"""Loudness plots (matplotlib, Agg): waveform envelope, momentary/short-term loudness, spectrum."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MixcoreError


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # a dependency of mixcore; only a broken install lacks it
        raise MixcoreError("--plot needs matplotlib, a dependency of mixcore: pip install matplotlib") from None
    return plt


#: where legends go: outside the axes, to their right, so they never cover the data
LEGEND_OUTSIDE = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8)


def loudness_lines(ax, r, *, label: str = "", short_term_only: bool = False) -> list:
    """Draw ``r.curves()`` on ``ax`` at exactly its times (``t_s``, the end of each window); silence
    (below the absolute gate) is a gap. Returns the lines drawn (momentary first)."""
    c = r.curves()
    series = [("short_term_lufs", "short-term (3 s)", 1.5)]
    if not short_term_only:
        series.insert(0, ("momentary_lufs", "momentary (400 ms)", 0.7))
    lines = []
    for key, name, lw in series:
        y = np.where(np.isfinite(c[key]), c[key], np.nan)
        lines += ax.plot(c["t_s"], y, lw=lw, label=label or name)
    return lines


def plot_results(results, out: Path) -> list[Path]:
    """One PNG for one file; for several, ``<out stem>-<file stem>.png`` beside ``out``."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise MixcoreError(f"--plot: {out} must end in .png")
    if out.is_dir():
        raise MixcoreError(f"--plot: {out} is a folder; give a file name")
    paths = [out] if len(results) == 1 else [out.with_name(f"{out.stem}-{Path(r.path).stem}.png") for r in results]
    from ..render.commit import CommitSet

    with CommitSet() as outputs:  # all plots or none
        for r, p in zip(results, paths):
            _plot_one(r, p, outputs)
    return paths


def figure(r):
    """The figure of one analysed file (waveform envelope, loudness curves, spectrum); the caller
    closes it (``matplotlib.pyplot.close``)."""
    import soundfile as sf

    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(11, 8), constrained_layout=True)
    # waveform envelope: peak of the mono sum per 10 ms, read in blocks; spectrum of the mono sum
    env = []
    spec = None
    nfft = 8192
    with sf.SoundFile(r.path) as f:
        hop = max(1, f.samplerate // 100)
        for block in f.blocks(blocksize=hop * 100, dtype="float32", always_2d=True):
            mono = block.mean(axis=1)
            k = len(mono) // hop
            if k:
                env.append(np.abs(mono[: k * hop]).reshape(k, hop).max(axis=1))
            if len(mono) >= nfft:
                p = np.abs(np.fft.rfft(mono[:nfft] * np.hanning(nfft))) ** 2
                spec = p if spec is None else spec + p
    end = r.duration_s
    e = np.concatenate(env) if env else np.zeros(0)
    t = (np.arange(len(e)) + 0.5) * hop / r.sample_rate   # the middle of each 10 ms
    axes[0].fill_between(t, -e, e, color="0.4", lw=0)
    axes[0].set(title=f"{Path(r.path).name}: waveform (peak of the mono sum per 10 ms)", xlabel="time (s)",
                ylabel="amplitude (full scale = 1)", ylim=(-1.05, 1.05), xlim=(0, end))
    ax = axes[1]
    loudness_lines(ax, r)
    if np.isfinite(r.integrated_lufs):
        ax.axhline(r.integrated_lufs, color="k", ls="--", lw=0.8, label=f"integrated {r.integrated_lufs:.1f} LUFS")
    ax.set(title=f"loudness (each value at the end of its window): LRA {r.loudness_range_lu:.1f} LU, "
                 f"true peak {r.true_peak_dbtp:.1f} dBTP", xlabel="time (s)", ylabel="loudness (LUFS)",
           xlim=(0, end))
    ax.legend(**LEGEND_OUTSIDE)
    ax = axes[2]
    if spec is not None and spec.max() > 0:
        freqs = np.fft.rfftfreq(nfft, 1.0 / r.sample_rate)
        db = 10 * np.log10(spec / spec.max() + 1e-12)
        # 1/6-octave smoothing
        smooth = np.array([db[(freqs >= f / 2 ** (1 / 12)) & (freqs <= f * 2 ** (1 / 12))].mean()
                           if f > 0 else db[0] for f in freqs])
        ax.semilogx(freqs[1:], smooth[1:])
    ax.set(title="spectrum of the mono sum (1/6-octave smoothed; 0 dB = its highest bin)",
           xlabel="frequency (Hz)", ylabel="level (dB re. highest bin)", xlim=(20, r.sample_rate / 2))
    return fig


def _plot_one(r, path: Path, outputs) -> None:
    plt = _pyplot()
    fig = figure(r)
    try:
        fig.savefig(outputs.stage(path, "--plot"), dpi=100, format="png")
    finally:
        plt.close(fig)
