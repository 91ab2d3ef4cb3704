"""MIDI files -> automation lanes (SPEC §2 ``[[midi]]``).

Controller messages become step lanes: each value holds until the next
message. Times follow the file's tempo map; a file without any tempo event
uses the session's ``tempo_bpm``.
"""
from __future__ import annotations

from pathlib import Path

import mido

from ..errors import MixcoreError
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
    if mp.curve == "exponential":
        return mp.min * (mp.max / mp.min) ** v
    return mp.min + (mp.max - mp.min) * v


def midi_lanes(m: Midi, where: str, path: Path, tempo_bpm: float) -> list[tuple[str, str, Lane]]:
    mf = read_midi(path, where)
    messages = timed_messages(mf, tempo_bpm)
    lanes = []
    for j, mp in enumerate(m.map):
        w = f"{where}.map[{j}]"
        if mp.curve == "exponential" and (mp.min <= 0 or mp.max <= 0):
            raise MixcoreError(f"{w}.curve: \"exponential\" needs min and max above zero")
        events = map_events(mp, messages)
        if not events:
            kind = ("CC %d" % mp.cc if mp.cc is not None else "14-bit CC %d/%d" % (mp.cc14, mp.cc14 + 32)
                    if mp.cc14 is not None else "pitch bend" if mp.pitchbend else "aftertouch"
                    if mp.aftertouch else "note-on")
            raise MixcoreError(f"{w}: {path.name} has no {kind} messages on channel {mp.channel}")
        pts = [(t, scale(mp, v)) for t, v in events]
        lanes.append((w, mp.target, Lane.from_points(pts, step=True, where=w)))
    return lanes
