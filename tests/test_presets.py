"""Chain presets: shipped and session-local, chain and single-processor, with key-path errors."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import cli, noise, write

from mixcore.errors import MixcoreError
from mixcore.session import Session
from mixcore.session.presets import shipped


def stream(tmp_path, chain, **kw):
    write(tmp_path / "a.wav", noise(4800, 2, seed=1))
    s = Session(base_dir=tmp_path, sample_rate=48000, tail_s=0.0, tracks=[{"name": "a", "source": "a.wav", "chain": chain}], **kw)
    return np.concatenate(list(s.stream(512)), axis=1)


@pytest.mark.parametrize("name", sorted(shipped()))
def test_every_shipped_preset_builds_and_renders(tmp_path, name):
    y = stream(tmp_path, [{"preset": name}])
    assert np.all(np.isfinite(y))
    r = cli("presets", name)
    assert r.returncode == 0 and "description" in r.stdout


def test_chain_preset_equals_its_expansion(tmp_path):
    import tomllib

    chain = tomllib.loads(shipped()["vocal"].read_text())["chain"]
    np.testing.assert_array_equal(stream(tmp_path, [{"preset": "vocal"}]), stream(tmp_path, chain))


def test_processor_settings_preset_with_overrides(tmp_path):
    (tmp_path / "gentle.toml").write_text("threshold_db = -30.0\nratio = 2.0\n")
    a = stream(tmp_path, [{"type": "compressor", "preset": "gentle.toml", "ratio": 6.0}])
    b = stream(tmp_path, [{"type": "compressor", "threshold_db": -30.0, "ratio": 6.0}])
    np.testing.assert_array_equal(a, b)


def test_preset_errors(tmp_path):
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.preset: no shipped preset named 'vocl' "
                                           r"\(did you mean 'vocal'\?\)"):
        stream(tmp_path, [{"preset": "vocl"}])
    (tmp_path / "bad.toml").write_text('chain = [ { type = "compressor", ratio = 0.1 } ]\n')
    with pytest.raises(MixcoreError, match=r"tracks\[0\]\.chain\[0\]\.preset\(bad\)\[0\]\.ratio: 0\.1 is out of range"):
        stream(tmp_path, [{"preset": "bad.toml"}])
    with pytest.raises(MixcoreError, match=r"preset: file not found"):
        stream(tmp_path, [{"preset": "missing.toml"}])
