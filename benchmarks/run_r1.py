"""The R1 performance record in one command: mixcore, pedalboard and DawDreamer on the same session.

    python benchmarks/run_r1.py [--seconds 60] [--repeat 3] [--only NAME ...] [--json PATH] [--no-check]
                                [--with-limit | --no-limit] [--check-hash HASH] [--update-hash] [--label L]
    python benchmarks/run_r1.py --hash-only [--seconds 60] [--check-hash HASH]   # output hash only
    python benchmarks/run_r1.py --processors [--seconds 60] [--repeat 3] [--label L]   # single processors
    python benchmarks/run_r1.py --compare A.json B.json                 # two result files, ratios B/A

1. R1's material (``r1_material.py``) and session file (``r1_session.py``) are generated once
   into ``benchmarks/.cache/r1-<seconds>s/`` (reused while their version and length match).
2. Every configuration runs ``--repeat`` times, each time in a fresh Python process, so no run
   inherits warm caches, JIT code or allocator state from another; the configurations take turns
   (round robin), so a busy spell on a shared machine slows all of them rather than one. Each child times only the
   render (see "setup" for the one-off part) and reports it as JSON; the parent takes the child's
   peak RSS from ``os.wait4`` (``resource.getrusage`` of that child). The parent itself never
   imports numpy, so the child's figure is its own (on Linux ``ru_maxrss`` survives exec and
   would otherwise start at the parent's size).
3. The table gives the median seconds, x realtime, time relative to mixcore on one thread, peak
   RSS, the one-off setup time, and the CPU seconds the render used (``time.process_time``, all
   threads; for the CLI, the whole process) -- on a shared machine CPU time is the steadier figure. With the check (default) every renderer's output is written
   once and compared: integrated loudness, sample peak and correlation with mixcore's output,
   which shows that the renderers did the same work.

BLAS is kept to one thread in every child (``OPENBLAS_NUM_THREADS=1``): pedalboard's routing is
one small matrix product per chunk, and a BLAS thread pool spinning next to the audio threads on
a 2-core machine only slows everything down.

mixcore runs through its public path: ``load_session(path).render(out, threads=N)`` (the
``mixcore render`` code path, writing a float WAV, loudness metering off), and once more as the
whole ``mixcore render SESSION -o OUT -q`` process (default threads, and ``--threads 1``), timed
from outside (interpreter start, imports, metering included). The peers' whole processes are
``r1_script.py`` (start, imports, reading the 16 stems with soundfile, render, writing the mix),
timed the same way. Issue 15's targets are printed as ratios under the table:

* whole process: pedalboard script / ``mixcore render`` and DawDreamer script / ``mixcore render``;
* 512-frame blocks / the default block, one thread (wall and CPU), and DawDreamer / mixcore at 512;
* in process, one thread: mixcore / the hand-written C reference (``r1_limit.py``: fast-math, SIMD
  lanes; ``--with-limit``, on by default when gcc and ``limit.py`` are there).

After the timing, R1's output hash (``r1_hash.py``) is rendered once more (untimed) and compared
with ``--check-hash HASH`` or, at 60 s, with ``results/r1-hash.json``; every mixcore row's output
must have the same bytes. A difference fails the run (exit code 1, after the results are written).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import r1_compare
import r1_hash
import r1_limit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results"


# name -> (label, kind, threads, block); kind selects the worker code
CONFIGS: dict[str, tuple[str, str, int, int | None]] = {
    "mixcore": ("mixcore, 1 thread", "mixcore", 1, None),
    "mixcore-2t": ("mixcore, 2 threads", "mixcore", 2, None),
    "mixcore-512": ("mixcore, 512-frame blocks", "mixcore", 1, 512),
    "mixcore-16k": ("mixcore, 16384-frame blocks", "mixcore", 1, 16384),
    "mixcore-2t-16k": ("mixcore, 2 threads, 16384-frame blocks", "mixcore", 2, 16384),
    "mixcore-cli": ("mixcore render --threads 1, whole process", "mixcore-cli", 1, None),
    "mixcore-cli-default": ("mixcore render (default threads), whole process", "mixcore-cli", 0, None),
    "pedalboard": ("pedalboard, whole file", "pedalboard", 1, None),
    "pedalboard-2t": ("pedalboard, 2 threads for track chains", "pedalboard", 2, None),
    "pedalboard-512": ("pedalboard, 512-frame blocks", "pedalboard", 1, 512),
    "pedalboard-spl": ("pedalboard, whole file, sample-peak limiter", "pedalboard-spl", 1, None),
    "dawdreamer": ("DawDreamer, 512-frame blocks", "dawdreamer", 1, 512),
    "pedalboard-script": ("pedalboard script, whole process", "script", 1, None),
    "dawdreamer-script": ("DawDreamer script, whole process", "script", 1, 512),
    "limit": ("C reference (shared/limit), in memory", "limit", 1, None),
}
#: Configurations whose output is mixcore's: all must be R1's hash (same bytes at any threads and block).
MIXCORE_KINDS = ("mixcore", "mixcore-cli")


def folder_for(seconds: float) -> Path:
    return CACHE / f"r1-{seconds:g}s"


def child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    # Python as installed: with bytecode caches (pip writes them at install). Some machines set
    # PYTHONDONTWRITEBYTECODE, which makes every fresh child compile mixcore's modules again, and the
    # processor modules are first imported inside the timed render (about 0.02 s of compiling).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# -- inside the child ---------------------------------------------------------------------------

def peak_rss_self_mb() -> float:
    """VmHWM of this process (a cross-check of the parent's getrusage figure), in MB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def worker(name: str, seconds: float, save: bool, variant: str = "") -> dict:
    """Run one configuration once; return timings (and write the output when ``save``).

    ``variant="noreverb"`` renders R1 without its reverb sends (the output check).
    """
    _, kind, threads, block = CONFIGS[name]
    folder = folder_for(seconds)
    dry = variant == "noreverb"
    session_path = folder / ("r1-noreverb.toml" if dry else "r1.toml")
    out = folder / f"out-{name}{'-noreverb' if dry else ''}.wav"
    res: dict = {}
    if kind == "mixcore":
        t0 = time.perf_counter()
        try:
            from mixcore.session import load_session
        except Exception as e:  # noqa: BLE001 -- reported, not raised: the table says why mixcore is missing
            return {"unavailable": f"cannot import mixcore.session: {type(e).__name__}: {e}"}
        s = load_session(session_path)
        res["setup_s"] = time.perf_counter() - t0
        import inspect

        kw = {"threads": threads, "block_size": block}
        if "meter" in inspect.signature(s.render).parameters:
            kw["meter"] = False
        t0, c0 = time.perf_counter(), time.process_time()
        s.render(out, **kw)
        res["seconds"], res["cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
        return res

    import numpy as np
    import soundfile as sf

    from r1_material import stem_name

    t0 = time.perf_counter()
    tracks = [np.ascontiguousarray(sf.read(str(folder / stem_name(i)), dtype="float32", always_2d=True)[0].T)
              for i in range(16)]
    res["read_s"] = time.perf_counter() - t0
    n = tracks[0].shape[1]
    if kind.startswith("pedalboard"):
        import r1_pedalboard as rp

        t0 = time.perf_counter()
        b = rp.boards(true_peak=kind != "pedalboard-spl")
        res["setup_s"] = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        if block:
            y = rp.render_blocks(tracks, block, b=b, reverb_sends=not dry)
        else:
            y = rp.render_whole(tracks, threads, b=b, reverb_sends=not dry)
        res["seconds"], res["cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    elif kind == "dawdreamer":
        try:
            import r1_dawdreamer as rd
            import dawdreamer  # noqa: F401
        except ImportError as e:
            return {"unavailable": f"{e}: pip install -r benchmarks/requirements.txt"}
        t0 = time.perf_counter()
        engine = rd.build(tracks, reverb_sends=not dry)
        res["setup_s"] = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        y = rd.render(engine, n)
        res["seconds"], res["cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    else:
        raise SystemExit(f"unknown configuration {name}")
    if y.shape != (2, n):
        raise SystemExit(f"{name}: output shape {y.shape}, expected {(2, n)}")
    if save:
        sf.write(str(out), y.T, 48000, subtype="FLOAT")
    return res


def output_stats(folder: Path, names: list[str], suffix: str = "") -> dict[str, dict]:
    """Loudness (pyloudnorm), sample peak and correlation with mixcore's output, per renderer."""
    import numpy as np
    import pyloudnorm as pyln
    import soundfile as sf

    ref = None
    if (folder / f"out-mixcore{suffix}.wav").exists():
        ref = sf.read(str(folder / f"out-mixcore{suffix}.wav"), dtype="float64", always_2d=True)[0]
    stats = {}
    for name in names:
        p = folder / f"out-{name}{suffix}.wav"
        if not p.exists():
            continue
        y, sr = sf.read(str(p), dtype="float64", always_2d=True)
        st = {"integrated_lufs": float(pyln.Meter(sr).integrated_loudness(y)),
              "sample_peak_dbfs": float(20 * np.log10(np.max(np.abs(y)) + 1e-300)),
              "frames": int(y.shape[0])}
        if ref is not None and ref.shape == y.shape:
            st["correlation_with_mixcore"] = float(np.corrcoef(ref.ravel(), y.ravel())[0, 1])
        stats[name] = st
    return stats


def processor_costs(seconds: float, repeat: int) -> dict[str, dict[str, float]]:
    """Seconds per single processor on ``seconds`` of stereo R1 material (track 12), mixcore vs pedalboard.

    Each processor is built fresh and called one-shot (``proc(audio, sample_rate)``) ``repeat``
    times after one untimed warm-up call on 4096 frames; the medians of wall and CPU seconds are
    reported. mixcore's processors come from the same chain entries as the session file, through
    the processor registry (SPEC type names).
    """
    import numpy as np
    import pedalboard as pb
    import soundfile as sf

    import r1_pedalboard as rp
    import r1_session as rs
    from mixcore.processors.registry import processor_types
    from r1_material import stem_name

    x = np.ascontiguousarray(sf.read(str(folder_for(seconds) / stem_name(12)), dtype="float32",
                                     always_2d=True)[0].T)
    types = processor_types()

    def mixcore_proc(entry: dict):
        entry = dict(entry)
        return types[entry.pop("type")](**entry)

    track_eq, track_comp = rs.track_chain()
    master_eq, _, limiter = rs.master_chain()
    cases = {
        "track EQ (high-pass + 3 peaks)": (lambda: mixcore_proc(track_eq),
                                           lambda: pb.Pedalboard([rp.eq_plugin(*b) for b in rs.TRACK_EQ])),
        "compressor": (lambda: mixcore_proc(track_comp), lambda: rp.comp(rs.TRACK_COMP)),
        "master EQ (2 shelves)": (lambda: mixcore_proc(master_eq),
                                  lambda: pb.Pedalboard([rp.eq_plugin(*b) for b in rs.MASTER_EQ])),
        "limiter, true peak": (lambda: mixcore_proc(limiter),
                               lambda: pb.BrickwallLimiter(ceiling_db=-1.0, release_ms=100.0, lookahead_ms=5.0,
                                                           true_peak=True)),
        "limiter, sample peak (pedalboard only)": (None, lambda: pb.BrickwallLimiter(
            ceiling_db=-1.0, release_ms=100.0, lookahead_ms=5.0, true_peak=False)),
        "reverb (mixcore FDN, pedalboard Freeverb)": (lambda: mixcore_proc({"type": "reverb", **rs.REVERB}),
                                                      lambda: rp.boards()["reverb"]),
        "delay": (lambda: mixcore_proc({"type": "delay", **rs.DELAY}), lambda: rp.boards()["delay"]),
    }

    def timed(make) -> tuple[float | None, float | None]:
        """Median wall and CPU seconds of one call (CPU: the steadier figure on a shared machine)."""
        if make is None:
            return None, None
        make()(x[:, :4096].copy(), 48000)    # untimed warm-up: one-off imports and first-call costs
        times, cpus = [], []
        for _ in range(repeat):
            proc = make()
            t0, c0 = time.perf_counter(), time.process_time()
            proc(x, 48000)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        return statistics.median(times), statistics.median(cpus)

    costs = {}
    for name, (m, p) in cases.items():
        (ms, mc), (ps, pc) = timed(m), timed(p)
        costs[name] = {"mixcore_s": ms, "pedalboard_s": ps, "mixcore_cpu_s": mc, "pedalboard_cpu_s": pc}
    return costs


# -- in the parent ------------------------------------------------------------------------------

def run_child(cmd: list[str], threads: int, with_cpu: bool = False, env: dict[str, str] | None = None) -> tuple:
    """Run ``cmd``; returns (exit code, stdout, stderr, wall seconds, child's peak RSS in MB[, CPU seconds])."""
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, text=True, env=env or child_env(threads), cwd=str(ROOT))
        _, status, usage = os.wait4(p.pid, 0)      # reaps the child: its own rusage, not the parent's
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
    if with_cpu:
        return p.returncode, out, err, wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    return p.returncode, out, err, wall, usage.ru_maxrss / 1024


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def measure(name: str, seconds: float, save: bool, variant: str = "", limit_dir: Path = r1_limit.DEFAULT_DIR) -> dict:
    _, kind, threads, _ = CONFIGS[name]
    folder = folder_for(seconds)
    env = None
    if kind == "mixcore-cli":            # threads 0: the command's default (the machine's cores)
        cmd = [sys.executable, "-m", "mixcore", "render", str(folder / "r1.toml"), "-o",
               str(folder / f"out-{name}.wav"), "--quiet"] + (["--threads", str(threads)] if threads else [])
    elif kind == "script":
        cmd = [sys.executable, str(HERE / "r1_script.py"), name.split("-")[0], str(folder),
               str(folder / f"out-{name}.wav"), "--threads", str(threads)]
    elif kind == "limit":
        why = r1_limit.unavailable(limit_dir)
        if why:
            return {"unavailable": why}
        cmd, env = r1_limit.command(seconds, limit_dir), r1_limit.env(child_env(threads))
    else:
        cmd = [sys.executable, __file__, "--worker", name, "--seconds", repr(seconds)] + (["--save"] if save else [])
        cmd += ["--variant", variant] if variant else []
    code, out, err, wall, rss, cpu = run_child(cmd, threads, with_cpu=True, env=env)
    if code != 0:
        return {"error": last_line(err) or f"exit code {code}"}
    if kind in ("mixcore-cli", "script"):
        return {"seconds": wall, "peak_rss_mb": rss, "cpu_s": cpu}
    if kind == "limit":                  # the C's own timings of the render in memory; the process is not timed
        figures = r1_limit.parse(out)
        if r1_limit.FAST not in figures:
            return {"error": f"limit.py printed no '{r1_limit.FAST}' line: {last_line(out) or last_line(err)}"}
        return {"seconds": figures[r1_limit.FAST], "figures": figures, "process_s": wall, "process_peak_rss_mb": rss,
                "peak_rss_mb": None, "cpu_s": None}
    res = json.loads(last_line(out))
    res["peak_rss_mb"] = rss
    res.setdefault("vmhwm_mb", None)
    return res


def machine() -> dict:
    model = platform.processor()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    versions = subprocess.run([sys.executable, "-c", (
        "import importlib.metadata as m, json\n"
        "v = {}\n"
        "for p in ('numpy', 'scipy', 'pedalboard', 'dawdreamer', 'soundfile', 'pyloudnorm'):\n"
        "    try: v[p] = m.version(p)\n"
        "    except m.PackageNotFoundError: v[p] = None\n"
        "print(json.dumps(v))")], capture_output=True, text=True, env=child_env(1), check=False)
    return {"nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "cpu_model": model, "python": platform.python_version(), "platform": platform.platform(),
            "packages": json.loads(last_line(versions.stdout) or "{}")}


def prepare_material(seconds: float) -> None:
    """Material and session file, generated in a child so the parent stays small (see the module doc)."""
    folder = folder_for(seconds)
    code, _, err, wall, _ = run_child([sys.executable, str(HERE / "r1_session.py"), str(folder),
                                         "--seconds", repr(seconds)], 1)
    if code != 0:
        raise SystemExit(f"material generation failed: {last_line(err)}")
    print(f"material and session: {folder} ({wall:.1f} s)", file=sys.stderr)


def fmt_table(results: dict, seconds: float) -> str:
    base = results.get("mixcore", {}).get("seconds")
    rows = [(f"{'renderer':50s} {'seconds':>8s} {'x realtime':>10s} {'vs mixcore':>10s} {'peak RSS MB':>11s} "
             f"{'setup s':>8s} {'cpu s':>7s}")]

    def row(label: str, r: dict) -> str:
        ratio = f"{r['seconds'] / base:9.2f}x" if base else f"{'n/a':>10s}"
        rss = f"{r['peak_rss_mb']:11.0f}" if r.get("peak_rss_mb") is not None else f"{'-':>11s}"
        setup = f"{r['setup_s']:8.2f}" if r.get("setup_s") is not None else f"{'-':>8s}"
        cpu = f"{r['cpu_s']:7.2f}" if r.get("cpu_s") is not None else f"{'-':>7s}"
        return f"{label:50s} {r['seconds']:8.3f} {seconds / r['seconds']:10.1f} {ratio} {rss} {setup} {cpu}"

    for name, r in results.items():
        label = r.get("label") or CONFIGS[name][0]
        if "seconds" not in r:
            rows.append(f"{label:50s} {r.get('unavailable') or 'failed: ' + r.get('error', '?')}")
        elif r.get("figures"):           # the C reference: one row per build and variant
            rows += [row(text, {"seconds": r["figures"][key]}) for key, text in r1_limit.FIGURES.items()
                     if key in r["figures"]]
        else:
            rows.append(row(label, r))
    return "\n".join(rows)


def _ratio(results: dict, num: str, den: str, key: str = "seconds") -> float | None:
    a, b = results.get(num, {}).get(key), results.get(den, {}).get(key)
    return a / b if a and b else None


def targets(results: dict) -> tuple[dict, list[str]]:
    """Issue 15's speed targets as ratios measured in this run: (JSON record, printed lines)."""
    t: dict[str, float | None] = {
        "whole_process_pedalboard_script_over_mixcore": _ratio(results, "pedalboard-script", "mixcore-cli-default"),
        "whole_process_dawdreamer_script_over_mixcore": _ratio(results, "dawdreamer-script", "mixcore-cli-default"),
        "whole_process_pedalboard_script_over_mixcore_1t": _ratio(results, "pedalboard-script", "mixcore-cli"),
        "whole_process_dawdreamer_script_over_mixcore_1t": _ratio(results, "dawdreamer-script", "mixcore-cli"),
        "block512_over_default_wall": _ratio(results, "mixcore-512", "mixcore"),
        "block512_over_default_cpu": _ratio(results, "mixcore-512", "mixcore", "cpu_s"),
        "dawdreamer_over_mixcore512_wall": _ratio(results, "dawdreamer", "mixcore-512"),
        "dawdreamer_over_mixcore512_cpu": _ratio(results, "dawdreamer", "mixcore-512", "cpu_s"),
        "mixcore_1t_over_c_fast_lanes": None, "mixcore_1t_over_c_strict_scalar": None,
        "mixcore_1t_over_c_strict_lanes": None,
    }
    figures = results.get("limit", {}).get("figures") or {}
    mix = results.get("mixcore", {}).get("seconds")
    for key, fig in (("mixcore_1t_over_c_fast_lanes", "fast comp_mode=0 lanes"),
                     ("mixcore_1t_over_c_strict_scalar", "strict comp_mode=0 scalar"),
                     ("mixcore_1t_over_c_strict_lanes", "strict comp_mode=0 lanes")):
        if mix and figures.get(fig):
            t[key] = mix / figures[fig]

    def x(key: str) -> str:
        return f"{t[key]:.2f}x" if t[key] is not None else "n/a"

    lines = [
        f"whole process: pedalboard script / mixcore = {x('whole_process_pedalboard_script_over_mixcore')}, "
        f"DawDreamer script / mixcore = {x('whole_process_dawdreamer_script_over_mixcore')}   "
        "(mixcore render, default threads; target >= 5x)",
        f"  with mixcore render --threads 1: pedalboard script / mixcore = "
        f"{x('whole_process_pedalboard_script_over_mixcore_1t')}, DawDreamer script / mixcore = "
        f"{x('whole_process_dawdreamer_script_over_mixcore_1t')}",
        f"block 512 / default block, one thread: wall {x('block512_over_default_wall')}, "
        f"CPU {x('block512_over_default_cpu')}   (target <= 1.3x)",
        f"  DawDreamer (512) / mixcore at 512: wall {x('dawdreamer_over_mixcore512_wall')}, "
        f"CPU {x('dawdreamer_over_mixcore512_cpu')}   (target: clearly above 1)",
        f"in process, one thread: mixcore / C fast-math SIMD lanes = {x('mixcore_1t_over_c_fast_lanes')}   "
        f"(target <= 1.75x; mixcore reads the stems and writes the mix, the C works in memory)",
        f"  mixcore / C strict scalar = {x('mixcore_1t_over_c_strict_scalar')}, "
        f"mixcore / C strict lanes = {x('mixcore_1t_over_c_strict_lanes')}",
    ]
    return t, lines


def results_path(a: argparse.Namespace, stem: str) -> Path:
    return a.json or RESULTS / f"{stem}-{a.seconds:g}s{'-' + a.label if a.label else ''}.json"


def output_hash(a: argparse.Namespace, names: list[str], results: dict) -> tuple[dict, list[str]]:
    """R1's output hash (rendered untimed, ``r1_hash.COMMAND``), checked; returns (JSON record, failures).

    Compared with ``--check-hash``, else (at 60 s) with ``results/r1-hash.json``, which is written when
    missing or with ``--update-hash``. Every mixcore row of the run must have written the same bytes.
    """
    folder = folder_for(a.seconds)
    try:
        sha = r1_hash.render(folder / "r1.toml", folder / "out-hash.wav", env=child_env(1))
    except RuntimeError as e:
        return {"error": str(e)}, [f"R1 output hash: render failed: {e}"]
    rec: dict = {"sha256": sha, "command": r1_hash.COMMAND, **r1_hash.git_info()}
    failures = []
    at_record_length = a.seconds == r1_hash.RECORD_SECONDS
    stored = r1_hash.load_record() if at_record_length else None
    checks = []
    if a.check_hash:
        checks.append((a.check_hash.lower(), "--check-hash"))
    if stored and not a.update_hash:
        checks.append((stored["sha256"], f"{r1_hash.RECORD.relative_to(ROOT)}: commit "
                                         f"{(stored.get('mixcore_commit') or '?')[:12]}, {stored.get('date', '?')}"))
    for expected, source in checks:
        rec.setdefault("checked_against", []).append({"sha256": expected, "source": source,
                                                      "matches": sha == expected})
        if sha != expected:
            failures.append(r1_hash.mismatch_banner(sha, expected, source))
    if at_record_length and (stored is None or a.update_hash) and not failures:
        r1_hash.record(sha, a.seconds)
        rec["recorded"] = str(r1_hash.RECORD)
    rows = {}
    for name in names:
        if CONFIGS[name][1] in MIXCORE_KINDS and "seconds" in results.get(name, {}):
            out = folder / f"out-{name}.wav"
            if out.exists():
                rows[name] = r1_hash.sha256_file(out)
    rec["mixcore_rows"] = rows
    differ = [name for name, h in rows.items() if h != sha]
    if differ:
        failures.append("!" * 100 + "\nR1 OUTPUT DIFFERS BETWEEN MIXCORE CONFIGURATIONS: not the same bytes as "
                        f"`{r1_hash.COMMAND}`: " + ", ".join(f"{n} ({rows[n][:12]})" for n in differ)
                        + "\n" + "!" * 100)
    verdict = ("; ".join(f"{'matches' if c['matches'] else 'DIFFERS FROM'} {c['source']}"
                         for c in rec.get("checked_against", [])) or "not compared")
    print(f"\nR1 output sha256 ({a.seconds:g} s, {r1_hash.COMMAND}): {sha}  {verdict}"
          + (f"; recorded in {r1_hash.RECORD.relative_to(ROOT)}" if "recorded" in rec else "")
          + (f"; same bytes in {len(rows)} mixcore rows" if rows and not differ else ""))
    return rec, failures


def fail_loudly(failures: list[str]) -> None:
    if failures:
        for f in failures:
            print(f, file=sys.stderr)
        raise SystemExit(1)


def main() -> None:
    ap = argparse.ArgumentParser(description="R1: mixcore vs pedalboard vs DawDreamer, same session, same machine")
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the material (default 60)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration; the median is reported")
    ap.add_argument("--only", nargs="+", choices=list(CONFIGS), help="run only these configurations")
    ap.add_argument("--json", type=Path, help="results file (default benchmarks/results/r1-<seconds>s[-LABEL].json, "
                                              "r1-processors-<seconds>s[-LABEL].json)")
    ap.add_argument("--label", help="a name for this run (say 'before'/'after'): in the JSON and its file name")
    ap.add_argument("--no-check", action="store_true", help="skip writing and comparing the outputs")
    ap.add_argument("--with-limit", action=argparse.BooleanOptionalAction, default=None,
                    help="also run the hand-written C reference (limit.py; default: on when gcc and limit.py "
                         "are there and --only is not given)")
    ap.add_argument("--limit-dir", type=Path, default=r1_limit.DEFAULT_DIR,
                    help=f"folder of limit.py and r1.c (default {r1_limit.DEFAULT_DIR}; env MIXCORE_R1_LIMIT)")
    ap.add_argument("--check-hash", metavar="SHA256",
                    help="fail unless mixcore's R1 output (--threads 1 float WAV) has this sha256 "
                         "(at 60 s the run also compares with results/r1-hash.json)")
    ap.add_argument("--update-hash", action="store_true",
                    help="record this run's hash in results/r1-hash.json (60 s only) instead of comparing with it")
    ap.add_argument("--hash-only", action="store_true", help="only render and check R1's output hash")
    ap.add_argument("--processors", action="store_true",
                    help="only time single processors, mixcore vs pedalboard, on one track's material")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A.json", "B.json"),
                    help="print two result files side by side (ratios B/A) and exit")
    ap.add_argument("--tolerance", type=float, default=0.05,
                    help="--compare: flag processors more than this fraction slower in B (default 0.05)")
    ap.add_argument("--worker", choices=[*CONFIGS, "processors"], help=argparse.SUPPRESS)
    ap.add_argument("--save", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--variant", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.compare:
        print(r1_compare.compare(*a.compare, tolerance=a.tolerance))
        return
    if a.worker == "processors":
        print(json.dumps(processor_costs(a.seconds, a.repeat)))
        return
    if a.worker:
        res = worker(a.worker, a.seconds, a.save, a.variant)
        res["vmhwm_mb"] = peak_rss_self_mb()
        print(json.dumps(res))
        return

    load0 = os.getloadavg()[0]
    if load0 > 0.5 and not a.hash_only:
        print(f"warning: load average {load0:.2f} before the run; other work on the machine skews wall times "
              "(the 'cpu s' column much less)", file=sys.stderr)
    prepare_material(a.seconds)
    if a.processors:
        run_processors(a)
        return
    if a.hash_only:
        _, failures = output_hash(a, [], {})
        fail_loudly(failures)
        return
    names = list(a.only or [n for n in CONFIGS if n != "limit"])
    with_limit = a.with_limit if a.with_limit is not None else (
        not a.only and r1_limit.unavailable(a.limit_dir) is None)
    if with_limit and "limit" not in names:
        names.append("limit")
    elif a.with_limit is False and "limit" in names:
        names.remove("limit")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for i in range(a.repeat):              # round robin: a busy spell on the machine hits every renderer alike
        for name in names:
            if runs[name] and "seconds" not in runs[name][-1]:
                continue
            r = measure(name, a.seconds, save=not a.no_check and i == 0, limit_dir=a.limit_dir)
            runs[name].append(r)
            print(f"run {i + 1}/{a.repeat} {CONFIGS[name][0]}: "
                  + (f"{r['seconds']:.3f} s" if "seconds" in r else r.get("unavailable") or r.get("error")),
                  file=sys.stderr)
    results: dict[str, dict] = {}

    def median_of(rs: list[dict], key: str) -> float | None:
        values = [r[key] for r in rs if r.get(key) is not None]
        return statistics.median(values) if values else None

    for name, rs in runs.items():
        if "seconds" not in rs[-1]:
            results[name] = rs[-1]
            continue
        med = statistics.median(r["seconds"] for r in rs)
        rss = [r["peak_rss_mb"] for r in rs if r.get("peak_rss_mb") is not None]
        results[name] = {
            "label": CONFIGS[name][0], "seconds": med, "x_realtime": a.seconds / med,
            "runs_s": [r["seconds"] for r in rs], "min_s": min(r["seconds"] for r in rs),
            "cpu_s": median_of(rs, "cpu_s"),
            "peak_rss_mb": max(rss) if rss else None,
            "vmhwm_mb": max((r.get("vmhwm_mb") or 0.0) for r in rs) or None,
            "setup_s": median_of(rs, "setup_s"),
            "read_s": median_of(rs, "read_s"),
        }
        if "figures" in rs[0]:             # the C reference: the median of each of limit.py's figures
            results[name]["figures"] = {k: statistics.median(r["figures"][k] for r in rs if k in r["figures"])
                                        for k in rs[0]["figures"]}
            results[name]["process_s"] = median_of(rs, "process_s")
    base = results.get("mixcore", {}).get("seconds")
    for r in results.values():
        if "seconds" in r and base:
            r["time_vs_mixcore"] = r["seconds"] / base
    print(f"\nR1, {a.seconds:g} s of 16-track audio at 48 kHz, median of {a.repeat} fresh processes")
    print(fmt_table(results, a.seconds))
    goals, lines = targets(results)
    print("\nissue 15's targets, measured side by side in this run:")
    print("\n".join(lines))
    report = {"label": a.label, "seconds_of_audio": a.seconds, "repeat": a.repeat,
              "date": time.strftime("%Y-%m-%d"), "time_utc": time.strftime("%H:%M", time.gmtime()),
              "load_average_before_after": [load0, os.getloadavg()[0]],
              "machine": machine(), "results": results, "targets": goals}
    if not a.no_check:
        ok = [n for n in names if "seconds" in results[n] and CONFIGS[n][1] != "limit"]
        dry = [n for n in ("mixcore", "pedalboard", "dawdreamer") if n in ok]
        for name in dry:                                         # untimed: the variant without reverb sends
            r = measure(name, a.seconds, save=True, variant="noreverb")
            if "seconds" not in r:
                print(f"{name} without reverb sends: {r.get('error')}", file=sys.stderr)
        report["outputs"] = _check(a.seconds, ok, "")
        report["outputs_without_reverb_sends"] = _check(a.seconds, dry, "-noreverb")
        for title, stats in (("output", report["outputs"]),
                             ("output without the reverb sends", report["outputs_without_reverb_sends"])):
            if stats:
                print(f"\n{title:50s} {'LUFS':>7s} {'peak dBFS':>9s} {'corr. with mixcore':>18s}")
                for name, st in stats.items():
                    corr = st.get("correlation_with_mixcore")
                    print(f"{CONFIGS[name][0]:50s} {st['integrated_lufs']:7.2f} {st['sample_peak_dbfs']:9.2f} "
                          f"{'' if corr is None else f'{corr:18.4f}'}")
    report["output_hash"], failures = output_hash(a, names, results)
    path = results_path(a, "r1")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nresults: {path}")
    fail_loudly(failures)


def run_processors(a: argparse.Namespace) -> None:
    code, out, err, _, _ = run_child([sys.executable, __file__, "--worker", "processors", "--seconds", repr(a.seconds),
                                      "--repeat", str(a.repeat)], 1)
    if code:
        raise SystemExit(f"processor timing failed: {last_line(err)}")
    costs = json.loads(last_line(out))
    print(f"\nsingle processors on {a.seconds:g} s of stereo (R1 track 12), median of {a.repeat}, milliseconds")
    print(f"{'processor':44s} {'mixcore':>8s} {'pedalboard':>10s} {'mixcore cpu':>11s}")
    for name, c in costs.items():
        m, p, mc = (f"{1000 * v:.1f}" if v is not None else "-"
                    for v in (c["mixcore_s"], c["pedalboard_s"], c.get("mixcore_cpu_s")))
        print(f"{name:44s} {m:>8s} {p:>10s} {mc:>11s}")
    path = results_path(a, "r1-processors")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"label": a.label, "seconds_of_audio": a.seconds, "repeat": a.repeat,
                                "date": time.strftime("%Y-%m-%d"), "time_utc": time.strftime("%H:%M", time.gmtime()),
                                **r1_hash.git_info(), "machine": machine(), "processors": costs}, indent=1) + "\n")
    print(f"\nresults: {path}")


def _check(seconds: float, names: list[str], suffix: str) -> dict:
    """Output statistics, computed in a child process (the parent never loads numpy)."""
    code, out, err, _, _ = run_child([sys.executable, "-c", (
        "import json, sys\n"
        "from pathlib import Path\n"
        "import run_r1\n"
        f"print(json.dumps(run_r1.output_stats(Path({str(folder_for(seconds))!r}), {names!r}, {suffix!r})))")], 1)
    if code != 0:
        print(f"output check failed: {last_line(err)}", file=sys.stderr)
        return {}
    return json.loads(last_line(out))


if __name__ == "__main__":
    main()
