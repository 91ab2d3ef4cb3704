"""The JOBS of ``mixcore batch``: a TOML list of renders, or a folder of session files.

A jobs file (format in ``docs/BATCH.md``)::

    [defaults]                      # optional: options every job takes unless it sets its own
    threads = 1
    resources = { "plugin:FabFilter" = 1 }

    [[jobs]]
    session = "songs/a.toml"        # relative to the jobs file
    output = "out/a.wav"            # relative to the jobs file (or to ``-o DIR``); default: the session's
    stems = "out/a-stems"           # optional, like ``mixcore render --stems``
    block_size = 512                # optional; never changes the output
    seed = 7                        # optional; replaces the session's seed (dither)

is validated with pydantic, and every mistake is one line naming the key path
(``jobs.toml: jobs[2].block_size: ...``), like a session file. The result is a
list of :class:`Job`, with every path absolute, ready to send to a worker.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import MixcoreError
from ..session.errors import format_validation_error
from ..session.io import read_toml
from ..session.model import NAME_RE


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobOptions(_Strict):
    """Render options a job may set, and ``[defaults]`` may set for all jobs."""

    block_size: int | None = Field(None, ge=1, le=65536)
    threads: int = Field(1, ge=1, le=256)  # threads inside one render (the output does not depend on it)
    seed: int | None = Field(None, ge=0)
    num_cpus: float = Field(1.0, gt=0.0, le=1024.0)  # CPUs Ray reserves for the job
    resources: dict[str, float] = Field(default_factory=dict)  # Ray custom resources the job needs

    @field_validator("resources")
    @classmethod
    def _resources(cls, v: dict[str, float]) -> dict[str, float]:
        for name, amount in v.items():
            if not name.strip():
                raise ValueError("a resource name is not empty")
            if name in ("CPU", "GPU", "memory", "object_store_memory"):
                raise ValueError(f"{name!r} is a built-in Ray resource; use num_cpus, or a custom name "
                                 "such as \"plugin:FabFilter\"")
            if not amount > 0:
                raise ValueError(f"resource {name!r}: amount {amount} must be positive")
        return v


class JobEntry(JobOptions):
    name: str | None = None
    session: str
    output: str | None = None
    stems: str | None = None
    manifest: str | None = None  # also write a render manifest (``mixcore verify``)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not NAME_RE.match(v):
            raise ValueError("a job name uses only letters, digits, '-' and '_'")
        return v


class JobsFile(_Strict):
    defaults: JobOptions = Field(default_factory=JobOptions)
    jobs: list[JobEntry] = Field(min_length=1)


@dataclass
class Job:
    """One render, every path absolute. Picklable: this is what a Ray task receives."""

    name: str
    session: Path
    output: Path | None  # None: the session's own ``output``
    where: str = ""  # ``jobs[3]`` or the session file, for messages
    stems: Path | None = None
    manifest: Path | None = None
    block_size: int | None = None
    threads: int = 1
    seed: int | None = None
    num_cpus: float = 1.0
    resources: dict[str, float] = field(default_factory=dict)


def load_jobs(path: Path, out_dir: Path | None = None) -> list[Job]:
    """A jobs file or a folder of sessions -> jobs. Errors are one line naming the file and key."""
    path = Path(path)
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise MixcoreError(f"-o: {out_dir} is not a folder")
    if path.is_dir():
        jobs = _folder_jobs(path, out_dir)
    elif path.exists():
        jobs = _file_jobs(path, out_dir)
    else:
        raise MixcoreError(f"{path}: no such jobs file or folder")
    _check_unique(jobs, path)
    return jobs


def _folder_jobs(folder: Path, out_dir: Path | None) -> list[Job]:
    """Every ``*.toml`` in ``folder`` (sorted), rendered next to it or into ``out_dir``."""
    sessions = sorted(p for p in folder.glob("*.toml") if p.is_file())
    if not sessions:
        raise MixcoreError(f"{folder}: no session files (*.toml) in this folder")
    target = (out_dir or folder).resolve()
    jobs = []
    for s in sessions:
        suffix = Path(_session_output(s) or "x.wav").suffix or ".wav"
        jobs.append(Job(name=s.stem, session=s.resolve(), output=target / f"{s.stem}{suffix}", where=str(s)))
    return jobs


def _file_jobs(path: Path, out_dir: Path | None) -> list[Job]:
    data = read_toml(path)
    try:
        model = JobsFile.model_validate(data)
    except ValidationError as e:
        raise MixcoreError(format_validation_error(e, JobsFile, f"{path}: ")) from None
    here = path.resolve().parent
    out_base = out_dir.resolve() if out_dir is not None else here
    defaults = model.defaults.model_dump()
    jobs = []
    for i, entry in enumerate(model.jobs):
        opts = {k: getattr(entry, k) if k in entry.model_fields_set else defaults[k] for k in defaults}
        session = _absolute(here, entry.session)
        if entry.output is not None:
            output = _absolute(out_base, entry.output)
        else:
            own = _session_output(session)
            output = _own_output(session, own) if own else None
        jobs.append(Job(name=entry.name or entry.session, session=session, output=output, where=f"jobs[{i}]",
                        stems=_absolute(out_base, entry.stems) if entry.stems else None,
                        manifest=_absolute(out_base, entry.manifest) if entry.manifest else None, **opts))
    return jobs


def _absolute(base: Path, p: str) -> Path:
    q = Path(p).expanduser()
    return (q if q.is_absolute() else base / q).resolve()


def _own_output(session: Path, own: str) -> Path | None:
    """The session's own output, if inside its folder; else None (the worker's render refuses it)."""
    from ..session.build import session_output

    try:
        return session_output(session.parent, own).resolve()
    except MixcoreError:
        return None


def _session_output(session: Path) -> str | None:
    """The session's ``output`` key, if the file can be read now (else the worker reports the problem)."""
    try:
        out = tomllib.loads(session.read_text(encoding="utf-8")).get("output")
    except (OSError, ValueError):
        return None
    return out if isinstance(out, str) else None


def _check_unique(jobs: list[Job], path: Path) -> None:
    """No two jobs share a name or write the same file (outputs, stem folders, manifests)."""
    names: dict[str, str] = {}
    for job in jobs:
        if job.name in names:
            raise MixcoreError(f"{path}: {job.where}.name: job name {job.name!r} is also used by {names[job.name]}")
        names[job.name] = job.where
    written: dict[Path, str] = {}
    for job in jobs:
        for key, p in (("output", job.output), ("stems", job.stems), ("manifest", job.manifest)):
            if p is None:
                continue
            if p in written:
                raise MixcoreError(f"{path}: {job.where}.{key}: {p} is also written by {written[p]}")
            if p == job.session:
                raise MixcoreError(f"{path}: {job.where}.{key}: {p} is the job's session file")
            written[p] = f"{job.where}.{key}"


def job_to_dict(job: Job) -> dict[str, Any]:
    return {"name": job.name, "session": str(job.session), "output": str(job.output) if job.output else None}


__all__ = ["Job", "JobsFile", "load_jobs"]
