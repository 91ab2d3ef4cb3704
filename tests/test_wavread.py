"""Plain WAV sources read directly (render/wavread.py): every sample bit for bit what
``soundfile.read(dtype="float32")`` gives, read with preadv; anything unusual still goes
through soundfile."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import mixcore
from mixcore.render.sources import CHUNK, SMALL_CHUNK, SourceReader

RNG = np.random.default_rng(17)


def read_all(path: Path, keep_open: bool = True, block: int = 5000) -> tuple[np.ndarray, SourceReader]:
    """Every frame of ``path`` through a SourceReader, (frames, channels) float32."""
    r = SourceReader(path, sf.info(str(path)).samplerate)
    if not keep_open:  # what plan_readers does with very many sources
        r.keep_open = False
        r.chunk_frames = SMALL_CHUNK
    r.open()
    try:
        out = []
        for _ in range(0, r.frames, block):
            b = np.full((r.channels, block), np.nan, dtype=np.float32)
            r.read_into(b)
            out.append(b)
        return np.concatenate(out, axis=1)[:, :r.frames].T, r
    finally:
        r.close()


def same_bits(path: Path, direct: bool = True) -> None:
    """The reader's samples are soundfile's, bit for bit, a reader that keeps its file open and one that opens it per chunk; ``direct``: not via soundfile."""
    want = sf.read(str(path), dtype="float32", always_2d=True)[0]
    for keep_open in (True, False):
        got, r = read_all(path, keep_open)
        assert (r._wav is not None) == direct, path
        assert got.shape == want.shape
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), (path, keep_open)


def write(path: Path, data: np.ndarray, subtype: str, fmt: str = "WAV") -> Path:
    sf.write(str(path), data, 48000, subtype=subtype, format=fmt)
    return path


@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
def test_every_int16_value(tmp_path, fmt):
    every = np.arange(-32768, 32768, dtype=np.int16)
    same_bits(write(tmp_path / "mono.wav", every, "PCM_16", fmt))
    same_bits(write(tmp_path / "stereo.wav", np.stack([every, every[::-1]], axis=1), "PCM_16", fmt))


def int24_values() -> np.ndarray:
    extremes = np.array([-(1 << 23), -(1 << 23) + 1, -2, -1, 0, 1, 2, (1 << 23) - 2, (1 << 23) - 1])
    return np.concatenate([extremes, RNG.integers(-(1 << 23), 1 << 23, 200000)]).astype(np.int32)


@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
@pytest.mark.parametrize("channels", [1, 2])
def test_int24_values(tmp_path, fmt, channels):
    x = int24_values()
    x = x[: x.size // channels * channels].reshape(-1, channels)
    path = write(tmp_path / "a.wav", x << 8, "PCM_24", fmt)  # soundfile writes an int32's top 24 bits
    assert np.array_equal(sf.read(str(path), dtype="int32")[0].reshape(x.shape) >> 8, x)  # the file holds x
    same_bits(path)


def int32_values() -> np.ndarray:
    lo, hi = -(1 << 31), (1 << 31) - 1
    edges = [lo, lo + 1, lo + 64, lo + 127, lo + 128, lo + 129, -1, 0, 1, hi - 129, hi - 128, hi - 127, hi - 64,
             hi - 63, hi]
    for e in range(24, 31):  # around the powers of two where a float32 step changes: ties to even
        p = 1 << e
        edges += [p + d for d in range(-3, 4)] + [p + (1 << (e - 23)) * k + h for k in (1, 2, 3)
                                                 for h in (-1, 0, 1, 1 << (e - 24))]
        edges += [-v for v in edges[-12:]]
    r = RNG.integers(lo, hi, 200000, endpoint=True)
    return np.concatenate([np.array(edges, dtype=np.int64), r]).astype(np.int32)


@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
@pytest.mark.parametrize("channels", [1, 2])
def test_int32_values(tmp_path, fmt, channels):
    x = int32_values()
    x = x[: x.size // channels * channels].reshape(-1, channels)
    same_bits(write(tmp_path / "a.wav", x, "PCM_32", fmt))


def float64_values() -> np.ndarray:
    f32 = np.finfo(np.float32)
    special = [0.0, -0.0, 1.0, -1.0, float(f32.max), -float(f32.max), float(f32.tiny), float(f32.smallest_subnormal),
               float(f32.smallest_subnormal) / 2, float(f32.smallest_subnormal) * 0.75, 1e-45, 1e-300, -1e-300,
               1.0 + 2.0 ** -24, 1.0 + 3 * 2.0 ** -24, 1.0 + 2.0 ** -24 + 2.0 ** -52, 0.1, 1 / 3]
    r = RNG.standard_normal(100000) * np.exp(RNG.uniform(-80, 80, 100000))
    r = r[np.abs(r) < f32.max]  # larger ones become Inf: refused (test below)
    ties = (RNG.standard_normal(20000).astype(np.float32).astype(np.float64)
            + np.ldexp(1.0, np.frexp(RNG.standard_normal(20000))[1] - 25))  # halfway between two float32
    return np.concatenate([special, r, ties])


@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
def test_float64_values(tmp_path, fmt):
    x = float64_values()
    x = x[: x.size // 2 * 2].reshape(-1, 2)
    same_bits(write(tmp_path / "a.wav", x, "DOUBLE", fmt))


@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
def test_float32_values(tmp_path, fmt):
    bits = np.concatenate([RNG.integers(0, 1 << 32, 100000, dtype=np.uint64).astype(np.uint32),
                           np.array([0, 1 << 31, 1, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF], np.uint32)])
    x = bits.view(np.float32)
    x = x[np.isfinite(x)]
    x = x[: x.size // 2 * 2].reshape(-1, 2)
    path = write(tmp_path / "a.wav", x, "FLOAT", fmt)
    same_bits(path)
    assert np.array_equal(read_all(path)[0].view(np.uint32), x.view(np.uint32))


def test_a_double_too_large_for_float32_is_refused_as_inf(tmp_path):
    x = np.zeros((48000, 2))
    x[24000, 1] = -1e300
    write(tmp_path / "a.wav", x, "DOUBLE")
    with pytest.raises(mixcore.MixcoreError, match=r"-Inf at 0:00.500 \(frame 24000, channel 2\)"):
        read_all(tmp_path / "a.wav")


def float_wav_with_fmt_18(path: Path, x: np.ndarray) -> Path:
    """A float32 WAV whose fmt chunk is 18 bytes (cbSize 0): its data starts at byte 46, 2 mod 4."""
    ch = x.shape[1]
    fmt = struct.pack("<HHIIHHH", 3, ch, 48000, 48000 * 4 * ch, 4 * ch, 32, 0)
    data = x.astype("<f4").tobytes()
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def test_float32_at_an_unaligned_offset(tmp_path):
    x = RNG.standard_normal((70000, 2)).astype(np.float32)
    path = float_wav_with_fmt_18(tmp_path / "a.wav", x)
    assert path.read_bytes()[38:42] == b"data"  # samples from byte 46
    same_bits(path)
    assert np.array_equal(read_all(path)[0], x)


def with_data_size(path: Path, size: int) -> Path:
    """The data chunk's size field set to ``size`` (0 or 0xFFFFFFFF: a stream's placeholder)."""
    raw = bytearray(path.read_bytes())
    at = raw.index(b"data") + 4
    raw[at:at + 4] = struct.pack("<I", size)
    path.write_bytes(bytes(raw))
    return path


def test_unusual_files_still_go_through_soundfile(tmp_path):
    x = RNG.standard_normal((3000, 2)) * 0.3
    same_bits(write(tmp_path / "a.flac", x, "PCM_16", "FLAC"), direct=False)
    same_bits(write(tmp_path / "a.aiff", x, "FLOAT", "AIFF"), direct=False)
    same_bits(write(tmp_path / "u8.wav", x, "PCM_U8"), direct=False)
    same_bits(write(tmp_path / "rf64.wav", x, "FLOAT", "RF64"), direct=False)
    rifx = write(tmp_path / "rifx.wav", x, "PCM_16")
    sf.write(str(rifx), x, 48000, subtype="PCM_16", endian="BIG")
    assert rifx.read_bytes()[:4] == b"RIFX"
    same_bits(rifx, direct=False)
    stream = with_data_size(write(tmp_path / "stream.wav", x, "FLOAT"), 0xFFFFFFFF)  # read to the file's end
    same_bits(stream, direct=False)


def test_a_truncated_wav_is_read_by_soundfile_as_before(tmp_path):
    path = write(tmp_path / "a.wav", RNG.standard_normal((96000, 1)) * 0.3, "PCM_16")
    path.write_bytes(path.read_bytes()[:44 + 48000 * 2])
    same_bits(path, direct=False)


SHRINK = """
import sys
from pathlib import Path
import numpy as np
from mixcore.render.sources import SourceReader
r = SourceReader(Path(sys.argv[1]), 48000)
r.open()
b = np.zeros((2, 1000), dtype=np.float32)
if sys.argv[2] == "before":
    with open(sys.argv[1], "r+b") as f:
        f.truncate(100000)  # cut short after the reader was made, before its first read
