"""A session file is untrusted data (issue #13): where it may write, what it may read, how it is
parsed and how its values are quoted in errors. Every case runs the CLI as a user would."""
from __future__ import annotations

import os
import resource
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import cli, noise, read, write

import mixcore
from mixcore.errors import MixcoreError

TRACK = '[[tracks]]\nname = "a"\nsource = "a.wav"\n'


def one_line_error(r: subprocess.CompletedProcess) -> str:
    """The CLI failed with exit 2 and exactly one line on stderr (returned)."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr[:2000]
    assert lines[0].startswith("mixcore: error: "), lines[0][:2000]
    return lines[0]


def project(tmp_path: Path, text: str, frames: int = 4800) -> Path:
    """A session folder ``song`` (session.toml + a.wav) inside tmp_path."""
    song = tmp_path / "song"
    song.mkdir()
    write(song / "a.wav", noise(frames, 2))
    (song / "session.toml").write_text(text)
    return song / "session.toml"


def _limited(gb: float):
    """preexec_fn: cap the address space, so that old code fails fast instead of eating the machine."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (int(gb * 2**30), int(gb * 2**30)))
    return limit


def run_cli(*args, cwd, gb: float = 4.0, home: Path | None = None):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(mixcore.__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "mixcore", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, preexec_fn=_limited(gb))


# -- paths a session writes --------------------------------------------------

@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink", "home"])
def test_session_output_outside_its_folder_is_refused(tmp_path, how):
    (tmp_path / "elsewhere").mkdir()
    target = tmp_path / "elsewhere" / "x.wav"
    value = {"absolute": str(target), "dotdot": "../elsewhere/x.wav", "symlink": "link/x.wav",
             "home": "~/x.wav"}[how]
    s = project(tmp_path, f"output = {value!r}\n".replace("'", '"') + TRACK)
    if how == "symlink":
        (s.parent / "link").symlink_to(tmp_path / "elsewhere")
    # HOME is the folder "elsewhere" (old code wrote there)
    line = one_line_error(run_cli("render", s.name, cwd=s.parent, home=tmp_path / "elsewhere"))
    assert f"session.toml: output: '{value}' is outside the session's folder" in line, line
    assert list((tmp_path / "elsewhere").iterdir()) == []
    if how == "absolute":  # -o is the user's own choice: anywhere; a path inside the folder is fine
        r = cli("render", s.name, "-o", target, "-q", cwd=s.parent)
        assert r.returncode == 0 and target.exists(), r.stderr
        (s.parent / "session.toml").write_text('output = "./mix.wav"\n' + TRACK)
        r = cli("render", s.name, "-q", cwd=s.parent)
        assert r.returncode == 0 and (s.parent / "mix.wav").exists(), r.stderr


def test_python_session_output_is_checked_against_base_dir(tmp_path):
    from mixcore import Session

    write(tmp_path / "a.wav", noise(4800, 2))
    s = Session(base_dir=tmp_path, output="../x.wav", tracks=[{"name": "a", "source": "a.wav"}])
    with pytest.raises(MixcoreError, match=r"^output: '\.\./x\.wav' is outside the session's folder"):
        s.render()
    assert not (tmp_path.parent / "x.wav").exists()


def test_batch_job_takes_no_escaping_output_from_a_session(tmp_path):
    from mixcore.batch.jobs import load_jobs

    s = project(tmp_path, 'output = "../../stolen.wav"\n' + TRACK)
    (tmp_path / "jobs.toml").write_text('[[jobs]]\nsession = "song/session.toml"\n')
    (job,) = load_jobs(tmp_path / "jobs.toml")
    assert job.output is None  # the worker renders the session's own output: and refuses it
    (s.parent / "session.toml").write_text('output = "mix.wav"\n' + TRACK)
    (job,) = load_jobs(tmp_path / "jobs.toml")
    assert job.output == (s.parent / "mix.wav").resolve()


@pytest.mark.parametrize("text, pattern", [
    ('[[tracks]]\nname = "kick\\n"\nsource = "a.wav"\n', "tracks[0].name: a name uses only letters"),
    (TRACK + 'chain = [{ type = "eq", bands = [{ kind = "peak", freq_hz = 1000.0, gain_db = 1.0 }] }]\n'
     '[[automation]]\ntarget = "a.eq.bands[0].gain_db\\n"\npoints = [[0.0, 1.0]]\n',
     "automation[0].target: processor 'eq' has no parameter 'bands[0].gain_db\\n'"),
])
def test_names_with_a_trailing_newline_are_refused(tmp_path, text, pattern):
    s = project(tmp_path, text)
    line = one_line_error(cli("render", s.name, "-o", "mix.wav", cwd=s.parent))
    assert pattern in line, line
    assert not (s.parent / "mix.wav").exists()


