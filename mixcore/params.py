"""Parameters as data: name (with its unit), range, default, smoothing.

Every processor declares a tuple of :class:`Param`. Names come from one
vocabulary (:data:`VOCABULARY`): a name ends in its unit (``_db``, ``_ms``,
``_hz``, ``_s``, ``_dbtp``) or is one of the unitless names listed here. A test
walks every processor and checks its names against this vocabulary.
"""
from __future__ import annotations

import math
import re
from dataclasses import KW_ONLY, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

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
    parameter categorical (its value is a string). Every field but ``name`` is keyword-only:
    ``Param("ratio", default=4.0, lo=1.0, hi=100.0, taper="log")``.
    """

    name: str
    _: KW_ONLY
    default: Any
    lo: float = -math.inf
    hi: float = math.inf
    unit: str = ""
    smoothing_ms: float = 0.0
    choices: tuple[str, ...] | None = None
    doc: str = ""
    automatable: bool = True
    #: How a controller's travel (0..1) maps onto lo..hi: "linear", "fader" (console fader law, dB) or
    #: "log" (equal travel, equal ratio: Hz, times). None: not declared (linear).
    taper: str | None = None
    #: True for a parameter naming a file: a relative path written in a session file is resolved
    #: against the session's folder (and checked to be a regular file) by the session builder.
    IS_FILE: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if self.taper is not None and (problem := taper_problem(self.taper, self.lo, self.hi)):
            raise ValueError(f"Param {self.name!r}: {problem}")  # a programming error, not a user's

    def to_normalized(self, value: float) -> float:
        """The controller position 0..1 that gives ``value`` under the parameter's taper."""
        return taper_to_normalized(self.taper or "linear", float(self.lo), float(self.hi), float(value))

    def from_normalized(self, x: float) -> float:
        """The value a controller at ``x`` (0..1) gives under the parameter's taper, within lo..hi."""
        return taper_from_normalized(self.taper or "linear", float(self.lo), float(self.hi), float(x))

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


#: The tapers a parameter or a MIDI map entry may declare.
TAPERS = ("linear", "fader", "log")
#: Console fader law below unity gain: (travel, dB) knots, dB linear in travel between them. The top
#: quarter of the travel runs linearly from 0 dB to the maximum; the bottom knot is the minimum.
FADER_KNOTS = ((0.1, -60.0), (0.25, -30.0), (0.5, -12.0), (0.75, 0.0))
#: A log taper over a range starting at 0 spans this ratio (three decades) above the bottom.
LOG_FROM_ZERO_DECADES = 3


def taper_problem(taper: str, lo: float, hi: float) -> str | None:
    """Why ``taper`` cannot map lo..hi (None: it can)."""
    if taper not in TAPERS:
        return f"taper {taper!r} is not one of {', '.join(TAPERS)}"
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        return f"a {taper} taper needs a finite range, got {_fmt(lo)} .. {_fmt(hi)}"
    if taper == "fader" and not lo < 0.0 < hi:
        return f"a fader taper needs a range from below 0 dB to above it, got {_fmt(lo)} .. {_fmt(hi)}"
    if taper == "log" and lo < 0.0:
        return f"a log taper needs a range from 0 or above, got {_fmt(lo)} .. {_fmt(hi)}"
    return None


def _fader_knots(lo: float, hi: float) -> list[tuple[float, float]]:
    return [(0.0, lo), *[(x, db) for x, db in FADER_KNOTS if db > lo], (1.0, hi)]


def taper_from_normalized(taper: str, lo: float, hi: float, x: float) -> float:
    """The value at travel ``x`` (clamped to 0..1) of ``taper`` over lo..hi; the ends give lo and hi exactly.

    - linear: ``lo + (hi - lo) x``.
    - fader: console fader law (dB): the bottom is ``lo`` (-120 dB on a strip: silence), 0 dB sits at 3/4
      of the travel, the top is ``hi``; between the knots of :data:`FADER_KNOTS` dB is linear in travel,
      so the travel near unity is fine-grained and the bottom quarter covers the quiet end.
    - log: equal travel, equal ratio, ``lo (hi/lo)^x``; a range starting at 0 uses
      ``lo + (hi - lo) (1000^x - 1) / 999`` (three decades, and 0 at the bottom).
    """
    x = min(max(x, 0.0), 1.0)
    if x <= 0.0:
        return lo
    if x >= 1.0:
        return hi
    if taper == "fader":
        knots = _fader_knots(lo, hi)
        for (x0, y0), (x1, y1) in zip(knots, knots[1:]):
            if x <= x1:
                v = y0 + (y1 - y0) * ((x - x0) / (x1 - x0))
                break
    elif taper == "log":
        if lo > 0.0:
            v = lo * (hi / lo) ** x
        else:
            r = 10.0 ** LOG_FROM_ZERO_DECADES
            v = lo + (hi - lo) * (r ** x - 1.0) / (r - 1.0)
    else:
        v = lo + (hi - lo) * x
    return min(max(v, lo), hi)


