"""The one exception type users see: a single line naming the file or key and the cause."""
from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable
from typing import Any

#: A value quoted in an error message is cut to this many characters (a session is untrusted data:
#: a 100 MB string must not become a 100 MB error line).
QUOTE_MAX = 80


class MixcoreError(Exception):
    """A user-facing error. ``str(err)`` is one line, fit to print as-is."""


def short(value: Any, limit: int = QUOTE_MAX) -> str:
    """``repr(value)``, cut to ``limit`` characters (``...`` marks the cut); safe for huge or deep values."""
    r = _REPR.repr(value)
    return r if len(r) <= limit else r[:limit - 3] + "..."


_REPR = reprlib.Repr()
_REPR.maxlevel = 4
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 2 * QUOTE_MAX
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 16


def cut(text: str, limit: int = QUOTE_MAX) -> str:
    """``text`` (a key or name written by the user, unquoted), cut to ``limit`` characters."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def short_path(path: Any, limit: int = 2 * QUOTE_MAX) -> str:
    """A path for a message: as is, or its start and end around ``...`` when longer than ``limit``."""
    s = str(path)
    if len(s) <= limit:
        return s
    half = (limit - 3) // 2
    return s[:half] + "..." + s[-half:]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    name = str(name)
    if len(name) > 2 * QUOTE_MAX:  # no name that long is close to a known one
        return ""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
