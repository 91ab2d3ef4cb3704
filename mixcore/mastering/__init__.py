"""Mastering: loudness targets hit by measurement, true-peak ceilings."""
from .loudness_target import MasterResult, master_file
from .presets import PRESETS, Target, preset

__all__ = ["MasterResult", "master_file", "PRESETS", "Target", "preset"]
