"""Issue #16, the first hour: the rough edges a new user hits (source checkout, MIDI learn tapers,
play without a MIDI system, demo overwriting edits, processors listing, saved sessions' text)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, cli, noise, read, write

from mixcore.demo import write_demo_project

README = ROOT / "README.md"
SR = 48000


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -c code`` in ``cwd`` with no PYTHONPATH: ``import mixcore`` finds ``cwd/mixcore`` first,
    as it does for a user in the checkout root."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


# -- 1. the source checkout ----------------------------------------------------------------------------

def test_unbuilt_source_checkout_fails_with_one_line_saying_what_to_do(tmp_path):
    shutil.copytree(ROOT / "mixcore", tmp_path / "mixcore",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    r = _python("import mixcore; mixcore.Compressor(threshold_db=-20)", tmp_path)
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert "compiled kernels are missing" in last and "pip install -e ." in last and "another folder" in last
    assert "No module named" not in r.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-m", "mixcore", "processors"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("mixcore: error: the compiled kernels are missing") and r.stderr.count("\n") == 1


def test_readme_python_snippet_runs_from_the_checkout_root(tmp_path):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    (tmp_path / "mixcore").symlink_to(ROOT / "mixcore")  # the checkout root: its source folder comes first
    write_demo_project(tmp_path / "mixcore-demo", seconds=2.0)
    r = _python(code + "\nprint(mixcore.__file__)\n", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(str(tmp_path / "mixcore" / "__init__.py"))
    assert (tmp_path / "mixcore-demo" / "python-mix.wav").exists()
