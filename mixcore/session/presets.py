"""Chain presets: named starting points, shipped in ``mixcore/presets/`` or kept beside a session.

A chain entry ``{ preset = "vocal" }`` (a shipped name, or a path relative to the session file)
expands in place into the preset's processors. An entry with a native ``type`` and a ``preset`` file
takes its parameters from that file's table and lets the entry's own keys override them. A preset
never hides what it sets: ``mixcore presets NAME`` prints it.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import MixcoreError, did_you_mean

SHIPPED = Path(__file__).resolve().parent.parent / "presets"


def shipped() -> dict[str, Path]:
    return {p.stem: p for p in sorted(SHIPPED.glob("*.toml"))}


def preset_path(name: str, base_dir: Path, where: str) -> Path:
    if not isinstance(name, str) or not name:
        raise MixcoreError(f"{where}.preset: expected a preset name or a .toml file, got {name!r}")
    if not name.endswith(".toml"):
        found = shipped()
        if name not in found:
            raise MixcoreError(f"{where}.preset: no shipped preset named {name!r}{did_you_mean(name, found)}; "
                               f"shipped: {', '.join(found)} (or give a .toml file)")
        return found[name]
    p = Path(name)
    p = p if p.is_absolute() else base_dir / p
    from ..render.sources import check_regular

    check_regular(p, f"{where}.preset")  # not a FIFO or device
    return p


def read_preset(path: Path, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise MixcoreError(f"{where}.preset: {path}: invalid TOML: {e}") from None
    except RecursionError:
        raise MixcoreError(f"{where}.preset: {path}: invalid TOML: arrays or tables nested too deep") from None


def expand(entries: list[Any], where: str, base_dir: Path) -> list[tuple[str, Any]]:
    """Chain entries with presets expanded: (key path for errors, entry)."""
    out: list[tuple[str, Any]] = []
    for i, e in enumerate(entries):
        w = f"{where}[{i}]"
        if not isinstance(e, dict) or "preset" not in e or e.get("type") in ("vst3", "lv2"):
            out.append((w, e))
            continue
        path = preset_path(e["preset"], base_dir, w)
        data = read_preset(path, w)
        if "type" in e:  # one processor's settings from a file, overridden by the entry
            settings = {k: v for k, v in data.items() if k != "description"}
            if "chain" in settings:
                raise MixcoreError(f"{w}.preset: {path.name} is a chain preset; use {{ preset = ... }} without a type")
            merged = {**settings, **{k: v for k, v in e.items() if k != "preset"}}
            out.append((w, merged))
            continue
        extra = [k for k in e if k != "preset"]
        if extra:
            raise MixcoreError(f"{w}.{extra[0]}: a chain preset entry takes only 'preset'")
        chain = data.get("chain")
        if not isinstance(chain, list):
            raise MixcoreError(f"{w}.preset: {path} has no chain = [...]")
        out += [(f"{w}.preset({path.stem})[{j}]", c) for j, c in enumerate(chain)]
    return out
