"""R1 as a DawDreamer 0.9.0 ``RenderEngine`` graph, rendered in 512-frame blocks.

DawDreamer's built-ins do what they can: ``make_filter_processor`` (JUCE IIR: the 2nd-order
high-pass, the master's shelves), ``make_compressor_processor`` (JUCE ``dsp::Compressor``),
``make_panner_processor`` and ``make_reverb_processor`` (JUCE Freeverb); ``make_add_processor``
sums the buses, and its per-input gains carry the faders and send levels. What DawDreamer has
no built-in for runs in its Faust processor (JIT-compiled by LLVM when the graph is built):

* the three peaking EQs of each track: RBJ-cookbook biquads (``fi.tf2`` with the cookbook's
  coefficients, the same responses as mixcore's ``eq``),
* the delay with feedback, ``y[n] = x[n - D] + 0.3 y[n - D]`` (its delay processor has no feedback),
* the master's lookahead limiter (``co.limiter_lad_stereo``: 5 ms lookahead, sample peaks).

FACTS.md: the reverb, delay and panner ignore constructor arguments, so every property is set
after creation (for all processors, to be safe). DawDreamer does no delay compensation: the only
latent node is the master limiter (its 5 ms lookahead), so the render runs 240 frames longer and
the first 240 are dropped. The pan rule is JUCE's ``balanced`` (unity at centre, far side
attenuated linearly), the built-in closest to mixcore's cosine balance law.

``build(tracks)`` makes the engine and graph (one-off: processor creation, Faust JIT);
``render(engine, n)`` renders ``n`` frames and returns the master, shape (2, n).
"""
from __future__ import annotations

import numpy as np

from r1_session import (BUS_COMP, DELAY, DELAY_SENDERS, LIMITER, MASTER_COMP, MASTER_EQ, REVERB, SEND_DB, SR,
                        TRACK_COMP, TRACK_EQ, TRACK_GAIN_DB, TRACK_PAN, db, track_output, track_sends)

BLOCK = 512

FAUST_PEAKS = """
import("stdfaust.lib");
// RBJ cookbook peaking EQ (Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter coefficients").
peak(f0, gdb, q) = fi.tf2(b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0) with {
    A = 10 ^ (gdb / 40); w0 = 2 * ma.PI * f0 / ma.SR; alpha = sin(w0) / (2 * q); c = cos(w0);
    b0 = 1 + alpha * A; b1 = -2 * c; b2 = 1 - alpha * A;
    a0 = 1 + alpha / A; a1 = -2 * c; a2 = 1 - alpha / A;
};
eq = %s;
process = eq, eq;
"""

FAUST_DELAY = """
import("stdfaust.lib");
D = %d;  // samples at 48 kHz
// y[n] = x[n - D] + fb * y[n - D]: one-sample delay in, D - 1 in the loop, 1 in the feedback path.
echo = mem : (+ : @(D - 1)) ~ *(%r);
process = echo, echo;
"""

FAUST_LIMITER = """
import("stdfaust.lib");
process = co.limiter_lad_stereo(%r, %r, %r, %r, %r);
"""


def _faust(engine, name: str, code: str):
    proc = engine.make_faust_processor(name)
    proc.set_dsp_string(code)
    if not proc.compile():
        raise RuntimeError(f"Faust processor {name} did not compile")
    return proc


def _comp(engine, name: str, s: dict):
    c = engine.make_compressor_processor(name, s["threshold_db"], s["ratio"], s["attack_ms"], s["release_ms"])
    c.threshold, c.ratio, c.attack, c.release = s["threshold_db"], s["ratio"], s["attack_ms"], s["release_ms"]
    return c


def _filter(engine, name: str, kind: str, freq: float, gain_db: float, q: float):
    mode = {"highpass": "high", "lowshelf": "low_shelf", "highshelf": "high_shelf"}[kind]
    f = engine.make_filter_processor(name, mode, freq, q, db(gain_db))
    f.mode, f.frequency, f.q, f.gain = mode, freq, q, db(gain_db)   # shelves take a linear gain factor
    return f


