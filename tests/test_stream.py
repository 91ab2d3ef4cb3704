"""render/stream.py: the one streaming loop behind render, stream, play, master and the processor call."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from helpers import AddLatency  # noqa: F401 (registers test_latency)

from mixcore.errors import MixcoreError
from mixcore.render.stream import ArraySink, ChainSource, MeterSink, Stream
from mixcore.render.writer import AtomicWriter
from mixcore.session import Session

SR = 48000


def _session(tmp_path, n=6000):
    rng = np.random.default_rng(3)
    for name in ("a", "b"):
        sf.write(tmp_path / f"{name}.wav", (rng.standard_normal((n, 2)) * 0.1).astype(np.float32), SR,
                 subtype="FLOAT")
    s = Session(sample_rate=SR, base_dir=tmp_path)
    s.add_track("a", "a.wav", chain=[{"type": "test_latency", "samples": 700}])
    s.add_track("b", "b.wav", gain_db=-3.0)
    return s


class Closed:
    def __init__(self):
        self.blocks, self.closed = [], False

    def write(self, block):
        self.blocks.append(block.copy())

    def close(self):
        self.closed = True


def test_every_signal_is_trimmed_to_the_length_aligned(tmp_path):
    # the master is late by 700 samples, track b by none: both arrive aligned, 6000 frames each
    s = _session(tmp_path)
    master, b = Closed(), Closed()
    stream = Stream(s.engine_source(512), [("master", master), ("b", b)]).run()
    assert master.closed and b.closed
    assert stream.source.length == 6000 and stream.source.plan.total_latency == 700
    m, y = np.concatenate(master.blocks, axis=1), np.concatenate(b.blocks, axis=1)
    assert m.shape == y.shape == (2, 6000)
    x = sf.read(tmp_path / "b.wav", dtype="float32")[0].T
    g = np.float32(10 ** (-3 / 20))
    assert np.allclose(y, x * g, atol=1e-6)
    out = s.render(tmp_path / "mix.wav", block_size=512, meter=False)
    assert np.array_equal(sf.read(out.path, dtype="float32")[0].T, m)


def test_progress_counts_output_frames_up_to_the_length(tmp_path):
    s = _session(tmp_path)
    seen = []
    Stream(s.engine_source(1000), progress=lambda d, t: seen.append((d, t))).run()
    assert seen[-1] == (6000, 6000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_writer_sink_is_discarded_when_the_source_fails(tmp_path):
    # the loop enters the writer and leaves it with the error: the old file stays, no temporary is left
    target = tmp_path / "out.wav"
    target.write_bytes(b"old")

    def read(block):
        raise MixcoreError("input: broken")

    writer = AtomicWriter(target, SR, 2)
    with pytest.raises(MixcoreError, match="input: broken"):
        Stream(ChainSource(read, 100, 2, SR, 64), [("out", writer)]).run()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_a_writer_opens_before_the_source(tmp_path):
    # the sinks are open before the session compiles, so a missing source never leaves a staged file
    order = []

    class W(Closed):
        def __enter__(self):
            order.append("writer")
            return self

        def __exit__(self, *exc):
            order.append("writer closed")

    def open_source():
        order.append("source")
        raise MixcoreError("tracks[0].source: missing")

    with pytest.raises(MixcoreError):
        Stream(open_source, [("master", W())]).run()
    assert order == ["writer", "source", "writer closed"]


def test_chain_source_trims_a_processor_latency():
    from mixcore.processors.registry import processor_types

    x = np.random.default_rng(0).standard_normal((2, 1000)).astype(np.float32)
    pos = [0]

    def read(blk):
        k = min(blk.shape[1], max(1000 - pos[0], 0))
        blk[:, :k] = x[:, pos[0]:pos[0] + k]
        blk[:, k:] = 0.0
        pos[0] += blk.shape[1]

    out = ArraySink(2, 1000)
    meter_blocks = Closed()
    Stream(ChainSource(read, 1000, 2, SR, 96, processor_types()["test_latency"](samples=130)),
           [("out", out), ("out", meter_blocks)]).run()
    assert np.array_equal(out.out, x)
    assert sum(b.shape[1] for b in meter_blocks.blocks) == 1000


def test_meter_sink_meters_the_stream(tmp_path):
    from mixcore.metering import LoudnessMeter

    s = _session(tmp_path, n=48000)
    meter = LoudnessMeter(SR, 2)
    Stream(s.engine_source(4096), [("master", MeterSink(meter))]).run()
    r = s.render(tmp_path / "mix.wav", block_size=512)
    assert meter.result().integrated_lufs == r.loudness.integrated_lufs


def test_session_has_no_side_channel(tmp_path):
    s = _session(tmp_path)
    s.render(tmp_path / "mix.wav")
    assert not hasattr(s, "_last")
