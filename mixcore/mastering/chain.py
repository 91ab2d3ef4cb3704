"""The processing chain of ``mixcore master``, before the loudness gain and the true-peak limiter.

``mixcore master`` runs ``chain -> gain -> limiter``: the chain shapes tone and dynamics at the mix's
own level, then the measured gain drives the limiter to the loudness target (the loop in
:mod:`.loudness_target`). Because the chain comes before the gain, the gain only ever changes how hard
the limiter works, so the loop converges in two or three passes.

``--chain`` chooses the chain:

* ``default`` -- the gentle default, set from the measured input so it behaves the same at any mix level:

  1. corrective EQ: a 24 dB/oct high-pass at 25 Hz (subsonic rumble that costs headroom and no one hears);
  2. broadband glue compression: RMS detector, 1.5:1, 6 dB soft knee, 30 ms attack, 250 ms release,
     threshold 3 dB above the input's integrated loudness, so only the loudest passages are touched,
     by a dB or two;

  no tonal EQ is applied blindly: the tonal EQ of a master comes from ``--reference`` matching or from
  a chain of your own;
* ``none`` -- nothing: gain and limiter only (a pure loudness/peak normalisation);
* a chain preset -- a shipped preset name (``mixcore presets``: ``master``, ``mix-bus``, ...) or a TOML
  file with ``chain = [...]`` (the session chain format: native processors, ``vst3`` plugins,
  ``pedalboard`` built-ins). A ``limiter`` at its end is replaced by master's own, which holds the
  ceiling of the preset or ``--ceiling-dbtp``.

A chain file written by ``master --reference ... --save-chain`` (:mod:`.saved_chain`) also sets
``target_lufs``, ``ceiling_dbtp`` and ``max_limiting_db``, used unless given on the command line
(``--preset`` counts for the first two); its trailing ``gain`` (id ``match_loudness``) and ``limiter``
are master's own loudness stage.

``--width W`` appends a ``width`` processor (mid/side: 0 mono, 1 unchanged, 2 double side) to the chain.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import MixcoreError
from ..processors.base import Processor

CHOICES = "default, none, a shipped preset name or a chain preset .toml"


def default_chain(input_lufs: float) -> list[Processor]:
    """The gentle default chain for a mix measured at ``input_lufs`` (see the module docstring)."""
    from ..processors.registry import processor_types

    types = processor_types()
    eq = types["eq"](bands=[{"kind": "highpass", "freq_hz": 25.0, "slope_db": 24}])
    threshold = float(min(0.0, max(-60.0, input_lufs + 3.0)))
    comp = types["compressor"](threshold_db=threshold, ratio=1.5, knee_db=6.0, attack_ms=30.0,
                               release_ms=250.0, detector="rms")
    return [eq, comp]


def load_chain(spec: str | Path, base_dir: Path = Path("."), where: str = "--chain") -> list[Processor]:
    """The processors of a chain preset: a shipped preset's name or a ``.toml`` file with ``chain``."""
    from ..errors import did_you_mean
    from ..session.build import build_chain
    from ..session.presets import read_preset, shipped

    name = str(spec)
    if name.endswith(".toml"):
        path = Path(name) if Path(name).is_absolute() else base_dir / name
        if not path.is_file():
            raise MixcoreError(f"{where}: file not found: {path}")
    else:
        found = shipped()
        if name not in found:
            raise MixcoreError(f"{where}: {name!r} is not a chain{did_you_mean(name, [*found, 'default', 'none'])}; "
                               f"expected {CHOICES} (shipped: {', '.join(found)})")
        path = found[name]
    data = read_preset(path, where)
    entries = data.get("chain")
    if not isinstance(entries, list) or not entries:
        raise MixcoreError(f"{where}: {path} has no chain = [...] (expected {CHOICES})")
    if isinstance(entries[-1], dict) and entries[-1].get("type") == "limiter":
        entries = entries[:-1]  # master's own limiter ends every chain
        if ("target_lufs" in data and entries and isinstance(entries[-1], dict)
                and entries[-1].get("type") == "gain" and entries[-1].get("id") == "match_loudness"):
            entries = entries[:-1]  # a saved match chain: master's own loudness loop sets the gain
    return build_chain(entries, f"{where}({path.name})", path.parent, 120.0)


def chain_settings(spec, where: str = "--chain") -> dict:
    """``target_lufs``, ``ceiling_dbtp`` and ``max_limiting_db`` of a chain file that sets them
    (``--save-chain`` writes them; master uses them unless given on the command line); else {}."""
    from ..session.presets import read_preset

    name = str(spec) if isinstance(spec, (str, Path)) else ""
    if not name.endswith(".toml") or not Path(name).is_file():
        return {}
    data = read_preset(Path(name), where)
    out = {}
    for key, (lo, hi) in (("target_lufs", (-70.0, 0.0)), ("ceiling_dbtp", (-20.0, 0.0)),
                          ("max_limiting_db", (0.0, 40.0))):
        if key in data:
            v = data[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise MixcoreError(f"{where}: {name}: {key}: expected a number {lo:g} .. {hi:g}, got {v!r}")
            out[key] = float(v)
    return out


def resolve_chain(spec: str | Path | list | None, input_lufs: float) -> list[Processor]:
    """``spec`` as given to :func:`~.loudness_target.master_file`: "default", "none"/None, a preset, or processors."""
    if spec is None or spec == "none":
        return []
    if isinstance(spec, list):
        return list(spec)
    if spec == "default":
        return default_chain(input_lufs)
    return load_chain(spec)
