"""``mixcore compare A B [--json] [-o DIR]``: a loudness-matched A/B of two files."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

NAME = "compare"
HELP = "loudness-matched A/B: the louder file is turned down to the other's integrated loudness"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", type=Path, help="file A (wav, flac, aiff)")
    p.add_argument("b", type=Path, help="file B")
    p.add_argument("-o", "--output", type=Path, help="folder for the loudness-matched listening copies (float WAV)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from ..mastering.compare import compare

    r = compare(args.a, args.b, args.output)
    if args.json:
        print(json.dumps(r.to_json_dict()))
        return 0
    from rich.console import Console
    from rich.table import Table

    def f(x, d=2):
        return "-inf" if not math.isfinite(x) else f"{x:.{d}f}"

    t = Table(title="loudness-matched A/B")
    t.add_column("", justify="left")
    t.add_column(f"A: {args.a.name}", justify="right")
    t.add_column(f"B: {args.b.name}", justify="right")
    ra, rb = r.a.analysis, r.b.analysis
    t.add_row("integrated LUFS", f(ra.integrated_lufs), f(rb.integrated_lufs))
    t.add_row("true peak dBTP", f(ra.true_peak_dbtp), f(rb.true_peak_dbtp))
    t.add_row("LRA LU", f(ra.loudness_range_lu, 1), f(rb.loudness_range_lu, 1))
    t.add_row("gain for the A/B dB", f"{r.gain_a_db:+.2f}", f"{r.gain_b_db:+.2f}")
    t.add_row("matched LUFS", f(ra.integrated_lufs + r.gain_a_db), f(rb.integrated_lufs + r.gain_b_db))
    t.add_row("matched true peak dBTP", f(ra.true_peak_dbtp + r.gain_a_db), f(rb.true_peak_dbtp + r.gain_b_db))
    Console().print(t)
    print(f"spectral difference B - A (1/3 octave, 30 Hz - 16 kHz, level-normalised): "
          f"{r.spectral_difference_db:.2f} dB RMS, tilt {r.tilt_db_per_decade:+.2f} dB/decade")
    for c in r.copies:
        print(f"wrote {c}")
    return 0
