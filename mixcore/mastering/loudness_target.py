"""Hit an integrated-loudness target under a true-peak ceiling.

The chain is (tone and dynamics: :mod:`.chain`) -> gain -> true-peak limiter. The
loudness after a limiter is not linear in the input gain, so the gain is found
by iteration: render, measure with mixcore's own BS.1770 meter, correct the
gain by the error, until the output is within ``tolerance_lu`` of the target.
Every pass streams block by block (memory does not grow with the file).

Limiter load: the largest gain reduction of the limiter in the final pass is reported
(``limiter_gr_db``). With ``max_limiting_db`` the load is capped: once the limiter limits, its
largest reduction follows the input gain one to one (it is the overshoot of the highest true peak
over the ceiling), so a pass over the cap lowers the gain by the excess, and the loudness reached
under the cap is reported instead of the target.

Sample-rate conversion (``sample_rate``) happens when the file is read (soxr, VHQ), before the
chain, so the true-peak limiter works at the output rate and its ceiling holds on the final file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MixcoreError
from ..processors.base import Processor
from ..processors.chain import Chain
from .chain import resolve_chain
from ..render.stream import ChainSource, MeterSink, Stream
from ..render.sources import SourceReader, probe
from ..render.commit import CommitSet, outputs_of
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
    limiter_gr_db: float = 0.0  # the limiter's largest gain reduction in the final pass (positive dB)
    sample_rate: int = 0
    before: object = field(default=None, repr=False)  # AnalysisResult of the input (at the output rate)
    after: object = field(default=None, repr=False)   # AnalysisResult of the output (before quantisation)
    chain: list = field(default_factory=list)  # the processors before the gain: {"type", "params"} each

    def to_json_dict(self) -> dict:
        """The numbers of the job (non-finite as None), with the output's LRA before and after."""
        def num(x):
            return None if x is None or not np.isfinite(x) else round(float(x), 4)

        return {"output": str(self.path), "input_lufs": num(self.input_lufs), "output_lufs": num(self.output_lufs),
                "target_lufs": self.target_lufs, "true_peak_dbtp": num(self.true_peak_dbtp),
                "ceiling_dbtp": self.ceiling_dbtp, "gain_db": num(self.gain_db),
                "limiter_gr_db": num(self.limiter_gr_db), "passes": self.passes, "reached": self.reached,
                "note": self.note, "sample_rate": self.sample_rate, "chain": self.chain,
                "input_lra_lu": num(self.before.loudness_range_lu) if self.before is not None else None,
                "output_lra_lu": num(self.after.loudness_range_lu) if self.after is not None else None}


#: The default cap on the limiter's largest gain reduction (dB): beyond it a master is crushed, and the
#: loudness reached under the cap is reported instead of the target.
MAX_LIMITING_DB = 15.0
#: Loudness gained per dB of input gain below which the limiter is saturated and the loop stops.
SATURATED = 0.1


def _run(path: Path, chain: Processor | None, sample_rate: int, channels: int, out: Path | None,
         bit_depth, seed: int, dither: str = "tpdf", commit: CommitSet | None = None, progress=None,
         label: str = ""):
    """One streaming pass: file -> chain -> (writer) + meter. Returns the meter's result.

    ``progress(done, total, label)`` is called after every block (frames of the input)."""
    from ..metering import LoudnessMeter

    meter = LoudnessMeter(sample_rate, channels)
    sinks: list = [("out", MeterSink(meter))]
    if out is not None:
        sinks.append(("out", AtomicWriter(out, sample_rate, channels, bit_depth, seed, where="-o", dither=dither,
                                          commit=commit)))

    def open_source() -> ChainSource:
        reader = SourceReader(path, sample_rate, "input", quality="VHQ")
        reader.open()
        try:  # the input itself was checked when read; the chain's non-finite samples name the file
            return ChainSource(reader.read_into, reader.frames, channels, sample_rate, BLOCK, chain, where=str(path),
                               close=reader.close)
        except BaseException:
            reader.close()
            raise

    def report(done: int, total: int) -> None:  # frames of the input read
        progress(min(done + stream.source.L, total), total, label)

    stream = Stream(open_source, sinks, report if progress is not None else None)
    stream.run()
    return meter.result()


