"""Every routing rule of SPEC §2, checked against exact expected sample values."""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import noise, write

from mixcore.errors import MixcoreError
from mixcore.session import Session

SR = 48000
N = 4800


def render(tmp_path, tracks, buses=(), master=None, threads=1, **top):
    data = {"sample_rate": SR, "tail_s": 0.0, "tracks": list(tracks), "buses": list(buses), **top}
    if master is not None:
        data["master"] = master
    s = Session(base_dir=tmp_path, **data)
    return np.concatenate(list(s.stream(1000, threads=threads)), axis=1)


@pytest.fixture
def mono(tmp_path):
    x = noise(N, 1, seed=1)
    write(tmp_path / "m.wav", x)
    return x


@pytest.fixture
def stereo(tmp_path):
    x = noise(N, 2, seed=2)
    write(tmp_path / "s.wav", x)
    return x


def f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32)


@pytest.mark.parametrize("pan", [-1.0, -0.5, 0.0, 0.3, 1.0])
def test_mono_source_constant_power_pan(tmp_path, mono, pan):
    y = render(tmp_path, [{"name": "a", "source": "m.wav", "pan": pan}])
    theta = (pan + 1) * math.pi / 4
    gl, gr = math.cos(theta), math.sin(theta)
    gl, gr = (0.0 if abs(gl) < 1e-12 else gl), (0.0 if abs(gr) < 1e-12 else gr)
    np.testing.assert_array_equal(y[0], f32(mono[0].astype(np.float64) * gl))
    np.testing.assert_array_equal(y[1], f32(mono[0].astype(np.float64) * gr))


def test_mono_centre_is_minus_3_01_db_and_full_level_at_the_sides(tmp_path, mono):
    y = render(tmp_path, [{"name": "a", "source": "m.wav"}])
    ratio = np.sum(y[0].astype(np.float64) ** 2) / np.sum(mono[0].astype(np.float64) ** 2)
    assert 10 * math.log10(ratio) == pytest.approx(-3.0103, abs=1e-4)
    y = render(tmp_path, [{"name": "a", "source": "m.wav", "pan": 1.0}])
    np.testing.assert_array_equal(y[1], mono[0])
    assert not np.any(y[0])


@pytest.mark.parametrize("pan", [-1.0, -0.4, 0.0, 0.7])
def test_stereo_source_balance(tmp_path, stereo, pan):
    y = render(tmp_path, [{"name": "a", "source": "s.wav", "pan": pan}])
    far = math.cos(abs(pan) * math.pi / 2)
    far = 0.0 if abs(far) < 1e-12 else far
    gl = far if pan > 0 else 1.0
    gr = far if pan < 0 else 1.0
    np.testing.assert_array_equal(y[0], f32(stereo[0].astype(np.float64) * gl))
    np.testing.assert_array_equal(y[1], f32(stereo[1].astype(np.float64) * gr))


def test_fader_and_polarity(tmp_path, stereo):
    y = render(tmp_path, [{"name": "a", "source": "s.wav", "gain_db": -6.0, "polarity_invert": True}])
    g = 10 ** (-6 / 20)
    np.testing.assert_array_equal(y, f32(-stereo.astype(np.float64) * g))


def test_mute_silences_track_and_its_sends(tmp_path, stereo, mono):
    y = render(tmp_path, [
        {"name": "a", "source": "s.wav", "mute": True, "sends": [{"to": "fx", "level_db": 0.0, "pre_fader": True}]},
        {"name": "b", "source": "m.wav", "pan": -1.0},
    ], buses=[{"name": "fx"}])
    np.testing.assert_array_equal(y[0], mono[0])
    assert not np.any(y[1])


def test_solo_mutes_other_tracks_not_buses(tmp_path, stereo, mono):
    y = render(tmp_path, [
        {"name": "a", "source": "s.wav", "solo": True, "output": "grp"},
        {"name": "b", "source": "m.wav"},
    ], buses=[{"name": "grp", "gain_db": -6.0}])
    np.testing.assert_array_equal(y, f32(stereo.astype(np.float64) * 10 ** (-6 / 20)))


