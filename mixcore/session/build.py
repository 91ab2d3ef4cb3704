"""Session model -> processors and a connected :class:`~mixcore.graph.Graph`.

This is where processors are *created* (from their ``type``), with every bad
key reported by its path. The graph then only connects them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MixcoreError, cut, did_you_mean, short, short_path
from ..graph.graph import Edge, Graph, Node
from ..params import Param
from ..processors.base import Processor
from ..processors.registry import processor_types
from ..render.automation import Lane
from ..render.sources import SourceReader, check_regular, plan_readers, probe
from .model import SessionModel

HOSTED_TYPES = ("vst3", "pedalboard", "lv2")
STRIP_PARAMS = {"gain_db": (-120.0, 24.0), "pan": (-1.0, 1.0)}
#: The strips' parameters as data (ranges as in STRIP_PARAMS): what a MIDI map's taper follows.
STRIP_PARAM_DEFS = {"gain_db": Param("gain_db", default=0.0, lo=-120.0, hi=24.0, unit="dB", taper="fader"),
                    "pan": Param("pan", default=0.0, lo=-1.0, hi=1.0, taper="linear")}
SEND_LEVEL_PARAM = Param("level_db", default=0.0, lo=-120.0, hi=24.0, unit="dB", taper="fader")


def known_types() -> list[str]:
    return sorted([*processor_types(), *HOSTED_TYPES])


def build_processor(entry: Any, where: str, base_dir: Path, tempo_bpm: float = 120.0, node: str = "") -> Processor:
    """Create one processor from a chain entry (a dict with ``type``)."""
    if isinstance(entry, Processor):
        return entry
    if not isinstance(entry, dict):
        raise MixcoreError(f"{where}: a chain entry is a table with a 'type', got {short(entry)}")
    kind = entry.get("type")
    if kind is None:
        raise MixcoreError(f"{where}.type: required key is missing; one of {', '.join(known_types())}")
    if kind in HOSTED_TYPES:
        from ..hosting import make_hosted

        return make_hosted(entry, base_dir, where, node=node)
    types = processor_types()
    cls = types.get(kind)
    if cls is None:
        raise MixcoreError(f"{where}.type: unknown processor type {short(kind)}{did_you_mean(str(kind), known_types())}; "
                           f"expected one of {', '.join(known_types())}")
    ident = entry.get("id", kind)
    if not isinstance(ident, str) or not ident:
        raise MixcoreError(f"{where}.id: expected a non-empty string, got {short(ident)}")
    proc = cls(id=ident)
    for key, value in entry.items():
        if key in ("type", "id"):
            continue
        param = proc._values.by_name.get(key)
        if param is not None and param.IS_FILE and isinstance(value, str):
            path = resolve(base_dir, value)
            check_regular(path, f"{where}.{cut(key)}")  # only regular files are read (not a FIFO or device)
            value = str(path)
        proc._values.set(key, value, where=f"{where}.")
    if proc.USES_TEMPO:
        proc.tempo_bpm = tempo_bpm
    return proc


def build_chain(entries: list[Any], where: str, base_dir: Path, tempo_bpm: float, node: str = "") -> list[Processor]:
    from .presets import expand

    items = expand(entries, where, base_dir)
    procs = [build_processor(e, w, base_dir, tempo_bpm, node) for w, e in items]
    seen: dict[str, int] = {}
    for (w, _e), p in zip(items, procs):
        if p.id in seen:
            raise MixcoreError(f"{w}.id: two processors with id {short(p.id)} in one chain "
                               f"(give each its own 'id', e.g. id = \"{p.id}2\")")
        seen[p.id] = 1
    return procs


def resolve(base_dir: Path, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def session_output(base_dir: Path, value: str, prefix: str = "") -> Path:
    """The session's own ``output`` key as a path, which must stay inside the session's folder.

    A session file is data from anyone: it may not write outside its folder (an absolute path,
    ``..``, ``~`` or a symlink that leads out is refused). ``-o`` on the command line is the
    user's own choice and is not checked here.
    """
    out = resolve(base_dir, value)
    check_inside(base_dir, out, f"{prefix}output", value)
    return out


def check_inside(base_dir: Path, path: Path, key: str, value: str) -> None:
    """Refuse ``path`` (symlinks resolved) unless it lies inside ``base_dir``."""
    base = Path(base_dir).resolve()
    try:
        real = Path(path).resolve()
    except ValueError:  # a NUL character
        raise MixcoreError(f"{key}: {short(value)} is not a valid file name") from None
    if real == base or base not in real.parents:
        raise MixcoreError(f"{key}: {short(value)} is outside the session's folder ({short_path(base)}); "
                           "a session writes only inside its folder (give -o OUT to write elsewhere)")


MIDI_SUFFIXES = (".mid", ".midi")
#: The nodes' block buffers together stay under this by default (the block size never changes the output).
BLOCK_BUFFER_BUDGET = 256 << 20
MIN_DEFAULT_BLOCK = 1024


def default_block_size(model: SessionModel, block: int) -> int:
    """``block``, halved while the nodes' buffers (~16 bytes a frame each) would pass the budget."""
    nodes = len(model.tracks) + len(model.buses) + 1
    while block > MIN_DEFAULT_BLOCK and nodes * block * 16 > BLOCK_BUFFER_BUDGET:
        block //= 2
    return block


