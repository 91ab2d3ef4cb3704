# The engine's prepared compressor bank (render/banks.py): compress_bank's work on buffers whose
# addresses are taken once, when the render is planned, so a block costs one call with two integers
# however many tracks the bank spans. Same lanes, same kernel (_compress_bank), same bits.


cdef class CompressorBankOp:
    """Compressors of several nodes (all of ``channels`` channels) in one call per block.

    ``works[s][i]``: member i's flat float32 work buffer of slot s (its block: the (channels, n)
    C-contiguous front); ``states[i]`` float64 [gain dB, rms, max gain reduction]; ``params[i]``
    (7, 1) constants; ``makeups[i]``: the makeup ramp, not gliding. The caller re-plans when a
    member's parameters change (they are read through these arrays at every call)."""
    cdef list _refs
    cdef Py_ssize_t L, lp, nc, slots, cap
    cdef float** bases
    cdef float** xp
    cdef Py_ssize_t* stride
    cdef double** par
    cdef double** st
    cdef double** mk_src
    cdef double* lanes
    cdef long long* nonunity
    cdef float* gcT
    cdef double* gdbT

    def __cinit__(self, list works, Py_ssize_t channels, list states, list params, list makeups):
        cdef Py_ssize_t L = len(states), s, l
        cdef float[::1] wv
        cdef double[::1] sv
        cdef const double[:, ::1] pv
        cdef const double[::1] mv
        self.slots = len(works)
        if L == 0 or self.slots == 0 or len(params) != L or len(makeups) != L or channels < 1:
            raise ValueError("CompressorBankOp: one state, parameter column and makeup per member")
        self._refs = [works, states, params, makeups]
        self.L = L
        self.nc = channels
        self.lp = (L + 3) // 4 * 4  # whole vectors for mcc_smooth (see compress_bank)
        self.cap = -1
        self.bases = <float**>calloc(self.slots * L, sizeof(float*))
        self.xp = <float**>calloc(L, sizeof(float*))
        self.stride = <Py_ssize_t*>calloc(L, sizeof(Py_ssize_t))
        self.par = <double**>calloc(L, sizeof(double*))
        self.st = <double**>calloc(L, sizeof(double*))
        self.mk_src = <double**>calloc(L, sizeof(double*))
        self.lanes = <double*>calloc(6 * self.lp, sizeof(double))
        self.nonunity = <long long*>calloc(self.lp, sizeof(long long))
        self.gcT = <float*>calloc(CHUNK * self.lp, sizeof(float))  # the padding lanes' rows stay 0
        self.gdbT = <double*>malloc(CHUNK * self.lp * sizeof(double))
        if (self.bases == NULL or self.xp == NULL or self.stride == NULL or self.par == NULL or self.st == NULL
                or self.mk_src == NULL or self.lanes == NULL or self.nonunity == NULL or self.gcT == NULL
                or self.gdbT == NULL):
            raise MemoryError()
        for s in range(self.slots):
            if len(works[s]) != L:
                raise ValueError("CompressorBankOp: one work buffer per member")
            for l in range(L):
                wv = works[s][l]
                self.bases[s * L + l] = &wv[0]
                if self.cap < 0 or wv.shape[0] // channels < self.cap:
                    self.cap = wv.shape[0] // channels
        for l in range(L):
            sv = states[l]
            pv = params[l]
            mv = makeups[l]
            if pv.shape[0] != NPARAM or pv.shape[1] != 1 or sv.shape[0] < 3 or mv.shape[0] < 4:
                raise ValueError("CompressorBankOp: params must have shape (7, 1), state 3 values, makeup 4")
            self.st[l] = &sv[0]
            self.par[l] = <double*>&pv[0, 0]
            self.mk_src[l] = <double*>&mv[0]

    def __dealloc__(self):
        free(self.bases)
        free(self.xp)
        free(self.stride)
        free(self.par)
        free(self.st)
        free(self.mk_src)
        free(self.lanes)
        free(self.nonunity)
        free(self.gcT)
        free(self.gdbT)

    def run(self, Py_ssize_t slot, Py_ssize_t n):
        """Compress the first n frames of every member's block of ``slot`` in place."""
        if slot < 0 or slot >= self.slots or n < 0 or n > self.cap:
            raise ValueError("CompressorBankOp.run: slot or length out of range")
        cdef Py_ssize_t l, lp = self.lp, L = self.L
        cdef double* g = self.lanes
        cdef double* grm = self.lanes + lp
        if n == 0:
            return
        with nogil:
            for l in range(6 * lp):
                self.lanes[l] = 0.0
            for l in range(L):
                self.xp[l] = self.bases[slot * L + l]
                self.stride[l] = n
                g[l] = self.st[l][0]
                grm[l] = self.st[l][2]
                self.lanes[2 * lp + l] = self.par[l][P_AA]
                self.lanes[3 * lp + l] = self.par[l][P_AR]
                self.lanes[4 * lp + l] = self.mk_src[l][0]
            _compress_bank(self.xp, self.stride, self.nc, n, L, lp, self.par, g, grm, self.lanes + 2 * lp,
                           self.lanes + 3 * lp, self.lanes + 4 * lp, self.gcT, self.gdbT, self.nonunity)
            for l in range(L):
                self.st[l][0] = g[l]
                self.st[l][2] = grm[l]
