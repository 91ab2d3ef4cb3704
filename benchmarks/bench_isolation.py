"""Cost of plugin isolation (worker process + shared memory) per block, vs in-process hosting.

    python benchmarks/bench_isolation.py [--seconds 20]

Runs the project's test VST3 (plugins/, built on demand) over stereo noise at 48 kHz in blocks of
64, 512 and 4096 samples, in-process and isolated, and prints microseconds per block and the ratio.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))


def run(proc, x, block):
    from mixcore.processors import ProcessSpec

    proc.prepare(ProcessSpec(48000.0, block, 2))
    proc.reset()
    t0 = time.perf_counter()
    for i in range(0, x.shape[1] - block + 1, block):
        b = np.ascontiguousarray(x[:, i:i + block])
        proc.process(b)
    return (time.perf_counter() - t0) / (x.shape[1] // block)


def main() -> None:
    import build

    from mixcore.hosting import make_hosted

    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    a = ap.parse_args()
    effect = build.build()["MixcoreTestEffect"]
    x = (np.random.default_rng(0).standard_normal((2, int(a.seconds * 48000))) * 0.1).astype(np.float32)
    entry = {"type": "vst3", "path": str(effect), "params": {"gain_db": -3.0}}
    print(f"{'block':>6s} {'in-process us':>14s} {'isolated us':>12s} {'ratio':>6s}")
    for block in (64, 512, 4096):
        inproc = run(make_hosted(entry, ROOT, "bench"), x, block)
        iso_proc = make_hosted({**entry, "isolate": True}, ROOT, "bench")
        iso = run(iso_proc, x, block)
        iso_proc.close()
        print(f"{block:6d} {inproc * 1e6:14.1f} {iso * 1e6:12.1f} {iso / inproc:6.2f}")


if __name__ == "__main__":
    main()
