"""Every processor derives its values once, in one place (mixcore/processors/coeffs.py, pyx/derive.pxd
and each kernel's _derive): a parameter held constant by sample-accurate automation gives exactly the
output of the parameter set once, bit for bit, for every sample-accurate processor.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import noise, write

import mixcore.processors._all  # noqa: F401  (registers every processor)
from mixcore.processors.base import ProcessSpec
from mixcore.processors.coeffs import gain_from_db, one_pole
from mixcore.processors.registry import processor_types
from mixcore.session import Session

SR = 48000
TYPES = processor_types()


def test_one_pole_is_libm_exp_for_floats_and_arrays():
    """The shared coefficient is math.exp's (libm) for every value, never numpy's exp, which differs
    from it in the last bit for about one value in sixteen."""
    ms = np.geomspace(0.01, 5000.0, 20001)
    for fs in (22050.0, 44100.0, 48000.0, 96000.0, 192000.0):
        expect = np.array([math.exp(-1.0 / (m * 1e-3 * fs)) for m in ms])
        np.testing.assert_array_equal(one_pole(ms, fs), expect)
        assert all(one_pole(float(m), fs) == e for m, e in zip(ms[::997], expect[::997]))
    assert isinstance(one_pole(5.0, SR), float)
    assert one_pole(np.full((2, 3), 5.0), SR).shape == (2, 3) and one_pole(np.array(5.0), SR).shape == ()


def test_gain_from_db_is_libm_pow_for_floats_and_arrays():
    db = np.linspace(-130.0, 50.0, 36001)
    np.testing.assert_array_equal(gain_from_db(db), np.array([10.0 ** (v / 20.0) for v in db]))
    assert gain_from_db(-6.0) == 10.0 ** (-6.0 / 20.0) and isinstance(gain_from_db(-6.0), float)


#: Values that make each processor act; compressor times at which numpy's exp is not libm's at 48 kHz
#: (3 ms, 250 ms), so a path through np.exp would show in the float64 gain state.
PARAMS = {
    "compressor": dict(threshold_db=-30.0, ratio=5.0, attack_ms=3.0, release_ms=250.0, knee_db=6.0, makeup_db=2.0,
                       mix=0.8, auto_makeup=1.0),
    "gate": dict(threshold_db=-20.0, range_db=60.0, attack_ms=3.0, hold_ms=4.0, release_ms=250.0),
    "deesser": dict(freq_hz=5000.0, threshold_db=-35.0, ratio=6.0),
    "limiter": dict(ceiling_dbtp=-6.0, release_ms=250.0),
    "gain": dict(gain_db=-29.997),  # np.power(10, x / 20) is not libm's pow here
    "width": dict(width=1.6, bass_mono_hz=150.0),
    "delay": dict(time_ms=7.0, feedback=0.6, mix=0.5, lowpass_hz=4000.0, ping_pong=1.0),
    "reverb": dict(decay_s=0.8, damping=0.3, mix=0.5, predelay_ms=3.0),
    "convolution": dict(mix=0.7, gain_db=-29.997),
}


def sample_accurate() -> list[str]:
    """Every sample-accurate processor but the EQ (its per-band lanes are not parameters of PARAMS)."""
    return sorted(k for k, cls in TYPES.items() if cls.SAMPLE_ACCURATE and k != "eq")


def test_every_sample_accurate_processor_is_covered():
    assert set(sample_accurate()) == set(PARAMS)


def held_lanes(proc, n: int) -> dict[str, np.ndarray]:
    """Every automatable numeric parameter of ``proc`` held at its current value for n samples."""
    return {p.name: np.full(n, float(proc.get_param(p.name))) for p in proc.PARAMS
            if p.automatable and p.choices is None and isinstance(proc.get_param(p.name), (int, float))
            and not isinstance(proc.get_param(p.name), bool)}


@pytest.fixture(scope="module")
def ir_path(tmp_path_factory):
    ir = noise(1500, 2, seed=4, level=0.5) * np.exp(-np.arange(1500) / 200.0).astype(np.float32)
    return str(write(tmp_path_factory.mktemp("ir") / "ir.wav", ir))


@pytest.mark.parametrize("kind", sample_accurate())
@pytest.mark.parametrize("fs", [44100, 48000])
def test_automation_holding_a_constant_is_no_automation(kind, fs, ir_path):
    """process_automated with every parameter held at its value == process, bit for bit, in the output
    and in the state a processor exposes (the compressor's float64 gain reduction)."""
    n = 6000
    x = noise(n, 2, seed=12, level=0.9)
    x[:, 2500:4000] *= 0.01  # quiet stretch: gates close, compressors and de-essers release
    params = dict(PARAMS[kind], **({"ir": ir_path} if kind == "convolution" else {}))
    results = []
    for automate in (False, True):
        proc = TYPES[kind](**params)
        proc.prepare(ProcessSpec(float(fs), 1000, 2))
        proc.reset()
        y = x.copy()
        for a in range(0, n, 1000):
            blk = np.ascontiguousarray(y[:, a:a + 1000])
            if automate:
                proc.process_automated(blk, held_lanes(proc, blk.shape[1]))
            else:
                proc.process(blk)
            y[:, a:a + 1000] = blk
        results.append((y, getattr(proc, "gain_reduction_db", None)))
    (fixed, gr_fixed), (auto, gr_auto) = results
    assert np.abs(fixed - x).max() > 1e-3  # the processor acts
    np.testing.assert_array_equal(auto, fixed)
    assert gr_auto == gr_fixed  # exact (None == None where there is none)


def test_session_lanes_holding_constants_render_as_no_lanes(tmp_path):
    """Through the engine: lanes that hold a compressor's, gate's and de-esser's values render the bytes
    of the session without them."""
    write(tmp_path / "v.wav", noise(SR // 4, 2, seed=13, level=0.8))
    chain = [{"type": "gate", "id": "g", **PARAMS["gate"]}, {"type": "deesser", "id": "s", **PARAMS["deesser"]},
             {"type": "compressor", "id": "c", **PARAMS["compressor"]}]
    held = [{"target": f"v.{pid}.{name}", "points": [[0.0, value], [0.2, value]]}
            for pid, kind in (("g", "gate"), ("s", "deesser"), ("c", "compressor"))
            for name, value in PARAMS[kind].items()]

    def render(automation):
        s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, automation=automation,
                    tracks=[{"name": "v", "source": "v.wav", "chain": chain}])
        return np.concatenate(list(s.stream(512)), axis=1)

    np.testing.assert_array_equal(render(held), render([]))


@pytest.mark.parametrize("fs", [44100, 48000])
def test_eq_bands_held_by_automation_give_the_constant_coefficients(fs):
    """EQ band lanes holding every band's values == no automation, bit for bit: the band design takes
    10^(gain_db/40) from libm (coeffs.gain_from_db) for one value and for arrays alike (numpy's array
    power differs from libm in the last bit for about 5 % of gains; these three are among them)."""
    from mixcore.processors.eq import EQ

    bands = [{"kind": "peak", "freq_hz": 900.0, "q": 1.3, "gain_db": 0.651},
             {"kind": "lowshelf", "freq_hz": 120.0, "q": 0.7, "gain_db": 0.66},
             {"kind": "highshelf", "freq_hz": 7000.0, "q": 0.7, "gain_db": -47.97}]
    x = noise(4000, 2, seed=21, level=0.9)
    out, coeffs = [], []
    for automate in (False, True):
        eq = EQ(bands=bands)
        eq.prepare(ProcessSpec(float(fs), 1000, 2))
        y = x.copy()
        for a in range(0, 4000, 1000):
            blk = np.ascontiguousarray(y[:, a:a + 1000])
            if automate:
                eq.process_automated(blk, {f"bands[{i}].{k}": np.full(1000, float(b[k]))
                                           for i, b in enumerate(bands) for k in ("freq_hz", "q", "gain_db")})
            else:
                eq.process(blk)
            y[:, a:a + 1000] = blk
        out.append(y)
        coeffs.append(eq._coeffs.copy())  # after a run: its last sample's coefficients (float64)
    assert np.abs(out[0] - x).max() > 1e-3
    np.testing.assert_array_equal(out[1], out[0])
    assert coeffs[1].tobytes() == coeffs[0].tobytes()  # the designs agree to the last bit

