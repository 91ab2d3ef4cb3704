"""Mastering: loudness targets hit by measurement, true-peak ceilings, reference matching, A/B compare."""
from .album import AlbumResult, master_album
from .loudness_target import MasterResult, master_file
from .match import MatchResult, match_file
from .presets import PRESETS, Target, preset

__all__ = ["AlbumResult", "master_album", "MasterResult", "master_file", "MatchResult", "match_file", "PRESETS",
           "Target", "preset"]