def master_file(inp: str | Path, out: str | Path, *, target_lufs: float = -14.0, ceiling_dbtp: float = -1.0,
                chain: str | list[Processor] | None = "default", bit_depth="float", sample_rate: int | None = None,
                seed: int = 0, tolerance_lu: float = 0.05, max_passes: int = 8,
                max_gain_db: float = 48.0, max_limiting_db: float | None = MAX_LIMITING_DB,
                dither: str = "tpdf", width: float | None = None, commit: CommitSet | None = None,
                progress=None) -> MasterResult:
    """Master ``inp`` to ``out`` at ``target_lufs`` with a true-peak ceiling.

    ``chain`` runs before the loudness gain and the limiter: "default" (the gentle default chain of
    :mod:`.chain`, set from the measured input), None or "none" (nothing), a chain preset (a shipped
    name or a .toml file), or a list of processors; ``sample_rate`` resamples (soxr VHQ) before
    it; ``bit_depth`` 16/24 quantises with seeded TPDF ``dither`` ("tpdf" or noise-"shaped");
    ``width`` adds a ``width`` processor after the chain; ``max_limiting_db`` caps the limiter's
    largest gain reduction (see the module docstring). Every pass writes the same temporary file
    beside ``out``, which replaces ``out`` only after the last pass (or, with ``commit``, stays
    staged in that :class:`~mixcore.render.commit.CommitSet` for the caller's other outputs).
    ``progress(done, total, label)`` follows each pass (the CLI draws a bar per pass).
    """
    from ..render.writer import DITHERS
    from ..processors.registry import processor_types

    inp, out = Path(inp), Path(out)
    info = probe(inp, "input")
    output_format(out, bit_depth, "-o")
    if out.is_dir():
        raise MixcoreError(f"-o: {out} is a folder; give a file name")
    if out.resolve() == inp.resolve():
        raise MixcoreError(f"-o: {out} is the input file; refusing to overwrite it")
    if not -70.0 <= target_lufs <= 0.0:
        raise MixcoreError(f"--target-lufs: {target_lufs} is out of range, expected -70 .. 0 LUFS")
    if not -20.0 <= ceiling_dbtp <= 0.0:
        raise MixcoreError(f"--ceiling-dbtp: {ceiling_dbtp} is out of range, expected -20 .. 0 dBTP")
    if dither not in DITHERS:
        raise MixcoreError(f"--dither: unknown kind {dither!r}; expected one of {', '.join(DITHERS)}")
    if sample_rate is not None and not 8000 <= int(sample_rate) <= 384000:
        raise MixcoreError(f"--sample-rate: {sample_rate} is out of range, expected 8000 .. 384000 Hz")
    if width is not None and not 0.0 <= width <= 2.0:
        raise MixcoreError(f"--width: {width:g} is out of range, expected 0 .. 2")
    if max_limiting_db is not None and not 0.0 <= max_limiting_db <= 40.0:
        raise MixcoreError(f"--max-limiting-db: {max_limiting_db} is out of range, expected 0 .. 40 dB")
    sr = int(sample_rate or info.samplerate)
    ch = int(info.channels)
    types = processor_types()
    Gain, Limiter = types["gain"], types["limiter"]
    before = _run(inp, None, sr, ch, None, bit_depth, seed, progress=progress, label="measuring the input")
    if before.duration_s < SHORTEST_S:
        return _master_short(inp, out, before, chain, width, sr, ch, ceiling_dbtp, target_lufs, bit_depth, seed,
                             dither)
    if before.integrated_lufs is None or not np.isfinite(before.integrated_lufs):
        raise MixcoreError(f"{inp}: the input is silent (no gated loudness); nothing to master")
    pre = resolve_chain(chain, float(before.integrated_lufs))
    if width is not None:
        pre.append(types["width"](width=width))
    if pre:  # the chain changes the level: measure what reaches the gain stage (one more pass, exact start)
        before_gain = _run(inp, Chain(pre), sr, ch, None, bit_depth, seed, progress=progress,
                           label="measuring the chain")
        if before_gain.integrated_lufs is None or not np.isfinite(before_gain.integrated_lufs):
            raise MixcoreError(f"{inp}: the chain leaves nothing of the input (no gated loudness)")
        gain = target_lufs - before_gain.integrated_lufs
    else:
        gain = target_lufs - before.integrated_lufs
    result = None
    note = ""
    capped = False
    gr = 0.0
    last = None  # (gain, loudness) of the previous pass, for the secant step
    with outputs_of(commit) as outputs:
        for k in range(1, max_passes + 1):
            gain = float(np.clip(gain, -max_gain_db, max_gain_db))
            limiter = Limiter(ceiling_dbtp=ceiling_dbtp)
            procs = [*pre, Gain(gain_db=gain), limiter]
            result = _run(inp, Chain(procs), sr, ch, out, bit_depth, seed, dither, outputs, progress,
                          f"pass {k}: gain {gain:+.2f} dB")
            gr = max(0.0, -limiter.gain_reduction_db)
            err = target_lufs - result.integrated_lufs
            if max_limiting_db is not None and gr > max_limiting_db + 0.05:
                capped = True
                gain -= gr - max_limiting_db  # the load follows the gain 1:1 once the limiter limits
                continue
            if abs(err) <= tolerance_lu:
                break
            if capped and err > 0:
                if gr >= max_limiting_db - 0.25:
                    break
                gain += min(err, max_limiting_db - gr)
                continue
            if abs(gain) >= max_gain_db and np.sign(err) == np.sign(gain):
                note = f"gain limit of {max_gain_db:g} dB reached"
                break
            # secant step: once the limiter works, a dB of gain adds less than a dB of loudness, so the
            # slope measured over the last two passes (bounded) sets the step; the first step assumes 1
            step = err
            if last is not None and abs(gain - last[0]) > 1e-6:
                slope = (result.integrated_lufs - last[1]) / (gain - last[0])
                step = err / float(np.clip(slope, 0.1, 1.5))
                if slope < SATURATED:
                    note = (f"the loudness no longer follows the gain ({slope:.2f} dB per dB at {gr:.1f} dB of "
                            f"limiting): reached {result.integrated_lufs:.2f} LUFS instead of {target_lufs:.2f}")
                    break
            last = (gain, result.integrated_lufs)
            gain += float(np.clip(step, -12.0, 12.0))
        else:
            note = f"stopped after {max_passes} passes"
    reached = abs(target_lufs - result.integrated_lufs) <= tolerance_lu
    if not reached and capped:
        note = (f"limiter load capped at {max_limiting_db:g} dB: reached {result.integrated_lufs:.2f} LUFS "
                f"instead of {target_lufs:.2f}")
    elif not reached and not note:
        note = "the limiter cannot reach the target on this material"
    return MasterResult(path=out, input_lufs=before.integrated_lufs, output_lufs=result.integrated_lufs,
                        true_peak_dbtp=result.true_peak_dbtp, gain_db=gain, passes=k, target_lufs=target_lufs,
                        ceiling_dbtp=ceiling_dbtp, reached=reached, note=note, limiter_gr_db=gr, sample_rate=sr,
                        before=before, after=result, chain=[_describe(p) for p in pre])


