"""Output files are written atomically and get the user's normal file mode (not mkstemp's 0600)."""
from __future__ import annotations

import os
import stat

from helpers import cli, noise, write

from mixcore.atomic import default_mode


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_outputs_have_the_default_file_mode(tmp_path):
    old = os.umask(0o027)  # a umask other than the usual, so the check cannot pass by accident
    try:
        assert default_mode() == 0o640
        write(tmp_path / "mix.wav", noise(48000 * 3, 2, seed=1))
        (tmp_path / "s.toml").write_text('sample_rate = 48000\n[[tracks]]\nname = "a"\nsource = "mix.wav"\n')
        outputs = {
            "render": (("render", "s.toml", "-o", "r.wav", "--stems", "stems", "-q"), ["r.wav", "stems/a.wav"]),
            "master": (("master", "mix.wav", "-o", "m.flac", "--bit-depth", "24", "--report", "rep.html", "-q"),
                       ["m.flac", "rep.html"]),
            "analyze": (("analyze", "mix.wav", "--plot", "a.png"), ["a.png"]),
        }
        for name, (args, files) in outputs.items():
            r = cli(*args, cwd=tmp_path)
            assert r.returncode == 0, (name, r.stderr)
            for f in files:
                assert mode(tmp_path / f) == 0o640, (name, f, oct(mode(tmp_path / f)))
        assert not list(tmp_path.glob(".*.part")) and not list(tmp_path.glob("**/.*.part"))
    finally:
        os.umask(old)
