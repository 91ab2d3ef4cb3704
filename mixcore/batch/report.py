"""What ``mixcore batch`` shows: a progress bar, the summary table, the failure report, JSON."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .runner import JobResult


class BatchProgress:
    """A rich bar on stderr that advances as jobs finish (in any order); ``quiet`` shows nothing."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self._progress = None
        if quiet:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                                  TimeElapsedColumn(), console=Console(file=sys.stderr), transient=True)
        self._task = self._progress.add_task("", total=total)
        self._failed = 0

    def __call__(self, result: JobResult, done: int, total: int) -> None:
        if self._progress is None:
            return
        self._failed += result.status != "ok"
        self._progress.update(self._task, completed=done,
                              description=f"{self._failed} failed" if self._failed else "")

    def __enter__(self) -> "BatchProgress":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()


def summary_table(results: list[JobResult], wall_s: float) -> None:
    """job, status, seconds, output, error -- one row per job, then the totals line."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title="mixcore batch")
    for col, justify in (("job", "left"), ("status", "left"), ("seconds", "right"), ("output", "left"),
                         ("error", "left")):
        t.add_column(col, justify=justify, overflow="fold")
    for r in results:
        status = "ok" if r.status == "ok" else f"FAILED ({r.kind})"
        if r.attempts > 1:
            status += f", {r.attempts} attempts"
        t.add_row(r.job.name, status, f"{r.seconds:.2f}", _short_path(r.output), r.error or "")
    console = Console()
    if not console.is_terminal:  # a log file: wide rows rather than cells folded into many lines
        console = Console(width=200)
    console.print(t)
    print(totals_line(results, wall_s))


def _short_path(p: str | None) -> str:
    """Relative to the current folder when the output lies under it."""
    if not p:
        return ""
    try:
        return str(Path(p).relative_to(Path.cwd()))
    except ValueError:
        return p


def totals_line(results: list[JobResult], wall_s: float) -> str:
    ok = sum(r.status == "ok" for r in results)
    rate = ok / wall_s if wall_s > 0 else 0.0
    return f"{ok} of {len(results)} jobs rendered in {wall_s:.2f} s ({rate:.2f} jobs/s)" + (
        f"; {len(results) - ok} failed" if ok < len(results) else "")


def failure_lines(results: list[JobResult]) -> list[str]:
    """One line per failed job: which job, which session, why (and whether retrying would help)."""
    out = []
    for r in results:
        if r.status == "ok":
            continue
        how = "crashed" if r.kind == "crash" else "failed"
        tries = f" after {r.attempts} attempts" if r.attempts > 1 else ""
        out.append(f"mixcore: job {r.job.name!r} ({r.job.where}, {r.job.session}) {how}{tries}: {r.error}")
    return out


def json_summary(results: list[JobResult], wall_s: float, workers: int | None, address: str | None) -> dict[str, Any]:
    ok = sum(r.status == "ok" for r in results)
    return {"jobs": [r.to_json_dict() for r in results], "ok": ok, "failed": len(results) - ok,
            "seconds": round(wall_s, 4), "jobs_per_second": round(ok / wall_s, 4) if wall_s > 0 else None,
            "workers": workers, "address": address}
