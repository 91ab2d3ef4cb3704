"""The README's Python example runs as written (on the demo project)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from mixcore.demo import write_demo_project

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_example_runs(tmp_path):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    write_demo_project(tmp_path / "mixcore-demo", seconds=4.0)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        scope: dict = {}
        exec(compile(code, "README.md", "exec"), scope)
    finally:
        os.chdir(cwd)
    assert (tmp_path / "mixcore-demo" / "python-mix.wav").exists()
    assert (tmp_path / "mixcore-demo" / "python-session.toml").exists()
    assert scope["squashed"].shape == (2, 48000) and np.all(np.isfinite(scope["squashed"]))


def test_readme_session_example_is_valid(tmp_path):
    toml = re.search(r"## A session file\n\n```toml\n(.*?)```", README.read_text(), re.S).group(1)
    from mixcore.session.io import model_from_dict
    import tomllib

    model = model_from_dict(tomllib.loads(toml))
    assert [t.name for t in model.tracks] == ["kick", "vocal"]
