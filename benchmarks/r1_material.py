"""Deterministic program material for the reference session R1 (../shared/R1.md).

16 stereo tracks, 48 kHz, float32, seeded: band-limited noise bursts with
attack/decay envelopes, harmonic tones (note sequences, 1/k^p series, optional
vibrato) and transient clicks, mixed per role; each track normalised to a
-3 dBFS sample peak. ``python benchmarks/r1_material.py DIR [--seconds 60]``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.signal as ss
import soundfile as sf

SR = 48000
ROLES = ["kick", "snare", "hats", "perc", "bass", "chords", "pad", "pluck",
         "vocal", "guitar", "arp", "sweep", "mixed", "mixed", "mixed", "mixed"]
# role: (noise band (lo, hi) or None, burst rate per s, burst decay s, tone root midi or None, harmonics power,
#        notes per s, vibrato, clicks per s)
RECIPES = {
    "kick": ((30, 150), 2.0, 0.15, 36, 2.0, 2.0, 0.0, 2.0),
    "snare": ((800, 8000), 1.0, 0.12, 50, 2.5, 1.0, 0.0, 1.0),
    "hats": ((6000, 18000), 8.0, 0.03, None, 0, 0, 0.0, 0.0),
    "perc": ((1500, 6000), 4.0, 0.05, None, 0, 0, 0.0, 4.0),
    "bass": (None, 0, 0, 33, 1.2, 4.0, 0.0, 0.0),
    "chords": ((200, 2000), 0.5, 1.0, 57, 1.6, 0.5, 0.0, 0.0),
    "pad": ((300, 3000), 0.25, 2.0, 60, 2.0, 0.25, 0.2, 0.0),
    "pluck": (None, 0, 0, 64, 1.0, 4.0, 0.0, 2.0),
    "vocal": ((1000, 4000), 1.0, 0.3, 62, 1.3, 2.0, 0.5, 0.0),
    "guitar": ((500, 5000), 2.0, 0.2, 52, 1.1, 2.0, 0.1, 1.0),
    "arp": (None, 0, 0, 69, 1.5, 8.0, 0.0, 0.0),
    "sweep": ((100, 12000), 0.1, 3.0, None, 0, 0, 0.0, 0.0),
    "mixed": ((200, 10000), 2.0, 0.2, 48, 1.5, 2.0, 0.2, 1.0),
}


def track(index: int, seconds: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed * 1000 + index)
    n = int(seconds * SR)
    role = ROLES[index]
    band, burst_rate, burst_decay, root, power, note_rate, vibrato, click_rate = RECIPES[role]
    out = np.zeros((2, n))
    t = np.arange(n) / SR
    if band is not None:
        sos = ss.butter(2, [band[0], min(band[1], 0.45 * SR)], btype="bandpass", fs=SR, output="sos")
        noise = ss.sosfilt(sos, rng.standard_normal((2, n)), axis=1)
        env = np.zeros(n)
        starts = np.sort(rng.uniform(0, seconds, int(burst_rate * seconds) + 1))
        m = int(burst_decay * 6 * SR)
        shape = np.exp(-np.arange(m) / (burst_decay * SR)) * np.minimum(np.arange(m) / (0.002 * SR), 1)
        for s0 in (starts * SR).astype(int):
            e = min(n, s0 + m)
            env[s0:e] = np.maximum(env[s0:e], shape[: e - s0])
        out += noise * env
    if root is not None:
        notes = root + rng.choice([0, 3, 5, 7, 10, 12], size=int(note_rate * seconds) + 1)
        idx = np.minimum((t * note_rate).astype(int), len(notes) - 1)
        freq = 440.0 * 2 ** ((notes[idx] - 69) / 12) * (1 + vibrato * 0.01 * np.sin(2 * np.pi * 5.5 * t))
        phase = 2 * np.pi * np.cumsum(freq) / SR
        tone = sum(np.sin(k * phase) / k ** power for k in range(1, 9))
        local = (t * note_rate) % 1.0
        tone *= np.exp(-local / max(0.2, 0.5 / note_rate))
        out += np.stack([tone, np.roll(tone, 7)]) * 0.5
    if click_rate:
        for s0 in (np.sort(rng.uniform(0, seconds, int(click_rate * seconds))) * SR).astype(int):
            out[:, s0:s0 + 24] += rng.uniform(0.5, 1.0) * np.linspace(1, 0, min(24, n - s0))
    if role == "sweep":
        out *= (0.5 + 0.5 * np.sin(2 * np.pi * t / 8.0))
    peak = np.max(np.abs(out)) or 1.0
    return (out * (10 ** (-3 / 20) / peak)).astype(np.float32)


def write_material(folder: Path, seconds: float) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(16):
        p = folder / f"t{i:02d}_{ROLES[i]}.wav"
        if not p.exists() or sf.info(str(p)).frames != int(seconds * SR):
            sf.write(str(p), track(i, seconds).T, SR, subtype="FLOAT")
        paths.append(p)
    return paths


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--seconds", type=float, default=60.0)
    a = ap.parse_args()
    for p in write_material(a.folder, a.seconds):
        print(p)
