"""``mixcore analyze FILE... [--json [--curves]] [--csv FILE] [--plot PNG]``: loudness and level report."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ..errors import MixcoreError

NAME = "analyze"
HELP = "loudness (BS.1770-4), loudness range, true peak and levels of audio files"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", type=Path, help="audio files (wav, flac, aiff, ...)")
    p.add_argument("--json", action="store_true", help="one JSON object per file and line")
    p.add_argument("--curves", action="store_true",
                   help="with --json: add the momentary and short-term loudness every 100 ms "
                        "(\"curves\": step_s, t_s = end of each window, momentary_lufs, short_term_lufs)")
    p.add_argument("--csv", type=Path, metavar="FILE",
                   help="write the curves as a table t_s,momentary_lufs,short_term_lufs "
                        "(one file: FILE; several: FILE-<name>.csv each)")
    p.add_argument("--layout", metavar="LAYOUT",
                   help="the channels: mono, stereo, 5.1, 7.1, 7.1.4 or names such as L,R,C,LFE,Ls,Rs "
                        "(default: the WAV channel mask, else the channel count)")
    p.add_argument("--dual-mono", action="store_true",
                   help="measure a mono file as played on two loudspeakers (+3 dB)")
    p.add_argument("--plot", type=Path, metavar="PNG",
                   help="write a loudness plot (one file: PNG; several: PNG-<name>.png each)")


def run(args: argparse.Namespace) -> int:
    from ..metering import analyze

    if args.curves and not args.json and args.csv is None:
        raise MixcoreError("--curves adds the curves to the --json output; give --json too (or --csv FILE)")
    if args.csv is not None and args.csv.suffix.lower() != ".csv":
        raise MixcoreError(f"--csv: {args.csv} must end in .csv")
    if args.layout is not None:
        from ..metering.layouts import parse_layout

        try:
            parse_layout(args.layout)
        except ValueError as e:
            raise MixcoreError(f"--layout: {e}") from None
    results = [analyze(f, layout=args.layout, dual_mono=args.dual_mono) for f in args.files]
    if args.csv is not None:
        write_csvs(results, args.csv)
    if args.plot is not None:
        from ..metering.plot import plot_results

        plot_results(results, args.plot)
    if args.json:
        for r in results:
            print(json.dumps(r.to_json_dict(curves=args.curves)))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title="loudness (ITU-R BS.1770-4, EBU R128)")
    cols = ("file", "integrated LUFS", "LRA LU", "true peak dBTP", "sample peak dBFS", "M max", "S max", "corr.")
    for c in cols:
        t.add_column(c, justify="left" if c == "file" else "right", overflow="fold")
    for r in results:
        t.add_row(str(r.path), _f(r.integrated_lufs), _f(r.loudness_range_lu), _f(r.true_peak_dbtp),
                  _f(r.sample_peak_dbfs), _f(r.momentary_max_lufs), _f(r.short_term_max_lufs),
                  "" if r.correlation is None else f"{r.correlation:.2f}")
    Console().print(t)
    for r in results:   # true peak of every channel, by name, for more than one channel
        if r.channels > 1 and r.layout:
            peaks = ", ".join(f"{n} {_f(p)}" for n, p in zip(r.layout, r.true_peak_per_channel_dbtp))
            print(f"{r.path}: true peak per channel (dBTP): {peaks}")
    finite = [r.integrated_lufs for r in results if math.isfinite(r.integrated_lufs)]
    if len(results) > 1 and finite:
        print(f"spread of integrated loudness: {max(finite) - min(finite):.2f} LU over {len(finite)} files")
    return 0


def write_csvs(results, out: Path) -> list[Path]:
    """The curves of each result as CSV: ``out`` for one file, ``<out stem>-<file stem>.csv`` beside
    ``out`` for several (the folder is created when missing)."""
    out = Path(out)
    paths = [out] if len(results) == 1 else [out.with_name(f"{out.stem}-{Path(r.path).stem}.csv") for r in results]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for r, p in zip(results, paths):
            r.write_csv(p)
    except OSError as e:
        raise MixcoreError(f"--csv: {out}: cannot write ({e.strerror or e})") from None
    return paths


def _f(x) -> str:
    return "-inf" if x is None or not math.isfinite(x) else f"{x:.1f}"
