"""``mixcore master IN -o OUT [--preset NAME] [--target-lufs X] [--ceiling-dbtp Y] [--reference REF]``."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ..errors import MixcoreError
from .progress import LazyProgress

NAME = "master"
HELP = "master a mix to a loudness target under a true-peak ceiling, optionally matched to references"

BIT_DEPTHS = {"16": 16, "24": 24, "32f": "float", "float": "float"}


class _PresetAction(argparse._StoreAction):
    """``--preset``: its help names the presets, looked up only when help is shown (importing
    mixcore.mastering to build the parser would slow every command's start)."""

    @property
    def help(self) -> str:
        from ..mastering.presets import PRESETS

        return f"loudness target preset: {', '.join(PRESETS)} (default spotify)"

    @help.setter
    def help(self, _value) -> None:
        pass


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", type=Path, help="the mix (wav, flac, aiff); several with --album")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="the master to write, format from the extension (a folder with --album)")
    p.add_argument("--album", action="store_true", help="master several tracks to one consistent loudness")
    p.add_argument("--track-adjust-db", type=float, default=3.0,
                   help="album mode: how far a track may move beyond the album gain towards the target (dB)")
    p.add_argument("--preset", action=_PresetAction)
    p.add_argument("--target-lufs", type=float, help="integrated loudness target (overrides the preset and "
                                                     "the reference's loudness)")
    p.add_argument("--ceiling-dbtp", type=float, help="true-peak ceiling (overrides the preset)")
    p.add_argument("--chain", default="default",
                   help="processing before the gain and limiter: default (25 Hz high-pass, gentle 1.5:1 glue "
                        "compression), none, a shipped preset name (mixcore presets) or a chain preset .toml")
    p.add_argument("--width", type=float, help="stereo width after the chain (0 mono, 1 unchanged, 2 double side)")
    p.add_argument("--bit-depth", choices=list(BIT_DEPTHS), default="32f",
                   help="output samples: 16 or 24-bit integers (dithered) or 32-bit float (default)")
    p.add_argument("--dither", choices=["tpdf", "shaped"], default="tpdf",
                   help="16/24-bit: TPDF dither, or TPDF inside second-order noise shaping (default tpdf)")
    p.add_argument("--seed", type=int, default=0, help="dither seed (same seed, same bytes)")
    p.add_argument("--sample-rate", type=int, help="resample (soxr VHQ, before the limiter) to this rate")
    p.add_argument("--reference", type=Path, action="append",
                   help="match this reference track (repeat for several: they are averaged)")
    p.add_argument("--match", help="what to match: some of tone,loudness,width (default all three)")
    p.add_argument("--match-amount", help="how far to move towards the reference, 0-100 %%: one value or "
                                          "per dimension like tone=70,width=50 (default 70)")
    p.add_argument("--reference-weights", help="one weight per --reference, like 0.7,0.3 (default equal): tone, "
                                               "loudness and width targets are the weighted combination")
    p.add_argument("--match-eq", choices=["parametric", "linear"], default="parametric",
                   help="the tone match: at most 12 parametric eq bands you can read and edit (default), or a "
                        "linear-phase FIR that follows the curve exactly")
    p.add_argument("--save-chain", type=Path, help="with --reference: write everything the match decided (EQ "
                                                    "bands, chain, width, gain, limiter, target) as a chain "
                                                    ".toml for master --chain or a session")
    p.add_argument("--max-limiting-db", type=float,
                   help="cap on the limiter's largest gain reduction (dB; default 15, with --reference 6): "
                        "past it the loudness reached is reported instead of the target")
    p.add_argument("--report", type=Path, help="write a report: .png or .html (needs matplotlib)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("-q", "--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..mastering import master_file, preset

    from ..mastering.chain import chain_settings

    target = preset(args.preset or "spotify")
    saved = {} if args.preset else chain_settings(args.chain)  # a --save-chain file's target and ceiling
    lufs = args.target_lufs if args.target_lufs is not None else saved.get("target_lufs", target.lufs)
    ceiling = args.ceiling_dbtp if args.ceiling_dbtp is not None else saved.get("ceiling_dbtp", target.ceiling_dbtp)
    bit_depth = BIT_DEPTHS[args.bit_depth]
    if args.report is not None:
        from ..mastering.report import check_report_path

        check_report_path(args.report)
    if (args.match or args.match_amount or args.reference_weights or args.save_chain) and not args.reference:
        raise MixcoreError("--match/--match-amount/--reference-weights/--save-chain: give a reference track "
                           "with --reference")
    if args.album:
        if args.reference or args.report:
            raise MixcoreError("--album: --reference and --report work on one track at a time")
        return _album(args, lufs, ceiling, bit_depth)
    if len(args.inputs) > 1:
        raise MixcoreError("several inputs: use --album (and a folder for -o)")
    common = dict(ceiling_dbtp=ceiling, bit_depth=bit_depth, sample_rate=args.sample_rate, seed=args.seed,
                  dither=args.dither, chain=args.chain, width=args.width)
    from ..render.commit import CommitSet

    with CommitSet() as outputs:  # the master and the report replace existing files only when both are done
        if args.reference:
            from ..mastering.match import match_file

            m = match_file(args.inputs[0], args.output, args.reference, match=args.match,
                           amount=args.match_amount, target_lufs=args.target_lufs, fallback_lufs=lufs,
                           max_limiting_db=6.0 if args.max_limiting_db is None else args.max_limiting_db,
                           match_eq=args.match_eq, weights=args.reference_weights, save_chain=args.save_chain,
                           commit=outputs, **common)
            r, doc = m.master, m.to_json_dict()
        else:
            m = None
            with LazyProgress(f"mastering {Path(args.inputs[0]).name}", quiet=args.quiet) as bar:
                r = master_file(args.inputs[0], args.output, target_lufs=lufs, commit=outputs, progress=bar, **common,
                                **_cap(args))
            doc = r.to_json_dict()
        if args.report is not None:
            from ..mastering.report import write_report

            write_report(args.report, r, m, commit=outputs)
    if args.json:
        print(json.dumps(doc))
    elif not args.quiet:
        print(f"wrote {r.path}: {_lufs(r.input_lufs, 1)} -> {_lufs(r.output_lufs, 2)} LUFS "
              f"(target {r.target_lufs:.2f}), "
              f"true peak {r.true_peak_dbtp:.2f} dBTP (ceiling {r.ceiling_dbtp:g}), gain {r.gain_db:+.2f} dB, "
              f"limiter {r.limiter_gr_db:.1f} dB, {r.passes} pass{'es' if r.passes != 1 else ''}"
              + (f"; {r.note}" if r.note else ""))
        if m is not None:
            from ..mastering.report import match_summary

            for line in match_summary(m):
                print(line)
            if args.save_chain is not None:
                print(f"wrote {args.save_chain}")
        if args.report is not None:
            print(f"wrote {args.report}")
    return 0


def _lufs(x: float, digits: int) -> str:
    """A loudness for the summary line; 'n/a' where none was measured (silence, under 400 ms)."""
    return f"{x:.{digits}f}" if x is not None and math.isfinite(x) else "n/a"


def _cap(args: argparse.Namespace) -> dict:
    if args.max_limiting_db is None:  # a --save-chain file's cap, if it has one
        from ..mastering.chain import chain_settings

        saved = chain_settings(args.chain)
        return {"max_limiting_db": saved["max_limiting_db"]} if "max_limiting_db" in saved else {}
    return {"max_limiting_db": args.max_limiting_db}


def _album(args, lufs: float, ceiling: float, bit_depth) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..mastering import master_album
    from ..metering import analyze

    r = master_album(args.inputs, args.output, target_lufs=lufs, ceiling_dbtp=ceiling,
                     track_adjust_db=args.track_adjust_db, bit_depth=bit_depth, dither=args.dither, seed=args.seed,
                     sample_rate=args.sample_rate, chain=args.chain, width=args.width, **_cap(args))
    if args.quiet:
        return 0
    t = Table(title=f"album: {r.album_lufs_before:.1f} LUFS before, album gain {r.album_gain_db:+.2f} dB, "
                    f"target {lufs:g} LUFS")
    for col in ("track", "before LUFS", "after LUFS", "true peak dBTP", "LRA LU", "gain dB"):
        t.add_column(col, justify="left" if col == "track" else "right", overflow="fold")
    for m in r.tracks:
        a = analyze(m.path)
        t.add_row(m.path.name, f"{m.input_lufs:.1f}", f"{m.output_lufs:.2f}", f"{m.true_peak_dbtp:.2f}",
                  f"{a.loudness_range_lu:.1f}", f"{m.gain_db:+.2f}")
    Console().print(t)
    print(f"spread of integrated loudness: {r.spread_lu:.2f} LU")
    return 0
