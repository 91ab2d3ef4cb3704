"""The session file's schema (SPEC §2) as pydantic models.

Chain entries stay plain dicts here: what keys they may have depends on their
``type``, so they are validated when the processors are built
(:mod:`mixcore.session.build`), with the same key-path error messages.
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _check_name(v: str) -> str:
    if not NAME_RE.match(v):
        raise ValueError("a name uses only letters, digits, '-' and '_'")
    if v == "master":
        raise ValueError("'master' is reserved for the master bus")
    return v


class Send(_Strict):
    to: str
    level_db: float = Field(0.0, ge=-120.0, le=24.0)
    pre_fader: bool = False


class _Strip(_Strict):
    """What tracks and buses share: fader, pan, mute, routing, sends, chain."""

    name: str
    gain_db: float = Field(0.0, ge=-120.0, le=24.0)
    pan: float = Field(0.0, ge=-1.0, le=1.0)
    mute: bool = False
    output: str = "master"
    sends: list[Send] = Field(default_factory=list)
    chain: list[dict[str, Any]] = Field(default_factory=list)

    _name = field_validator("name")(classmethod(lambda cls, v: _check_name(v)))


class Track(_Strip):
    source: str
    instrument: dict[str, Any] | None = None  # with a MIDI source: the instrument plugin that plays it
    solo: bool = False
    polarity_invert: bool = False


class Bus(_Strip):
    pass


class Master(_Strict):
    chain: list[dict[str, Any]] = Field(default_factory=list)
    gain_db: float = Field(0.0, ge=-120.0, le=24.0)


class Automation(_Strict):
    target: str
    points: list[tuple[float, float]] = Field(min_length=1)

    @field_validator("points")
    @classmethod
    def _times(cls, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for i, (t, _v) in enumerate(pts):
            if t < 0:
                raise ValueError(f"points[{i}]: time {t} s is negative")
            if i and t < pts[i - 1][0]:
                raise ValueError(f"points[{i}]: times must not decrease ({pts[i - 1][0]} then {t})")
        return pts


class MidiMap(_Strict):
    cc: int = Field(ge=0, le=127)
    channel: int = Field(1, ge=1, le=16)
    target: str
    min: float = 0.0
    max: float = 1.0


class Midi(_Strict):
    file: str
    map: list[MidiMap] = Field(min_length=1)


class SessionModel(_Strict):
    sample_rate: int | None = Field(None, ge=8000, le=384000)
    block_size: int | None = Field(None, ge=1, le=65536)
    tempo_bpm: float = Field(120.0, gt=0.0, le=999.0)
    tail_s: float | Literal["auto"] = "auto"
    output: str | None = None
    bit_depth: Literal[16, 24, "float"] = "float"
    seed: int = Field(0, ge=0)
    tracks: list[Track] = Field(default_factory=list)
    buses: list[Bus] = Field(default_factory=list)
    master: Master = Field(default_factory=Master)
    automation: list[Automation] = Field(default_factory=list)
    midi: list[Midi] = Field(default_factory=list)

    @field_validator("tail_s")
    @classmethod
    def _tail(cls, v: float | str) -> float | str:
        if isinstance(v, float) and not (0.0 <= v <= 300.0):
            raise ValueError("tail_s runs 0 .. 300 s, or \"auto\"")
        return v