#: Shorter than one 400 ms gating block, a file has no integrated loudness (BS.1770): there is no
#: loudness to bring to a target, so such a file is only held under the true-peak ceiling.
SHORTEST_S = 0.4


def _master_short(inp: Path, out: Path, before, chain, width, sr: int, ch: int, ceiling_dbtp: float,
                  target_lufs: float, bit_depth, seed: int, dither: str) -> MasterResult:
    """A file shorter than 400 ms: one pass of (a chain given explicitly) -> limiter at the ceiling, no
    loudness gain (the default chain is set from the loudness, so it is left out). The result says so."""
    from ..processors.registry import processor_types

    types = processor_types()
    pre = [] if chain == "default" else resolve_chain(chain, -70.0)
    if width is not None:
        pre.append(types["width"](width=width))
    limiter = types["limiter"](ceiling_dbtp=ceiling_dbtp)
    after = _run(inp, Chain([*pre, limiter]), sr, ch, out, bit_depth, seed, dither)
    note = (f"the input is {before.duration_s * 1000:.3g} ms long: loudness needs at least "
            f"{SHORTEST_S * 1000:.0f} ms, so no loudness gain was applied (true-peak ceiling only)")
    return MasterResult(path=out, input_lufs=before.integrated_lufs, output_lufs=after.integrated_lufs,
                        true_peak_dbtp=after.true_peak_dbtp, gain_db=0.0, passes=1, target_lufs=target_lufs,
                        ceiling_dbtp=ceiling_dbtp, reached=False, note=note,
                        limiter_gr_db=max(0.0, -limiter.gain_reduction_db), sample_rate=sr, before=before,
                        after=after, chain=[_describe(p) for p in pre])


def _describe(proc: Processor) -> dict:
    """A chain member for the JSON result: its type and its parameters (JSON-safe values only)."""
    params = {}
    for k, v in getattr(proc, "parameters", {}).items():
        if isinstance(v, (bool, int, float, str)) or (isinstance(v, list) and all(isinstance(b, dict) for b in v)):
            params[k] = v
    return {"type": getattr(proc, "type_name", type(proc).__name__), "params": params}
