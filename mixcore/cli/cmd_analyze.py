"""``mixcore analyze FILE... [--json] [--plot PNG]``: loudness and level report."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

NAME = "analyze"
HELP = "loudness (BS.1770-4), loudness range, true peak and levels of audio files"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", type=Path, help="audio files (wav, flac, aiff, ...)")
    p.add_argument("--json", action="store_true", help="one JSON object per file and line")
    p.add_argument("--plot", type=Path, metavar="PNG",
                   help="write a loudness plot (one file: PNG; several: PNG-<name>.png each)")


def run(args: argparse.Namespace) -> int:
    from ..metering import analyze

    results = [analyze(f) for f in args.files]
    if args.plot is not None:
        from ..metering.plot import plot_results

        plot_results(results, args.plot)
    if args.json:
        for r in results:
            print(json.dumps(r.to_json_dict()))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title="loudness (ITU-R BS.1770-4, EBU R128)")
    cols = ("file", "integrated LUFS", "LRA LU", "true peak dBTP", "sample peak dBFS", "M max", "S max", "corr.")
    for c in cols:
        t.add_column(c, justify="left" if c == "file" else "right")
    for r in results:
        t.add_row(str(r.path), _f(r.integrated_lufs), _f(r.loudness_range_lu), _f(r.true_peak_dbtp),
                  _f(r.sample_peak_dbfs), _f(r.momentary_max_lufs), _f(r.short_term_max_lufs),
                  "" if r.correlation is None else f"{r.correlation:.2f}")
    Console().print(t)
    finite = [r.integrated_lufs for r in results if math.isfinite(r.integrated_lufs)]
    if len(results) > 1 and finite:
        print(f"spread of integrated loudness: {max(finite) - min(finite):.2f} LU over {len(finite)} files")
    return 0


def _f(x) -> str:
    return "-inf" if x is None or not math.isfinite(x) else f"{x:.1f}"
