"""Deterministic synthesis of the demo's stems (numpy only, seeded).

A 120 bpm loop in A minor (Am - F - C - G), one bar every 2 s. Every function
returns float32 audio of shape (channels, n); all randomness comes from one
``numpy.random.Generator`` per stem, seeded by the stem's name, so the stems
are the same bytes on every run.
"""
from __future__ import annotations

import zlib

import numpy as np

SR = 48000
BPM = 120.0
BEAT = 60.0 / BPM
BAR = 4 * BEAT
PROGRESSION = [57, 53, 48, 55]  # A, F, C, G (MIDI roots)
MINOR = {57: (0, 3, 7), 53: (0, 4, 7), 48: (0, 4, 7), 55: (0, 4, 7)}


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def _band_noise(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """White noise band-limited to [lo, hi] Hz by an FFT mask."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SR)
    spec[(f < lo) | (f > hi)] = 0.0
    x = np.fft.irfft(spec, n)
    return x / (np.max(np.abs(x)) + 1e-12)


def _place(out: np.ndarray, hit: np.ndarray, start: int) -> None:
    end = min(out.shape[-1], start + hit.shape[-1])
    if start < end:
        out[..., start:end] += hit[..., : end - start]


def _env(n: int, attack_s: float, decay_s: float) -> np.ndarray:
    t = np.arange(n) / SR
    a = np.minimum(t / max(attack_s, 1e-4), 1.0)
    return a * np.exp(-t / decay_s)


def _normalise(x: np.ndarray, peak_db: float = -6.0) -> np.ndarray:
    x = np.atleast_2d(x)
    return (x * (10 ** (peak_db / 20) / (np.max(np.abs(x)) + 1e-12))).astype(np.float32)


def _beats(seconds: float, step: float) -> np.ndarray:
    return np.arange(0.0, seconds - 1e-9, step)


def kick(seconds: float) -> np.ndarray:
    n = int(seconds * SR)
    out = np.zeros(n)
    m = int(0.45 * SR)
    t = np.arange(m) / SR
    freq = 45.0 + 95.0 * np.exp(-t / 0.035)
    hit = np.sin(2 * np.pi * np.cumsum(freq) / SR) * np.exp(-t / 0.16)
    hit[:48] += np.linspace(0.6, 0.0, 48)  # beater click
    for b in _beats(seconds, BEAT):
        _place(out, hit, int(b * SR))
    return _normalise(out)


def snare(seconds: float) -> np.ndarray:
    rng = _rng("snare")
    n = int(seconds * SR)
    out = np.zeros(n)
    m = int(0.3 * SR)
    t = np.arange(m) / SR
    body = np.sin(2 * np.pi * 185.0 * t) * np.exp(-t / 0.05)
    noise = _band_noise(rng, m, 1500.0, 9000.0) * np.exp(-t / 0.09)
    hit = 0.6 * body + noise
    for b in _beats(seconds, 2 * BEAT):
        _place(out, hit, int((b + BEAT) * SR))
    return _normalise(out)


def hats(seconds: float) -> np.ndarray:
    rng = _rng("hats")
    n = int(seconds * SR)
    out = np.zeros(n)
    m = int(0.08 * SR)
    base = _band_noise(rng, m, 7000.0, 16000.0)
    for i, b in enumerate(_beats(seconds, BEAT / 2)):
        accent = 1.0 if i % 2 else 0.55
        _place(out, accent * base * _env(m, 0.0005, 0.018 if i % 8 != 7 else 0.05), int(b * SR))
    return _normalise(out, -9.0)


def perc(seconds: float) -> np.ndarray:
    rng = _rng("perc")
    n = int(seconds * SR)
    out = np.zeros(n)
    m = int(0.05 * SR)
    shaker = _band_noise(rng, m, 4000.0, 11000.0)
    accents = rng.uniform(0.3, 1.0, size=len(_beats(seconds, BEAT / 4)))
    for a, b in zip(accents, _beats(seconds, BEAT / 4)):
        _place(out, a * shaker * _env(m, 0.004, 0.012), int(b * SR))
    return _normalise(out, -12.0)


def _tone(freq: float, n: int, harmonics: int, power: float, vibrato: float = 0.0) -> np.ndarray:
    t = np.arange(n) / SR
    phase = 2 * np.pi * freq * t
    if vibrato:
        phase += vibrato * np.sin(2 * np.pi * 5.5 * t) * np.minimum(t / 0.3, 1.0)
    return sum(np.sin(k * phase) / k ** power for k in range(1, harmonics + 1))


def bass(seconds: float) -> np.ndarray:
    n = int(seconds * SR)
    out = np.zeros(n)
    m = int(BEAT / 2 * SR)
    for i, b in enumerate(_beats(seconds, BEAT / 2)):
        root = PROGRESSION[int(b // BAR) % 4] - 24
        note = root + (12 if i % 4 == 3 else 0)
        _place(out, _tone(hz(note), m, 8, 1.2) * _env(m, 0.003, 0.2), int(b * SR))
    return _normalise(out)


def chords(seconds: float) -> np.ndarray:
    n = int(seconds * SR)
    out = np.zeros((2, n))
    m = int(BAR * SR)
    for b in _beats(seconds, BAR):
        root = PROGRESSION[int(b // BAR) % 4]
        for side, detune in ((0, -4.0), (1, 4.0)):
            v = sum(_tone(hz(root + iv) * 2 ** (detune / 1200), m, 6, 1.6) for iv in MINOR[root])
            _place(out[side], v * _env(m, 0.02, 1.4), int(b * SR))
    return _normalise(out)


def pad(seconds: float) -> np.ndarray:
    rng = _rng("pad")
    n = int(seconds * SR)
    out = np.zeros((2, n))
    m = int(BAR * SR)
    t = np.arange(m) / SR
    swell = np.sin(np.pi * t / BAR) ** 2
    for b in _beats(seconds, BAR):
        root = PROGRESSION[int(b // BAR) % 4]
        for side in (0, 1):
            v = sum(_tone(hz(root + 12 + iv) * 2 ** (rng.uniform(-8, 8) / 1200), m, 3, 2.0) for iv in MINOR[root])
            _place(out[side], v * swell, int(b * SR))
    return _normalise(out, -9.0)


def lead(seconds: float) -> np.ndarray:
    rng = _rng("lead")
    n = int(seconds * SR)
    out = np.zeros(n)
    scale = [0, 2, 3, 5, 7, 8, 10, 12]
    m = int(BEAT * SR)
    for b in _beats(seconds, BEAT):
        if int(b // BAR) % 2 == 0 and b < 8.0:
            continue  # the lead enters after four bars
        note = 69 + scale[int(rng.integers(0, len(scale)))]
        _place(out, _tone(hz(note), m, 5, 1.4, vibrato=0.4) * _env(m, 0.01, 0.35), int(b * SR))
    return _normalise(out)


STEMS = {
    "kick": kick, "snare": snare, "hats": hats, "perc": perc,
    "bass": bass, "chords": chords, "pad": pad, "lead": lead,
}
