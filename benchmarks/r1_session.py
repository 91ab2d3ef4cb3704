"""The reference session R1 (``/work/shared/R1.md``): its settings, and the mixcore session file.

The constants below are the one description of R1's graph; ``r1_pedalboard.py`` and
``r1_dawdreamer.py`` build the same graph from them. :func:`session_toml` writes it as a mixcore
session (SPEC section 2, SPEC names only):

* track ``t`` (0..15): ``eq`` [highpass 40 Hz q 0.7071, peak 200 Hz -3 dB q 1, peak 2.5 kHz +2 dB
  q 0.7, peak 8 kHz +1.5 dB q 0.7] -> ``compressor`` (-20 dB, 4:1, 5 ms, 100 ms) -> fader
  ``gain_db`` -> ``pan`` -> output ``drums`` (0..3), ``music`` (4..7) or ``master`` (8..15);
  post-fader sends (after the pan, SPEC routing) to ``reverb`` at -12 dB, and from tracks 8..11
  also to ``delay`` at -12 dB;
* buses ``drums`` and ``music`` (a compressor each), ``reverb`` (room 0.7, damping 0.5, 100 % wet),
  ``delay`` (375 ms, feedback 0.3, 100 % wet), all returning to the master at 0 dB;
* master: ``eq`` [lowshelf 100 Hz +1.5 dB, highshelf 10 kHz +1 dB, q 0.7071] -> ``compressor``
  (-12 dB, 2:1, 10 ms, 200 ms) -> ``limiter`` (ceiling -1 dBTP, release 100 ms, lookahead 5 ms).

``tail_s = 0`` makes the output exactly as long as the sources, like the peers' renders.

    python benchmarks/r1_session.py DIR [--seconds 60]    # material, DIR/r1.toml, DIR/r1-noreverb.toml
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

SR = 48000
TRACK_GAIN_DB = (4.0, 3.0, 1.0, 1.0, 2.0, 0.0, -1.0, 1.0, 1.0, 0.0, 0.0, -1.0, -2.0, -2.0, -3.0, -3.0)
TRACK_PAN = (0.0, 0.1, -0.35, 0.35, 0.0, -0.5, 0.5, 0.25, -0.2, 0.2, -0.6, 0.6, -0.8, 0.8, -0.4, 0.4)
SEND_DB = -12.0
DELAY_SENDERS = range(8, 12)

#: (kind, freq_hz, gain_db, q) -- RBJ cookbook responses.
TRACK_EQ = (("highpass", 40.0, 0.0, 0.7071), ("peak", 200.0, -3.0, 1.0),
            ("peak", 2500.0, 2.0, 0.7), ("peak", 8000.0, 1.5, 0.7))
TRACK_COMP = {"threshold_db": -20.0, "ratio": 4.0, "attack_ms": 5.0, "release_ms": 100.0}
BUS_COMP = {"drums": {"threshold_db": -15.0, "ratio": 3.0, "attack_ms": 10.0, "release_ms": 100.0},
            "music": {"threshold_db": -18.0, "ratio": 2.5, "attack_ms": 10.0, "release_ms": 150.0}}
REVERB = {"room_size": 0.7, "damping": 0.5, "mix": 1.0}          # Freeverb peers: wet 1, dry 0, width 1
DELAY = {"time_ms": 375.0, "feedback": 0.3, "mix": 1.0}
MASTER_EQ = (("lowshelf", 100.0, 1.5, 0.7071), ("highshelf", 10000.0, 1.0, 0.7071))
MASTER_COMP = {"threshold_db": -12.0, "ratio": 2.0, "attack_ms": 10.0, "release_ms": 200.0}
LIMITER = {"ceiling_dbtp": -1.0, "release_ms": 100.0, "lookahead_ms": 5.0}


def track_output(t: int) -> str:
    return "drums" if t < 4 else "music" if t < 8 else "master"


def track_sends(t: int, reverb: bool = True) -> tuple[str, ...]:
    """The buses track ``t`` sends to; ``reverb=False`` drops the reverb send (the output check's variant)."""
    return (("reverb",) if reverb else ()) + (("delay",) if t in DELAY_SENDERS else ())


def db(x: float) -> float:
    """dB to a linear gain factor."""
    return 10.0 ** (x / 20.0)


def balance_gains(pan: float) -> tuple[float, float]:
    """mixcore's stereo balance law (SPEC section 2): unity at centre, far side times cos(|pan| pi / 2)."""
    far = math.cos(abs(pan) * math.pi / 2)
    return (far, 1.0) if pan > 0 else (1.0, far)


def sin3db_gains(pan: float) -> tuple[float, float]:
    """R1.md's law: theta = (pan + 1) pi / 4, L = cos(theta), R = sin(theta) (-3 dB each side at centre)."""
    theta = (pan + 1) * math.pi / 4
    return math.cos(theta), math.sin(theta)


# -- TOML ---------------------------------------------------------------------------------------

def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(float(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    return "[ " + ", ".join(_value(x) for x in v) + " ]"


def eq_entry(bands) -> dict:
    out = []
    for kind, freq, gain, q in bands:
        band = {"kind": kind, "freq_hz": freq, "q": q}
        if kind not in ("highpass", "lowpass"):
            band["gain_db"] = gain
        out.append(band)
    return {"type": "eq", "bands": out}


def track_chain() -> list[dict]:
    return [eq_entry(TRACK_EQ), {"type": "compressor", **TRACK_COMP}]


def master_chain() -> list[dict]:
    return [eq_entry(MASTER_EQ), {"type": "compressor", **MASTER_COMP}, {"type": "limiter", **LIMITER}]


def session_toml(sources: list[Path], base: Path, reverb_sends: bool = True) -> str:
    """R1 as mixcore session text; ``sources`` (16 files) are written relative to ``base``.

    ``reverb_sends=False`` is the variant without the sends to the reverb bus (which stays, silent):
    the reverbs of the renderers are different algorithms, so their outputs are compared without it.
    """
    if len(sources) != 16:
        raise ValueError(f"R1 has 16 tracks, got {len(sources)} sources")
    lines = ["# R1, the reference session for performance work (benchmarks/r1_session.py)",
             f"sample_rate = {SR}", "tail_s = 0.0", ""]
    for t, src in enumerate(sources):
        rel = Path(os.path.relpath(Path(src).resolve(), Path(base).resolve())).as_posix()
        sends = [{"to": bus, "level_db": SEND_DB, "pre_fader": False} for bus in track_sends(t, reverb_sends)]
        lines += ["[[tracks]]", f'name = "t{t:02d}"', f"source = {_value(rel)}",
                  f"gain_db = {_value(TRACK_GAIN_DB[t])}", f"pan = {_value(TRACK_PAN[t])}",
                  f"output = {_value(track_output(t))}", f"sends = {_value(sends)}",
                  f"chain = {_value(track_chain())}", ""]
    buses = [("drums", {"type": "compressor", **BUS_COMP["drums"]}),
             ("music", {"type": "compressor", **BUS_COMP["music"]}),
             ("reverb", {"type": "reverb", **REVERB}),
             ("delay", {"type": "delay", **DELAY})]
    for name, proc in buses:
        lines += ["[[buses]]", f"name = {_value(name)}", f"chain = {_value([proc])}", 'output = "master"', ""]
    lines += ["[master]", f"chain = {_value(master_chain())}", ""]
    return "\n".join(lines)


def write_session(folder: Path, sources: list[Path], reverb_sends: bool = True) -> Path:
    """Write ``folder/r1.toml`` (or ``r1-noreverb.toml``) for ``sources`` and return its path."""
    path = Path(folder) / ("r1.toml" if reverb_sends else "r1-noreverb.toml")
    path.write_text(session_toml(sources, path.parent, reverb_sends))
    return path


if __name__ == "__main__":
    from r1_material import write_material

    ap = argparse.ArgumentParser(description="write R1's material and mixcore session files")
    ap.add_argument("folder", type=Path)
    ap.add_argument("--seconds", type=float, default=60.0)
    a = ap.parse_args()
    stems = write_material(a.folder, a.seconds)
    print(write_session(a.folder, stems))
    print(write_session(a.folder, stems, reverb_sends=False))
