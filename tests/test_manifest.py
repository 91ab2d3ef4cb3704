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
