# The engine's prepared EQ bank (render/banks.py): cascade_bank's work on buffers whose addresses are
# taken once, when the render is planned, so that a block costs one call with three integers however
# many tracks the bank spans (at 512-frame blocks, building the argument lists of cascade_bank for 16
# tracks cost more than filtering them). Same lanes, same kernel (_group), same bits as cascade_bank.
from cpython.object cimport PyObject_GenericSetAttr


cdef class CascadeBankOp:
    """EQ cascades of several nodes in one call per block.

    ``works[s][i]``: member i's flat float32 work buffer of slot s (its block is the (channels[i], n)
    C-contiguous front of it); ``coeffs[i]`` (sections, 5) and ``states[i]`` (>= channels, sections,
    2) float64, all with one number of sections; ``procs[i]``: the members, whose ``_pos`` (stream
    position, for the flush phase) is advanced by each run, as ``process`` would (None: no members to
    advance; each run is then given its phase)."""
    cdef list _refs, _procs
    cdef Py_ssize_t nl, ns, slots, cap
    cdef float** bases
    cdef Py_ssize_t* chan
    cdef float** xp
    cdef double** cp
    cdef double** zp
    cdef float* pad
    cdef double* padc
    cdef double* padz
    cdef double* co
    cdef double* zz

    def __cinit__(self, list works, list channels, list coeffs, list states, list procs):
        # (procs may be None)
        cdef Py_ssize_t nb = len(channels), s, i, c, l, L = 0
        cdef float[::1] wv
        cdef const double[:, ::1] cv
        cdef double[:, :, ::1] sv
        self.slots = len(works)
        if nb == 0 or self.slots == 0 or len(coeffs) != nb or len(states) != nb or (procs is not None
                                                                                    and len(procs) != nb):
            raise ValueError("CascadeBankOp: one work buffer per slot, coefficients, state and processor per member")
        self._refs = [works, coeffs, states]
        self._procs = list(procs) if procs is not None else []
        self.ns = (<object>coeffs[0]).shape[0]
        for i in range(nb):
            L += <Py_ssize_t>channels[i]
        self.nl = (L + LG - 1) // LG * LG
        self.cap = -1
        for s in range(self.slots):
            if len(works[s]) != nb:
                raise ValueError("CascadeBankOp: one work buffer per member")
            for i in range(nb):
                wv = works[s][i]
                if self.cap < 0 or wv.shape[0] // <Py_ssize_t>channels[i] < self.cap:
                    self.cap = wv.shape[0] // <Py_ssize_t>channels[i]
        self.bases = <float**>calloc(self.slots * self.nl, sizeof(float*))
        self.chan = <Py_ssize_t*>calloc(self.nl, sizeof(Py_ssize_t))
        self.xp = <float**>calloc(self.nl, sizeof(float*))
        self.cp = <double**>calloc(self.nl, sizeof(double*))
        self.zp = <double**>calloc(self.nl, sizeof(double*))
        self.pad = <float*>calloc(self.cap + 1, sizeof(float))
        self.padc = <double*>calloc(self.ns * 5 + 1, sizeof(double))
        self.padz = <double*>calloc(self.ns * 2 + 1, sizeof(double))
        self.co = <double*>malloc((self.ns * 5 * LG + 1) * sizeof(double))
        self.zz = <double*>malloc((self.ns * 2 * LG + 1) * sizeof(double))
        if (self.bases == NULL or self.chan == NULL or self.xp == NULL or self.cp == NULL or self.zp == NULL
                or self.pad == NULL or self.padc == NULL or self.padz == NULL or self.co == NULL or self.zz == NULL):
            raise MemoryError()
        for i in range(self.ns):
            self.padc[i * 5] = 1.0  # identity sections (b0 = 1) for the padding lanes
        l = 0
        for i in range(nb):
            cv = coeffs[i]
            sv = states[i]
            if cv.shape[0] != self.ns or cv.shape[1] != 5 or sv.shape[0] < <Py_ssize_t>channels[i] or sv.shape[1] != self.ns:
                raise ValueError("CascadeBankOp: shapes do not match")
            for c in range(<Py_ssize_t>channels[i]):
                for s in range(self.slots):
                    wv = works[s][i]
                    self.bases[s * self.nl + l] = &wv[0]
                self.chan[l] = c
                self.cp[l] = <double*>&cv[0, 0]
                self.zp[l] = &sv[c, 0, 0]
                l += 1
        while l < self.nl:
            for s in range(self.slots):
                self.bases[s * self.nl + l] = self.pad
            self.chan[l] = -1
            self.cp[l] = self.padc
            self.zp[l] = self.padz
            l += 1

    def __dealloc__(self):
        free(self.bases)
        free(self.chan)
        free(self.xp)
        free(self.cp)
        free(self.zp)
        free(self.pad)
        free(self.padc)
        free(self.padz)
        free(self.co)
        free(self.zz)

    def run(self, Py_ssize_t slot, Py_ssize_t n, Py_ssize_t phase=-1):
        """Filter the first n frames of every member's block of ``slot`` in place; ``phase``: samples
        before this run, modulo 16 (default: the members' own position)."""
        if slot < 0 or slot >= self.slots or n < 0 or n > self.cap:
            raise ValueError("CascadeBankOp.run: slot or length out of range")
        if phase < 0:
            if not self._procs:
                raise ValueError("CascadeBankOp.run: a phase, or members that know theirs")
            phase = <Py_ssize_t>(<object>self._procs[0])._pos % 16
        phase %= 16
        cdef Py_ssize_t l, g
        cdef float** b = self.bases + slot * self.nl
        for l in range(self.nl):
            self.xp[l] = b[l] + self.chan[l] * n if self.chan[l] >= 0 else b[l]
        if n and self.ns:
            with nogil:
                g = 0
                while g < self.nl:  # (range() with an extern enum's step is not a C loop)
                    _group(&self.xp[g], &self.cp[g], &self.zp[g], self.ns, n, self.co, self.zz, phase)
                    g += LG
        pos = phase + n
        for p in self._procs:  # the members' stream positions, past their instance __setattr__
            PyObject_GenericSetAttr(p, "_pos", pos)