# -- what a session reads ----------------------------------------------------

FIFO_CASES = {
    "source": ('[[tracks]]\nname = "a"\nsource = "pipe"\n', "tracks[0].source"),
    "midi": (TRACK + '[[midi]]\nfile = "pipe"\nmap = [{ cc = 1, target = "a.gain_db" }]\n', "midi[0].file"),
    "ir": (TRACK + 'chain = [{ type = "convolution", ir = "pipe" }]\n', "tracks[0].chain[0].ir"),
    "pedalboard ir": (TRACK + 'chain = [{ type = "pedalboard", name = "Convolution", params = { impulse_response_filename'
                      ' = "pipe" } }]\n', "tracks[0].chain[0].params.impulse_response_filename"),
    "preset": (TRACK + 'chain = [{ preset = "pipe.toml" }]\n', "tracks[0].chain[0].preset"),
}


@pytest.mark.parametrize("key", list(FIFO_CASES))
def test_fifo_is_refused_at_once(tmp_path, key):
    song = tmp_path / "song"
    song.mkdir()
    write(song / "a.wav", noise(4800, 2))
    text, where = FIFO_CASES[key]
    name = "pipe.toml" if key == "preset" else "pipe"
    os.mkfifo(song / name)
    (song / "s.toml").write_text(text)
    line = one_line_error(cli("render", "s.toml", "-o", "mix.wav", cwd=song, timeout=20))
    assert f"{where}: " in line and f"{name} is a FIFO, not a regular file" in line, line


@pytest.mark.parametrize("text, where", [
    ('[[tracks]]\nname = "a"\nsource = "a\\u0000.wav"\n', "tracks[0].source: a file name holds no NUL character"),
    ('output = "x\\u0000.wav"\n' + TRACK, "output: a file name holds no NUL character"),
    (TRACK + 'chain = [{ type = "convolution", ir = "i\\u0000.wav" }]\n', "tracks[0].chain[0].ir: |.wav' is not a valid file name"),
])
def test_nul_in_a_file_name_is_named(tmp_path, where, text):
    s = project(tmp_path, text)
    line = one_line_error(cli("render", s.name, *(["-o", "mix.wav"] if "output" not in text else []), cwd=s.parent))
    assert all(part in line for part in where.split("|")), line


def test_device_source_is_refused(tmp_path):
    s = project(tmp_path, '[[tracks]]\nname = "a"\nsource = "/dev/zero"\n')
    line = one_line_error(cli("render", s.name, "-o", "mix.wav", cwd=s.parent, timeout=60))
    assert "tracks[0].source: /dev/zero is a device, not a regular file" in line, line


def _with_rate(path: Path, rate: int) -> Path:
    """A valid float WAV whose fmt chunk then claims ``rate`` Hz."""
    sf.write(str(path), noise(4800, 2).T, 48000, subtype="FLOAT")
    b = bytearray(path.read_bytes())
    i = b.index(b"fmt ")
    b[i + 12:i + 16] = struct.pack("<I", rate)
    path.write_bytes(bytes(b))
    assert sf.info(str(path)).samplerate == rate
    return path


@pytest.mark.parametrize("rate", [1, 100, 1_000_000])
def test_source_with_implausible_rate_is_refused(tmp_path, rate):
    s = project(tmp_path, 'sample_rate = 48000\n[[tracks]]\nname = "a"\nsource = "r.wav"\n')
    _with_rate(s.parent / "r.wav", rate)
    line = one_line_error(run_cli("render", s.name, "-o", "mix.wav", cwd=s.parent))
    assert f"tracks[0].source: r.wav: its header claims {rate} Hz; sample rates run 8000 .. 768000 Hz" \
        in line, line
    assert not (s.parent / "mix.wav").exists()


@pytest.mark.parametrize("cmd", ["analyze", "master"])
def test_analyze_and_master_refuse_implausible_rate(tmp_path, cmd):
    _with_rate(tmp_path / "r.wav", 1_000_000)
    args = ["analyze", "r.wav"] if cmd == "analyze" else ["master", "r.wav", "-o", "m.wav"]
    line = one_line_error(run_cli(*args, cwd=tmp_path))
    assert "r.wav" in line and "claims 1000000 Hz" in line, line
    assert not (tmp_path / "m.wav").exists()


def _garbage(path: Path) -> Path:
    # random bytes: libsndfile tries them as MPEG (libmpg123 prints to stderr) and says "File does not exist"
    path.write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 2000, dtype=np.uint8)))
    return path


