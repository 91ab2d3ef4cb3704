"""Reading and writing session files (TOML)."""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from ..atomic import temp_beside
from ..errors import MixcoreError
from .errors import format_validation_error
from .model import SessionModel


def read_session_model(path: Path) -> SessionModel:
    """Parse and validate a session file; errors are one line naming file and key."""
    if not path.exists():
        raise MixcoreError(f"{path}: session file not found")
    return model_from_dict(read_toml(path), prefix=f"{path}: ")


def read_toml(path: Path) -> dict:
    """A TOML file as a dict; a syntax error or a binary file is one line naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise MixcoreError(f"{path}: invalid TOML: {e}") from None
    except UnicodeDecodeError:
        raise MixcoreError(f"{path}: not a text (TOML) file") from None
    except RecursionError:  # tomllib recurses once per nesting level
        raise MixcoreError(f"{path}: invalid TOML: arrays or tables nested too deep") from None


def model_from_dict(data: dict[str, Any], prefix: str = "") -> SessionModel:
    try:
        return SessionModel.model_validate(data)
    except ValidationError as e:
        raise MixcoreError(format_validation_error(e, SessionModel, prefix)) from None
    except RecursionError:
        raise MixcoreError(f"{prefix}values nested too deep") from None


def _drop_none(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _drop_none(v) for k, v in x.items() if v is not None}
    if isinstance(x, list):
        return [_drop_none(v) for v in x]
    if isinstance(x, tuple):
        return [_drop_none(v) for v in x]
    return x


#: An array of two numbers that tomli_w spread over four lines (``[t, v]`` points, ``[beat, bpm]``).
_PAIR = re.compile(r"\[\n[ ]+([-+0-9.eE]+|[-+]?inf|nan),\n[ ]+([-+0-9.eE]+|[-+]?inf|nan),\n[ ]+\]")


def model_to_toml(model: SessionModel) -> str:
    """The session as TOML, reading like a hand-written file: defaults left out, floats in their shortest
    round-trip form (Python's repr), automation points one ``[t, v]`` pair per line."""
    data = model.model_dump(mode="python", exclude_defaults=True)
    data = _drop_none(data)
    # top-level scalars first, then tables: TOML requires that order anyway
    return _PAIR.sub(r"[\1, \2]", tomli_w.dumps(data))


def write_text_atomic(path: Path, text: str) -> None:
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
