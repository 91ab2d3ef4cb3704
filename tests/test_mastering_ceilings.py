"""``mixcore master`` holds ceilings other than the default -1 dBTP: ``--ceiling-dbtp``, the ``cd`` preset
(-0.3 dBTP) and a chain file whose trailing limiter is replaced by master's own at the requested ceiling.

The true peak is measured here independently of mixcore: 8x oversampling with scipy's polyphase resampler
(a Kaiser-windowed FIR), max abs in dB. Its error on programme material is well below 0.05 dB (ITU-R
BS.1770's 4x measure under-reads by up to ~0.7 dB only for tones near Nyquist; at 8x the worst case for
this material is a few hundredths of a dB), so a result is "under the ceiling" when it reads at most
ceiling + 0.05 dB. Each case is loud enough that the limiter works, so the peak also sits close to the
ceiling (within 0.5 dB): a limiter left at -1 dBTP, or at the chain file's own ceiling, fails."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.signal as ss
from helpers import cli, read, write
from test_mastering import program

MARGIN = 0.05  # the independent 8x measure's tolerance (dB)


def true_peak_8x(x: np.ndarray) -> float:
    up = ss.resample_poly(x.astype(np.float64), 8, 1, axis=1)
    return 20 * np.log10(np.abs(up).max())


def master(tmp_path, *args):
    r = cli("master", "mix.wav", "-o", "m.wav", "--json", *args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), read(tmp_path / "m.wav")


def assert_at_ceiling(y, doc, ceiling):
    tp = true_peak_8x(y)
    assert tp <= ceiling + MARGIN
    assert tp > ceiling - 0.5  # the limiter works up to this ceiling, not another one
    assert doc["ceiling_dbtp"] == ceiling
    assert doc["true_peak_dbtp"] == pytest.approx(tp, abs=0.1)


@pytest.fixture
def mix(tmp_path):
    write(tmp_path / "mix.wav", program(5.0, -14.0))
    return tmp_path


@pytest.mark.parametrize("ceiling", [-0.3, -3.0])
def test_ceiling_dbtp_option(mix, ceiling):
    doc, y = master(mix, "--ceiling-dbtp", str(ceiling), "--target-lufs", "-9", "--chain", "none")
    assert_at_ceiling(y, doc, ceiling)
    assert doc["limiter_gr_db"] > 1.0


def test_cd_preset_is_minus_9_lufs_under_minus_0_3_dbtp(mix):
    doc, y = master(mix, "--preset", "cd")
    assert doc["target_lufs"] == -9.0
    assert_at_ceiling(y, doc, -0.3)


def test_trailing_limiter_of_a_chain_file_is_replaced_at_the_requested_ceiling(mix):
    (mix / "mine.toml").write_text(
        'chain = [ { type = "eq", bands = [ { kind = "lowshelf", freq_hz = 120.0, gain_db = 1.5 } ] },\n'
        '          { type = "limiter", ceiling_dbtp = -6.0, release_ms = 50.0 } ]\n')
    doc, y = master(mix, "--chain", "mine.toml", "--ceiling-dbtp", "-2", "--target-lufs", "-10")
    assert [p["type"] for p in doc["chain"]] == ["eq"]
    assert_at_ceiling(y, doc, -2.0)
    # with the preset's ceiling (cd, -0.3) and the same chain file
    doc, y = master(mix, "--chain", "mine.toml", "--preset", "cd")
    assert_at_ceiling(y, doc, -0.3)
