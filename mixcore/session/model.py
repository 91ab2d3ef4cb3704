"""The session file's schema (docs/SESSION.md) as pydantic models.

Chain entries stay plain dicts here: what keys they may have depends on their
``type``, so they are validated when the processors are built
(:mod:`mixcore.session.build`), with the same key-path error messages.
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: A name becomes a file name (stems): ASCII letters, digits, '-' and '_' only. ``\Z``, not ``$``:
#: ``$`` also matches before a trailing newline, so ``"kick\n"`` passed.
NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,128}\Z")


class _Strict(BaseModel):
    # strict: no coercion of "yes"/1 to bool or "3" to a number (an int is still a valid float)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


def _pairs(v: Any) -> Any:
    """TOML arrays are lists; strict mode takes tuples only: [[t, v], ...] -> [(t, v), ...]."""
    if isinstance(v, list):
        return [tuple(p) if isinstance(p, list) else p for p in v]
    return v


def _check_path(v: str | None) -> str | None:
    if v is not None and "\x00" in v:
        raise ValueError("a file name holds no NUL character")
    return v


def _check_name(v: str) -> str:
    if not NAME_RE.match(v):
        raise ValueError("a name uses only letters, digits, '-' and '_' (1 to 128 of them)")
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

    _source = field_validator("source")(classmethod(lambda cls, v: _check_path(v)))


class Bus(_Strip):
    pass


class Master(_Strict):
    chain: list[dict[str, Any]] = Field(default_factory=list)
    gain_db: float = Field(0.0, ge=-120.0, le=24.0)


class Automation(_Strict):
    _points_pairs = field_validator("points", mode="before")(classmethod(lambda cls, v: _pairs(v)))

    target: str
    points: list[tuple[float, float]] = Field(min_length=1)
    curve: Literal["linear", "exponential", "step", "smooth"] = "linear"
    time_unit: Literal["s", "beats", "bars"] = "s"  # beats and bars follow the session's tempo map

    @field_validator("points")
    @classmethod
    def _times(cls, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for i, (t, v) in enumerate(pts):
            if not abs(t) < float("inf"):  # NaN or Inf: not a time (every comparison below is False for NaN)
                raise ValueError(f"points[{i}]: time {t} is not a finite number of seconds")
            if not abs(v) < float("inf"):
                raise ValueError(f"points[{i}]: value {v} is not a finite number")
            if t < 0:
                raise ValueError(f"points[{i}]: time {t} s is negative")
            if i and t < pts[i - 1][0]:
                raise ValueError(f"points[{i}]: times must not decrease ({pts[i - 1][0]} then {t})")
        return pts


class MidiMap(_Strict):
    """One MIDI source mapped to a target. Exactly one of cc, cc14, pitchbend, aftertouch, velocity."""

    cc: int | None = Field(None, ge=0, le=127)  # 7-bit controller
    cc14: int | None = Field(None, ge=0, le=31)  # 14-bit controller: MSB cc14, LSB cc14 + 32
    pitchbend: bool = False
    aftertouch: bool = False  # channel pressure
    velocity: bool = False  # note-on velocity (of ``note`` only, if given)
    note: int | None = Field(None, ge=0, le=127)
    channel: int = Field(1, ge=1, le=16)
    target: str
    # without min and max the target's own range and taper apply (a fader follows the fader law);
    # with them the 0..1 MIDI value maps linearly (or by ``curve``) onto min..max, unless ``taper`` says
    min: float | None = None
    max: float | None = None
    curve: Literal["linear", "exponential"] = "linear"  # how the 0..1 MIDI value maps onto min..max
    taper: Literal["fader", "log", "linear"] | None = None

    def model_post_init(self, _ctx) -> None:
        kinds = [k for k, on in (("cc", self.cc is not None), ("cc14", self.cc14 is not None),
                                 ("pitchbend", self.pitchbend), ("aftertouch", self.aftertouch),
                                 ("velocity", self.velocity)) if on]
        if len(kinds) != 1:
            raise ValueError("give exactly one of cc, cc14, pitchbend, aftertouch, velocity"
                             + (f" (got {', '.join(kinds)})" if kinds else ""))
        if self.taper is not None and self.curve != "linear":
            raise ValueError(f"give taper or curve, not both (taper {self.taper!r}, curve {self.curve!r})")


class Midi(_Strict):
    file: str
    map: list[MidiMap] = Field(min_length=1)

    _file = field_validator("file")(classmethod(lambda cls, v: _check_path(v)))


class SessionModel(_Strict):
    sample_rate: int | None = Field(None, ge=8000, le=384000)
    block_size: int | None = Field(None, ge=1, le=65536)
    tempo_bpm: float = Field(120.0, gt=0.0, le=999.0)
    tail_s: float | Literal["auto"] = "auto"
    output: str | None = None
    bit_depth: Literal[16, 24, "float"] = "float"
    seed: int = Field(0, ge=0)
    automation_interval: int = Field(32, ge=1, le=4096)  # samples between processor-parameter updates
    tempo_map: list[tuple[float, float]] | None = None  # [[beat, bpm], ...]; default: tempo_bpm throughout
    beats_per_bar: int = Field(4, ge=1, le=32)
    tracks: list[Track] = Field(default_factory=list)
    buses: list[Bus] = Field(default_factory=list)
    master: Master = Field(default_factory=Master)
    automation: list[Automation] = Field(default_factory=list)
    midi: list[Midi] = Field(default_factory=list)

    _output = field_validator("output")(classmethod(lambda cls, v: _check_path(v)))
    _tempo_pairs = field_validator("tempo_map", mode="before")(classmethod(lambda cls, v: _pairs(v)))

    @field_validator("tempo_map")
    @classmethod
    def _tempo(cls, v):
        if v is None:
            return v
        if not v or v[0][0] != 0.0:
            raise ValueError("a tempo map starts at beat 0.0")
        for i, (beat, bpm) in enumerate(v):
            if not 0 < bpm <= 999:
                raise ValueError(f"tempo_map[{i}]: {bpm} bpm is out of range 0 .. 999")
            if i and beat <= v[i - 1][0]:
                raise ValueError(f"tempo_map[{i}]: beats must increase")
        return v

    @field_validator("tail_s")
    @classmethod
    def _tail(cls, v: float | str) -> float | str:
        if isinstance(v, float) and not (0.0 <= v <= 300.0):
            raise ValueError("tail_s runs 0 .. 300 s, or \"auto\"")
        return v
