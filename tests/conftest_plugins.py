"""pytest plugin: the project's own VST3 plugins, built from ``plugins/`` once per test session.

Load it from ``tests/conftest.py`` with ``pytest_plugins = ["conftest_plugins"]``. The fixture runs
``plugins/build.py`` (which rebuilds only when the sources changed). If the toolchain is missing
or the build fails, every test that needs a plugin FAILS with the build's message: hosting is
always tested on real plugins, never skipped.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGINS_DIR = Path(__file__).resolve().parent.parent / "plugins"


@pytest.fixture(scope="session")
def vst3_plugins(tmp_path_factory) -> dict[str, Path]:
    """{"MixcoreTestEffect": bundle, "MixcoreCrash": bundle, "MixcoreSynth": bundle}.

    A session loads plugins only from plugin folders: the folders holding the bundles are put in
    ``MIXCORE_PLUGIN_PATH`` (in ``os.environ``, so CLIs the tests start inherit it), and the scan's
    deny-list is kept in a temporary ``MIXCORE_CACHE_DIR`` (never the user's).
    """
    r = subprocess.run([sys.executable, str(PLUGINS_DIR / "build.py"), "--json"], capture_output=True, text=True,
                       check=False)
    if r.returncode != 0:
        pytest.fail(f"building the test plugins failed (plugins/build.py): {r.stderr.strip() or r.stdout.strip()}",
                    pytrace=False)
    found = {name: Path(p) for name, p in json.loads(r.stdout).items()}
    missing = [str(p) for p in found.values() if not p.is_dir()]
    if missing:
        pytest.fail(f"plugins/build.py reported bundles that do not exist: {', '.join(missing)}", pytrace=False)
    allow_plugins(found, tmp_path_factory.mktemp("mixcore-cache"))
    return found


def allow_plugins(found: dict, cache_dir: Path) -> None:
    """Make the folders holding the bundles ``found`` plugin folders (``MIXCORE_PLUGIN_PATH`` in
    ``os.environ``, inherited by the CLIs the tests start) and keep the deny-list in ``cache_dir``."""
    folders = list(dict.fromkeys(str(Path(p).parent) for p in found.values()))
    old = [p for p in os.environ.get("MIXCORE_PLUGIN_PATH", "").split(os.pathsep) if p and p not in folders]
    os.environ["MIXCORE_PLUGIN_PATH"] = os.pathsep.join(folders + old)
    os.environ["MIXCORE_CACHE_DIR"] = str(cache_dir)
