"""Convolution reverb against scipy's FFT convolution."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
from helpers import noise, write

import mixcore
from mixcore.errors import MixcoreError
from mixcore.session import Session


@pytest.mark.parametrize("ir_channels", [1, 2])
def test_matches_fftconvolve_and_is_block_independent(tmp_path, ir_channels):
    rng = np.random.default_rng(4)
    ir = (rng.standard_normal((ir_channels, 5000)) * np.exp(-np.arange(5000) / 800)).astype(np.float32)
    write(tmp_path / "ir.wav", ir)
    x = noise(20000, 2, seed=5)
    conv = mixcore.Convolution(ir=str(tmp_path / "ir.wav"))
    y = conv(x, 48000)
    ref = np.stack([ss.fftconvolve(x[c].astype(np.float64), ir[min(c, ir_channels - 1)].astype(np.float64))[:20000]
                    for c in range(2)])
    np.testing.assert_allclose(y, ref, atol=2e-5)
    for block in (17, 4096):
        np.testing.assert_array_equal(mixcore.Convolution(ir=str(tmp_path / "ir.wav"))(x, 48000, block_size=block), y)


def test_in_a_session_with_pdc_and_tail(tmp_path):
    ir = np.zeros((1, 2400), np.float32)
    ir[0, 0] = 1.0
    ir[0, 2399] = 0.5
    write(tmp_path / "room.wav", ir)
    x = noise(4800, 2, seed=6)
    write(tmp_path / "a.wav", x)
    s = Session(base_dir=tmp_path, sample_rate=48000, tracks=[
        {"name": "a", "source": "a.wav", "chain": [{"type": "convolution", "ir": "room.wav"}]}])
    y = np.concatenate(list(s.stream(512)), axis=1)
    assert y.shape[1] == 4800 + 2400  # the IR's length is the tail
    np.testing.assert_allclose(y[:, :4800], x + np.pad(x, ((0, 0), (2399, 0)))[:, :4800] * 0.5, atol=1e-6)
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.ir: file not found"):
        list(Session(base_dir=tmp_path, sample_rate=48000, tracks=[
            {"name": "a", "source": "a.wav", "chain": [{"type": "convolution", "ir": "nope.wav"}]}]).stream(512))


def test_a_file_parameter_is_known_by_its_declaration_not_its_class_name(tmp_path):
    """The session builder resolves every parameter declared IS_FILE against the session's folder,
    whatever its class is called (it used to look for the class name 'PathParam')."""
    from mixcore.params import PathParam
    from mixcore.processors.base import Processor
    from mixcore.processors.registry import register
    from mixcore.session.build import build_processor

    class SampleFile(PathParam):
        pass

    @register
    class Sampler(Processor):
        type_name = "test_file_param"
        PARAMS = (SampleFile("sample", default=None, automatable=False),)

    (tmp_path / "hit.wav").write_bytes(b"")
    proc = build_processor({"type": "test_file_param", "sample": "hit.wav"}, "tracks[0].chain[0]", tmp_path)
    assert proc.sample == str(tmp_path / "hit.wav")
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.sample"):
        build_processor({"type": "test_file_param", "sample": "missing.wav"}, "tracks[0].chain[0]", tmp_path)
