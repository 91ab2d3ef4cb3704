"""One command for the R1 performance record: mixcore vs pedalboard (and DawDreamer when installed).

    python benchmarks/run_r1.py [--seconds 60] [--repeat 3] [--json results.json]

Material is generated once into benchmarks/.cache/. Each renderer runs in a fresh subprocess
(median of --repeat runs; peak RSS from getrusage of the child). mixcore renders the session
file through the same path a user takes (Session.render to a WAV file).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
sys.path.insert(0, str(HERE))
from _rss import peak_rss_mb  # noqa: E402


def material(seconds: float) -> tuple[list[Path], Path]:
    from r1_material import write_material
    from r1_session import write_session

    folder = CACHE / f"r1-{int(seconds)}s"
    paths = write_material(folder, seconds)
    return paths, write_session(folder, paths)


def worker(renderer: str, seconds: float, threads: int) -> dict:
    """Runs inside the child process: time one render."""
    import numpy as np
    import soundfile as sf

    paths, session_path = material(seconds)
    if renderer == "mixcore":
        from mixcore.session import load_session

        s = load_session(session_path)
        out = session_path.parent / "out-mixcore.wav"
        t0 = time.perf_counter()
        s.render(out, threads=threads, meter=False)
        dt = time.perf_counter() - t0
    else:
        tracks = [np.ascontiguousarray(sf.read(str(p), dtype="float32", always_2d=True)[0].T) for p in paths]
        if renderer.startswith("pedalboard"):
            import r1_pedalboard as rp

            t0 = time.perf_counter()
            if renderer == "pedalboard-blocks":
                rp.render_blocks(tracks, 512)
            else:
                rp.render_whole(tracks, threads=threads)
            dt = time.perf_counter() - t0
        elif renderer == "dawdreamer":
            import r1_dawdreamer as rd

            t0 = time.perf_counter()
            rd.render(tracks, 512)
            dt = time.perf_counter() - t0
        else:
            raise SystemExit(f"unknown renderer {renderer}")
    return {"seconds": dt, "peak_rss_mb": peak_rss_mb()}


def run_child(renderer: str, seconds: float, threads: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", renderer, "--seconds", str(seconds), "--threads", str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--worker")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker, a.seconds, a.threads)))
        return
    material(a.seconds)
    configs = [("mixcore", 1), ("mixcore", 2), ("pedalboard", 1), ("pedalboard", 2), ("pedalboard-blocks", 1)]
    try:
        import dawdreamer  # noqa: F401

        configs.append(("dawdreamer", 1))
    except ImportError:
        print("dawdreamer not installed: pip install -r benchmarks/requirements.txt", file=sys.stderr)
    if a.only:
        configs = [c for c in configs if c[0] in a.only]
    results = {}
    for name, threads in configs:
        runs = [run_child(name, a.seconds, threads) for _ in range(a.repeat)]
        errors = [r["error"] for r in runs if "error" in r]
        key = f"{name} ({threads} thread{'s' if threads > 1 else ''})"
        if errors:
            results[key] = {"error": errors[0]}
            print(f"{key:32s} failed: {errors[0]}")
            continue
        med = statistics.median(r["seconds"] for r in runs)
        rss = max(r["peak_rss_mb"] for r in runs)
        results[key] = {"seconds": med, "x_realtime": a.seconds / med, "peak_rss_mb": rss}
    base = results.get("mixcore (1 thread)", {}).get("seconds")
    print(f"R1, {a.seconds:g} s of audio, {os.cpu_count()} cores, median of {a.repeat}")
    print(f"{'renderer':32s} {'seconds':>8s} {'x realtime':>11s} {'vs mixcore 1t':>14s} {'peak RSS MB':>12s}")
    for key, r in results.items():
        if "error" in r:
            continue
        ratio = r["seconds"] / base if base else float("nan")
        print(f"{key:32s} {r['seconds']:8.3f} {r['x_realtime']:11.1f} {ratio:13.2f}x {r['peak_rss_mb']:12.0f}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
