"""mixcore's peak memory while rendering R1 at different session lengths: it stays flat.

    python benchmarks/bench_memory.py [--minutes 1 10] [--long] [--threads 1] [--keep]

For each length, R1's graph (``r1_session.py``: 16 tracks with EQ and compressor, group buses,
reverb and delay sends, master EQ, compressor and limiter) is rendered by the real command line,
``python -m mixcore render SESSION -o OUT --threads N --quiet``, in a fresh process; its peak
RSS comes from ``os.wait4`` (``getrusage`` of that child), its wall time from the parent.
``--long`` adds a 2-hour session.

The 16 tracks share four long 16-bit source files (R1 tracks 0, 4, 5 and 8, 30 s of material
looped), so a 2-hour session needs 5.5 GB of sources rather than 22 GB. Sources are written block
by block (in a child process, so that this parent stays small: on Linux a child's ``ru_maxrss``
starts at its parent's peak when the parent is larger) and cached in ``benchmarks/.cache/mem-<minutes>min/``; each output is deleted after its
render unless ``--keep``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SR = 48000
LOOP_TRACKS = (0, 4, 5, 8)
LOOP_SECONDS = 30.0


def long_sources(folder: Path, minutes: float) -> list[Path]:
    """Four stereo 16-bit sources of ``minutes`` each (R1 material looped), written in constant memory."""
    import numpy as np
    import soundfile as sf

    from r1_material import VERSION, track

    folder.mkdir(parents=True, exist_ok=True)
    n = int(round(minutes * 60 * SR))
    paths = []
    for k, index in enumerate(LOOP_TRACKS):
        p = folder / f"src{k}-v{VERSION}.wav"
        if not p.exists() or sf.info(str(p)).frames != n:
            loop = track(index, LOOP_SECONDS).T
            tmp = p.with_suffix(".part.wav")
            with sf.SoundFile(str(tmp), "w", SR, 2, subtype="PCM_16") as f:
                done = 0
                while done < n:
                    m = min(loop.shape[0], n - done)
                    f.write(np.ascontiguousarray(loop[:m]))
                    done += m
            tmp.replace(p)
        paths.append(p)
    return paths


def render(session: Path, out: Path, threads: int) -> dict:
    """Run ``mixcore render`` in a child; wall seconds, the child's peak RSS (MB) and CPU seconds."""
    from run_r1 import last_line, run_child

    cmd = [sys.executable, "-m", "mixcore", "render", str(session), "-o", str(out), "--threads", str(threads),
           "--quiet"]
    code, _, err, wall, rss, cpu = run_child(cmd, threads, with_cpu=True)
    if code:
        raise SystemExit(f"mixcore render failed: {last_line(err) or code}")
    return {"seconds": wall, "peak_rss_mb": rss, "cpu_s": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description="mixcore render: peak memory versus session length")
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--long", action="store_true", help="also a 2-hour session")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the rendered files")
    ap.add_argument("--json", type=Path, help="results file (default benchmarks/results/memory.json)")
    ap.add_argument("--sources", nargs=2, metavar=("DIR", "MINUTES"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    sys.path.insert(0, str(HERE))
    if a.sources:
        print(json.dumps([str(p) for p in long_sources(Path(a.sources[0]), float(a.sources[1]))]))
        return
    from r1_session import write_session
    from run_r1 import last_line, run_child

    lengths = list(a.minutes) + ([120.0] if a.long else [])
    results = []
    print(f"{'length':>8s} {'render s':>9s} {'x realtime':>11s} {'peak RSS MB':>12s}")
    for minutes in lengths:
        folder = HERE / ".cache" / f"mem-{minutes:g}min"
        # in a child: the parent must stay small, or the render's ru_maxrss would start at the parent's peak
        code, out, err, _, _ = run_child([sys.executable, __file__, "--sources", str(folder), repr(minutes)], 1)
        if code:
            raise SystemExit(f"writing sources failed: {last_line(err)}")
        srcs = [Path(p) for p in json.loads(last_line(out))]
        session = write_session(folder, [srcs[t % len(srcs)] for t in range(16)])
        out = folder / "out.wav"
        res = render(session, out, a.threads)
        if not a.keep:
            out.unlink(missing_ok=True)
        res.update(minutes=minutes, x_realtime=minutes * 60 / res["seconds"])
        results.append(res)
        print(f"{minutes:7g}m {res['seconds']:9.2f} {res['x_realtime']:11.1f} {res['peak_rss_mb']:12.0f}", flush=True)
    path = a.json or HERE / "results" / "memory.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "threads": a.threads, "results": results},
                               indent=1) + "\n")


if __name__ == "__main__":
    main()
