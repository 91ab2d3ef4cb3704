"""R1 with pedalboard's built-ins and numpy routing (the peers' way), whole-file or 512-frame blocks.

Differences forced by pedalboard, kept as the peers measured them: its HighpassFilter is first
order (R1 asks for a 2nd-order Butterworth) and its Reverb is Freeverb (mixcore's is an FDN).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pedalboard as pb

from r1_session import GAINS, PANS

SR = 48000


def track_board() -> pb.Pedalboard:
    return pb.Pedalboard([pb.HighpassFilter(40.0), pb.PeakFilter(200.0, -3.0, 1.0), pb.PeakFilter(2500.0, 2.0, 0.7),
                          pb.PeakFilter(8000.0, 1.5, 0.7),
                          pb.Compressor(threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_ms=100.0)])


def boards():
    rev = pb.Reverb(room_size=0.7, damping=0.5, wet_level=1.0, dry_level=0.0, width=1.0)
    return {
        "tracks": [track_board() for _ in range(16)],
        "drums": pb.Pedalboard([pb.Compressor(threshold_db=-15.0, ratio=3.0, attack_ms=10.0, release_ms=100.0)]),
        "music": pb.Pedalboard([pb.Compressor(threshold_db=-18.0, ratio=2.5, attack_ms=10.0, release_ms=150.0)]),
        "reverb": pb.Pedalboard([rev]),
        "delay": pb.Pedalboard([pb.Delay(delay_seconds=0.375, feedback=0.3, mix=1.0)]),
        "master": pb.Pedalboard([pb.LowShelfFilter(100.0, 1.5, 0.7071), pb.HighShelfFilter(10000.0, 1.0, 0.7071),
                                 pb.Compressor(threshold_db=-12.0, ratio=2.0, attack_ms=10.0, release_ms=200.0),
                                 pb.BrickwallLimiter(ceiling_db=-1.0, release_ms=100.0, lookahead_ms=5.0)]),
    }


def pan_gains(i: int) -> tuple[float, float]:
    g = 10 ** (GAINS[i] / 20)
    theta = (PANS[i] + 1) * math.pi / 4
    return g * math.cos(theta), g * math.sin(theta)


def mix(tracks: list[np.ndarray], b, process, threads: int = 1) -> np.ndarray:
    if threads > 1:
        with ThreadPoolExecutor(threads) as ex:
            outs = list(ex.map(lambda i: process(b["tracks"][i], tracks[i]), range(16)))
    else:
        outs = [process(b["tracks"][i], tracks[i]) for i in range(16)]
    n = tracks[0].shape[1]
    drums, music, master, rev_in, dly_in = (np.zeros((2, n), np.float32) for _ in range(5))
    send = 10 ** (-12 / 20)
    for i, y in enumerate(outs):
        gl, gr = pan_gains(i)
        y = y * np.array([[gl], [gr]], np.float32)
        (drums if i < 4 else music if i < 8 else master).__iadd__(y)
        rev_in += y * send
        if 8 <= i <= 11:
            dly_in += y * send
    master += process(b["drums"], drums) + process(b["music"], music)
    master += process(b["reverb"], rev_in) + process(b["delay"], dly_in)
    return process(b["master"], master)


def render_whole(tracks, threads: int = 1) -> np.ndarray:
    return mix(tracks, boards(), lambda board, x: board(x, SR), threads)


def render_blocks(tracks, block: int = 512) -> np.ndarray:
    b = boards()
    n = tracks[0].shape[1]
    out = []
    for s in range(0, n, block):
        chunk = [t[:, s:s + block] for t in tracks]
        out.append(mix(chunk, b, lambda board, x: board(x, SR, buffer_size=block, reset=False)))
    return np.concatenate(out, axis=1)
