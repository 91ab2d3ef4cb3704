# cython: language_level=3
"""Loudness kernel: K-weighting, 100 ms step energies and levels (ITU-R BS.1770-4).

Per channel, in float64: the two K-weighting biquads in direct form I,

    y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a2 y[n-2] - a1 y[n-1]      (pre-filter, a shelf)
    w[n] = y[n] + y[n-2] - 2 y[n-1] - a2' w[n-2] - a1' w[n-1]           (RLB high-pass, b' = 1, -2, 1)

(the second stage reads the first one's output history, so a channel's state is
x[n-1], x[n-2], y[n-1], y[n-2], w[n-1], w[n-2]). The sum of w[n]^2 over each
100 ms step (``hop`` samples) is one step energy; the steps are counted from
the first sample, so their boundaries never depend on how the signal is cut
into blocks. With ``levels`` the same loop also accumulates sum x^2 and
max |x| per channel and sum x_0 x_1 (RMS, sample peak, correlation).

Written for speed: channels go two at a time through 2-lane float64 vectors
(SSE2 on x86-64, NEON on arm64). Each lane does exactly the scalar operations
in source order (no FMA, no reassociation), and the feedback term is added
last, which keeps the loop-carried dependency to one multiply and one add.

The energies of completed steps are combined with the channel weights,
``p_k = sum_c G_c e_{c,k}``, and kept in a growing float64 array: 8 bytes per
100 ms step whatever the channel count (288 kB per hour).

With ``substeps = m > 1`` the same loop also sums w[n]^2 over m sub-steps of
each step (step j of a hop ends at sample ``round((j + 1) hop / m)`` of it, so
the sub-steps tile the steps exactly, 10 ms each for m = 10 at any rate that
is a multiple of 100 Hz) into a second accumulator, weighted and kept the same
way (2.9 MB per hour at m = 10): the fine grid on which the meter looks for
the maximum momentary and short-term loudness. The step energies themselves
are summed exactly as before (one accumulator, same order), so integrated
loudness and LRA do not change by a bit.
"""
from libc.string cimport memset

import numpy as np

cdef extern from "loudness_kernel.h":
    enum:
        MC_LK_ACC
        MC_LK_SACC
        MC_LK_SQ
        MC_LK_PK
        MC_LK_N
    Py_ssize_t mc_lk_pair(const float* x0, const float* x1, Py_ssize_t n, const double* co, double* s0,
                          double* s1, long long count, long long hop, const long long* bnd, int si, double* f0,
                          double* f1, Py_ssize_t* fdone, double* e0, double* e1, double* cross,
                          int levels) nogil


