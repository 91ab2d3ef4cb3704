"""Non-finite samples (issue 13): a render is right or fails loudly.

A NaN or an infinity in a source, a processor's output, a fader or a sum is refused with one line
naming where it is (render/finite.py); ``analyze``, ``master`` and ``compare`` refuse such a file;
automation points must be finite numbers."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import cli, noise, read, write

from mixcore.errors import MixcoreError
from mixcore.render import engine as engine_mod
from mixcore.session import Session

SR = 48000


def _project(tmp_path, bad: np.ndarray, name="lead.wav", sr=SR, others=2):
    """Two clean stereo stems and a third (``stems/<name>``) holding ``bad``; session s.toml."""
    (tmp_path / "stems").mkdir(exist_ok=True)
    for i in range(others):
        write(tmp_path / "stems" / f"ok{i}.wav", noise(SR, 2, seed=i))
    write(tmp_path / "stems" / name, bad, sr)
    lines = []
    for i in range(others):
        lines += ["[[tracks]]", f'name = "t{i}"', f'source = "stems/ok{i}.wav"', ""]
    lines += ["[[tracks]]", 'name = "lead"', f'source = "stems/{name}"', ""]
    (tmp_path / "s.toml").write_text("\n".join(lines))
    return tmp_path / "s.toml"


def _render(tmp_path, *extra):
    return cli("render", "s.toml", "-o", "out.wav", *extra, cwd=tmp_path)


# -- sources --------------------------------------------------------------------------
def test_nan_in_a_float_stem_is_refused_with_its_position(tmp_path):
    x = noise(2 * SR, 2, seed=7)
    x[0, SR:SR + 10] = np.nan  # ten NaN at 1 s, channel 1
    _project(tmp_path, x)
    r = _render(tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == ("mixcore: error: s.toml: tracks[2].source: stems/lead.wav: NaN at 0:01.000 "
                                "(frame 48000, channel 1)")


def test_inf_in_the_second_channel_of_a_later_chunk(tmp_path):
    x = noise(3 * SR, 2, seed=8)
    x[1, 100000] = np.inf  # past the reader's first chunk of 65536 frames
    x[0, 120000] = np.nan  # later: the first bad sample is the one named
    _project(tmp_path, x)
    r = _render(tmp_path, "--block-size", "512")
    assert r.returncode == 2
    assert r.stderr.strip() == ("mixcore: error: s.toml: tracks[2].source: stems/lead.wav: +Inf at 0:02.083 "
                                "(frame 100000, channel 2)")


def test_minus_inf_in_a_mono_stem(tmp_path):
    x = noise(SR, 1, seed=9)
    x[0, 4800] = -np.inf
    _project(tmp_path, x)
    r = _render(tmp_path, "--threads", "2")
    assert r.returncode == 2
    assert "tracks[2].source: stems/lead.wav: -Inf at 0:00.100 (frame 4800, channel 1)" in r.stderr


def test_nan_in_a_resampled_stem_is_named_in_the_files_own_frames(tmp_path):
    x = noise(44100, 2, seed=10)
    x[1, 22050] = np.nan  # 0.5 s into a 44.1 kHz file, in a 48 kHz session
    _project(tmp_path, x, sr=44100)
    (tmp_path / "s.toml").write_text("sample_rate = 48000\n" + (tmp_path / "s.toml").read_text())
    r = _render(tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == ("mixcore: error: s.toml: tracks[2].source: stems/lead.wav: NaN at 0:00.500 "
                                "(frame 22050, channel 2)")


def test_a_render_refused_for_a_nan_source_writes_no_nan(tmp_path):
    x = noise(SR, 2, seed=11)
    x[0, 100] = np.nan
    _project(tmp_path, x)
    r = _render(tmp_path)
    assert r.returncode == 2 and "NaN at 0:00.002 (frame 100, channel 1)" in r.stderr
    if (tmp_path / "out.wav").exists():  # whatever is left there holds no NaN
        assert np.isfinite(read(tmp_path / "out.wav")).all()


# -- processors, faders, sums ---------------------------------------------------------------
def _session(tmp_path, tracks, **kw):
    return Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=tracks, **kw)


def test_a_processor_making_nan_stops_the_render(tmp_path):
    write(tmp_path / "a.wav", noise(SR, 2, seed=1))
    s = _session(tmp_path, [{"name": "kick", "source": "a.wav",
                             "chain": [{"type": "gain"}, {"type": "test_poison", "at": 30000},
                                       {"type": "compressor"}]}])
    for block, threads in ((4096, 1), (None, 2)):
        with pytest.raises(MixcoreError) as e:
            s.render(tmp_path / "out.wav", block_size=block, threads=threads)
        assert str(e.value) == ("tracks[0] 'kick' chain[1] test_poison: non-finite output (NaN) at 0:00.625 "
                                "in the song")


def test_a_processor_making_nan_in_an_automated_chain(tmp_path):
    write(tmp_path / "a.wav", noise(SR, 2, seed=1))
    s = _session(tmp_path, [{"name": "vox", "source": "a.wav", "chain": [{"type": "test_poison", "id": "bad",
                                                                          "at": 24000}]}],
                 automation=[{"target": "vox.bad.level", "points": [[0.0, 1.0], [1.0, 0.5]]}])
    with pytest.raises(MixcoreError, match=r"^tracks\[0\] 'vox' chain\[0\] test_poison 'bad': non-finite output "
                                           r"\(NaN\) at 0:00\.500 in the song$"):
        list(s.stream(1000))


def test_song_time_of_a_processor_behind_a_latent_one(tmp_path):
    write(tmp_path / "a.wav", noise(SR, 2, seed=1))
    s = _session(tmp_path, [{"name": "a", "source": "a.wav", "output": "bus"}],
                 buses=[{"name": "bus", "chain": [{"type": "test_latency", "samples": 480},
                                                  {"type": "test_poison", "at": 4800}]}])
    with pytest.raises(MixcoreError) as e:
        list(s.stream(512, threads=2))
    # the poison counts the samples it is given (from the song's start): 4800 = 0.1 s of song time
    assert str(e.value) == "buses[0] 'bus' chain[1] test_poison: non-finite output (NaN) at 0:00.100 in the song"


def test_a_native_gain_overflowing_to_inf_in_a_bank(tmp_path):
    """Two tracks with the same chain run as a bank: each position is checked for every member."""
    write(tmp_path / "a.wav", noise(SR, 2, seed=1))
    x = noise(SR, 2, seed=2)
    x[:, 30000] = 1e37  # finite in the file; +48 dB takes it past the float range
    write(tmp_path / "b.wav", x)
    chain = [{"type": "gain", "id": "pre"}, {"type": "gain", "id": "boost", "gain_db": 48.0},
             {"type": "eq", "bands": [{"kind": "peak", "freq_hz": 1000.0, "gain_db": 3.0}]}]
    s = _session(tmp_path, [{"name": "a", "source": "a.wav", "chain": chain},
                            {"name": "b", "source": "b.wav", "chain": chain}])
    banks = []
    real = engine_mod.schedule
    recording = lambda *a, **k: banks.append(real(*a, **k)) or banks[-1]  # noqa: E731
    with pytest.MonkeyPatch.context() as m:
        m.setattr(engine_mod, "schedule", recording)
        for threads in (1, 2):
            with pytest.raises(MixcoreError) as e:
                list(s.stream(4096, threads=threads))
            assert str(e.value) == ("tracks[1] 'b' chain[1] gain 'boost': non-finite output (+Inf) at 0:00.625 "
                                    "in the song")
    assert any(step.bank for layers in banks for layer in layers for step in layer)  # the bank path ran


def test_a_fader_overflowing_is_named(tmp_path):
    x = noise(SR, 2, seed=3)
    x[0, 12000] = 1e38  # finite; +24 dB is not
    write(tmp_path / "a.wav", x)
    s = _session(tmp_path, [{"name": "loud", "source": "a.wav", "gain_db": 24.0}])
    with pytest.raises(MixcoreError) as e:
        s.render(tmp_path / "out.wav")
    assert str(e.value).startswith("tracks[0] 'loud' fader: non-finite output (+Inf) at 0:00.250 in the song")


def test_a_sum_overflowing_is_named(tmp_path):
    x = noise(SR, 2, seed=3)
    x[:, 6000] = 3e38
    write(tmp_path / "a.wav", x)
    s = _session(tmp_path, [{"name": "a", "source": "a.wav", "pan": -1.0},
                            {"name": "b", "source": "a.wav", "pan": -1.0}])
    with pytest.raises(MixcoreError) as e:
        s.render(tmp_path / "out.wav")
    assert str(e.value).startswith("master the sum of its inputs: non-finite output (+Inf) at 0:00.125 in the song")


def test_non_finite_output_through_the_cli(tmp_path):
    """A stem of finite but absurd samples (1e38), a +24 dB fader: exit 2, one line, no traceback."""
    x = noise(SR, 2, seed=3)
    x[1, 24000] = -1e38
    _project(tmp_path, x)
    text = (tmp_path / "s.toml").read_text().replace('source = "stems/lead.wav"',
                                                     'source = "stems/lead.wav"\ngain_db = 24.0')
    (tmp_path / "s.toml").write_text(text)
    r = _render(tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "mixcore: error: s.toml: tracks[2] 'lead' fader: non-finite output (-Inf) at 0:00.500 in the song")


def test_isolated_plugin_with_on_crash_bypass_is_bypassed_on_inf(vst3_plugins, tmp_path, capsys):
    x = np.full((2, SR), 0.25, np.float32)
    x[:, 24000] = 1e38  # finite; the plugin's +24 dB makes it +Inf
    write(tmp_path / "a.wav", x)
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreTestEffect"]), "isolate": True,
             "on_crash": "bypass", "params": {"gain_db": 24.0}}
    s = _session(tmp_path, [{"name": "fx", "source": "a.wav", "chain": [entry], "gain_db": -120.0}])
    s.render(tmp_path / "out.wav", block_size=1024)
    err = capsys.readouterr().err
    assert "mixcore: warning: tracks[0] 'fx' chain[0] vst3 'MixcoreTestEffect': non-finite output (+Inf) at " in err
    assert 'on_crash = "bypass": going on without it' in err
    y = read(tmp_path / "out.wav")
    assert np.isfinite(y).all()
    # after the bypass the dry signal passes (0.25 at -120 dB), not the plugin's +24 dB
    assert abs(float(y[0, -100]) - 0.25 * 10 ** (-120 / 20)) < 1e-9


def test_an_isolated_plugin_without_bypass_stops_the_render(vst3_plugins, tmp_path):
    x = np.full((2, SR), 0.25, np.float32)
    x[:, 24000] = 1e38
    write(tmp_path / "a.wav", x)
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreTestEffect"]), "isolate": True,
             "params": {"gain_db": 24.0}}
    s = _session(tmp_path, [{"name": "fx", "source": "a.wav", "chain": [entry]}])
    with pytest.raises(MixcoreError, match=r"^tracks\[0\] 'fx' chain\[0\] vst3 'MixcoreTestEffect': non-finite "
                                           r"output \(\+Inf\) at 0:00\.500 in the song$"):
        s.render(tmp_path / "out.wav", block_size=1024)


# -- analyze, master, compare ----------------------------------------------------------------------
@pytest.fixture
def nan_file(tmp_path):
    x = noise(SR, 2, seed=5)
    x[1, 36000] = np.nan
    return write(tmp_path / "bad.wav", x)


@pytest.fixture
def good_file(tmp_path):
    return write(tmp_path / "good.wav", noise(SR, 2, seed=6))


BAD = "NaN at 0:00.750 (frame 36000, channel 2)"


def test_analyze_refuses_a_file_with_nan(tmp_path, nan_file, good_file):
    r = cli("analyze", "--json", "good.wav", "bad.wav", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == f"mixcore: error: bad.wav: {BAD}"


def test_analyze_refuses_an_array_with_inf():
    from mixcore import analyze

    x = noise(SR, 2, seed=5)
    x[0, 480] = np.inf
    with pytest.raises(MixcoreError, match=r"^analyze: \+Inf at sample 480, channel 1 of the array \(0:00\.010\)$"):
        analyze(x, SR)


def test_master_refuses_a_file_with_nan(tmp_path, nan_file):
    r = cli("master", "bad.wav", "-o", "m.wav", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == f"mixcore: error: input: bad.wav: {BAD}"
    assert not (tmp_path / "m.wav").exists()


def test_master_album_refuses_a_file_with_nan(tmp_path, nan_file, good_file):
    r = cli("master", "--album", "good.wav", "bad.wav", "-o", "album", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == f"mixcore: error: bad.wav: {BAD}"


def test_master_refuses_a_reference_with_nan(tmp_path, nan_file, good_file):
    r = cli("master", "good.wav", "-o", "m.wav", "--reference", "bad.wav", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == f"mixcore: error: --reference: bad.wav: {BAD}"


def test_a_mastering_chain_making_nan_stops_master(tmp_path, good_file):
    from mixcore.mastering import master_file
    from mixcore.processors.registry import processor_types

    with pytest.raises(MixcoreError) as e:
        master_file(good_file, tmp_path / "m.wav", chain=[processor_types()["test_poison"](at=24000)])
    assert str(e.value) == f"{good_file}: the mastering chain made a non-finite sample (NaN) at 0:00.500 (channel 1)"
    assert not (tmp_path / "m.wav").exists()


def test_compare_refuses_a_file_with_nan(tmp_path, nan_file, good_file):
    r = cli("compare", "good.wav", "bad.wav", "--json", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == f"mixcore: error: B: bad.wav: {BAD}"


# -- automation -------------------------------------------------------------------------------------
@pytest.mark.parametrize("point,what", [("[nan, -6.0]", "time nan is not a finite number of seconds"),
                                        ("[inf, -6.0]", "time inf is not a finite number of seconds"),
                                        ("[1.0, nan]", "value nan is not a finite number"),
                                        ("[1.0, -inf]", "value -inf is not a finite number")])
def test_automation_points_must_be_finite(tmp_path, point, what):
    write(tmp_path / "a.wav", noise(SR, 2, seed=1))
    (tmp_path / "s.toml").write_text(f'[[tracks]]\nname = "a"\nsource = "a.wav"\n\n[[automation]]\n'
                                     f'target = "a.gain_db"\npoints = [[0.0, 0.0], {point}]\n')
    r = _render(tmp_path)
    assert r.returncode == 2, r.stdout
    assert "automation[0].points: points[1]: " + what in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_stepping_the_engine_by_hand_names_the_node(tmp_path):
    """Live playback steps ``Engine.run_block`` itself (no re-run possible): the node and block are named."""
    write(tmp_path / "a.wav", noise(SR, 2, seed=1))
    s = _session(tmp_path, [{"name": "kick", "source": "a.wav",
                             "chain": [{"type": "test_poison", "at": 1000}, {"type": "gain"}]}])
    plan, lanes, frames = s.compile(512)
    engine = engine_mod.Engine(plan, lanes)
    engine.reset()
    try:
        engine.run_block(0, 512)
        with pytest.raises(MixcoreError, match=r"^tracks\[0\] 'kick' chain: non-finite output \(NaN or Inf\) in the "
                                               r"block at 0:00\.011 in the song$"):
            engine.run_block(512, 512)
    finally:
        engine.close()