def affordable_threads(plan, threads: int) -> int:
    """``threads``, or 1 when the pipeline's output slots (layers + 1 per node, each of at least
    ``STEP_FRAMES`` stereo frames) would pass the budget: 10,000 nodes would need GBs. The output
    never depends on the thread count."""
    from ..render.engine import STEP_FRAMES

    if threads <= 1:
        return threads
    slots = (len(plan.layers) + 1) * max(STEP_FRAMES, plan.block_size)
    return 1 if len(plan.nodes) * slots * 8 > BLOCK_BUFFER_BUDGET else threads


def session_sample_rate(model: SessionModel, base_dir: Path) -> int:
    """The session's rate: ``sample_rate`` if set, else the highest of the audio sources' rates."""
    if model.sample_rate:
        return int(model.sample_rate)
    rates = [probe(resolve(base_dir, t.source), f"tracks[{i}].source").samplerate for i, t in enumerate(model.tracks)
             if not t.source.lower().endswith(MIDI_SUFFIXES)]
    return int(max(rates)) if rates else 48000


def resampled_sources(model: SessionModel, base_dir: Path, sample_rate: int) -> list[dict[str, Any]]:
    """The audio sources whose rate is not the session's: each is resampled (soxr) as it is read."""
    out = []
    for i, t in enumerate(model.tracks):
        if t.source.lower().endswith(MIDI_SUFFIXES):
            continue
        where = f"tracks[{i}].source"
        rate = int(probe(resolve(base_dir, t.source), where).samplerate)
        if rate != sample_rate:
            out.append({"key": where, "path": t.source, "from_hz": rate, "to_hz": int(sample_rate)})
    return out


def make_source(track, where: str, base_dir: Path, sample_rate: int, tempo_bpm: float):
    """An audio file reader, or for a MIDI source the instrument that plays it."""
    path = resolve(base_dir, track.source)
    is_midi = track.source.lower().endswith(MIDI_SUFFIXES)
    if not is_midi:
        if track.instrument is not None:
            raise MixcoreError(f"{where}.instrument: only a MIDI source (.mid) is played by an instrument")
        return SourceReader(path, sample_rate, f"{where}.source")
    if track.instrument is None:
        raise MixcoreError(f"{where}.instrument: a MIDI source needs an instrument, "
                           f"e.g. instrument = {{ type = \"vst3\", path = \"Synth.vst3\" }}")
    from ..render.instrument import InstrumentSource

    entry = dict(track.instrument)
    tail_s = entry.pop("tail_s", 1.0)
    if isinstance(tail_s, bool) or not isinstance(tail_s, (int, float)) or not 0 <= tail_s <= 30:
        raise MixcoreError(f"{where}.instrument.tail_s: expected 0 .. 30 s, got {short(tail_s)}")
    if entry.get("type") != "vst3":
        raise MixcoreError(f"{where}.instrument.type: an instrument is a plugin: type = \"vst3\"")
    from ..hosting import make_hosted

    proc = make_hosted(entry, base_dir, f"{where}.instrument", node=track.name)
    if not proc.is_instrument:
        if hasattr(proc, "close"):
            proc.close()
        raise MixcoreError(f"{where}.instrument: {short(proc.name)} is an effect, not an instrument")
    return InstrumentSource(path, proc, sample_rate, tempo_bpm, float(tail_s), f"{where}.source")


