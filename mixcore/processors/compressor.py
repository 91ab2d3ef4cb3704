"""``compressor``: feed-forward, log-domain, soft knee, linked channels, sidechain."""
from __future__ import annotations

import numpy as np

from .._dsp.biquad import process_cascade
from ..errors import MixcoreError
from ..params import NameParam, Param
from ..simd import kernel
from .base import ProcessSpec, Processor
from .coeffs import one_pole
from .filters import highpass_coeffs
from .registry import register

RMS_WINDOW_MS = 10.0

#: The compressor kernel (pyx/compressor.pxi), in its AVX2 build where the CPU has AVX2: the same
#: bits, about 1.3x faster alone and 1.75x in a bank (compress_bank: many compressors per call).
_KERNEL = kernel("compressor")
process_compressor = _KERNEL.process_compressor
ramp_values = _KERNEL.ramp_values

#: The rows of the kernel's parameter array, (NROWS, 1) constants or (NROWS, n) per sample: the
#: P_T .. P_MIX and NPARAM of pyx/compressor.pxi. Filled only by :func:`parameter_rows`.
ROW_T, ROW_RM1, ROW_W, ROW_AA, ROW_AR, ROW_MK, ROW_MIX = range(7)
NROWS = 7


@register
class Compressor(Processor):
    """Feed-forward compressor after Giannoulis, Massberg & Reiss (JAES 2012).

    Static curve (x and T in dB, W = knee width):

    - below the knee, ``2 (x - T) < -W``: no change;
    - in the knee, ``|2 (x - T)| <= W``: ``x + (1/R - 1) (x - T + W/2)^2 / (2 W)``;
    - above: ``T + (x - T) / R``.

    The gain change is smoothed in dB with separate attack and release one-poles
    (``exp(-1 / (t fs))``), channels are linked (the detector takes the loudest
    channel), ``makeup_db`` is added after, and ``mix`` blends with the dry
    signal for parallel compression. ``detector = "rms"`` uses a 10 ms
    mean-square detector. ``sidechain`` names a track or bus whose signal the
    router feeds to the detector (:meth:`process_with_key`).
    """

    type_name = "compressor"
    SAMPLE_ACCURATE = True
    TAKES_SIDECHAIN = True
    # the parameters, typed for checkers and IDEs (read and set as attributes; declared in PARAMS)
    threshold_db: float
    ratio: float
    attack_ms: float
    release_ms: float
    knee_db: float
    makeup_db: float
    detector: str
    sidechain: str | None
    mix: float
    auto_makeup: float
    sidechain_hpf_hz: float
    link: float
    PARAMS = (
        Param("threshold_db", default=-20.0, lo=-60.0, hi=0.0, unit="dB", taper="linear"),
        Param("ratio", default=4.0, lo=1.0, hi=100.0, taper="log"),
        Param("attack_ms", default=10.0, lo=0.01, hi=1000.0, unit="ms", taper="log"),
        Param("release_ms", default=100.0, lo=1.0, hi=5000.0, unit="ms", taper="log"),
        Param("knee_db", default=0.0, lo=0.0, hi=24.0, unit="dB", taper="linear"),
        Param("makeup_db", default=0.0, lo=-24.0, hi=48.0, unit="dB", smoothing_ms=20.0, taper="linear"),
        Param("detector", default="peak", choices=("peak", "rms")),
        NameParam("sidechain", default=None, doc="track or bus feeding the detector", automatable=False),
        Param("mix", default=1.0, lo=0.0, hi=1.0, taper="linear"),
        Param("auto_makeup", default=0.0, lo=0.0, hi=1.0, taper="linear",
              doc="1: add half the gain reduction the curve gives a 0 dBFS input"),
        Param("sidechain_hpf_hz", default=0.0, lo=0.0, hi=1000.0, unit="Hz", taper="log",
              doc="high-pass the detector (0: off), so bass does not pump"),
        Param("link", default=1.0, lo=0.0, hi=1.0, taper="linear",
              doc="1: one gain for all channels (the loudest drives it); 0: per channel"),
    )

    def _prepare(self, spec: ProcessSpec) -> None:
        self._state = np.zeros((spec.num_channels, 3), dtype=np.float64)
        self._hpf_state = np.zeros((spec.num_channels, 1, 2), dtype=np.float64)
        self._key = np.zeros(spec.num_channels * spec.max_block_size, dtype=np.float32)
        self._params = np.zeros((NROWS, 1), dtype=np.float64)  # one column of constants (parameter_rows)
        self._makeup = self._param_ramp("makeup_db")

    def _update(self) -> None:
        fs = self.spec.sample_rate
        T, R, W = self.threshold_db, self.ratio, self.knee_db
        p = self._params[:, 0]
        parameter_rows(p, fs, T, R, W, self.attack_ms, self.release_ms, self.mix)
        p[ROW_MK] = 0.0  # makeup: the ramp runs
        self._rms = self.detector == "rms"
        self._a_rms = one_pole(RMS_WINDOW_MS, fs)
        self._makeup.set_target(float(makeup_with_auto_db(self.makeup_db, self.auto_makeup, T, R, W)))
        self._direct = self.sidechain_hpf_hz <= 0 and self.link >= 0.5
        self._hpf = (np.ascontiguousarray(highpass_coeffs(fs, min(self.sidechain_hpf_hz, 0.45 * fs)).reshape(1, 5))
                     if self.sidechain_hpf_hz > 0 else None)

    @property
    def auto_makeup_db(self) -> float:
        """Half the static curve's gain reduction at a 0 dBFS input (when ``auto_makeup`` is on)."""
        return float(makeup_with_auto_db(0.0, self.auto_makeup, self.threshold_db, self.ratio, self.knee_db))

    def reset(self) -> None:
        self._state[...] = 0.0
        self._hpf_state[...] = 0.0
        self._makeup.jump()

    def process(self, block: np.ndarray) -> None:
        if self._direct:  # the common case in one native call
            process_compressor(block, block, self._state[0], self._params, False, self._rms, self._a_rms,
                               self._makeup.state)
        else:
            self.process_with_key(block, block)

    def bank_key(self):
        """Compressors of one channel count in the common case (detecting on their own block, peak
        detector, makeup not gliding) run as one bank."""
        if not self._direct or self._rms or self._makeup.state[3] > 0.0:
            return None
        return ("compressor", self._state.shape[0])

    @classmethod
    def process_bank(cls, procs, blocks) -> None:
        if any(p.bank_key() is None for p in procs):
            return super().process_bank(procs, blocks)
        _KERNEL.compress_bank(list(blocks), [p._state[0] for p in procs], [p._params for p in procs],
                              [p._makeup.state for p in procs])

    @classmethod
    def bank_op(cls, procs, works, channels):
        keys = {p.bank_key() for p in procs}
        if None in keys or len(keys) != 1:
            return None
        return _KERNEL.CompressorBankOp(works, channels[0], [p._state[0] for p in procs], [p._params for p in procs],
                                        [p._makeup.state for p in procs])

    def process_with_key(self, block: np.ndarray, key: np.ndarray) -> None:
        """Compress ``block`` with the detector listening to ``key`` (external sidechain)."""
        self._run(block, self._detector_key(key), self._params, self._makeup.state)

    def process_automated(self, block: np.ndarray, values: dict[str, np.ndarray],
                          key: np.ndarray | None = None) -> None:
        """Parameters per sample (``values[name][i]`` at sample i), with or without a sidechain ``key``.

        threshold, ratio, knee, attack, release, makeup, mix and auto makeup go to the kernel as
        per-sample arrays (attack/release as one-pole coefficients, ratio as 1/R - 1, makeup as
        makeup_db + auto makeup). The switches (detector, link, sidechain_hpf_hz) cut the block
        where their value changes; each piece runs with the value of its first sample.
        """
        n = block.shape[1]
        if n == 0:
            return
        for name in values:
            if self.param_for(name) is None or name == "sidechain":
                raise MixcoreError(f"{self.id}: {name!r} cannot be automated")
        key = block if key is None else key
        vals = {name: np.asarray(v, dtype=np.float64) if name != "detector" else np.asarray(v)
                for name, v in values.items()}
        switches = [name for name in vals if name not in _PER_SAMPLE]
        cuts = [0]
        if switches:
            change = np.zeros(n, dtype=bool)
            for name in switches:
                change[1:] |= vals[name][1:] != vals[name][:-1]
            cuts += [int(i) for i in np.flatnonzero(change)]
        cuts.append(n)
        for a, b in zip(cuts[:-1], cuts[1:]):
            for name in switches:
                self._values.set(name, vals[name][a].item())
            if switches:
                self._update()
            whole = a == 0 and b == n
            piece = block if whole else np.ascontiguousarray(block[:, a:b])
            kpiece = key if whole else np.ascontiguousarray(key[:, a:b])
            self._run_per_sample(piece, self._detector_key(kpiece),
                                 {name: v[a:b] for name, v in vals.items() if name in _PER_SAMPLE})
            if not whole:
                block[:, a:b] = piece

    def _run_per_sample(self, block: np.ndarray, key: np.ndarray, vals: dict[str, np.ndarray]) -> None:
        n = block.shape[1]

        def value(name: str):
            """The per-sample values of ``name``, or its current value (a float fills the whole row)."""
            v = vals.get(name)
            return float(getattr(self, name)) if v is None else v

        T, R, W = value("threshold_db"), value("ratio"), value("knee_db")
        p = np.empty((NROWS, n), dtype=np.float64)
        parameter_rows(p, self.spec.sample_rate, T, R, W, value("attack_ms"), value("release_ms"), value("mix"))
        ramp = self._makeup.state
        makeup_varies = ("makeup_db" in vals or "auto_makeup" in vals
                         or (self.auto_makeup >= 0.5 and any(k in vals for k in ("threshold_db", "ratio", "knee_db"))))
        if makeup_varies:
            p[ROW_MK] = makeup_with_auto_db(value("makeup_db"), value("auto_makeup"), T, R, W)
        else:  # the makeup ramp runs on (the kernel gets a copy: its end-of-call jump must not stop the ramp)
            ramp_values(ramp, p[ROW_MK])
            ramp = ramp.copy()
        self._run(block, key, p, ramp)
        for name, v in vals.items():
            self._values.set(name, v[-1].item())
        self._update()
        if makeup_varies:
            self._makeup.jump()

    def _detector_key(self, key: np.ndarray) -> np.ndarray:
        """The detector's input: ``key``, high-passed when ``sidechain_hpf_hz`` is on."""
        if self._hpf is None:
            return key
        k = self._key[: key.size].reshape(key.shape)
        k[...] = key
        if self._hpf_state.shape[0] < k.shape[0]:
            self._hpf_state = np.zeros((k.shape[0], 1, 2))
        process_cascade(k, self._hpf, self._hpf_state)
        return k

    def _run(self, block: np.ndarray, key: np.ndarray, params: np.ndarray, ramp: np.ndarray) -> None:
        per_sample = params is not self._params  # else: the constants of _update
        if self.link >= 0.5 or block.shape[0] == 1:
            process_compressor(block, key, self._state[0], params, per_sample, self._rms, self._a_rms, ramp)
            return
        # unlinked: one detector and gain per channel (the makeup ramp advances once per sample for all)
        start = ramp.copy()
        for c in range(block.shape[0]):
            r = start.copy()
            process_compressor(block[c:c + 1], key[min(c, key.shape[0] - 1):][:1], self._state[c], params,
                               per_sample, self._rms, self._a_rms, r)
        ramp[...] = r

    @property
    def gain_reduction_db(self) -> float:
        """The largest gain reduction since the last reset (a negative number of dB, or 0)."""
        return float(np.min(self._state[:, 2]))

    @property
    def tail_samples(self) -> int:
        return 0

    def static_curve_db(self, level_db: np.ndarray) -> np.ndarray:
        """Output level of the static curve for input levels in dB (without makeup)."""
        return _static_curve_db(np.asarray(level_db, dtype=np.float64), self.threshold_db, self.ratio, self.knee_db)


