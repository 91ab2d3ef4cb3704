"""Manifests: verify passes on an unchanged session and names what changed."""
from __future__ import annotations

import json

from helpers import cli, noise, write


def test_manifest_verify_and_pinpoint_a_changed_input(tmp_path):
    write(tmp_path / "a.wav", noise(9600, 2, seed=1))
    write(tmp_path / "b.wav", noise(9600, 1, seed=2))
    (tmp_path / "s.toml").write_text('bit_depth = 24\nseed = 3\n[[tracks]]\nname = "a"\nsource = "a.wav"\n'
                                     '[[tracks]]\nname = "b"\nsource = "b.wav"\npan = 0.5\n'
                                     'chain = [ { type = "compressor", threshold_db = -30.0 } ]\n')
    r = cli("render", "s.toml", "-o", "mix.wav", "--manifest", "mix.json", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "mix.json").read_text())
    assert {"versions", "session_sha256", "inputs", "seed", "output"} <= set(m)
    assert m["inputs"]["tracks[1].source"]["sha256"] and m["seed"] == 3
    r = cli("verify", "mix.json", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("match"), r.stdout + r.stderr
    write(tmp_path / "b.wav", noise(9600, 1, seed=99))
    r = cli("verify", "mix.json", cwd=tmp_path)
    assert r.returncode == 1 and "input tracks[1].source changed" in r.stdout


def test_verify_bad_manifest(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    r = cli("verify", "x.json", cwd=tmp_path)
    assert r.returncode == 2 and "not a mixcore manifest" in r.stderr


def _edit(path, fn):
    m = json.loads(path.read_text())
    fn(m)
    path.write_text(json.dumps(m))


def test_verify_names_plugin_state_version_and_first_sample(tmp_path):
    import hashlib

    import numpy as np

    from helpers import read

    write(tmp_path / "a.wav", noise(9600, 2, seed=4))
    (tmp_path / "s.toml").write_text('[[tracks]]\nname = "a"\nsource = "a.wav"\n'
                                     'chain = [ { type = "pedalboard", name = "Chorus", params = { mix = 0.3 } } ]\n')
    assert cli("render", "s.toml", "-o", "mix.wav", "--manifest", "mix.json", "-q", cwd=tmp_path).returncode == 0
    m = json.loads((tmp_path / "mix.json").read_text())
    assert m["plugins"]["tracks[0].chain[0]"]["name"] == "Chorus" and len(m["versions"]["mixcore-code"]) == 16
    good = (tmp_path / "mix.json").read_text()

    # a plugin that loads with another state than recorded (e.g. a new pedalboard's defaults)
    _edit(tmp_path / "mix.json", lambda d: d["plugins"]["tracks[0].chain[0]"].update(state_sha256="0" * 64))
    r = cli("verify", "mix.json", cwd=tmp_path)
    assert r.returncode == 1 and "plugin tracks[0].chain[0] (Chorus) loads with a different state" in r.stdout

    # a changed version alone, same output: a match that says so
    (tmp_path / "mix.json").write_text(good)
    _edit(tmp_path / "mix.json", lambda d: d["versions"].update(numpy="1.0"))
    r = cli("verify", "mix.json", cwd=tmp_path)
    assert r.returncode == 0 and "versions differ: numpy 1.0 ->" in r.stdout, r.stdout

    # session text edited without its hash
    (tmp_path / "mix.json").write_text(good)
    _edit(tmp_path / "mix.json", lambda d: d.update(session_toml=d["session_toml"] + "seed = 1\n"))
    r = cli("verify", "mix.json", cwd=tmp_path)
    assert r.returncode == 1 and "manifest was edited" in r.stdout

    # same inputs and plugins, different render: the first differing sample, found independently here
    extra = '\n[[automation]]\ntarget = "a.gain_db"\npoints = [ [0.1, 0.0], [0.15, -6.0] ]\n'
    (tmp_path / "mix.json").write_text(good)
    _edit(tmp_path / "mix.json", lambda d: d.update(session_toml=d["session_toml"] + extra,
                                                  session_sha256=hashlib.sha256((d["session_toml"] + extra).encode()).hexdigest()))
    (tmp_path / "s2.toml").write_text((tmp_path / "s.toml").read_text() + extra)
    assert cli("render", "s2.toml", "-o", "mix2.wav", "-q", cwd=tmp_path).returncode == 0
    first = int(np.nonzero(np.any(read(tmp_path / "mix.wav") != read(tmp_path / "mix2.wav"), axis=0))[0][0])
    assert 4800 <= first < 4900
    r = cli("verify", "mix.json", cwd=tmp_path)
    assert r.returncode == 1 and f"from sample {first} (" in r.stdout and "same inputs, plugins and versions" in r.stdout, r.stdout


def test_render_check_catches_hidden_state(tmp_path, capsys):
    """A processor with state outside the render (a plugin with a process-wide static, a time- or
    random-seeded one): --check fails, names the first differing sample and leaves no output behind."""
    import numpy as np

    from mixcore.cli.main import main
    from mixcore.processors.base import Processor
    from mixcore.processors.registry import register

    @register
    class Drift(Processor):
        """For testing purposes: adds 1e-3 per block any instance processed before (a class-wide count)."""

        type_name = "test_drift"
        PARAMS = ()
        blocks = 0

        def process(self, block):
            block += np.float32(1e-3 * Drift.blocks)
            Drift.blocks += 1

    write(tmp_path / "a.wav", noise(4800, 1, seed=5))
    (tmp_path / "s.toml").write_text('block_size = 1024\n[[tracks]]\nname = "a"\nsource = "a.wav"\n'
                                     'chain = [ { type = "test_drift" } ]\n')
    code = main(["render", str(tmp_path / "s.toml"), "-o", str(tmp_path / "out.wav"), "--check", "-q"])
    err = capsys.readouterr().err
    # the second render's first block is offset by 1e-3 * (blocks of the first render): differs from sample 0
    assert code == 2 and "--check: two renders of" in err and "differ, first at sample 0 (0.000 s)" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "s.toml"]
