# cython: language_level=3
"""True-peak kernel: ITU-R BS.1770-4 Annex 2, 4x oversampling.

The interpolator is the Annex's 48-tap filter, used as 4 phases of 12 taps:
phase p gives ``y_p(m) = sum_j h_p[j] x[m - j]``, the signal 5.875 - p/4
samples before ``m`` (points 1/8, 3/8, 5/8 and 7/8 of the way between two
samples). The true peak of a channel is the largest of ``|x[m]|`` and every
``|y_p(m)|`` (the samples themselves are candidates too, so true peak >= sample
peak always). Rates of 192 kHz and up are not oversampled (the Annex oversamples
to 192 kHz): their true peak is the sample peak.

How it is computed fast, and still exactly:

- Phases 3 and 2 are phases 0 and 1 reversed. With ``a_j = x[m - j]``,
  ``b_j = x[m - 11 + j]`` (j = 0..5), ``u_j = (h0[j] + h0[11 - j]) / 2`` and
  ``v_j = (h0[j] - h0[11 - j]) / 2``: ``y0 = S + D`` and ``y3 = S - D`` with
  ``S = sum u_j (a_j + b_j)``, ``D = sum v_j (a_j - b_j)``, so
  ``max(|y0|, |y3|) = |S| + |D|`` (exactly, in floating point too); the same
  for phases 1 and 2. That is 64 operations per sample instead of 104.
- Outputs are evaluated 8 at a time in float32 vectors (every lane does the
  same operations in the same order as a lone sample would: no FMA, no
  reassociation), so the value of every point never depends on block sizes.
- A group of 8 outputs only reads ``x`` in a window of 19 samples. Every
  interpolated point is at most ``G_p * max|x|`` over that window
  (``G_p = sum_j |h_p[j]|``: 1.43 for phases 0/3, 2.02 for phases 1/2), so
  when that bound is not above the peak found so far the group cannot raise
  it and is skipped, phase pair by phase pair. Skipping never changes the
  result: the peak is a maximum, and a skipped group holds nothing above it.

Reference: Recommendation ITU-R BS.1770-4 (10/2015), Annex 2, "Guidelines for
accurate measurement of true-peak level", and its filter coefficient table.
"""
from libc.string cimport memcpy

import numpy as np

cdef extern from "truepeak_kernel.h":
    void mc_true_peak(const float* w, Py_ssize_t n, const float* u0, const float* v0, const float* u1,
                      const float* v1, float g0, float g1, int oversample, float* peak) nogil


#: ITU-R BS.1770-4 Annex 2: phases 0 and 1 of the 48-tap interpolator (phase 3 is phase 0 reversed,
#: phase 2 is phase 1 reversed). Tap j multiplies x[m - j].
ANNEX2_PHASES = np.array([
    [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875, 0.1373291015625,
     0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500],
    [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500, 0.4650878906250,
     0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375],
])
cdef enum:
    _HIST = 11
TAPS = 12
HISTORY = _HIST
#: from this rate on the samples are as dense as the Annex's 4 x 48 kHz: no oversampling
NO_OVERSAMPLING_FROM_HZ = 192000


def annex2_filter():
    """The four phases (4, 12) of the Annex 2 interpolator, tap j multiplying x[m - j]."""
    h0, h1 = ANNEX2_PHASES
    return np.array([h0, h1, h1[::-1], h0[::-1]])


cdef class TruePeakKernel:
    """Streaming true peak of ``channels`` channels (see the module docstring)."""

    cdef readonly int channels
    cdef readonly bint oversample
    cdef float[:, ::1] _hist       # (channels, 11): the last 11 samples seen
    cdef float[::1] _peak           # (channels,)
    cdef float[::1] _work           # 11 + n scratch
    cdef float _u0[6]
    cdef float _v0[6]
    cdef float _u1[6]
    cdef float _v1[6]
    cdef float _g0, _g1

    def __init__(self, int channels, double sample_rate):
        cdef int j
        self.channels = channels
        self.oversample = sample_rate < NO_OVERSAMPLING_FROM_HZ
        self._hist = np.zeros((channels, HISTORY), dtype=np.float32)
        self._peak = np.zeros(channels, dtype=np.float32)
        self._work = np.zeros(HISTORY + 4096, dtype=np.float32)
        h0, h1 = ANNEX2_PHASES
        for j in range(6):
            self._u0[j] = (h0[j] + h0[11 - j]) / 2.0
            self._v0[j] = (h0[j] - h0[11 - j]) / 2.0
            self._u1[j] = (h1[j] + h1[11 - j]) / 2.0
            self._v1[j] = (h1[j] - h1[11 - j]) / 2.0
        # sum |h_p| bounds every interpolated point by max |x|; the margin covers float32 rounding
        self._g0 = float(np.sum(np.abs(h0))) * (1.0 + 1e-5)
        self._g1 = float(np.sum(np.abs(h1))) * (1.0 + 1e-5)

    def reset(self):
        self._hist[...] = 0.0
        self._peak[...] = 0.0

    def process(self, const float[:, ::1] x):    # IN (channels, n)
        """Take the next n samples of every channel into the peaks."""
        cdef Py_ssize_t n = x.shape[1], c
        if x.shape[0] != self.channels:
            raise ValueError(f"expected {self.channels} channels, got {x.shape[0]}")
        if n == 0:
            return
        if self._work.shape[0] < _HIST + n:
            self._work = np.zeros(_HIST + n, dtype=np.float32)
        cdef float* w = &self._work[0]
        with nogil:
            for c in range(self.channels):
                memcpy(w, &self._hist[c, 0], _HIST * sizeof(float))
                memcpy(w + _HIST, &x[c, 0], n * sizeof(float))
                mc_true_peak(w, n, self._u0, self._v0, self._u1, self._v1, self._g0, self._g1,
                             self.oversample, &self._peak[c])
                memcpy(&self._hist[c, 0], w + n, _HIST * sizeof(float))

    def peaks(self, bint flush=True):
        """Linear true peak of every channel (float64). ``flush``: include the points after the last
        sample (11 zeros pushed through a copy of the state, as if the signal were followed by silence)."""
        cdef float[::1] pk = np.array(self._peak, dtype=np.float32)
        cdef float buf[2 * _HIST]
        cdef Py_ssize_t c, j
        if flush and self.oversample:
            for c in range(self.channels):
                memcpy(buf, &self._hist[c, 0], _HIST * sizeof(float))
                for j in range(_HIST):
                    buf[_HIST + j] = 0.0
                mc_true_peak(buf, _HIST, self._u0, self._v0, self._u1, self._v1, self._g0, self._g1, 1,
                             &pk[c])
        return np.asarray(pk, dtype=np.float64)


def reference_true_peak(x, double sample_rate):
    """For testing purposes: the same true peak, straight from the Annex 2 filter with numpy (float64).

    x: (channels, n). Zeros are taken before and after the signal (11 samples each side)."""
    x = np.asarray(x, dtype=np.float64)
    if sample_rate >= NO_OVERSAMPLING_FROM_HZ:
        return np.max(np.abs(x), axis=1) if x.shape[1] else np.zeros(x.shape[0])
    ph = annex2_filter()
    out = []
    for ch in x:
        padded = np.concatenate([ch, np.zeros(HISTORY)])
        peaks = [np.max(np.abs(ch)) if ch.size else 0.0]
        for p in range(4):
            peaks.append(np.max(np.abs(np.convolve(padded, ph[p])[: padded.size])))
        out.append(max(peaks))
    return np.array(out)
