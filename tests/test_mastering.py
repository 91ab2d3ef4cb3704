"""Mastering hits loudness targets under a true-peak ceiling; the demo runs end to end."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
from helpers import cli, read, write

import mixcore
from mixcore.demo import synth
from mixcore.mastering import master_file


def program(seconds, level):
    x = synth.kick(seconds)[0] * 0.6 + synth.bass(seconds)[0] * 0.5 + synth.snare(seconds)[0] * 0.4
    st = synth.chords(seconds) * 0.3 + synth.hats(seconds) * 0.3 + x
    return (st / np.abs(st).max() * 10 ** (level / 20)).astype(np.float32)


@pytest.mark.parametrize("target, start", [(-14.0, -30.0), (-16.0, -6.0), (-23.0, -12.0)])
def test_master_hits_the_target_under_the_ceiling(tmp_path, target, start):
    write(tmp_path / "mix.wav", program(12.0, start))
    r = master_file(tmp_path / "mix.wav", tmp_path / "master.wav", target_lufs=target, ceiling_dbtp=-1.0)
    assert r.reached
    got = mixcore.analyze(tmp_path / "master.wav")
    assert got.integrated_lufs == pytest.approx(target, abs=0.1)
    assert got.true_peak_dbtp <= -1.0
    y = read(tmp_path / "master.wav").astype(np.float64)
    u = ss.resample_poly(y, 8, 1, axis=1)[:, 4000:-4000]  # an independent oversampled peak estimate
    assert 20 * np.log10(np.abs(u).max()) <= -1.0


def test_unreachable_target_is_reported(tmp_path):
    write(tmp_path / "mix.wav", program(6.0, -6.0))
    r = master_file(tmp_path / "mix.wav", tmp_path / "m.wav", target_lufs=-2.0, ceiling_dbtp=-1.0)
    assert not r.reached and r.note


def test_master_cli_presets_and_errors(tmp_path):
    write(tmp_path / "mix.wav", program(6.0, -12.0))
    r = cli("master", "mix.wav", "-o", "m.wav", "--preset", "apple", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert mixcore.analyze(tmp_path / "m.wav").integrated_lufs == pytest.approx(-16.0, abs=0.1)
    r = cli("master", "mix.wav", "-o", "x.wav", "--preset", "spotfy", cwd=tmp_path)
    assert r.returncode == 2 and "did you mean 'spotify'" in r.stderr and not (tmp_path / "x.wav").exists()
    r = cli("master", "mix.wav", "-o", "mix.wav", cwd=tmp_path)
    assert r.returncode == 2 and "refusing to overwrite" in r.stderr


def test_demo_runs_and_prints_loudness(tmp_path):
    r = cli("demo", str(tmp_path / "demo"), "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "integrated LUFS" in r.stdout
    for name in ("mix.wav", "master.wav", "session.toml", "stems/kick.wav"):
        assert (tmp_path / "demo" / name).exists()
    m = mixcore.analyze(tmp_path / "demo" / "master.wav")
    assert m.integrated_lufs == pytest.approx(-14.0, abs=0.1) and m.true_peak_dbtp <= -1.0
    first = (tmp_path / "demo" / "mix.wav").read_bytes()
    r = cli("render", str(tmp_path / "demo" / "session.toml"), "-o", str(tmp_path / "again.wav"), "--threads", "2",
            "--block-size", "333", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "again.wav").read_bytes() == first  # same bytes: other block size, other thread count


def test_album_mode_gives_consistent_loudness(tmp_path):
    ins = []
    for k, level in enumerate((-13.0, -9.0, -11.0)):
        ins.append(write(tmp_path / f"t{k}.wav", program(8.0, level)))
    r = cli("master", *[p.name for p in ins], "--album", "-o", "album", "--preset", "apple", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lufs = [mixcore.analyze(tmp_path / "album" / f"t{k}.wav").integrated_lufs for k in range(3)]
    assert max(lufs) - min(lufs) <= 0.5
    assert all(abs(v + 16.0) <= 0.5 for v in lufs)
    assert "spread of integrated loudness" in r.stdout
    # with no per-track adjustment the album gain alone applies: the tracks keep their 4 dB spread
    r = cli("master", *[p.name for p in ins], "--album", "-o", "kept", "--track-adjust-db", "0", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    kept = [mixcore.analyze(tmp_path / "kept" / f"t{k}.wav").integrated_lufs for k in range(3)]
    assert kept[1] - kept[0] == pytest.approx(4.0, abs=0.3)
    r = cli("master", "t0.wav", "t1.wav", "-o", "x.wav", cwd=tmp_path)
    assert r.returncode == 2 and "use --album" in r.stderr
