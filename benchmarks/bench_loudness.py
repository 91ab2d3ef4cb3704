"""Loudness analysis of 10 minutes of stereo 48 kHz: mixcore vs pyloudnorm.

    python benchmarks/bench_loudness.py [--minutes 10] [--repeat 3] [--cpu]

Material: program-like (the R1 tracks summed, looped) and white noise. Reports the integrated
loudness alone (mixcore's meter with true peak off vs pyloudnorm's integrated_loudness) and
mixcore's complete one-pass analysis (integrated, momentary/short-term maxima, LRA, true peak,
sample peak, correlation) against pyloudnorm's integrated loudness alone. ``--cpu`` times CPU
seconds of the process (``time.process_time``) instead of wall seconds: steadier on a loaded
machine (pyloudnorm's numpy may use more than one thread; then its CPU time exceeds its wall time).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyloudnorm as pyln

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SR = 48000


def program(minutes: float) -> np.ndarray:
    from r1_material import track

    loop = sum(track(i, 30.0) for i in range(16)) / 8
    reps = int(np.ceil(minutes * 60 / 30))
    return np.ascontiguousarray(np.tile(loop, reps)[:, : int(minutes * 60 * SR)], dtype=np.float32)


CLOCK = time.perf_counter


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = CLOCK()
        out = fn()
        times.append(CLOCK() - t0)
    return statistics.median(times), out


def main() -> None:
    from mixcore.metering import LoudnessMeter

    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cpu", action="store_true", help="CPU seconds (process_time) instead of wall seconds")
    a = ap.parse_args()
    global CLOCK
    if a.cpu:
        CLOCK = time.process_time
    signals = {"program": program(a.minutes),
               "noise": (np.random.default_rng(0).standard_normal((2, int(a.minutes * 60 * SR))) * 0.1).astype(np.float32)}
    print(f"{a.minutes:g} min stereo 48 kHz, median of {a.repeat}, {'CPU' if a.cpu else 'wall'} seconds")
    print(f"{'material':9s} {'pyloudnorm I':>13s} {'mixcore I':>10s} {'ratio':>6s} {'mixcore all':>12s} {'ratio':>6s}  I (pyln / mixcore)")
    for name, x in signals.items():
        xt = x.T.astype(np.float64)
        t_ref, ref = timed(lambda: pyln.Meter(SR).integrated_loudness(xt), a.repeat)

        def ours(tp):
            m = LoudnessMeter(SR, 2, true_peak=tp)
            for i in range(0, x.shape[1], 65536):
                m.process(x[:, i:i + 65536])
            return m.result()

        t_i, r_i = timed(lambda: ours(False), a.repeat)
        t_all, _ = timed(lambda: ours(True), a.repeat)
        print(f"{name:9s} {t_ref:12.3f}s {t_i:9.3f}s {t_ref / t_i:5.1f}x {t_all:11.3f}s {t_ref / t_all:5.1f}x"
              f"  {ref:.3f} / {r_i.integrated_lufs:.3f}")


if __name__ == "__main__":
    main()
