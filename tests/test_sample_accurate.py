"""Sample-accurate automation of the native processors (gate, deesser, limiter, delay, reverb, convolution).

Reference: the same processor run one sample at a time with ``set_param`` before every sample (the
fixed-parameter path, which the other test files check against formulas). ``process_automated`` with
the per-sample arrays, cut into blocks of any size, must give the same output: bit for bit (tolerance
0), because the kernels compute the same coefficients with the same libm calls and run the same code.
"""
from __future__ import annotations

import numpy as np
import pytest
from helpers import cycle_blocks, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mixcore.processors._all  # noqa: F401  (registers every processor)
from mixcore.errors import MixcoreError
from mixcore.processors.base import ProcessSpec
from mixcore.processors.registry import processor_types
from mixcore.session import Session

SR = 48000
TYPES = processor_types()


def signal(n: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Noise bursts over a sine, with near-silent stretches (opens and closes gates, drives limiters)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    env = np.where((np.arange(n) // 700) % 3 == 0, 0.001, 1.0)
    x = 0.4 * env * (np.sin(2 * np.pi * 220.0 * t) + 0.7 * rng.standard_normal((channels, n)))
    return np.ascontiguousarray(x, dtype=np.float32)


def by_samples(type_name: str, fixed: dict, x: np.ndarray, lanes: dict[str, np.ndarray], fs: float = SR) -> np.ndarray:
    """Reference: block size 1, ``set_param`` of every lane before every sample."""
    p = TYPES[type_name](**fixed, **{k: float(v[0]) for k, v in lanes.items()})
    p.prepare(ProcessSpec(float(fs), 1, x.shape[0]))
    p.reset()
    out = x.copy()
    for i in range(x.shape[1]):
        for k, v in lanes.items():
            p.set_param(k, float(v[i]))
        blk = np.ascontiguousarray(out[:, i:i + 1])
        p.process(blk)
        out[:, i] = blk[:, 0]
    return out


def automated(type_name: str, fixed: dict, x: np.ndarray, lanes: dict[str, np.ndarray], blocks=(1000,),
              fs: float = SR, max_block: int | None = None) -> np.ndarray:
    """``process_automated`` over blocks of the given sizes (cycled)."""
    p = TYPES[type_name](**fixed, **{k: float(v[0]) for k, v in lanes.items()})
    p.prepare(ProcessSpec(float(fs), max_block or max(blocks), x.shape[0]))
    p.reset()
    return cycle_blocks(x, blocks, lambda blk, pos: p.process_automated(
        blk, {name: v[pos:pos + blk.shape[1]] for name, v in lanes.items()}))


def ramp(n: int, a: float, b: float) -> np.ndarray:
    return np.linspace(a, b, n)


def steps(n: int, values, every: int) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)[(np.arange(n) // every) % len(values)]


N = 6000


def lanes_for(type_name: str, n: int) -> tuple[dict, dict[str, np.ndarray]]:
    """Fixed parameters and per-sample lanes exercising every automatable parameter of a processor."""
    if type_name == "gate":
        return {}, {"threshold_db": ramp(n, -50, -10), "hold_ms": steps(n, [0, 5, 20], 900),
                    "attack_ms": ramp(n, 0.1, 10), "release_ms": ramp(n, 200, 5),
                    "range_db": steps(n, [80, 20, 0, 60], 1300)}
    if type_name == "expander":
        return {"mode": "expander"}, {"threshold_db": ramp(n, -20, -60), "ratio": ramp(n, 1, 8),
                                      "range_db": steps(n, [80, 20, 60], 1300), "hold_ms": steps(n, [0, 3], 700)}
    if type_name == "deesser":
        return {}, {"freq_hz": np.geomspace(3000, 12000, n), "threshold_db": ramp(n, -50, -10),
                    "ratio": steps(n, [2, 8, 1], 700), "listen": steps(n, [0, 0, 1], 1100)}
    if type_name == "limiter":
        return {}, {"ceiling_dbtp": ramp(n, -12, 0), "release_ms": steps(n, [1, 300, 30], 800)}
    if type_name == "delay":
        return {}, {"time_ms": ramp(n, 20, 3), "feedback": ramp(n, 0.9, 0.2), "mix": steps(n, [0.3, 1.0, 0.0], 800),
                    "lowpass_hz": np.geomspace(20000, 500, n), "ping_pong": steps(n, [0, 1], 1500)}
    if type_name == "delay_beats":
        return {}, {"time_beats": ramp(n, 0.01, 0.2), "time_ms": ramp(n, 1, 3), "feedback": steps(n, [0.5, 0.95], 999)}
    if type_name == "reverb":
        return {"room_size": 0.2, "predelay_ms": 3.0}, {"decay_s": ramp(n, 0.2, 8),
                                                        "damping": steps(n, [0.0, 1.0, 0.5], 800), "mix": ramp(n, 1, 0)}
    raise AssertionError(type_name)


CASES = ["gate", "expander", "deesser", "limiter", "delay", "delay_beats", "reverb"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fs", [22050, 48000, 192000])
def test_automated_equals_set_param_before_every_sample(case, fs):
    """Tolerance 0: the automated kernels run the fixed kernels run by run with the same coefficients."""
    type_name = "delay" if case == "delay_beats" else "gate" if case == "expander" else case
    fixed, lanes = lanes_for(case, N)
    x = signal(N, seed=1) * (2.0 if case == "limiter" else 1.0)
    if case == "deesser":
        x[0] += (0.3 * np.sin(2 * np.pi * min(8000.0, 0.4 * fs) * np.arange(N) / fs)).astype(np.float32)
    ref = by_samples(type_name, fixed, x, lanes, fs=fs)
    assert np.abs(ref - x).max() > 0.05  # the processor does something
    for blocks in [(N,), (1000, 1, 37, 4096)]:
        np.testing.assert_array_equal(automated(type_name, fixed, x, lanes, blocks, fs=fs), ref)


@pytest.fixture(scope="module")
def ir_file(tmp_path_factory):
    rng = np.random.default_rng(5)
    ir = (rng.standard_normal((1, 3000)) * np.exp(-np.arange(3000) / 500)).astype(np.float32)
    path = tmp_path_factory.mktemp("ir") / "ir.wav"
    write(path, ir)
    return path, ir[0].astype(np.float64)


def test_convolution_automated_against_set_param_and_fftconvolve(ir_file):
    import scipy.signal as ss

    path, ir = ir_file
    x = signal(N, seed=2)
    lanes = {"mix": ramp(N, 0, 1), "gain_db": ramp(N, -60, 24)}
    ref = by_samples("convolution", {"ir": str(path)}, x, lanes)
    for blocks in [(N,), (1000, 1, 37)]:
        np.testing.assert_array_equal(automated("convolution", {"ir": str(path)}, x, lanes, blocks), ref)
    # plain numpy model: y[i] = (1 - mix[i]) x[i - P] + mix[i] 10^(gain_db[i]/20) (x * ir)[i - P], P = 1024
    P = 1024
    xd = np.pad(x.astype(np.float64), ((0, 0), (P, 0)))[:, :N]
    wet = np.stack([ss.fftconvolve(xd[c], ir)[:N] for c in range(2)])
    model = (1 - lanes["mix"]) * xd + lanes["mix"] * 10 ** (lanes["gain_db"] / 20) * wet
    np.testing.assert_allclose(ref, model, rtol=0, atol=2e-5 * np.abs(model).max())


@pytest.mark.parametrize("type_name", ["gate", "deesser", "limiter", "delay", "reverb"])
def test_constant_arrays_give_the_fixed_path(type_name):
    """process_automated with constant lanes is process(), bit for bit (the fast path is the same kernel)."""
    x = signal(N, seed=3)
    _, lanes = lanes_for(type_name, N)
    const = {k: np.full(N, v[N // 2]) for k, v in lanes.items()}
    p = TYPES[type_name](**{k: float(v[0]) for k, v in const.items()})
    y = p(x, SR, block_size=N)
    lat = p.latency_samples
    z = automated(type_name, {}, np.pad(x, ((0, 0), (0, lat))), {k: np.full(N + lat, v[0]) for k, v in const.items()},
                  (N + lat,), max_block=N + lat)
    np.testing.assert_array_equal(z[:, lat:], y)


def test_what_cannot_be_automated_is_named():
    lim = TYPES["limiter"]()
    lim.prepare(ProcessSpec(48000.0, 64, 2))
    with pytest.raises(MixcoreError, match=r"limiter\.lookahead_ms: .*cannot automate 'lookahead_ms'"):
        lim.process_automated(np.zeros((2, 64), np.float32), {"lookahead_ms": np.full(64, 5.0)})
    conv = TYPES["convolution"]()
    conv.prepare(ProcessSpec(48000.0, 64, 2))
    with pytest.raises(MixcoreError, match=r"convolution\.ir: .*cannot automate 'ir'"):
        conv.process_automated(np.zeros((2, 64), np.float32), {"ir": np.zeros(64)})
    gate = TYPES["gate"]()
    gate.prepare(ProcessSpec(48000.0, 64, 2))
    with pytest.raises(MixcoreError, match=r"gate\.mode: .*cannot automate 'mode'"):
        gate.process_automated(np.zeros((2, 64), np.float32), {"mode": np.zeros(64)})
    with pytest.raises(MixcoreError, match=r"gate\.ratio: 3 automation values for a block of 64"):
        gate.process_automated(np.zeros((2, 64), np.float32), {"ratio": np.ones(3)})


# -- in a session -------------------------------------------------------------------------------------


def left(s: Session, block: int) -> np.ndarray:
    return np.concatenate(list(s.stream(block)), axis=1)


def chain_session(tmp_path, ir_path, automation) -> Session:
    write(tmp_path / "n.wav", signal(SR // 2, seed=4))
    chain = [{"type": "gate", "id": "g"}, {"type": "deesser", "id": "s"}, {"type": "delay", "id": "d", "time_ms": 30.0},
             {"type": "reverb", "id": "r"}, {"type": "convolution", "id": "c", "ir": str(ir_path)},
             {"type": "limiter", "id": "l"}]
    return Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, automation=automation,
                   tracks=[{"name": "n", "source": "n.wav", "chain": chain}])


LANES = [{"target": "n.g.threshold_db", "points": [[0.0, -60.0], [0.5, -10.0]]},
         {"target": "n.g.hold_ms", "points": [[0.0, 0.0], [0.2, 30.0]], "curve": "step"},
         {"target": "n.s.freq_hz", "points": [[0.0, 3000.0], [0.5, 12000.0]], "curve": "exponential"},
         {"target": "n.s.threshold_db", "points": [[0.0, -50.0], [0.5, -20.0]], "curve": "smooth"},
         {"target": "n.d.time_ms", "points": [[0.0, 30.0], [0.3, 5.0]]},
         {"target": "n.d.feedback", "points": [[0.0, 0.2], [0.5, 0.9]]},
         {"target": "n.r.decay_s", "points": [[0.0, 0.3], [0.5, 6.0]]},
         {"target": "n.r.mix", "points": [[0.0, 0.0], [0.5, 1.0]]},
         {"target": "n.c.mix", "points": [[0.0, 1.0], [0.5, 0.2]]},
         {"target": "n.c.gain_db", "points": [[0.0, -20.0], [0.5, 6.0]]},
         {"target": "n.l.ceiling_dbtp", "points": [[0.0, -12.0], [0.5, -1.0]]},
         {"target": "n.l.release_ms", "points": [[0.0, 5.0], [0.5, 500.0]]}]


def test_automated_session_is_identical_for_render_block_sizes_64_and_4096(tmp_path, ir_file):
    s = chain_session(tmp_path, ir_file[0], LANES)
    y64 = left(s, 64)
    np.testing.assert_array_equal(y64, left(s, 4096))
    assert np.all(np.isfinite(y64)) and y64.shape[1] > 0
    assert np.abs(y64 - left(chain_session(tmp_path, ir_file[0], []), 4096)).max() > 0.05  # the lanes act


@pytest.mark.parametrize("type_name,param,points,curve", [
    ("gate", "threshold_db", [[0.0, -60.0], [0.1, -5.0]], "linear"),
    ("gate", "range_db", [[0.0, 0.0], [0.03, 80.0], [0.07, 10.0]], "step"),
    ("delay", "time_ms", [[0.0, 40.0], [0.1, 2.0]], "smooth"),
    ("deesser", "ratio", [[0.0, 20.0], [0.1, 1.0]], "linear"),
    ("reverb", "damping", [[0.0, 0.0], [0.1, 1.0]], "linear")])
def test_session_lanes_reach_the_processor_at_every_sample(tmp_path, type_name, param, points, curve):
    """The engine hands lanes to these processors per sample, not on its automation grid: with a grid
    of 4096 samples the output still equals the processor given the lane's value at every sample."""
    from mixcore.render.automation import Lane

    n = SR // 10
    x = signal(n, channels=1, seed=6)
    write(tmp_path / "m.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, automation_interval=4096,
                tracks=[{"name": "m", "source": "m.wav", "pan": -1.0, "chain": [{"type": type_name, "id": "p"}]}],
                automation=[{"target": f"m.p.{param}", "points": points, "curve": curve}])
    lane = Lane.from_points(points, curve=curve).at_samples(np.arange(n), SR)
    ref = by_samples(type_name, {}, x, {param: lane})
    np.testing.assert_array_equal(left(s, 512)[0, :n], ref[0])


@pytest.mark.parametrize("target,param", [("m.l.lookahead_ms", "lookahead_ms"), ("m.c.ir", "ir"),
                                          ("m.g.mode", "mode"), ("m.mb.crossovers_hz", "crossovers_hz"),
                                          ("m.r.room_size", "room_size")])
def test_a_lane_on_what_cannot_be_automated_is_one_line_naming_it(tmp_path, target, param):
    write(tmp_path / "m.wav", signal(4800, channels=1))
    with pytest.raises(MixcoreError, match=rf"automation\[0\].*{param}.*cannot be automated"):
        list(Session(base_dir=tmp_path, sample_rate=SR, automation=[{"target": target, "points": [[0.0, 1.0]]}],
                     tracks=[{"name": "m", "source": "m.wav", "chain": [
                         {"type": "limiter", "id": "l"}, {"type": "convolution", "id": "c"},
                         {"type": "gate", "id": "g"}, {"type": "multiband", "id": "mb"},
                         {"type": "reverb", "id": "r"}]}]).stream(512))


# -- properties: random in-range per-sample parameters -----------------------------------------------

AUTOMATABLE = {
    "gate": ("threshold_db", "range_db", "attack_ms", "hold_ms", "release_ms", "ratio"),
    "deesser": ("freq_hz", "threshold_db", "ratio", "listen"),
    "limiter": ("ceiling_dbtp", "release_ms"),
    "delay": ("time_ms", "time_beats", "feedback", "mix", "lowpass_hz", "ping_pong"),
    "reverb": ("decay_s", "damping", "mix"),
    "convolution": ("mix", "gain_db"),
}


def random_lane(rng: np.random.Generator, lo: float, hi: float, n: int, shape: str) -> np.ndarray:
    """In-range values per sample: white (a new random value every sample), a ramp, or random steps."""
    if shape == "white":
        return rng.uniform(lo, hi, n)
    if shape == "ramp":
        a, b = rng.uniform(lo, hi, 2)
        return np.linspace(a, b, n)
    return rng.uniform(lo, hi, 8)[np.sort(rng.integers(0, 8, n))]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(type_name=st.sampled_from(sorted(AUTOMATABLE)), fs=st.sampled_from([22050, 44100, 48000, 96000, 192000]),
       seed=st.integers(0, 2**32 - 1), shape=st.sampled_from(["white", "ramp", "steps"]),
       block=st.sampled_from([1, 64, 700, 3000]), expander=st.booleans())
def test_random_per_sample_parameters_stay_finite_and_bounded(ir_file, type_name, fs, seed, shape, block, expander):
    rng = np.random.default_rng(seed)
    n = 3000
    x = np.ascontiguousarray(rng.uniform(-1.0, 1.0, (2, n)) * (rng.random(n) < 0.7), dtype=np.float32)
    by_name = {p.name: p for p in TYPES[type_name].PARAMS}
    names = [k for k in AUTOMATABLE[type_name] if rng.random() < 0.8] or [AUTOMATABLE[type_name][0]]
    # delay times up to 20 ms (0.04 beats) so that the echoes recirculate within the signal
    hi = {"time_ms": 20.0, "time_beats": 0.04}
    lanes = {k: random_lane(rng, by_name[k].lo, hi.get(k, by_name[k].hi), n, shape) for k in names}
    fixed = {"ir": str(ir_file[0])} if type_name == "convolution" else {}
    if type_name == "gate" and expander:
        fixed["mode"] = "expander"
    y = automated(type_name, fixed, x, lanes, (block,), fs=fs)
    assert np.all(np.isfinite(y))
    peak = float(np.abs(y).max())
    if type_name == "gate":  # a gate only attenuates
        assert peak <= 1.0 + 1e-6
    elif type_name == "limiter":  # never above the highest ceiling of the lane
        assert peak <= 10 ** (float(np.max(lanes.get("ceiling_dbtp", [-1.0]))) / 20) + 1e-6
    elif type_name == "convolution":  # |y| <= (1 + max wet gain * sum |ir|) max |x|
        assert peak <= 1.0 + 10 ** (24 / 20) * np.abs(ir_file[1]).sum()
    else:  # de-esser: filters and a gain <= 1; delay: feedback <= 0.98 (50x); reverb: a lossy loop
        assert peak <= {"deesser": 8.0, "delay": 60.0, "reverb": 20.0}[type_name]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(type_name=st.sampled_from(sorted(AUTOMATABLE)), fs=st.sampled_from([22050, 44100, 96000, 192000]),
       seed=st.integers(0, 2**32 - 1), shape=st.sampled_from(["white", "ramp", "steps"]),
       block=st.sampled_from([1, 7, 64, 400]), expander=st.booleans())
def test_random_per_sample_parameters_match_set_param_before_every_sample(ir_file, type_name, fs, seed, shape, block,
                                                                          expander):
    """The reference equality above, for random in-range lanes (tolerance 0)."""
    rng = np.random.default_rng(seed)
    n = 400
    x = np.ascontiguousarray(rng.uniform(-1.0, 1.0, (2, n)), dtype=np.float32)
    by_name = {p.name: p for p in TYPES[type_name].PARAMS}
    hi = {"time_ms": 5.0, "time_beats": 0.01}
    lanes = {k: random_lane(rng, by_name[k].lo, hi.get(k, by_name[k].hi), n, shape) for k in AUTOMATABLE[type_name]
             if rng.random() < 0.8}
    fixed = {"ir": str(ir_file[0])} if type_name == "convolution" else {}
    if type_name == "gate" and expander:
        fixed["mode"] = "expander"
    np.testing.assert_array_equal(automated(type_name, fixed, x, lanes, (block,), fs=fs),
                                  by_samples(type_name, fixed, x, lanes, fs=fs))


@pytest.mark.parametrize("type_name", sorted(AUTOMATABLE))
def test_an_empty_block_changes_nothing(type_name, ir_file):
    """A block of 0 samples (the engine may pass one) leaves state and parameters as they were."""
    fixed = {"ir": str(ir_file[0])} if type_name == "convolution" else {}
    x = signal(2000, seed=7)
    name = AUTOMATABLE[type_name][0]
    lane = np.full(2000, TYPES[type_name]().get_param(name))
    y = automated(type_name, fixed, x, {name: lane}, (2000,))
    p = TYPES[type_name](**fixed)
    p.prepare(ProcessSpec(float(SR), 2000, 2))
    p.reset()
    p.process_automated(np.zeros((2, 0), np.float32), {name: np.zeros(0)})
    z = x.copy()
    p.process(z)
    np.testing.assert_array_equal(z, y)