@pytest.mark.parametrize("cmd", ["render", "analyze"])
def test_garbage_header_is_one_line(tmp_path, cmd):
    s = project(tmp_path, '[[tracks]]\nname = "a"\nsource = "g.wav"\n')
    _garbage(s.parent / "g.wav")
    args = ["render", s.name, "-o", "mix.wav"] if cmd == "render" else ["analyze", "g.wav"]
    line = one_line_error(cli(*args, cwd=s.parent))  # one line: libmpg123's own line is gone too
    assert "not an audio file soundfile can read (unknown or damaged header)" in line \
        or "not a readable audio file (unknown or damaged header)" in line, line
    assert "does not exist" not in line
    if cmd == "render":
        assert line.startswith("mixcore: error: session.toml: tracks[0].source: g.wav: "), line


# -- many sources ------------------------------------------------------------

N_MANY = 1500
FRAMES = 4800  # more than two small read chunks: files are opened again and sought


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    d = tmp_path_factory.mktemp("many")
    (d / "stems").mkdir()
    rng = np.random.default_rng(7)
    total = np.zeros((2, FRAMES), np.float64)
    lines = ['sample_rate = 48000\ntail_s = 0.0\n']
    for i in range(N_MANY):
        x = (rng.standard_normal((2, FRAMES)) * 0.01).astype(np.float32)
        total += x
        write(d / "stems" / f"s{i}.wav", x)
        lines.append(f'[[tracks]]\nname = "t{i}"\nsource = "stems/s{i}.wav"\n')
    (d / "many.toml").write_text("\n".join(lines))
    return d, total


