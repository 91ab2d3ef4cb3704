"""The typed result of an analysis."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def _json(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (np.floating,)):
        return _json(float(x))
    if isinstance(x, list):
        return [_json(v) for v in x]
    return x


@dataclass
class AnalysisResult:
    """Loudness and level of one signal (ITU-R BS.1770-4, EBU Tech 3341/3342).

    Levels that do not exist (silence) are ``-inf``; ``to_json_dict`` writes them as null.
    """

    path: str | None
    sample_rate: int
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
    crest_db: float
    balance_db: float | None  # left minus right level (stereo)
    true_peak_per_channel_dbtp: list[float] = field(default_factory=list)
    momentary_lufs: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # every 100 ms
    short_term_lufs: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # every 100 ms

    KEYS = ("path", "sample_rate", "channels", "duration_s", "integrated_lufs", "loudness_range_lu",
            "true_peak_dbtp", "sample_peak_dbfs", "momentary_max_lufs", "short_term_max_lufs", "correlation",
            "rms_dbfs", "crest_db", "balance_db", "true_peak_per_channel_dbtp")

    def to_json_dict(self) -> dict[str, Any]:
        return {k: _json(getattr(self, k)) for k in self.KEYS}
