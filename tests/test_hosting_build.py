"""plugins/build.py: builds the test plugins once, caches by source hash, fails with a clear message."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PLUGINS / "build.py"), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=False)


def test_an_unchanged_tree_is_not_rebuilt(vst3_plugins):
    """No rebuild: the stamp and every plugin binary keep their modification times (no wall-clock limit)."""
    stamp = PLUGINS / "build" / ".source-hash"
    binaries = sorted(p for b in vst3_plugins.values() for p in (b / "Contents").rglob("*.so"))
    assert len(binaries) == len(vst3_plugins)
    before = [p.stat().st_mtime_ns for p in [stamp, *binaries]]
    r = run("--json")
    assert r.returncode == 0 and "building" not in r.stderr
    assert {k: Path(v) for k, v in json.loads(r.stdout).items()} == vst3_plugins
    assert [p.stat().st_mtime_ns for p in [stamp, *binaries]] == before
    lines = run().stdout.splitlines()  # the plain form: "<name> <bundle>" per plugin
    assert [ln.split(" ", 1)[0] for ln in lines] == ["MixcoreTestEffect", "MixcoreCrash", "MixcoreSynth"]
    for name, bundle in vst3_plugins.items():
        assert bundle.name == f"{name}.vst3" and (bundle / "Contents" / "x86_64-linux" / f"{name}.so").exists()


def test_a_missing_toolchain_is_a_clear_error(vst3_plugins, tmp_path):
    r = run(env={"JUCE_DIR": str(tmp_path)})
    assert r.returncode == 1
    assert r.stderr == f"plugins/build.py: JUCE_DIR={tmp_path} holds no JUCEConfig.cmake\n"


def test_the_fixture_fails_when_the_build_fails(vst3_plugins, request, tmp_path):
    """The fixture this suite really uses (whichever module defines the ``vst3_plugins`` that the tests
    get: tests/conftest.py or the conftest_plugins plugin) fails, never skips, with the build's message."""
    fixture = request.node._fixtureinfo.name2fixturedefs["vst3_plugins"][-1].func
    module = fixture.__module__
    assert Path(sys.modules[module].__file__).resolve().parent == Path(__file__).resolve().parent
    (tmp_path / "test_uses_plugins.py").write_text("def test_it(vst3_plugins):\n    assert vst3_plugins\n")
    tests = Path(__file__).resolve().parent
    import mixcore

    root = Path(mixcore.__file__).resolve().parent.parent
    path = os.pathsep.join([str(tests), str(root), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "JUCE_DIR": str(tmp_path), "PYTHONPATH": path}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", module, "-p", "no:cacheprovider",
                        str(tmp_path / "test_uses_plugins.py")], capture_output=True, text=True, env=env,
                       cwd=tmp_path, check=False)
    assert r.returncode == 1, r.stdout
    assert "building the test plugins failed" in r.stdout
    assert f"JUCE_DIR={tmp_path} holds no JUCEConfig.cmake" in r.stdout
    assert "1 error" in r.stdout and "skipped" not in r.stdout
    assert "Traceback" not in r.stdout  # a one-line failure, not a crash of the fixture
