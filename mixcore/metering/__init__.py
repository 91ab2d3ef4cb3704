"""Metering: BS.1770-4 loudness, EBU loudness range, true peak, levels; ``mixcore.analyze``."""
from .analyze import analyze
from .meter import LoudnessMeter
from .result import AnalysisResult

__all__ = ["analyze", "LoudnessMeter", "AnalysisResult"]
