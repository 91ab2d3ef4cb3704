"""``mixcore batch JOBS [--workers N] [--address ADDR]``: many renders on Ray (local by default)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import MixcoreError
from . import plugin_path

NAME = "batch"
HELP = "many renders on a Ray cluster (a local instance by default)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("jobs", type=Path, metavar="JOBS",
                   help="a jobs file (.toml, see docs/BATCH.md) or a folder of session files")
    p.add_argument("-o", "--output-dir", type=Path, metavar="DIR",
                   help="write outputs here (folder: <session name>.wav each; jobs file: base of relative outputs)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local instance: its CPUs (default: the machine's cores); with --address: jobs in flight")
    p.add_argument("--address", metavar="ADDR", help="a running Ray cluster (e.g. 10.0.0.5:6379, or 'auto')")
    p.add_argument("--resources", metavar="JSON", type=_resources,
                   help="custom resources the local instance advertises, e.g. '{\"plugin:FabFilter\": 2}'")
    p.add_argument("--retries", type=int, default=0, metavar="N",
                   help="retry a job that crashed up to N times (jobs with errors in their session are not retried)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    plugin_path.add_argument(p)


def _resources(text: str) -> dict[str, float]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, (int, float))
                                              and not isinstance(v, bool) and v > 0 for k, v in value.items()):
        raise argparse.ArgumentTypeError(f"expected a JSON object of positive amounts, e.g. "
                                         f"'{{\"plugin:FabFilter\": 1}}', got {text!r}")
    return {k: float(v) for k, v in value.items()}


def run(args: argparse.Namespace) -> int:
    from ..batch import RayOptions, load_jobs, run_batch
    from ..batch.report import BatchProgress, failure_lines, json_summary, summary_table

    if args.workers is not None and args.workers < 1:
        raise MixcoreError(f"--workers: {args.workers} must be at least 1")
    if args.retries < 0:
        raise MixcoreError(f"--retries: {args.retries} must be 0 or more")
    if args.address is not None and args.resources:
        raise MixcoreError("--resources: only for the local instance; on a cluster each node advertises its own "
                           "(ray start --resources)")
    plugin_path.apply(args)
    jobs = load_jobs(args.jobs, args.output_dir)
    from ..batch.runner import import_ray

    import_ray()  # a missing Ray is reported before anything starts
    opts = RayOptions(workers=args.workers, address=args.address, resources=args.resources or {})
    t0 = time.perf_counter()
    with BatchProgress(len(jobs), quiet=args.quiet) as bar:
        results = run_batch(jobs, opts, retries=args.retries, progress=bar)
    wall = time.perf_counter() - t0
    if args.json:
        print(json.dumps(json_summary(results, wall, args.workers, args.address)))
    else:
        summary_table(results, wall)
    for line in failure_lines(results):
        print(line, file=sys.stderr)
    return 0 if all(r.status == "ok" for r in results) else 1
