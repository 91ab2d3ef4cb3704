"""Reference matching: mixcore (``match_file``, what ``mixcore master --reference`` runs) vs matchering.

    pip install -r benchmarks/requirements.txt    # matchering among them
    python benchmarks/bench_matchering.py [--seconds 30] [--repeat 3] [--out benchmarks/results/matchering.json]

Material (48 kHz stereo, deterministic, from ``r1_material``): mixes of the R1 tracks. Cases:

* ``known-eq-width``: the reference is the mix through a known EQ (low shelf +3 dB at 120 Hz, peak
  -4 dB at 2.5 kHz Q 1.4, high shelf +2.5 dB at 9 kHz; mixcore ``eq`` bands applied as a zero-phase
  FFT gain) and a width change (side x1.4), 12 dB louder: a known change to find and undo;
* ``tilt``: the mix is the reference's own balance with a +6 dB/decade tilt (FFT, around 1 kHz) and
  12 dB less level;
* ``other-mix``: the mix is a different balance of the tracks (more drums and bass, less pad and
  vocal) with a -4 dB/decade tilt; the reference is the first balance, 12 dB louder;
* ``low-passed``: the reference is the mix through a 4 kHz brick wall (16th-order Butterworth, forward
  and backward) and the known EQ; distance over 40 Hz-4 kHz; also recorded: mixcore's largest EQ boost
  above 4.5 kHz (must stay under 1 dB: nothing is matched where the reference holds no energy).

Spectral distance to the reference (the figure of merit, lower is better): Welch PSD of the mid
signal (scipy.signal.welch, 8192-point Hann segments), mean power in 1/3-octave bands centred
1000 * 2^(k/3) Hz from 40 Hz to 16 kHz, dB difference output - reference, its mean removed
(level-normalised), RMS over the bands, in dB. Also reported: integrated loudness (pyloudnorm)
of output and reference, the output's 8x-oversampled peak (scipy.signal.resample_poly), the side/mid
energy error against the reference (dB) and the wall time of one job (file in -> file out, median of
``--repeat`` runs, tools interleaved). mixcore runs at 100 % of every dimension (as matchering
matches fully), ``chain="none"`` (the match alone, no glue compressor: matchering has none), with the
parametric EQ (the default) and with the linear-phase FIR. matchering 2.0.6 works at 44.1 kHz
internally and writes 44.1 kHz; the distance is measured at each file's own rate over the same bands.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyloudnorm as pyln
import scipy.signal as ss
import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SR = 48000


def balance(weights: dict[int, float], seconds: float) -> np.ndarray:
    from r1_material import track

    x = sum(w * track(i, seconds) for i, w in weights.items())
    return x / np.abs(x).max() * 10 ** (-1.0 / 20)


def tilt(x: np.ndarray, db_per_decade: float) -> np.ndarray:
    n = x.shape[1]
    f = np.fft.rfftfreq(n, 1.0 / SR)
    g = 10 ** (db_per_decade * np.log10(np.maximum(f, 20.0) / 1000.0) / 20.0)
    return np.fft.irfft(np.fft.rfft(x, axis=1) * g, n, axis=1)


KNOWN_EQ = [{"kind": "lowshelf", "freq_hz": 120.0, "gain_db": 3.0, "q": 0.7},
            {"kind": "peak", "freq_hz": 2500.0, "gain_db": -4.0, "q": 1.4},
            {"kind": "highshelf", "freq_hz": 9000.0, "gain_db": 2.5, "q": 0.7}]


def known_change(x: np.ndarray, side: float = 1.4) -> np.ndarray:
    """``x`` through KNOWN_EQ (zero phase, by FFT) and a side gain of ``side``."""
    from mixcore.processors.eq import EQ

    n = x.shape[1]
    f = np.fft.rfftfreq(n, 1.0 / SR)
    g = 10 ** (EQ(bands=KNOWN_EQ).response_db(np.maximum(f, 1.0), SR) / 20)
    y = np.fft.irfft(np.fft.rfft(x, axis=1) * g, n, axis=1)
    m, s = 0.5 * (y[0] + y[1]), 0.5 * (y[0] - y[1]) * side
    return np.stack([m + s, m - s])


def side_mid_db(path: Path) -> float:
    x, _ = sf.read(str(path), always_2d=True)
    return float(10 * np.log10(np.sum((x[:, 0] - x[:, 1]) ** 2) / np.sum((x[:, 0] + x[:, 1]) ** 2)))


def distance(out: Path, ref: Path, hi: float = 16000.0) -> float:
    def bands(path: Path) -> np.ndarray:
        x, sr = sf.read(str(path), always_2d=True)
        f, p = ss.welch(x.mean(axis=1), sr, nperseg=8192)
        centres = 1000.0 * 2.0 ** (np.arange(-15, 15) / 3.0)
        centres = centres[(centres >= 40.0) & (centres <= hi)]
        return np.array([p[(f >= c / 2 ** (1 / 6)) & (f <= c * 2 ** (1 / 6))].mean() for c in centres])

    d = 10 * np.log10(bands(out) / bands(ref))
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


def describe(path: Path) -> dict:
    x, sr = sf.read(str(path), always_2d=True)
    u = ss.resample_poly(x, 8, 1, axis=0)
    return {"lufs": round(pyln.Meter(sr).integrated_loudness(x), 2),
            "peak_8x_dbfs": round(20 * np.log10(np.abs(u).max()), 2), "sample_rate": sr}


def run_mixcore(mix: Path, ref: Path, out: Path, eq: str):
    from mixcore.mastering import match_file

    return match_file(mix, out, [ref], amount=1.0, match_eq=eq, chain="none", ceiling_dbtp=-1.0, bit_depth=24)


def run_matchering(mix: Path, ref: Path, out: Path) -> None:
    import matchering as mg

    mg.log(lambda *_: None)
    mg.process(target=str(mix), reference=str(ref), results=[mg.pcm24(str(out))])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "matchering.json")
    a = ap.parse_args()
    import matchering

    import mixcore

    first = {0: 1.0, 1: 0.8, 2: 0.5, 4: 0.9, 5: 0.6, 6: 0.6, 8: 0.8, 9: 0.4, 10: 0.3}
    other = {0: 1.4, 1: 1.0, 2: 0.7, 4: 1.3, 5: 0.5, 6: 0.2, 8: 0.4, 9: 0.6, 11: 0.3}
    ref = balance(first, a.seconds)
    brick = ss.butter(16, 4000.0, "low", fs=SR, output="sos")
    cases = {"known-eq-width": (ref, known_change(ref)),
             "tilt": (tilt(ref, 6.0), ref),
             "other-mix": (tilt(balance(other, a.seconds), -4.0), ref),
             "low-passed": (ref, ss.sosfiltfilt(brick, known_change(ref, 1.0), axis=1))}
    tools = {"mixcore-parametric": lambda m, r, o: run_mixcore(m, r, o, "parametric"),
             "mixcore-linear": lambda m, r, o: run_mixcore(m, r, o, "linear"),
             "matchering": run_matchering}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, (mix, reference) in cases.items():
            hi = 4000.0 if name == "low-passed" else 16000.0
            mix = mix / np.abs(mix).max() * 10 ** (-13.0 / 20)  # a quiet, unmastered mix
            reference = reference / np.abs(reference).max() * 10 ** (-1.0 / 20)
            mp, rp = tmp / f"{name}-mix.wav", tmp / f"{name}-ref.wav"
            sf.write(str(mp), mix.T, SR, subtype="FLOAT")
            sf.write(str(rp), reference.T, SR, subtype="FLOAT")
            row = {"distance_before_db": round(distance(mp, rp, hi), 3), "distance_hi_hz": hi,
                   "reference": describe(rp), "mix": describe(mp), "tools": {}}
            times = {t: [] for t in tools}
            extra = {}
            for _ in range(a.repeat):
                for t, fn in tools.items():  # interleaved
                    out = tmp / f"{name}-{t}.wav"
                    t0 = time.perf_counter()
                    res = fn(mp, rp, out)
                    times[t].append(time.perf_counter() - t0)
                    if res is not None:
                        p = res.plan
                        above = p.points_hz > 4500.0
                        extra[t] = {"bands": len(p.bands), "matched": p.region_text,
                                    "max_boost_above_4k5_db": round(float(p.eq_db[above].max()), 3)}
            for t in tools:
                out = tmp / f"{name}-{t}.wav"
                row["tools"][t] = {"distance_db": round(distance(out, rp, hi), 3), **describe(out),
                                   "side_mid_error_db": round(side_mid_db(out) - side_mid_db(rp), 2),
                                   "time_s": round(statistics.median(times[t]), 3),
                                   "times_s": [round(v, 3) for v in times[t]], **extra.get(t, {})}
            results[name] = row
            print(name, json.dumps(row, indent=1))
    doc = {"benchmark": "reference matching: spectral distance to the reference and time",
           "seconds": a.seconds, "repeat": a.repeat, "sample_rate": SR,
           "versions": {"mixcore": mixcore.__version__, "matchering": getattr(matchering, "__version__", "2.0.6"),
                        "python": platform.python_version()},
           "machine": platform.machine(), "cases": results}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
