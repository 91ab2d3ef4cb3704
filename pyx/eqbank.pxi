"""Biquad cascades of many EQs in one call: SIMD across lanes (a lane = one channel of one EQ).

Each lane runs exactly biquad.pyx's ``_section`` arithmetic in float64 (TDF-II: y = b0 v + z1,
z1 = (b1 v + z2) - a1 y, z2 = b2 v - a2 y; a section's two state values flushed to zero together when
both are under 1e-30, tested after every 16th sample of the stream: biquad.pyx's rule with a phase,
which keeps the test out of 15 samples in 16), v kept in float64 through all sections and rounded to float32 once, so a lane's
output and state are bit-identical to ``process_cascade`` (compiled with ``-ffp-contract=off``, like
biquad.pyx, so no machine fuses a multiply-add in one and not the other).

Why by hand: one channel's cascade is a latency-bound recursion (about 12 cycles per section and
sample); LG = 16 lanes side by side fill the vector units instead. Lanes go in groups of 16 (padded
with silent identity lanes); a group's block is cut into chunks of CH samples, transposed to
(sample, lane) float64, run section by section, and written back. The section loop is written in C
(pyx/include/eqbank_kernel.h) with GCC vector types (two doubles per SSE2 register, four per AVX
register in the eqbank_avx2 build, see mixcore/simd.py) because Cython cannot say "these 16 lanes in
vectors": with plain loops GCC unrolls the lane loop and leaves most of it scalar (measured slower
than one channel at a time).
"""
from libc.stdlib cimport calloc, free, malloc

cdef extern from "eqbank_kernel.h":
    enum:
        LG "MC_EQ_LG"   # lanes per group (16: mc_sections assumes it)
        CH "MC_EQ_CH"   # samples per chunk (128: CH * LG float64 = 16 KiB, in L1)
    void mc_sections(double* xb, Py_ssize_t m, const double* co, double* zz, Py_ssize_t ns, Py_ssize_t ph) nogil


cdef void _group(float** xp, double** cp, double** zp, Py_ssize_t ns, Py_ssize_t n, double* co,
                 double* zz, Py_ssize_t phase) noexcept nogil:
    # xp[l]: lane l's samples (n); cp[l]: its coefficients (ns x 5); zp[l]: its state (ns x 2);
    # co, zz: room for the group's coefficients (ns x 5 x LG) and state (ns x 2 x LG), lane-minor.
    # (Transposing with register shuffles instead of the plain loops below measured no faster.)
    cdef double xb[CH * LG]
    cdef Py_ssize_t i0, m, s, t, l, k
    cdef float* p
    for s in range(ns):
        for k in range(5):
            for l in range(LG):
                co[(s * 5 + k) * LG + l] = cp[l][s * 5 + k]
        for k in range(2):
            for l in range(LG):
                zz[(s * 2 + k) * LG + l] = zp[l][s * 2 + k]
    i0 = 0
    while i0 < n:
        m = n - i0 if n - i0 < CH else CH
        for l in range(LG):
            p = xp[l] + i0
            for t in range(m):
                xb[t * LG + l] = p[t]
        mc_sections(xb, m, co, zz, ns, (phase + i0) % 16)
        for l in range(LG):
            p = xp[l] + i0
            for t in range(m):
                p[t] = <float>xb[t * LG + l]
        i0 += m
    for s in range(ns):
        for k in range(2):
            for l in range(LG):
                zp[l][s * 2 + k] = zz[(s * 2 + k) * LG + l]


def cascade_bank(list blocks, list coeffs, list states, Py_ssize_t phase):
    """Filter every blocks[i] (float32 (channels, n)) in place through its cascade coeffs[i]
    (float64 (sections, 5)) with state states[i] (float64 (channels >= block's, sections, 2)); all
    of one n, one number of sections and one stream position (``phase``: samples done before,
    modulo 16). Same bits as ``biquad.process_cascade(block, coeffs, state, phase)`` on each."""
    if phase < 0:
        raise ValueError("cascade_bank: phase must be >= 0")
    cdef Py_ssize_t nb = len(blocks), i, L, ns, n
    if len(coeffs) != nb or len(states) != nb:
        raise ValueError("cascade_bank: one coefficient array and one state per block")
    if nb == 0:
        return
    cdef float[:, ::1] xv
    cdef const double[:, ::1] cv
    cdef double[:, :, ::1] sv
    n = (<object>blocks[0]).shape[1]
    ns = (<object>coeffs[0]).shape[0]
    L = 0
    for i in range(nb):
        xv = blocks[i]
        cv = coeffs[i]
        sv = states[i]
        if xv.shape[1] != n or cv.shape[0] != ns or cv.shape[1] != 5 or sv.shape[0] < xv.shape[0] or sv.shape[1] != ns:
            raise ValueError("cascade_bank: shapes do not match")
        L += xv.shape[0]
    if n == 0 or ns == 0 or L == 0:
        return
    # the prepared operation the engine's banks use (eqbank_ops.pxi), made for this one call
    CascadeBankOp([[(<object>b).reshape(-1) for b in blocks]], [(<object>b).shape[0] for b in blocks],
                  coeffs, states, None).run(0, n, phase)