def test_pre_fader_send_ignores_fader_and_pan(tmp_path, stereo):
    y = render(tmp_path, [
        {"name": "a", "source": "s.wav", "gain_db": -120.0, "pan": 1.0,
         "sends": [{"to": "fx", "level_db": -6.0, "pre_fader": True}]},
    ], buses=[{"name": "fx"}])
    g = 10 ** (-6 / 20)
    dry_l = 0.0  # pan hard right: the left channel of the dry path is silent
    dry_r = f32(stereo[1].astype(np.float64) * 10 ** (-120 / 20))
    np.testing.assert_array_equal(y[0], f32(stereo[0].astype(np.float64) * g) + dry_l)
    np.testing.assert_allclose(y[1], dry_r + f32(stereo[1].astype(np.float64) * g), rtol=1e-6)


def test_pre_fader_send_of_a_mono_track_is_centred(tmp_path, mono):
    y = render(tmp_path, [
        {"name": "a", "source": "m.wav", "mute": False, "gain_db": -120.0,
         "sends": [{"to": "fx", "level_db": 0.0, "pre_fader": True}]},
    ], buses=[{"name": "fx"}])
    expect = mono[0].astype(np.float64) * math.sqrt(0.5)
    np.testing.assert_allclose(y[0], expect, atol=1e-6)
    np.testing.assert_allclose(y[1], expect, atol=1e-6)


def test_post_fader_send_follows_fader_and_pan(tmp_path, mono):
    y = render(tmp_path, [
        {"name": "a", "source": "m.wav", "gain_db": -6.0, "pan": -1.0, "output": "fx2",
         "sends": [{"to": "fx", "level_db": -6.0}]},
    ], buses=[{"name": "fx"}, {"name": "fx2", "mute": True}])
    g = 10 ** (-6 / 20)
    post = f32(mono[0].astype(np.float64) * g)  # left channel after fader and hard-left pan
    np.testing.assert_array_equal(y[0], f32(post.astype(np.float64) * g))
    assert not np.any(y[1])


def test_bus_sums_inputs_then_fader_and_pan(tmp_path, stereo, mono):
    y = render(tmp_path, [
        {"name": "a", "source": "s.wav", "output": "grp"},
        {"name": "b", "source": "m.wav", "output": "grp", "pan": 1.0},
    ], buses=[{"name": "grp", "gain_db": -3.0, "pan": -0.5}])
    summed_l = stereo[0]
    summed_r = stereo[1] + mono[0]
    g = 10 ** (-3 / 20)
    np.testing.assert_array_equal(y[0], f32(summed_l.astype(np.float64) * g))
    np.testing.assert_array_equal(y[1], f32(f32(summed_r).astype(np.float64) * g * math.cos(0.25 * math.pi)))


def test_master_gain(tmp_path, stereo):
    y = render(tmp_path, [{"name": "a", "source": "s.wav"}], master={"gain_db": -6.0})
    np.testing.assert_array_equal(y, f32(stereo.astype(np.float64) * 10 ** (-6 / 20)))


@pytest.mark.parametrize("where", ["track", "bus", "master"])
def test_total_latency_is_removed_from_the_output(tmp_path, stereo, where):
    lat = [{"type": "test_latency", "samples": 333}]
    tracks = [{"name": "a", "source": "s.wav", "output": "grp", "chain": lat if where == "track" else []}]
    buses = [{"name": "grp", "chain": lat if where == "bus" else []}]
    y = render(tmp_path, tracks, buses, master={"chain": lat if where == "master" else []})
    assert y.shape == stereo.shape
    np.testing.assert_array_equal(y, stereo)


def test_pdc_aligns_a_latent_path_with_a_parallel_one(tmp_path, stereo):
    """The same source on two paths, one through a 100-sample latent bus: no comb filtering."""
    y = render(tmp_path, [
        {"name": "a", "source": "s.wav", "output": "slow"},
        {"name": "b", "source": "s.wav"},
    ], buses=[{"name": "slow", "chain": [{"type": "test_latency", "samples": 100}]}])
    np.testing.assert_array_equal(y, stereo + stereo)


def test_pdc_aligns_sends_pre_fader_taps_and_nested_buses(tmp_path, stereo):
    y = render(tmp_path, [
        {"name": "a", "source": "s.wav", "output": "g1", "chain": [{"type": "test_latency", "samples": 7}],
         "sends": [{"to": "fx", "level_db": 0.0, "pre_fader": True}]},
        {"name": "b", "source": "s.wav", "output": "g2"},
    ], buses=[{"name": "g1", "output": "g2", "chain": [{"type": "test_latency", "samples": 50}]},
              {"name": "g2", "chain": [{"type": "test_latency", "samples": 3}]},
              {"name": "fx", "chain": [{"type": "test_latency", "samples": 11}]}])
    np.testing.assert_array_equal(y, f32(f32(stereo + stereo) + stereo))


