"""Hit an integrated-loudness target under a true-peak ceiling.

The chain is gain -> (optional user processors) -> true-peak limiter. The
loudness after a limiter is not linear in the input gain, so the gain is found
by iteration: render, measure with mixcore's own BS.1770 meter, correct the
gain by the error, until the output is within ``tolerance_lu`` of the target.
Every pass streams block by block (memory does not grow with the file).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MixcoreError
from ..processors.base import ProcessSpec, Processor
from ..processors.chain import Chain
from ..render.engine import Trim
from ..render.sources import SourceReader, probe
from ..render.writer import AtomicWriter, output_format

BLOCK = 4096


@dataclass
class MasterResult:
    path: Path
    input_lufs: float
    output_lufs: float
    true_peak_dbtp: float
    gain_db: float  # gain into the limiter
    passes: int
    target_lufs: float
    ceiling_dbtp: float
    reached: bool  # within tolerance of the target
    note: str = ""


def _run(path: Path, chain: Processor | None, sample_rate: int, channels: int, out: Path | None,
         bit_depth, seed: int):
    """One streaming pass: file -> chain -> (writer) + meter. Returns the meter's result."""
    from ..metering import LoudnessMeter

    reader = SourceReader(path, sample_rate, "input")
    reader.open()
    meter = LoudnessMeter(sample_rate, channels)
    L = 0
    if chain is not None:
        chain.prepare(ProcessSpec(float(sample_rate), BLOCK, channels))
        chain.reset()
        L = int(chain.latency_samples)
    trim = Trim(L, reader.frames)
    buf = np.zeros((channels, BLOCK), dtype=np.float32)
    writer = AtomicWriter(out, sample_rate, channels, bit_depth, seed) if out is not None else None
    try:
        if writer is not None:
            writer.__enter__()
        done = 0
        while done < reader.frames + L:
            n = min(BLOCK, reader.frames + L - done)
            blk = buf[:, :n] if n == BLOCK else np.zeros((channels, n), dtype=np.float32)
            reader.read_into(blk)
            if chain is not None:
                chain.process(blk)
            y = trim(blk)
            if y.shape[1]:
                meter.process(np.ascontiguousarray(y))
                if writer is not None:
                    writer.write(y)
            done += n
    except BaseException as e:
        if writer is not None:
            writer.__exit__(type(e), e, None)
        raise
    finally:
        reader.close()
    if writer is not None:
        writer.__exit__(None, None, None)
    return meter.result()


def master_file(inp: str | Path, out: str | Path, *, target_lufs: float = -14.0, ceiling_dbtp: float = -1.0,
                chain: list[Processor] | None = None, bit_depth="float", sample_rate: int | None = None,
                seed: int = 0, tolerance_lu: float = 0.05, max_passes: int = 8,
                max_gain_db: float = 48.0) -> MasterResult:
    """Master ``inp`` to ``out`` at ``target_lufs`` with a true-peak ceiling."""
    from ..processors.registry import processor_types

    inp, out = Path(inp), Path(out)
    info = probe(inp, "input")
    output_format(out, bit_depth, "-o")
    if out.resolve() == inp.resolve():
        raise MixcoreError(f"-o: {out} is the input file; refusing to overwrite it")
    if not -70.0 <= target_lufs <= 0.0:
        raise MixcoreError(f"--target-lufs: {target_lufs} is out of range, expected -70 .. 0 LUFS")
    if not -20.0 <= ceiling_dbtp <= 0.0:
        raise MixcoreError(f"--ceiling-dbtp: {ceiling_dbtp} is out of range, expected -20 .. 0 dBTP")
    sr = int(sample_rate or info.samplerate)
    ch = int(info.channels)
    types = processor_types()
    Gain, Limiter = types["gain"], types["limiter"]
    before = _run(inp, None, sr, ch, None, bit_depth, seed)
    if before.integrated_lufs is None or not np.isfinite(before.integrated_lufs):
        raise MixcoreError(f"{inp}: the input is silent (no gated loudness); nothing to master")
    gain = target_lufs - before.integrated_lufs
    result = None
    note = ""
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        trial = Path(tmp) / ("pass" + out.suffix)
        for k in range(1, max_passes + 1):
            gain = float(np.clip(gain, -max_gain_db, max_gain_db))
            procs = [Gain(gain_db=gain), *(chain or []), Limiter(ceiling_dbtp=ceiling_dbtp)]
            result = _run(inp, Chain(procs), sr, ch, trial, bit_depth, seed)
            err = target_lufs - result.integrated_lufs
            if abs(err) <= tolerance_lu:
                break
            if abs(gain) >= max_gain_db and np.sign(err) == np.sign(gain):
                note = f"gain limit of {max_gain_db:g} dB reached"
                break
            gain += err
        else:
            note = f"stopped after {max_passes} passes"
        trial.replace(out)
    reached = abs(target_lufs - result.integrated_lufs) <= tolerance_lu
    if not reached and not note:
        note = "the limiter cannot reach the target on this material"
    return MasterResult(path=out, input_lufs=before.integrated_lufs, output_lufs=result.integrated_lufs,
                        true_peak_dbtp=result.true_peak_dbtp, gain_db=gain, passes=k, target_lufs=target_lufs,
                        ceiling_dbtp=ceiling_dbtp, reached=reached, note=note)
