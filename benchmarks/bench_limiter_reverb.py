"""Time the limiter and the reverb kernels on 60 s of stereo R1 program material (track 12 + master-like mix).

    PYTHONPATH=. python benchmarks/bench_limiter_reverb.py [--seconds 60] [--repeat 5] [--block 16384]

Each processor is prepared once per repeat (fresh state) and fed the material in blocks of
``--block`` frames through ``process()`` (blocks cut before the clock starts: only process() is
timed); the minimum over ``--repeat`` runs is printed (ms per 60 s of audio). ``MIXCORE_SIMD=baseline``
times the baseline build. The material is cached in /tmp as .npy.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def material(seconds: float) -> np.ndarray:
    cache = Path(f"/tmp/mixcore_bench_lr_{int(seconds)}.npy")
    if cache.exists():
        return np.load(cache)
    from r1_material import track
    x = sum(track(t, seconds) for t in (0, 4, 5, 12))  # a dense, loud mix: the limiter works
    x = np.ascontiguousarray(x,
                             dtype=np.float32)
    x *= np.float32(1.2 / np.abs(x).max())
    np.save(cache, x)
    return x


def run(make, x: np.ndarray, block: int, repeat: int) -> float:
    from mixcore.processors import ProcessSpec
    best = float("inf")
    for _ in range(repeat):
        p = make()
        p.prepare(ProcessSpec(48000.0, block, x.shape[0]))
        p.reset()
        blocks = [np.ascontiguousarray(x[:, a:a + block]) for a in range(0, x.shape[1], block)]
        t0 = time.perf_counter()
        for blk in blocks:  # only process() is timed
            p.process(blk)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--block", type=int, default=16384)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    import mixcore
    x = material(a.seconds)
    cases = {"limiter": lambda: mixcore.Limiter(ceiling_dbtp=-1.0, release_ms=100.0, lookahead_ms=5.0),
             "reverb": lambda: mixcore.Reverb(room_size=0.7, damping=0.5, mix=1.0)}
    for name, make in cases.items():
        if a.only and name != a.only:
            continue
        t = run(make, x, a.block, a.repeat)
        print(f"{name:8s} {t * 1e3:8.1f} ms  ({os.environ.get('MIXCORE_SIMD', 'auto')})")


if __name__ == "__main__":
    main()
