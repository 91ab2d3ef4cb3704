"""Deterministic program material for the reference session R1 (``/work/shared/R1.md``).

16 stereo tracks, 48 kHz, float32, each normalised to a -3 dBFS sample peak, built from three
kinds of sound placed on a 120 bpm grid in A minor (Am - F - C - G, one bar every 2 s):

* band-limited noise bursts: white noise through a 2nd-order Butterworth band-pass
  (``scipy.signal.butter(..., output="sos")``), shaped by an attack/decay envelope;
* harmonic tones: note sequences with a ``sum_k sin(k phi) / k**p`` harmonic series
  (one tabulated period read at the running phase), optional vibrato and pitch envelopes;
* transient clicks: a short decaying noise kernel placed at onsets.

Roles (R1.md): 0 kick, 1 snare, 2 hats, 3 perc, 4 bass, 5 chords, 6 pad, 7 pluck, 8 vocal-like,
9 guitar-like, 10 arp, 11 fx sweep, 12..15 mixed (three generators each, drawn by the seed).

Everything is vectorised: an envelope that retriggers at every onset is built from
``np.maximum.accumulate`` over onset markers (the age of the latest onset at every sample),
so no Python loop runs per note or per sample. Randomness comes from one
``numpy.random.Generator`` per track, seeded by ``(seed, track index, VERSION)``; the same
arguments give the same samples on every run (``material.json`` records their SHA-256). Crest
factors land between about 11 and 25 dB, so the -20 dB track compressors of R1 act on every track.

    python benchmarks/r1_material.py DIR [--seconds 60] [--seed 1]
"""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import scipy.signal as ss
import soundfile as sf

SR = 48000
#: Bump when the synthesis changes: cached stems with another version are rebuilt.
VERSION = 2
PEAK_DBFS = -3.0
BPM = 120.0
BEAT = 60.0 / BPM
BAR = 4 * BEAT
#: Chords of the loop, one per bar (MIDI notes of the triad in the 4th octave).
CHORDS = ((57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62))
ROLES = ("kick", "snare", "hats", "perc", "bass", "chords", "pad", "pluck",
         "vocal", "guitar", "arp", "sweep", "mixed", "mixed", "mixed", "mixed")


@dataclass
class Ctx:
    """What every generator needs: the length in samples and this track's random generator."""

    n: int
    rng: np.random.Generator

    @property
    def seconds(self) -> float:
        return self.n / SR

    @cached_property
    def lfo(self) -> np.ndarray:
        """5.5 Hz sine for vibrato."""
        return np.sin(2 * np.pi * 5.5 / SR * np.arange(self.n))


# -- building blocks ----------------------------------------------------------------------------

def hz(note: np.ndarray | float) -> np.ndarray | float:
    return 440.0 * 2.0 ** ((np.asarray(note) - 69.0) / 12.0)


def grid(ctx: Ctx, step_beats: float, prob: float = 1.0, offset_beats: float = 0.0) -> np.ndarray:
    """Onset sample indices every ``step_beats`` from ``offset_beats``, each kept with probability ``prob``."""
    times = np.arange(offset_beats * BEAT, ctx.seconds - 1e-9, step_beats * BEAT)
    keep = ctx.rng.random(times.size) < prob
    return np.round(times[keep] * SR).astype(np.int64)


def latest(n: int, onsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, age) per sample: index of the latest onset at or before it (-1: none yet) and its age in samples.

    ``onsets`` must be sorted and unique. Per-onset arrays indexed by ``k`` get one extra
    entry at the end, so that ``k = -1`` picks it (``silent`` below).
    """
    marks = np.zeros(n, np.int32)
    marks[onsets] = np.arange(1, onsets.size + 1, dtype=np.int32)
    k = np.maximum.accumulate(marks)
    k -= 1
    start = np.append(onsets, 0).astype(np.int32)[k]
    return k, np.arange(n, dtype=np.int32) - start


def silent(values: np.ndarray, pad: float = 0.0) -> np.ndarray:
    """Per-onset ``values`` plus a last entry ``pad``, picked by ``k = -1`` (before the first onset)."""
    return np.append(np.asarray(values, np.float64), pad)


def sort_onsets(onsets: np.ndarray, *per_onset: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Sorted unique onsets inside [0, n) and the matching entries of every per-onset array."""
    onsets = np.asarray(onsets, np.int64)
    inside = (onsets >= 0) & (onsets < n)
    onsets, idx = np.unique(onsets[inside], return_index=True)
    return (onsets, *(np.asarray(v)[inside][idx] for v in per_onset))


