"""Controller profiles: a TOML file of MIDI-to-parameter maps, shareable between sessions.

```toml
[[map]]
cc = 7
channel = 1
target = "vocal.gain_db"
min = -60.0
max = 6.0
```
Each entry is a ``[[midi]].map`` entry of the session format (cc, cc14, pitchbend, aftertouch or
velocity; channel; target; min; max; curve; taper). Without min and max the target's taper applies
(learned entries are written so).
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import MixcoreError
from ..session.errors import format_validation_error
from ..session.model import MidiMap

ControllerMap = MidiMap


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    map: list[MidiMap] = Field(default_factory=list)


def load_profile(path: str | Path) -> list[MidiMap]:
    p = Path(path)
    if not p.exists():
        raise MixcoreError(f"{p}: controller profile not found")
    try:
        data = tomllib.loads(p.read_text())
        return Profile.model_validate(data).map
    except tomllib.TOMLDecodeError as e:
        raise MixcoreError(f"{p}: invalid TOML: {e}") from None
    except ValidationError as e:
        raise MixcoreError(format_validation_error(e, Profile, f"{p}: ")) from None


def save_profile(path: str | Path, maps: list[MidiMap]) -> None:
    from ..session.io import write_text_atomic

    data = {"map": [m.model_dump(exclude_defaults=True) | {"target": m.target} for m in maps]}
    write_text_atomic(Path(path), tomli_w.dumps(data))
