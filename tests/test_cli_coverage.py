"""README promises and CLI options exercised end to end: a session built in Python renders the same bytes
as the same session written as TOML; ``render --meter``, ``plugins list --rescan`` and ``master --seed``
through the command line. (``batch -o DIR`` and the job key ``manifest``: tests/test_batch.py.)"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from helpers import cli, noise, write

import mixcore
from test_mastering import program

SR = 48000

TOML = """
sample_rate = 48000

[[tracks]]
name = "kick"
source = "stems/kick.wav"
output = "drums"
chain = [ { type = "compressor", threshold_db = -18.0 } ]

[[tracks]]
name = "bass"
source = "stems/bass.wav"
gain_db = -3.0
pan = -0.1

[[buses]]
name = "drums"
chain = [ { type = "eq", bands = [ { kind = "lowshelf", freq_hz = 80.0, gain_db = 2.0 } ] } ]

[master]
chain = [ { type = "limiter", ceiling_dbtp = -1.0 } ]

[[automation]]
target = "bass.gain_db"
points = [ [0.0, -12.0], [0.5, -3.0] ]
"""


def sha(p) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def stems(tmp_path):
    (tmp_path / "stems").mkdir()
    write(tmp_path / "stems" / "kick.wav", noise(SR, 2, seed=1, level=0.9))
    write(tmp_path / "stems" / "bass.wav", noise(SR, 1, seed=2, level=0.5))
    return tmp_path


def test_a_session_built_in_python_renders_the_bytes_of_the_same_toml(stems):
    """The README's Python example, and the same session typed as TOML, rendered by the CLI."""
    s = mixcore.Session(sample_rate=48000, base_dir=stems)
    s.add_track("kick", "stems/kick.wav", chain=[mixcore.Compressor(threshold_db=-18)], output="drums")
    s.add_track("bass", "stems/bass.wav", gain_db=-3.0, pan=-0.1)
    s.add_bus("drums", chain=[mixcore.EQ(bands=[{"kind": "lowshelf", "freq_hz": 80.0, "gain_db": 2.0}])])
    s.set_master([mixcore.Limiter(ceiling_dbtp=-1.0)])
    s.automate("bass.gain_db", [(0.0, -12.0), (0.5, -3.0)])
    s.render(stems / "python.wav")
    s.save(stems / "saved.toml")
    (stems / "typed.toml").write_text(TOML)
    for name in ("typed", "saved"):
        r = cli("render", f"{name}.toml", "-o", f"{name}.wav", "-q", cwd=stems)
        assert r.returncode == 0, r.stderr
        assert sha(stems / f"{name}.wav") == sha(stems / "python.wav"), name


def test_render_meter_prints_the_nodes_loudness(stems):
    (stems / "s.toml").write_text(TOML)
    r = cli("render", "s.toml", "-o", "mix.wav", "--meter", "bass", "--meter", "drums", "--stems", "st", cwd=stems)
    assert r.returncode == 0, r.stderr
    lines = {ln.split(":")[0].strip(): ln for ln in r.stdout.splitlines() if ln.startswith("  ")}
    assert set(lines) == {"bass", "drums"}
    # the bass track's post-fader output is its stem: its loudness, measured independently of the render
    bass = mixcore.analyze(stems / "st" / "bass.wav")
    assert lines["bass"].startswith(f"  bass: {bass.integrated_lufs:.1f} LUFS, short-term max "
                                    f"{bass.short_term_max_lufs:.1f} LUFS, true peak {bass.true_peak_dbtp:.1f} dBTP")
    drums = mixcore.Session.load(stems / "s.toml").render(stems / "again.wav", meter_nodes=["drums"])
    assert f"drums: {drums.node_loudness['drums'].integrated_lufs:.1f} LUFS" in lines["drums"]
    r = cli("render", "s.toml", "-o", "mix.wav", "--meter", "drum", cwd=stems)
    assert r.returncode == 2 and r.stderr == "mixcore: error: --meter: no track or bus named 'drum' " \
                                             "(did you mean 'drums'?)\n"


def test_plugins_list_rescan_probes_a_denied_plugin_again(vst3_plugins, tmp_path, monkeypatch):
    folder = tmp_path / "vst3"
    folder.mkdir()
    shutil.copytree(vst3_plugins["MixcoreCrash"], folder / "MixcoreCrash.vst3")
    monkeypatch.setenv("MIXCORE_CACHE_DIR", str(tmp_path / "cache"))

    def status(*args):
        r = cli("plugins", "list", "--path", str(folder), "--json", "--format", "vst3", *args)
        assert r.returncode == 0, r.stderr
        (d,) = [d for d in json.loads(r.stdout) if Path(d["path"]).parent == folder]  # not the system's
        return d["status"]

    monkeypatch.setenv("MIXCORE_TEST_CRASH_ON_LOAD", "1")
    assert status() == "denied"
    monkeypatch.delenv("MIXCORE_TEST_CRASH_ON_LOAD")
    assert status() == "denied"  # remembered: not probed again
    assert status("--rescan") == "ok"
    assert status() == "ok"  # and taken off the deny-list


def test_master_seed_picks_the_dither(tmp_path):
    write(tmp_path / "mix.wav", program(1.0, -16.0))

    def master(out, *args):
        r = cli("master", "mix.wav", "-o", out, "--bit-depth", "16", "--chain", "none", "-q", *args, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        return sha(tmp_path / out)

    assert master("a.wav", "--seed", "7") == master("b.wav", "--seed", "7")
    assert master("c.wav", "--seed", "8") != master("a.wav", "--seed", "7")
    # the same bytes as the Python API with that seed
    from mixcore.mastering import master_file

    master_file(tmp_path / "mix.wav", tmp_path / "api.wav", chain="none", bit_depth=16, seed=8)
    assert sha(tmp_path / "api.wav") == sha(tmp_path / "c.wav")
