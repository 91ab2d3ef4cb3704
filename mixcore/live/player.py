"""The live player: a block-streamed render whose parameters follow a MIDI controller.

Messages are read from any mido input port between blocks. A message that arrives before the block
starting at engine sample ``e0`` becomes a point at song time ``e0 / sample_rate`` of a *step* lane
for its target; the engine evaluates these lanes exactly as it evaluates a session's automation (faders
per sample, processor parameters on the automation grid), and no position at or after ``e0`` has been
evaluated when the point is added. So the recorded lanes, written into a new session file, make
``mixcore render`` produce the very same bytes as the live stream.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np

from ..errors import MixcoreError
from ..render.automation import Lane
from ..render.engine import Engine
from ..render.stream import EngineSource, Stream
from ..session import Session
from ..session.build import resolve_target, target_param
from ..session.midi import scaler
from ..session.model import MidiMap

#: The device python-rtmidi's ALSA backend opens (Linux).
ALSA_SEQ = "/dev/snd/seq"


def open_midi_input(name: str):
    """Open a system MIDI input port by name, with a one-line error naming what is missing."""
    import mido

    try:
        names = mido.get_input_names()
    except Exception as e:  # no backend (python-rtmidi) or no MIDI system (no ALSA sequencer)
        raise MixcoreError(f"--midi-in: {midi_system_problem(e)}; without a MIDI system, play a MIDI file "
                           "as the controller (--midi-file FILE) or leave out --midi-in") from None
    if name not in names:
        from ..errors import did_you_mean

        raise MixcoreError(f"--midi-in: no MIDI input named {name!r}{did_you_mean(name, names)}; "
                           f"inputs: {', '.join(names) or 'none'}")
    return mido.open_input(name)


def midi_system_problem(e: BaseException) -> str:
    """What is missing when mido cannot list MIDI inputs (``e``: what it raised)."""
    if isinstance(e, ImportError):
        missing = getattr(e, "name", None) or "python-rtmidi"
        return (f"the MIDI backend is not installed (no module {missing!r}): "
                "pip install 'mixcore[midi-live]'")
    import sys

    detail = " ".join(str(e).split()) or type(e).__name__
    if sys.platform.startswith("linux") and not os.path.exists(ALSA_SEQ):
        return (f"no MIDI system: the ALSA sequencer {ALSA_SEQ} does not exist (no sound hardware, or the "
                f"snd-seq kernel module is not loaded; python-rtmidi said: {detail})")
    return f"no MIDI system available ({detail})"


class MidiFileInput:
    """A MIDI file as the controller: each message arrives when song time reaches its time in the file
    (tempo map honoured; a file without tempo events uses ``tempo_bpm``). Needs no MIDI system."""

    def __init__(self, path: str | Path, tempo_bpm: float = 120.0) -> None:
        import mido

        from ..session.midi import timed_messages

        self.path = Path(path)
        if not self.path.is_file():
            raise MixcoreError(f"--midi-file: {self.path}: file not found")
        try:
            mf = mido.MidiFile(str(self.path))
        except Exception as e:
            raise MixcoreError(f"--midi-file: {self.path}: cannot read MIDI file: {' '.join(str(e).split())}") from None
        self._messages = timed_messages(mf, tempo_bpm)
        self._next = 0

    def iter_pending_until(self, t_s: float):
        """The messages with file time at or before ``t_s`` not delivered yet."""
        msgs = self._messages
        while self._next < len(msgs) and msgs[self._next][0] <= t_s:
            self._next += 1
            yield msgs[self._next - 1][1]

    def close(self) -> None:
        pass


def _value(mp: MidiMap, msg, state: dict) -> float | None:
    """The 0..1 value a message gives a map entry, or None if the entry ignores it."""
    ch = mp.channel - 1
    if getattr(msg, "channel", None) != ch:
        return None
    if mp.cc is not None and msg.type == "control_change" and msg.control == mp.cc:
        return msg.value / 127.0
    if mp.cc14 is not None and msg.type == "control_change" and msg.control in (mp.cc14, mp.cc14 + 32):
        msb, lsb = state.get(id(mp), (0, 0))
        msb, lsb = (msg.value, 0) if msg.control == mp.cc14 else (msb, msg.value)
        state[id(mp)] = (msb, lsb)
        return (msb * 128 + lsb) / 16383.0
    if mp.pitchbend and msg.type == "pitchwheel":
        return (msg.pitch + 8192) / 16383.0
    if mp.aftertouch and msg.type == "aftertouch":
        return msg.value / 127.0
    if mp.velocity and msg.type == "note_on" and msg.velocity > 0 and (mp.note is None or msg.note == mp.note):
        return msg.velocity / 127.0
    return None


class LivePlayer:
    """Stream a session while ``port`` moves the parameters named in ``maps``.

    ``port`` is a mido input port, a :class:`MidiFileInput` (messages at their file times against song
    time) or None (playback only). ``learn`` lists targets to map, in order, to the next controls that
    move (CC or pitch bend); a learned entry follows its target's taper (a fader's law, a frequency's
    log scale); the learned entries are in :attr:`maps` afterwards. ``realtime`` paces the stream to
    the clock.
    """

    def __init__(self, session: Session, port, maps: list[MidiMap] | None = None, *, learn: list[str] = (),
                 block_size: int = 512, realtime: bool = False) -> None:
        self.session = session
        self.port = port
        self.maps = list(maps or [])
        self.learn = list(learn)
        self.block_size = int(block_size)
        self.realtime = realtime
        self.points: dict[str, list[list[float]]] = {}  # target -> recorded [time_s, value]
        self._cc14: dict = {}
        self._scale: dict[int, object] = {}  # id(map entry) -> its 0..1 -> value function

    def _scaler(self, graph, mp: MidiMap, where: str):
        if id(mp) not in self._scale:
            self._scale[id(mp)] = scaler(mp, target_param(graph, mp.target, f"{where}.target"), where)
        return self._scale[id(mp)]

    def stream(self) -> Iterator[np.ndarray]:
        """Yield output blocks (2, n) as they are rendered; lanes record every move."""
        s = self.session
        plan, lanes, frames = s.compile(self.block_size)
        graph = plan.graph
        for t in self.learn:  # check the names (and that each has a range) before anything plays
            scaler(MidiMap(cc=0, target=t), target_param(graph, t, "--learn"), "--learn")
        for j, mp in enumerate(self.maps):
            self._scaler(graph, mp, f"map[{j}]")
        live: dict[str, Lane] = {}
        keys: dict[str, tuple] = {}

        def lane_for(target: str) -> Lane:
            if target not in live:
                key, _ = resolve_target(graph, target, "map target")
                if key in lanes:
                    raise MixcoreError(f"{target!r} is already automated in the session; it cannot also be played")
                node, index, param = key
                start = (graph.nodes[node].gain_db if param == "gain_db" else graph.nodes[node].pan) if index < 0 \
                    else float(graph.nodes[node].processors[index].get_param(param))
                live[target] = Lane.from_points([[0.0, start]], step=True, where=target)
                keys[target] = key
                lanes[key] = live[target]
                self.points[target] = [[0.0, start]]
            return live[target]

        for target in [mp.target for mp in self.maps] + self.learn:
            lane_for(target)  # every lane exists before the engine starts (learned ones too)
        engine = Engine(plan, lanes, threads=1, interval=s.model.automation_interval)
        sr = plan.sample_rate

        def before_block(e0: int) -> None:  # the moves that arrived before this block: points at e0
            pending = () if self.port is None else self.port.iter_pending_until(e0 / sr) \
                if hasattr(self.port, "iter_pending_until") else self.port.iter_pending()
            for msg in pending:
                self._handle(msg, e0 / sr, lane_for, graph)

        source = EngineSource(engine, frames, before_block=before_block)
        t_start = time.perf_counter()
        with closing(iter(Stream(source))) as blocks:
            for out in blocks:
                if self.realtime:
                    ahead = source.position / sr - (time.perf_counter() - t_start)
                    if ahead > 0:
                        time.sleep(ahead)
                yield out

    def _handle(self, msg, t: float, lane_for, graph) -> None:
        if self.learn and msg.type in ("control_change", "pitchwheel"):
            target = self.learn.pop(0)
            kind = {"cc": msg.control} if msg.type == "control_change" else {"pitchbend": True}
            self.maps.append(MidiMap(channel=msg.channel + 1, target=target, **kind))  # the target's taper
            lane_for(target)
        for mp in self.maps:
            v = _value(mp, msg, self._cc14)
            if v is None:
                continue
            value = self._scaler(graph, mp, "--learn")(v)
            lane = lane_for(mp.target)
            # a later message in the same block replaces an earlier one at the same time
            pts = self.points[mp.target]
            if pts[-1][0] == t:
                pts[-1][1] = value
            else:
                pts.append([t, value])
            lane.times_s = np.array([p[0] for p in pts])
            lane.values = np.array([p[1] for p in pts])

    def render(self, out: str | Path) -> Path:
        """Play into a file (atomically)."""
        from ..render.writer import AtomicWriter

        s = self.session
        out = Path(out)
        with AtomicWriter(out, s.sample_rate, 2, s.model.bit_depth, s.model.seed) as w:
            for block in self.stream():
                w.write(block)
        return out

    def recorded_session(self) -> Session:
        """The session with the recorded moves as automation lanes (step curves)."""
        data = self.session.model.model_dump()
        for target, pts in self.points.items():
            data["automation"].append({"target": target, "points": [list(p) for p in pts], "curve": "step"})
        from ..session.io import model_from_dict

        return Session(model_from_dict(data), base_dir=self.session.base_dir, path=self.session.path)
