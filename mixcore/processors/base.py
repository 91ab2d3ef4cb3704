"""The one lifecycle every processor follows, native or hosted.

``prepare(spec) -> process(block) -> reset()``, plus ``latency_samples`` and
``tail_samples``. A block is a float32, C-contiguous array of shape
``(n_channels, n_samples)`` that ``process`` rewrites in place; ``n_samples``
may be anything from 0 to ``spec.max_block_size`` and the result never depends
on how a signal is cut into blocks.

Parameters are declared as data (:class:`mixcore.params.Param`) and read or set
as attributes (``comp.threshold_db = -18``). Setting one validates it and calls
``_update()`` so derived values (coefficients) are never stale.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

import numpy as np

from ..errors import MixcoreError
from ..params import Param, ParamSet
from .smoothing import Ramp


@dataclass(frozen=True)
class ProcessSpec:
    """What a processor is prepared for. Equal specs need no re-prepare."""

    sample_rate: float
    max_block_size: int
    num_channels: int


class Processor:
    """Base class of every processor.

    Subclasses set ``type_name`` and ``PARAMS`` and implement ``_prepare``
    (allocate state for a spec), ``_update`` (recompute derived values from the
    parameters), ``reset`` (zero the state, never touching parameters) and
    ``process`` (in place).
    """

    type_name: ClassVar[str] = ""
    #: Bumped whenever any processor's parameters change or it is prepared (and the processor's own
    #: ``_version`` with it): the engine's prepared native operations (``bank_op``) hold addresses of
    #: derived values, and a bank whose members' versions moved is planned again.
    _epoch: ClassVar[int] = 0
    _version = 0  # (class default for subclasses that set their own state up)
    PARAMS: ClassVar[tuple[Param, ...]] = ()
    #: True when ``process_automated`` takes per-sample parameter arrays (sample-accurate automation);
    #: otherwise the engine sets parameters on its automation grid and the processor smooths.
    SAMPLE_ACCURATE: ClassVar[bool] = False
    #: True when the processor has ``process_with_key(block, key)``: a ``sidechain`` parameter naming a
    #: track or bus feeds ``key`` (the router aligns it). A processor that is both SAMPLE_ACCURATE and
    #: TAKES_SIDECHAIN takes the key in ``process_automated(block, values, key=...)`` too.
    TAKES_SIDECHAIN: ClassVar[bool] = False
    #: True when the processor has a settable ``tempo_bpm`` (e.g. a delay time in beats); the session
    #: sets it to the session's tempo.
    USES_TEMPO: ClassVar[bool] = False

    def __init__(self, *, id: str | None = None, **params: Any) -> None:
        object.__setattr__(self, "_values", ParamSet(self.PARAMS))
        object.__setattr__(self, "spec", None)
        object.__setattr__(self, "id", id or self.type_name)
        object.__setattr__(self, "_version", 0)
        for name, value in params.items():
            self._values.set(name, value)

    # -- parameters -------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values")
        if values is not None and name in values.by_name:
            return values.values[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._values.by_name:
            self.set_param(name, value)
        else:
            object.__setattr__(self, name, value)

    def set_param(self, name: str, value: Any) -> None:
        """Set one parameter (validated); smoothed processors ramp to it."""
        self._values.set(name, value)
        Processor._epoch += 1
        object.__setattr__(self, "_version", self._version + 1)
        if self.spec is not None:
            self._update()

    def get_param(self, name: str) -> Any:
        return self._values.values[name]

    def param_for(self, name: str) -> Param | None:
        """The Param that automation of ``name`` is checked against (None: not a parameter)."""
        return self._values.by_name.get(name)

    def _param_ramp(self, name: str, value: float | None = None) -> Ramp:
        """A ramp for parameter ``name`` (in ``_prepare``): at ``value`` (default: the parameter's value),
        gliding to each new target over the parameter's declared ``smoothing_ms``."""
        ramp = Ramp(self._values.values[name] if value is None else value)
        ramp.configure(self.spec.sample_rate, self._values.by_name[name].smoothing_ms)
        return ramp

    @property
    def parameters(self) -> dict[str, Any]:
        """Current parameter values, by name."""
        return dict(self._values.values)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._values.values.items())
        return f"{type(self).__name__}({args})"

    # -- lifecycle --------------------------------------------------------
    def prepare(self, spec: ProcessSpec) -> None:
        """Allocate for ``spec``; a no-op when already prepared for it."""
        if spec == self.spec:
            return
        if spec.num_channels < 1 or spec.max_block_size < 1 or spec.sample_rate <= 0:
            raise MixcoreError(f"{type(self).__name__}: invalid process spec {spec}")
        object.__setattr__(self, "spec", spec)
        Processor._epoch += 1
        object.__setattr__(self, "_version", self._version + 1)
        self._prepare(spec)
        self._update()
        self.reset()

    def _prepare(self, spec: ProcessSpec) -> None:
        """Allocate state arrays for ``spec`` (subclasses)."""

    def _update(self) -> None:
        """Recompute derived values from the parameters (subclasses)."""

    def reset(self) -> None:
        """Clear the processing state (filters, envelopes, delay lines)."""

    def process(self, block: np.ndarray) -> None:
        """Process ``block`` (float32, shape (channels, n), C-contiguous) in place."""
        raise NotImplementedError

    def bank_key(self) -> Hashable | None:
        """A key under which this processor may run in one call with others of the same key
        (:meth:`process_bank`), or None: it must run alone for the next block. Banking is an
        optimisation only: ``process_bank`` gives the same bits as calling ``process`` on each."""
        return None

    @classmethod
    def process_bank(cls, procs: Sequence[Processor], blocks: Sequence[np.ndarray]) -> None:
        """Process ``blocks[i]`` in place with ``procs[i]`` for every i, all of one ``bank_key``
        (the blocks: float32, C-contiguous, all of one shape). Subclasses with a kernel across
        processors (SIMD over the lanes of many tracks) override this; the result must be
        bit-identical to ``procs[i].process(blocks[i])`` for each i."""
        for proc, block in zip(procs, blocks):
            proc.process(block)

    @classmethod
    def bank_op(cls, procs: Sequence[Processor], works: list[list[np.ndarray]], channels: list[int]) -> Any:
        """A native operation doing ``process_bank`` for ``procs`` (all of one ``bank_key``) on the engine's
        flat buffers, prepared once: ``works[slot][i]`` is member i's flat float32 buffer for that slot,
        its block the C-contiguous ``(channels[i], n)`` front. It has ``run(slot, n)`` and stays valid
        until a parameter of one of ``procs`` changes (their ``_version``). None: no such operation
        (the engine calls ``process_bank``)."""
        return None

    def process_with_key(self, block: np.ndarray, key: np.ndarray) -> None:
        """Process ``block`` with ``key`` as the sidechain input (only when ``TAKES_SIDECHAIN``)."""
        raise NotImplementedError(f"{type(self).__name__} takes no sidechain")

    def process_automated(self, block: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Process ``block`` with parameters given per sample (``values[name][i]`` at sample i)."""
        raise NotImplementedError(f"{type(self).__name__} has no sample-accurate automation")

    def _per_sample(self, values: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        """Every numeric parameter as a float64 array for a sample-accurate kernel.

        An automated parameter gets its ``n`` values (clipped to its range), every other one its
        current value as an array of length 1 (the kernels read index ``i`` of an array of length
        ``n``, index 0 of one of length 1). A name that is not a numeric, automatable parameter
        raises a one-line error naming it.
        """
        for name in values:
            p = self.param_for(name)
            if p is None or p.choices is not None or not p.automatable:
                what = "has no parameter" if p is None else "cannot automate"
                raise MixcoreError(f"{self.id}.{name}: {type(self).__name__} {what} {name!r} (sample-accurate "
                                   "automation takes numeric parameters only)")
        out = {}
        for p in self.PARAMS:
            if p.choices is not None:
                continue
            v = values.get(p.name)
            if v is None:
                cur = self._values.values[p.name]
                if isinstance(cur, (int, float)) and not isinstance(cur, bool):
                    out[p.name] = np.full(1, float(cur))
                continue
            a = np.asarray(v, dtype=np.float64).reshape(-1)
            if a.shape[0] != n:
                raise MixcoreError(f"{self.id}.{p.name}: {a.shape[0]} automation values for a block of {n} samples")
            out[p.name] = np.ascontiguousarray(np.clip(a, p.lo, p.hi))
        return out

    def _keep_last(self, values: dict[str, np.ndarray]) -> None:
        """After an automated block: the parameters hold their last values (derived values follow)."""
        for name, v in values.items():
            if len(v):
                self._values.values[name] = float(np.clip(v[-1], self._values.by_name[name].lo,
                                                          self._values.by_name[name].hi))
        self._update()

    @property
    def latency_samples(self) -> int:
        """Delay this processor adds to its output, in samples (after prepare). A property, not a
        constant: it may follow the parameters and the spec (a limiter's lookahead, an IR's length)."""
        return 0

    @property
    def tail_samples(self) -> int:
        """How long the output may go on after the input falls silent, in samples."""
        return 0

    # -- one-shot use, pedalboard-style -----------------------------------
    def __call__(self, audio: np.ndarray, sample_rate: float, *, block_size: int = 4096) -> np.ndarray:
        """Process a whole signal and return it aligned (latency removed).

        ``audio`` has shape (channels, samples) or (samples,); the result has
        the same shape, dtype float32. The processor is reset first.
        """
        return process_whole(self, audio, sample_rate, block_size=block_size)


def process_whole(proc: Processor, audio: np.ndarray, sample_rate: float, *, block_size: int = 4096) -> np.ndarray:
    """Run ``proc`` over a whole signal block by block, removing its latency."""
    x = np.asarray(audio)
    if x.ndim not in (1, 2):
        raise MixcoreError(f"audio must have shape (channels, samples) or (samples,), got {x.shape}")
    squeeze = x.ndim == 1
    x2 = np.ascontiguousarray(x.reshape(1, -1) if squeeze else x, dtype=np.float32)
    n_ch, n = x2.shape
    from ..render.stream import ArraySink, ChainSource, Stream

    pos = 0

    def read(blk: np.ndarray) -> None:
        nonlocal pos
        k = min(blk.shape[1], max(n - pos, 0))
        blk[:, :k] = x2[:, pos:pos + k]
        blk[:, k:] = 0.0
        pos += blk.shape[1]

    out = ArraySink(n_ch, n)
    Stream(ChainSource(read, n, n_ch, sample_rate, int(block_size), proc), [("out", out)]).run()
    return out.out[0] if squeeze else out.out
