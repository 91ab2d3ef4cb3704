"""R1 with pedalboard's built-in plugins and numpy routing: the way a pedalboard user mixes.

Each track runs one ``pedalboard.Pedalboard`` (``HighpassFilter`` -> 3 x ``PeakFilter`` ->
``Compressor``); faders, pans and sends are one routing matrix ``M`` (10 x 32: five stereo
destinations from 16 stereo tracks), applied as a single matrix product per chunk of frames;
the buses and the master run their own boards. Two ways to run it:

* :func:`render_whole`: every board processes the whole file in one call (optionally the track
  boards on a thread pool; pedalboard releases the GIL while it processes);
* :func:`render_blocks`: 512-frame blocks, every board called with ``reset=False`` for every
  block, as a streaming host would. The master's limiter delays the stream by its lookahead
  (pedalboard returns fewer samples at first, see FACTS.md); the last samples are flushed out
  with zeros so the output has the input's length.

Where the work is not the same as mixcore's (see README.md): pedalboard's ``HighpassFilter`` is
first order (6 dB/oct, the peers' R1 figures used it; a JUCE 2nd-order filter costs the same);
``Reverb`` is JUCE's Freeverb; ``Compressor`` is JUCE's, one detector per channel (mixcore links
the channels). The limiter is ``BrickwallLimiter`` with ``true_peak=True`` (4x oversampled
detection, as mixcore's ``limiter``) unless ``true_peak=False`` (sample peaks, as R1.md's peer
figures). Pans use mixcore's balance law (SPEC section 2), so every renderer feeds its
compressors the same levels.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pedalboard as pb

from r1_session import (BUS_COMP, DELAY, DELAY_SENDERS, LIMITER, MASTER_COMP, MASTER_EQ, REVERB, SEND_DB, SR,
                        TRACK_COMP, TRACK_EQ, TRACK_GAIN_DB, TRACK_PAN, balance_gains, db, track_output)

#: Rows of the routing matrix: (destination, channel).
DESTINATIONS = ("drums", "music", "master", "reverb", "delay")
CHUNK = 16384


def comp(settings: dict) -> pb.Compressor:
    return pb.Compressor(threshold_db=settings["threshold_db"], ratio=settings["ratio"],
                         attack_ms=settings["attack_ms"], release_ms=settings["release_ms"])


def eq_plugin(kind: str, freq: float, gain: float, q: float) -> pb.Plugin:
    if kind == "highpass":
        return pb.HighpassFilter(cutoff_frequency_hz=freq)        # first order: no q
    cls = {"peak": pb.PeakFilter, "lowshelf": pb.LowShelfFilter, "highshelf": pb.HighShelfFilter}[kind]
    return cls(cutoff_frequency_hz=freq, gain_db=gain, q=q)


def track_board() -> pb.Pedalboard:
    return pb.Pedalboard([*(eq_plugin(*band) for band in TRACK_EQ), comp(TRACK_COMP)])


def boards(true_peak: bool = True) -> dict[str, pb.Pedalboard | list[pb.Pedalboard]]:
    """Every board of R1: 16 track boards, the four buses and the master."""
    return {
        "tracks": [track_board() for _ in range(16)],
        "drums": pb.Pedalboard([comp(BUS_COMP["drums"])]),
        "music": pb.Pedalboard([comp(BUS_COMP["music"])]),
        "reverb": pb.Pedalboard([pb.Reverb(room_size=REVERB["room_size"], damping=REVERB["damping"],
                                           wet_level=REVERB["mix"], dry_level=1.0 - REVERB["mix"], width=1.0)]),
        "delay": pb.Pedalboard([pb.Delay(delay_seconds=DELAY["time_ms"] / 1000.0, feedback=DELAY["feedback"],
                                         mix=DELAY["mix"])]),
        "master": pb.Pedalboard([*(eq_plugin(*band) for band in MASTER_EQ), comp(MASTER_COMP),
                                 pb.BrickwallLimiter(ceiling_db=LIMITER["ceiling_dbtp"],
                                                     release_ms=LIMITER["release_ms"],
                                                     lookahead_ms=LIMITER["lookahead_ms"], true_peak=true_peak)]),
    }


def routing_matrix(pan_law=balance_gains, reverb_sends: bool = True) -> np.ndarray:
    """``M`` (10, 32) with ``destinations = M @ tracks``: fader, pan, outputs and post-pan sends.

    Track ``t`` occupies columns ``2t`` (left) and ``2t + 1`` (right); destination ``d`` rows
    ``2d`` and ``2d + 1``. ``reverb_sends=False``: no sends to the reverb (the output check's variant).
    """
    m = np.zeros((2 * len(DESTINATIONS), 32), np.float32)
    for t in range(16):
        g = db(TRACK_GAIN_DB[t])
        for c, pan_gain in enumerate(pan_law(TRACK_PAN[t])):
            level = g * pan_gain
            m[2 * DESTINATIONS.index(track_output(t)) + c, 2 * t + c] += level
            if reverb_sends:
                m[2 * DESTINATIONS.index("reverb") + c, 2 * t + c] += level * db(SEND_DB)
            if t in DELAY_SENDERS:
                m[2 * DESTINATIONS.index("delay") + c, 2 * t + c] += level * db(SEND_DB)
    return m


def route(m: np.ndarray, outs: list[np.ndarray], start: int, stop: int, stacked: np.ndarray,
          dest: np.ndarray) -> None:
    """``dest[:, start:stop] = m @ [track outputs, frames start:stop]`` (``stacked`` is scratch)."""
    k = stop - start
    y = stacked[:, :k]
    for t, o in enumerate(outs):
        y[2 * t: 2 * t + 2] = o[:, start:stop]
    np.matmul(m, y, out=dest[:, start:stop])


def render_whole(tracks: list[np.ndarray], threads: int = 1, true_peak: bool = True,
                 b: dict | None = None, reverb_sends: bool = True) -> np.ndarray:
    """Whole-file R1: ``tracks`` are 16 float32 arrays (2, n); returns the master (2, n)."""
    b = b or boards(true_peak)
    if threads > 1:
        with ThreadPoolExecutor(threads) as ex:
            outs = list(ex.map(lambda t: b["tracks"][t](tracks[t], SR), range(16)))
    else:
        outs = [b["tracks"][t](tracks[t], SR) for t in range(16)]
    n = tracks[0].shape[1]
    m = routing_matrix(reverb_sends=reverb_sends)
    dest = np.empty((2 * len(DESTINATIONS), n), np.float32)
    stacked = np.empty((32, CHUNK), np.float32)
    for s in range(0, n, CHUNK):
        route(m, outs, s, min(n, s + CHUNK), stacked, dest)
    del outs
    master = dest[4:6].copy()
    for d, name in enumerate(DESTINATIONS):
        if name != "master":
            master += b[name](dest[2 * d: 2 * d + 2], SR)
    return b["master"](master, SR)


def render_blocks(tracks: list[np.ndarray], block: int = 512, true_peak: bool = True,
                  b: dict | None = None, reverb_sends: bool = True) -> np.ndarray:
    """R1 in ``block``-frame blocks, every board streaming (``reset=False``); returns the master (2, n)."""
    b = b or boards(true_peak)
    n = tracks[0].shape[1]
    m = routing_matrix(reverb_sends=reverb_sends)
    stacked = np.empty((32, block), np.float32)
    dest = np.empty((2 * len(DESTINATIONS), block), np.float32)
    out = []
    for s in range(0, n, block):
        e = min(n, s + block)
        outs = [b["tracks"][t].process(tracks[t][:, s:e], SR, buffer_size=block, reset=False) for t in range(16)]
        route(m, outs, 0, e - s, stacked, dest)
        master = dest[4:6, : e - s].copy()
        for d, name in enumerate(DESTINATIONS):
            if name != "master":
                master += b[name].process(dest[2 * d: 2 * d + 2, : e - s], SR, buffer_size=block, reset=False)
        out.append(b["master"].process(master, SR, buffer_size=block, reset=False))
    missing = n - sum(o.shape[1] for o in out)                   # the limiter's lookahead, still inside
    if missing > 0:
        out.append(b["master"].process(np.zeros((2, missing), np.float32), SR, buffer_size=block, reset=False))
    return np.concatenate(out, axis=1)
