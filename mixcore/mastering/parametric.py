"""A parametric match EQ: at most ``MAX_BANDS`` bands of mixcore's own ``eq`` processor fitted to a curve.

The bands are ``lowshelf``, ``highshelf`` and ``peak`` tables (``freq_hz``, ``gain_db``, ``q``), so a
fitted EQ is an ordinary ``eq`` processor that an engineer can read and edit, and its response is
computed with the processor's own band design (:func:`mixcore.processors.eq.band_sections`): the
fitted curve is exactly what the ``eq`` processor does.

The fit (AutoEq-style, greedy then joint):

1. while fewer than ``MAX_BANDS`` bands and the residual (curve minus response) exceeds
   ``TOLERANCE_DB``, candidates are tried: a peak on each of the residual's two largest lobes (runs
   of one sign, by area in dB x octaves; at the lobe's highest point, with that gain and a Q from
   its width at half height) and a low or high shelf not yet used (at the residual's value at that
   end); each is refined jointly with the bands so far, and the best is kept, unless it lowers the
   weighted RMS error by less than ``MIN_GAIN_DB`` (then the fit stops);
2. a final joint refinement; bands under 0.2 dB are dropped, values rounded (0.01 Hz, 0.01 dB, 0.001).

The refinement is a small Levenberg-Marquardt least-squares solver over (log2 f, gain, log2 Q) per
band with box bounds (projected steps), written here in numpy rather than taken from scipy: scipy is
not a runtime dependency of mixcore, and a fit of at most 36 parameters over ~60 points needs no more
(about 0.1 s); it also keeps the fitted bands, and so the rendered bytes, independent of the version
of an optimisation library.
"""
from __future__ import annotations

import math

import numpy as np

from ..processors.eq import band_sections

MAX_BANDS = 12
TOLERANCE_DB = 0.5    # stop adding bands when the largest weighted residual is below this
MIN_GAIN_DB = 0.03    # ... or when a new band lowers the weighted RMS error by less than this
GAIN_LIMIT = 12.0     # per band, dB
Q_PEAK = (0.3, 5.0)
Q_SHELF = (0.4, 1.0)


def band_db(sample_rate: float, band: dict, freqs: np.ndarray) -> np.ndarray:
    """The magnitude response in dB of one ``eq`` band at ``freqs`` (the processor's own design)."""
    z = np.exp(-1j * 2 * np.pi * np.asarray(freqs, dtype=np.float64) / sample_rate)
    h = np.ones_like(z)
    for c in band_sections(sample_rate, {"q": 0.7071067811865476, "gain_db": 0.0, **band}):
        h *= (c[0] + c[1] * z + c[2] * z * z) / (1 + c[3] * z + c[4] * z * z)
    return 20 * np.log10(np.maximum(np.abs(h), 1e-12))


def response_db(sample_rate: float, bands: list[dict], freqs: np.ndarray) -> np.ndarray:
    """The response in dB of a cascade of ``eq`` bands (the sum of the bands' dB responses)."""
    out = np.zeros(len(freqs))
    for b in bands:
        out += band_db(sample_rate, b, freqs)
    return out


def scale_gains(bands: list[dict], amount: float) -> list[dict]:
    """The bands with every gain times ``amount`` (the tone amount scales the band gains)."""
    return [{**b, "gain_db": round(b["gain_db"] * amount, 2)} for b in bands]


class _Fit:
    """Bands as a parameter vector x = (log2 f, gain, log2 q) per band, with bounds."""

    def __init__(self, sample_rate, freqs, target, weight, f_range):
        self.sr, self.f, self.t = sample_rate, freqs, target
        self.sw = np.sqrt(weight)
        self.top = min(20000.0, 0.45 * sample_rate)
        lo, hi = f_range if f_range is not None else (20.0, self.top)
        lo, hi = max(20.0, lo / math.sqrt(2.0)), min(self.top, hi * math.sqrt(2.0))
        mid = min(max(1000.0, lo), hi)
        self.ranges = {"lowshelf": (lo, mid), "highshelf": (mid, hi), "peak": (lo, hi)}

    def bounds(self, kinds):
        lo, hi = [], []
        for k in kinds:
            fl, fh = self.ranges[k]
            ql, qh = Q_SHELF if k != "peak" else Q_PEAK
            lo += [math.log2(fl), -GAIN_LIMIT, math.log2(ql)]
            hi += [math.log2(fh), GAIN_LIMIT, math.log2(qh)]
        return np.array(lo), np.array(hi)

    def one(self, kind, p):
        return band_db(self.sr, {"kind": kind, "freq_hz": 2.0 ** p[0], "gain_db": p[1], "q": 2.0 ** p[2]}, self.f)

    def parts(self, kinds, x):
        return [self.one(k, x[3 * i: 3 * i + 3]) for i, k in enumerate(kinds)]

    def refine(self, kinds, x, iterations=60):
        """Levenberg-Marquardt on the weighted residual, steps projected onto the bounds."""
        lo, hi = self.bounds(kinds)
        x = np.clip(x, lo, hi)
        parts = self.parts(kinds, x)
        e = self.sw * (sum(parts) - self.t)
        cost = float(e @ e)
        lam = 1e-2
        for _ in range(iterations):
            J = np.zeros((len(e), len(x)))
            for i, k in enumerate(kinds):
                for j in range(3):
                    h = 1e-4
                    p = x[3 * i: 3 * i + 3].copy()
                    p[j] += h
                    J[:, 3 * i + j] = self.sw * (self.one(k, p) - parts[i]) / h
            A = J.T @ J
            g = J.T @ e
            improved = False
            while lam < 1e8:
                step = np.linalg.solve(A + lam * (np.diag(np.diag(A)) + 1e-9 * np.eye(len(x))), -g)
                xn = np.clip(x + step, lo, hi)
                pn = self.parts(kinds, xn)
                en = self.sw * (sum(pn) - self.t)
                cn = float(en @ en)
                if cn < cost:
                    done = cost - cn < 1e-7 * max(cost, 1e-12)
                    x, parts, e, cost = xn, pn, en, cn
                    lam = max(lam / 3.0, 1e-7)
                    improved = True
                    break
                lam *= 4.0
            if not improved or done:
                break
        return x, cost


