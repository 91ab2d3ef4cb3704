"""MIDI files -> automation lanes (``[[midi]]`` in docs/SESSION.md).

Controller messages become step lanes: each value holds until the next
message. Times follow the file's tempo map; a file without any tempo event
uses the session's ``tempo_bpm``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import mido

from ..errors import MixcoreError
from ..params import Param, taper_from_normalized, taper_problem
from ..render.automation import Lane
from .model import Midi


def read_midi(path: Path, where: str) -> mido.MidiFile:
    from ..render.sources import check_regular

    check_regular(path, f"{where}.file")  # a FIFO or device would block or never end
    try:
        return mido.MidiFile(str(path))
    except Exception as e:
        raise MixcoreError(f"{where}.file: cannot read MIDI file {path}: {' '.join(str(e).split())}") from None


def timed_messages(mf: mido.MidiFile, tempo_bpm: float) -> list[tuple[float, mido.Message]]:
    """Every message of the file with its time in seconds (tempo map honoured)."""
    has_tempo = any(msg.type == "set_tempo" for tr in mf.tracks for msg in tr)
    tempo = mido.bpm2tempo(tempo_bpm) if not has_tempo else 500000
    out: list[tuple[float, mido.Message]] = []
    ticks_events: list[tuple[int, int, mido.Message]] = []
    for ti, track in enumerate(mf.tracks):
        tick = 0
        for msg in track:
            tick += msg.time
            ticks_events.append((tick, ti, msg))
    ticks_events.sort(key=lambda x: (x[0], x[1]))
    t_s = 0.0
    last_tick = 0
    for tick, _ti, msg in ticks_events:
        t_s += mido.tick2second(tick - last_tick, mf.ticks_per_beat, tempo)
        last_tick = tick
        if msg.type == "set_tempo":
            tempo = msg.tempo
        elif not msg.is_meta:
            out.append((t_s, msg))
    return out


def map_events(mp, messages) -> list[tuple[float, float]]:
    """(time_s, value 0..1) of the messages one map entry listens to."""
    ch = mp.channel - 1
    out: list[tuple[float, float]] = []
    if mp.cc is not None:
        out = [(t, m.value / 127.0) for t, m in messages
               if m.type == "control_change" and m.channel == ch and m.control == mp.cc]
    elif mp.cc14 is not None:
        msb = lsb = 0
        for t, m in messages:
            if m.type == "control_change" and m.channel == ch and m.control in (mp.cc14, mp.cc14 + 32):
                if m.control == mp.cc14:
                    msb, lsb = m.value, 0  # a new MSB resets the LSB (MIDI 1.0)
                else:
                    lsb = m.value
                out.append((t, (msb * 128 + lsb) / 16383.0))
    elif mp.pitchbend:
        out = [(t, (m.pitch + 8192) / 16383.0) for t, m in messages if m.type == "pitchwheel" and m.channel == ch]
    elif mp.aftertouch:
        out = [(t, m.value / 127.0) for t, m in messages if m.type == "aftertouch" and m.channel == ch]
    elif mp.velocity:
        out = [(t, m.velocity / 127.0) for t, m in messages if m.type == "note_on" and m.channel == ch
               and m.velocity > 0 and (mp.note is None or m.note == mp.note)]
    return out


def scale(mp, v: float) -> float:
    """A map entry with explicit ``min``/``max`` and no taper: linear (or ``curve``) over min..max."""
    if mp.curve == "exponential":
        return mp.min * (mp.max / mp.min) ** v
    return mp.min + (mp.max - mp.min) * v


def scaler(mp, param: Param | None, where: str) -> Callable[[float], float]:
    """The function taking a map entry's 0..1 MIDI value to its target's value.

    Without ``min`` and ``max`` the target's range and taper apply (``param``: a fader follows the fader
    law, a frequency or a time is logarithmic); with them the scaling is linear (or ``curve``) over
    min..max as it always was (a bound left out is then 0 or 1, as it always was), unless the entry
    names a ``taper``.
    """
    explicit = mp.min is not None or mp.max is not None
    if explicit and mp.taper is None:
        p_lo, p_hi = 0.0, 1.0  # the defaults of min and max before tapers: the same bytes as then
    else:
        p_lo, p_hi = (float(param.lo), float(param.hi)) if param is not None else (-math.inf, math.inf)
    lo = float(mp.min) if mp.min is not None else p_lo
    hi = float(mp.max) if mp.max is not None else p_hi
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise MixcoreError(f"{where}: {mp.target!r} declares no range; give min and max")
    if explicit and mp.taper is None:
        if mp.curve == "exponential" and (lo <= 0 or hi <= 0):
            raise MixcoreError(f"{where}.curve: \"exponential\" needs min and max above zero")
        fixed = mp.model_copy(update={"min": lo, "max": hi})
        return lambda v: scale(fixed, v)
    taper = mp.taper or ("log" if mp.curve == "exponential" else None) or (param.taper if param else None) \
        or "linear"
    problem = taper_problem(taper, lo, hi)
    if problem:
        raise MixcoreError(f"{where}.{'taper' if mp.taper else 'target'}: {problem}")
    return lambda v: taper_from_normalized(taper, lo, hi, v)


def midi_lanes(m: Midi, where: str, path: Path, tempo_bpm: float,
               param_of: Callable[[str, str], Param | None]) -> list[tuple[str, str, Lane]]:
    """Each map entry of ``m`` as a step lane; ``param_of(target, where)`` gives the target's Param."""
    mf = read_midi(path, where)
    messages = timed_messages(mf, tempo_bpm)
    lanes = []
    for j, mp in enumerate(m.map):
        w = f"{where}.map[{j}]"
        to_value = scaler(mp, param_of(mp.target, f"{w}.target"), w)
        events = map_events(mp, messages)
        if not events:
            kind = ("CC %d" % mp.cc if mp.cc is not None else "14-bit CC %d/%d" % (mp.cc14, mp.cc14 + 32)
                    if mp.cc14 is not None else "pitch bend" if mp.pitchbend else "aftertouch"
                    if mp.aftertouch else "note-on")
            raise MixcoreError(f"{w}: {path.name} has no {kind} messages on channel {mp.channel}")
        pts = [(t, to_value(v)) for t, v in events]
        lanes.append((w, mp.target, Lane.from_points(pts, step=True, where=w)))
    return lanes
