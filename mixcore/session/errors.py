"""Turn pydantic's validation errors into one line naming the key path."""
from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import cut, did_you_mean, short


def key_path(loc: tuple[Any, ...]) -> str:
    """``('tracks', 2, 'chain', 1, 'ratio')`` -> ``tracks[2].chain[1].ratio``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + cut(str(part))
    return out


def _unwrap(tp: Any) -> list[Any]:
    """The model classes reachable through list[...], X | None, etc."""
    origin = typing.get_origin(tp)
    if origin is None:
        return [tp]
    out: list[Any] = []
    for arg in typing.get_args(tp):
        out.extend(_unwrap(arg))
    return out


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, tuple[Any, ...]]:
    """Walk ``loc`` through the schema; return the innermost model and the clean loc.

    Union member tags that pydantic inserts (``'float'``, ``'literal[...]'``) are dropped.
    """
    current: Any = model
    clean: list[Any] = []
    for part in loc:
        if isinstance(part, int):
            clean.append(part)
            continue
        if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            clean.append(part)
            ann = current.model_fields[part].annotation
            models = [t for t in _unwrap(ann) if isinstance(t, type) and issubclass(t, BaseModel)]
            current = models[0] if models else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            clean.append(part)  # an unknown key: keep it, it is what the user wrote
            current = None
        elif current is None and not clean or isinstance(part, str) and part.startswith(("literal[", "float", "int", "str")):
            continue
        else:
            clean.append(part)
            current = None
    return current, tuple(clean)


def format_validation_error(err: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """One line for the first error: ``file: key.path: what is wrong, got X``."""
    errors = err.errors()
    first = errors[0]
    if first["type"] == "missing":  # a misspelt key shows as missing + unknown: name the misspelling
        parent = tuple(first["loc"])[:-1]
        typo = [e for e in errors if e["type"] == "extra_forbidden" and tuple(e["loc"])[:-1] == parent]
        if typo:
            first = typo[0]
    loc = tuple(first["loc"])
    parent, clean = _model_at(model, loc[:-1]) if loc else (model, ())
    _, full = _model_at(model, loc)
    path = key_path(full) or "(top level)"
    kind = first["type"]
    given = first.get("input")
    if kind == "extra_forbidden":
        known = list(parent.model_fields) if parent is not None else []
        hint = did_you_mean(str(loc[-1]), known) if known else ""
        msg = f"{path}: unknown key{hint}" + (f"; expected one of {', '.join(known)}" if known and not hint else "")
    elif kind == "missing":
        msg = f"{path}: required key is missing"
    else:
        text = first["msg"]
        # a union reports one error per member: gather what each member expected
        same = [e for e in errors if _model_at(model, tuple(e["loc"]))[1] == full]
        if len(same) > 1:
            text = " or ".join(dict.fromkeys(e["msg"].removeprefix("Value error, ") for e in same))
        text = text.removeprefix("Value error, ")
        msg = f"{path}: {text[0].lower() + text[1:] if text else text}, got {short(given)}"
    return prefix + msg


__all__ = ["format_validation_error", "key_path"]
