import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import helpers  # noqa: E402,F401  (registers the test-only processors)

import pytest  # noqa: E402

PLUGINS_DIR = Path(__file__).resolve().parent.parent / "plugins"


@pytest.fixture(scope="session")
def vst3_plugins() -> dict:
    """The project's own VST3 plugins, built from plugins/ (cached). A failed build fails the test."""
    sys.path.insert(0, str(PLUGINS_DIR))
    try:
        import build as plugin_build
    finally:
        sys.path.remove(str(PLUGINS_DIR))
    try:
        return plugin_build.build()
    except (SystemExit, plugin_build.BuildError) as e:
        pytest.fail(f"building the test plugins failed: {e}")