r.read_into(b)
total = int(np.count_nonzero(b[0]))
if sys.argv[2] == "while":
    with open(sys.argv[1], "r+b") as f:
        f.truncate(100000)  # the file cut short while it is read (another program rewriting it)
for _ in range(300):
    r.read_into(b)
    total += int(np.count_nonzero(b[0]))
r.close()
print("ok", total, r._wav.layout.offset)
"""


@pytest.mark.parametrize("when", ["before", "while"])
def test_a_file_cut_short_while_it_is_read_does_not_crash(tmp_path, when):
    x = (RNG.standard_normal((200000, 2)) * 0.3 + 2.0).astype(np.float32)  # no zeros
    path = write(tmp_path / "a.wav", x, "FLOAT")
    env = dict(os.environ, PYTHONPATH=str(Path(mixcore.__file__).resolve().parent.parent))
    r = subprocess.run([sys.executable, "-c", SHRINK, str(path), when], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, (r.returncode, r.stderr)  # not -7 (SIGBUS)
    ok, total, offset = r.stdout.split()
    if when == "before":
        assert total == str((100000 - int(offset)) // 8)  # what the file still holds, then zeros
    else:  # the chunk read before the cut (the reader's own copy), then what the file holds: nothing more
        assert total == str(CHUNK)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_reader_holds_one_descriptor_and_none_after_the_end(tmp_path):
    path = write(tmp_path / "a.wav", RNG.standard_normal((100000, 2)) * 0.3, "FLOAT")
    r = SourceReader(path, 48000)
    before = open_fds()
    r.open()
    assert open_fds() == before  # opened by the first read only
    b = np.zeros((2, 1000), dtype=np.float32)
    r.read_into(b)
    assert open_fds() == before + 1
    for _ in range(100):
        r.read_into(b)
    assert open_fds() == before
    r.close()