def build_graph(model: SessionModel, base_dir: Path, sample_rate: int) -> Graph:
    """Create every node's processors and source reader, then connect outputs, sends, sidechains."""
    if not model.tracks:
        raise MixcoreError("tracks: the session has no tracks")
    g = Graph()
    soloing = any(t.solo for t in model.tracks)
    readers = []
    for i, t in enumerate(model.tracks):
        where = f"tracks[{i}]"
        reader = make_source(t, where, base_dir, sample_rate, model.tempo_bpm)
        readers.append(reader)
        g.add(Node(name=t.name, kind="track",
                   processors=build_chain(t.chain, f"{where}.chain", base_dir, model.tempo_bpm, t.name),
                   channels=reader.channels, gain_db=t.gain_db, pan=t.pan,
                   muted=t.mute or (soloing and not t.solo), polarity_invert=t.polarity_invert,
                   source=reader, where=where))
    plan_readers(readers)  # very many sources: files open only while read, small buffers
    for i, b in enumerate(model.buses):
        where = f"buses[{i}]"
        g.add(Node(name=b.name, kind="bus",
                   processors=build_chain(b.chain, f"{where}.chain", base_dir, model.tempo_bpm, b.name),
                   gain_db=b.gain_db, pan=b.pan, muted=b.mute, where=where))
    g.add(Node(name="master", kind="master",
               processors=build_chain(model.master.chain, "master.chain", base_dir, model.tempo_bpm, "master"),
               gain_db=model.master.gain_db, where="master"))
    strips = [(f"tracks[{i}]", t) for i, t in enumerate(model.tracks)] + [(f"buses[{i}]", b) for i, b in enumerate(model.buses)]
    for where, s in strips:
        for j, send in enumerate(s.sends):
            g.connect(Edge(src=s.name, dst=send.to, kind="send", level_db=send.level_db,
                           pre_fader=send.pre_fader, where=f"{where}.sends[{j}].to"))
        g.connect(Edge(src=s.name, dst=s.output, kind="output", where=f"{where}.output"))
    for node in g.nodes.values():
        for k, proc in enumerate(node.processors):
            key_src = proc.get_param("sidechain") if "sidechain" in proc._values.by_name else None
            if key_src:
                where = f"{node.where}.chain[{k}].sidechain"
                if not proc.TAKES_SIDECHAIN:
                    raise MixcoreError(f"{where}: {short(proc.type_name)} takes no sidechain")
                g.connect(Edge(src=key_src, dst=node.name, kind="sidechain", processor_index=k, where=where))
    return g


def build_lanes(model: SessionModel, graph: Graph, base_dir: Path) -> dict[tuple[str, int, str], Lane]:
    """Automation lanes and MIDI CC maps -> {(node, processor index or -1, param): Lane}."""
    lanes: dict[tuple[str, int, str], Lane] = {}
    sources: dict[tuple[str, int, str], str] = {}
    items: list[tuple[str, str, Lane]] = []
    from ..render.automation import beats_to_seconds

    tempo_map = model.tempo_map or [(0.0, model.tempo_bpm)]
    for i, a in enumerate(model.automation):
        pts = [list(p) for p in a.points]
        if a.time_unit != "s":
            per = model.beats_per_bar if a.time_unit == "bars" else 1
            secs = beats_to_seconds(np.array([p[0] * per for p in pts]), tempo_map)
            pts = [[float(t), p[1]] for t, p in zip(secs, pts)]
        items.append((f"automation[{i}]", a.target, Lane.from_points(pts, curve=a.curve, where=f"automation[{i}]")))
    if model.midi:  # mido (and what it imports) only when the session maps MIDI
        from .midi import midi_lanes
    for i, m in enumerate(model.midi):
        for where, target, lane in midi_lanes(m, f"midi[{i}]", resolve(base_dir, m.file), model.tempo_bpm,
                                              lambda t, w: target_param(graph, t, w)):
            items.append((where, target, lane))
    for where, target, lane in items:
        key, check = resolve_target(graph, target, f"{where}.target")
        for v in lane.values:
            check(float(v), f"{where}.points")
        if key in lanes:
            raise MixcoreError(f"{where}.target: {short(target)} is already automated by {sources[key]}")
        lanes[key] = lane
        sources[key] = where
    return lanes


