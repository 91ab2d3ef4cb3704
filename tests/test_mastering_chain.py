"""The chain of ``mixcore master`` (mixcore/mastering/chain.py): default, none, presets, width, limiter cap."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.signal as ss
from helpers import cli, read, write
from test_mastering import program

import mixcore
from mixcore.errors import MixcoreError
from mixcore.mastering import master_file
from mixcore.mastering.chain import default_chain, load_chain

SR = 48000


def master_json(tmp_path, *args):
    r = cli("master", "mix.wav", "-o", "m.wav", "--json", *args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_default_chain_is_a_25_hz_high_pass_and_gentle_glue_set_from_the_input(tmp_path):
    write(tmp_path / "mix.wav", program(8.0, -10.0))
    doc = master_json(tmp_path)
    assert [p["type"] for p in doc["chain"]] == ["eq", "compressor"]
    comp = doc["chain"][1]["params"]
    assert comp["ratio"] == 1.5 and comp["detector"] == "rms"
    assert comp["threshold_db"] == pytest.approx(doc["input_lufs"] + 3.0, abs=1e-3)
    assert doc["reached"] and doc["output_lufs"] == pytest.approx(-14.0, abs=0.1)
    # the high-pass against scipy's 4th-order Butterworth at 25 Hz (24 dB/oct)
    eq = default_chain(-20.0)[0]
    impulse = np.zeros((1, 8 * SR), np.float32)
    impulse[0, 0] = 1.0
    h = eq(impulse, SR)[0].astype(np.float64)
    f = np.array([12.5, 25.0, 50.0, 100.0])
    got = 20 * np.log10(np.abs(np.fft.rfft(h))[np.round(f * len(h) / SR).astype(int)])
    b, a = ss.butter(4, 25.0, "highpass", fs=SR)
    want = 20 * np.log10(np.abs(ss.freqz(b, a, worN=f, fs=SR)[1]))
    np.testing.assert_allclose(got, want, atol=0.05)


def test_chain_none_is_gain_and_limiter_only(tmp_path):
    x = program(6.0, -20.0)
    write(tmp_path / "mix.wav", x)
    doc = master_json(tmp_path, "--chain", "none", "--target-lufs", "-30")
    assert doc["chain"] == [] and doc["limiter_gr_db"] == 0.0
    y = read(tmp_path / "m.wav")
    # no limiting at -30 LUFS: the output is the input times one gain (a linear, flat chain)
    g = np.dot(y.ravel(), x.ravel()) / np.dot(x.ravel(), x.ravel())
    assert 20 * np.log10(g) == pytest.approx(doc["gain_db"], abs=1e-3)
    assert np.abs(y - g * x).max() < 1e-5


def test_a_shipped_or_own_preset_as_the_chain_and_width(tmp_path):
    write(tmp_path / "mix.wav", program(6.0, -12.0))
    doc = master_json(tmp_path, "--chain", "master")
    assert [p["type"] for p in doc["chain"]] == ["eq", "compressor"]  # the preset's own limiter is master's
    (tmp_path / "mine.toml").write_text('chain = [ { type = "gain", gain_db = -3.0 }, '
                                        '{ type = "eq", bands = [ { kind = "peak", freq_hz = 3000.0, '
                                        'gain_db = 2.0, q = 1.0 } ] } ]\n')
    doc = master_json(tmp_path, "--chain", "mine.toml", "--width", "1.4", "--preset", "apple")
    assert [p["type"] for p in doc["chain"]] == ["gain", "eq", "width"]
    assert doc["chain"][2]["params"]["width"] == 1.4
    assert mixcore.analyze(tmp_path / "m.wav").integrated_lufs == pytest.approx(-16.0, abs=0.1)
    # every shipped preset loads as its own chain: the same processors with the file's parameters, in
    # order, and only a limiter at its end dropped (master's own limiter replaces it)
    import tomllib

    from mixcore.session.presets import shipped

    assert {"vocal", "master", "drum-bus", "mix-bus"} <= set(shipped())
    for name, path in shipped().items():
        entries = tomllib.loads(path.read_text())["chain"]
        if entries[-1]["type"] == "limiter":
            entries = entries[:-1]
        procs = load_chain(name)
        assert [type(p).type_name for p in procs] == [e["type"] for e in entries], name
        for proc, entry in zip(procs, entries):
            for key, value in entry.items():
                if key not in ("type", "id"):
                    got = proc.get_param(key)
                    if key == "bands":  # validated bands carry their defaults (q, gain_db) too
                        got = [{k: b[k] for k in want} for b, want in zip(got, value)]
                    assert got == value, f"{name}: {entry['type']}.{key}"


@pytest.mark.parametrize("args, message", [
    (("--chain", "mastr"), "--chain: 'mastr' is not a chain (did you mean 'master'?)"),
    (("--chain", "nope.toml"), "--chain: file not found"),
    (("--width", "3"), "--width: 3 is out of range, expected 0 .. 2"),
    (("--max-limiting-db", "50"), "--max-limiting-db: 50.0 is out of range"),
])
def test_chain_errors_are_one_line_and_leave_no_file(tmp_path, args, message):
    write(tmp_path / "mix.wav", program(3.0, -12.0))
    r = cli("master", "mix.wav", "-o", "m.wav", *args, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "m.wav").exists()


def test_bad_preset_file_contents(tmp_path):
    (tmp_path / "empty.toml").write_text('description = "no chain"\n')
    with pytest.raises(MixcoreError, match=r"--chain: .*empty.toml has no chain"):
        load_chain(str(tmp_path / "empty.toml"))


def test_limiter_load_is_capped_and_reported(tmp_path):
    write(tmp_path / "mix.wav", program(6.0, -0.5))
    r = master_file(tmp_path / "mix.wav", tmp_path / "m.wav", target_lufs=-6.0, ceiling_dbtp=-1.0)
    assert not r.reached and r.limiter_gr_db <= 15.05
    assert "capped at 15 dB" in r.note or "no longer follows the gain" in r.note
    u = ss.resample_poly(read(tmp_path / "m.wav").astype(np.float64), 8, 1, axis=1)[:, 4000:-4000]
    assert 20 * np.log10(np.abs(u).max()) <= -1.0
    r = master_file(tmp_path / "mix.wav", tmp_path / "m.wav", target_lufs=-9.0, ceiling_dbtp=-1.0,
                    max_limiting_db=3.0, chain="none")
    assert not r.reached and r.limiter_gr_db <= 3.05 and "capped at 3 dB" in r.note
