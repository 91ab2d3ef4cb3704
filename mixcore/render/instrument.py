"""Instrument tracks: a MIDI file played through an instrument plugin, as a track source.

The plugin renders fixed chunks of ``CHUNK`` samples (independent of the render's block size), each
with the MIDI messages that fall inside it, carrying its voices from chunk to chunk; so memory stays
flat and the audio is the same whatever the block size. The source ends ``tail_s`` after the last
MIDI event (release tails).

``player`` is the hosted instrument: a :class:`~mixcore.hosting.vst3.VST3Processor` (in-process) or an
:class:`~mixcore.hosting.isolation.IsolatedProcessor` (``isolate = true``: each chunk is rendered in
the worker process, and a crash gives the usual one line naming plugin, track and song time). An
in-process instrument that crashes takes the process with it, after one line on stderr naming the
plugin, the track and the song time (:mod:`mixcore._dsp.crashguard`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._dsp import crashguard
from ..errors import MixcoreError

CHUNK = 65536
#: crashguard's suggestion after the line that names an in-process instrument that crashed.
INSTRUMENT_TAIL = b"; set isolate = true on the instrument to keep the render going or let it fall silent"


class InstrumentSource:
    """Same interface as :class:`~mixcore.render.sources.SourceReader`: stereo blocks on demand."""

    def __init__(self, midi_path: Path, player, sample_rate: int, tempo_bpm: float, tail_s: float,
                 where: str) -> None:
        from ..session.midi import read_midi, timed_messages

        mf = read_midi(midi_path, where.removesuffix(".source") + ".source")
        self.messages = [(t, m) for t, m in timed_messages(mf, tempo_bpm) if m.type in (
            "note_on", "note_off", "control_change", "pitchwheel", "aftertouch", "polytouch", "program_change")]
        if not self.messages:
            raise MixcoreError(f"{where}: {midi_path} has no notes or controller messages to play")
        self.player = player
        self.path = midi_path
        self.where = where
        self.channels = 2
        self.sample_rate = int(sample_rate)
        self.frames = int(np.ceil((self.messages[-1][0] + tail_s) * self.sample_rate))
        self.offset = 0
        self._buf = np.zeros((2, 0), np.float32)
        self._crash_text = b""
        from ..hosting.isolation import IsolatedProcessor
        from ..hosting.pedalboard_adapter import crash_text

        if not isinstance(player, IsolatedProcessor):  # in-process (an isolated player reports its own crashes)
            self._crash_text = crash_text(getattr(player, "where", ""), getattr(player, "node", ""), player.name)
            crashguard.install()

    def open(self) -> None:
        self._rendered = 0
        self._buf = np.zeros((2, self.offset), np.float32)

    def close(self) -> None:
        close = getattr(self.player, "close", None)  # an isolated instrument's worker (restarted on reuse)
        if close is not None:
            close()

    def _fill(self) -> None:
        sr = self.sample_rate
        c0 = self._rendered
        n = min(CHUNK, self.frames - c0)
        msgs = [m.copy(time=t - c0 / sr) for t, m in self.messages if c0 <= round(t * sr) < c0 + n]
        guard = self._crash_text  # in-process: a crash in the plugin is described before the process dies
        slot = crashguard.enter(guard, INSTRUMENT_TAIL, crashguard.PLAYING, c0, sr) if guard else -1
        try:
            audio = self.player.play(msgs, duration=n / sr, sample_rate=sr, num_channels=2, reset=(c0 == 0),
                                     start=c0)
        except MixcoreError:
            raise
        except Exception as e:
            raise MixcoreError(f"{self.where}: the instrument failed: {' '.join(str(e).split())}") from None
        finally:
            crashguard.leave(slot)
        audio = np.asarray(audio, dtype=np.float32)[:, :n]
        self._rendered += n
        self._buf = np.concatenate([self._buf, audio], axis=1)

    def read_into(self, out: np.ndarray) -> None:
        n = out.shape[1]
        while self._buf.shape[1] < n and self._rendered < self.frames:
            self._fill()
        k = min(n, self._buf.shape[1])
        out[:, :k] = self._buf[:, :k]
        out[:, k:] = 0.0
        self._buf = self._buf[:, k:]
