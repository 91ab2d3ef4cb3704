"""Peak memory of a render versus the session's length: it stays flat (sources and output stream).

    python benchmarks/bench_memory.py [--minutes 1 10 60] [--tracks 16]

Builds an R1-like session (R1's per-track EQ + compressor, group buses, reverb and delay sends,
master chain) whose tracks share four long source files (so the disk holds 4 files, not 16), renders
it in a fresh process per length, and prints wall time and peak RSS of each render.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _rss import peak_rss_mb  # noqa: E402
SR = 48000


def long_sources(folder: Path, minutes: float) -> list[Path]:
    """Four stereo 16-bit sources of ``minutes``, written block by block (constant memory)."""
    from r1_material import track

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, index in enumerate((0, 4, 5, 8)):
        p = folder / f"src{k}.wav"
        n = int(minutes * 60 * SR)
        if not p.exists() or sf.info(str(p)).frames != n:
            loop = track(index, 30.0)  # 30 s of material, repeated
            with sf.SoundFile(str(p), "w", SR, 2, subtype="PCM_16") as f:
                done = 0
                while done < n:
                    m = min(loop.shape[1], n - done)
                    f.write(loop[:, :m].T)
                    done += m
        paths.append(p)
    return paths


def child(session: Path, out: Path) -> dict:
    from mixcore.session import load_session

    t0 = time.perf_counter()
    load_session(session).render(out, meter=False)
    return {"seconds": time.perf_counter() - t0, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--child", nargs=2, type=Path)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(*a.child)))
        return
    from r1_session import write_session

    print(f"{'length':>8s} {'render s':>9s} {'x realtime':>11s} {'peak RSS MB':>12s}")
    for minutes in a.minutes:
        folder = HERE / ".cache" / f"mem-{minutes:g}min"
        srcs = long_sources(folder, minutes)
        session = write_session(folder, [srcs[i % 4] for i in range(16)])
        out = folder / "out.wav"
        r = subprocess.run([sys.executable, __file__, "--child", str(session), str(out)], capture_output=True, text=True)
        if r.returncode:
            print(r.stderr)
            continue
        res = json.loads(r.stdout.strip().splitlines()[-1])
        out.unlink()
        print(f"{minutes:7g}m {res['seconds']:9.2f} {minutes * 60 / res['seconds']:11.1f} {res['peak_rss_mb']:12.0f}")


if __name__ == "__main__":
    main()
