"""isolate = true: the plugin runs in a worker process; crashes and hangs never take the host down."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import cli, noise, write

from mixcore.errors import MixcoreError
from mixcore.session import Session


def session(tmp_path, entry, seconds=1.0):
    write(tmp_path / "a.wav", noise(int(48000 * seconds), 2, seed=1))
    return Session(base_dir=tmp_path, sample_rate=48000, tail_s=0.0,
                   tracks=[{"name": "vox", "source": "a.wav", "chain": [entry]},
                           {"name": "dry", "source": "a.wav", "gain_db": -6.0}])


def render(s, block=512):
    return np.concatenate(list(s.stream(block)), axis=1)


def test_isolated_output_is_bit_identical_to_in_process(vst3_plugins, tmp_path):
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreTestEffect"]),
             "params": {"gain_db": -4.5, "mode": "saturate", "latency_samples": 33}}
    inproc = render(session(tmp_path, entry))
    isolated = render(session(tmp_path, {**entry, "isolate": True}))
    np.testing.assert_array_equal(isolated, inproc)


def test_a_crashing_plugin_gives_one_line_and_the_host_lives(vst3_plugins, tmp_path):
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreCrash"]), "isolate": True, "params": {"crash": True}}
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\] \(node 'vox'\): plugin 'MixcoreCrash' "
                                           r"crashed \(SIGSEGV\) while (preparing|processing) at 0:00\.000 in the song"):
        render(session(tmp_path, entry))
    assert np.all(np.isfinite(render(session(tmp_path, {"type": "gain"}))))  # this process is fine


def test_on_crash_bypass_goes_on_without_the_plugin(vst3_plugins, tmp_path, capsys):
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreCrash"]), "isolate": True,
             "on_crash": "bypass", "params": {"crash": True}}
    y = render(session(tmp_path, entry))
    x = noise(48000, 2, seed=1)
    np.testing.assert_allclose(y, x + (x * 10 ** (-6 / 20)).astype(np.float32), atol=1e-6)
    assert "going on without it" in capsys.readouterr().err


def test_a_hanging_plugin_times_out(vst3_plugins, tmp_path, monkeypatch):
    from mixcore.hosting import isolation

    monkeypatch.setattr(isolation, "TIMEOUT_S", 1.0)
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreCrash"]), "isolate": True, "params": {"hang": True}}
    with pytest.raises(MixcoreError, match=r"did not answer within 1 s \(hung\)"):
        render(session(tmp_path, entry))


def test_crash_through_the_cli_is_one_line_and_leaves_no_file(vst3_plugins, tmp_path):
    write(tmp_path / "a.wav", noise(48000, 2, seed=2))
    (tmp_path / "s.toml").write_text(
        '[[tracks]]\nname = "vox"\nsource = "a.wav"\n'
        f'chain = [ {{ type = "vst3", path = "{vst3_plugins["MixcoreCrash"]}", isolate = true, '
        'params = { crash = true } } ]\n')
    r = cli("render", "s.toml", "-o", "out.wav", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "crashed (SIGSEGV)" in r.stderr
    assert not (tmp_path / "out.wav").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_isolation_keys(vst3_plugins, tmp_path):
    eff = str(vst3_plugins["MixcoreTestEffect"])
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.on_crash: only applies with isolate = true"):
        render(session(tmp_path, {"type": "vst3", "path": eff, "on_crash": "bypass"}))
    with pytest.raises(MixcoreError, match=r"on_crash: 'ignore' is not one of error, bypass"):
        render(session(tmp_path, {"type": "vst3", "path": eff, "isolate": True, "on_crash": "ignore"}))
