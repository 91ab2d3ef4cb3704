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
    if not path.exists():
        raise MixcoreError(f"{where}.file: file not found: {path}")
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


def midi_lanes(m: Midi, where: str, path: Path, tempo_bpm: float) -> list[tuple[str, str, Lane]]:
    mf = read_midi(path, where)
    messages = timed_messages(mf, tempo_bpm)
    lanes = []
    for j, mp in enumerate(m.map):
        pts = [(t, mp.min + (mp.max - mp.min) * msg.value / 127.0) for t, msg in messages
               if msg.type == "control_change" and msg.control == mp.cc and msg.channel == mp.channel - 1]
        w = f"{where}.map[{j}]"
        if not pts:
            raise MixcoreError(f"{w}: {path.name} has no CC {mp.cc} messages on channel {mp.channel}")
        lanes.append((w, mp.target, Lane.from_points(pts, step=True, where=w)))
    return lanes
