"""Scanning and describing plugins; a plugin that crashes or hangs while loading is denied, not fatal."""
from __future__ import annotations

import json
import shutil

import pytest
from helpers import cli

from mixcore.errors import MixcoreError
from mixcore.hosting import scan


def test_info_describes_the_test_effect(vst3_plugins):
    r = cli("plugins", "info", str(vst3_plugins["MixcoreTestEffect"]), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert (d["name"], d["vendor"], d["is_instrument"]) == ("MixcoreTestEffect", "mixcore", False)
    params = {p["name"]: p for p in d["parameters"]}
    assert params["gain_db"]["min"] == -24.0 and params["gain_db"]["max"] == 24.0
    assert params["gain_db"]["unit"] == "dB" and params["gain_db"]["default"] == 0.0
    assert params["mode"]["choices"] == ["clean", "saturate"]
    assert params["invert"]["boolean"] is True
    r = cli("plugins", "info", str(vst3_plugins["MixcoreSynth"]), "--json")
    assert json.loads(r.stdout)["is_instrument"] is True


def test_info_on_a_missing_plugin_is_one_line(tmp_path):
    r = cli("plugins", "info", str(tmp_path / "nope.vst3"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "nope.vst3" in r.stderr


def test_scan_denies_crashing_hanging_and_broken_plugins(vst3_plugins, tmp_path, monkeypatch):
    folder = tmp_path / "vst3"
    folder.mkdir()
    for name in ("MixcoreTestEffect", "MixcoreCrash"):
        shutil.copytree(vst3_plugins[name], folder / f"{name}.vst3")
    (folder / "Broken.vst3").mkdir()
    monkeypatch.setenv("MIXCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MIXCORE_TEST_CRASH_ON_LOAD", "1")
    found = {d["path"].rsplit("/", 1)[-1]: d for d in scan.scan([folder])}
    assert found["MixcoreTestEffect.vst3"]["status"] == "ok"
    assert found["MixcoreCrash.vst3"]["status"] == "denied"
    assert "crashed while loading (SIGSEGV)" in found["MixcoreCrash.vst3"]["reason"]
    assert found["Broken.vst3"]["status"] == "denied"
    deny = json.loads((tmp_path / "cache" / "plugin-denylist.json").read_text())
    assert len(deny) == 2
    monkeypatch.delenv("MIXCORE_TEST_CRASH_ON_LOAD")
    again = {d["path"].rsplit("/", 1)[-1]: d["status"] for d in scan.scan([folder])}
    assert again["MixcoreCrash.vst3"] == "denied"  # remembered
    again = {d["path"].rsplit("/", 1)[-1]: d["status"] for d in scan.scan([folder], rescan=True)}
    assert again["MixcoreCrash.vst3"] == "ok"


def test_a_plugin_that_hangs_while_loading_times_out(vst3_plugins, monkeypatch):
    monkeypatch.setenv("MIXCORE_TEST_HANG_ON_LOAD", "1")
    with pytest.raises(MixcoreError, match=r"MixcoreCrash\.vst3: plugin hung while loading"):
        scan.probe(vst3_plugins["MixcoreCrash"], timeout=5.0)


def test_plugin_path_environment_variable(vst3_plugins, monkeypatch, tmp_path):
    monkeypatch.setenv("MIXCORE_PLUGIN_PATH", str(vst3_plugins["MixcoreTestEffect"].parent))
    assert vst3_plugins["MixcoreTestEffect"].parent in scan.default_folders()
    monkeypatch.setenv("MIXCORE_CACHE_DIR", str(tmp_path))
    r = cli("plugins", "list", "--json")
    assert r.returncode == 0, r.stderr
    assert any(d.get("name") == "MixcoreTestEffect" for d in json.loads(r.stdout))
