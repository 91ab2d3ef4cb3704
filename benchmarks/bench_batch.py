"""Batch throughput on Ray: N renders of the R1 session with 1 worker, then with 2.

    python benchmarks/bench_batch.py [--seconds 10] [--jobs 8] [--repeat 3] [--json PATH]

Each measurement runs in a fresh Python process that starts its own local Ray with
``num_cpus`` = the worker count, warms the workers up (one small batch, so that every
worker process has imported mixcore and loaded the kernels before the clock starts), then
times ``mixcore.batch.run_batch`` on ``--jobs`` renders of R1 (``r1_session.py``, 16 tracks,
``--seconds`` of audio each, ``threads = 1`` per render), each job writing its own float WAV.
Throughput is finished jobs per second of wall-clock time; the configurations take turns
(round robin) ``--repeat`` times and the median is reported, with the ratio of 2 workers
to 1 (issue #8's target: at least 1.7).

Every job's output must be the same bytes as a local render of the same session (its sha256 is
checked): a batch that is fast but wrong does not count.

Ray startup (about 2-5 s here) is reported apart: it is paid once per batch, not per job.
The machine is shared: other processes take cores and lower the 2-worker figure. The table
therefore also gives the CPU seconds each job took in its worker (``time.process_time``), which
does not depend on what else runs: equal CPU per job with 1 and 2 workers means the jobs do not
slow each other down.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

import run_r1  # noqa: E402  (material cache, machine description, child environment)


def child(workers: int, seconds: float, jobs: int, reference: str) -> dict:
    """Inside a fresh process: start Ray, warm up, time the batch."""
    import logging

    import ray

    from mixcore.batch import Job, run_batch

    session = run_r1.folder_for(seconds) / "r1.toml"
    t0 = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    startup = time.perf_counter() - t0
    try:
        with tempfile.TemporaryDirectory(prefix="mixcore-bench-batch-") as tmp:
            warm = [Job(name=f"warm{i}", session=session, output=Path(tmp) / f"warm{i}.wav") for i in range(2 * workers)]
            for r in run_batch(warm):
                if r.status != "ok":
                    raise SystemExit(f"warm-up job failed: {r.error}")
            batch = [Job(name=f"r{i}", session=session, output=Path(tmp) / f"r{i}.wav") for i in range(jobs)]
            t0 = time.perf_counter()
            results = run_batch(batch)
            wall = time.perf_counter() - t0
            bad = [r for r in results if r.status != "ok" or r.sha256 != reference]
            if bad:
                raise SystemExit(f"job {bad[0].job.name}: {bad[0].error or 'output differs from a local render'}")
    finally:
        ray.shutdown()
    return {"workers": workers, "jobs": jobs, "wall_s": wall, "jobs_per_s": jobs / wall, "ray_startup_s": startup,
            "job_seconds_median": statistics.median(r.seconds for r in results),
            "job_cpu_s_median": statistics.median(r.cpu_s for r in results)}


def reference_hash(seconds: float) -> str:
    """The bytes a local render of R1 gives (in a child, like every measurement)."""
    code = ("import sys, tempfile, hashlib, pathlib\n"
            "from mixcore.session import load_session\n"
            "with tempfile.TemporaryDirectory() as t:\n"
            "    out = pathlib.Path(t) / 'r1.wav'\n"
            f"    load_session({str(run_r1.folder_for(seconds) / 'r1.toml')!r}).render(out, meter=False)\n"
            "    print(hashlib.sha256(out.read_bytes()).hexdigest())\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=run_r1.child_env(1), cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"reference render failed: {run_r1.last_line(r.stderr)}")
    return run_r1.last_line(r.stdout)


def measure(workers: int, seconds: float, jobs: int, reference: str) -> dict:
    cmd = [sys.executable, __file__, "--child", str(workers), "--seconds", repr(seconds), "--jobs", str(jobs),
           "--reference", reference]
    r = subprocess.run(cmd, capture_output=True, text=True, env=run_r1.child_env(1), cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"{workers} worker(s): {run_r1.last_line(r.stderr) or r.returncode}")
    return json.loads(run_r1.last_line(r.stdout))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of R1 per job (default 10 s)")
    ap.add_argument("--jobs", type=int, default=8, help="renders per batch (default 8)")
    ap.add_argument("--repeat", type=int, default=3, help="batches per configuration; the median is reported")
    ap.add_argument("--json", type=Path, help="results file (default benchmarks/results/batch-r1-<seconds>s.json)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--reference", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.seconds, a.jobs, a.reference)))
        return
    if not (run_r1.folder_for(a.seconds) / "r1.toml").exists():
        run_r1.prepare_material(a.seconds)
    reference = reference_hash(a.seconds)
    load_before = os.getloadavg()
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for i in range(a.repeat):
        for w in (1, 2):
            res = measure(w, a.seconds, a.jobs, reference)
            runs[w].append(res)
            print(f"run {i + 1}/{a.repeat}, {w} worker(s): {res['jobs_per_s']:.3f} jobs/s "
                  f"({res['wall_s']:.2f} s for {a.jobs} jobs; Ray startup {res['ray_startup_s']:.1f} s)", file=sys.stderr)
    summary = {}
    for w, rs in runs.items():
        summary[str(w)] = {"jobs_per_s": statistics.median(r["jobs_per_s"] for r in rs),
                           "runs_jobs_per_s": [r["jobs_per_s"] for r in rs],
                           "wall_s": statistics.median(r["wall_s"] for r in rs),
                           "job_seconds_median": statistics.median(r["job_seconds_median"] for r in rs),
                           "job_cpu_s_median": statistics.median(r["job_cpu_s_median"] for r in rs),
                           "ray_startup_s": statistics.median(r["ray_startup_s"] for r in rs)}
    ratio = summary["2"]["jobs_per_s"] / summary["1"]["jobs_per_s"]
    print(f"\nbatch of {a.jobs} R1 renders ({a.seconds:g} s of audio each), median of {a.repeat}")
    print(f"{'workers':>8s} {'jobs/s':>8s} {'wall s':>8s} {'s/job in worker':>16s} {'CPU s/job':>10s} "
          f"{'Ray startup s':>14s}")
    for w, s in summary.items():
        print(f"{w:>8s} {s['jobs_per_s']:8.3f} {s['wall_s']:8.2f} {s['job_seconds_median']:16.2f} "
              f"{s['job_cpu_s_median']:10.2f} {s['ray_startup_s']:14.1f}")
    print(f"2 workers / 1 worker: {ratio:.2f}x throughput (target >= 1.7x); load average "
          f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after (other work on the machine takes cores)")
    # CPU per job is what the job costs whatever else runs: equal for 1 and 2 workers means the
    # jobs do not slow each other down, and 2 free cores would give close to 2x
    cpu_ratio = summary["1"]["job_cpu_s_median"] / summary["2"]["job_cpu_s_median"]
    print(f"CPU seconds per job, 1 worker / 2 workers: {cpu_ratio:.2f}")
    report = {"seconds_of_audio": a.seconds, "jobs": a.jobs, "repeat": a.repeat, "date": time.strftime("%Y-%m-%d"),
              "load_average_before_after": [load_before[0], os.getloadavg()[0]], "machine": run_r1.machine(),
              "results": summary, "ratio_2_vs_1": ratio,
              "cpu_per_job_ratio_1_vs_2": cpu_ratio, "outputs_identical_to_local_render": True}
    path = a.json or RESULTS / f"batch-r1-{a.seconds:g}s.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