def shape(attack_s: float, decay_s: float, length: int) -> np.ndarray:
    """``min(a / attack, 1) * exp(-a / decay)`` for ages ``a`` of 0 .. length - 1 samples (float32)."""
    a = np.arange(length) / SR
    return (np.minimum(a / max(attack_s, 1e-4), 1.0) * np.exp(-a / decay_s)).astype(np.float32)


def envelope(n: int, onsets: np.ndarray, amps: np.ndarray, attack_s: float, decay_s: float,
             ka: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Retriggered attack/decay envelope: ``amp_k * min(age / attack, 1) * exp(-age / decay)`` (float32)."""
    if ka is None:
        onsets, amps = sort_onsets(onsets, amps, n=n)
        ka = latest(n, onsets)
    k, age = ka
    env = shape(attack_s, decay_s, int(age.max()) + 1)[age]
    env *= silent(amps).astype(np.float32)[k]
    return env


def band_noise(ctx: Ctx, lo: float, hi: float, channels: int = 2) -> np.ndarray:
    """White noise through a 2nd-order Butterworth band-pass [lo, hi] Hz, shape (channels, n)."""
    sos = ss.butter(2, [lo, min(hi, 0.45 * SR)], btype="bandpass", fs=SR, output="sos")
    x = ss.sosfilt(sos, ctx.rng.standard_normal((channels, ctx.n)), axis=1)
    return (x / np.sqrt(np.mean(x[:, : min(ctx.n, SR)] ** 2) + 1e-20)).astype(np.float32)


def harmonics(freq: np.ndarray, power: float, count: int, phase0: float = 0.0) -> np.ndarray:
    """``sum_{k=1..K} sin(k phi) / k**power`` with ``phi = phase0 + 2 pi cumsum(freq) / SR``.

    One period of the series is tabulated (``TABLE`` points) and read at the running phase with
    linear interpolation, so the cost does not grow with ``K``. ``K`` is limited so that
    ``K * max(freq)`` stays below 20 kHz (no aliasing).
    """
    count = max(1, min(count, int(20000.0 // max(float(np.max(freq)), 1.0))))
    table = _table(round(power, 6), count)
    cycles = np.cumsum(freq, dtype=np.float64)
    cycles *= 1.0 / SR
    cycles += phase0 / (2 * np.pi)
    cycles -= np.floor(cycles)
    cycles *= TABLE
    i = cycles.astype(np.int32)
    cycles -= i                                                   # fractional position
    lo = table[i]
    out = table[i + 1]
    out -= lo
    out *= cycles
    out += lo
    return out


TABLE = 8192


@cache
def _table(power: float, count: int) -> np.ndarray:
    phi = 2 * np.pi * np.arange(TABLE + 1) / TABLE
    k = np.arange(1, count + 1)[:, None]
    return (np.sin(k * phi) / k ** power).sum(axis=0).astype(np.float32)


def clicks(ctx: Ctx, onsets: np.ndarray, level: float, length: int = 32) -> np.ndarray:
    """A decaying noise kernel of ``length`` samples (peak about ``level``) at every onset, shape (2, n)."""
    kernel = ctx.rng.standard_normal((2, length)) * np.exp(-np.arange(length) / (length / 5))
    kernel *= level / np.max(np.abs(kernel))
    out = np.zeros((2, ctx.n), np.float32)
    idx = np.unique(onsets)[:, None] + np.arange(length)[None, :]
    ok = idx < ctx.n
    for c in range(2):
        np.add.at(out[c], idx[ok], np.broadcast_to(kernel[c], idx.shape)[ok])
    return out


def shift(x: np.ndarray, samples: int) -> np.ndarray:
    """Delay a 1-D signal by ``samples`` (zeros in front): a Haas offset for width."""
    return np.concatenate([np.zeros(samples), x[: x.size - samples]]) if samples else x


def stereo(x: np.ndarray, pan: float = 0.0, haas: int = 0) -> np.ndarray:
    """A mono voice placed in stereo (constant power, optional right-channel delay)."""
    th = (pan + 1) * np.pi / 4
    return np.stack([x * np.cos(th) * np.sqrt(2), shift(x, haas) * np.sin(th) * np.sqrt(2)])


def chord_at(onsets: np.ndarray) -> np.ndarray:
    """The chord (3 MIDI notes) playing at each onset, shape (len(onsets), 3)."""
    bar = (onsets / (BAR * SR)).astype(np.int64) % len(CHORDS)
    return np.asarray(CHORDS)[bar]


def note_track(ctx: Ctx, onsets: np.ndarray, notes: np.ndarray, amps: np.ndarray, *, attack_s: float,
               decay_s: float, power: float, count: int, vibrato: float = 0.0, detune_cents: float = 0.0
               ) -> np.ndarray:
    """A monophonic note sequence: each onset sets a pitch and retriggers the envelope, shape (n,)."""
    onsets, notes, amps = sort_onsets(onsets, notes, amps, n=ctx.n)
    k, age = latest(ctx.n, onsets)
    f = silent(hz(notes + detune_cents / 100.0), 100.0)[k]
    if vibrato:
        f *= 1.0 + vibrato * ctx.lfo
    x = harmonics(f, power, count, ctx.rng.uniform(0, 2 * np.pi))
    x *= envelope(ctx.n, onsets, amps, attack_s, decay_s, ka=(k, age))
    return x


# -- generators, one per role ------------------------------------------------------------------

def kick(ctx: Ctx) -> np.ndarray:
    on = np.concatenate([grid(ctx, 1.0), grid(ctx, 1.0, 0.2, offset_beats=0.5)])
    on, vel = sort_onsets(on, ctx.rng.uniform(0.75, 1.0, on.size), n=ctx.n)
    ka = latest(ctx.n, on)
    f = (48.0 + 110.0 * np.exp(-np.arange(ka[1].max() + 1) / (0.035 * SR)))[ka[1]]   # pitch drop 158 -> 48 Hz
    body = harmonics(f, 2.5, 3) * envelope(ctx.n, on, vel, 0.001, 0.22, ka=ka)
    thump = band_noise(ctx, 40.0, 250.0, 1)[0] * envelope(ctx.n, on, 0.15 * vel, 0.001, 0.04, ka=ka)
    x = body + thump
    return np.stack([x, x]) + clicks(ctx, on, 0.25)


def snare(ctx: Ctx) -> np.ndarray:
    back = grid(ctx, 2.0, 1.0, offset_beats=1.0)
    ghost = grid(ctx, 0.25, 0.08)
    on = np.concatenate([back, ghost])
    vel = np.concatenate([ctx.rng.uniform(0.85, 1.0, back.size), ctx.rng.uniform(0.12, 0.3, ghost.size)])
    noise = band_noise(ctx, 900.0, 9000.0) * envelope(ctx.n, on, vel, 0.0005, 0.16)
    body = note_track(ctx, on, np.full(on.size, 54.5), 0.5 * vel, attack_s=0.0005, decay_s=0.07, power=1.5, count=3)
    return noise + np.stack([body, body]) + clicks(ctx, on, 0.3)


def hats(ctx: Ctx) -> np.ndarray:
    on = grid(ctx, 0.25, 0.85)
    accent = (on % int(0.5 * BEAT * SR) == 0)
    vel = ctx.rng.uniform(0.3, 0.7, on.size) + 0.3 * accent
    closed = band_noise(ctx, 7000.0, 16000.0) * envelope(ctx.n, on, vel, 0.0005, 0.035)
    op = grid(ctx, 1.0, 0.15, offset_beats=0.5)
    opened = band_noise(ctx, 6000.0, 16000.0) * envelope(ctx.n, op, ctx.rng.uniform(0.4, 0.6, op.size), 0.001, 0.25)
    return closed + opened


def perc(ctx: Ctx) -> np.ndarray:
    on = grid(ctx, 0.25, 0.3)
    vel = ctx.rng.uniform(0.4, 1.0, on.size)
    pitch = ctx.rng.choice(np.array([79.0, 83.5, 87.5, 91.0]), on.size)   # ~400, 520, 650, 800 Hz
    tone = note_track(ctx, on, pitch, vel, attack_s=0.0005, decay_s=0.09, power=3.0, count=4)
    noise = band_noise(ctx, 1500.0, 6000.0) * envelope(ctx.n, on, 0.6 * vel, 0.0005, 0.04)
    return stereo(tone, ctx.rng.uniform(-0.3, 0.3), 12) + noise + clicks(ctx, on, 0.5)


def bass(ctx: Ctx) -> np.ndarray:
    on = grid(ctx, 0.5, 0.75)
    roots = chord_at(on)[:, 0] - 24
    notes = roots + ctx.rng.choice(np.array([0, 0, 0, 7, 12]), on.size)
    x = note_track(ctx, on, notes, ctx.rng.uniform(0.4, 1.0, on.size), attack_s=0.005, decay_s=0.2,
                   power=1.2, count=10)
    return np.stack([x, x])


def chords(ctx: Ctx) -> np.ndarray:
    on = np.concatenate([grid(ctx, 4.0, 1.0), grid(ctx, 4.0, 0.6, offset_beats=2.5)])
    tones = chord_at(on)
    vel = ctx.rng.uniform(0.6, 1.0, on.size)
    out = np.zeros((2, ctx.n))
    for v, pan in enumerate((-0.3, 0.0, 0.3)):
        out += stereo(note_track(ctx, on, tones[:, v], vel, attack_s=0.01, decay_s=1.2, power=1.6, count=8), pan)
    return out + 0.05 * band_noise(ctx, 200.0, 2000.0) * envelope(ctx.n, on, vel, 0.01, 1.0)


def pad(ctx: Ctx) -> np.ndarray:
    on = grid(ctx, 4.0, 1.0)
    tones = chord_at(on)
    out = np.zeros((2, ctx.n))
    for v in range(3):
        for c, cents in enumerate((-4.0, 4.0)):                          # detuned left/right: a wide pad
            out[c] += note_track(ctx, on, tones[:, v] - 12, np.ones(on.size), attack_s=0.4, decay_s=4.0,
                                 power=2.0, count=8, vibrato=0.004, detune_cents=cents)
    lfo = 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(ctx.n) / (4 * BAR * SR))
    return out + 0.2 * band_noise(ctx, 300.0, 3000.0) * lfo


def pluck(ctx: Ctx) -> np.ndarray:
    on = grid(ctx, 0.25, 0.5)
    notes = chord_at(on)[np.arange(on.size), ctx.rng.integers(0, 3, on.size)] + 12
    vel = ctx.rng.uniform(0.5, 1.0, on.size)
    x = note_track(ctx, on, notes, vel, attack_s=0.001, decay_s=0.18, power=1.0, count=8)
    return stereo(x, 0.1, 20) + clicks(ctx, on, 0.15)


def vocal(ctx: Ctx) -> np.ndarray:
    on = grid(ctx, 1.0, 0.7)
    on = on[(on // int(BAR * SR)) % 4 != 3]                               # phrases: 3 bars sung, 1 bar rest
    notes = chord_at(on)[np.arange(on.size), ctx.rng.integers(0, 3, on.size)] + ctx.rng.choice(np.array([0, 12]), on.size)
    x = note_track(ctx, on, notes, ctx.rng.uniform(0.6, 1.0, on.size), attack_s=0.04, decay_s=0.8,
                   power=1.0, count=12, vibrato=0.012)
    y = np.zeros_like(x)
    for fc, g in ((700.0, 1.0), (1200.0, 0.6), (2600.0, 0.3)):           # formants
        y += g * ss.sosfilt(ss.butter(1, [fc / 1.3, fc * 1.3], btype="bandpass", fs=SR, output="sos"), x)
    breath = band_noise(ctx, 2000.0, 8000.0) * envelope(ctx.n, on, 0.1 * np.ones(on.size), 0.01, 0.1)
    return np.stack([y, y]) + breath


def guitar(ctx: Ctx) -> np.ndarray:
    on = grid(ctx, 0.5, 0.6)
    tones = np.concatenate([chord_at(on), chord_at(on)[:, :1] + 12], axis=1)
    vel = ctx.rng.uniform(0.5, 1.0, on.size)
    out = np.zeros((2, ctx.n))
    for v in range(4):                                                    # strings strummed 8 ms apart
        o = on + int(v * 0.008 * SR)
        out += stereo(note_track(ctx, o, tones[:, v] - 12, vel, attack_s=0.002, decay_s=0.6, power=1.1, count=12),
                      -0.3 + 0.2 * v)
    return out + clicks(ctx, on, 0.2)


def arp(ctx: Ctx) -> np.ndarray:
    on = grid(ctx, 0.25, 1.0)
    step = np.arange(on.size) % 6
    notes = chord_at(on)[np.arange(on.size), step % 3] + 12 * (1 + step // 3)
    x = note_track(ctx, on, notes, ctx.rng.uniform(0.6, 1.0, on.size), attack_s=0.002, decay_s=0.12,
                   power=1.5, count=6)
    k, _ = latest(ctx.n, on)
    side = np.where(k % 2 == 0, -0.5, 0.5)                                # ping-pong per note
    th = (side + 1) * np.pi / 4
    return np.stack([x * np.cos(th), x * np.sin(th)]) * np.sqrt(2)


def sweep(ctx: Ctx) -> np.ndarray:
    period = 4 * BAR                                                      # a riser every 4 bars
    t = (np.arange(ctx.n) / SR) % period
    rise = t / period
    f = 150.0 * (6000.0 / 150.0) ** rise                                  # log chirp 150 Hz -> 6 kHz
    chirp = harmonics(f, 2.0, 4) * rise ** 2
    on = grid(ctx, 16.0, 1.0, offset_beats=8.0)
    whoosh = band_noise(ctx, 500.0, 12000.0) * envelope(ctx.n, on, np.ones(on.size), 4.0, 1.0)
    return stereo(chirp, 0.0, 24) + 0.7 * whoosh


GENERATORS: dict[str, Callable[[Ctx], np.ndarray]] = {
    "kick": kick, "snare": snare, "hats": hats, "perc": perc, "bass": bass, "chords": chords, "pad": pad,
    "pluck": pluck, "vocal": vocal, "guitar": guitar, "arp": arp, "sweep": sweep,
}


def mixed(ctx: Ctx) -> np.ndarray:
    """Three generators (never the sweep) at seeded levels: a busy submix."""
    names = ctx.rng.choice([g for g in GENERATORS if g != "sweep"], 3, replace=False)
    out = np.zeros((2, ctx.n))
    for name in names:
        x = GENERATORS[str(name)](ctx)
        out += ctx.rng.uniform(0.3, 1.0) * x / (np.max(np.abs(x)) + 1e-12)
    return out


GENERATORS["mixed"] = mixed


# -- tracks and files -------------------------------------------------------------------------

def track(index: int, seconds: float, seed: int = 1) -> np.ndarray:
    """R1 track ``index`` (0..15): float32, shape (2, round(seconds * 48000)), sample peak -3 dBFS."""
    n = int(round(seconds * SR))
    ctx = Ctx(n, np.random.default_rng([seed, index, VERSION]))
    x = GENERATORS[ROLES[index]](ctx)
    peak = float(np.max(np.abs(x))) or 1.0
    return (x * (10 ** (PEAK_DBFS / 20) / peak)).astype(np.float32)


def stem_name(index: int) -> str:
    return f"t{index:02d}_{ROLES[index]}.wav"


def write_material(folder: Path, seconds: float, seed: int = 1) -> list[Path]:
    """Write the 16 stems (float WAV) to ``folder``, reusing them when ``material.json`` matches."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / stem_name(i) for i in range(16)]
    stamp = folder / "material.json"
    key = {"version": VERSION, "seconds": seconds, "seed": seed, "sample_rate": SR}
    if (stamp.exists() and all(p.exists() for p in paths)
            and {k: v for k, v in json.loads(stamp.read_text()).items() if k in key} == key):
        return paths
    stamp.unlink(missing_ok=True)
    jobs = [(i, seconds, seed, str(p)) for i, p in enumerate(paths)]
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(workers, initializer=keep_freed_memory) as ex:
            digests = dict(ex.map(_write_track, jobs))
    else:
        digests = dict(map(_write_track, jobs))
    stamp.write_text(json.dumps({**key, "sha256": digests}, indent=1))
    return paths


def keep_freed_memory() -> None:
    """Ask glibc to keep freed blocks below 32 MB in the heap instead of unmapping them.

    Synthesis allocates many ~20 MB temporaries; by default each is a fresh mmap whose pages
    fault in one by one, and on this kind of virtual machine two processes faulting pages at
    once run about three times slower each. Reusing heap memory avoids that. No effect
    elsewhere than glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(-3, 32 << 20)   # M_MMAP_THRESHOLD
    libc.mallopt(-1, 1 << 30)    # M_TRIM_THRESHOLD


def _write_track(job: tuple[int, float, int, str]) -> tuple[str, str]:
    """Synthesise one track and write it as a float WAV; returns (file name, SHA-256 of the samples)."""
    index, seconds, seed, path = job
    x = track(index, seconds, seed)
    sf.write(path, x.T, SR, subtype="FLOAT")
    return Path(path).name, hashlib.sha256(x.tobytes()).hexdigest()


def describe(x: np.ndarray) -> dict:
    """Sample peak (dBFS), RMS (dBFS) and crest factor (dB) of a track."""
    x64 = x.astype(np.float64)
    peak = float(np.max(np.abs(x64)))
    rms = float(np.sqrt(np.mean(x64 ** 2)))
    return {"peak_dbfs": 20 * np.log10(peak), "rms_dbfs": 20 * np.log10(rms), "crest_db": 20 * np.log10(peak / rms)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    for p in write_material(a.folder, a.seconds, a.seed):
        x, _ = sf.read(str(p), dtype="float32", always_2d=True)
        d = describe(x)
        print(f"{p.name:18s} peak {d['peak_dbfs']:6.2f} dBFS  rms {d['rms_dbfs']:6.1f} dBFS  crest {d['crest_db']:5.1f} dB")


if __name__ == "__main__":
    main()
