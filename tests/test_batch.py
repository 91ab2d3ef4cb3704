"""mixcore batch: jobs files, Ray (one local instance with 2 CPUs for the module), failures, retries."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import ray

import mixcore
from helpers import cli, noise, write
from mixcore.batch import RayOptions, load_jobs, render_job, run_batch
from mixcore.batch.report import failure_lines
from mixcore.errors import MixcoreError
from mixcore.session import load_session

ROOT = Path(mixcore.__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def ray_address():
    """One local Ray (2 CPUs, advertising the custom resource "plugin:Test") shared by the module.

    Its workers import this source tree and this test module (for the crashing render below).
    """
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TESTS), *([old] if old else [])])
    # On a busy machine (CI with 2 cores, other test processes) starting a worker or answering a health
    # check can take far longer than Ray's defaults allow: a late worker registration or a missed
    # health check would turn into a spurious failure that the crash tests below would misread. The
    # timeouts here only wait longer; a worker that really dies is still seen at once (its socket
    # closes), so the crash tests depend on no timing.
    ctx = ray.init(num_cpus=2, resources={"plugin:Test": 1}, include_dashboard=False,
                   logging_level=logging.ERROR, log_to_driver=False,
                   _system_config={"worker_register_timeout_seconds": 600, "health_check_period_ms": 10000,
                                   "health_check_timeout_ms": 60000, "health_check_failure_threshold": 30})
    yield ctx.address_info["gcs_address"]
    ray.shutdown()
    if old is None:
        os.environ.pop("PYTHONPATH")
    else:
        os.environ["PYTHONPATH"] = old


def crashy_render(job):
    """Render like a worker does, but kill the worker process for job 'crash' every time and for job
    'flaky' the first time only (a marker file remembers the first attempt)."""
    if job.name == "crash":
        os._exit(7)
    if job.name == "flaky":
        marker = job.output.with_suffix(".crashed-once")
        if not marker.exists():
            marker.write_text("crashed")
            os._exit(7)
    return render_job(job)


SESSIONS = {
    # name: session text (1 s of audio each); the sources are written by _project
    "s0": 'bit_depth = 24\nseed = 1\n[[tracks]]\nname = "a"\nsource = "a.wav"\n'
          'chain = [ { type = "compressor", threshold_db = -24.0, ratio = 4.0 } ]\n',
    "s1": '[[tracks]]\nname = "a"\nsource = "a.wav"\npan = -0.3\nsends = [ { to = "verb", level_db = -6.0 } ]\n'
          '[[tracks]]\nname = "b"\nsource = "b.wav"\n'
          '[[buses]]\nname = "verb"\nchain = [ { type = "reverb", decay_s = 0.4, mix = 1.0 } ]\n',
    "s2": 'bit_depth = 16\n[[tracks]]\nname = "b"\nsource = "b.wav"\n'
          'chain = [ { type = "eq", bands = [ { kind = "peak", freq_hz = 1000.0, gain_db = 6.0, q = 1.0 } ] } ]\n',
    "s3": '[[tracks]]\nname = "a"\nsource = "a.wav"\nchain = [ { type = "delay", time_ms = 120.0, feedback = 0.4 } ]\n'
          '[master]\nchain = [ { type = "limiter", ceiling_dbtp = -3.0 } ]\n',
}


def _project(tmp_path: Path) -> Path:
    write(tmp_path / "a.wav", noise(48000, 2, seed=11))
    write(tmp_path / "b.wav", noise(48000, 1, seed=12))
    for name, text in SESSIONS.items():
        (tmp_path / f"{name}.toml").write_text(text)
    return tmp_path


def sha(p: Path) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def test_four_jobs_give_the_bytes_of_local_renders(ray_address, tmp_path):
    _project(tmp_path)
    (tmp_path / "jobs.toml").write_text(
        '[defaults]\nblock_size = 1000\n'
        '[[jobs]]\nsession = "s0.toml"\noutput = "out/s0.wav"\nseed = 5\n'
        '[[jobs]]\nsession = "s1.toml"\noutput = "out/s1.wav"\nstems = "out/s1-stems"\nthreads = 2\n'
        '[[jobs]]\nsession = "s2.toml"\noutput = "out/s2.flac"\nblock_size = 64\n'
        '[[jobs]]\nname = "needs-plugin"\nsession = "s3.toml"\noutput = "out/s3.aiff"\n'
        'resources = { "plugin:Test" = 1 }\n')
    results = run_batch(load_jobs(tmp_path / "jobs.toml"))
    assert [r.status for r in results] == ["ok"] * 4, [r.error for r in results]
    # reference renders, here in this process: the seed job from a session file that sets the seed
    (tmp_path / "s0-seed5.toml").write_text(SESSIONS["s0"].replace("seed = 1", "seed = 5"))
    ref = tmp_path / "ref"
    ref.mkdir()
    load_session(tmp_path / "s0-seed5.toml").render(ref / "s0.wav", meter=False)
    load_session(tmp_path / "s1.toml").render(ref / "s1.wav", stems=ref / "s1-stems", meter=False)
    load_session(tmp_path / "s2.toml").render(ref / "s2.flac", meter=False)
    load_session(tmp_path / "s3.toml").render(ref / "s3.aiff", meter=False)
    for r, name in zip(results, ("s0.wav", "s1.wav", "s2.flac", "s3.aiff")):
        assert Path(r.output) == tmp_path / "out" / name
        assert sha(tmp_path / "out" / name) == sha(ref / name) == r.sha256, name
    for stem in ("a.wav", "b.wav"):
        assert sha(tmp_path / "out/s1-stems" / stem) == sha(ref / "s1-stems" / stem)
    # the seed override took effect: the session's own seed dithers differently
    load_session(tmp_path / "s0.toml").render(ref / "s0-seed1.wav", meter=False)
    assert sha(ref / "s0-seed1.wav") != sha(ref / "s0.wav")
    assert not list((tmp_path / "out").glob(".*.part"))


def test_folder_of_sessions_into_a_dir(ray_address, tmp_path):
    _project(tmp_path)
    (tmp_path / "songs").mkdir()
    for name in ("s1", "s2"):
        (tmp_path / "songs" / f"{name}.toml").write_text(SESSIONS[name].replace('"a.wav"', '"../a.wav"')
                                                         .replace('"b.wav"', '"../b.wav"'))
    jobs = load_jobs(tmp_path / "songs", tmp_path / "renders")
    assert [j.name for j in jobs] == ["s1", "s2"]
    results = run_batch(jobs)
    assert all(r.status == "ok" for r in results)
    for name in ("s1", "s2"):
        load_session(tmp_path / f"{name}.toml").render(tmp_path / f"{name}-local.wav", meter=False)
        assert sha(tmp_path / "renders" / f"{name}.wav") == sha(tmp_path / f"{name}-local.wav")


def test_failed_jobs_are_reported_and_the_others_succeed(ray_address, tmp_path):
    _project(tmp_path)
    (tmp_path / "broken.toml").write_text('[[tracks]]\nname = "a"\nsource = "missing.wav"\n')
    (tmp_path / "jobs.toml").write_text(
        '[[jobs]]\nname = "good1"\nsession = "s0.toml"\noutput = "out/good1.wav"\n'
        '[[jobs]]\nname = "missing"\nsession = "broken.toml"\noutput = "out/missing.wav"\n'
        '[[jobs]]\nname = "crash"\nsession = "s1.toml"\noutput = "out/crash.wav"\n'
        '[[jobs]]\nname = "flaky"\nsession = "s2.toml"\noutput = "out/flaky.wav"\n'
        '[[jobs]]\nname = "good2"\nsession = "s3.toml"\noutput = "out/good2.wav"\n')
    seen = []
    results = run_batch(load_jobs(tmp_path / "jobs.toml"), retries=2, render=crashy_render,
                        progress=lambda r, done, total: seen.append((r.job.name, done, total)))
    by = {r.job.name: r for r in results}
    assert [r.job.name for r in results] == ["good1", "missing", "crash", "flaky", "good2"]
    assert sorted(n for n, _, _ in seen) == sorted(by) and [d for _, d, _ in seen] == [1, 2, 3, 4, 5]
    assert by["good1"].status == by["good2"].status == "ok" and by["good1"].attempts == 1
    # a session error is the user's: reported at once, never retried
    m = by["missing"]
    assert (m.status, m.kind, m.attempts) == ("failed", "error", 1)
    assert "tracks[0].source: file not found" in m.error and "missing.wav" in m.error
    # a worker that dies every time: retried, then reported as a crash
    c = by["crash"]
    assert (c.status, c.kind, c.attempts) == ("failed", "crash", 3) and "worker process died" in c.error
    # a worker that dies once: the retry renders it, the same bytes as a local render
    f = by["flaky"]
    assert (f.status, f.attempts) == ("ok", 2)
    load_session(tmp_path / "s2.toml").render(tmp_path / "flaky-local.wav", meter=False)
    assert sha(tmp_path / "out/flaky.wav") == sha(tmp_path / "flaky-local.wav")
    assert not (tmp_path / "out/crash.wav").exists() and not (tmp_path / "out/missing.wav").exists()
    lines = failure_lines(results)
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert lines[0].startswith("mixcore: job 'missing' (jobs[1], ") and "broken.toml: tracks[0].source" in lines[0]
    assert lines[1].startswith("mixcore: job 'crash' (jobs[2], ") and "crashed after 3 attempts" in lines[1]


def test_cli_on_a_cluster_address_json_resources_and_exit_code(ray_address, tmp_path):
    _project(tmp_path)
    (tmp_path / "typo.toml").write_text('[[tracks]]\nname = "a"\nsource = "a.wav"\ngian_db = 1.0\n')
    (tmp_path / "jobs.toml").write_text(
        '[[jobs]]\nsession = "s0.toml"\noutput = "out/s0.wav"\n'
        '[[jobs]]\nsession = "typo.toml"\noutput = "out/typo.wav"\n'
        '[[jobs]]\nname = "here"\nsession = "s1.toml"\noutput = "out/here.wav"\nresources = { "plugin:Test" = 1 }\n'
        '[[jobs]]\nname = "nowhere"\nsession = "s2.toml"\noutput = "out/nowhere.wav"\n'
        'resources = { "plugin:FabFilter" = 1 }\n')
    r = cli("batch", "jobs.toml", "--address", ray_address, "--workers", "1", "--json", "--retries", "1", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout)
    jobs = {j["name"]: j for j in summary["jobs"]}
    assert (summary["ok"], summary["failed"], summary["workers"]) == (2, 2, 1)
    assert jobs["s0.toml"]["status"] == jobs["here"]["status"] == "ok"
    assert jobs["s0.toml"]["sha256"] == sha(tmp_path / "out/s0.wav")
    assert jobs["typo.toml"]["kind"] == "error" and jobs["typo.toml"]["attempts"] == 1
    assert "tracks[0].gian_db: unknown key (did you mean 'gain_db'?)" in jobs["typo.toml"]["error"]
    assert jobs["nowhere"]["kind"] == "error" and "plugin:FabFilter" in jobs["nowhere"]["error"]
    assert "ray start --resources" in jobs["nowhere"]["error"]
    fails = [line for line in r.stderr.splitlines() if line.startswith("mixcore: job ")]
    assert len(fails) == 2 and "'typo.toml'" in fails[0] and "'nowhere'" in fails[1], r.stderr
    # the table form: one row per job
    r = cli("batch", "jobs.toml", "--address", ray_address, "-q", cwd=tmp_path)
    assert r.returncode == 1
    assert all(name in r.stdout for name in ("s0.toml", "typo.toml", "here", "nowhere", "FAILED (error)"))
    assert "2 of 4 jobs rendered" in r.stdout


@pytest.mark.parametrize("text, message", [
    ('[[jobs]]\nsesion = "a.toml"\n', "jobs.toml: jobs[0].sesion: unknown key (did you mean 'session'?)"),
    ('[[jobs]]\noutput = "a.wav"\n', "jobs.toml: jobs[0].session: required key is missing"),
    ('[[jobs]]\nsession = "a.toml"\nblock_size = 0\n', "jobs.toml: jobs[0].block_size: input should be greater"),
    ('[defaults]\nthread = 2\n[[jobs]]\nsession = "a.toml"\n', "jobs.toml: defaults.thread: unknown key (did you mean 'threads'?)"),
    ('jobs = []\n', "jobs.toml: jobs: list should have at least 1 item"),
    ('[[jobs]]\nsession = "a.toml"\nresources = { CPU = 1 }\n', "jobs[0].resources: 'CPU' is a built-in Ray resource"),
    ('[[jobs]]\nsession = "a.toml"\nresources = { "plugin:X" = 0 }\n', "jobs[0].resources: resource 'plugin:X': amount 0.0"),
    ('[[jobs]]\nsession = "a.toml"\noutput = "x.wav"\n[[jobs]]\nsession = "b.toml"\noutput = "./x.wav"\n',
     "jobs[1].output: {tmp}/x.wav is also written by jobs[0].output"),
    ('[[jobs]]\nname = "n"\nsession = "a.toml"\noutput = "x.wav"\n[[jobs]]\nname = "n"\nsession = "a.toml"\noutput = "y.wav"\n',
     "jobs[1].name: job name 'n' is also used by jobs[0]"),
    ('[[jobs]]\nname = "a b"\nsession = "a.toml"\n', "jobs[0].name: a job name uses only letters"),
    ('[[jobs]\nsession = "a.toml"\n', "jobs.toml: invalid TOML"),
])
def test_bad_jobs_files(tmp_path, text, message):
    (tmp_path / "jobs.toml").write_text(text)
    with pytest.raises(MixcoreError) as e:
        load_jobs(tmp_path / "jobs.toml")
    assert message.replace("{tmp}", str(tmp_path.resolve())) in str(e.value) and "\n" not in str(e.value)


def test_bad_jobs_on_the_command_line(tmp_path):
    (tmp_path / "jobs.toml").write_text('[[jobs]]\nsession = "a.toml"\nthreads = "two"\n')
    r = cli("batch", "jobs.toml", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "mixcore: error: jobs.toml: jobs[0].threads: input should be a valid integer, " \
                       "unable to parse string as an integer, got 'two'\n"
    (tmp_path / "empty").mkdir()
    r = cli("batch", "empty", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr == "mixcore: error: empty: no session files (*.toml) in this folder\n"
    r = cli("batch", "nothing.toml", cwd=tmp_path)
    assert r.returncode == 2 and "nothing.toml: no such jobs file or folder" in r.stderr
    r = cli("batch", "empty", "--resources", "[1]", cwd=tmp_path)
    assert r.returncode == 2 and "--resources" in r.stderr and len(r.stderr.splitlines()) == 1


def test_missing_ray_is_one_line(tmp_path):
    (tmp_path / "s.toml").write_text(SESSIONS["s2"])
    code = ("import sys; sys.modules['ray'] = None\n"
            "from mixcore.cli.main import main\n"
            "sys.exit(main(['batch', '.']))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr == 'mixcore: error: mixcore batch needs Ray: pip install "mixcore[ray]"\n'


def test_infeasible_resources_fail_without_waiting(ray_address, tmp_path):
    _project(tmp_path)
    (tmp_path / "jobs.toml").write_text('[[jobs]]\nsession = "s2.toml"\noutput = "o.wav"\nnum_cpus = 3\n')
    (r,) = run_batch(load_jobs(tmp_path / "jobs.toml"), RayOptions())
    assert r.status == "failed" and r.kind == "error" and "3 CPUs" in r.error


def test_cli_output_dir_for_a_folder_and_a_jobs_file_with_manifests(ray_address, tmp_path):
    """``batch DIR -o OUT`` (every DIR/*.toml -> OUT/<name>.wav) and ``batch jobs.toml -o OUT`` (the base of
    relative outputs) with the job key ``manifest``: its manifest verifies with ``mixcore verify``."""
    _project(tmp_path)
    (tmp_path / "songs").mkdir()
    for name in ("s0", "s2"):
        (tmp_path / "songs" / f"{name}.toml").write_text(SESSIONS[name].replace('"a.wav"', '"../a.wav"')
                                                         .replace('"b.wav"', '"../b.wav"'))
    r = cli("batch", "songs", "-o", "renders", "--address", ray_address, "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "renders").iterdir()) == ["s0.wav", "s2.wav"]
    for name in ("s0", "s2"):
        load_session(tmp_path / f"{name}.toml").render(tmp_path / f"{name}-local.wav", meter=False)
        assert sha(tmp_path / "renders" / f"{name}.wav") == sha(tmp_path / f"{name}-local.wav")
    (tmp_path / "jobs.toml").write_text('[[jobs]]\nname = "m"\nsession = "s3.toml"\noutput = "mix.wav"\n'
                                        'manifest = "manifests/m.json"\n')
    r = cli("batch", "jobs.toml", "-o", "out", "--address", ray_address, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (job,) = json.loads(r.stdout)["jobs"]
    assert job["output"] == str(tmp_path / "out" / "mix.wav") and job["sha256"] == sha(tmp_path / "out" / "mix.wav")
    manifest = json.loads((tmp_path / "out" / "manifests" / "m.json").read_text())
    assert manifest["output"]["sha256"] == job["sha256"]
    v = cli("verify", "out/manifests/m.json", cwd=tmp_path)
    assert v.returncode == 0, v.stdout + v.stderr
