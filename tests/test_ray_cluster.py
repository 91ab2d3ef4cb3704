"""mixcore batch on a real two-node Ray cluster (``ray start``) with token authentication, on this machine.

The head node has 2 CPUs; the second node joins it with 1 CPU and the custom resource "gpuish". Both
run with ``RAY_AUTH_MODE=token`` and a token made here, so the tests also see what a client without
the token gets. Only loopback addresses: Ray turns 127.0.0.1 and "localhost" into the machine's
network address, but keeps other addresses of 127.0.0.0/8 (127.0.0.2 for the head, .3 for the
second node). The nodes run under ``ray start --block`` in their own process groups and are
stopped through those (never ``ray stop``, which stops every Ray on the machine).
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import mixcore
from helpers import noise, write
from mixcore.batch import render_job
from mixcore.session import load_session

ROOT = Path(mixcore.__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
HEAD_IP, NODE_IP = "127.0.0.2", "127.0.0.3"
RAY = [sys.executable, "-m", "ray.scripts.scripts"]


def render_and_record_node(job):
    """Render like every worker does, and write the id of the Ray node that ran the job to OUTPUT.node."""
    import ray

    out = render_job(job)
    Path(f"{job.output}.node").write_text(ray.get_runtime_context().get_node_id())
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(token: str | None = None, **extra: str) -> dict[str, str]:
    """This environment without any Ray address or token settings; with ``token``, token authentication on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_AUTH_", "RAY_ADDRESS"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TESTS), *filter(None, [env.get("PYTHONPATH")])])
    if token is not None:
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    env.update(extra)
    return env


