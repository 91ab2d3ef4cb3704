"""Live control from an in-memory MIDI port: moves apply at block starts, learn maps controls,
a recorded take re-renders offline to the same bytes as the live stream."""
from __future__ import annotations

import mido
import numpy as np
import pytest
from helpers import cli, noise, write

from mixcore.errors import MixcoreError
from mixcore.live import LivePlayer, load_profile, save_profile
from mixcore.session import Session
from mixcore.session.model import MidiMap

SR = 48000


@pytest.fixture
def session(tmp_path):
    write(tmp_path / "a.wav", noise(SR, 2, seed=1, level=0.5))
    return Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[
        {"name": "a", "source": "a.wav", "chain": [{"type": "eq", "bands": [{"kind": "lowpass", "freq_hz": 8000.0}]},
                                                   {"type": "compressor", "id": "c"}]}])


def perform(player, port, moves):
    """Consume the stream; before block k send the messages moves[k]."""
    out = []
    it = player.stream()
    k = 0
    while True:
        for msg in moves.get(k, []):
            port.send(msg)
        try:
            out.append(next(it))
        except StopIteration:
            break
        k += 1
    return np.concatenate(out, axis=1)


def test_recorded_take_re_renders_byte_identical(session, tmp_path):
    port = mido.ports.EchoPort()
    maps = [MidiMap(cc=7, channel=1, target="a.gain_db", min=-40.0, max=0.0),
            MidiMap(cc=74, channel=1, target="a.eq.bands[0].freq_hz", min=200.0, max=8000.0, curve="exponential"),
            MidiMap(pitchbend=True, channel=2, target="a.c.threshold_db", min=-40.0, max=0.0)]
    player = LivePlayer(session, port, maps, block_size=256)
    cc = lambda c, v, ch=0: mido.Message("control_change", control=c, value=v, channel=ch)  # noqa: E731
    moves = {0: [cc(7, 100)], 10: [cc(74, 10), cc(7, 60)], 11: [cc(7, 64)], 40: [cc(7, 127)],
             70: [mido.Message("pitchwheel", pitch=-5000, channel=1)], 150: [cc(74, 127)]}
    live = perform(player, port, moves)
    recorded = player.recorded_session()
    path = recorded.save(tmp_path / "take.toml")
    offline = np.concatenate(list(Session.load(path).stream(4096)), axis=1)
    np.testing.assert_array_equal(offline, live)
    pts = dict((a.target, a.points) for a in recorded.model.automation)
    assert pts["a.gain_db"][1] == pytest.approx((10 * 256 / SR, -40 + 40 * 60 / 127))
    assert pts["a.gain_db"][2][0] == pytest.approx(11 * 256 / SR)


def test_learn_maps_the_next_moved_control(session, tmp_path):
    port = mido.ports.EchoPort()
    player = LivePlayer(session, port, learn=["a.pan"], block_size=512)
    perform(player, port, {5: [mido.Message("control_change", control=21, value=127, channel=3)],
                           20: [mido.Message("control_change", control=21, value=0, channel=3)]})
    # no min/max: the target's own range and taper (pan: linear over -1 .. 1)
    assert [(m.cc, m.channel, m.target, m.min, m.max) for m in player.maps] == [(21, 4, "a.pan", None, None)]
    assert player.points["a.pan"][1] == [5 * 512 / SR, 1.0]
    assert player.points["a.pan"][-1] == [20 * 512 / SR, -1.0]
    save_profile(tmp_path / "p.toml", player.maps)
    assert load_profile(tmp_path / "p.toml")[0].cc == 21


def test_bad_targets_and_profiles(session, tmp_path):
    with pytest.raises(MixcoreError, match="no track or bus named 'b'"):
        list(LivePlayer(session, mido.ports.EchoPort(), learn=["b.gain_db"]).stream())
    (tmp_path / "bad.toml").write_text('[[map]]\ncc = 7\ntarget = "a.gain_db"\nmax = 1\nmaxx = 2\n')
    with pytest.raises(MixcoreError, match=r"bad\.toml: map\[0\]\.maxx: unknown key"):
        load_profile(tmp_path / "bad.toml")


def test_play_without_a_midi_system_is_one_clear_line(session, tmp_path):
    session.save(tmp_path / "s.toml")
    r = cli("play", "s.toml", "--midi-in", "Controller", "-o", "out.wav", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "--midi-in:" in r.stderr and not (tmp_path / "out.wav").exists()
