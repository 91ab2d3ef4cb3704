"""The engine's prepared native operations (pyx/mix_ops.pxi, eqbank_ops.pxi, compressor_ops.pxi): the
same bits as the list-taking kernels they replace on the hot path, on flat buffers whose (channels, n)
front is the block, for any slot and any n up to the capacity; bad arguments are refused."""
from __future__ import annotations

import numpy as np
import pytest

from mixcore.processors.compressor import Compressor
from mixcore.processors.eq import EQ
from mixcore.processors.base import ProcessSpec
from mixcore.simd import kernel

mix = kernel("mix")
B = 700


def flat(rng, ch, scale=0.5):
    return (rng.standard_normal(ch * B) * scale).astype(np.float32)


def front(a, ch, n):
    return a[: ch * n].reshape(ch, n)


@pytest.mark.parametrize("n", [1, 63, 512, B])
def test_sum_op_adds_as_sum_into(n):
    rng = np.random.default_rng(n)
    chans = [2, 1, 2, 1, 2]
    srcs = [[flat(rng, c) for c in chans] for _slot in range(2)]
    dsts = [np.zeros(2 * B, np.float32) for _slot in range(2)]
    gains = np.array([1.0, 0.5, 0.25118864315095796, 1.0, 2.0])
    op = mix.SumOp(dsts, 2, srcs, chans, gains)
    for slot in (1, 0):
        assert op.run(slot, n)
        ref = np.zeros((2, n), np.float32)
        assert mix.sum_into(ref, [front(a, c, n) for a, c in zip(srcs[slot], chans)], gains)
        assert front(dsts[slot], 2, n).tobytes() == ref.tobytes()
    srcs[0][3][5] = np.inf
    assert op.run(0, n) == (n <= 5)  # the Inf is at frame 5 of the mono source: inside the block when n > 5
    with pytest.raises(ValueError):
        op.run(2, n)
    with pytest.raises(ValueError):
        op.run(0, B + 1)


@pytest.mark.parametrize("n", [1, 100, B])
def test_gains_op_is_apply_gains_and_names_the_first_bad_member(n):
    rng = np.random.default_rng(7 + n)
    chans = [2, 1, 2]
    works = [[flat(rng, c) for c in chans]]
    outs = [[np.zeros(2 * B, np.float32) for _ in chans]]
    works[0][2][:] = 0.5
    gl, gr = np.array([0.7, 0.5, 1e39]), np.array([0.9, 0.5, 1.0])
    op = mix.GainsOp(works, outs, chans, gl, gr)
    bad = op.run(0, n)
    for i, c in enumerate(chans):
        ref = np.zeros((2, n), np.float32)
        ok = mix.apply_gains(front(works[0][i], c, n), ref, gl[i], gr[i])
        assert front(outs[0][i], 2, n).tobytes() == ref.tobytes()
        if not ok:
            assert bad == i
            break
    else:
        assert bad == -1
    assert bad == 2  # 1e39 times 0.5: beyond the float range
    works[0][1][0] = np.nan
    assert op.run(0, n) == 1


def test_bank_ops_filter_and_compress_as_the_banks():
    rng = np.random.default_rng(3)
    spec = ProcessSpec(48000.0, B, 2)
    eqs = [EQ(bands=[{"kind": "highpass", "freq_hz": 40.0 + 10 * i, "q": 0.7071},
                     {"kind": "peak", "freq_hz": 2500.0, "gain_db": 2.0 + i, "q": 0.7}]) for i in range(5)]
    comps = [Compressor(threshold_db=-30.0 + i, ratio=4.0, attack_ms=1.0 + i) for i in range(5)]
    twins_eq = [EQ(bands=e.bands) for e in eqs]
    twins_c = [Compressor(threshold_db=c.threshold_db, ratio=4.0, attack_ms=c.attack_ms) for c in comps]
    for p in (*eqs, *comps, *twins_eq, *twins_c):
        p.prepare(spec)
    works = [[flat(rng, 2, 2.0) for _ in range(5)]]
    refs = [w.copy() for w in works[0]]
    eq_op = type(eqs[0]).bank_op(eqs, works, [2] * 5)
    comp_op = type(comps[0]).bank_op(comps, works, [2] * 5)
    for n in (300, B, 17):
        eq_op.run(0, n)
        comp_op.run(0, n)
        for i in range(5):
            ref = front(refs[i], 2, n)
            twins_eq[i].process(ref)
            twins_c[i].process(ref)
            assert front(works[0][i], 2, n).tobytes() == ref.tobytes()
            assert eqs[i]._pos == twins_eq[i]._pos
            assert np.array_equal(comps[i]._state, twins_c[i]._state)


def _reader(path, offset=0, chunk=None):
    from mixcore.render.sources import SourceReader

    r = SourceReader(path, 48000, where="tracks[0].source")
    if chunk:
        r.chunk_frames = chunk
    r.offset = offset
    r.open()
    return r


@pytest.mark.parametrize("n", [1, 256, 700])
def test_source_read_op_reads_as_read_into(tmp_path, n):
    from helpers import noise, write

    files = [write(tmp_path / f"s{i}.wav", noise(5000 + 333 * i, ch, seed=i)) for i, ch in enumerate((2, 1, 2))]
    offsets = (0, 100, 0)
    ops_readers = [_reader(p, o, 1000) for p, o in zip(files, offsets)]
    refs = [_reader(p, o, 1000) for p, o in zip(files, offsets)]
    chans = [2, 1, 2]
    works = [[np.zeros(c * B, np.float32) for c in chans]]
    op = mix.SourceReadOp(ops_readers, works, chans)
    for _block in range(7000 // n + 2):
        op.run(0, n)
        for i, c in enumerate(chans):
            ref = np.zeros((c, n), np.float32)
            refs[i].read_into(ref)
            assert front(works[0][i], c, n).tobytes() == ref.tobytes()


def test_source_read_op_names_a_nan_in_a_source(tmp_path):
    from helpers import noise, write

    from mixcore.errors import MixcoreError

    x = noise(4000, 2, seed=1)
    x[1, 2500] = np.nan
    path = write(tmp_path / "bad.wav", x)
    op = mix.SourceReadOp([_reader(path, 0, 1000)], [[np.zeros(2 * B, np.float32)]], [2])
    with pytest.raises(MixcoreError, match=r"bad.wav: NaN at .*frame 2500, channel 2"):
        for _block in range(10):
            op.run(0, 512)
