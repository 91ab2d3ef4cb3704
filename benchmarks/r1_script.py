"""R1 as a peer user's whole script: read the 16 stems, render, write the mix (issue 15, item 6).

    python benchmarks/r1_script.py pedalboard|dawdreamer STEM_DIR OUT.wav [--threads N]

``run_r1.py`` times this whole process from outside (interpreter start, imports, reading the 16
stems with soundfile, building and rendering R1, writing the master as a float WAV), next to the
whole ``mixcore render SESSION -o OUT -q`` process. The render is the same code as the in-process
rows (``r1_pedalboard.render_whole``, ``r1_dawdreamer.build`` + ``render``). The stems are the
folder's ``tNN_role.wav`` files in index order, found by name as a user's script would; the
material module (numpy + scipy synthesis) is deliberately not imported, since a user's script has
no reason to load scipy.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def stems(folder: Path) -> list[Path]:
    found = sorted(p for p in folder.glob("t[0-9][0-9]_*.wav"))
    if len(found) != 16:
        raise SystemExit(f"{folder}: expected R1's 16 stems tNN_*.wav, found {len(found)}")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description="R1 as a pedalboard or DawDreamer script: stems in, mix out")
    ap.add_argument("peer", choices=("pedalboard", "dawdreamer"))
    ap.add_argument("folder", type=Path, help="folder holding R1's 16 stems (r1_session.py DIR)")
    ap.add_argument("out", type=Path, help="output file (float WAV)")
    ap.add_argument("--threads", type=int, default=1, help="pedalboard: threads for the track chains")
    a = ap.parse_args()

    import numpy as np
    import soundfile as sf

    tracks = [np.ascontiguousarray(sf.read(str(p), dtype="float32", always_2d=True)[0].T) for p in stems(a.folder)]
    n = tracks[0].shape[1]
    if a.peer == "pedalboard":
        import r1_pedalboard as rp

        y = rp.render_whole(tracks, a.threads)
    else:
        import r1_dawdreamer as rd

        y = rd.render(rd.build(tracks), n)
    if y.shape != (2, n):
        raise SystemExit(f"{a.peer}: output shape {y.shape}, expected {(2, n)}")
    sf.write(str(a.out), y.T, 48000, subtype="FLOAT")


if __name__ == "__main__":
    main()
