"""A session file is data: it loads plugins only from plugin folders (docs/SECURITY.md).

The bundles here are fakes built by the test: a real shared object whose constructor writes a
marker file. A marker proves a loader opened the bundle and ran its code; no marker proves that the
folder check refused it first. Allowed, the fake still fails (it is no VST3), but its marker shows
that the only gate was the folder.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path

import mido
import pytest
import soundfile as sf
import tomli_w
from helpers import cli, noise, write

from mixcore.errors import MixcoreError
from mixcore.hosting import isolation, make_hosted, plugin_path
from mixcore.session import Session

SR = 48000


@pytest.fixture(autouse=True)
def no_plugin_folders(vst3_plugins, tmp_path, monkeypatch):
    """No MIXCORE_PLUGIN_PATH, a home of its own (so ~/.vst3 is empty), a deny-list of its own.

    Depends on ``vst3_plugins`` so that the fixture's own MIXCORE_PLUGIN_PATH is set first and
    restored after each test.
    """
    monkeypatch.delenv("MIXCORE_PLUGIN_PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MIXCORE_CACHE_DIR", str(tmp_path / "cache"))


def fake_bundle(folder, marker, name="Evil"):
    """``folder/<name>.vst3`` whose shared object appends to ``marker`` as soon as it is loaded."""
    so = folder / f"{name}.vst3" / "Contents" / f"{platform.machine()}-linux" / f"{name}.so"
    so.parent.mkdir(parents=True)
    src = folder.parent / f"{name}-{folder.name}.c"
    src.write_text('#include <stdio.h>\n__attribute__((constructor)) static void loaded(void) {\n'
                   f'    FILE *f = fopen("{marker}", "a");\n'
                   '    if (f) { fputs("loaded\\n", f); fclose(f); }\n}\n')
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    return folder / f"{name}.vst3"


@pytest.fixture
def evil(tmp_path):
    """(bundle outside every plugin folder, its marker)."""
    (tmp_path / "outside").mkdir()
    marker = tmp_path / "loaded"
    return fake_bundle(tmp_path / "outside", marker), marker


def session_file(folder, entry, instrument=False):
    """folder/s.toml: one track whose chain holds ``entry`` (or played by it, a MIDI track)."""
    folder.mkdir(exist_ok=True)
    write(folder / "a.wav", noise(4800, 2))
    if instrument:
        mf = mido.MidiFile()
        mf.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, time=10)]))
        mf.save(folder / "n.mid")
        track = {"name": "t", "source": "n.mid", "instrument": entry}
    else:
        track = {"name": "t", "source": "a.wav", "chain": [entry]}
    (folder / "s.toml").write_text(tomli_w.dumps({"sample_rate": SR, "tracks": [track]}))
    return folder / "s.toml"


def refusal(key, bundle, folder, leads=""):
    return (f"{key}: {bundle} is not in a plugin folder{leads}; allow its folder with --plugin-path {folder} "
            f"or MIXCORE_PLUGIN_PATH")


@pytest.mark.parametrize("isolate", [False, True])
def test_a_bundle_outside_the_plugin_folders_is_refused_before_it_is_loaded(evil, tmp_path, isolate):
    bundle, marker = evil
    s = session_file(tmp_path / "project", {"type": "vst3", "path": str(bundle), "isolate": isolate})
    r = cli("render", s, "-o", tmp_path / "out.wav")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.endswith(refusal("tracks[0].chain[0].path", bundle, bundle.parent) + "\n"), r.stderr
    assert not marker.exists() and not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize("isolate", [False, True])
def test_an_instrument_outside_the_plugin_folders_is_refused_before_it_is_loaded(evil, tmp_path, isolate):
    bundle, marker = evil
    s = session_file(tmp_path / "project", {"type": "vst3", "path": str(bundle), "isolate": isolate}, instrument=True)
    r = cli("render", s, "-o", tmp_path / "out.wav")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.endswith(refusal("tracks[0].instrument.path", bundle, bundle.parent) + "\n"), r.stderr
    assert not marker.exists()


@pytest.mark.parametrize("isolate", [False, True])
@pytest.mark.parametrize("how", ["--plugin-path", "MIXCORE_PLUGIN_PATH", "~/.vst3"])
def test_the_same_bundle_is_loaded_from_a_plugin_folder(tmp_path, monkeypatch, how, isolate):
    """The folder is the only gate: allowed, the fake is loaded (its marker) and then fails as no VST3."""
    folder = tmp_path / "home" / ".vst3" if how == "~/.vst3" else tmp_path / "my plugins"
    folder.mkdir(parents=True)
    marker = tmp_path / "loaded"
    bundle = fake_bundle(folder, marker)
    s = session_file(tmp_path / "project", {"type": "vst3", "path": str(bundle), "isolate": isolate})
    args = ["--plugin-path", folder] if how == "--plugin-path" else []
    if how == "MIXCORE_PLUGIN_PATH":
        monkeypatch.setenv("MIXCORE_PLUGIN_PATH", f"{tmp_path / 'elsewhere'}{os.pathsep}{folder}")
    r = cli("render", s, "-o", tmp_path / "out.wav", *args)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "tracks[0].chain[0].path: cannot load" in r.stderr and "is not in a plugin folder" not in r.stderr
    assert marker.exists()


def test_symlinks_and_dotdot_out_of_a_plugin_folder_are_refused(evil, tmp_path):
    bundle, marker = evil
    allowed = tmp_path / "plugins"
    allowed.mkdir()
    (allowed / "Evil.vst3").symlink_to(bundle)
    (allowed / "vendor").symlink_to(bundle.parent)
    write(tmp_path / "a.wav", noise(4800, 2))
    cases = [(allowed / "Evil.vst3", f" (it leads to {bundle})"),
             (allowed / "vendor" / "Evil.vst3", f" (it leads to {bundle})"),
             (allowed / ".." / "outside" / "Evil.vst3", f" (it leads to {bundle})")]
    with plugin_path(allowed):
        for isolate in (False, True):
            for path, leads in cases:
                with pytest.raises(MixcoreError) as e:
                    make_hosted({"type": "vst3", "path": str(path), "isolate": isolate}, tmp_path, "buses[1].chain[2]")
                assert str(e.value) == refusal("buses[1].chain[2].path", path, bundle.parent, leads)
    assert not marker.exists()
    # a symlink inside a plugin folder to another plugin folder is fine (the check is on real paths)
    with plugin_path(allowed, bundle.parent), pytest.raises(MixcoreError, match=r"^x\.path: cannot load plugin"):
        make_hosted({"type": "vst3", "path": str(allowed / "Evil.vst3")}, tmp_path, "x")
    assert marker.exists()


def test_python_sessions_use_the_environment_and_plugin_path(evil, tmp_path, monkeypatch):
    bundle, marker = evil
    write(tmp_path / "a.wav", noise(4800, 2))
    s = Session(base_dir=tmp_path, sample_rate=SR, tracks=[
        {"name": "t", "source": "a.wav", "chain": [{"type": "vst3", "path": "outside/Evil.vst3"}]}])
    with pytest.raises(MixcoreError) as e:
        s.render(tmp_path / "out.wav")
    assert str(e.value) == refusal("tracks[0].chain[0].path", bundle, bundle.parent)
    assert not marker.exists()
    with plugin_path(tmp_path / "outside"), pytest.raises(MixcoreError, match="cannot load plugin"):
        s.render(tmp_path / "out.wav")
    assert marker.exists()
    with pytest.raises(MixcoreError, match="is not in a plugin folder"):  # allowed only inside the with
        s.render(tmp_path / "out.wav")
    monkeypatch.setenv("MIXCORE_PLUGIN_PATH", str(tmp_path / "outside"))
    with pytest.raises(MixcoreError, match="cannot load plugin"):
        s.render(tmp_path / "out.wav")


def test_the_isolation_worker_checks_the_path_again(evil, tmp_path):
    """Handed a path outside its plugin folders, the worker refuses it before loading anything."""
    bundle, marker = evil
    with pytest.raises(MixcoreError) as e:
        isolation.IsolatedProcessor({"type": "vst3", "path": str(bundle)}, tmp_path, "tracks[3].chain[0]",
                                    checked=bundle)
    assert str(e.value) == refusal("tracks[3].chain[0].path", bundle, bundle.parent)
    assert not marker.exists()


@pytest.mark.parametrize("isolate", [False, True])
def test_a_plugin_on_the_deny_list_is_refused(tmp_path, isolate):
    folder = tmp_path / "plugins"
    folder.mkdir()
    marker = tmp_path / "loaded"
    bundle = fake_bundle(folder, marker)
    r = cli("plugins", "list", "--plugin-path", folder, "--json")
    assert r.returncode == 0, r.stderr
    (found,) = [d for d in json.loads(r.stdout) if d["path"] == str(bundle)]
    assert found["status"] == "denied" and "cannot load plugin" in found["reason"]
    assert marker.exists()  # the scan probed it (in a subprocess of its own)
    marker.unlink()
    s = session_file(tmp_path / "project", {"type": "vst3", "path": str(bundle), "isolate": isolate})
    r = cli("render", s, "-o", tmp_path / "out.wav", "--plugin-path", folder)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("mixcore: error: ") and "tracks[0].chain[0].path: Evil.vst3 is on the plugin " \
        "deny-list (cannot load plugin" in r.stderr
    assert r.stderr.endswith("; once it is fixed, probe it again with 'mixcore plugins list --rescan'\n")
    assert not marker.exists()


def test_plugins_list_and_info_keep_to_the_plugin_folders(vst3_plugins, evil, tmp_path):
    bundle, marker = evil
    effect = vst3_plugins["MixcoreTestEffect"]
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "Evil.vst3").symlink_to(bundle)
    r = cli("plugins", "list", "--json", "--format", "vst3")
    assert r.returncode == 0, r.stderr
    # only the standard system folders (HOME is empty, no variable): whatever Debian installed there
    listed = [Path(d["path"]) for d in json.loads(r.stdout)]
    assert all(p.parent in (Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3")) for p in listed), listed
    r = cli("plugins", "list", "--json", "--format", "vst3", "--plugin-path", effect.parent, "--plugin-path", folder)
    assert r.returncode == 0, r.stderr
    found = {d["path"]: d for d in json.loads(r.stdout)}
    assert found[str(effect)]["status"] == "ok" and found[str(effect)]["name"] == "MixcoreTestEffect"
    assert found[str(folder / "Evil.vst3")] == {
        "format": "vst3", "path": str(folder / "Evil.vst3"), "status": "denied",
        "reason": refusal("", folder / "Evil.vst3", bundle.parent, f" (it leads to {bundle})")[2:]}
    r = cli("plugins", "info", bundle)
    assert r.returncode == 2 and r.stderr == "mixcore: error: " + refusal("", bundle, bundle.parent)[2:] + "\n"
    assert not marker.exists()
    r = cli("plugins", "info", effect, "--json", "--plugin-path", effect.parent)
    assert r.returncode == 0 and json.loads(r.stdout)["name"] == "MixcoreTestEffect", r.stderr
    r = cli("plugins", "list", "--plugin-path", tmp_path / "nope")
    assert r.returncode == 2 and r.stderr == f"mixcore: error: --plugin-path: {tmp_path / 'nope'} is not a folder\n"


def test_verify_loads_plugins_only_from_plugin_folders(vst3_plugins, tmp_path):
    effect = vst3_plugins["MixcoreTestEffect"]
    s = session_file(tmp_path / "project", {"type": "vst3", "path": str(effect), "params": {"gain_db": -3.0}})
    r = cli("render", s, "-o", tmp_path / "out.wav", "--manifest", tmp_path / "m.json", "-q",
            "--plugin-path", effect.parent)
    assert r.returncode == 0, r.stderr
    r = cli("verify", tmp_path / "m.json")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "is not in a plugin folder" in r.stderr, r.stderr
    r = cli("verify", tmp_path / "m.json", "--plugin-path", effect.parent)
    assert r.returncode == 0 and r.stdout.startswith("match: "), r.stdout + r.stderr


def test_play_loads_plugins_only_from_plugin_folders(evil, tmp_path):
    from mixcore.live import LivePlayer

    bundle, marker = evil
    s = Session.load(session_file(tmp_path / "project", {"type": "vst3", "path": str(bundle)}))
    player = LivePlayer(s, mido.ports.EchoPort(), [], block_size=256)
    with pytest.raises(MixcoreError, match="is not in a plugin folder"):
        next(player.stream())
    assert not marker.exists()
    r = cli("play", tmp_path / "project" / "s.toml", "--midi-in", "X", "--plugin-path", tmp_path / "nope")
    assert r.returncode == 2 and r.stderr == f"mixcore: error: --plugin-path: {tmp_path / 'nope'} is not a folder\n"


def test_batch_workers_get_the_plugin_folders(tmp_path):
    """--plugin-path on the driver reaches the Ray workers; a bundle outside is refused there."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "allowed").mkdir()
    refused = fake_bundle(tmp_path / "outside", tmp_path / "refused-loaded")
    allowed = fake_bundle(tmp_path / "allowed", tmp_path / "allowed-loaded")
    for name, bundle in (("a", refused), ("b", allowed)):
        session_file(tmp_path / name, {"type": "vst3", "path": str(bundle)})
    (tmp_path / "jobs.toml").write_text('[[jobs]]\nname = "a"\nsession = "a/s.toml"\noutput = "a.wav"\n'
                                        '[[jobs]]\nname = "b"\nsession = "b/s.toml"\noutput = "b.wav"\n')
    r = cli("batch", tmp_path / "jobs.toml", "--workers", "1", "--json", "-q", "--plugin-path", tmp_path / "allowed")
    assert r.returncode == 1, r.stderr
    jobs = {j["name"]: j for j in json.loads(r.stdout)["jobs"]}
    assert jobs["a"]["kind"] == "error" and jobs["a"]["error"].endswith(
        refusal("tracks[0].chain[0].path", refused, refused.parent))
    assert jobs["b"]["kind"] == "error" and "tracks[0].chain[0].path: cannot load plugin" in jobs["b"]["error"]
    assert not (tmp_path / "refused-loaded").exists() and (tmp_path / "allowed-loaded").exists()


