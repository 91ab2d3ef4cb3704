"""isolate = true: the plugin runs in a worker process; crashes and hangs never take the host down.

Uses the real MixcoreCrash plugin (plugins/src/CrashPlugin.cpp): a pass-through that segfaults in
its next processBlock once ``crash`` is on, segfaults inside the host's set call for
``crash_on_set``, and spins forever once ``hang`` is on.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from helpers import cli, noise, write

from mixcore.errors import MixcoreError
from mixcore.hosting import hosted_state, isolation, make_hosted, plugin_path
from mixcore.processors import ProcessSpec
from mixcore.session import Session

SR = 48000
DRY = np.float32(10 ** (-6 / 20))


def session(tmp_path, entry, seconds=1.0, **kw):
    write(tmp_path / "a.wav", noise(int(SR * seconds), 2, seed=1))
    return Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0,
                   tracks=[{"name": "vox", "source": "a.wav", "chain": [entry]},
                           {"name": "dry", "source": "a.wav", "gain_db": -6.0}], **kw)


def render(s, block=512):
    return np.concatenate(list(s.stream(block)), axis=1)


@pytest.fixture
def crash(vst3_plugins):
    return str(vst3_plugins["MixcoreCrash"])


def test_isolated_output_is_bit_identical_to_in_process(vst3_plugins, tmp_path):
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreTestEffect"]),
             "params": {"gain_db": -4.5, "mode": "saturate", "latency_samples": 33, "echo_ms": 12.5}}
    automation = [{"target": "vox.fx.gain_db", "points": [[0.0, -4.5], [0.3, 2.0], [0.7, -9.0]], "curve": "step"}]
    for block in (17, 509, 4096):
        inproc = render(session(tmp_path, {**entry, "id": "fx"}, automation=automation), block)
        isolated = render(session(tmp_path, {**entry, "id": "fx", "isolate": True}, automation=automation), block)
        np.testing.assert_array_equal(isolated, inproc, err_msg=f"blocks of {block}")


def test_isolated_processor_is_exact_for_any_block_pattern(vst3_plugins, tmp_path):
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreTestEffect"]), "params": {"echo_ms": 3.0}}
    x = noise(9000, 2, seed=2)
    results = []
    for proc in (make_hosted(entry, tmp_path, "t"), make_hosted({**entry, "isolate": True}, tmp_path, "t")):
        for sizes in ((1,), (512,), (512, 3, 1, 200, 17)):
            proc.prepare(ProcessSpec(SR, 512, 2))
            proc.reset()
            L = proc.latency_samples
            xx = np.concatenate([x, np.zeros((2, L), np.float32)], axis=1)
            out, i, k = [], 0, 0
            while i < xx.shape[1]:
                n = min(sizes[k % len(sizes)], xx.shape[1] - i)
                b = xx[:, i:i + n].copy()
                proc.process(b)
                out.append(b)
                i, k = i + n, k + 1
            results.append(np.concatenate(out, axis=1)[:, L:])
        if hasattr(proc, "close"):
            assert proc.latency_samples == 5 + 512  # the adapter's hold-back, then one block of pipelining
            proc.close()
    for y in results[1:]:
        np.testing.assert_array_equal(y, results[0])


def test_a_crashing_plugin_gives_one_line_and_the_host_lives(crash, tmp_path):
    entry = {"type": "vst3", "path": crash, "isolate": True, "params": {"crash": True}}
    with pytest.raises(MixcoreError) as e:
        render(session(tmp_path, entry))
    assert str(e.value) == ("tracks[0].chain[0] (track 'vox'): plugin 'MixcoreCrash' crashed (SIGSEGV) "
                            "while preparing at 0:00.000 in the song")
    x = noise(SR, 2, seed=1)
    ok = render(session(tmp_path, {"type": "vst3", "path": crash, "isolate": True}))  # and it goes on working
    np.testing.assert_allclose(ok, x + DRY * x, rtol=1e-6, atol=1e-7)


def test_the_crash_report_gives_the_time_in_the_song(crash, tmp_path):
    entry = {"type": "vst3", "id": "c", "path": crash, "isolate": True}
    automation = [{"target": "vox.c.crash", "points": [[0.0, 0.0], [1.25, 1.0]], "curve": "step"}]
    with pytest.raises(MixcoreError, match=r"^tracks\[0\]\.chain\[0\] \(track 'vox'\): plugin 'MixcoreCrash' "
                                           r"crashed \(SIGSEGV\) while processing at 0:01\.250 in the song$"):
        render(session(tmp_path, entry, seconds=2.0, automation=automation), 4096)


def test_crash_while_a_parameter_is_set(crash, tmp_path):
    with pytest.raises(MixcoreError, match=r"^tracks\[0\]\.chain\[0\] \(track 'vox'\): plugin 'MixcoreCrash' crashed "
                                           r"\(SIGSEGV\) while loading at 0:00\.000 in the song$"):
        render(session(tmp_path, {"type": "vst3", "path": crash, "isolate": True, "params": {"crash_on_set": True}}))
    p = make_hosted({"type": "vst3", "path": crash, "isolate": True}, tmp_path, "buses[1].chain[0]", node="fx")
    with pytest.raises(MixcoreError, match=r"^buses\[1\]\.chain\[0\] \(bus 'fx'\): plugin 'MixcoreCrash' crashed "
                                           r"\(SIGSEGV\) while setting a parameter"):
        p.set_param("crash_on_set", True)
    p.close()


def test_a_hanging_plugin_times_out(crash, tmp_path, monkeypatch):
    monkeypatch.setattr(isolation, "TIMEOUT_S", 1.0)
    entry = {"type": "vst3", "path": crash, "isolate": True, "params": {"hang": True}}
    with pytest.raises(MixcoreError, match=r"^tracks\[0\]\.chain\[0\] \(track 'vox'\): plugin 'MixcoreCrash' did not "
                                           r"answer within 1 s \(hung\) while preparing at 0:00\.000 in the song$"):
        render(session(tmp_path, entry))


def test_on_crash_bypass_goes_on_without_the_plugin(crash, tmp_path, capsys):
    x = noise(SR, 2, seed=1)
    entry = {"type": "vst3", "path": crash, "isolate": True, "on_crash": "bypass", "params": {"crash": True}}
    y = render(session(tmp_path, entry))
    np.testing.assert_allclose(y, x + DRY * x, rtol=1e-6, atol=1e-7)  # bypassed, and still aligned
    err = capsys.readouterr().err
    assert "plugin 'MixcoreCrash' crashed (SIGSEGV) while preparing" in err and "going on without it" in err


def test_on_crash_bypass_in_the_middle_of_the_song(crash, tmp_path, capsys):
    x = noise(2 * SR, 2, seed=1)
    entry = {"type": "vst3", "id": "c", "path": crash, "isolate": True, "on_crash": "bypass"}
    automation = [{"target": "vox.c.crash", "points": [[0.0, 0.0], [0.5, 1.0]], "curve": "step"}]
    y = render(session(tmp_path, entry, seconds=2.0, automation=automation), 4096)
    assert y.shape == x.shape
    vox = y - DRY * x  # the crashing pass-through's path alone
    np.testing.assert_allclose(vox[:, :23995], x[:, :23995], rtol=1e-5, atol=1e-6)  # before: processed
    np.testing.assert_allclose(vox[:, 28100:], x[:, 28100:], rtol=1e-5, atol=1e-6)  # after: bypassed, aligned
    gap = vox[:, 23995:28100]  # what the worker held when it died is lost: silence, never garbage
    assert np.all(np.isclose(gap, x[:, 23995:28100], rtol=1e-5, atol=1e-6) | (np.abs(gap) < 1e-6))
    assert "at 0:00.500 in the song; on_crash = \"bypass\": going on without it" in capsys.readouterr().err


def test_crash_through_the_cli_is_one_line_and_leaves_no_file(crash, tmp_path):
    write(tmp_path / "a.wav", noise(SR, 2, seed=2))
    (tmp_path / "s.toml").write_text(
        '[[tracks]]\nname = "vox"\nsource = "a.wav"\n'
        f'chain = [ {{ type = "vst3", path = "{crash}", isolate = true, params = {{ crash = true }} }} ]\n')
    r = cli("render", "s.toml", "-o", "out.wav", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "crashed (SIGSEGV)" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "s.toml"]


def test_isolated_state_round_trips(vst3_plugins, tmp_path):
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreTestEffect"]), "isolate": True, "on_crash": "bypass"}
    p = make_hosted(entry, tmp_path, "t")
    p.set_param("gain_db", -7.0)
    p.mode = "saturate"
    assert p.get_param("gain_db") == pytest.approx(-7.0) and p.parameters["mode"] == "saturate"
    state = hosted_state(p)
    assert state["isolate"] is True and state["on_crash"] == "bypass" and state["state"]
    q = make_hosted({k: v for k, v in state.items() if k not in ("isolate", "on_crash")}, tmp_path, "t")
    assert q.parameters["gain_db"] == pytest.approx(-7.0) and q.parameters["mode"] == "saturate"
    x = noise(4000, 2, seed=3)
    np.testing.assert_array_equal(p(x, SR), q(x, SR))
    p.close()


def test_parameter_errors_come_back_from_the_worker(vst3_plugins, tmp_path):
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreTestEffect"]), "isolate": True}
    with pytest.raises(MixcoreError, match=r"^tracks\[0\]\.chain\[0\]\.params\.gain: unknown parameter of "
                                           r"'MixcoreTestEffect' \(did you mean 'gain_db'\?\)$"):
        make_hosted({**entry, "params": {"gain": 1.0}}, tmp_path, "tracks[0].chain[0]")
    p = make_hosted(entry, tmp_path, "t")
    assert p.param_for("gain_db").hi == 24.0 and p.param_for("nope") is None
    with pytest.raises(MixcoreError, match=r"^gain_db: 30 is out of range, expected -24 \.\. 24 dB$"):
        p.set_param("gain_db", 30)
    worker = p._worker
    p.close()
    assert worker.poll() is not None  # the worker is gone


def test_bad_isolation_keys(vst3_plugins, tmp_path):
    eff = str(vst3_plugins["MixcoreTestEffect"])
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.on_crash: only applies with isolate = true"):
        render(session(tmp_path, {"type": "vst3", "path": eff, "on_crash": "bypass"}))
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.on_crash: 'ignore' is not one of error, bypass"):
        render(session(tmp_path, {"type": "vst3", "path": eff, "isolate": True, "on_crash": "ignore"}))
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.path: .*gone\.vst3 is not in a plugin folder"):
        render(session(tmp_path, {"type": "vst3", "path": "gone.vst3", "isolate": True}))
    with plugin_path(tmp_path), pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.path: plugin not found"):
        render(session(tmp_path, {"type": "vst3", "path": "gone.vst3", "isolate": True}))


def test_no_worker_or_shared_memory_is_left_behind(vst3_plugins, tmp_path, monkeypatch):
    """Only this test's own segments and workers count (other processes on the machine create and
    remove theirs meanwhile): the segments this host created (recorded as they are made, otherwise
    unchanged) are gone from /dev/shm, and no worker process of this process is left."""
    created: list[str] = []

    class Recorded(isolation.shared_memory.SharedMemory):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if kwargs.get("create"):
                created.append(self.name)

    def workers() -> set[int]:
        """This process's children that are isolation workers (not e.g. multiprocessing's resource tracker)."""
        pids: set[int] = set()
        for task in os.listdir(f"/proc/{os.getpid()}/task"):
            with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
                for pid in f.read().split():
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as c:
                            if b"mixcore.hosting.isolation" in c.read():
                                pids.add(int(pid))
                    except FileNotFoundError:  # gone meanwhile
                        pass
        return pids

    monkeypatch.setattr(isolation.shared_memory, "SharedMemory", Recorded)
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreTestEffect"]), "isolate": True}
    render(session(tmp_path, entry))
    assert len(created) >= 2  # the control segment and the audio slots
    assert [n for n in created if os.path.exists(f"/dev/shm/{n.lstrip('/')}")] == []
    assert workers() == set()


# -- isolated instruments ------------------------------------------------------------------------
def _notes(path, seconds: float) -> None:
    """A MIDI file with a note every half second for ``seconds`` (120 bpm, 480 ticks per beat)."""
    import mido

    mf = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mf.tracks.append(tr)
    for i in range(int(seconds * 2)):
        tr.append(mido.Message("note_on", note=60 + i % 12, velocity=100, time=0 if i == 0 else 120))
        tr.append(mido.Message("note_off", note=60 + i % 12, velocity=0, time=120))
    mf.save(path)


def _synth_session(tmp_path, synth, **instrument):
    _notes(tmp_path / "notes.mid", 4.0)
    return Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[{
        "name": "keys", "source": "notes.mid",
        "instrument": {"type": "vst3", "path": synth, "tail_s": 0.2, **instrument}}])


def test_an_isolated_instrument_renders_the_same_bytes_as_in_process(vst3_plugins, tmp_path):
    synth = str(vst3_plugins["MixcoreSynth"])
    inproc = render(_synth_session(tmp_path, synth), 512)
    isolated = render(_synth_session(tmp_path, synth, isolate=True), 4096)
    assert np.abs(inproc).max() > 0.1  # the notes sound (4 s: several 65536-sample chunks)
    np.testing.assert_array_equal(isolated, inproc)


def test_a_crashed_instrument_worker_gives_one_line_with_track_and_song_time(vst3_plugins, tmp_path):
    from mixcore.session.build import make_source
    from mixcore.session.model import Track

    _notes(tmp_path / "notes.mid", 4.0)
    entry = {"type": "vst3", "path": str(vst3_plugins["MixcoreSynth"]), "isolate": True}
    track = Track.model_validate({"name": "keys", "source": "notes.mid", "instrument": entry})
    for on_crash in ("error", "bypass"):
        src = make_source(Track.model_validate({**track.model_dump(exclude_none=True),
                                                "instrument": {**entry, "on_crash": on_crash}}),
                          "tracks[0]", tmp_path, SR, 120.0)
        src.open()
        first = np.zeros((2, 65536), np.float32)
        src.read_into(first)  # the first chunk comes from the worker
        assert np.abs(first).max() > 0.1
        os.kill(src.player._worker.pid, 9)  # the plugin's process dies between chunks ...
        src.player._worker.wait(10)  # ... and is gone before the next call (it must not be restarted silently)
        rest = np.zeros((2, 65536), np.float32)
        if on_crash == "error":
            with pytest.raises(MixcoreError) as e:
                src.read_into(rest)
            assert str(e.value) == ("tracks[0].instrument (track 'keys'): plugin 'MixcoreSynth' crashed (SIGKILL) "
                                    "while playing at 0:01.365 in the song")
        else:
            src.read_into(rest)  # bypassed: the instrument falls silent, the render goes on
            assert not np.any(rest)
        src.close()


def test_isolation_is_bit_identical_upstream_of_a_modulated_reverb_on_threads(vst3_plugins, tmp_path):
    """The isolated plugin adds a block of latency; the reverb fed by the track's send must not hear it."""
    write(tmp_path / "a.wav", noise(SR * 2, 2, seed=3))
    fx = {"type": "vst3", "path": str(vst3_plugins["MixcoreTestEffect"]), "id": "fx",
          "params": {"latency_samples": 64, "echo_ms": 4.0}}
    outs = []
    for iso in (False, True):
        for threads in (1, 2):
            s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.3, tracks=[
                {"name": "a", "source": "a.wav", "chain": [{**fx, "isolate": iso}],
                 "sends": [{"to": "verb", "level_db": -6.0}]}],
                buses=[{"name": "verb", "chain": [{"type": "reverb", "decay_s": 1.0, "mix": 1.0}]}])
            outs.append(np.concatenate(list(s.stream(4096, threads=threads)), axis=1))
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
