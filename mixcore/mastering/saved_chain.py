"""``master --reference ... --save-chain FILE.toml``: everything the match decided, as a chain file.

The file is a chain preset in the session chain format, in the order the master ran it::

    description = "..."
    target_lufs = -11.2        # the loudness target of the match
    ceiling_dbtp = -1.0        # the true-peak ceiling
    max_limiting_db = 6.0      # the cap on the limiter's gain reduction the match ran with

    [[chain]]                  # the parametric match EQ (mixcore's own eq bands)
    type = "eq"
    id = "match_eq"
    bands = [ { kind = "lowshelf", freq_hz = 96.3, gain_db = 2.1, q = 0.62 }, ... ]
    [[chain]]                  # the mastering chain (--chain: the default's high-pass and compressor)
    ...                        # (ids "master_<id>": they never clash with a node's own processors)
    [[chain]]                  # the width change
    type = "width"
    id = "match_width"
    [[chain]]                  # the gain the loudness loop applied into the limiter
    type = "gain"
    id = "match_loudness"
    [[chain]]
    type = "limiter"
    id = "match_limiter"
    ceiling_dbtp = -1.0

As a node's chain in a session (``chain = [ { preset = "FILE.toml" } ]``, on the master or on any track
or bus) it runs as written, gain and limiter included, so on the same mix it reproduces the master.
``master --chain FILE.toml`` drops the trailing gain and limiter (master's own loudness loop and
limiter take their place) and takes ``target_lufs``, ``ceiling_dbtp`` and ``max_limiting_db`` from the
file unless ``--target-lufs``, ``--ceiling-dbtp`` (either: ``--preset``) or ``--max-limiting-db`` is given,
so it makes the same decisions again.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import MixcoreError

LOUDNESS_ID = "match_loudness"


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


def chain_document(result, procs, max_limiting_db: float | None = None) -> dict:
    """The chain file's content for a :class:`~.match.MatchResult` whose master ran ``procs``."""
    from ..processors.registry import processor_types
    from ..session import processor_entry

    m, plan = result.master, result.plan
    types = processor_types()
    entries, seen = [], {"match_loudness", "match_limiter"}
    for p in procs:  # ids of their own, so the chain can follow a node's own eq, compressor, limiter
        e = processor_entry(p)
        ident = e.pop("id", e["type"])
        ident = ident if ident.startswith("match_") else f"master_{ident}"
        base, k = ident, 2
        while ident in seen:
            ident, k = f"{base}{k}", k + 1
        seen.add(ident)
        entries.append({"type": e["type"], "id": ident, **{k: v for k, v in e.items() if k != "type"}})
    entries.append({"type": "gain", "id": LOUDNESS_ID, "gain_db": float(m.gain_db)})
    entries.append({"type": "limiter", "id": "match_limiter", "ceiling_dbtp": float(m.ceiling_dbtp)})
    refs = ", ".join(Path(r.path).name for r in result.references)
    desc = (f"Match of {Path(result.mix.path).name} to {refs} (mixcore master --reference): "
            f"{len(plan.bands)} EQ bands ({plan.region_text}), width x{plan.width:.3f}, "
            f"gain {m.gain_db:+.2f} dB into a true-peak limiter at {m.ceiling_dbtp:g} dBTP, "
            f"target {m.target_lufs:.2f} LUFS.")
    doc = {"description": desc, "target_lufs": round(float(m.target_lufs), 4), "ceiling_dbtp": float(m.ceiling_dbtp)}
    if max_limiting_db is not None:
        doc["max_limiting_db"] = float(max_limiting_db)
    doc["chain"] = entries
    return doc


def write_chain(path, result, procs, max_limiting_db: float | None = None, commit=None) -> Path:
    """Write the chain file (atomically; with ``commit``, staged in that CommitSet)."""
    import tomli_w

    from ..render.commit import outputs_of

    path = Path(path)
    text = tomli_w.dumps(chain_document(result, procs, max_limiting_db))
    with outputs_of(commit) as outputs:
        outputs.write_bytes(path, text.encode("utf-8"), "--save-chain")
    return path
