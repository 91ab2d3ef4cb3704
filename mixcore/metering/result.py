"""The typed result of an analysis, and its JSON form (SPEC section 4)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def db(x: float) -> float:
    """20 log10(x); -inf for 0."""
    return 20.0 * math.log10(x) if x > 0 else -math.inf


_db = db  # the name earlier modules imported


def _json(x: Any) -> Any:
    """JSON-safe: numpy scalars become Python numbers, -inf / inf / nan become None (null)."""
    if isinstance(x, (list, tuple)):
        return [_json(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


@dataclass
class AnalysisResult:
    """Loudness and levels of one signal (ITU-R BS.1770-4, EBU Tech 3341 / 3342).

    Levels of silence are ``-inf`` (JSON null); quantities that were not measured
    (true peak with ``true_peak=False``) are nan (JSON null); ``correlation`` and
    ``balance_db`` are None unless the signal is stereo with sound in both channels.
    """

    path: str | None
    sample_rate: float
    channels: int
    duration_s: float
    integrated_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    momentary_max_lufs: float
    short_term_max_lufs: float
    correlation: float | None
    rms_dbfs: float
    crest_db: float                  # sample peak - RMS
    balance_db: float | None         # left level - right level (stereo)
    true_peak_per_channel_dbtp: list[float] = field(default_factory=list)
    layout: list[str] = field(default_factory=list)  # channel names (their positions give the weights)
    momentary_lufs: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)   # every 100 ms
    short_term_lufs: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # every 100 ms
    step_s: float = 0.1  # time between two momentary / short-term values (100 ms to the nearest sample)

    #: SPEC section 4's keys first, then the extra ones, in the order ``to_json_dict`` writes them
    SPEC_KEYS = ("path", "sample_rate", "channels", "duration_s", "integrated_lufs", "loudness_range_lu",
                 "true_peak_dbtp", "sample_peak_dbfs", "momentary_max_lufs", "short_term_max_lufs", "correlation")
    KEYS = SPEC_KEYS + ("rms_dbfs", "crest_db", "balance_db", "true_peak_per_channel_dbtp", "layout")

    def to_json_dict(self, curves: bool = False) -> dict[str, Any]:
        """The keys of SPEC section 4 plus ``rms_dbfs``, ``crest_db``, ``balance_db``,
        ``true_peak_per_channel_dbtp`` and ``layout`` (channel names); non-finite numbers as None
        (JSON null). ``curves`` adds ``"curves"``: ``curves()`` as lists, silence as None."""
        d = {k: _json(getattr(self, k)) for k in self.KEYS}
        if curves:
            d["curves"] = {k: _json(v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.curves().items()}
        return d

    def _step_frames(self) -> int:
        return max(1, int(round(self.step_s * self.sample_rate)))

    def momentary_times_s(self) -> np.ndarray:
        """End time of each momentary value (s): ``(k + 1) * step_s``, to the sample."""
        return np.arange(1, len(self.momentary_lufs) + 1) * self._step_frames() / self.sample_rate

    def short_term_times_s(self) -> np.ndarray:
        """End time of each short-term value (s): ``(k + 1) * step_s``, to the sample."""
        return np.arange(1, len(self.short_term_lufs) + 1) * self._step_frames() / self.sample_rate

    def curves(self) -> dict[str, Any]:
        """The loudness curves as data: ``{"step_s": 0.1, "t_s": ..., "momentary_lufs": ...,
        "short_term_lufs": ...}`` (float64 arrays of one length). ``t_s[k]`` is the end of the window
        whose loudness is ``momentary_lufs[k]`` (400 ms) and ``short_term_lufs[k]`` (3 s), the time a
        meter shows it; the windows start in silence (zeros before the first sample). Values at or
        below the absolute gate (-70 LUFS) are -inf (JSON null, CSV empty)."""
        from .meter import gated

        return {"step_s": self.step_s, "t_s": self.momentary_times_s(),
                "momentary_lufs": gated(self.momentary_lufs), "short_term_lufs": gated(self.short_term_lufs)}

    def write_csv(self, path) -> None:
        """``curves()`` as a CSV table ``t_s,momentary_lufs,short_term_lufs`` (silence: empty cell),
        written atomically."""
        import os
        from pathlib import Path

        from ..atomic import temp_beside

        c = self.curves()
        cell = lambda v: repr(float(v)) if math.isfinite(v) else ""  # noqa: E731
        lines = ["t_s,momentary_lufs,short_term_lufs"]
        lines += [f"{cell(t)},{cell(m)},{cell(s)}" for t, m, s in zip(c["t_s"], c["momentary_lufs"],
                                                                        c["short_term_lufs"])]
        path = Path(path)
        fd, tmp = temp_beside(path, ".csv")
        try:
            with os.fdopen(fd, "w", newline="") as f:
                f.write("\n".join(lines) + "\n")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
