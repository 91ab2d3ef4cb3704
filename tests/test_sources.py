"""Source readers (render/sources.py): the file's samples, planar, after the offset's zeros, then
zeros; the same samples whatever blocks are asked for (resampled too)."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from mixcore.render.sources import CHUNK, SourceReader


def read_blocks(path, sizes, offset=0, sr=48000):
    r = SourceReader(path, sr)
    r.offset = offset
    r.open()
    try:
        out = []
        for n in sizes:
            b = np.full((r.channels, n), np.nan, dtype=np.float32)
            r.read_into(b)
            out.append(b)
        return np.concatenate(out, axis=1)
    finally:
        r.close()


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("offset", [0, 777])
def test_same_rate_is_the_file_after_the_offset(tmp_path, channels, offset):
    x = np.random.default_rng(3).standard_normal((CHUNK + 12345, channels)).astype(np.float32) * 0.1
    sf.write(tmp_path / "a.wav", x, 48000, subtype="FLOAT")
    sizes = [1, 5000, 3, CHUNK, 40000, 30000]
    got = read_blocks(tmp_path / "a.wav", sizes, offset)
    want = np.zeros((channels, sum(sizes)), dtype=np.float32)
    want[:, offset:offset + x.shape[0]] = x.T[:, :sum(sizes) - offset]
    assert np.array_equal(got, want)


def test_resampled_blocks_do_not_matter(tmp_path):
    x = np.random.default_rng(4).standard_normal((100000, 2)).astype(np.float32) * 0.1
    sf.write(tmp_path / "a.wav", x, 44100, subtype="FLOAT")
    a = read_blocks(tmp_path / "a.wav", [120000], 100)
    b = read_blocks(tmp_path / "a.wav", [7, 65536, 1, 54456], 100)
    assert np.array_equal(a, b)
    assert not np.any(a[:, :100]) and np.any(a[:, 100:200])
    assert not np.any(a[:, 100 + round(100000 * 48000 / 44100):])  # nominal length, then zeros
