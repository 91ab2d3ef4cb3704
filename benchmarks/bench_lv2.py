"""LV2 hosting overhead per plugin block: mixcore's LV2Processor vs the same plugin through lilv in C.

Builds ``lv2_direct.c`` (needs gcc and liblilv-dev: ``apt-get install liblilv-dev``), then times, per
``run()`` of 32 frames (mixcore's fixed LV2 block):

* ``direct``: lilv_instance_run in a C loop (no host around it at all);
* ``mixcore, blocks of N``: ``LV2Processor.process`` on render blocks of N frames (N/32 runs per call,
  FIFO copies, crashguard, the latency check), total time divided by the runs.

    python benchmarks/bench_lv2.py [--seconds 20]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mixcore.hosting import make_hosted  # noqa: E402
from mixcore.hosting.lv2 import BLOCK  # noqa: E402
from mixcore.processors.base import ProcessSpec  # noqa: E402

PLUGINS = ["http://gareus.org/oss/lv2/balance", "http://lsp-plug.in/plugins/lv2/compressor_stereo",
           "http://calf.sourceforge.net/plugins/Compressor"]
SR = 48000


def direct(exe: Path, uri: str, runs: int) -> float:
    best = min(float(subprocess.run([str(exe), uri, "2", str(runs)], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(3))
    return best


def hosted(uri: str, block: int, runs: int) -> float:
    p = make_hosted({"type": "lv2", "uri": uri}, Path("."), "bench")
    p.prepare(ProcessSpec(SR, block, 2))
    x = np.random.default_rng(0).uniform(-0.25, 0.25, (2, block)).astype(np.float32)
    calls = max(1, runs * BLOCK // block)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(calls):
            p.process(x)
        best = min(best, (time.perf_counter() - t0) / (calls * block / BLOCK))
    return best * 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0, help="audio per measurement")
    args = ap.parse_args()
    runs = int(args.seconds * SR / BLOCK)
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "lv2_direct"
        src = Path(__file__).with_name("lv2_direct.c")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "lilv-0"], capture_output=True, text=True,
                               check=True).stdout.split()
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(src), *flags], check=True)
        print(f"ns per run() of {BLOCK} frames, stereo, {args.seconds:g} s of audio, best of 3")
        print(f"{'plugin':52} {'direct':>8} {'blocks 32':>10} {'blocks 512':>11} {'blocks 4096':>12}")
        for uri in PLUGINS:
            d = direct(exe, uri, runs)
            h = [hosted(uri, b, runs) for b in (32, 512, 4096)]
            print(f"{uri:52} {d:8.0f} " + " ".join(f"{v:8.0f} ({v - d:+5.0f})" for v in h))


if __name__ == "__main__":
    main()
