"""Two ``run_r1.py`` result files side by side: ``run_r1.py --compare A.json B.json``.

For two ``--processors`` files (say ``--label before`` and ``--label after``): per processor,
mixcore's milliseconds in A and B and the ratio B/A (wall, and CPU when both files have it), with
pedalboard's ratio beside it as the control -- pedalboard did not change between the runs, so its
ratio is how much the machine itself drifted; "normalised" divides mixcore's ratio by it. A row is
flagged when mixcore's ratio (CPU when known, else wall) exceeds 1 + tolerance.

For two R1 files (``run_r1.py`` without ``--processors``): per configuration, seconds and CPU
seconds in A and B and the ratios B/A.

Standard library only.
"""
from __future__ import annotations

import json
from pathlib import Path


def _name(path: Path, data: dict) -> str:
    return data.get("label") or path.stem


def _ratio(a: float | None, b: float | None) -> float | None:
    return b / a if a and b is not None else None


def _fmt(v: float | None, spec: str, width: int) -> str:
    return f"{v:{width}{spec}}" if v is not None else f"{'-':>{width}s}"


def compare_processors(a: dict, b: dict, tolerance: float) -> tuple[list[str], list[str]]:
    pa, pb = a["processors"], b["processors"]
    rows = [f"{'processor':44s} {'A ms':>8s} {'B ms':>8s} {'B/A':>6s} {'B/A cpu':>8s} {'pedalboard B/A':>14s} "
            f"{'normalised':>10s}"]
    slower = []
    for name in [n for n in pa if n in pb]:
        ma, mb = pa[name].get("mixcore_s"), pb[name].get("mixcore_s")
        if ma is None or mb is None:
            continue
        wall = _ratio(ma, mb)
        cpu = _ratio(pa[name].get("mixcore_cpu_s"), pb[name].get("mixcore_cpu_s"))
        control = _ratio(pa[name].get("pedalboard_s"), pb[name].get("pedalboard_s"))
        norm = wall / control if wall and control else None
        judged = cpu if cpu is not None else wall
        flag = ""
        if judged > 1.0 + tolerance:
            flag = "  slower"
            slower.append(f"{name} ({judged:.2f}x)")
        rows.append(f"{name:44s} {1000 * ma:8.1f} {1000 * mb:8.1f} {wall:6.2f} {_fmt(cpu, '.2f', 8)} "
                    f"{_fmt(control, '.2f', 14)} {_fmt(norm, '.2f', 10)}{flag}")
    return rows, slower


def compare_renders(a: dict, b: dict) -> list[str]:
    ra, rb = a["results"], b["results"]
    rows = [f"{'configuration':46s} {'A s':>8s} {'B s':>8s} {'B/A':>6s} {'A cpu s':>8s} {'B cpu s':>8s} "
            f"{'B/A cpu':>8s}"]
    for name in [n for n in ra if n in rb]:
        x, y = ra[name], rb[name]
        if "seconds" not in x or "seconds" not in y:
            continue
        rows.append(f"{(x.get('label') or name):46s} {x['seconds']:8.3f} {y['seconds']:8.3f} "
                    f"{_ratio(x['seconds'], y['seconds']):6.2f} {_fmt(x.get('cpu_s'), '.3f', 8)} "
                    f"{_fmt(y.get('cpu_s'), '.3f', 8)} {_fmt(_ratio(x.get('cpu_s'), y.get('cpu_s')), '.2f', 8)}")
    return rows


def compare(path_a: Path, path_b: Path, tolerance: float = 0.05) -> str:
    a, b = (json.loads(Path(p).read_text()) for p in (path_a, path_b))
    head = [f"A: {_name(path_a, a)} ({path_a}, {a.get('date', '?')})",
            f"B: {_name(path_b, b)} ({path_b}, {b.get('date', '?')})"]
    if "processors" in a and "processors" in b:
        rows, slower = compare_processors(a, b, tolerance)
        verdict = (f"slower in B by more than {100 * tolerance:.0f} %: {', '.join(slower)}" if slower
                   else f"no mixcore processor slower in B by more than {100 * tolerance:.0f} %")
        return "\n".join([*head, "", *rows, "", verdict])
    if "results" in a and "results" in b:
        return "\n".join([*head, "", *compare_renders(a, b)])
    raise SystemExit(f"{path_a}, {path_b}: not two --processors files nor two R1 result files")