def _run_child(code: str, cwd: Path, nofile: int | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(mixcore.__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")

    def limit():
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, preexec_fn=limit)


def test_more_sources_than_open_files_render_correctly(many):
    d, total = many
    r = _run_child("import sys\nfrom mixcore.cli.main import main\n"
                   "sys.exit(main(['render', 'many.toml', '-o', 'limited.wav', '-q']))", d, nofile=256)
    assert r.returncode == 0, r.stderr[-2000:]
    y = read(d / "limited.wav")
    assert y.shape == total.shape
    np.testing.assert_allclose(y, total, atol=1e-5)
    r = cli("render", "many.toml", "-o", "free.wav", "-q", "--block-size", "777", cwd=d)
    assert r.returncode == 0, r.stderr
    assert (d / "free.wav").read_bytes() == (d / "limited.wav").read_bytes()


def test_long_sources_beyond_the_open_file_limit(tmp_path):
    """Files longer than a read chunk, more of them than the process may open: each is opened
    again (and sought) for every chunk, with the same bytes as an unlimited render."""
    (tmp_path / "stems").mkdir()
    rng = np.random.default_rng(3)
    lines = ['sample_rate = 48000\ntail_s = 0.0\n']
    for i in range(100):
        rate = 44100 if i % 10 == 0 else 48000  # a few are resampled (their chunks stay 65536 frames)
        x = (rng.standard_normal(66_000) * 0.01).astype(np.float32)
        sf.write(str(tmp_path / "stems" / f"s{i}.flac" if i % 2 else tmp_path / "stems" / f"s{i}.wav"), x, rate,
                 subtype="PCM_16")
        lines.append(f'[[tracks]]\nname = "t{i}"\nsource = "stems/s{i}.{"flac" if i % 2 else "wav"}"\n')
    (tmp_path / "long.toml").write_text("\n".join(lines))
    r = _run_child("import sys\nfrom mixcore.cli.main import main\n"
                   "sys.exit(main(['render', 'long.toml', '-o', 'limited.wav', '-q']))", tmp_path, nofile=64)
    assert r.returncode == 0, r.stderr[-2000:]
    r = cli("render", "long.toml", "-o", "free.wav", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "free.wav").read_bytes() == (tmp_path / "limited.wav").read_bytes()
    assert read(tmp_path / "free.wav").std() > 0.05


def test_many_sources_peak_memory_is_bounded(many):
    """1500 tracks of 4800 frames on two threads: peak RSS stays far below what 16k-frame blocks and
    pipeline slots for every node need (~900 MB before; ~250 MB with a smaller block and one thread)."""
    d, _ = many
    code = ("import resource, subprocess, sys\n"
            "r = subprocess.run([sys.executable, '-m', 'mixcore', 'render', 'many.toml', '-o', 'm.wav', '-q',"
            " '--threads', '2'])\n"
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    r = _run_child(code, d)
    rc, kb = map(int, r.stdout.split())
    assert rc == 0, r.stderr[-2000:]
    print(f"peak RSS {kb / 1024:.0f} MB")
    assert kb < 500 * 1024, f"peak RSS {kb / 1024:.0f} MB"


# -- error lines stay short ----------------------------------------------------

HUGE = "x" * 1_000_000


@pytest.mark.parametrize("text, where", [
    (TRACK + f'chain = [{{ type = "{HUGE}" }}]\n', "tracks[0].chain[0].type: unknown processor type 'xxx"),
    (TRACK + f'chain = [{{ type = "compressor", threshold_db = "{HUGE}" }}]\n',
     "tracks[0].chain[0].threshold_db: expected a number"),
    (TRACK + f'chain = [{{ type = "compressor", {HUGE} = 1.0 }}]\n', "tracks[0].chain[0].xxx"),
    (TRACK + f'[[automation]]\ntarget = "{HUGE}"\npoints = [[0.0, 1.0]]\n', "automation[0].target: 'xxx"),
    (TRACK + f'[[automation]]\ntarget = "a.{HUGE}"\npoints = [[0.0, 1.0]]\n', "automation[0].target: 'xxx"),
    (TRACK + f'[[automation]]\ntarget = "a.gain_db"\npoints = [[0.0, 1.0]]\n{HUGE} = 1\n', "automation[0].xxx"),
    (TRACK + f'chain = [{{ type = "pedalboard", name = "Gain", params = {{ gain_db = "{HUGE}" }} }}]\n',
     "tracks[0].chain[0].params.gain_db: expected a number"),
])
def test_quoted_values_are_cut_to_80_characters(tmp_path, text, where):
    s = project(tmp_path, text)
    line = one_line_error(cli("render", s.name, "-o", "mix.wav", cwd=s.parent))
    assert where in line, line[:300]
    assert len(line) < 400, f"{len(line)} characters: {line[:300]}..."
    quoted = max(len(w) for w in line.replace("'", " ").replace(".", " ").split())
    assert quoted <= 80, line


@pytest.mark.parametrize("value", ["[" * 100_000 + "]" * 100_000, "{a=" * 100_000 + "1" + "}" * 100_000])
def test_deep_nesting_is_one_line(tmp_path, value):
    s = project(tmp_path, TRACK + f"chain = [{{ type = \"eq\", bands = {value} }}]\n")
    line = one_line_error(cli("render", s.name, "-o", "mix.wav", cwd=s.parent))
    assert line == "mixcore: error: session.toml: invalid TOML: arrays or tables nested too deep", line


@pytest.mark.parametrize("depth", [300, 480])
def test_nesting_that_parses_is_reported_short(tmp_path, depth):
    s = project(tmp_path, TRACK + f"chain = [{{ type = \"eq\", bands = {'[' * depth + ']' * depth} }}]\n")
    line = one_line_error(cli("render", s.name, "-o", "mix.wav", cwd=s.parent))
    assert "tracks[0].chain[0].bands[0]: a band is a table" in line and len(line) < 200, line


# -- strict types --------------------------------------------------------------

@pytest.mark.parametrize("setting, expected", [
    ('[[tracks]]\nname = "a"\nsource = "a.wav"\nmute = "yes"\n', "tracks[0].mute: input should be a valid boolean, got 'yes'"),
    ('[[tracks]]\nname = "a"\nsource = "a.wav"\nmute = 1\n', "tracks[0].mute: input should be a valid boolean, got 1"),
    ('[[tracks]]\nname = "a"\nsource = "a.wav"\ngain_db = "3"\n', "tracks[0].gain_db: input should be a valid number, got '3'"),
    ('sample_rate = "48000"\n' + TRACK, "sample_rate: input should be a valid integer, got '48000'"),
    (TRACK + 'chain = [{ type = "pedalboard", name = "BrickwallLimiter", params = { true_peak = 1 } }]\n',
     "tracks[0].chain[0].params.true_peak: expected true or false, got 1"),
])
def test_types_are_not_coerced(tmp_path, setting, expected):
    s = project(tmp_path, setting)
    line = one_line_error(cli("render", s.name, "-o", "mix.wav", cwd=s.parent))
    assert expected in line, line


def test_an_int_is_still_a_float(tmp_path):
    from mixcore import Session

    with pytest.raises(MixcoreError, match=r"^tracks\[0\]\.solo: input should be a valid boolean, got 1$"):
        Session(base_dir=tmp_path, tracks=[{"name": "a", "source": "a.wav", "solo": 1}])
    s = project(tmp_path, 'sample_rate = 48000\n[[tracks]]\nname = "a"\nsource = "a.wav"\ngain_db = 3\npan = 0\n'
                '[[automation]]\ntarget = "a.gain_db"\npoints = [[0, 1], [1, -2]]\n')
    r = cli("render", s.name, "-o", "mix.wav", "-q", cwd=s.parent)
    assert r.returncode == 0, r.stderr
