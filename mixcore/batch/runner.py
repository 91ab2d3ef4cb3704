"""Run jobs on Ray: a local instance by default, a cluster with ``address``.

Each job is one Ray task that renders its session with the ordinary
:class:`~mixcore.session.Session` API in a worker process, which loads its own
plugins; the output file is written atomically by the worker, so it is the same
bytes as ``mixcore render`` gives for the same session and options.

Failures are of two kinds, told apart in the worker:

* ``error``: the job itself is wrong (a :class:`~mixcore.errors.MixcoreError`, such as a
  missing source file or a bad key, or a file that cannot be read or written). Rendering it
  again gives the same error, so it is never retried.
* ``crash``: anything else -- an unexpected exception, or the worker process dying (a
  plugin that segfaults, ``os._exit``, a node that goes away). These are retried up to
  ``retries`` times, each time as a new task.

Ray's own retries are off (``max_retries=0``): the driver counts attempts, so the report
can say how many it took.

Plugin folders travel with each task: the folders the driver allows beyond the standard ones
(``MIXCORE_PLUGIN_PATH`` and ``--plugin-path``) are allowed in the worker while it renders the job,
on a cluster node as on this machine (see :mod:`mixcore.hosting.folders`).
"""
from __future__ import annotations

import collections
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MixcoreError
from .jobs import Job