def test_cycle_is_named(tmp_path, stereo):
    with pytest.raises(MixcoreError, match=r"routing cycle: (x -> y -> x|y -> x -> y)"):
        render(tmp_path, [{"name": "a", "source": "s.wav", "output": "x"}],
               buses=[{"name": "x", "output": "y"}, {"name": "y", "output": "x"}])


def test_send_to_missing_bus_suggests_a_name(tmp_path, stereo):
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.sends\[0\]\.to: no bus named 'verv' \(did you mean 'verb'\?\)"):
        render(tmp_path, [{"name": "a", "source": "s.wav", "sends": [{"to": "verv"}]}], buses=[{"name": "verb"}])


def test_duplicate_names_are_refused(tmp_path, stereo):
    with pytest.raises(MixcoreError, match=r"buses\[0\]\.name: duplicate name 'a'"):
        render(tmp_path, [{"name": "a", "source": "s.wav"}], buses=[{"name": "a"}])


def test_output_to_a_track_is_refused(tmp_path, stereo):
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.output: 'b' is a track"):
        render(tmp_path, [{"name": "a", "source": "s.wav", "output": "b"}, {"name": "b", "source": "s.wav"}])


def test_sidechain_key_is_the_source_output_aligned_by_pdc(tmp_path):
    """A compressor keyed by another track ducks by that track's output, aligned despite its latency."""
    import mixcore
    from mixcore.processors import ProcessSpec

    kick = noise(N, 2, seed=7, level=0.9)
    bass = noise(N, 2, seed=8, level=0.2)
    write(tmp_path / "k.wav", kick)
    write(tmp_path / "b.wav", bass)
    comp = {"type": "compressor", "threshold_db": -30.0, "ratio": 10.0, "attack_ms": 1.0, "sidechain": "kick"}
    y = render(tmp_path, [
        {"name": "kick", "source": "k.wav", "gain_db": -6.0, "output": "kbus",
         "chain": [{"type": "test_latency", "samples": 64}]},
        {"name": "bass", "source": "b.wav", "output": "bbus", "chain": [comp]},
    ], buses=[{"name": "kbus", "mute": True}, {"name": "bbus"}])
    ref = mixcore.Compressor(threshold_db=-30.0, ratio=10.0, attack_ms=1.0)
    ref.prepare(ProcessSpec(SR, N, 2))
    key = f32(kick.astype(np.float64) * 10 ** (-6 / 20))
    expect = bass.copy()
    ref.process_with_key(expect, key)
    np.testing.assert_array_equal(y, expect)
    assert np.abs(y[:, 2000:]).max() < np.abs(bass[:, 2000:]).max() * 0.5  # it really ducks


def test_sidechain_to_a_missing_node_is_named(tmp_path, stereo):
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.sidechain: no track or bus named 'kik'"):
        render(tmp_path, [{"name": "kick", "source": "s.wav"},
                          {"name": "a", "source": "s.wav", "chain": [{"type": "compressor", "sidechain": "kik"}]}][1:]
               + [{"name": "kick", "source": "s.wav"}])


@pytest.mark.parametrize("threads", [1, 2])
def test_latency_upstream_does_not_shift_a_time_variant_processor(tmp_path, stereo, threads):
    """Every processor starts at song time 0 of its input, so a modulated reverb fed through a
    compensated latency (here a pure delay of 0 or 777 samples on the sending track, and a latent
    bus in between) renders the same bytes: PDC hides the latency completely."""
    outs = []
    for L in (0, 777):
        lat = [{"type": "test_latency", "samples": L}]
        outs.append(render(tmp_path, [
            {"name": "a", "source": "s.wav", "chain": lat, "sends": [{"to": "verb", "level_db": -3.0}]},
            {"name": "b", "source": "s.wav", "output": "grp"},
        ], buses=[{"name": "grp", "chain": [{"type": "test_latency", "samples": L // 3}],
                   "sends": [{"to": "verb", "level_db": -6.0}]},
                  {"name": "verb", "chain": [{"type": "reverb", "decay_s": 1.2, "mix": 1.0},
                                             {"type": "delay", "time_ms": 30.0, "feedback": 0.4, "mix": 0.5}]}],
            threads=threads))
    assert np.abs(outs[0]).max() > 0.01
    np.testing.assert_array_equal(outs[0], outs[1])
