"""The reference session R1 (../shared/R1.md) as a mixcore session file, SPEC names only."""
from __future__ import annotations

from pathlib import Path

GAINS = [4, 3, 1, 1, 2, 0, -1, 1, 1, 0, 0, -1, -2, -2, -3, -3]
PANS = [0, 0.1, -0.35, 0.35, 0, -0.5, 0.5, 0.25, -0.2, 0.2, -0.6, 0.6, -0.8, 0.8, -0.4, 0.4]


def track_chain() -> str:
    return ('[ { type = "eq", bands = [ { kind = "highpass", freq_hz = 40.0, q = 0.7071 }, '
            '{ kind = "peak", freq_hz = 200.0, gain_db = -3.0, q = 1.0 }, '
            '{ kind = "peak", freq_hz = 2500.0, gain_db = 2.0, q = 0.7 }, '
            '{ kind = "peak", freq_hz = 8000.0, gain_db = 1.5, q = 0.7 } ] }, '
            '{ type = "compressor", threshold_db = -20.0, ratio = 4.0, attack_ms = 5.0, release_ms = 100.0 } ]')


def session_toml(sources: list[Path], base: Path) -> str:
    lines = ["sample_rate = 48000", "tail_s = 0.0", ""]
    for i, src in enumerate(sources):
        out = "drums" if i < 4 else "music" if i < 8 else "master"
        sends = '{ to = "reverb", level_db = -12.0 }'
        if 8 <= i <= 11:
            sends += ', { to = "delay", level_db = -12.0 }'
        lines += ["[[tracks]]", f'name = "t{i:02d}"', f'source = "{Path(src).resolve().relative_to(base.resolve())}"',
                  f"gain_db = {float(GAINS[i])}", f"pan = {float(PANS[i])}", f'output = "{out}"',
                  f"sends = [ {sends} ]", f"chain = {track_chain()}", ""]
    lines += [
        "[[buses]]", 'name = "drums"',
        'chain = [ { type = "compressor", threshold_db = -15.0, ratio = 3.0, attack_ms = 10.0, release_ms = 100.0 } ]', "",
        "[[buses]]", 'name = "music"',
        'chain = [ { type = "compressor", threshold_db = -18.0, ratio = 2.5, attack_ms = 10.0, release_ms = 150.0 } ]', "",
        "[[buses]]", 'name = "reverb"',
        'chain = [ { type = "reverb", room_size = 0.7, damping = 0.5, mix = 1.0 } ]', "",
        "[[buses]]", 'name = "delay"',
        'chain = [ { type = "delay", time_ms = 375.0, feedback = 0.3, mix = 1.0 } ]', "",
        "[master]",
        'chain = [ { type = "eq", bands = [ { kind = "lowshelf", freq_hz = 100.0, gain_db = 1.5, q = 0.7071 }, '
        '{ kind = "highshelf", freq_hz = 10000.0, gain_db = 1.0, q = 0.7071 } ] }, '
        '{ type = "compressor", threshold_db = -12.0, ratio = 2.0, attack_ms = 10.0, release_ms = 200.0 }, '
        '{ type = "limiter", ceiling_dbtp = -1.0, release_ms = 100.0, lookahead_ms = 5.0 } ]', "",
    ]
    return "\n".join(lines)


def write_session(folder: Path, sources: list[Path]) -> Path:
    path = folder / "r1.toml"
    path.write_text(session_toml(sources, folder))
    return path
