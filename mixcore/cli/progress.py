"""A rich progress bar that appears only when work takes longer than a second."""
from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress


class LazyProgress:
    """Call with (done, total[, label]); shows a bar on stderr once ``delay_s`` has passed, on a
    terminal only (nothing on a pipe or a file). A new label starts the bar anew (a mastering pass)."""

    def __init__(self, label: str, quiet: bool = False, delay_s: float = 1.0) -> None:
        self.label = label
        self.quiet = quiet or not sys.stderr.isatty()
        delay = os.environ.get("MIXCORE_PROGRESS_DELAY_S")  # tests draw bars at once
        if delay is not None:
            delay_s = float(delay)
        self.delay_s = delay_s
        self.t0 = time.perf_counter()
        self._progress: Progress | None = None
        self._task = None

    def __call__(self, done: int, total: int | None, label: str | None = None) -> None:
        if self.quiet:
            return
        if label is not None and label != self.label:
            self.label = label
            if self._progress is not None:
                self._progress.update(self._task, description=label, completed=0, total=total)
        if self._progress is None:
            if time.perf_counter() - self.t0 < self.delay_s:
                return
            from rich.console import Console  # imported only when a bar is drawn: start-up stays short
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                                      console=Console(file=sys.stderr), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total)
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> "LazyProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
