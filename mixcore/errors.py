"""The one exception type users see: a single line naming the file or key and the cause."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class MixcoreError(Exception):
    """A user-facing error. ``str(err)`` is one line, fit to print as-is."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
