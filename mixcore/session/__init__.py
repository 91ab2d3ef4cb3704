"""Sessions: load, build in Python, save, render and stream (SPEC §2).

The path of the audio: session file -> :class:`SessionModel` (validated) ->
:class:`~mixcore.graph.Graph` (processors made by :mod:`.build`, connected by
the graph) -> :class:`~mixcore.graph.plan.RenderPlan` (compiled once) ->
:class:`~mixcore.render.engine.Engine` (Cython kernels, block by block) ->
:class:`~mixcore.render.stream.Stream` (trim, sinks) -> :class:`~mixcore.render.writer.AtomicWriter`.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MixcoreError
from ..graph.plan import RenderPlan, compile_plan
from ..processors.base import Processor
from ..render.commit import CommitSet, outputs_of
from ..render.engine import Engine
from ..render.stream import EngineSource, MeterSink, Stream
from ..render.writer import AtomicWriter, output_format
from .build import (affordable_threads, build_graph, build_lanes, default_block_size, resampled_sources, resolve,
                    session_output, session_sample_rate)
from .io import model_from_dict, model_to_toml, read_session_model, write_text_atomic
from .model import Bus, SessionModel, Track

#: An error message that starts with a key of the session file (``tracks[0]...``, ``master.chain...``).
_SESSION_KEY = re.compile(r"(?:%s)[\[.: ]" % "|".join(sorted(SessionModel.model_fields, key=len, reverse=True)))

#: Block size of offline renders when the session sets none (never changes the output).
DEFAULT_RENDER_BLOCK = 16384  # ~7 % faster than 4096 on R1 (less Python per sample), +6 MB
MAX_AUTO_TAIL_S = 30.0


@dataclass
class RenderResult:
    """What a render produced."""

    path: Path | None
    sample_rate: int
    frames: int
    latency_samples: int
    seconds: float  # wall-clock time of the render
    stems: dict[str, Path] = field(default_factory=dict)
    loudness: Any = None  # mixcore.metering.AnalysisResult of the output
    node_loudness: dict[str, Any] = field(default_factory=dict)  # per metered node (post-fader, aligned)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    @property
    def realtime_factor(self) -> float:
        return self.duration_s / self.seconds if self.seconds > 0 else float("inf")


def processor_entry(proc: Processor) -> dict[str, Any]:
    """A chain entry (dict) that rebuilds ``proc`` with its current parameters."""
    if proc.type_name in ("vst3", "pedalboard", "lv2"):
        from ..hosting import hosted_state

        return hosted_state(proc)
    entry: dict[str, Any] = {"type": proc.type_name}
    if proc.id != proc.type_name:
        entry["id"] = proc.id
    for name, value in proc.parameters.items():
        param = proc._values.by_name[name]
        if value is not None and value != param.default:
            entry[name] = proc.saved_value(name, value) if hasattr(proc, "saved_value") else value
    return entry


def _entries(chain: list[Any] | None) -> list[dict[str, Any]]:
    return [processor_entry(p) if isinstance(p, Processor) else dict(p) for p in (chain or [])]


class Session:
    """A mix: tracks, buses, master, automation.

    >>> s = Session(sample_rate=48000)
    >>> s.add_track("kick", "stems/kick.wav", gain_db=-2.0, chain=[Compressor(threshold_db=-18)])
    >>> s.render("mix.wav")
    """

    def __init__(self, model: SessionModel | str | os.PathLike | None = None, *, base_dir: str | Path | None = None,
                 path: str | Path | None = None, **settings: Any) -> None:
        if isinstance(model, (str, os.PathLike)):  # Session("mix.toml"): the file, as Session.load
            if settings or base_dir is not None or path is not None:
                raise TypeError("Session(path) takes no other arguments; use Session.load(path)")
            path = Path(model)
            model = read_session_model(path)
        if model is None:
            model = model_from_dict(settings)
        elif not isinstance(model, SessionModel):
            raise TypeError(f"Session(model): expected a session file's path or a SessionModel, not "
                            f"{type(model).__name__}")
        elif settings:
            model = model.model_copy(update=settings)
        self.model = model
        self.path = Path(path) if path else None
        self.base_dir = Path(base_dir) if base_dir else (self.path.parent if self.path else Path.cwd())

    # -- files --------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> "Session":
        p = Path(path)
        return cls(read_session_model(p), path=p)

    def save(self, path: str | Path) -> Path:
        """Write the session as TOML; relative paths are rewritten relative to the new file."""
        p = Path(path)
        if p.suffix.lower() != ".toml":
            raise MixcoreError(f"{p}: a session file ends in .toml")
        model = self._relocated(p.parent.resolve())
        write_text_atomic(p, model_to_toml(model))
        return p

    def _relocated(self, new_dir: Path) -> SessionModel:
        import os

        def rel(s: str) -> str:
            full = resolve(self.base_dir, s).resolve()
            return os.path.relpath(full, new_dir)

        data = self.model.model_dump(mode="python")
        for t in data["tracks"]:
            t["source"] = rel(t["source"])
            if t.get("instrument") and isinstance(t["instrument"].get("path"), str):
                t["instrument"]["path"] = rel(t["instrument"]["path"])
        for m in data["midi"]:
            m["file"] = rel(m["file"])
        for chain in [t["chain"] for t in data["tracks"]] + [b["chain"] for b in data["buses"]] + [data["master"]["chain"]]:
            for entry in chain:
                for key in ("path", "preset"):
                    if isinstance(entry.get(key), str):
                        entry[key] = rel(entry[key])
        return SessionModel.model_validate(data)

    def to_toml(self) -> str:
        return model_to_toml(self.model)

    # -- building in Python -------------------------------------------------
    def add_track(self, name: str, source: str | Path, *, chain: list[Any] | None = None, **kw: Any) -> None:
        """Add a track; ``chain`` holds processors or chain-entry dicts."""
        self._append("tracks", Track, name=name, source=str(source), chain=_entries(chain), **kw)

    def add_bus(self, name: str, *, chain: list[Any] | None = None, **kw: Any) -> None:
        self._append("buses", Bus, name=name, chain=_entries(chain), **kw)

    def set_master(self, chain: list[Any] | None = None, gain_db: float = 0.0) -> None:
        data = self.model.model_dump()
        data["master"] = {"chain": _entries(chain), "gain_db": gain_db}
        self.model = model_from_dict(data)

    def automate(self, target: str, points: list[tuple[float, float]]) -> None:
        data = self.model.model_dump()
        data["automation"].append({"target": target, "points": [list(p) for p in points]})
        self.model = model_from_dict(data)

    def _append(self, key: str, _cls: type, **kw: Any) -> None:
        data = self.model.model_dump()
        data[key].append(kw)
        self.model = model_from_dict(data)

    # -- rendering ----------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        with self._named_errors():  # probes the sources when the session sets no rate
            return session_sample_rate(self.model, self.base_dir)

    @contextmanager
    def _named_errors(self) -> Iterator[None]:
        """An error about a key of a session loaded from a file names the file first (``s.toml: tracks[0]...``)."""
        try:
            yield
        except MixcoreError as e:
            text = str(e)
            if self.path is None or text.startswith(f"{self.path}: ") or not _SESSION_KEY.match(text):
                raise
            raise MixcoreError(f"{self.path}: {text}") from None

    def compile(self, block_size: int | None = None) -> tuple[RenderPlan, dict, int]:
        """Build and compile: (plan, automation lanes, output length in samples)."""
        with self._named_errors():
            return self._compile(block_size)

    def _compile(self, block_size: int | None) -> tuple[RenderPlan, dict, int]:
        sr = self.sample_rate
        B = int(block_size or self.model.block_size or default_block_size(self.model, DEFAULT_RENDER_BLOCK))
        if B < 1:
            raise MixcoreError(f"block_size: {B} must be at least 1")
        graph = build_graph(self.model, self.base_dir, sr)
        plan = compile_plan(graph, sr, B)
        lanes = build_lanes(self.model, graph, self.base_dir)
        longest = max(n.source.frames for n in graph.nodes.values() if n.source is not None)
        if self.model.tail_s == "auto":
            tail = min(plan.tail_samples, int(MAX_AUTO_TAIL_S * sr))
        else:
            tail = int(round(float(self.model.tail_s) * sr))
        return plan, lanes, longest + tail

    def resampled_sources(self) -> list[dict[str, Any]]:
        """The audio sources read at another rate than the session's (``key``, ``path``, ``from_hz``,
        ``to_hz``): soxr resamples them as they are read."""
        with self._named_errors():
            return resampled_sources(self.model, self.base_dir, self.sample_rate)

    def stream(self, block_size: int = 512, *, threads: int = 1) -> Iterator[np.ndarray]:
        """Yield the mix as float32 blocks of shape (2, block_size) (the last may be shorter)."""
        yield from Stream(self.engine_source(block_size, threads))

    def engine_source(self, block_size: int | None = None, threads: int = 1, *,
                      before_block: Callable[[int], None] | None = None) -> Callable[[], EngineSource]:
        """A function that compiles the session and returns its engine as a stream's source
        (:class:`~mixcore.render.stream.Stream` calls it once its sinks are open)."""
        def open_source() -> EngineSource:
            plan, lanes, frames = self.compile(block_size)
            return self._engine_source(plan, lanes, frames, threads, before_block)
        return open_source

    def _engine_source(self, plan: RenderPlan, lanes: dict, frames: int, threads: int,
                       before_block: Callable[[int], None] | None = None) -> EngineSource:
        engine = Engine(plan, lanes, threads=affordable_threads(plan, threads), interval=self.model.automation_interval)
        # a source's NaN, a processor's non-finite output: named with the session file
        return EngineSource(engine, frames, guard=self._named_errors, before_block=before_block)

    def input_paths(self) -> list[Path]:
        paths = [resolve(self.base_dir, t.source) for t in self.model.tracks]
        paths += [resolve(self.base_dir, m.file) for m in self.model.midi]
        if self.path is not None:
            paths.append(self.path)
        return paths

    def output_path(self, out: str | Path | None = None) -> Path:
        """``out``, or the session's ``output`` (relative to the session's folder)."""
        if out is None:
            if not self.model.output:
                raise MixcoreError("output: no output file given (use -o OUT or set output = \"mix.wav\")")
            out = session_output(self.base_dir, self.model.output, f"{self.path}: " if self.path else "")
        return Path(out)

    def stem_paths(self, out: str | Path, stems: str | Path | None) -> dict[str, Path]:
        """Track name -> the stem file a render with ``stems`` writes (the output's extension)."""
        if not stems:
            return {}
        return {t.name: Path(stems) / f"{t.name}{Path(out).suffix}" for t in self.model.tracks}

    def render(self, out: str | Path | None = None, *, block_size: int | None = None, threads: int = 1,
               stems: str | Path | None = None, progress: Callable[[int, int], None] | None = None,
               meter: bool = True, meter_nodes: tuple[str, ...] | list[str] = (),
               commit: CommitSet | None = None) -> RenderResult:
        """Render to ``out`` (default: the session's ``output``) block by block, atomically.

        The output and the stems replace existing files only when the whole render has succeeded;
        with ``commit`` (a :class:`~mixcore.render.commit.CommitSet`) they stay staged in it, for the
        caller to commit with its other outputs (a manifest) or to discard.
        The output is metered in the same pass (``meter``); ``meter_nodes`` names tracks or buses
        whose post-fader output is metered too (in ``RenderResult.node_loudness``).
        """
        out = self.output_path(out)
        output_format(out, self.model.bit_depth)
        if out.is_dir():
            raise MixcoreError(f"output: {out} is a folder; give a file name")
        inputs = {p.resolve() for p in self.input_paths()}
        if out.resolve() in inputs:
            raise MixcoreError(f"output: {out} is an input of the session; refusing to overwrite it")
        stem_dir = Path(stems) if stems else None
        known = [t.name for t in self.model.tracks] + [b.name for b in self.model.buses] + ["master"]
        for name in meter_nodes:
            if name not in known:
                from ..errors import did_you_mean

                raise MixcoreError(f"--meter: no track or bus named {name!r}{did_you_mean(name, known)}")
        meter_nodes = [n for n in dict.fromkeys(meter_nodes) if n != "master"]
        stem_paths = self.stem_paths(out, stem_dir)
        track_names = list(stem_paths)
        for p in stem_paths.values():
            if p.resolve() in inputs or p.resolve() == out.resolve():
                raise MixcoreError(f"--stems: {p} would overwrite an input or the output")
        if stem_dir is not None and stem_dir.exists() and not stem_dir.is_dir():
            raise MixcoreError(f"--stems: {stem_dir} is a file; give a folder")
        sr = self.sample_rate
        loud = _make_meter(sr) if meter else None
        t0 = time.perf_counter()
        with outputs_of(commit) as outputs:
            sinks: list[tuple[str, Any]] = [("master", AtomicWriter(out, sr, 2, self.model.bit_depth, self.model.seed,
                                                                    commit=outputs))]
            sinks += [(n, AtomicWriter(p, sr, 2, self.model.bit_depth, self.model.seed + 1 + i, where="--stems",
                                       commit=outputs)) for i, (n, p) in enumerate(stem_paths.items())]
            if loud is not None:
                sinks.append(("master", MeterSink(loud)))
            node_meters = {n: _make_meter(sr) for n in meter_nodes}
            sinks += [(n, MeterSink(m)) for n, m in node_meters.items()]
            source = Stream(self.engine_source(block_size, threads), sinks, progress).run().source
            seconds = time.perf_counter() - t0
            result = RenderResult(path=out, sample_rate=sr, frames=source.length,
                                  latency_samples=source.plan.total_latency, seconds=seconds, stems=stem_paths,
                                  loudness=loud.result() if loud is not None else None,
                                  node_loudness={n: m.result(n) for n, m in node_meters.items()})
        return result


def _make_meter(sample_rate: int):
    from ..metering import LoudnessMeter

    return LoudnessMeter(sample_rate, 2)


def load_session(path: str | Path) -> Session:
    """Load and validate a session file."""
    return Session.load(path)


__all__ = ["Session", "SessionModel", "RenderResult", "load_session"]
