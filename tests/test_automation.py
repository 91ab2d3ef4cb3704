"""Automation lanes: curve shapes, beats and bars, processor parameters, MIDI sources of every kind."""
from __future__ import annotations

import mido
import numpy as np
import pytest
from helpers import write

from mixcore.errors import MixcoreError
from mixcore.processors.filters import band_coeffs
from mixcore.render.automation import Lane, beats_to_seconds
from mixcore.session import Session

SR = 48000


def dc(tmp_path, seconds=2.0):
    write(tmp_path / "dc.wav", np.full((1, int(SR * seconds)), 0.5, dtype=np.float32))


def left(s, block=512):
    return np.concatenate(list(s.stream(block)), axis=1)[0].astype(np.float64)


def test_curve_shapes_at_sample_positions():
    pos = np.array([0, 12000, 24000, 36000, 48000])
    lin = Lane.from_points([[0.0, 100.0], [1.0, 1000.0]])
    exp = Lane.from_points([[0.0, 100.0], [1.0, 1000.0]], curve="exponential")
    smo = Lane.from_points([[0.0, 100.0], [1.0, 1000.0]], curve="smooth")
    stp = Lane.from_points([[0.0, 100.0], [1.0, 1000.0]], curve="step")
    u = pos / 48000
    np.testing.assert_allclose(lin.at_samples(pos, SR), 100 + 900 * u)
    np.testing.assert_allclose(exp.at_samples(pos, SR), 100 * 10 ** u)
    np.testing.assert_allclose(smo.at_samples(pos, SR), 100 + 900 * (1 - np.cos(np.pi * u)) / 2)
    np.testing.assert_allclose(stp.at_samples(pos, SR), [100, 100, 100, 100, 1000])
    with pytest.raises(MixcoreError, match="exponential"):
        Lane.from_points([[0.0, -1.0], [1.0, 1.0]], curve="exponential")


def test_tempo_map_beats_to_seconds():
    tm = [(0.0, 120.0), (4.0, 60.0)]
    np.testing.assert_allclose(beats_to_seconds(np.array([0, 2, 4, 5, 6]), tm), [0, 1, 2, 3, 4])


def test_fader_lane_in_bars_with_a_tempo_map(tmp_path):
    dc(tmp_path, 4.0)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tempo_map=[[0.0, 120.0], [4.0, 60.0]],
                tracks=[{"name": "dc", "source": "dc.wav", "pan": -1.0}],
                automation=[{"target": "dc.gain_db", "points": [[0.0, -20.0], [1.0, 0.0], [1.25, -6.0]],
                             "time_unit": "bars", "curve": "step"}])
    y = left(s)
    # bar 1 = beat 4 = 2.0 s; bar 1.25 = beat 5 = 3.0 s (after the tempo halves)
    assert y[2 * SR - 1] == pytest.approx(0.5 * 10 ** (-20 / 20), rel=1e-6)
    assert y[2 * SR] == pytest.approx(0.5, rel=1e-6)
    assert y[3 * SR] == pytest.approx(0.5 * 10 ** (-6 / 20), rel=1e-6)


def test_eq_frequency_automation_sets_exact_coefficients_on_the_grid(tmp_path):
    dc(tmp_path)
    data = dict(sample_rate=SR, tail_s=0.0, automation_interval=64,
                tracks=[{"name": "dc", "source": "dc.wav",
                         "chain": [{"type": "eq", "bands": [{"kind": "lowpass", "freq_hz": 200.0}]}]}],
                automation=[{"target": "dc.eq.bands[0].freq_hz", "points": [[0.0, 200.0], [1.0, 8000.0]],
                             "curve": "exponential"}])
    s = Session(base_dir=tmp_path, **data)
    a = left(s, 64)
    b = left(s, 4096)
    np.testing.assert_array_equal(a, b)  # block size never changes the result
    plan, lanes, _ = s.compile(4096)
    lane = next(iter(lanes.values()))
    eq = plan.nodes["dc"].node.processors[0]
    eq.set_param("bands[0].freq_hz", lane.at(64 * 300, SR))
    np.testing.assert_allclose(eq._target[0], band_coeffs(SR, "lowpass", 200 * 40 ** (64 * 300 / SR), 0.7071067811865476, 0))
    with pytest.raises(MixcoreError, match=r"automation\[0\]\.points: .*freq_hz: 99999999"):
        data["automation"][0]["points"] = [[0.0, 99999999.0]]
        list(Session(base_dir=tmp_path, **data).stream(512))


def test_compressor_threshold_automation_identical_for_block_sizes(tmp_path):
    write(tmp_path / "n.wav", (np.random.default_rng(1).standard_normal((2, SR)) * 0.3).astype(np.float32))
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0,
                tracks=[{"name": "n", "source": "n.wav", "chain": [{"type": "compressor", "id": "c"}]}],
                automation=[{"target": "n.c.threshold_db", "points": [[0.0, -40.0], [1.0, -5.0]]}])
    np.testing.assert_array_equal(left(s, 64), left(s, 4096))


def midi_file(path, events, tempo_bpm=120):
    mf = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mf.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    for msg in events:
        tr.append(msg)
    mf.save(path)


