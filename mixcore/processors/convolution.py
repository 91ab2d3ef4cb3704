"""``convolution``: convolution reverb from an impulse-response file.

Uniformly partitioned overlap-save (frequency-domain delay line), written with numpy FFTs: the input
is cut into frames of ``PARTITION`` samples (independent of the render's block size, so the result
is too), each frame's spectrum enters a delay line of spectra, and the output frame is the inverse
FFT of the sum over partitions of spectrum x IR-partition spectrum. Why partitioned: the cost per
sample stays flat however long the IR (a direct FFT of the whole IR would need the whole signal,
direct convolution costs IR-length multiplies per sample). Why uniform: simplest exact scheme; its
latency, one partition, is reported and compensated by the router. Python runs once per 1024-sample
frame, never per sample.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MixcoreError
from ..params import Param, PathParam  # noqa: F401  (PathParam: also imported from here)
from .base import ProcessSpec, Processor
from .coeffs import gain_from_db
from .registry import register

PARTITION = 1024
MAX_IR_S = 30.0


@register
class Convolution(Processor):
    """Convolution with the impulse response in ``ir`` (wav/flac/aiff, mono or stereo, resampled with
    soxr to the session rate), then ``gain_db`` on the wet signal and a dry/wet ``mix``. A stereo IR
    convolves left with left and right with right; a mono IR both. Without ``ir`` it passes the signal
    (delayed by its latency). Latency: 1024 samples (one partition).

    Sample-accurate automation: ``mix`` and ``gain_db`` may arrive per sample; the values at
    sample ``i`` mix the output emitted at sample ``i`` (``y = (1 - mix) dry + mix 10^(gain_db/20)
    wet``, dry and wet both one partition late), as ``set_param`` before that sample would. ``ir``
    is a file, not automatable: naming it is an error."""

    type_name = "convolution"
    SAMPLE_ACCURATE = True
    # the parameters, typed for checkers and IDEs (read and set as attributes; declared in PARAMS)
    ir: str | None
    mix: float
    gain_db: float
    PARAMS = (
        PathParam("ir", default=None, automatable=False, doc="impulse-response file"),
        Param("mix", default=1.0, lo=0.0, hi=1.0, taper="linear"),
        Param("gain_db", default=0.0, lo=-60.0, hi=24.0, unit="dB", taper="fader"),
    )

    def _load_ir(self, sample_rate: float, channels: int) -> np.ndarray:
        if self.ir is None:
            return np.ones((channels, 1))
        import soundfile as sf
        import soxr

        path = Path(self.ir)
        try:
            data, sr = sf.read(str(path), dtype="float64", always_2d=True)
        except Exception as e:
            raise MixcoreError(f"{self.id}.ir: cannot read {path}: {' '.join(str(e).split())}") from None
        if len(data) == 0:
            raise MixcoreError(f"{self.id}.ir: {path} holds no audio")
        if len(data) > MAX_IR_S * sr:
            raise MixcoreError(f"{self.id}.ir: {path} is longer than {MAX_IR_S:g} s")
        if sr != sample_rate:
            data = soxr.resample(data, sr, sample_rate, quality="VHQ")
        ir = data.T
        return np.stack([ir[min(c, ir.shape[0] - 1)] for c in range(channels)])

    def _prepare(self, spec: ProcessSpec) -> None:
        self._loaded_for = None

    def _update(self) -> None:
        spec = self.spec
        key = (self.ir, spec)
        if self._loaded_for != key:
            ir = self._load_ir(spec.sample_rate, spec.num_channels)
            P = PARTITION
            K = max(1, -(-ir.shape[1] // P))
            parts = np.zeros((K, spec.num_channels, 2 * P))
            for k in range(K):
                seg = ir[:, k * P:(k + 1) * P]
                parts[k, :, : seg.shape[1]] = seg
            self._H = np.fft.rfft(parts, axis=2)[::-1].copy()  # reversed: oldest spectrum first
            self._K = K
            self._ir_len = ir.shape[1]
            self._loaded_for = key
            self._alloc()
        self._wet = gain_from_db(self.gain_db)

    def _alloc(self) -> None:
        ch, P, K = self.spec.num_channels, PARTITION, self._K
        self._X = np.zeros((2 * K, ch, P + 1), dtype=np.complex128)  # spectra, written twice: contiguous window
        self._idx = 0
        self._prev = np.zeros((ch, P))  # the previous input frame
        self._inbuf = np.zeros((ch, 0))
        self._outbuf = np.zeros((ch, P))  # latency: one partition of silence first
        self._dry = np.zeros((ch, P))  # the dry signal, delayed by the same latency

    def reset(self) -> None:
        self._alloc()

    def process(self, block: np.ndarray) -> None:
        self._convolve(block, self.mix, self._wet)

    def process_automated(self, block: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """``mix`` and ``gain_db`` per sample (``values[name][i]`` at sample i), vectorised (numpy)."""
        v = self._per_sample(values, block.shape[1])
        wet = gain_from_db(v["gain_db"]) if "gain_db" in values else self._wet  # libm pow, as _update
        self._convolve(block, v["mix"], wet)
        self._keep_last(values)

    def _convolve(self, block: np.ndarray, mix, wet_gain) -> None:
        """Convolve ``block`` in place; ``mix`` and ``wet_gain`` are numbers or per-sample arrays."""
        n = block.shape[1]
        if n == 0:
            return
        P, K = PARTITION, self._K
        x = block.astype(np.float64)
        self._inbuf = np.concatenate([self._inbuf, x], axis=1)
        self._dry = np.concatenate([self._dry, x], axis=1)
        outs = [self._outbuf]
        while self._inbuf.shape[1] >= P:
            frame = self._inbuf[:, :P]
            spec = np.fft.rfft(np.concatenate([self._prev, frame], axis=1), axis=1)
            self._prev = frame.copy()
            i = self._idx
            self._X[i] = spec
            self._X[i + K] = spec
            window = self._X[i + 1: i + K + 1]  # the last K spectra, oldest first
            y = np.fft.irfft(np.einsum("kcf,kcf->cf", window, self._H), n=2 * P, axis=1)[:, P:]
            self._idx = (i + 1) % K
            outs.append(y)
            self._inbuf = self._inbuf[:, P:]
        wet = np.concatenate(outs, axis=1)
        dry = self._dry[:, :n]
        block[...] = dry * (1.0 - mix) + wet[:, :n] * (mix * wet_gain)
        self._outbuf = wet[:, n:]
        self._dry = self._dry[:, n:]

    @property
    def latency_samples(self) -> int:
        return PARTITION

    @property
    def tail_samples(self) -> int:
        return int(self._ir_len) if self.spec is not None and hasattr(self, "_ir_len") else 0
