"""Metering: ITU-R BS.1770-4 loudness, EBU Tech 3342 loudness range, true peak and levels.

``LoudnessMeter`` meters a stream of blocks (the render engine feeds it the output as it is
rendered); ``analyze`` measures a file or an array in one pass; both give an ``AnalysisResult``.
"""
from .analyze import analyze
from .meter import LoudnessMeter
from .result import AnalysisResult

__all__ = ["analyze", "LoudnessMeter", "AnalysisResult"]
