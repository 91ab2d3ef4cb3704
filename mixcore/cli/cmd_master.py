"""``mixcore master IN -o OUT [--preset NAME] [--target-lufs X] [--ceiling-dbtp Y]``."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MixcoreError

NAME = "master"
HELP = "master a mix to a loudness target under a true-peak ceiling"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..mastering.presets import PRESETS

    p.add_argument("input", type=Path, help="the mix (wav, flac, aiff)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the master to write")
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
    r = master_file(args.input, args.output, target_lufs=lufs, ceiling_dbtp=ceiling, bit_depth=bit_depth)
    if not args.quiet:
        print(f"wrote {r.path}: {r.input_lufs:.1f} -> {r.output_lufs:.2f} LUFS (target {r.target_lufs:g}), "
              f"true peak {r.true_peak_dbtp:.2f} dBTP (ceiling {r.ceiling_dbtp:g}), gain {r.gain_db:+.2f} dB, "
              f"{r.passes} passes" + (f"; {r.note}" if r.note else ""))
    return 0
