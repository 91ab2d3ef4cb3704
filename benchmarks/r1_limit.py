"""The hand-written C reference for R1 (``/work/shared/limit/``) as one more row of ``run_r1.py``.

``limit.py SECONDS`` builds ``libr1_fast.so`` (``-O3 -march=native -ffast-math``, vectorised
logf/expf) and ``libr1_strict.so`` (the same without fast-math) with gcc, renders R1 in memory
(no I/O: its own copy of the workload, ``workload.py``) and prints one line per variant::

    fast   comp_mode=0 lanes   0.058 s RTF    85.6x (tracks ...) ...

``comp_mode=0`` is the dB-domain linked compressor (mixcore's kind), ``comp_mode=1`` JUCE's;
``lanes`` processes the tracks in SIMD lanes, ``scalar`` one after the other. The libraries and the
workload cache go where ``tempfile.gettempdir()`` points, so the child runs with ``TMPDIR`` set
to ``benchmarks/.cache/limit`` -- never into the (read-only) shared folder.

Standard library only (``run_r1.py``'s parent never imports numpy).
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DIR = Path(os.environ.get("MIXCORE_R1_LIMIT", "/work/shared/limit"))
BUILD_DIR = HERE / ".cache" / "limit"

#: limit.py's figures shown in the table, in order (key: "<build> comp_mode=<m> <variant>").
FIGURES = {
    "fast comp_mode=0 lanes": "C reference, fast-math, SIMD lanes",
    "fast comp_mode=0 scalar": "C reference, fast-math, scalar",
    "strict comp_mode=0 lanes": "C reference, strict, SIMD lanes",
    "strict comp_mode=0 scalar": "C reference, strict, scalar",
}
FAST = "fast comp_mode=0 lanes"
LINE = re.compile(r"^\s*(\w+)\s+comp_mode=(\d+)\s+(\w+)\s+([0-9.]+)\s+s\b")


def unavailable(limit_dir: Path = DEFAULT_DIR) -> str | None:
    """Why the C reference cannot run here, or None."""
    if shutil.which("gcc") is None:
        return "gcc not found"
    if not (limit_dir / "limit.py").is_file():
        return f"{limit_dir / 'limit.py'}: not found"
    return None


def command(seconds: float, limit_dir: Path = DEFAULT_DIR) -> list[str]:
    return [sys.executable, str(limit_dir / "limit.py"), repr(seconds)]


def env(base: dict[str, str]) -> dict[str, str]:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    return {**base, "TMPDIR": str(BUILD_DIR)}


def parse(stdout: str) -> dict[str, float]:
    """``{"fast comp_mode=0 lanes": seconds, ...}`` from limit.py's output."""
    figures = {}
    for line in stdout.splitlines():
        m = LINE.match(line)
        if m:
            figures[f"{m[1]} comp_mode={m[2]} {m[3]}"] = float(m[4])
    return figures