def build(tracks: list[np.ndarray], reverb_sends: bool = True):
    """The engine with R1's graph loaded; ``tracks`` are 16 float32 arrays (2, n).

    ``reverb_sends=False`` sets the reverb send gains to 0 (the output check's variant).
    """
    import dawdreamer as daw

    engine = daw.RenderEngine(SR, BLOCK)
    peaks = " : ".join(f"peak({f!r}, {g!r}, {q!r})" for kind, f, g, q in TRACK_EQ if kind == "peak")
    highpass = next(b for b in TRACK_EQ if b[0] == "highpass")
    graph = []
    inputs: dict[str, list[tuple[str, float]]] = {"drums": [], "music": [], "master": [], "reverb": [], "delay": []}
    for t, x in enumerate(tracks):
        src = engine.make_playback_processor(f"src{t}", np.ascontiguousarray(x, np.float32))
        hp = _filter(engine, f"hp{t}", *highpass)
        eq = _faust(engine, f"eq{t}", FAUST_PEAKS % peaks)
        comp = _comp(engine, f"comp{t}", TRACK_COMP)
        pan = engine.make_panner_processor(f"pan{t}", "balanced", TRACK_PAN[t])
        pan.rule, pan.pan = "balanced", TRACK_PAN[t]
        graph += [(src, []), (hp, [f"src{t}"]), (eq, [f"hp{t}"]), (comp, [f"eq{t}"]), (pan, [f"comp{t}"])]
        fader = db(TRACK_GAIN_DB[t])
        inputs[track_output(t)].append((f"pan{t}", fader))
        for bus in track_sends(t):
            on = reverb_sends or bus != "reverb"
            inputs[bus].append((f"pan{t}", fader * db(SEND_DB) * on))
    assert [n for n, _ in inputs["delay"]] == [f"pan{t}" for t in DELAY_SENDERS]

    def add(name: str, sources: list[tuple[str, float]]):
        proc = engine.make_add_processor(name, [g for _, g in sources])
        proc.gain_levels = [g for _, g in sources]
        graph.append((proc, [s for s, _ in sources]))

    for bus in ("drums", "music", "reverb", "delay"):
        add(f"{bus}_in", inputs[bus])
    graph.append((_comp(engine, "drums", BUS_COMP["drums"]), ["drums_in"]))
    graph.append((_comp(engine, "music", BUS_COMP["music"]), ["music_in"]))
    rev = engine.make_reverb_processor("reverb", REVERB["room_size"], REVERB["damping"], REVERB["mix"],
                                       1.0 - REVERB["mix"], 1.0)
    rev.room_size, rev.damping, rev.wet_level, rev.dry_level, rev.width = (
        REVERB["room_size"], REVERB["damping"], REVERB["mix"], 1.0 - REVERB["mix"], 1.0)
    graph.append((rev, ["reverb_in"]))
    graph.append((_faust(engine, "delay", FAUST_DELAY % (round(DELAY["time_ms"] * SR / 1000.0), DELAY["feedback"])),
                  ["delay_in"]))
    add("master_in", [("drums", 1.0), ("music", 1.0), ("reverb", 1.0), ("delay", 1.0), *inputs["master"]])
    prev = "master_in"
    for i, band in enumerate(MASTER_EQ):
        graph.append((_filter(engine, f"master_eq{i}", *band), [prev]))
        prev = f"master_eq{i}"
    graph.append((_comp(engine, "master_comp", MASTER_COMP), [prev]))
    # limiter_lad_stereo(lookahead, ceiling, attack, hold, release): attack = lookahead / (2 pi), so the
    # smoothed gain is within e^(-2 pi) of its target when the delayed peak arrives; hold = lookahead.
    look = LIMITER["lookahead_ms"] / 1000.0
    limiter = FAUST_LIMITER % (look, db(LIMITER["ceiling_dbtp"]), look / (2 * np.pi), look,
                               LIMITER["release_ms"] / 1000.0)
    graph.append((_faust(engine, "limiter", limiter), ["master_comp"]))
    engine.load_graph(graph)
    return engine


def latency_frames() -> int:
    return int(round(LIMITER["lookahead_ms"] / 1000.0 * SR))


def render(engine, n: int) -> np.ndarray:
    """Render ``n`` frames (plus the limiter's lookahead, then dropped); the master, shape (2, n)."""
    lat = latency_frames()
    engine.render((n + lat) / SR)
    return engine.get_audio()[:, lat: lat + n]
