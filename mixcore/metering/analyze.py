"""``mixcore.analyze(path_or_array, sample_rate=None)``: one pass, constant memory."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MixcoreError
from ..render.sources import probe
from .meter import LoudnessMeter
from .result import AnalysisResult

CHUNK = 65536


def analyze(source, sample_rate: float | None = None) -> AnalysisResult:
    """Analyse a file (read block by block) or an array of shape (channels, samples) / (samples,)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        import soundfile as sf

        info = probe_any(path)
        meter = LoudnessMeter(info.samplerate, info.channels)
        try:
            with sf.SoundFile(str(path)) as f:
                while True:
                    data = f.read(CHUNK, dtype="float32", always_2d=True)
                    if not len(data):
                        break
                    meter.process(np.ascontiguousarray(data.T))
        except MixcoreError:
            raise
        except Exception as e:
            raise MixcoreError(f"{path}: error reading: {' '.join(str(e).split())}") from None
        return meter.result(str(path))
    if sample_rate is None:
        raise MixcoreError("analyze: sample_rate is required for an array")
    x = np.asarray(source, dtype=np.float32)
    x = x.reshape(1, -1) if x.ndim == 1 else x
    meter = LoudnessMeter(sample_rate, x.shape[0])
    for i in range(0, x.shape[1], CHUNK):
        meter.process(np.ascontiguousarray(x[:, i:i + CHUNK]))
    return meter.result(None)


def probe_any(path: Path):
    """Like sources.probe but any channel count (meters handle up to 5.1)."""
    try:
        return probe(path, str(path))
    except MixcoreError as e:
        if "channels; sources are mono or stereo" not in str(e):
            raise MixcoreError(str(e).replace(f"{path}: ", "", 1) if str(e).startswith(f"{path}: {path}") else str(e)) from None
    import soundfile as sf

    return sf.info(str(path))
