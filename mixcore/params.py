"""Parameters as data: name (with its unit), range, default, smoothing.

Every processor declares a tuple of :class:`Param`. Names come from one
vocabulary (:data:`VOCABULARY`): a name ends in its unit (``_db``, ``_ms``,
``_hz``, ``_s``, ``_dbtp``) or is one of the unitless names listed here. A test
walks every processor and checks its names against this vocabulary.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .errors import MixcoreError, cut, did_you_mean, short

#: Unit suffixes a parameter name may end in, and the unit each means.
UNIT_SUFFIXES = {"_db": "dB", "_dbtp": "dBTP", "_ms": "ms", "_hz": "Hz", "_s": "s", "_beats": "beats"}
#: Unitless parameter names (amounts run 0..1 unless the Param says otherwise).
UNITLESS = {"q", "ratio", "mix", "width", "feedback", "pan", "room_size", "damping",
            "detector", "sidechain", "bands", "kind", "link", "mode", "listen", "ping_pong", "auto_makeup", "link", "ir"}


@dataclass(frozen=True)
class Param:
    """One parameter of a processor.

    ``smoothing_ms`` > 0 means the processor ramps linearly to a new value over
    that many milliseconds, so automation never clicks. ``choices`` makes a
    parameter categorical (its value is a string).
    """

    name: str
    default: Any
    lo: float = -math.inf
    hi: float = math.inf
    unit: str = ""
    smoothing_ms: float = 0.0
    choices: tuple[str, ...] | None = None
    doc: str = ""
    automatable: bool = True

    def validate(self, value: Any, where: str = "") -> Any:
        """Return ``value`` coerced to the parameter's type, or raise a one-line error."""
        key = f"{where}{self.name}"
        if self.choices is not None:
            if not isinstance(value, str) or value not in self.choices:
                raise MixcoreError(
                    f"{key}: {short(value)} is not one of {', '.join(self.choices)}"
                    + (did_you_mean(value, self.choices) if isinstance(value, str) else "")
                )
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MixcoreError(f"{key}: expected a number ({self.describe_range()}), got {short(value)}")
        v = float(value)
        if not math.isfinite(v) or v < self.lo or v > self.hi:
            raise MixcoreError(f"{key}: {short(value)} is out of range, expected {self.describe_range()}")
        return v

    def describe_range(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        return f"{_fmt(self.lo)} .. {_fmt(self.hi)}{unit}"


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    return f"{x:g}"


class NameParam(Param):
    """A parameter naming something (a track or bus): a non-empty string, or None."""

    def validate(self, value: Any, where: str = "") -> Any:
        if value is not None and (not isinstance(value, str) or not value):
            raise MixcoreError(f"{where}{self.name}: expected the name of a track or bus, got {short(value)}")
        return value

    def describe_range(self) -> str:
        return "a track or bus name"


@dataclass
class ParamSet:
    """Current values of a processor's parameters, validated on every set."""

    params: tuple[Param, ...]
    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {p.name: p for p in self.params}
        for p in self.params:
            self.values.setdefault(p.name, p.default)

    def set(self, name: str, value: Any, where: str = "") -> Any:
        p = self.by_name.get(name)
        if p is None:
            raise MixcoreError(
                f"{where}{cut(name)}: unknown parameter, expected one of {', '.join(self.by_name)}"
                + did_you_mean(name, self.by_name)
            )
        v = p.validate(value, where)
        self.values[name] = v
        return v


def check_written(param: Param | None, value: Any, where: str = "") -> None:
    """A value written in a session file is not coerced: a bool parameter takes true or false, not 1.

    (Automation lanes, which carry numbers, may still set a bool parameter with 0 or 1.)
    """
    if param is not None and getattr(param, "kind", None) == "bool" and not isinstance(value, bool):
        raise MixcoreError(f"{where}{param.name}: expected true or false, got {short(value)}")
