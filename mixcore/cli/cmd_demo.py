"""``mixcore demo [DIR]``: synthesise a project, render the mix and a master, print their loudness."""
from __future__ import annotations

import argparse
from pathlib import Path

from .progress import LazyProgress

NAME = "demo"
HELP = "write a demo project to DIR, render the mix and a mastered version, print their loudness"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", type=Path, default=Path("mixcore-demo"), help="folder (default mixcore-demo)")
    p.add_argument("--threads", type=int, default=1, help="render threads")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true",
                   help="overwrite files in DIR that differ from the demo's (an edited session.toml)")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..demo import write_demo_project
    from ..mastering import master_file, preset
    from ..metering import analyze
    from ..session import load_session

    console = Console()
    console.print(f"writing the demo project to [bold]{args.dir}[/]")
    session_path = write_demo_project(args.dir, force=args.force)
    session = load_session(session_path)
    with LazyProgress("rendering the mix", quiet=args.quiet) as bar:
        mix = session.render(threads=args.threads, progress=bar)
    console.print(f"rendered {mix.path} ({mix.duration_s:.1f} s) in {mix.seconds:.2f} s "
                  f"({mix.realtime_factor:.0f}x realtime)")
    target = preset("spotify")
    master_path = args.dir / "master.wav"
    m = master_file(mix.path, master_path, target_lufs=target.lufs, ceiling_dbtp=target.ceiling_dbtp, bit_depth=24)
    table = Table(title=f"loudness of the demo in {args.dir} (ITU-R BS.1770-4)")
    for col in ("file", "integrated LUFS", "LRA LU", "true peak dBTP", "short-term max LUFS"):
        table.add_column(col, justify="right" if col != "file" else "left", overflow="fold")
    for path in (mix.path, m.path):
        a = analyze(path)
        table.add_row(path.name, _f(a.integrated_lufs), _f(a.loudness_range_lu), _f(a.true_peak_dbtp),
                      _f(a.short_term_max_lufs))
    console.print(table)
    passes = f"{m.passes} pass" + ("" if m.passes == 1 else "es")
    console.print(f"mastered for streaming (spotify preset): target {target.lufs:g} LUFS, ceiling "
                  f"{target.ceiling_dbtp:g} dBTP, gain {m.gain_db:+.2f} dB in {passes}")
    return 0


def _f(x) -> str:
    return "-inf" if x is None or x == float("-inf") else f"{x:.2f}"
