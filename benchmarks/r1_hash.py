"""R1's output hash: the sha256 of mixcore's R1 render, recorded once and checked on every run.

``results/r1-hash.json`` holds the sha256 of the float WAV that

    python -m mixcore render r1.toml -o out.wav --threads 1 --quiet

writes for the 60 s R1 (``python benchmarks/r1_session.py DIR --seconds 60``), with the command,
the mixcore git commit and the date it was recorded. Speed work must not move a sample (and the
writer leaves out libsndfile's timestamped PEAK chunk), so the bytes, not only the samples, are
compared. ``run_r1.py`` renders the hash after timing (untimed) and compares it with
``--check-hash HASH`` or, for 60 s, with the recorded file; a difference fails the run loudly.

Standard library only: ``run_r1.py``'s parent process never imports numpy (see its module doc).
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RECORD = HERE / "results" / "r1-hash.json"
RECORD_SECONDS = 60.0
COMMAND = "python -m mixcore render r1.toml -o out.wav --threads 1 --quiet"
SESSION = "R1 from `python benchmarks/r1_session.py DIR --seconds 60` (DIR/r1.toml)"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_info(root: Path = ROOT) -> dict:
    """The commit of the mixcore being measured, its date, and whether mixcore/ or pyx/ differ from it."""
    def git(*args: str) -> str:
        r = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
        return r.stdout.strip() if r.returncode == 0 else ""

    return {"mixcore_commit": git("rev-parse", "HEAD") or None,
            "mixcore_commit_date": git("log", "-1", "--format=%cI") or None,
            "mixcore_tree_modified": bool(git("status", "--porcelain", "--", "mixcore", "pyx"))}


def render(session: Path, out: Path, env: dict | None = None) -> str:
    """Run ``COMMAND`` on ``session`` (output ``out``) and return the output's sha256."""
    cmd = [sys.executable, "-m", "mixcore", "render", str(session), "-o", str(out), "--threads", "1", "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(ROOT), check=False)
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
        raise RuntimeError(f"{' '.join(cmd)}: exit code {r.returncode}: {lines[-1] if lines else ''}")
    return sha256_file(out)


def load_record(path: Path = RECORD) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def record(sha: str, seconds: float, path: Path = RECORD, note: str = "") -> dict:
    """Write ``path`` for ``sha`` (the render of the current tree) and return what was written."""
    rec = {"sha256": sha, "seconds_of_audio": seconds, "command": COMMAND, "session": SESSION,
           "output": "32-bit float WAV, 2 channels, 48 kHz, as long as the stems (tail_s = 0)",
           **git_info(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if note:
        rec["note"] = note
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, indent=1) + "\n")
    return rec


def mismatch_banner(got: str, expected: str, source: str) -> str:
    bar = "!" * 100
    return "\n".join([bar, "R1 OUTPUT HASH MISMATCH: mixcore's R1 render is not the same bytes as before",
                      f"  expected {expected}  ({source})", f"  got      {got}  ({COMMAND})",
                      "  Renders of valid sessions must give exactly the same bytes; find the change that moved "
                      "a sample.", "  (If the change is deliberate, record the new hash: run_r1.py --update-hash.)",
                      bar])