USER_ERRORS = (MixcoreError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


@dataclass
class JobResult:
    job: Job
    status: str  # "ok" or "failed"
    seconds: float = 0.0  # time in the worker (load + render) of the last attempt
    cpu_s: float = 0.0  # CPU time of the worker process (all its threads) in that time
    attempts: int = 0
    kind: str | None = None  # "error" (not retried) or "crash" (retried)
    error: str | None = None  # one line
    node: str | None = None  # host that ran the last attempt
    sha256: str | None = None  # of the output file
    output: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {"name": self.job.name, "session": str(self.job.session), "output": self.output,
                "status": self.status, "seconds": round(self.seconds, 4),
                "cpu_s": round(self.cpu_s, 4), "attempts": self.attempts,
                "kind": self.kind, "error": self.error, "node": self.node, "sha256": self.sha256}


def render_job(job: Job) -> dict[str, Any]:
    """Render one job here (in a worker) with the normal Session API; return what it wrote."""
    from ..render.manifest import sha256_file
    from ..session import load_session

    session = load_session(job.session)
    if job.seed is not None:
        session.model = session.model.model_copy(update={"seed": job.seed})
    from ..render.commit import CommitSet

    with CommitSet() as outputs:  # output, stems and manifest replace existing files together, at the end
        result = session.render(job.output, block_size=job.block_size, threads=job.threads, stems=job.stems,
                                meter=False, commit=outputs)
        if job.manifest is not None:
            from ..render.manifest import write_manifest

            write_manifest(job.manifest, session, result, commit=outputs)
    return {"output": str(result.path), "sha256": sha256_file(result.path)}


def run_task(render: Callable[[Job], dict[str, Any]], job: Job, plugin_path: tuple[str, ...] = ()) -> dict[str, Any]:
    """The body of a Ray task: time the render and classify a failure (user error or crash).

    ``plugin_path``: plugin folders the driver allows, allowed here too while the job renders.
    """
    from ..hosting.folders import plugin_path as allowed

    t0, c0 = time.perf_counter(), time.process_time()
    out: dict[str, Any] = {"node": socket.gethostname()}
    try:
        with allowed(*plugin_path):
            out.update(render(job))
        out["status"] = "ok"
    except USER_ERRORS as e:
        out.update(status="failed", kind="error", error=one_line(e))
    except Exception as e:  # a bug or a plugin that raises something unexpected: worth another try
        out.update(status="failed", kind="crash", error=f"{type(e).__name__}: {one_line(e)}")
    out["seconds"] = time.perf_counter() - t0
    out["cpu_s"] = time.process_time() - c0
    return out


def one_line(e: BaseException | str) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__


@dataclass
class RayOptions:
    workers: int | None = None  # local: CPUs of the instance; cluster: jobs in flight at once
    address: str | None = None
    resources: dict[str, float] = field(default_factory=dict)  # what a local instance advertises
    #: plugin folders allowed in the workers beyond the standard ones; None: those this process
    #: allows (MIXCORE_PLUGIN_PATH, --plugin-path, mixcore.hosting.plugin_path)
    plugin_path: list[str] | None = None


def import_ray():
    try:
        import ray
    except ImportError:
        raise MixcoreError('mixcore batch needs Ray: pip install "mixcore[ray]"') from None
    return ray


def start_ray(opts: RayOptions) -> bool:
    """Connect to (or start) Ray unless this process already did; True when we must shut it down."""
    import logging

    ray = import_ray()
    if ray.is_initialized():
        return False
    if opts.address is not None:
        try:
            ray.init(address=opts.address, logging_level=logging.ERROR, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as e:
            raise MixcoreError(connect_error(opts.address, e)) from None
        return True
    # Local workers run the mixcore this process runs (a source tree on PYTHONPATH included): Ray's
    # processes take their environment from this one when they start.
    pkg_parent = str(Path(__file__).resolve().parent.parent.parent)
    old = os.environ.get("PYTHONPATH")
    paths = [p for p in (old or "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join([pkg_parent, *[p for p in paths if p != pkg_parent]])
    try:
        ray.init(num_cpus=opts.workers or os.cpu_count() or 1, resources=opts.resources or None,
                 include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    return True


def connect_error(address: str, e: BaseException) -> str:
    """The one line for a failed ``ray.init(address=...)``, naming token authentication when Ray refused us.

    Ray reports a refused token only deep in the chain (``Failed to connect to Ray cluster at ...``
    caused by a RuntimeError quoting an ``AuthenticationError``); a client with ``RAY_AUTH_MODE=token``
    but no token gets the ``AuthenticationError`` itself.
    """
    head = f"--address: cannot connect to Ray at {address}"
    chain, x = [], e
    while x is not None and len(chain) < 8:
        chain.append(x)
        x = x.__cause__ or x.__context__
    texts = [f"{type(x).__name__}: {x}" for x in chain]
    if not any("AuthenticationError" in t or "InvalidAuthToken" in t or "Unauthenticated" in t for t in texts):
        return f"{head}: {one_line(e)}"
    get = "`ray get-auth-token` on the head node prints it"
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
        return (f"{head}: the cluster uses token authentication and this process sends no token: "
                f"set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN to the cluster's token ({get}); see docs/BATCH.md")
    if any("no authentication token was found" in t for t in texts):
        return (f"{head}: RAY_AUTH_MODE=token but no token found: set RAY_AUTH_TOKEN to the cluster's token "
                f"({get})")
    return (f"{head}: the cluster refused this process's token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or "
            f"~/.ray/auth_token): use the cluster's token ({get})")


def infeasible(job: Job, nodes: list[dict[str, float]]) -> str | None:
    """Why no node can run ``job`` (its CPUs and custom resources), or None."""
    need = {"CPU": job.num_cpus, **job.resources}
    if any(all(node.get(k, 0.0) >= v for k, v in need.items()) for node in nodes):
        return None
    missing = [k for k in job.resources if not any(node.get(k, 0.0) >= job.resources[k] for node in nodes)]
    if missing:
        spec = ", ".join(f'"{k}": {job.resources[k]:g}' for k in missing)
        return (f"no node of the Ray cluster has {spec}; a node advertises it with "
                f"ray start --resources '{{{spec}}}' (locally: mixcore batch --resources)")
    both = f" together with {', '.join(f'{k!r}: {v:g}' for k, v in job.resources.items())}" if job.resources else ""
    return f"no node of the Ray cluster has {job.num_cpus:g} CPUs{both} (num_cpus of the job)"


def run_batch(jobs: list[Job], opts: RayOptions | None = None, *, retries: int = 0,
              progress: Callable[[JobResult, int, int], None] | None = None,
              render: Callable[[Job], dict[str, Any]] = render_job) -> list[JobResult]:
    """Render ``jobs`` on Ray; results in the jobs' order. ``progress(result, done, total)`` per finished job.

    ``render`` is what each task runs (default :func:`render_job`); it receives the job.
    """
    opts = opts or RayOptions()
    if retries < 0:
        raise MixcoreError(f"--retries: {retries} must be 0 or more")
    ray = import_ray()
    owned = start_ray(opts)
    try:
        return _schedule(ray, jobs, opts, retries, progress, render)
    finally:
        if owned:
            ray.shutdown()


def _schedule(ray, jobs, opts, retries, progress, render) -> list[JobResult]:
    task = ray.remote(run_task)
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    results: dict[int, JobResult] = {}
    done = 0

    def finish(i: int, res: JobResult) -> None:
        nonlocal done
        results[i] = res
        done += 1
        if progress is not None:
            progress(res, done, len(jobs))

    pending: collections.deque[int] = collections.deque()
    for i, job in enumerate(jobs):
        why = infeasible(job, nodes)
        if why is None:
            pending.append(i)
        else:
            finish(i, JobResult(job, "failed", kind="error", error=why, output=_out(job)))
    attempts = collections.Counter()
    in_flight: dict[Any, int] = {}
    cap = opts.workers if opts.address is not None and opts.workers else len(jobs)
    render_ref = ray.put(render)
    if opts.plugin_path is None:
        from ..hosting.folders import extra_folders

        folders = tuple(str(p) for p in extra_folders())
    else:
        folders = tuple(str(p) for p in opts.plugin_path)
    while pending or in_flight:
        while pending and len(in_flight) < cap:
            i = pending.popleft()
            job = jobs[i]
            attempts[i] += 1
            one = task.options(num_cpus=job.num_cpus, resources=job.resources or None, max_retries=0,
                               retry_exceptions=False, name=f"mixcore-batch:{job.name}")
            ref = one.remote(render_ref, job, folders)
            in_flight[ref] = i
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        i = in_flight.pop(ready[0])
        job = jobs[i]
        try:
            out = ray.get(ready[0])
        except ray.exceptions.RayError as e:  # the worker died, or Ray could not run the task
            out = {"status": "failed", "kind": "crash", "error": _ray_failure(e)}
        res = JobResult(job, out["status"], seconds=out.get("seconds", 0.0), cpu_s=out.get("cpu_s", 0.0),
                        attempts=attempts[i],
                        kind=out.get("kind"), error=out.get("error"), node=out.get("node"),
                        sha256=out.get("sha256"), output=out.get("output") or _out(job))
        if res.status != "ok" and res.kind == "crash" and attempts[i] <= retries:
            pending.appendleft(i)
            continue
        finish(i, res)
    return [results[i] for i in range(len(jobs))]


def _out(job: Job) -> str | None:
    return str(job.output) if job.output is not None else None


def _ray_failure(e: Exception) -> str:
    name = type(e).__name__
    if "WorkerCrashed" in name or "ActorDied" in name or "NodeDied" in name or "LocalRayletDied" in name:
        return "the worker process died while rendering (a crash in a plugin or in mixcore, or the node was lost)"
    if "OutOfMemory" in name:
        return "the worker was killed for using too much memory"
    first = one_line(str(e).strip().splitlines()[0] if str(e).strip() else name)
    return f"{name}: {first}"


__all__ = ["JobResult", "RayOptions", "render_job", "run_batch", "run_task"]
