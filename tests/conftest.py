import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402,F401  (registers the test-only processors)
from conftest_plugins import allow_plugins  # noqa: E402

import pytest  # noqa: E402

PLUGINS_DIR = Path(__file__).resolve().parent.parent / "plugins"


@pytest.fixture(scope="session")
def vst3_plugins(tmp_path_factory) -> dict:
    """The project's own VST3 plugins, built from plugins/ (cached). A failed build fails the test.

    A session loads plugins only from plugin folders: the folders holding the bundles are put in
    MIXCORE_PLUGIN_PATH (os.environ, so the CLIs the tests start inherit it); the scan's deny-list
    goes to a temporary MIXCORE_CACHE_DIR, never the user's (conftest_plugins.allow_plugins)."""
    sys.path.insert(0, str(PLUGINS_DIR))
    try:
        import build as plugin_build
    finally:
        sys.path.remove(str(PLUGINS_DIR))
    try:
        found = plugin_build.build()
    except (SystemExit, plugin_build.BuildError) as e:
        pytest.fail(f"building the test plugins failed: {e}")
    allow_plugins(found, tmp_path_factory.mktemp("mixcore-cache"))
    return found


# Hypothesis in CI: derandomised (the same examples on every run, so a failure reproduces and a pass
# is not luck), no deadline (a busy 2-core runner is slow), no example database to carry between runs.
# Selected when the environment has CI set (GitHub Actions and most CI systems set CI=true); a local
# run keeps Hypothesis's random exploration. HYPOTHESIS_PROFILE=<name> picks a profile explicitly.
import os  # noqa: E402

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default"))