def _lobes(residual: np.ndarray, freqs: np.ndarray, count: int = 2) -> list[tuple[int, float]]:
    """The ``count`` largest runs of one sign of ``residual`` (by area in dB x octaves), each as (index
    of its extreme, width at half height in octaves)."""
    oct_ = np.log2(freqs)
    sign = np.sign(residual)
    found = []
    start = 0
    for i in range(1, len(residual) + 1):
        if i == len(residual) or sign[i] != sign[start]:
            seg = np.abs(residual[start:i])
            if sign[start] != 0:
                width = max(oct_[i - 1] - oct_[start], 1.0 / 6.0)
                peak = start + int(np.argmax(seg))
                idx = np.nonzero(seg >= 0.5 * seg.max())[0]
                bw = max(oct_[start + idx[-1]] - oct_[start + idx[0]], 1.0 / 6.0)
                found.append((float(seg.mean()) * width, peak, bw))
            start = i
    found.sort(key=lambda f: -f[0])
    return [(peak, bw) for _a, peak, bw in found[:count]]


def fit_bands(sample_rate: float, freqs: np.ndarray, target_db: np.ndarray, weight: np.ndarray | None = None,
              max_bands: int = MAX_BANDS, f_range: tuple[float, float] | None = None) -> list[dict]:
    """At most ``max_bands`` ``eq`` bands whose response follows ``target_db`` at ``freqs`` (weighted
    least squares; see the module docstring). ``f_range``: the matched region; band frequencies stay
    within half an octave of it (shelves: the low one below 1 kHz, the high one above)."""
    freqs = np.asarray(freqs, dtype=np.float64)
    t = np.asarray(target_db, dtype=np.float64)
    w = np.ones_like(t) if weight is None else np.asarray(weight, dtype=np.float64)
    if not np.any(np.abs(t) * w > 0.05):
        return []
    fit = _Fit(sample_rate, freqs, t, w, f_range)
    inside = np.nonzero(w > 0)[0]
    kinds: list[str] = []
    x = np.zeros(0)
    cost = float(np.sum(w * t * t))
    norm = float(w.sum())
    while len(kinds) < max_bands:
        r = t - (sum(fit.parts(kinds, x)) if kinds else 0.0)
        if np.max(np.abs(r) * (w > 0)) < TOLERANCE_DB:
            break
        # candidates: a peak on each of the two largest lobes of the residual, and each shelf not yet used;
        # the one that lowers the error most (after a joint refinement) is kept
        cands = []
        for i, bw in _lobes(np.where(w > 0, r, 0.0), freqs):
            q = min(max(math.sqrt(2.0 ** bw) / (2.0 ** bw - 1.0), Q_PEAK[0]), Q_PEAK[1])
            cands.append(("peak", [math.log2(freqs[i]), r[i], math.log2(q)]))
        for kind in ("lowshelf", "highshelf"):
            if kind not in kinds:
                lo, hi = fit.ranges[kind]
                f0 = min(max(100.0 if kind == "lowshelf" else 8000.0, lo), hi)
                edge = r[inside[0]] if kind == "lowshelf" else r[inside[-1]]
                cands.append((kind, [math.log2(f0), float(edge), math.log2(0.7)]))
        best = None
        for kind, p in cands:
            xn, cn = fit.refine(kinds + [kind], np.concatenate([x, p]), iterations=20)
            if best is None or cn < best[2]:
                best = (kind, xn, cn)
        if best is None or math.sqrt(cost / norm) - math.sqrt(best[2] / norm) < MIN_GAIN_DB:
            break
        kinds, x, cost = kinds + [best[0]], best[1], best[2]
    if not kinds:
        return []
    x, cost = fit.refine(kinds, x, iterations=200)
    bands = []
    for i, k in enumerate(kinds):
        f, g, q = 2.0 ** x[3 * i], float(x[3 * i + 1]), 2.0 ** x[3 * i + 2]
        if abs(g) >= 0.2:
            bands.append({"kind": k, "freq_hz": round(float(f), 2), "gain_db": round(g, 2), "q": round(float(q), 3)})
    bands.sort(key=lambda b: b["freq_hz"])
    return bands