def taper_to_normalized(taper: str, lo: float, hi: float, value: float) -> float:
    """The inverse of :func:`taper_from_normalized`: the travel 0..1 of ``value`` (clamped to lo..hi)."""
    v = min(max(value, lo), hi)
    if taper == "fader":
        knots = _fader_knots(lo, hi)
        for (x0, y0), (x1, y1) in zip(knots, knots[1:]):
            if v <= y1:
                return x0 + (x1 - x0) * ((v - y0) / (y1 - y0))
        return 1.0
    if taper == "log":
        if lo > 0.0:
            return math.log(v / lo) / math.log(hi / lo)
        r = 10.0 ** LOG_FROM_ZERO_DECADES
        return math.log1p((v - lo) / (hi - lo) * (r - 1.0)) / math.log(r)
    return (v - lo) / (hi - lo)


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


class PathParam(Param):
    """A file path (resolved against the session's folder by the session builder), or None."""

    IS_FILE = True

    def validate(self, value: Any, where: str = "") -> Any:
        if value is not None and not isinstance(value, (str, Path)):
            raise MixcoreError(f"{where}{self.name}: expected a file path, got {short(value)}")
        return None if value is None else str(value)


@dataclass(frozen=True)
class TableListParam(Param):
    """A list of tables whose keys are declared Params (``fields``): an EQ's ``bands``.

    Each field is a :class:`Param` (range, unit, taper, choices); a field whose default is None is a
    required key. One key of one table is named ``<name>[i].<key>`` (``bands[1].gain_db``) and is a
    parameter like any other: :meth:`ParamSet.param_for` gives its Param (automation checks, MIDI
    tapers), :meth:`ParamSet.set` / :meth:`ParamSet.get` set and read it, and ``mixcore processors``
    lists each field as ``<name>[i].<key>``. ``item`` names one table in errors ("a band is a table
    {kind, freq_hz, q, gain_db}"); ``keys_text`` is that brace list (default: every field).
    """

    _: KW_ONLY
    fields: tuple[Param, ...] = ()
    item: str = "item"
    keys_text: str = ""

    def field(self, key: str) -> Param | None:
        return next((f for f in self.fields if f.name == key), None)

    def validate(self, value: Any, where: str = "") -> list[dict[str, Any]]:
        key = f"{where}{self.name}"
        if not isinstance(value, (list, tuple)):
            raise MixcoreError(f"{key}: expected a list of {self.item}s, got {short(value)}")
        return [self.validate_table(t, f"{key}[{i}]") for i, t in enumerate(value)]

    def validate_table(self, table: Any, key: str) -> dict[str, Any]:
        """One table: every key declared, every required key given, every value valid for its field."""
        names = [f.name for f in self.fields]
        if not isinstance(table, dict):
            raise MixcoreError(f"{key}: a {self.item} is a table {self.describe_keys()}, got {short(table)}")
        for k in table:
            if k not in names:
                raise MixcoreError(f"{key}.{k}: unknown key{did_you_mean(k, names)}; expected {', '.join(names)}")
        out = {}
        for f in self.fields:
            if f.name not in table and f.default is None:
                raise MixcoreError(f"{key}.{f.name}: required key is missing"
                                   + (f"; one of {', '.join(map(str, f.choices))}" if f.choices else ""))
            out[f.name] = f.validate(table.get(f.name, f.default), f"{key}.")
        return out

    def describe_keys(self) -> str:
        return self.keys_text or "{" + ", ".join(f.name for f in self.fields) + "}"

    def describe_range(self) -> str:
        return f"a list of {self.describe_keys()}"


#: ``<table list>[i].<key>``: one key of one table (\Z: "$" passes a trailing newline).
_ITEM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\[([0-9]{1,4})\]\.([A-Za-z_][A-Za-z0-9_]*)\Z")


@dataclass
class ParamSet:
    """Current values of a processor's parameters, validated on every set."""

    params: tuple[Param, ...]
    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {p.name: p for p in self.params}
        for p in self.params:
            self.values.setdefault(p.name, p.default)

    def item(self, name: str) -> tuple[TableListParam, int, Param] | None:
        """``bands[1].gain_db`` -> (the table list, 1, the field's Param); None for any other name."""
        m = _ITEM.match(name)
        table = self.by_name.get(m.group(1)) if m else None
        if not isinstance(table, TableListParam) or table.field(m.group(3)) is None:
            return None
        return table, int(m.group(2)), table.field(m.group(3))

    def param_for(self, name: str) -> Param | None:
        """The Param of ``name``: a declared one, or one key of an existing table (``bands[1].gain_db``,
        named so, its default the current value); None when there is no such parameter."""
        if name in self.by_name:
            return self.by_name[name]
        found = self.item(name)
        if found is None or found[1] >= len(self.values[found[0].name]):
            return None
        return replace(found[2], name=name, default=self.get(name))

    def get(self, name: str) -> Any:
        found = None if name in self.by_name else self.item(name)
        if found is None:
            return self.values[name]
        table, i, f = found
        return self.values[table.name][i].get(f.name, f.default)

    def set(self, name: str, value: Any, where: str = "") -> Any:
        p = self.by_name.get(name)
        found = None if p is not None else self.item(name)
        if found is not None:
            table, i, f = found
            tables = [dict(t) for t in self.values[table.name]]
            if i >= len(tables):
                raise MixcoreError(f"{where}{name}: there are only {len(tables)} {table.name}")
            tables[i][f.name] = value
            self.set(table.name, tables, where)
            return self.get(name)
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
