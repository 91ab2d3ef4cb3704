"""``master --reference ... --save-chain FILE.toml``: everything the match decided, as a chain file.

The file is a chain preset in the session chain format, in the order the master ran it::

    description = "..."
    target_lufs = -11.2        # the loudness target of the match
    ceiling_dbtp = -1.0        # the true-peak ceiling

    [[chain]]                  # the parametric match EQ (mixcore's own eq bands)
    type = "eq"
    id = "match_eq"
    bands = [ { kind = "lowshelf", freq_hz = 96.3, gain_db = 2.1, q = 0.62 }, ... ]
    [[chain]]                  # the mastering chain (--chain: the default's high-pass and compressor)
    ...
    [[chain]]                  # the width change
    type = "width"
    [[chain]]                  # the gain the loudness loop applied into the limiter
    type = "gain"
    id = "loudness"
    [[chain]]
    type = "limiter"
    ceiling_dbtp = -1.0

As a node's chain in a session (``chain = [ { preset = "FILE.toml" } ]``, on the master or on any track
or bus) it runs as written, gain and limiter included, so on the same mix it reproduces the master.
``master --chain FILE.toml`` drops the trailing gain and limiter (master's own loudness loop and
limiter take their place) and takes ``target_lufs`` and ``ceiling_dbtp`` from the file unless
``--target-lufs``, ``--ceiling-dbtp`` or ``--preset`` is given.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import MixcoreError

LOUDNESS_ID = "loudness"


def check_save_path(path, match_eq: str, out) -> None:
    """Refuse a bad ``--save-chain`` before any work is done."""
    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise MixcoreError(f"--save-chain: {path} must end in .toml")
    if path.is_dir():
        raise MixcoreError(f"--save-chain: {path} is a folder; give a file name")
    if out is not None and path.resolve() == Path(out).resolve():
        raise MixcoreError(f"--save-chain: {path} is the output file")
    if match_eq != "parametric":
        raise MixcoreError("--save-chain: a linear-phase match EQ cannot be written as a chain; "
                           "use --match-eq parametric (the default)")


def chain_document(result, procs) -> dict:
    """The chain file's content for a :class:`~.match.MatchResult` whose master ran ``procs``."""
    from ..processors.registry import processor_types
    from ..session import processor_entry

    m, plan = result.master, result.plan
    types = processor_types()
    entries = [processor_entry(p) for p in procs]
    entries.append(processor_entry(types["gain"](id=LOUDNESS_ID, gain_db=float(m.gain_db))))
    limiter = processor_entry(types["limiter"](ceiling_dbtp=float(m.ceiling_dbtp)))
    limiter["ceiling_dbtp"] = float(m.ceiling_dbtp)  # always written, default or not
    entries.append(limiter)
    refs = ", ".join(Path(r.path).name for r in result.references)
    desc = (f"Match of {Path(result.mix.path).name} to {refs} (mixcore master --reference): "
            f"{len(plan.bands)} EQ bands ({plan.region_text}), width x{plan.width:.3f}, "
            f"gain {m.gain_db:+.2f} dB into a true-peak limiter at {m.ceiling_dbtp:g} dBTP, "
            f"target {m.target_lufs:.2f} LUFS.")
    return {"description": desc, "target_lufs": round(float(m.target_lufs), 4),
            "ceiling_dbtp": float(m.ceiling_dbtp), "chain": entries}


def write_chain(path, result, procs, commit=None) -> Path:
    """Write the chain file (atomically; with ``commit``, staged in that CommitSet)."""
    import tomli_w

    from ..render.commit import outputs_of

    path = Path(path)
    text = tomli_w.dumps(chain_document(result, procs))
    with outputs_of(commit) as outputs:
        outputs.write_bytes(path, text.encode("utf-8"), "--save-chain")
    return path
