"""Mastering: loudness targets hit by measurement, true-peak ceilings."""
from .album import AlbumResult, master_album
from .loudness_target import MasterResult, master_file
from .presets import PRESETS, Target, preset

__all__ = ["AlbumResult", "master_album", "MasterResult", "master_file", "PRESETS", "Target", "preset"]
