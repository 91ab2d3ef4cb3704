"""``mixcore master IN -o OUT [--preset NAME] [--target-lufs X] [--ceiling-dbtp Y]``."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MixcoreError

NAME = "master"
HELP = "master a mix to a loudness target under a true-peak ceiling"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..mastering.presets import PRESETS

    p.add_argument("inputs", nargs="+", type=Path, help="the mix (wav, flac, aiff); several with --album")
    p.add_argument("-o", "--output", type=Path, required=True, help="the master to write (a folder with --album)")
    p.add_argument("--album", action="store_true", help="master several tracks to one consistent loudness")
    p.add_argument("--track-adjust-db", type=float, default=3.0,
                   help="album mode: how far a track may move beyond the album gain towards the target (dB)")
    p.add_argument("--preset", help=f"loudness target preset: {', '.join(PRESETS)} (default spotify)")
    p.add_argument("--target-lufs", type=float, help="integrated loudness target (overrides the preset)")
    p.add_argument("--ceiling-dbtp", type=float, help="true-peak ceiling (overrides the preset)")
    p.add_argument("--bit-depth", choices=["16", "24", "float"], default="float", help="output sample format")
    p.add_argument("--reference", type=Path, action="append", help="match a reference track (not yet available)")
    p.add_argument("-q", "--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..mastering import master_file, preset

    if args.reference:
        raise MixcoreError("--reference: reference matching is not available in this version")
    target = preset(args.preset or "spotify")
    lufs = args.target_lufs if args.target_lufs is not None else target.lufs
    ceiling = args.ceiling_dbtp if args.ceiling_dbtp is not None else target.ceiling_dbtp
    bit_depth = "float" if args.bit_depth == "float" else int(args.bit_depth)
    if args.album:
        return _album(args, lufs, ceiling, bit_depth)
    if len(args.inputs) > 1:
        raise MixcoreError("several inputs: use --album (and a folder for -o)")
    r = master_file(args.inputs[0], args.output, target_lufs=lufs, ceiling_dbtp=ceiling, bit_depth=bit_depth)
    if not args.quiet:
        print(f"wrote {r.path}: {r.input_lufs:.1f} -> {r.output_lufs:.2f} LUFS (target {r.target_lufs:g}), "
              f"true peak {r.true_peak_dbtp:.2f} dBTP (ceiling {r.ceiling_dbtp:g}), gain {r.gain_db:+.2f} dB, "
              f"{r.passes} passes" + (f"; {r.note}" if r.note else ""))
    return 0


def _album(args, lufs: float, ceiling: float, bit_depth) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..mastering import master_album
    from ..metering import analyze

    if args.output.exists() and not args.output.is_dir():
        raise MixcoreError(f"-o: {args.output} is a file; with --album it is the folder for the masters")
    r = master_album(args.inputs, args.output, target_lufs=lufs, ceiling_dbtp=ceiling,
                     track_adjust_db=args.track_adjust_db, bit_depth=bit_depth)
    if args.quiet:
        return 0
    t = Table(title=f"album: {r.album_lufs_before:.1f} LUFS before, album gain {r.album_gain_db:+.2f} dB, "
                    f"target {lufs:g} LUFS")
    for col in ("track", "before LUFS", "after LUFS", "true peak dBTP", "LRA LU", "gain dB"):
        t.add_column(col, justify="left" if col == "track" else "right")
    for m in r.tracks:
        a = analyze(m.path)
        t.add_row(m.path.name, f"{m.input_lufs:.1f}", f"{m.output_lufs:.2f}", f"{m.true_peak_dbtp:.2f}",
                  f"{a.loudness_range_lu:.1f}", f"{m.gain_db:+.2f}")
    Console().print(t)
    print(f"spread of integrated loudness: {r.spread_lu:.2f} LU")
    return 0