def test_14_bit_cc_pitch_bend_aftertouch_and_velocity(tmp_path):
    dc(tmp_path)
    midi_file(tmp_path / "m.mid", [
        mido.Message("control_change", control=1, value=64, channel=0, time=0),
        mido.Message("control_change", control=33, value=1, channel=0, time=0),     # LSB: 64*128 + 1
        mido.Message("pitchwheel", pitch=-8192, channel=1, time=0),
        mido.Message("aftertouch", value=127, channel=2, time=0),
        mido.Message("note_on", note=60, velocity=100, channel=3, time=0),
        mido.Message("control_change", control=1, value=127, channel=0, time=480),  # 0.5 s
        mido.Message("pitchwheel", pitch=8191, channel=1, time=0),
    ])
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0,
                tracks=[{"name": "dc", "source": "dc.wav", "chain": [{"type": "gain", "id": "g"},
                                                                     {"type": "width", "id": "w"}]},
                        {"name": "x", "source": "dc.wav"}],
                midi=[{"file": "m.mid", "map": [
                    {"cc14": 1, "channel": 1, "target": "dc.gain_db", "min": -60.0, "max": 0.0},
                    {"pitchbend": True, "channel": 2, "target": "dc.pan", "min": -1.0, "max": 1.0},
                    {"aftertouch": True, "channel": 3, "target": "x.gain_db", "min": -10.0, "max": -2.0},
                    {"velocity": True, "note": 60, "channel": 4, "target": "x.pan", "min": -1.0, "max": 1.0},
                ]}])
    plan, lanes, _ = s.compile()
    g = lanes[("dc", -1, "gain_db")]
    assert g.at(0, SR) == pytest.approx(-60 + 60 * (64 * 128 + 1) / 16383)  # 14-bit resolution
    assert g.at(SR // 2, SR) == pytest.approx(-60 + 60 * (127 * 128) / 16383)  # new MSB resets the LSB
    assert lanes[("dc", -1, "pan")].at(0, SR) == pytest.approx(-1.0)
    assert lanes[("dc", -1, "pan")].at(SR // 2, SR) == pytest.approx(1.0)
    assert lanes[("x", -1, "gain_db")].at(0, SR) == pytest.approx(-2.0)
    assert lanes[("x", -1, "pan")].at(0, SR) == pytest.approx(-1 + 2 * 100 / 127)


def test_bad_midi_maps(tmp_path):
    dc(tmp_path)
    midi_file(tmp_path / "m.mid", [mido.Message("control_change", control=7, value=1, time=0)])
    base = dict(sample_rate=SR, tracks=[{"name": "dc", "source": "dc.wav"}])
    with pytest.raises(MixcoreError, match=r"midi\[0\]\.map\[0\]: .*exactly one of cc, cc14"):
        Session(base_dir=tmp_path, **base, midi=[{"file": "m.mid", "map": [{"cc": 7, "pitchbend": True,
                                                                              "target": "dc.gain_db"}]}])
    s = Session(base_dir=tmp_path, **base, midi=[{"file": "m.mid", "map": [{"cc": 8, "target": "dc.gain_db"}]}])
    with pytest.raises(MixcoreError, match=r"midi\[0\]\.map\[0\]: m\.mid has no CC 8 messages on channel 1"):
        s.compile()


def test_send_level_automation_is_per_sample(tmp_path):
    dc(tmp_path, 1.0)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0,
                tracks=[{"name": "dc", "source": "dc.wav", "mute": False, "output": "sink", "pan": -1.0,
                         "sends": [{"to": "fx", "level_db": 0.0}]}],
                buses=[{"name": "sink", "mute": True}, {"name": "fx"}],
                automation=[{"target": "dc.sends.fx.level_db", "points": [[0.0, -60.0], [1.0, 0.0]]}])
    y = left(s, 333)
    for pos in (0, 4800, 24000, 47999):
        db = -60 + 60 * pos / SR
        assert y[pos] == pytest.approx(0.5 * 10 ** (db / 20), rel=1e-6)
    with pytest.raises(MixcoreError, match=r"'dc' has no send to 'fxx' \(did you mean 'fx'\?\)"):
        Session(base_dir=tmp_path, sample_rate=SR, tracks=[{"name": "dc", "source": "dc.wav",
                                                             "sends": [{"to": "fx"}]}], buses=[{"name": "fx"}],
                automation=[{"target": "dc.sends.fxx.level_db", "points": [[0.0, 0.0]]}]).compile()


def test_native_gain_and_eq_automation_is_sample_accurate(tmp_path):
    """Processor lanes on gain and EQ follow the lane at every sample (no grid)."""
    import mixcore
    from mixcore._dsp.biquad import process_cascade_varying

    x = (np.random.default_rng(3).standard_normal((1, SR // 4)) * 0.2).astype(np.float32)
    write(tmp_path / "n.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, automation_interval=4096,
                tracks=[{"name": "n", "source": "n.wav", "pan": -1.0,
                         "chain": [{"type": "gain", "id": "g"},
                                   {"type": "eq", "bands": [{"kind": "peak", "freq_hz": 1000.0, "gain_db": 6.0}]}]}],
                automation=[{"target": "n.g.gain_db", "points": [[0.0, -12.0], [0.25, 0.0]]},
                            {"target": "n.eq.bands[0].freq_hz", "points": [[0.0, 300.0], [0.25, 3000.0]],
                             "curve": "exponential"}])
    y = left(s, 1000)
    t = np.arange(x.shape[1]) / SR
    g = x[0].astype(np.float64) * 10 ** ((-12 + 12 * t / 0.25) / 20)
    ref = g.astype(np.float32).reshape(1, -1).copy()
    f = 300 * 10 ** (t / 0.25)
    co = np.ascontiguousarray(band_coeffs(SR, "peak", f, 0.7071067811865476, 6.0).reshape(-1, 1, 5))
    process_cascade_varying(ref, co, np.zeros((1, 1, 2)))
    np.testing.assert_allclose(y, ref[0].astype(np.float64) * np.cos(0.0), atol=2e-7)
    assert mixcore.EQ.SAMPLE_ACCURATE and mixcore.Gain.SAMPLE_ACCURATE