def parameter_rows(p: np.ndarray, fs: float, T, R, W, attack_ms, release_ms, mix) -> None:
    """Fill the kernel's parameter rows ``p`` from the parameters: ``p`` is (NROWS, n), each parameter a
    float (a constant: the whole row) or an array of one value per column, or ``p`` is (NROWS,), one
    column of constants, from floats. Row ROW_MK (makeup) is the caller's.

    The one place the compressor's values are derived: the constant path (``_update``) and sample-
    accurate automation both come here, so a value held by automation gives the constant's bits.
    """
    p[ROW_T] = T
    p[ROW_RM1] = 1.0 / R - 1.0
    p[ROW_W] = W
    p[ROW_AA] = one_pole(attack_ms, fs)
    p[ROW_AR] = one_pole(release_ms, fs)
    p[ROW_MIX] = mix


def makeup_with_auto_db(makeup_db, auto_makeup, T, R, W):
    """``makeup_db`` plus, where ``auto_makeup`` is on (>= 0.5), half the gain reduction the static
    curve gives a 0 dBFS input (floats or per-sample arrays, giving the same kind)."""
    on = auto_makeup >= 0.5
    if not (on if isinstance(on, bool) else on.any()):  # off: the static curve is not evaluated
        return makeup_db + 0.0
    auto = -0.5 * _static_curve_db(np.zeros(np.shape(auto_makeup)), T, R, W)
    return makeup_db + np.where(on, auto, 0.0)


def _static_curve_db(x: np.ndarray, T, R, W) -> np.ndarray:
    """The static curve (class docstring) for levels ``x`` dB; T, R, W scalars or arrays like x."""
    T, R, W = (np.asarray(v, dtype=np.float64) for v in (T, R, W))
    over = x - T
    Wd = np.where(W > 0, W, 1.0)
    knee = x + (1 / R - 1) * (over + W / 2) ** 2 / (2 * Wd)
    return np.where(2 * over < -W, x, np.where((W > 0) & (2 * np.abs(over) <= W), knee, T + over / R))


_PER_SAMPLE = frozenset(("threshold_db", "ratio", "knee_db", "attack_ms", "release_ms", "makeup_db", "mix",
                         "auto_makeup"))