def target_param(graph: Graph, target: str, where: str) -> Param:
    """The :class:`Param` (range and taper) that ``target`` names: a fader, a send level or a processor's."""
    (node, index, param), _check = resolve_target(graph, target, where)
    if index >= 0:
        return graph.nodes[node].processors[index].param_for(param)
    return SEND_LEVEL_PARAM if param.startswith("send:") else STRIP_PARAM_DEFS[param]


def resolve_target(graph: Graph, target: str, where: str):
    """``node.param`` or ``node.processor_id.param`` -> (key, value checker)."""
    parts = target.split(".", 2)  # a processor parameter may hold dots itself: eq.bands[1].gain_db
    if len(parts) not in (2, 3) or not all(parts):
        raise MixcoreError(f"{where}: {short(target)} is not <node>.<param> or <node>.<processor id>.<param>")
    node = graph.nodes.get(parts[0])
    if node is None:
        raise MixcoreError(f"{where}: no track or bus named {short(parts[0])}{did_you_mean(parts[0], graph.nodes)}")
    if len(parts) == 3 and parts[1] == "sends":
        bus, _, param = parts[2].partition(".")
        sends = [e.dst for e in graph.edges if e.src == node.name and e.kind == "send"]
        if bus not in sends:
            raise MixcoreError(f"{where}: {short(node.name)} has no send to {short(bus)}{did_you_mean(bus, sends)}")
        if param != "level_db":
            raise MixcoreError(f"{where}: a send's automatable parameter is level_db, got {short(param)}")

        def check_send(v: float, w: str) -> None:
            if not -120.0 <= v <= 24.0:
                raise MixcoreError(f"{w}: value {v:g} of {short(target)} is out of range, expected -120 .. 24")

        return (node.name, -1, f"send:{bus}"), check_send
    if len(parts) == 2:
        param = parts[1]
        if param not in STRIP_PARAMS or node.kind == "master" and param == "pan":
            ids = [p.id for p in node.processors]
            hint = " (a processor's parameter is <node>.<processor id>.<param>)" if param in ids or any(
                param in p._values.by_name for p in node.processors) else did_you_mean(param, STRIP_PARAMS)
            raise MixcoreError(f"{where}: {short(param)} is not a fader parameter of {short(node.name)}; "
                               f"expected gain_db or pan{hint}")
        lo, hi = STRIP_PARAMS[param]

        def check(v: float, w: str, lo=lo, hi=hi, param=param) -> None:
            if not lo <= v <= hi:
                raise MixcoreError(f"{w}: value {v:g} of {short(target)} is out of range, expected {lo:g} .. {hi:g}")

        return (node.name, -1, param), check
    ids = {p.id: k for k, p in enumerate(node.processors)}
    if parts[1] not in ids:
        raise MixcoreError(f"{where}: {short(node.name)} has no processor with id {short(parts[1])}{did_you_mean(parts[1], ids)}"
                           + (f"; ids: {', '.join(ids)}" if ids else "; its chain is empty"))
    k = ids[parts[1]]
    proc = node.processors[k]
    params = proc._values.by_name
    p = proc.param_for(parts[2])
    if p is None:
        raise MixcoreError(f"{where}: processor {short(parts[1])} has no parameter {short(parts[2])}{did_you_mean(parts[2], params)}")
    if p.choices is not None or not getattr(p, "automatable", True):
        raise MixcoreError(f"{where}: parameter {short(parts[2])} of {short(parts[1])} cannot be automated")

    def check(v: float, w: str, p=p) -> None:
        try:
            p.validate(v)
        except MixcoreError as e:
            raise MixcoreError(f"{w}: {e}") from None

    return (node.name, k, parts[2]), check
