"""The threaded render pipeline (render/engine.py): the same bytes for any thread count and block
size, sums in the plan's fixed order (checked against a numpy mix), taps, early stop, errors."""
from __future__ import annotations

import hashlib
import threading

import numpy as np
import pytest
from helpers import noise, read, write

from mixcore.errors import MixcoreError
from mixcore.params import Param
from mixcore.processors.base import Processor
from mixcore.processors.registry import register
from mixcore.session import Session

SR = 48000
N = 30000


@register
class FailAt(Processor):
    """For testing purposes: passes audio through, raises once it has seen ``at`` samples."""

    type_name = "test_fail_at"
    PARAMS = (Param("at", default=0, lo=0, hi=10**9, automatable=False),)

    def _prepare(self, spec):
        self._seen = 0

    def reset(self):
        self._seen = 0

    def process(self, block):
        self._seen += block.shape[1]
        if self._seen > int(self.at):
            raise MixcoreError(f"test_fail_at: failed after {int(self.at)} samples")


@pytest.fixture
def busy(tmp_path):
    """Buses three deep, post- and pre-fader sends, an automated send, a sidechain, fader, pan and
    processor automation, latent processors (PDC), a delay and a reverb with state across blocks."""
    write(tmp_path / "a.wav", noise(N, 1, seed=11, level=0.5))
    write(tmp_path / "b.wav", noise(N - 3000, 2, seed=12, level=0.4))
    write(tmp_path / "c.wav", noise(N, 2, seed=13, level=0.3))
    write(tmp_path / "d.wav", noise(N // 2, 2, seed=14, level=0.6))
    comp = {"type": "compressor", "id": "c", "threshold_db": -30.0, "ratio": 8.0, "attack_ms": 1.0}
    return Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.05, tracks=[
        {"name": "a", "source": "a.wav", "pan": 0.3, "output": "g1",
         "chain": [{"type": "test_latency", "samples": 37}],
         "sends": [{"to": "fx", "level_db": -6.0}, {"to": "pre", "level_db": -3.0, "pre_fader": True}]},
        {"name": "b", "source": "b.wav", "gain_db": -2.0, "pan": -0.2, "output": "g1",
         "chain": [{**comp, "sidechain": "d"}], "sends": [{"to": "fx", "level_db": -9.0}]},
        {"name": "c", "source": "c.wav", "output": "g2", "chain": [{"type": "eq", "bands": [
            {"kind": "peak", "freq_hz": 1000.0, "gain_db": 4.0, "q": 1.0}]}]},
        {"name": "d", "source": "d.wav", "chain": [{"type": "test_latency", "samples": 64}]},
    ], buses=[
        {"name": "g1", "output": "g2", "chain": [{"type": "test_latency", "samples": 5}, comp]},
        {"name": "g2", "pan": 0.1, "chain": [{"type": "delay", "time_ms": 3.0, "feedback": 0.4}]},
        {"name": "fx", "chain": [{"type": "reverb"}]},
        {"name": "pre", "output": "g1"},
    ], automation=[
        {"target": "b.gain_db", "points": [[0.0, -20.0], [0.3, 0.0]]},
        {"target": "g2.pan", "points": [[0.1, -1.0], [0.4, 1.0]]},
        {"target": "g1.c.threshold_db", "points": [[0.0, -40.0], [0.6, -10.0]]},
        {"target": "a.sends.fx.level_db", "points": [[0.0, -40.0], [0.5, 0.0]]},
    ])


def stream_bytes(session, block, threads):
    return np.concatenate(list(session.stream(block, threads=threads)), axis=1).tobytes()


def test_graph_is_deep_enough_to_pipeline(busy):
    plan, _lanes, _frames = busy.compile(777)
    # d keys b's compressor; b -> fx, b -> g1; a -> pre -> g1 -> g2 -> master
    assert plan.layers == [["a", "c", "d"], ["b", "pre"], ["fx", "g1"], ["g2"], ["master"]]
    assert plan.total_latency > 0


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("block", [64, 777, 4096, 16384])
def test_any_thread_count_and_block_size_give_the_same_bytes(busy, threads, block):
    ref = stream_bytes(busy, 4096, 1)
    assert len(ref) == 2 * (N + 2400) * 4
    assert stream_bytes(busy, block, threads) == ref


def f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32)


