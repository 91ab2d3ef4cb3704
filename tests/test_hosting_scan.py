"""Scanning and describing plugins; one that crashes or hangs while loading is denied, never fatal."""
from __future__ import annotations

import json
import os
import shutil
import time

import pytest
from helpers import cli

from mixcore.errors import MixcoreError
from mixcore.hosting import scan


def names(found: list[dict]) -> dict[str, dict]:
    return {d["path"].rsplit("/", 1)[-1]: d for d in found}


def test_info_describes_the_test_effect(vst3_plugins):
    r = cli("plugins", "info", str(vst3_plugins["MixcoreTestEffect"]), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert (d["name"], d["vendor"], d["version"]) == ("MixcoreTestEffect", "mixcore", "0.1.0")
    assert d["is_instrument"] is False
    assert d["category"].startswith("Fx") and d["latency_samples"] == 0
    p = {q["name"]: q for q in d["parameters"]}
    assert list(p) == ["gain_db", "invert", "mode", "latency_samples", "echo_ms", "bypass"]
    g = p["gain_db"]
    assert (g["min"], g["max"], g["default"], g["unit"], g["kind"]) == (-24.0, 24.0, 0.0, "dB", "float")
    assert (p["echo_ms"]["max"], p["echo_ms"]["unit"]) == (2000.0, "ms")
    assert p["mode"]["choices"] == ["clean", "saturate"] and p["mode"]["default"] == "clean"
    assert p["invert"]["boolean"] is True and p["invert"]["default"] is False and p["invert"]["min"] is None


def test_info_describes_an_instrument(vst3_plugins):
    r = cli("plugins", "info", str(vst3_plugins["MixcoreSynth"]), "--json")
    d = json.loads(r.stdout)
    assert d["is_instrument"] is True and d["category"].startswith("Instrument")
    assert [q["name"] for q in d["parameters"]] == ["level", "bypass"]


def test_info_as_a_table(vst3_plugins):
    r = cli("plugins", "info", str(vst3_plugins["MixcoreTestEffect"]))
    assert r.returncode == 0, r.stderr
    assert "MixcoreTestEffect 0.1.0 by mixcore (effect" in r.stdout and "latency 0 samples" in r.stdout
    line = next(ln for ln in r.stdout.splitlines() if ln.strip().startswith("mode"))
    assert "clean | saturate" in line


def test_info_errors_are_one_line(tmp_path, vst3_plugins, monkeypatch):
    r = cli("plugins", "info", str(tmp_path / "nope.vst3"))
    assert r.returncode == 2 and r.stderr == (f"mixcore: error: {tmp_path / 'nope.vst3'} is not in a plugin "
                                              f"folder; allow its folder with --plugin-path {tmp_path} or "
                                              f"MIXCORE_PLUGIN_PATH\n")
    r = cli("plugins", "info", str(tmp_path / "nope.vst3"), "--plugin-path", str(tmp_path))
    assert r.returncode == 2 and r.stderr == f"mixcore: error: {tmp_path / 'nope.vst3'}: plugin not found\n"
    (tmp_path / "Broken.vst3").mkdir()
    r = cli("plugins", "info", str(tmp_path / "Broken.vst3"), "--plugin-path", str(tmp_path))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Broken.vst3: cannot load plugin" in r.stderr
    monkeypatch.setenv("MIXCORE_TEST_CRASH_ON_LOAD", "1")
    r = cli("plugins", "info", str(vst3_plugins["MixcoreCrash"]))
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert r.stderr.endswith("MixcoreCrash.vst3: plugin crashed while loading (SIGSEGV)\n")


def test_scan_denies_crashing_and_broken_plugins_and_remembers(vst3_plugins, tmp_path, monkeypatch):
    folder = tmp_path / "vst3"
    (folder / "vendor").mkdir(parents=True)
    shutil.copytree(vst3_plugins["MixcoreTestEffect"], folder / "MixcoreTestEffect.vst3")
    shutil.copytree(vst3_plugins["MixcoreCrash"], folder / "vendor" / "MixcoreCrash.vst3")
    (folder / "Broken.vst3").mkdir()
    monkeypatch.setenv("MIXCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MIXCORE_TEST_CRASH_ON_LOAD", "1")
    found = names(scan.scan([folder]))
    assert found["MixcoreTestEffect.vst3"]["status"] == "ok" and found["MixcoreTestEffect.vst3"]["vendor"] == "mixcore"
    assert found["MixcoreCrash.vst3"] == {"format": "vst3", "path": str(folder / "vendor" / "MixcoreCrash.vst3"),
                                          "status": "denied",
                                          "reason": f"{folder / 'vendor' / 'MixcoreCrash.vst3'}: plugin crashed "
                                                    f"while loading (SIGSEGV)"}
    assert found["Broken.vst3"]["status"] == "denied" and "cannot load plugin" in found["Broken.vst3"]["reason"]
    deny = json.loads((tmp_path / "cache" / "plugin-denylist.json").read_text())
    denied = (folder / "vendor" / "MixcoreCrash.vst3", folder / "Broken.vst3")
    assert sorted(deny) == sorted(str(p.resolve()) for p in denied)
    monkeypatch.delenv("MIXCORE_TEST_CRASH_ON_LOAD")
    assert names(scan.scan([folder]))["MixcoreCrash.vst3"]["status"] == "denied"  # remembered, not probed again
    assert names(scan.scan([folder], rescan=True))["MixcoreCrash.vst3"]["status"] == "ok"  # --rescan
    assert str((folder / "vendor" / "MixcoreCrash.vst3").resolve()) not in json.loads(
        (tmp_path / "cache" / "plugin-denylist.json").read_text())


def test_a_changed_bundle_is_probed_again(vst3_plugins, tmp_path, monkeypatch):
    folder = tmp_path / "vst3"
    folder.mkdir()
    bundle = folder / "MixcoreCrash.vst3"
    shutil.copytree(vst3_plugins["MixcoreCrash"], bundle)
    monkeypatch.setenv("MIXCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MIXCORE_TEST_CRASH_ON_LOAD", "1")
    assert names(scan.scan([folder]))["MixcoreCrash.vst3"]["status"] == "denied"
    monkeypatch.delenv("MIXCORE_TEST_CRASH_ON_LOAD")
    so = next(bundle.rglob("*.so"))
    later = time.time() + 10
    os.utime(so, (later, later))  # a new build of the plugin
    assert names(scan.scan([folder]))["MixcoreCrash.vst3"]["status"] == "ok"


def test_a_plugin_that_hangs_while_loading_times_out(vst3_plugins, monkeypatch):
    monkeypatch.setenv("MIXCORE_TEST_HANG_ON_LOAD", "1")
    t0 = time.monotonic()
    with pytest.raises(MixcoreError, match=r"MixcoreCrash\.vst3: plugin hung while loading \(no answer within 3 s\)"):
        scan.probe(vst3_plugins["MixcoreCrash"], timeout=3.0)
    assert time.monotonic() - t0 < 30


def test_standard_folders_and_the_plugin_path_variable(vst3_plugins, monkeypatch, tmp_path):
    other = tmp_path / "more"
    other.mkdir()
    monkeypatch.setenv("MIXCORE_PLUGIN_PATH", f"{vst3_plugins['MixcoreTestEffect'].parent}{os.pathsep}{other}")
    folders = scan.default_folders()
    assert folders[:3] == [scan.Path.home() / ".vst3", scan.Path("/usr/lib/vst3"), scan.Path("/usr/local/lib/vst3")]
    assert folders[3:] == [vst3_plugins["MixcoreTestEffect"].parent, other]
    monkeypatch.setenv("MIXCORE_CACHE_DIR", str(tmp_path / "cache"))
    r = cli("plugins", "list", "--json")
    assert r.returncode == 0, r.stderr
    assert any(d.get("name") == "MixcoreTestEffect" for d in json.loads(r.stdout))
    r = cli("plugins", "list", "--path", str(vst3_plugins["MixcoreSynth"].parent))
    assert r.returncode == 0 and "MixcoreSynth" in r.stdout and "instrument" in r.stdout
