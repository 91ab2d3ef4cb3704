"""``mixcore batch``: many renders on Ray (a local instance by default, or a cluster).

:mod:`.jobs` reads and validates the JOBS (a TOML list or a folder of sessions),
:mod:`.runner` schedules them as Ray tasks with retries, :mod:`.report` prints
the progress, the summary table, the failure report and the JSON summary.
"""
from __future__ import annotations

from .jobs import Job, load_jobs
from .runner import JobResult, RayOptions, render_job, run_batch

__all__ = ["Job", "JobResult", "RayOptions", "load_jobs", "render_job", "run_batch"]
