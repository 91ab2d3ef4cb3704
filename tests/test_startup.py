"""Start-up of ``mixcore render``: the command imports only what a render uses (issue 15): no rich
(drawn bars and tables import it), no mixcore.mastering (``master --help`` names the presets when it
is shown), no mixcore.hosting (a session with plugins or --plugin-path imports it)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

import mixcore
from helpers import ROOT, cli

CHILD = """
import sys
from mixcore.cli.main import main
rc = main(["render", "s.toml", "-o", "out.wav", "-q"])
print(rc, sorted(m for m in sys.modules if m.split(".")[0] in ("rich", "matplotlib")
                 or m.startswith(("mixcore.mastering", "mixcore.hosting"))))
"""


def test_render_does_not_import_what_it_does_not_use(tmp_path):
    sf.write(str(tmp_path / "a.wav"), np.full((4800, 2), 0.1, dtype=np.float32), 48000, subtype="FLOAT")
    (tmp_path / "s.toml").write_text('[[tracks]]\nname = "a"\nsource = "a.wav"\n')
    env = dict(os.environ, PYTHONPATH=str(Path(mixcore.__file__).resolve().parent.parent))
    r = subprocess.run([sys.executable, "-c", CHILD], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "0 []", r.stdout
    assert sf.info(str(tmp_path / "out.wav")).frames == 4800


def test_master_help_still_names_the_presets():
    r = cli("master", "--help")
    assert r.returncode == 0, r.stderr
    assert "loudness target preset: spotify, apple, youtube, ebu-r128, podcast, cd (default spotify)" in \
        " ".join(r.stdout.split())


def test_importing_mixcore_imports_no_numpy_and_the_cli_keeps_blas_to_one_thread():
    # the CLI sets OPENBLAS_NUM_THREADS before numpy is imported (its threads spin at import:
    # ~0.1 s of start-up on 2 cores); that only works while `import mixcore` itself stays light
    code = ("import sys, os; import mixcore; assert 'numpy' not in sys.modules, 'numpy imported';"
            "from mixcore import Processor, Chain; assert 'numpy' in sys.modules;"
            "import mixcore.cli.main; print(os.environ.get('OPENBLAS_NUM_THREADS'))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"
