"""Reference matching: mixcore (``match_file``, what ``mixcore master --reference`` runs) vs matchering.

    pip install -r benchmarks/requirements.txt    # matchering among them
    python benchmarks/bench_matchering.py [--seconds 30] [--repeat 3] [--out benchmarks/results/matchering.json]

Material (48 kHz stereo, deterministic, from ``r1_material``): two mixes of the R1 tracks with
different balances. Cases:

* ``tilt``: the mix is the reference's own balance with a +6 dB/decade tilt (FFT, around 1 kHz) and
  12 dB less level: a known error to undo;
* ``other-mix``: the mix is a different balance of the tracks (more drums and bass, less pad and
  vocal) with a -4 dB/decade tilt; the reference is the first balance, 12 dB louder.

Spectral distance to the reference (the figure of merit, lower is better): Welch PSD of the mid
signal (scipy.signal.welch, 8192-point Hann segments), mean power in 1/3-octave bands centred
1000 * 2^(k/3) Hz from 30 Hz to 16 kHz, dB difference output - reference, its mean removed
(level-normalised), RMS over the bands, in dB. Also reported: integrated loudness (pyloudnorm)
of output and reference, the output's 8x-oversampled peak (scipy.signal.resample_poly) and the
wall time of one job (file in -> file out, median of ``--repeat`` runs, tools interleaved).
mixcore runs at 100 % tone and loudness amount (as matchering matches fully) and at its default
70 %; width is matched too. matchering 2.0.6 works at 44.1 kHz internally and writes 44.1 kHz;
the distance is measured at each file's own rate over the same bands.
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


def distance(out: Path, ref: Path) -> float:
    def bands(path: Path) -> np.ndarray:
        x, sr = sf.read(str(path), always_2d=True)
        f, p = ss.welch(x.mean(axis=1), sr, nperseg=8192)
        centres = 1000.0 * 2.0 ** (np.arange(-15, 15) / 3.0)
        centres = centres[(centres >= 30.0) & (centres <= 16000.0)]
        return np.array([p[(f >= c / 2 ** (1 / 6)) & (f <= c * 2 ** (1 / 6))].mean() for c in centres])

    d = 10 * np.log10(bands(out) / bands(ref))
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


def describe(path: Path) -> dict:
    x, sr = sf.read(str(path), always_2d=True)
    u = ss.resample_poly(x, 8, 1, axis=0)
    return {"lufs": round(pyln.Meter(sr).integrated_loudness(x), 2),
            "peak_8x_dbfs": round(20 * np.log10(np.abs(u).max()), 2), "sample_rate": sr}


def run_mixcore(mix: Path, ref: Path, out: Path, amount: float) -> None:
    from mixcore.mastering import match_file

    match_file(mix, out, [ref], amount={"tone": amount, "loudness": amount, "width": amount},
               ceiling_dbtp=-1.0, bit_depth=24)


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
    cases = {"tilt": (tilt(ref, 6.0), ref), "other-mix": (tilt(balance(other, a.seconds), -4.0), ref)}
    tools = {"mixcore-100%": lambda m, r, o: run_mixcore(m, r, o, 1.0),
             "mixcore-70%": lambda m, r, o: run_mixcore(m, r, o, 0.7),
             "matchering": run_matchering}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, (mix, reference) in cases.items():
            mix = mix / np.abs(mix).max() * 10 ** (-13.0 / 20)  # a quiet, unmastered mix
            mp, rp = tmp / f"{name}-mix.wav", tmp / f"{name}-ref.wav"
            sf.write(str(mp), mix.T, SR, subtype="FLOAT")
            sf.write(str(rp), np.clip(reference * 10 ** (0.0 / 20), -1, 1).T, SR, subtype="FLOAT")
            row = {"distance_before_db": round(distance(mp, rp), 3), "reference": describe(rp),
                   "mix": describe(mp), "tools": {}}
            times = {t: [] for t in tools}
            for _ in range(a.repeat):
                for t, fn in tools.items():  # interleaved
                    out = tmp / f"{name}-{t}.wav"
                    t0 = time.perf_counter()
                    fn(mp, rp, out)
                    times[t].append(time.perf_counter() - t0)
            for t in tools:
                out = tmp / f"{name}-{t}.wav"
                row["tools"][t] = {"distance_db": round(distance(out, rp), 3), **describe(out),
                                   "time_s": round(statistics.median(times[t]), 3),
                                   "times_s": [round(v, 3) for v in times[t]]}
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
