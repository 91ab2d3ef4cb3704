"""A compressor keyed from a bus (``sidechain = "<bus>"``, README: "from any track or bus"): the session's
result equals the same compression computed here with the key rendered independently (the bus alone,
rendered by its own session) through the Python API's ``Compressor.process_with_key``."""
from __future__ import annotations

import numpy as np
from helpers import noise, read, write

import mixcore
from mixcore.processors.base import ProcessSpec

SR = 48000
N = SR // 2
COMP = dict(threshold_db=-32.0, ratio=6.0, attack_ms=2.0, release_ms=60.0, knee_db=3.0)

DRUMS = """
sample_rate = 48000
tail_s = 0.0

[[tracks]]
name = "k1"
source = "k1.wav"
output = "kit"

[[tracks]]
name = "k2"
source = "k2.wav"
gain_db = -3.0
output = "kit"

[[buses]]
name = "kit"
output = "drums"
chain = [ { type = "eq", bands = [ { kind = "lowpass", freq_hz = 3000.0 } ] } ]

[[buses]]
name = "drums"
gain_db = -5.0
"""

BASS = """
[[tracks]]
name = "bass"
source = "bass.wav"

[[tracks.chain]]
type = "compressor"
threshold_db = -32.0
ratio = 6.0
attack_ms = 2.0
release_ms = 60.0
knee_db = 3.0
sidechain = "drums"
"""


def bursts(seed: int) -> np.ndarray:
    """Noise in bursts, so the key opens and closes the compressor."""
    x = noise(N, 2, seed=seed, level=0.8)
    env = (np.arange(N) // 3000 % 3 == 0).astype(np.float32)
    return np.ascontiguousarray(x * env)


def test_compressor_keyed_from_a_bus_matches_the_key_rendered_alone(tmp_path):
    write(tmp_path / "k1.wav", bursts(1))
    write(tmp_path / "k2.wav", np.roll(bursts(2), 4500, axis=1))
    bass = noise(N, 2, seed=3, level=0.3)
    write(tmp_path / "bass.wav", bass)
    (tmp_path / "drums.toml").write_text(DRUMS)
    (tmp_path / "both.toml").write_text(DRUMS + BASS)
    mixcore.Session.load(tmp_path / "drums.toml").render(tmp_path / "drums.wav")
    mixcore.Session.load(tmp_path / "both.toml").render(tmp_path / "both.wav")
    key = read(tmp_path / "drums.wav")  # the "drums" bus's output (post-fader), alone
    both = read(tmp_path / "both.wav")

    c = mixcore.Compressor(**COMP)
    c.prepare(ProcessSpec(SR, N, 2))
    c.reset()
    expect = bass.copy()
    c.process_with_key(expect, key)
    assert np.abs(expect - bass).max() > 0.05  # the key really compresses

    got = both - key  # master = drums + compressed bass
    np.testing.assert_allclose(got, expect, rtol=0, atol=2e-7)
    # and keyed from the bus, not its input "kit" nor the bass itself
    for wrong_key in (read(tmp_path / "drums.wav") * 10 ** (5 / 20), bass):
        w = mixcore.Compressor(**COMP)
        w.prepare(ProcessSpec(SR, N, 2))
        w.reset()
        other = bass.copy()
        w.process_with_key(other, np.ascontiguousarray(wrong_key, dtype=np.float32))
        assert np.abs(other - got).max() > 1e-3
