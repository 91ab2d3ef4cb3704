"""Test-only helpers: a latent processor, signal writers, CLI runner."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from mixcore.params import Param
from mixcore.processors.base import Processor
from mixcore.processors.registry import register


@register
class AddLatency(Processor):
    """For testing purposes: delays its input by ``latency`` samples and reports it.

    Written with numpy on purpose (an implementation independent of the engine's).
    """

    type_name = "test_latency"
    PARAMS = (Param("samples", default=0, lo=0, hi=100000, automatable=False),)

    def _prepare(self, spec):
        self._hist = np.zeros((spec.num_channels, int(self.samples)), dtype=np.float32)

    def reset(self):
        self._hist[...] = 0.0

    def process(self, block):
        both = np.concatenate([self._hist, block], axis=1)
        block[...] = both[:, : block.shape[1]]
        self._hist = both[:, block.shape[1]:].copy()

    @property
    def latency_samples(self):
        return int(self.samples)


@register
class Tail(Processor):
    """For testing purposes: a pass-through that reports a tail of ``samples``."""

    type_name = "test_tail"
    PARAMS = (Param("samples", default=0, lo=0, hi=10**7, automatable=False),)

    def process(self, block):
        pass

    @property
    def tail_samples(self):
        return int(self.samples)


def cycle_blocks(x: np.ndarray, sizes, fn) -> np.ndarray:
    """A copy of x run through ``fn(block, pos)`` in consecutive C-contiguous blocks of the given
    sizes (cycled; 0-length blocks included), each written back in place."""
    out = x.copy()
    pos, k = 0, 0
    while pos < x.shape[1]:
        m = min(sizes[k % len(sizes)], x.shape[1] - pos)
        blk = np.ascontiguousarray(out[:, pos:pos + m])
        fn(blk, pos)
        out[:, pos:pos + m] = blk
        pos += m
        k += 1
    return out


def run_blocks(proc, x: np.ndarray, sr: float, block: int, changes: dict | None = None) -> np.ndarray:
    """Process x in blocks of ``block``, setting ``changes[sample] = {param: value}`` at those samples.

    ``proc`` is used once (the changes stay set); pass a fresh processor each time.
    """
    from mixcore.processors.base import ProcessSpec

    changes = changes or {}
    proc.prepare(ProcessSpec(float(sr), max(block, 1), x.shape[0]))
    proc.reset()
    out = np.empty_like(x)
    cuts = sorted(set(range(0, x.shape[1], block)) | set(changes) | {x.shape[1]})
    for a, b in zip(cuts[:-1], cuts[1:]):
        for name, value in changes.get(a, {}).items():
            setattr(proc, name, value)
        blk = x[:, a:b].copy()  # C-contiguous, and x stays untouched
        proc.process(blk)
        out[:, a:b] = blk
    return out


def noise(n: int, channels: int = 1, seed: int = 0, level: float = 0.25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.uniform(-level, level, size=(channels, n))).astype(np.float32)


def write(path: Path, audio: np.ndarray, sr: int = 48000) -> Path:
    sf.write(str(path), np.asarray(audio).T, sr, subtype="FLOAT")
    return path


def read(path: Path) -> np.ndarray:
    x, _ = sf.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(x.T)


ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m mixcore ARGS`` on this source tree (the package the tests import); ``env`` adds to
    the environment."""
    import mixcore

    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = str(Path(mixcore.__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "mixcore", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@register
class Poison(Processor):
    """For testing purposes: passes its input (times ``level``) but writes NaN at input sample ``at``
    of channel 0 (counted from its first processed sample): a processor gone wrong."""

    type_name = "test_poison"
    PARAMS = (Param("at", default=0, lo=0, hi=10**9, automatable=False), Param("level", default=1.0, lo=0.0, hi=2.0))

    def _prepare(self, spec):
        self._pos = 0

    def reset(self):
        self._pos = 0

    def process(self, block):
        n = block.shape[1]
        if float(self.level) != 1.0:
            block *= np.float32(self.level)
        i = int(self.at) - self._pos
        if 0 <= i < n:
            block[0, i] = np.nan
        self._pos += n
