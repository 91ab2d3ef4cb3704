"""Cost of plugin isolation per block, as a ratio to in-process hosting.

    python3 benchmarks/bench_isolation.py [--seconds 5] [--rounds 7] [--json]

Runs the project's test VST3 (``MixcoreTestEffect``, built from plugins/ on demand) over stereo
noise at 48 kHz in blocks of 64, 512 and 4096 samples, through the same session entry hosted
in-process and with ``isolate = true`` (worker process, shared memory, pipelined: see
``mixcore/hosting/isolation.py``), and prints the wall-clock time per block and the ratio.

The blocks are processed back to back, so this is the worst case for isolation: the host has
nothing else to do while the worker works. A second table renders a whole session (1 and 4 tracks,
each EQ -> the plugin -> compressor, blocks of 512) in-process and isolated, timing the render
after its first block (the worker start-up, about 0.2 s per plugin, is printed apart): on a
2-CPU machine several isolated plugins compete with the host for the CPUs.

Rounds of in-process and isolated runs alternate, and each configuration reports its best round
(the usual way to time on a shared machine: other processes only ever add time); the median round
is printed too. The machine's load average is printed, because isolation needs two processes
running at once and suffers most from other load.
Target (issue 5): isolated/in-process under 1.2 at 512 samples.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BLOCKS = (64, 512, 4096)


def plugin_path() -> Path:
    r = subprocess.run([sys.executable, str(ROOT / "plugins" / "build.py"), "--json"], capture_output=True, text=True,
                       check=False)
    if r.returncode != 0:
        sys.exit(r.stderr.strip() or "plugins/build.py failed")
    return Path(json.loads(r.stdout)["MixcoreTestEffect"])


def per_block(proc, blocks: list[np.ndarray]) -> float:
    """Seconds per block, processing ``blocks`` (copies of the input, in place) back to back."""
    t0 = time.perf_counter()
    for b in blocks:
        proc.process(b)
    return (time.perf_counter() - t0) / len(blocks)


def render_session(plugin: Path, tracks: int, isolate: bool, folder: Path) -> tuple[float, float]:
    """(seconds to build and render the first block, seconds for the rest) of a session render."""
    from mixcore.session import Session

    chain = [{"type": "eq", "bands": [{"kind": "peak", "freq_hz": 1000.0, "gain_db": 3.0, "q": 1.0}]},
             {"type": "vst3", "path": str(plugin), "isolate": isolate, "params": {"gain_db": -3.0}},
             {"type": "compressor", "threshold_db": -20.0}]
    s = Session(base_dir=folder, sample_rate=48000, tail_s=0.0,
                tracks=[{"name": f"t{i}", "source": "a.wav", "chain": chain} for i in range(tracks)])
    t0 = time.perf_counter()
    blocks = s.stream(512)
    next(blocks)
    t1 = time.perf_counter()
    for _ in blocks:
        pass
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    from mixcore.hosting import make_hosted
    from mixcore.processors import ProcessSpec

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="audio per round (default 5 s)")
    ap.add_argument("--rounds", type=int, default=7, help="alternating rounds per configuration (default 7)")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object")
    a = ap.parse_args()
    entry = {"type": "vst3", "path": str(plugin_path()), "params": {"gain_db": -3.0}}
    x = (np.random.default_rng(0).standard_normal((2, int(a.seconds * 48000))) * 0.1).astype(np.float32)
    inproc = make_hosted(entry, ROOT, "bench")
    isolated = make_hosted({**entry, "isolate": True}, ROOT, "bench")
    results = {}
    try:
        for B in BLOCKS:
            spec = ProcessSpec(48000.0, B, 2)
            times: dict[str, list[float]] = {"in-process": [], "isolated": []}
            for _ in range(a.rounds):
                for name, proc in (("in-process", inproc), ("isolated", isolated)):
                    proc.prepare(spec)
                    proc.reset()
                    blocks = [np.ascontiguousarray(x[:, i:i + B]) for i in range(0, x.shape[1] - B + 1, B)]
                    times[name].append(per_block(proc, blocks))
            best = {k: min(v) for k, v in times.items()}
            med = {k: statistics.median(v) for k, v in times.items()}
            results[B] = {"in_process_us": best["in-process"] * 1e6, "isolated_us": best["isolated"] * 1e6,
                          "ratio": best["isolated"] / best["in-process"],
                          "median_ratio": med["isolated"] / med["in-process"]}
    finally:
        isolated.close()
    sessions = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sf.write(folder / "a.wav", np.tile(x, int(np.ceil(60 / a.seconds)))[:, : 60 * 48000].T, 48000, subtype="FLOAT")
        for tracks in (1, 4):
            runs = {iso: min((render_session(Path(entry["path"]), tracks, iso, folder) for _ in range(3)),
                             key=lambda r: r[1]) for iso in (False, True)}
            sessions[tracks] = {"in_process_s": runs[False][1], "isolated_s": runs[True][1],
                                "ratio": runs[True][1] / runs[False][1], "isolated_startup_s": runs[True][0]}
    load = os.getloadavg()[0]
    if a.json:
        print(json.dumps({"load_average_1min": load, "cpus": os.cpu_count(), "blocks": results,
                          "sessions_60s": sessions}))
        return
    print(f"isolation cost per block (MixcoreTestEffect, stereo, 48 kHz; {os.cpu_count()} CPUs, "
          f"load average {load:.2f}; best of {a.rounds} rounds of {a.seconds:g} s)")
    print(f"{'block':>6} {'in-process us':>14} {'isolated us':>12} {'ratio':>6} {'median ratio':>13}")
    for B, r in results.items():
        print(f"{B:6d} {r['in_process_us']:14.1f} {r['isolated_us']:12.1f} {r['ratio']:6.2f} {r['median_ratio']:13.2f}")
    print("\nsession render, 60 s of stereo, blocks of 512 (best of 3, after the first block)")
    print(f"{'tracks':>6} {'in-process s':>13} {'isolated s':>11} {'ratio':>6} {'worker start-up s':>18}")
    for tracks, r in sessions.items():
        print(f"{tracks:6d} {r['in_process_s']:13.2f} {r['isolated_s']:11.2f} {r['ratio']:6.2f} "
              f"{r['isolated_startup_s']:18.2f}")


if __name__ == "__main__":
    main()