@pytest.mark.parametrize("threads", [2, 3])
def test_sums_follow_the_fixed_order_on_threads(tmp_path, threads):
    """master = ((d + fx) + g2), g2 = c + g1, g1 = a + b, fx = b (a send): the numpy mix in float32,
    summed in the plan's order (sources by layer), with every path aligned by PDC."""
    a, b, c, d = (noise(N, 2, seed=s, level=lv) for s, lv in ((1, 0.9), (2, 3e-3), (3, 0.2), (4, 7e-4)))
    for name, x in zip("abcd", (a, b, c, d)):
        write(tmp_path / f"{name}.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[
        {"name": "a", "source": "a.wav", "output": "g1", "chain": [{"type": "test_latency", "samples": 100}]},
        {"name": "b", "source": "b.wav", "output": "g1", "sends": [{"to": "fx", "level_db": 0.0}]},
        {"name": "c", "source": "c.wav", "output": "g2"},
        {"name": "d", "source": "d.wav"},
    ], buses=[{"name": "g1", "output": "g2", "chain": [{"type": "test_latency", "samples": 50}]},
              {"name": "g2"}, {"name": "fx", "chain": [{"type": "test_latency", "samples": 7}]}])
    y = np.concatenate(list(s.stream(777, threads=threads)), axis=1)
    g1 = f32(a + b)
    g2 = f32(c + g1)
    expect = f32(f32(d + b) + g2)
    np.testing.assert_array_equal(y, expect)
    assert not np.array_equal(expect, f32(d + f32(b + g2)))  # the order is visible in the bits


def test_stems_on_threads_are_the_blocks_of_their_own_time(busy, tmp_path):
    """Taps read every node's output of the block handed out while the workers run ahead."""
    one, two = tmp_path / "one", tmp_path / "two"
    busy.render(tmp_path / "one.wav", stems=one, block_size=777, threads=1)
    busy.render(tmp_path / "two.wav", stems=two, block_size=777, threads=2, meter_nodes=["g1", "fx"])
    for name in ("a", "b", "c", "d"):
        x, y = read(one / f"{name}.wav"), read(two / f"{name}.wav")
        assert x.shape[1] == N + 2400 and np.abs(x).max() > 0.01
        np.testing.assert_array_equal(x, y)
    digest = [hashlib.sha256((tmp_path / f"{k}.wav").read_bytes()).hexdigest() for k in ("one", "two")]
    assert digest[0] == digest[1]


def new_threads(before: set) -> set:
    """Threads alive now that were not before: the ones this test's engine started (threads of earlier
    tests that end meanwhile, or the process's other threads, do not count)."""
    return {t for t in threading.enumerate() if t not in before and t.is_alive()}


def test_stopping_a_stream_early_leaves_no_thread_running(busy):
    before = set(threading.enumerate())
    gen = busy.stream(256, threads=3)
    first = next(gen)
    assert first.shape[0] == 2 and 0 < first.shape[1] <= 256
    started = new_threads(before)
    assert started  # the engine's workers are running
    gen.close()
    assert not any(t.is_alive() for t in started)
    assert new_threads(before) == set()


@pytest.mark.parametrize("threads", [1, 2])
def test_an_error_in_a_node_is_raised_and_the_workers_stop(tmp_path, threads):
    write(tmp_path / "a.wav", noise(N, 2, seed=1))
    write(tmp_path / "b.wav", noise(N, 2, seed=2))
    s = Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.0, tracks=[
        {"name": "a", "source": "a.wav", "output": "g"},
        {"name": "b", "source": "b.wav", "chain": [{"type": "test_fail_at", "at": 10000}]},
    ], buses=[{"name": "g"}])
    before = set(threading.enumerate())
    with pytest.raises(MixcoreError, match="test_fail_at: failed after 10000 samples"):
        list(s.stream(512, threads=threads))
    assert new_threads(before) == set()
