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
    except ImportError:
        raise MixcoreError("--plot needs matplotlib: pip install 'mixcore[plot]'") from None
    return plt


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


def _plot_one(r, path: Path, outputs) -> None:
    import soundfile as sf

    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), constrained_layout=True)
    # waveform envelope: peak per 10 ms, read in blocks
    env = []
    spec = None
    with sf.SoundFile(r.path) as f:
        hop = max(1, f.samplerate // 100)
        nfft = 8192
        for block in f.blocks(blocksize=hop * 100, dtype="float32", always_2d=True):
            mono = block.mean(axis=1)
            k = len(mono) // hop
            if k:
                env.append(np.abs(mono[: k * hop]).reshape(k, hop).max(axis=1))
            if len(mono) >= nfft:
                p = np.abs(np.fft.rfft(mono[:nfft] * np.hanning(nfft))) ** 2
                spec = p if spec is None else spec + p
    e = np.concatenate(env) if env else np.zeros(1)
    t = np.arange(len(e)) / 100.0
    axes[0].fill_between(t, -e, e, color="0.4", lw=0)
    axes[0].set(title=f"{Path(r.path).name}: waveform", xlabel="time (s)", ylim=(-1.05, 1.05))
    tm = np.arange(len(r.momentary_lufs)) * 0.1 + 0.4
    ts = np.arange(len(r.short_term_lufs)) * 0.1 + 3.0
    axes[1].plot(tm, np.maximum(r.momentary_lufs, -70), lw=0.7, label="momentary")
    axes[1].plot(ts, np.maximum(r.short_term_lufs, -70), lw=1.5, label="short-term")
    if np.isfinite(r.integrated_lufs):
        axes[1].axhline(r.integrated_lufs, color="k", ls="--", label=f"integrated {r.integrated_lufs:.1f} LUFS")
    axes[1].set(title=f"loudness: LRA {r.loudness_range_lu:.1f} LU, true peak {r.true_peak_dbtp:.1f} dBTP",
                xlabel="time (s)", ylabel="LUFS")
    axes[1].legend(loc="lower right")
    if spec is not None:
        freqs = np.fft.rfftfreq(8192, 1.0 / r.sample_rate)
        db = 10 * np.log10(spec / spec.max() + 1e-12)
        # 1/6-octave smoothing
        smooth = np.array([db[(freqs >= f / 2 ** (1 / 12)) & (freqs <= f * 2 ** (1 / 12))].mean()
                           if f > 0 else db[0] for f in freqs])
        axes[2].semilogx(freqs[1:], smooth[1:])
    axes[2].set(title="spectrum (1/6-octave smoothed)", xlabel="Hz", ylabel="dB", xlim=(20, r.sample_rate / 2))
    try:
        fig.savefig(outputs.stage(path, "--plot"), dpi=100, format="png")
    finally:
        plt.close(fig)