# -- pedalboard built-ins that read files --------------------------------------------------------
def convolution(ir, base_dir):
    return make_hosted({"type": "pedalboard", "name": "Convolution", "params": {"impulse_response_filename": ir}},
                       base_dir, "tracks[0].chain[1]")


def test_a_convolution_ir_that_is_not_audio_is_refused(tmp_path):
    s = session_file(tmp_path / "project", {"type": "pedalboard", "name": "Convolution",
                                            "params": {"impulse_response_filename": "/etc/passwd"}})
    r = cli("render", s, "-o", tmp_path / "out.wav")
    assert r.returncode == 2 and r.stderr.endswith(
        "tracks[0].chain[0].params.impulse_response_filename: /etc/passwd is not an audio file pedalboard reads "
        "(expected .wav, .aiff or .ogg)\n"), r.stderr
    key = "tracks[0].chain[1].params.impulse_response_filename"
    (tmp_path / "text.wav").write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(MixcoreError) as e:
        convolution("text.wav", tmp_path)
    assert str(e.value) == f"{key}: {tmp_path / 'text.wav'} is not an audio file (not readable as WAV)"
    os.mkfifo(tmp_path / "fifo.wav")  # refused at once: never opened, so no hang
    with pytest.raises(MixcoreError) as e:
        convolution("fifo.wav", tmp_path)
    assert str(e.value).startswith(f"{key}: {tmp_path / 'fifo.wav'} is a FIFO, not a regular file")
    sf.write(str(tmp_path / "ir.flac"), noise(100, 2).T, SR)  # pedalboard's Convolution silently ignores FLAC
    with pytest.raises(MixcoreError, match=r"ir\.flac is not an audio file pedalboard reads"):
        convolution("ir.flac", tmp_path)
    write(tmp_path / "ir.wav", noise(100, 2))
    assert convolution("ir.wav", tmp_path).name == "Convolution"
