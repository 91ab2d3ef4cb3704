"""Channel layouts up to 7.1.4 (SPEC section 5, "Layouts"): BS.1770-4's position rule (1.41 for
azimuth 60-120 degrees and elevation below 30, 1.0 otherwise, LFE left out), the WAV channel mask,
``--layout`` and ``--dual-mono``, true peak per channel. Checked against the formula on synthetic
files: a tone in one channel, everything else silent."""
from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
import soundfile as sf

import mixcore
from helpers import cli

SR = 48000
SIDE_DB = 10 * math.log10(1.41)   # +1.49 dB


def tone_in(channel: int, channels: int, seconds: float = 1.0, level_db: float = -20.0) -> np.ndarray:
    x = np.zeros((channels, int(seconds * SR)), np.float32)
    x[channel] = 10 ** (level_db / 20) * np.sin(2 * np.pi * 1000 * np.arange(x.shape[1]) / SR)
    return x


def write_wavex(path, x: np.ndarray, mask: int) -> None:
    """A 32-bit float WAVE_FORMAT_EXTENSIBLE file with channel mask ``mask`` (libsndfile writes
    plain PCM headers without one)."""
    ch, n = x.shape
    data = np.ascontiguousarray(x.T, dtype="<f4").tobytes()
    guid_float = struct.pack("<IHH8s", 3, 0, 0x10, b"\x80\x00\x00\xaa\x00\x38\x9b\x71")
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, ch, SR, SR * ch * 4, ch * 4, 32, 22, 32, mask) + guid_float
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def lufs(x, **kw) -> float:
    return mixcore.analyze(x, SR, **kw).integrated_lufs


@pytest.mark.parametrize("channels, layout", [(8, "7.1"), (12, "7.1.4")])
def test_position_rule_on_7_1_and_7_1_4(channels, layout):
    names = mixcore.analyze(tone_in(0, channels), SR).layout
    assert names == list({"7.1": ("L", "R", "C", "LFE", "Lrs", "Rrs", "Lss", "Rss"),
                          "7.1.4": ("L", "R", "C", "LFE", "Lrs", "Rrs", "Lss", "Rss",
                                    "Ltf", "Rtf", "Ltr", "Rtr")}[layout])
    ref = lufs(tone_in(0, channels))
    for i, name in enumerate(names):
        got = lufs(tone_in(i, channels))
        if name == "LFE":
            assert got == -math.inf                                 # left out: a tone there is silence
        elif name in ("Lss", "Rss"):
            assert got == pytest.approx(ref + SIDE_DB, abs=0.01)    # side surrounds: +1.5 dB
        else:
            assert got == pytest.approx(ref, abs=0.01), name        # front, rear surrounds, heights
        assert lufs(tone_in(i, channels), layout=layout) == got


def test_wav_channel_mask_places_the_channels(tmp_path):
    # 6 channels whose mask says L R C LFE + top front left/right (0x500F), not 5.1's surrounds
    write_wavex(tmp_path / "heights.wav", tone_in(4, 6), 0x500F)
    write_wavex(tmp_path / "surround.wav", tone_in(4, 6), 0x60F)      # L R C LFE SL SR
    sf.write(tmp_path / "plain.wav", tone_in(4, 6).T, SR, subtype="FLOAT")   # no mask: 5.1 assumed
    sf.write(tmp_path / "front.wav", tone_in(0, 6).T, SR, subtype="FLOAT")
    front = mixcore.analyze(tmp_path / "front.wav").integrated_lufs
    h = mixcore.analyze(tmp_path / "heights.wav")
    assert h.layout == ["L", "R", "C", "LFE", "Ltf", "Rtf"]
    assert h.integrated_lufs == pytest.approx(front, abs=0.01)
    assert mixcore.analyze(tmp_path / "surround.wav").integrated_lufs == pytest.approx(front + SIDE_DB, abs=0.01)
    assert mixcore.analyze(tmp_path / "plain.wav").integrated_lufs == pytest.approx(front + SIDE_DB, abs=0.01)
    # --layout overrides the mask
    r = cli("analyze", "heights.wav", "--json", "--layout", "L,R,C,LFE,Ls,Rs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["layout"] == ["L", "R", "C", "LFE", "Ls", "Rs"]
    assert d["integrated_lufs"] == pytest.approx(front + SIDE_DB, abs=0.01)


def test_cli_layouts_dual_mono_and_errors(tmp_path):
    sf.write(tmp_path / "m.wav", tone_in(0, 1, level_db=-23.0).T, SR, subtype="FLOAT")
    sf.write(tmp_path / "s.wav", tone_in(0, 2).T, SR, subtype="FLOAT")
    sf.write(tmp_path / "seven.wav", tone_in(0, 7).T, SR, subtype="FLOAT")
    sf.write(tmp_path / "twelve.wav", tone_in(9, 12).T, SR, subtype="FLOAT")
    one = json.loads(cli("analyze", "m.wav", "--json", cwd=tmp_path).stdout)["integrated_lufs"]
    two = json.loads(cli("analyze", "m.wav", "--json", "--dual-mono", cwd=tmp_path).stdout)["integrated_lufs"]
    assert two - one == pytest.approx(10 * math.log10(2), abs=0.01)
    r = cli("analyze", "seven.wav", cwd=tmp_path)             # 7 channels: no layout to assume
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "seven.wav" in r.stderr and "--layout" in r.stderr
    r = cli("analyze", "seven.wav", "--json", "--layout", "L,R,C,LFE,Ls,Rs,Lrs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = cli("analyze", "s.wav", "--layout", "5.1", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "s.wav" in r.stderr and "6 channels" in r.stderr
    r = cli("analyze", "s.wav", "--layout", "L,Q", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--layout" in r.stderr
    r = cli("analyze", "s.wav", "--dual-mono", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "s.wav" in r.stderr
    # true peak covers every channel and the report names each one
    r = cli("analyze", "twelve.wav", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if "true peak per channel" in ln)
    assert "Rtf -20.0" in line and "L -inf" in line and line.count(",") == 11
    d = json.loads(cli("analyze", "twelve.wav", "--json", cwd=tmp_path).stdout)
    tp = d["true_peak_per_channel_dbtp"]
    assert len(tp) == 12 and tp[9] == pytest.approx(-20.0, abs=0.1) and tp[:9] == [None] * 9
