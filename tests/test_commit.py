"""Commit last: outputs (mix, stems, manifest, master, report) replace existing files only when
everything that can fail has succeeded; folders are made or refused before any work; a truncated WAV
is named in one warning; a full disk is named as such."""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from helpers import cli, noise, write

import mixcore
from mixcore.errors import MixcoreError
from mixcore.processors.base import Processor
from mixcore.processors.registry import register


@register
class FailAtBlock(Processor):
    """For testing purposes: a processor that fails at its third block (a plugin giving up midway)."""

    type_name = "test_fail_third_block"
    PARAMS = ()

    def reset(self):
        self.blocks = 0

    def process(self, block):
        self.blocks += 1
        if self.blocks == 3:
            raise MixcoreError("test_fail_third_block: failed at block 3")


def session(folder: Path, chain: str = "", seconds: float = 0.5) -> Path:
    write(folder / "a.wav", noise(int(48000 * seconds), 2, seed=1))
    write(folder / "b.wav", noise(int(48000 * seconds), 1, seed=2))
    (folder / "s.toml").write_text('block_size = 4096\n[[tracks]]\nname = "a"\nsource = "a.wav"\n'
                                   f'chain = [ {chain} ]\n[[tracks]]\nname = "b"\nsource = "b.wav"\n')
    return folder / "s.toml"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (temporary files included) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def main_in_process(capsys, *args) -> tuple[int, str]:
    from mixcore.cli.main import main

    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def old_outputs(folder: Path) -> None:
    (folder / "stems").mkdir()
    for rel in ("out.wav", "stems/a.wav", "stems/b.wav", "m.json"):
        (folder / rel).write_bytes(b"old " + rel.encode())


