"""Write the demo project: stems (WAV) plus ``session.toml`` using every routing feature."""
from __future__ import annotations

from pathlib import Path

import soundfile as sf

from ..errors import MixcoreError
from .synth import SR, STEMS

SECONDS = 32.0

SESSION = """\
# mixcore demo session: 8 synthesised stems, two group buses, reverb and delay
# send buses, a master chain, and a fade-in automated on the pad.
sample_rate = 48000
tempo_bpm = 120
output = "mix.wav"
bit_depth = 24
seed = 0

[[tracks]]
name = "kick"
source = "stems/kick.wav"
output = "drums"
chain = [
  { type = "eq", bands = [ { kind = "highpass", freq_hz = 30.0, q = 0.707 },
                           { kind = "peak", freq_hz = 350.0, gain_db = -3.0, q = 1.2 } ] },
  { type = "compressor", threshold_db = -12.0, ratio = 3.0, attack_ms = 8.0, release_ms = 80.0 },
]

[[tracks]]
name = "snare"
source = "stems/snare.wav"
output = "drums"
gain_db = -2.0
sends = [ { to = "verb", level_db = -10.0 } ]
chain = [ { type = "eq", bands = [ { kind = "peak", freq_hz = 3500.0, gain_db = 2.0, q = 0.8 } ] } ]

[[tracks]]
name = "hats"
source = "stems/hats.wav"
output = "drums"
gain_db = -6.0
pan = 0.35

[[tracks]]
name = "perc"
source = "stems/perc.wav"
output = "drums"
gain_db = -8.0
pan = -0.45
sends = [ { to = "delay", level_db = -14.0 } ]

[[tracks]]
name = "bass"
source = "stems/bass.wav"
gain_db = -3.0
chain = [
  { type = "eq", bands = [ { kind = "highpass", freq_hz = 35.0, q = 0.707 },
                           { kind = "lowpass", freq_hz = 5000.0, q = 0.707 } ] },
  { type = "compressor", threshold_db = -18.0, ratio = 4.0, attack_ms = 10.0, release_ms = 120.0, knee_db = 6.0 },
]

[[tracks]]
name = "chords"
source = "stems/chords.wav"
output = "music"
gain_db = -7.0
sends = [ { to = "verb", level_db = -12.0 } ]
chain = [ { type = "eq", bands = [ { kind = "highpass", freq_hz = 150.0, q = 0.707 } ] },
          { type = "width", width = 1.3 } ]

[[tracks]]
name = "pad"
source = "stems/pad.wav"
output = "music"
gain_db = -9.0
sends = [ { to = "verb", level_db = -8.0, pre_fader = true } ]

[[tracks]]
name = "lead"
source = "stems/lead.wav"
gain_db = -4.0
pan = 0.1
sends = [ { to = "delay", level_db = -10.0 }, { to = "verb", level_db = -14.0 } ]
chain = [ { type = "compressor", threshold_db = -20.0, ratio = 3.0, attack_ms = 5.0, release_ms = 60.0 } ]

[[buses]]
name = "drums"
chain = [ { type = "compressor", threshold_db = -15.0, ratio = 3.0, attack_ms = 10.0, release_ms = 100.0 } ]

[[buses]]
name = "music"
chain = [ { type = "eq", bands = [ { kind = "peak", freq_hz = 400.0, gain_db = -2.0, q = 0.9 } ] } ]

[[buses]]
name = "verb"
chain = [ { type = "reverb", room_size = 0.7, decay_s = 1.8, damping = 0.5, predelay_ms = 20.0, mix = 1.0 } ]

[[buses]]
name = "delay"
chain = [ { type = "delay", time_beats = 0.75, feedback = 0.35, mix = 1.0, lowpass_hz = 4500.0 } ]
gain_db = -3.0

[master]
chain = [
  { type = "eq", bands = [ { kind = "lowshelf", freq_hz = 100.0, gain_db = 1.5, q = 0.707 },
                           { kind = "highshelf", freq_hz = 10000.0, gain_db = 1.0, q = 0.707 } ] },
  { type = "compressor", threshold_db = -12.0, ratio = 2.0, attack_ms = 10.0, release_ms = 200.0 },
  { type = "limiter", ceiling_dbtp = -1.0, release_ms = 100.0, lookahead_ms = 5.0 },
]

[[automation]]
target = "pad.gain_db"
points = [ [0.0, -40.0], [6.0, -9.0] ]
"""


def write_demo_project(folder: Path, seconds: float = SECONDS, force: bool = False) -> Path:
    """Synthesise the stems into ``folder/stems`` and write ``folder/session.toml``; return its path.

    A file already there that differs from what the demo writes (an edited ``session.toml``, a stem
    replaced by a recording) is kept and the call fails with one line naming it, unless ``force``.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise MixcoreError(f"{folder}: exists and is not a folder")
    (folder / "stems").mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []  # (temporary file, target)
    try:
        for name, make in STEMS.items():
            target = folder / "stems" / f"{name}.wav"
            tmp = target.with_name(f".{target.name}.part")
            staged.append((tmp, target))
            sf.write(str(tmp), make(seconds).T, SR, subtype="FLOAT", format="WAV")
        session = folder / "session.toml"
        tmp = session.with_name(f".{session.name}.part")
        staged.append((tmp, session))
        tmp.write_text(SESSION, encoding="utf-8")
        changed = [t for p, t in staged if t.exists() and not _same(p, t)]
        if changed and not force:
            names = ", ".join(str(t.relative_to(folder)) for t in changed)
            raise MixcoreError(f"{folder}: {names} {'differs' if len(changed) == 1 else 'differ'} from what the "
                               f"demo writes (edited?); not overwritten: use --force to overwrite, or another folder")
        for p, t in staged:
            p.replace(t)
    finally:
        for p, _t in staged:
            p.unlink(missing_ok=True)
    return session


def _same(new: Path, old: Path) -> bool:
    """Whether ``old`` holds what the demo writes into ``new``: the same text, or the same samples (a WAV's
    bytes also hold the time it was written, in libsndfile's PEAK chunk)."""
    if new.name.endswith(".toml.part"):
        return old.read_bytes() == new.read_bytes()
    try:
        a, sr_a = sf.read(str(new), dtype="float32", always_2d=True)
        b, sr_b = sf.read(str(old), dtype="float32", always_2d=True)
    except RuntimeError:  # soundfile.LibsndfileError: not audio (any more)
        return False
    return sr_a == sr_b and a.shape == b.shape and bool((a == b).all())
