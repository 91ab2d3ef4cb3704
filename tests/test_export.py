"""Master export: bit depths, TPDF and noise-shaped dither, sample-rate conversion, file formats."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
import soundfile as sf
from helpers import cli, read, write

from mixcore.errors import MixcoreError
from mixcore.mastering import master_file
from mixcore.render.writer import AtomicWriter, Ditherer
from test_mastering_match import program

SR = 48000


def quantisation_error(dither: str, blocks: list[int], seconds: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """(error in LSB, the int16 output) of a quiet 440 Hz sine quantised to 16 bits."""
    n = int(seconds * SR)
    x = (0.01 * np.sin(2 * np.pi * 440.0 * np.arange(n) / SR)).astype(np.float32)[None, :].repeat(2, axis=0)
    d = Ditherer(16, 2, seed=3, dither=dither)
    outs, i, k = [], 0, 0
    while i < n:
        b = blocks[k % len(blocks)]
        outs.append(d.quantise(x[:, i:i + b]))
        i += b
        k += 1
    q = np.concatenate(outs)
    return q[:, 0].astype(np.float64) - x[0].astype(np.float64) * 32768.0, q


def test_noise_shaped_dither_moves_the_noise_out_of_1_to_4_khz():
    e_flat, _ = quantisation_error("tpdf", [4096])
    e_shaped, _ = quantisation_error("shaped", [4096])
    f, p_flat = ss.welch(e_flat, SR, nperseg=4096)
    _, p_shaped = ss.welch(e_shaped, SR, nperseg=4096)
    mid = (f >= 1000) & (f <= 4000)
    gain_mid = 10 * np.log10(p_shaped[mid].mean() / p_flat[mid].mean())
    assert gain_mid < -10.0  # at least 10 dB less noise where the ear is most sensitive
    top = f >= 20000
    assert 10 * np.log10(p_shaped[top].mean() / p_flat[top].mean()) > 9.0  # it went to the top octave
    # the shape is the noise transfer function |1 - e^-jw|^4 = 16 sin^4(w / 2) (within 1.5 dB)
    for fc in (2000.0, 6000.0, 12000.0):
        band = (f >= fc / 1.1) & (f <= fc * 1.1)
        got = 10 * np.log10(p_shaped[band].mean() / p_flat[band].mean())
        want = 10 * np.log10(np.mean(16 * np.sin(np.pi * f[band] / SR) ** 4))
        assert got == pytest.approx(want, abs=1.5)
    assert np.abs(e_shaped).max() < 20  # bounded: the loop is stable


def test_shaped_dither_does_not_depend_on_block_size():
    _, a = quantisation_error("shaped", [4096], seconds=1.0)
    _, b = quantisation_error("shaped", [1, 17, 509, 1000], seconds=1.0)
    assert np.array_equal(a, b)


def test_shaped_dither_24_bit_and_writer(tmp_path):
    x = program(1.0, -6.0)
    with AtomicWriter(tmp_path / "s.wav", SR, 2, 24, seed=1, dither="shaped") as w:
        w.write(x)
    y = read(tmp_path / "s.wav")
    assert sf.info(str(tmp_path / "s.wav")).subtype == "PCM_24"
    assert np.abs(y - x).max() < 40 / 2 ** 23  # a few LSB of shaped noise, no more
    with pytest.raises(MixcoreError, match="unknown kind 'pink'"):
        Ditherer(16, 2, 0, "pink")


@pytest.mark.parametrize("rate_in, rate_out", [(44100, 48000), (48000, 44100)])
def test_sample_rate_conversion_keeps_the_ceiling(tmp_path, rate_in, rate_out):
    x = program(4.0, -0.5)
    x = ss.resample_poly(x, rate_in // 300, 160, axis=1).astype(np.float32) if rate_in != SR else x
    write(tmp_path / "in.wav", x, rate_in)
    r = master_file(tmp_path / "in.wav", tmp_path / "out.flac", target_lufs=-11.0, ceiling_dbtp=-1.0,
                    sample_rate=rate_out, bit_depth=24)
    assert r.reached and r.limiter_gr_db > 1.0  # the limiter works hard: overs would show
    y, sr = sf.read(str(tmp_path / "out.flac"), always_2d=True)
    assert sr == rate_out and sf.info(str(tmp_path / "out.flac")).format == "FLAC"
    assert abs(len(y) - round(x.shape[1] * rate_out / rate_in)) <= 1
    u = ss.resample_poly(y.T, 8, 1, axis=1)[:, 4000:-4000]  # independent 8x oversampled true peak
    assert 20 * np.log10(np.abs(u).max()) <= -1.0


@pytest.mark.parametrize("name, depth, fmt, subtype", [
    ("m.wav", "16", "WAV", "PCM_16"), ("m.aiff", "24", "AIFF", "PCM_24"), ("m.flac", "16", "FLAC", "PCM_16"),
    ("m.wav", "32f", "WAV", "FLOAT"), ("m.aiff", "32f", "AIFF", "FLOAT"),
])
def test_formats_and_bit_depths_from_the_cli(tmp_path, name, depth, fmt, subtype):
    write(tmp_path / "mix.wav", program(3.0, -12.0))
    r = cli("master", "mix.wav", "-o", name, "--bit-depth", depth, "--dither", "shaped", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    info = sf.info(str(tmp_path / name))
    assert (info.format, info.subtype) == (fmt, subtype)


def test_export_errors_are_one_line(tmp_path):
    write(tmp_path / "mix.wav", program(2.0, -12.0))
    for args, msg in ((["-o", "m.flac", "--bit-depth", "32f"], "FLAC holds no float samples"),
                      (["-o", "m.mp3"], "unknown format '.mp3'"),
                      (["-o", "m.wav", "--sample-rate", "500"], "--sample-rate: 500 is out of range")):
        r = cli("master", "mix.wav", *args, cwd=tmp_path)
        assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mix.wav"]