cdef class LoudnessKernel:
    """Streaming K-weighting and 100 ms step energies of ``channels`` channels (see the module docstring).

    coeffs: (2, 5) [b0, b1, b2, a1, a2] of the pre-filter and of the RLB high-pass, whose numerator
    must be 1, -2, 1 (it is at every rate, see ``mixcore.metering.kweighting``). weights: (channels,)
    channel weights G_c. hop: samples per 100 ms step. substeps: sub-steps per step (at most ``hop``)
    whose weighted energies are kept too (``fine_powers``).
    """

    cdef readonly int channels
    cdef readonly long long hop
    cdef readonly int substeps
    cdef readonly bint levels
    cdef readonly long long frames        # samples seen per channel
    cdef double _co[7]
    cdef long long[::1] _bnd              # (substeps,) end of each sub-step within a step; last == hop
    cdef double[:, ::1] _state            # (channels, MC_LK_N)
    cdef double[::1] _weights
    cdef double[:, ::1] _energies         # (channels, cap) scratch for the steps completed in one call
    cdef double[:, ::1] _fine             # (channels, cap) scratch for the sub-steps completed in one call
    cdef double[::1] _power               # weighted step energies, growing
    cdef double[::1] _fpower              # weighted sub-step energies, growing
    cdef Py_ssize_t _steps
    cdef Py_ssize_t _fsteps
    cdef double _cross

    def __init__(self, coeffs, weights, long long hop, *, bint levels=True, int substeps=1):
        c = np.asarray(coeffs, dtype=np.float64)
        if c.shape != (2, 5) or list(c[1, :3]) != [1.0, -2.0, 1.0]:
            raise ValueError("coeffs: expected (2, 5) with a second-stage numerator of 1, -2, 1")
        if hop < 1:
            raise ValueError("hop must be at least 1 sample")
        if not 1 <= substeps <= hop:
            raise ValueError("substeps must be between 1 and hop")
        self._co[0], self._co[1], self._co[2], self._co[3], self._co[4] = c[0]
        self._co[5], self._co[6] = c[1, 3], c[1, 4]
        self._weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.channels = self._weights.shape[0]
        self.hop = hop
        self.substeps = substeps
        self._bnd = np.array([((j + 1) * hop * 2 + substeps) // (2 * substeps) for j in range(substeps)],
                             dtype=np.int64)
        self.levels = levels
        self._state = np.zeros((self.channels, MC_LK_N))
        self._energies = np.zeros((self.channels + 1, 4))
        self._fine = np.zeros((self.channels + 1, 4 * substeps))
        self._power = np.zeros(1024)
        self._fpower = np.zeros(1024 * substeps)
        self.reset()

    def reset(self):
        self._state[...] = 0.0
        self._steps = 0
        self._fsteps = 0
        self._cross = 0.0
        self.frames = 0

    def process(self, const float[:, ::1] x):   # IN (channels, n), not modified
        """Take the next n samples of every channel."""
        cdef Py_ssize_t n = x.shape[1], c, d, k, done = 0, fdone = 0
        cdef long long count = self.frames % self.hop
        cdef int si = 0
        if x.shape[0] != self.channels:
            raise ValueError(f"expected {self.channels} channels, got {x.shape[0]}")
        if n == 0:
            return
        while self._bnd[si] <= count:
            si += 1
        cdef Py_ssize_t need = (count + n) // self.hop
        cdef Py_ssize_t fneed = (need + 1) * self.substeps
        if need + 1 > self._energies.shape[1]:
            self._energies = np.zeros((self.channels + 1, need + 1))
        if fneed > self._fine.shape[1]:
            self._fine = np.zeros((self.channels + 1, fneed))
        if self._steps + need > self._power.shape[0]:
            grown = np.zeros(max(2 * self._power.shape[0], self._steps + need))
            grown[: self._steps] = self._power[: self._steps]
            self._power = grown
        if self._fsteps + fneed > self._fpower.shape[0]:
            grown = np.zeros(max(2 * self._fpower.shape[0], self._fsteps + fneed))
            grown[: self._fsteps] = self._fpower[: self._fsteps]
            self._fpower = grown
        cdef double spare[MC_LK_N]
        cdef double s
        with nogil:
            c = 0
            while c < self.channels:
                d = c + 1
                if d < self.channels:
                    done = mc_lk_pair(&x[c, 0], &x[d, 0], n, self._co, &self._state[c, 0], &self._state[d, 0],
                                      count, self.hop, &self._bnd[0], si, &self._fine[c, 0], &self._fine[d, 0],
                                      &fdone, &self._energies[c, 0], &self._energies[d, 0],
                                      &self._cross if c == 0 else NULL, self.levels)
                else:  # an odd last channel goes through both lanes; the copy in lane 1 is dropped
                    for k in range(MC_LK_N):
                        spare[k] = self._state[c, k]
                    done = mc_lk_pair(&x[c, 0], &x[c, 0], n, self._co, &self._state[c, 0], spare,
                                      count, self.hop, &self._bnd[0], si, &self._fine[c, 0],
                                      &self._fine[self.channels, 0], &fdone, &self._energies[c, 0],
                                      &self._energies[self.channels, 0], NULL, self.levels)
                c += 2
            for k in range(done):
                s = 0.0
                for c in range(self.channels):
                    s = s + self._weights[c] * self._energies[c, k]
                self._power[self._steps + k] = s
            for k in range(fdone):
                s = 0.0
                for c in range(self.channels):
                    s = s + self._weights[c] * self._fine[c, k]
                self._fpower[self._fsteps + k] = s
        self._steps += done
        self._fsteps += fdone
        self.frames += n

    def powers(self):
        """The weighted energies sum_c G_c e_c of the completed 100 ms steps (a copy, float64)."""
        return np.array(self._power[: self._steps])

    def fine_powers(self):
        """The weighted energies of the completed sub-steps (a copy, float64)."""
        return np.array(self._fpower[: self._fsteps])

    def fine_ends(self):
        """End of each completed sub-step, in samples from the first (int64)."""
        k = np.arange(self._fsteps, dtype=np.int64)
        return (k // self.substeps) * self.hop + np.asarray(self._bnd)[k % self.substeps]

    @property
    def pending(self):
        """(weighted energy so far, samples) of the step in progress."""
        cdef double s = 0.0
        cdef Py_ssize_t c
        for c in range(self.channels):
            s = s + self._weights[c] * self._state[c, MC_LK_ACC]
        return s, self.frames % self.hop

    def sum_squares(self):
        """sum x_c^2 of every channel (float64); zeros unless ``levels``."""
        return np.array(self._state[:, MC_LK_SQ])

    def sample_peaks(self):
        """max |x_c| of every channel (float64); zeros unless ``levels``."""
        return np.array(self._state[:, MC_LK_PK])

    @property
    def cross(self):
        """sum x_0 x_1 (channels 0 and 1; 0 for mono or without ``levels``)."""
        return self._cross
