"""Platform loudness targets (SPEC §4): integrated LUFS and true-peak ceiling."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import MixcoreError, did_you_mean


@dataclass(frozen=True)
class Target:
    lufs: float
    ceiling_dbtp: float


PRESETS: dict[str, Target] = {
    "spotify": Target(-14.0, -1.0),
    "apple": Target(-16.0, -1.0),
    "youtube": Target(-14.0, -1.0),
    "ebu-r128": Target(-23.0, -1.0),
    "podcast": Target(-16.0, -1.0),
    "cd": Target(-9.0, -0.3),
}


def preset(name: str) -> Target:
    try:
        return PRESETS[name]
    except KeyError:
        raise MixcoreError(f"--preset: unknown preset {name!r}{did_you_mean(name, PRESETS)}; "
                           f"expected one of {', '.join(PRESETS)}") from None