def test_a_failed_render_leaves_output_stems_and_manifest_byte_identical(tmp_path, capsys):
    # fails midway, in the render
    session(tmp_path, '{ type = "test_fail_third_block" }')
    old_outputs(tmp_path)
    before = snapshot(tmp_path)
    code, err = main_in_process(capsys, "render", tmp_path / "s.toml", "-o", tmp_path / "out.wav", "--stems",
                                tmp_path / "stems", "--manifest", tmp_path / "m.json", "-q", "--threads", "1")
    assert code == 2 and "failed at block 3" in err, err
    assert snapshot(tmp_path) == before
    # ... and folders it had to make are gone again
    before_dirs = sorted(tmp_path.rglob("*"))
    code, err = main_in_process(capsys, "render", tmp_path / "s.toml", "-o", tmp_path / "new/out.wav", "--stems",
                                tmp_path / "new/stems", "--manifest", tmp_path / "m/m.json", "-q")
    assert code == 2 and "failed at block 3" in err, err
    assert sorted(tmp_path.rglob("*")) == before_dirs
    # fails after the render: the manifest's folder cannot be made (its parent is a file)
    session(tmp_path)
    before = snapshot(tmp_path)
    r = cli("render", "s.toml", "-o", "out.wav", "--stems", "stems", "--manifest", "a.wav/m.json", "-q",
            cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "--manifest" in r.stderr, r.stderr
    assert snapshot(tmp_path) == before


def test_check_failure_keeps_the_old_output(tmp_path, capsys):
    @register
    class Drift(Processor):
        """For testing purposes: adds 1e-3 per block any instance processed before (hidden state)."""

        type_name = "test_drift_commit"
        PARAMS = ()
        blocks = 0

        def process(self, block):
            block += np.float32(1e-3 * Drift.blocks)
            Drift.blocks += 1

    session(tmp_path, '{ type = "test_drift_commit" }')
    old_outputs(tmp_path)
    before = snapshot(tmp_path)
    code, err = main_in_process(capsys, "render", tmp_path / "s.toml", "-o", tmp_path / "out.wav", "--stems",
                                tmp_path / "stems", "--manifest", tmp_path / "m.json", "--check", "-q")
    assert code == 2 and "--check: two renders of" in err, err
    assert snapshot(tmp_path) == before


def test_manifest_equal_to_the_output_or_a_stem_is_refused(tmp_path):
    session(tmp_path)
    old_outputs(tmp_path)
    before = snapshot(tmp_path)
    for args in (["-o", "out.wav", "--manifest", "out.wav"],
                 ["-o", "out.wav", "--stems", "stems", "--manifest", "stems/b.wav"]):
        r = cli("render", "s.toml", *args, cwd=tmp_path)
        assert r.returncode == 2, r.stdout
        assert r.stderr.startswith("mixcore: error: --manifest:") and "output of the render" in r.stderr, r.stderr
        assert snapshot(tmp_path) == before


def test_an_output_that_is_a_folder_is_refused_before_any_work(tmp_path, capsys):
    session(tmp_path, '{ type = "test_fail_third_block" }')  # rendering would fail with another message
    (tmp_path / "dir.wav").mkdir()
    (tmp_path / "dir.json").mkdir()
    before = snapshot(tmp_path)
    code, err = main_in_process(capsys, "render", tmp_path / "s.toml", "-o", tmp_path / "dir.wav")
    assert code == 2 and err.strip().endswith("dir.wav is a folder; give a file name"), err
    code, err = main_in_process(capsys, "render", tmp_path / "s.toml", "-o", tmp_path / "out.wav",
                                "--manifest", tmp_path / "dir.json")
    assert code == 2 and "--manifest:" in err and "dir.json is a folder" in err, err
    assert snapshot(tmp_path) == before
    r = cli("master", "a.wav", "-o", "dir.wav", "--chain", "none", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr == "mixcore: error: -o: dir.wav is a folder; give a file name\n", r.stderr
    assert snapshot(tmp_path) == before


def test_missing_parent_folders_are_made(tmp_path):
    session(tmp_path)
    r = cli("render", "s.toml", "-o", "new/mix/out.wav", "--manifest", "man/m.json", "--stems", "st/x", "-q",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sf.info(str(tmp_path / "new/mix/out.wav")).frames == 24000
    assert (tmp_path / "man/m.json").read_text().startswith("{")
    assert (tmp_path / "st/x/b.wav").is_file()
    r = cli("master", "a.wav", "-o", "mast/m.wav", "--report", "rep/r.html", "--chain", "none", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "mast/m.wav").is_file() and (tmp_path / "rep/r.html").is_file()
    r = cli("analyze", "a.wav", "--plot", "plots/a.png", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "plots/a.png").read_bytes()[:4] == b"\x89PNG"
    r = cli("compare", "a.wav", "b.wav", "-o", "ab/copies", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "ab/copies").iterdir()) == ["A-a.wav", "B-b.wav"]
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]


def test_album_output_with_an_audio_extension_is_refused(tmp_path):
    session(tmp_path)
    write(tmp_path / "c.wav", noise(24000, 2, seed=5))
    r = cli("master", "a.wav", "c.wav", "--album", "-o", "album.wav", "--chain", "none", cwd=tmp_path)
    assert r.returncode == 2, r.stdout
    assert r.stderr.startswith("mixcore: error: -o: album.wav looks like an audio file"), r.stderr
    assert not (tmp_path / "album.wav").exists()


def test_truncated_wav_renders_with_one_warning(tmp_path):
    sf.write(str(tmp_path / "kick.wav"), noise(96000, 1, seed=4).T, 48000, subtype="PCM_16")
    data = (tmp_path / "kick.wav").read_bytes()
    (tmp_path / "kick.wav").write_bytes(data[:44 + 48000 * 2])  # 44-byte header, half of the frames
    (tmp_path / "s.toml").write_text('[[tracks]]\nname = "kick"\nsource = "kick.wav"\n')
    r = cli("render", "s.toml", "-o", "out.wav", "-q", "--manifest", "m.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ("mixcore: warning: tracks[0].source: kick.wav: truncated: header says 96000 frames, "
                        "file holds 48000 (1.000 s missing)\n"), r.stderr
    assert sf.info(str(tmp_path / "out.wav")).frames >= 48000


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, not a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (60000, 60000))


def test_disk_full_names_the_path_and_the_reason(tmp_path):
    session(tmp_path, seconds=2.0)
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)],
                             capture_output=True).returncode == 0
    try:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(Path(mixcore.__file__).resolve().parent.parent)
        r = subprocess.run([sys.executable, "-m", "mixcore", "render", "s.toml", "-o", "small/out.wav", "-q"],
                           cwd=tmp_path, env=env, capture_output=True, text=True,
                           preexec_fn=None if mounted else _limit_file_size)
        reason = "No space left on device" if mounted else "File too large"
        assert r.returncode == 2, r.stderr
        assert r.stderr == f"mixcore: error: output: cannot write small/out.wav: {reason}\n", r.stderr
        assert list(small.iterdir()) == []
    finally:
        if mounted:
            subprocess.run(["umount", str(small)], check=True)
