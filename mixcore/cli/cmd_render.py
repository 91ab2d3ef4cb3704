"""``mixcore render SESSION [-o OUT] [--block-size N] [--stems DIR] [--manifest PATH] [--threads N]``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import MixcoreError
from ..render.commit import CommitSet
from . import plugin_path
from .progress import LazyProgress

NAME = "render"
HELP = "offline render of a session file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", type=Path, help="session file (.toml)")
    p.add_argument("-o", "--output", type=Path, help="output file (.wav, .flac, .aiff); default: the session's 'output'")
    p.add_argument("--block-size", type=int, help="render block size in samples (never changes the output)")
    p.add_argument("--stems", type=Path, metavar="DIR", help="also write each track's post-fader output to DIR")
    p.add_argument("--manifest", type=Path, metavar="PATH", help="write a JSON manifest for 'mixcore verify'")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads for independent nodes (default: the machine's cores; output is identical)")
    p.add_argument("--check", action="store_true",
                   help="render twice and fail if the two differ (catches plugins with hidden state)")
    p.add_argument("--meter", action="append", default=[], metavar="NODE",
                   help="also meter this track's or bus's output (repeatable); printed after the summary")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    plugin_path.add_argument(p)


def run(args: argparse.Namespace) -> int:
    from ..session import load_session

    if args.block_size is not None and not 1 <= args.block_size <= 65536:
        raise MixcoreError(f"--block-size: {args.block_size} is out of range, expected 1 .. 65536")
    if args.threads < 1:
        raise MixcoreError(f"--threads: {args.threads} must be at least 1")
    plugin_path.apply(args)
    session = load_session(args.session)
    out = session.output_path(args.output)
    if args.manifest is not None:
        if args.manifest.resolve() in {p.resolve() for p in session.input_paths()}:
            raise MixcoreError(f"--manifest: {args.manifest} is an input of the session; refusing to overwrite it")
        written = [out, *session.stem_paths(out, args.stems).values()]
        if args.manifest.resolve() in {p.resolve() for p in written}:
            raise MixcoreError(f"--manifest: {args.manifest} is also an output of the render; give another name")
    with CommitSet() as outputs:  # nothing replaces an existing file until every step below succeeded
        if args.manifest is not None:
            outputs.stage(args.manifest, "--manifest")  # a folder or a bad place is refused before rendering
        with LazyProgress(f"rendering {args.session.name}", quiet=args.quiet) as bar:
            result = session.render(out, block_size=args.block_size, threads=args.threads,
                                    stems=args.stems, progress=bar, meter_nodes=args.meter, commit=outputs)
        if args.check:
            check_repeatable(session, result, args, outputs)
        if args.manifest is not None:
            from ..render.manifest import write_manifest

            write_manifest(args.manifest, session, result, commit=outputs)
    if not args.quiet:
        for r in session.resampled_sources():  # never silent: a rate change is a change to the audio
            print(f"mixcore: note: {r['key']}: {r['path']} is {r['from_hz']} Hz; resampled to {r['to_hz']} Hz (soxr)",
                  file=sys.stderr)
        print(summary_line(result))
        for name, lo in result.node_loudness.items():
            print(f"  {name}: {_fmt(lo.integrated_lufs)} LUFS, short-term max {_fmt(lo.short_term_max_lufs)} LUFS, "
                  f"true peak {_fmt(lo.true_peak_dbtp)} dBTP, LRA {lo.loudness_range_lu:.1f} LU")
    return 0


def check_repeatable(session, result, args, outputs: CommitSet) -> None:
    """Render again into a second temporary file beside the output; both must be the same bytes.

    The first render is still staged in ``outputs``: on a difference nothing is replaced."""
    import numpy as np
    import soundfile as sf

    from ..render.manifest import sha256_file

    first = outputs.staged(result.path)
    scratch = CommitSet()  # never committed
    try:
        session.render(result.path, block_size=args.block_size, threads=args.threads, meter=False, commit=scratch)
        again = scratch.staged(result.path)
        if sha256_file(again) == sha256_file(first):
            if not args.quiet:
                print("check: a second render gave the same bytes")
            return
        a, _ = sf.read(str(first), always_2d=True)
        b, _ = sf.read(str(again), always_2d=True)
    finally:
        scratch.discard()
    n = min(len(a), len(b))
    diff = np.nonzero(np.any(a[:n] != b[:n], axis=1))[0]
    at = f"first at sample {diff[0]} ({diff[0] / result.sample_rate:.3f} s)" if len(diff) else "in length"
    raise MixcoreError(f"--check: two renders of {args.session} differ, {at}; a plugin keeps hidden state "
                       "or applies parameter changes late (nothing written)")


def summary_line(result) -> str:
    text = f"wrote {result.path}: {result.duration_s:.2f} s at {result.sample_rate} Hz"
    if result.loudness is not None:
        lo = result.loudness
        loud = ("no loudness (shorter than 400 ms)" if result.duration_s < 0.4
                else f"{_fmt(lo.integrated_lufs)} LUFS")  # BS.1770 gates 400 ms blocks
        text += f", {loud}, true peak {_fmt(lo.true_peak_dbtp)} dBTP"
    text += f"; rendered in {result.seconds:.2f} s ({result.realtime_factor:.0f}x realtime)"
    if result.stems:
        text += f"; {len(result.stems)} stems"
    return text


def _fmt(x) -> str:
    return "-inf" if x is None or x == float("-inf") else f"{x:.1f}"