def _start_node(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """``ray start ARGS --block`` in its own process group; returns once Ray says the node runs."""
    with open(log, "wb") as f:
        proc = subprocess.Popen([*RAY, "start", "--block", "--disable-usage-stats", "--object-store-memory",
                                 "100000000", *args], env=env, stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while b"Ray runtime started" not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop([proc])
            pytest.fail(f"ray start {' '.join(args)} did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    return proc


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each ``ray start --block`` (it stops its node's processes), then SIGKILL what is left of its group."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in reversed(procs):
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)  # anything of this node still running?
            except ProcessLookupError:
                break
            time.sleep(0.5)
        else:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            proc.wait()


@pytest.fixture(scope="module")
def cluster():
    """A head node and a second node with {"gpuish": 1}; yields (address, token); always stopped at the end."""
    token = secrets.token_hex(32)
    temp = Path(tempfile.mkdtemp(prefix="mxray", dir="/tmp"))  # short: Ray's socket paths must stay < 108 bytes
    env = _env(token)
    port = _free_port()
    address = f"{HEAD_IP}:{port}"
    procs: list[subprocess.Popen] = []
    try:
        procs.append(_start_node(["--head", "--node-ip-address", HEAD_IP, "--port", str(port), "--num-cpus", "2",
                                  "--include-dashboard", "false",
                                  "--temp-dir", str(temp)], env, temp / "head.log"))
        procs.append(_start_node(["--address", address, "--node-ip-address", NODE_IP, "--num-cpus", "1",
                                  "--resources", '{"gpuish": 1}', "--temp-dir", str(temp)], env, temp / "node.log"))
        wait = ("import logging, sys, time, ray\n"
                "ray.init(address=sys.argv[1], logging_level=logging.ERROR, log_to_driver=False)\n"
                "t = time.monotonic()\n"
                "while sum(n['Alive'] for n in ray.nodes()) < 2 and time.monotonic() - t < 60:\n"
                "    time.sleep(0.2)\n"
                "sys.exit(0 if sum(n['Alive'] for n in ray.nodes()) == 2 else 1)\n")
        r = subprocess.run([sys.executable, "-c", wait, address], env=env, capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, f"the second node did not join: {r.stderr[-2000:]}"
        yield address, token
    finally:
        _stop(procs)
        shutil.rmtree(temp, ignore_errors=True)


SESSIONS = {  # 0.5 s of audio each; the sources are written by _project
    "s0": 'bit_depth = 24\nseed = 3\n[[tracks]]\nname = "a"\nsource = "a.wav"\n'
          'chain = [ { type = "compressor", threshold_db = -24.0, ratio = 4.0 } ]\n',
    "s1": '[[tracks]]\nname = "a"\nsource = "a.wav"\nsends = [ { to = "verb", level_db = -6.0 } ]\n'
          '[[buses]]\nname = "verb"\nchain = [ { type = "reverb", decay_s = 0.3, mix = 1.0 } ]\n',
    "s2": 'bit_depth = 16\n[[tracks]]\nname = "b"\nsource = "b.wav"\n'
          'chain = [ { type = "eq", bands = [ { kind = "peak", freq_hz = 1000.0, gain_db = 6.0, q = 1.0 } ] } ]\n',
    "s3": '[[tracks]]\nname = "b"\nsource = "b.wav"\n[master]\nchain = [ { type = "limiter", ceiling_dbtp = -3.0 } ]\n',
}
# job name -> (session, needs "gpuish")
JOBS = {"g0": ("s0", True), "g1": ("s1", True), "g2": ("s2", True), "plain": ("s3", False)}


def _project(tmp_path: Path) -> Path:
    write(tmp_path / "a.wav", noise(24000, 2, seed=21))
    write(tmp_path / "b.wav", noise(24000, 1, seed=22))
    for name, text in SESSIONS.items():
        (tmp_path / f"{name}.toml").write_text(text)
    lines = []
    for name, (session, gpuish) in JOBS.items():
        lines += ["[[jobs]]", f'name = "{name}"', f'session = "{session}.toml"', f'output = "out/{name}.wav"']
        lines += ['resources = { "gpuish" = 1 }'] if gpuish else []
    (tmp_path / "jobs.toml").write_text("\n".join(lines) + "\n")
    return tmp_path / "jobs.toml"


def _local_sha(tmp_path: Path, session: str) -> str:
    ref = tmp_path / "ref" / f"{session}.wav"
    ref.parent.mkdir(exist_ok=True)
    if not ref.exists():
        load_session(tmp_path / f"{session}.toml").render(ref, meter=False)
    return hashlib.sha256(ref.read_bytes()).hexdigest()


def _batch_cli(tmp_path: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mixcore", "batch", "jobs.toml", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_jobs_that_need_a_resource_run_on_the_node_that_has_it(cluster, tmp_path):
    address, token = cluster
    jobs = _project(tmp_path)
    driver = ("import json, logging, sys, ray\n"
              "from mixcore.batch import RayOptions, load_jobs, run_batch\n"
              "from test_ray_cluster import render_and_record_node\n"
              "ray.init(address=sys.argv[1], logging_level=logging.ERROR, log_to_driver=False)\n"
              "results = run_batch(load_jobs(sys.argv[2]), RayOptions(address=sys.argv[1]), "
              "render=render_and_record_node)\n"
              "nodes = {n['NodeID']: n['Resources'] for n in ray.nodes() if n['Alive']}\n"
              "print(json.dumps({'results': [r.to_json_dict() for r in results], 'nodes': nodes}))\n")
    r = subprocess.run([sys.executable, "-c", driver, address, str(jobs)], env=_env(token), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    (gpuish_node,) = [nid for nid, res in out["nodes"].items() if res.get("gpuish")]
    assert len(out["nodes"]) == 2
    for res in out["results"]:
        name = res["name"]
        session, gpuish = JOBS[name]
        assert res["status"] == "ok", res
        ran_on = Path(f"{res['output']}.node").read_text()
        assert ran_on in out["nodes"]
        if gpuish:
            assert ran_on == gpuish_node, f"{name} needs gpuish but ran on {ran_on}"
        assert res["sha256"] == _local_sha(tmp_path, session) == hashlib.sha256(
            Path(res["output"]).read_bytes()).hexdigest(), name


def test_cli_joins_with_the_token_and_names_the_token_without_it(cluster, tmp_path):
    address, token = cluster
    _project(tmp_path)
    # with the token: every job renders, the same bytes as a local render
    r = _batch_cli(tmp_path, _env(token), "--address", address, "--json", "-q")
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(r.stdout)
    assert (summary["ok"], summary["failed"], summary["address"]) == (4, 0, address)
    for job in summary["jobs"]:
        assert job["sha256"] == _local_sha(tmp_path, JOBS[job["name"]][0]) == hashlib.sha256(
            (tmp_path / "out" / f"{job['name']}.wav").read_bytes()).hexdigest()
    # Ray's own wait for the cluster (20 attempts, 1 s apart) cut to 2 attempts
    quick = {"RAY_gcs_server_port_wait_time_s": "2"}
    head = f"mixcore: error: --address: cannot connect to Ray at {address}: "
    cases = [
        # no token at all (the cluster's token file in ~/.ray is not used with an explicit address)
        (_env(**quick), "the cluster uses token authentication and this process sends no token: set "
                        "RAY_AUTH_MODE=token and RAY_AUTH_TOKEN to the cluster's token (`ray get-auth-token` "
                        "on the head node prints it); see docs/BATCH.md"),
        # a token but RAY_AUTH_MODE unset: Ray does not send it
        (_env(RAY_AUTH_TOKEN=token, **quick), "this process sends no token: set RAY_AUTH_MODE=token"),
        # the wrong token
        (_env("0" * 64, **quick), "the cluster refused this process's token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH "
                                  "or ~/.ray/auth_token): use the cluster's token (`ray get-auth-token`"),
        # token mode without a token anywhere (Ray raises its AuthenticationError before connecting)
        (_env(RAY_AUTH_MODE="token", HOME=str(tmp_path), **quick), "RAY_AUTH_MODE=token but no token found: set "
                                                                   "RAY_AUTH_TOKEN to the cluster's token"),
    ]
    for env, message in cases:
        r = _batch_cli(tmp_path, env, "--address", address, "-q")
        assert r.returncode == 2 and r.stdout == "", r.stderr[-3000:]
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith(head) and message in last, r.stderr[-3000:]
        assert "Traceback" not in r.stderr
