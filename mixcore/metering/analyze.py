"""``mixcore.analyze(path_or_array, sample_rate=None)``: one pass, constant memory."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MixcoreError
from ..render.finite import all_finite, clock, file_error, first_bad
from .kweighting import MIN_SAMPLE_RATE
from .layouts import resolve, wav_channel_mask
from .meter import LoudnessMeter
from .result import AnalysisResult

#: frames read from a file at a time
CHUNK = 65536


def analyze(source, sample_rate: float | None = None, *, true_peak: bool = True, layout=None,
            dual_mono: bool = False) -> AnalysisResult:
    """Loudness, loudness range, true peak and levels of a file or an array.

    Parameters
    ----------
    source : str | Path | ndarray [shape=(channels, samples) or (samples,)]
        An audio file (anything libsndfile reads: wav, flac, aiff, ogg, ...), read ``CHUNK`` frames
        at a time, or samples (converted to float32).
    sample_rate : float, optional
        Required for an array; for a file it must be left out or equal the file's rate.
    true_peak : bool
        False skips the true peak (the slowest measurement); ``true_peak_dbtp`` is then nan.
    layout : str | sequence of str, optional
        The channels' names (``"5.1"``, ``"7.1.4"``, ``"L,R,C,LFE,Ls,Rs"``, ...), which give their
        BS.1770-4 weights; by default a WAV file's channel mask, else the channel count (1-6, 8, 12).
    dual_mono : bool
        One channel measured as played on two loudspeakers (+3 dB).

    Errors are ``MixcoreError`` one-liners naming the file (missing, unreadable, empty, ...).
    """
    if isinstance(source, (str, Path)):
        return _analyze_file(Path(source), sample_rate, true_peak, layout, dual_mono)
    if sample_rate is None:
        raise MixcoreError("analyze: sample_rate is required for an array")
    x = np.asarray(source)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2 or x.shape[0] < 1:
        raise MixcoreError(f"analyze: expected an array of shape (channels, samples), got {x.shape}")
    try:
        meter = LoudnessMeter(sample_rate, x.shape[0], true_peak=true_peak, layout=layout, dual_mono=dual_mono)
    except ValueError as e:
        raise MixcoreError(f"analyze: {e}") from None
    for i in range(0, x.shape[1], CHUNK):
        block = np.ascontiguousarray(x[:, i:i + CHUNK], dtype=np.float32)
        if not all_finite(block):
            j, ch, what = first_bad(block)
            raise MixcoreError(f"analyze: {what} at sample {i + j}, channel {ch + 1} of the array "
                               f"({clock((i + j) / float(sample_rate))})")
        meter.process(block)
    return meter.result(None)


def _analyze_file(path: Path, sample_rate: float | None, true_peak: bool, layout=None,
                  dual_mono: bool = False) -> AnalysisResult:
    import soundfile as sf

    info = probe_any(path, layout=layout)
    if sample_rate is not None and float(sample_rate) != float(info.samplerate):
        raise MixcoreError(f"{path}: its sample rate is {info.samplerate} Hz, not {sample_rate:g} Hz")
    try:
        names = resolve(info.channels, layout, None if layout is not None else wav_channel_mask(path))
        meter = LoudnessMeter(info.samplerate, info.channels, true_peak=true_peak, layout=names, dual_mono=dual_mono)
    except ValueError as e:
        raise MixcoreError(f"{path}: {e}") from None
    buf = np.empty((CHUNK, info.channels), dtype=np.float32)
    done = 0
    try:
        with sf.SoundFile(str(path)) as f:
            while True:
                n = f.read(CHUNK, dtype="float32", always_2d=True, out=buf).shape[0]
                if n == 0:
                    break
                if not all_finite(buf[:n]):  # NaN or Inf: refused, not measured (see render/finite.py)
                    raise file_error(str(path), buf[:n], done, info.samplerate)
                meter.process(np.ascontiguousarray(buf[:n].T))
                done += n
    except MixcoreError:
        raise
    except Exception as e:  # libsndfile's message is the cause
        raise MixcoreError(f"{path}: error while reading: {' '.join(str(e).split())}") from None
    if meter.frames == 0:
        raise MixcoreError(f"{path}: holds no audio (0 frames)")
    return meter.result(str(path))


def probe_any(path: Path, layout=None):
    """``soundfile.info`` of a file the meter can measure (with ``layout``, see ``analyze``), or a
    one-line ``MixcoreError`` naming it."""
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise MixcoreError(f"{path}: file not found")
    if path.is_dir():
        raise MixcoreError(f"{path}: is a folder, not an audio file")
    from ..render.sources import MAX_RATE, check_regular, quiet_stderr

    check_regular(path, str(path))  # a FIFO or device: refused before anything opens it
    try:
        with quiet_stderr():  # libmpg123 prints to fd 2 while libsndfile guesses the format
            info = sf.info(str(path))
    except Exception as e:
        cause = " ".join(str(e).split()).replace(f"Error opening {str(path)!r}: ", "")
        if "Format not recognised" in cause or "does not exist" in cause:
            cause = "unknown or damaged header"
        raise MixcoreError(f"{path}: not a readable audio file ({cause})") from None
    if info.frames <= 0:
        raise MixcoreError(f"{path}: holds no audio (0 frames)")
    try:
        resolve(info.channels, layout, None if layout is not None else wav_channel_mask(path))
    except ValueError as e:
        raise MixcoreError(f"{path}: {e}") from None
    if info.samplerate > MAX_RATE:
        raise MixcoreError(f"{path}: its header claims {info.samplerate} Hz; sample rates run up to {MAX_RATE} Hz")
    if info.samplerate < MIN_SAMPLE_RATE:
        raise MixcoreError(f"{path}: sample rate {info.samplerate} Hz; the meter needs at least "
                           f"{MIN_SAMPLE_RATE} Hz")
    return info
