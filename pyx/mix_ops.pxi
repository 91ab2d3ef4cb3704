# The engine's prepared mixing operations (render/engine.py): the sums and faders of a render plan
# on buffers whose addresses are taken once, when the render is planned. A block then costs one call
# with two integers per operation, however many edges or nodes it spans: at 512-frame blocks the
# argument lists of sum_into / apply_gains (a memoryview per buffer) cost more than the arithmetic.
# Same loops as sum_into and apply_gains, so the same bits. Buffers are flat float32 arrays whose
# (channels, n) C-contiguous front is the block (the engine's layout: row c at c * n).


from libc.stdlib cimport calloc
from cpython.object cimport PyObject_GenericSetAttr


cdef inline float* _flat_ptr(object a) except NULL:
    cdef float[::1] v = a
    if v.shape[0] == 0:
        raise ValueError("empty buffer")
    return &v[0]


cdef class SumOp:
    """dst = the sum of sources[k] * gains[k], added in order (as sum_into): ``dsts[s]`` the flat
    destination of slot s (``channels`` rows), ``srcs[s][k]`` source k's flat buffer of slot s
    (``src_channels[k]`` rows; a mono source feeds every row)."""
    cdef list _refs
    cdef Py_ssize_t m, nc, slots, cap
    cdef float** dst
    cdef float** src
    cdef Py_ssize_t* sch
    cdef double* gains
    cdef float** rows

    def __cinit__(self, list dsts, Py_ssize_t channels, list srcs, list src_channels, gains):
        cdef Py_ssize_t s, k
        cdef const double[::1] gv = gains
        self.slots = len(dsts)
        self.m = len(src_channels)
        self.nc = channels
        if self.slots == 0 or len(srcs) != self.slots or gv.shape[0] != self.m or channels < 1:
            raise ValueError("SumOp: one destination and one list of sources per slot, one gain per source")
        self._refs = [dsts, srcs]
        self.dst = <float**>calloc(self.slots, sizeof(float*))
        self.src = <float**>calloc(self.slots * self.m + 1, sizeof(float*))
        self.sch = <Py_ssize_t*>calloc(self.m + 1, sizeof(Py_ssize_t))
        self.gains = <double*>calloc(self.m + 1, sizeof(double))
        self.rows = <float**>calloc(self.nc * self.m + 1, sizeof(float*))
        if self.dst == NULL or self.src == NULL or self.sch == NULL or self.gains == NULL or self.rows == NULL:
            raise MemoryError()
        self.cap = -1
        for k in range(self.m):
            self.sch[k] = src_channels[k]
            self.gains[k] = gv[k]
            if self.sch[k] < 1:
                raise ValueError("SumOp: a source has no channel")
        for s in range(self.slots):
            self.dst[s] = _flat_ptr(dsts[s])
            self._fit(len(dsts[s]) // channels)
            if len(srcs[s]) != self.m:
                raise ValueError("SumOp: one buffer per source")
            for k in range(self.m):
                self.src[s * self.m + k] = _flat_ptr(srcs[s][k])
                self._fit(len(srcs[s][k]) // self.sch[k])

    cdef void _fit(self, Py_ssize_t frames):
        if self.cap < 0 or frames < self.cap:
            self.cap = frames

    def __dealloc__(self):
        free(self.dst)
        free(self.src)
        free(self.sch)
        free(self.gains)
        free(self.rows)

    def run(self, Py_ssize_t slot, Py_ssize_t n):
        """Sum the first n frames; returns whether every sample of the destination is finite."""
        if slot < 0 or slot >= self.slots or n < 0 or n > self.cap:
            raise ValueError("SumOp.run: slot or length out of range")
        cdef Py_ssize_t c, k, r, m = self.m
        cdef float* d = self.dst[slot]
        cdef bint ok = True
        if n == 0:
            return True
        with nogil:
            for k in range(m):
                for c in range(self.nc):
                    r = c if c < self.sch[k] else self.sch[k] - 1
                    self.rows[c * m + k] = self.src[slot * m + k] + r * n
            for c in range(self.nc):
                _sum_rows(d + c * n, &self.rows[c * m], self.gains, m, n)
            ok = _finite(d, self.nc * n)
        return ok


cdef class GainsOp:
    """Fader and pan of several nodes (as apply_gains on each): ``srcs[s][i]`` member i's flat work
    buffer of slot s (``channels[i]`` rows, 1 or 2), ``outs[s][i]`` its flat (2 rows) output."""
    cdef list _refs
    cdef Py_ssize_t m, slots, cap
    cdef float** src
    cdef float** out
    cdef Py_ssize_t* ch
    cdef double* gl
    cdef double* gr

    def __cinit__(self, list srcs, list outs, list channels, gl, gr):
        cdef Py_ssize_t s, i
        cdef const double[::1] glv = gl
        cdef const double[::1] grv = gr
        self.slots = len(srcs)
        self.m = len(channels)
        if self.slots == 0 or len(outs) != self.slots or glv.shape[0] != self.m or grv.shape[0] != self.m:
            raise ValueError("GainsOp: one list of buffers per slot, two gains per member")
        self._refs = [srcs, outs]
        self.src = <float**>calloc(self.slots * self.m + 1, sizeof(float*))
        self.out = <float**>calloc(self.slots * self.m + 1, sizeof(float*))
        self.ch = <Py_ssize_t*>calloc(self.m + 1, sizeof(Py_ssize_t))
        self.gl = <double*>calloc(self.m + 1, sizeof(double))
        self.gr = <double*>calloc(self.m + 1, sizeof(double))
        if self.src == NULL or self.out == NULL or self.ch == NULL or self.gl == NULL or self.gr == NULL:
            raise MemoryError()
        self.cap = -1
        for i in range(self.m):
            self.ch[i] = channels[i]
            if self.ch[i] < 1 or self.ch[i] > 2:
                raise ValueError("GainsOp: members have 1 or 2 channels")
            self.gl[i] = glv[i]
            self.gr[i] = grv[i]
        for s in range(self.slots):
            if len(srcs[s]) != self.m or len(outs[s]) != self.m:
                raise ValueError("GainsOp: one buffer per member")
            for i in range(self.m):
                self.src[s * self.m + i] = _flat_ptr(srcs[s][i])
                self.out[s * self.m + i] = _flat_ptr(outs[s][i])
                for frames in (len(srcs[s][i]) // self.ch[i], len(outs[s][i]) // 2):
                    if self.cap < 0 or frames < self.cap:
                        self.cap = frames

    def __dealloc__(self):
        free(self.src)
        free(self.out)
        free(self.ch)
        free(self.gl)
        free(self.gr)

    def run(self, Py_ssize_t slot, Py_ssize_t n):
        """Apply every member's gains to its first n frames; returns the index of the first member
        whose output is not finite, or -1."""
        if slot < 0 or slot >= self.slots or n < 0 or n > self.cap:
            raise ValueError("GainsOp.run: slot or length out of range")
        cdef Py_ssize_t i, bad = -1
        cdef const float* s
        cdef float* o
        cdef uint32_t peak
        cdef float top
        cdef bint ok
        if n == 0:
            return -1
        with nogil:
            for i in range(self.m):
                s = self.src[slot * self.m + i]
                o = self.out[slot * self.m + i]
                if MIXCORE_HAS_UMAX:  # as apply_gains
                    peak = _gains_peak_p(s, s + (self.ch[i] - 1) * n, o, o + n, n, self.gl[i], self.gr[i])
                    if peak >= 0x7f800000u:
                        ok = False
                    else:
                        memcpy(&top, &peak, 4)
                        ok = True
                        if top * max(fabs(self.gl[i]), fabs(self.gr[i])) >= 1e38:
                            ok = _finite(o, 2 * n)
                else:
                    _gains_p(s, s + (self.ch[i] - 1) * n, o, o + n, n, self.gl[i], self.gr[i])
                    ok = _finite(o, 2 * n)
                if not ok and bad < 0:
                    bad = i
        return bad


cdef class SourceReadOp:
    """The next n frames of several file sources (render/sources.py ``FileSource``) into their
    nodes' flat work buffers, in one call: where the frames lie whole inside a source's current
    chunk (no offset zeros left, no resampling, not the chunk that ends the file) they are checked
    (NaN, Inf) and de-interleaved here and the source's position advanced, as its ``read_into``
    would; otherwise, or when the check fails (``read_into`` then names the file and the frame),
    the source's own ``read_into`` runs. ``works[s][i]``: member i's flat buffer of slot s;
    ``channels[i]``: its source's channels (the node's)."""
    cdef list _sources, _works, _cached
    cdef Py_ssize_t m, slots, cap
    cdef float** bases
    cdef Py_ssize_t* ch
    cdef const float** dptr  # the cached chunk's first frame, per member
    cdef Py_ssize_t* dlen    # its frames

    def __cinit__(self, list sources, list works, list channels):
        cdef Py_ssize_t s, i
        self.m = len(sources)
        self.slots = len(works)
        if self.m == 0 or self.slots == 0 or len(channels) != self.m:
            raise ValueError("SourceReadOp: one buffer per slot and one channel count per source")
        self._sources = list(sources)
        self._works = works
        self._cached = [None] * self.m
        self.bases = <float**>calloc(self.slots * self.m, sizeof(float*))
        self.ch = <Py_ssize_t*>calloc(self.m, sizeof(Py_ssize_t))
        self.dptr = <const float**>calloc(self.m, sizeof(float*))
        self.dlen = <Py_ssize_t*>calloc(self.m, sizeof(Py_ssize_t))
        if self.bases == NULL or self.ch == NULL or self.dptr == NULL or self.dlen == NULL:
            raise MemoryError()
        self.cap = -1
        for i in range(self.m):
            self.ch[i] = channels[i]
            if self.ch[i] < 1:
                raise ValueError("SourceReadOp: a source has no channel")
        for s in range(self.slots):
            if len(works[s]) != self.m:
                raise ValueError("SourceReadOp: one buffer per source")
            for i in range(self.m):
                self.bases[s * self.m + i] = _flat_ptr(works[s][i])
                if self.cap < 0 or len(works[s][i]) // self.ch[i] < self.cap:
                    self.cap = len(works[s][i]) // self.ch[i]

    def __dealloc__(self):
        free(self.bases)
        free(self.ch)
        free(self.dptr)
        free(self.dlen)

    cdef bint _window(self, Py_ssize_t i, object src, Py_ssize_t n, Py_ssize_t* pos) except -1:
        # whether frames [pos, pos + n) of the source's current chunk can be taken here
        if src._zeros != 0 or src._resampler is not None:
            return False
        data = src._data
        cdef const float[:, ::1] dv
        if data is not self._cached[i]:
            if (data.dtype.char != 'f' or data.ndim != 2 or data.shape[1] != self.ch[i] or data.shape[0] == 0
                    or not data.flags.c_contiguous):
                return False
            dv = data
            self._cached[i] = data
            self.dptr[i] = &dv[0, 0]
            self.dlen[i] = dv.shape[0]
        pos[0] = src._pos
        return pos[0] + n < self.dlen[i] or (pos[0] + n == self.dlen[i] and not src._eof)

    def run(self, Py_ssize_t slot, Py_ssize_t n):
        """Read n frames into every member's block of ``slot``."""
        if slot < 0 or slot >= self.slots or n < 0 or n > self.cap:
            raise ValueError("SourceReadOp.run: slot or length out of range")
        cdef Py_ssize_t i, nc, pos = 0
        cdef const float* s
        cdef float* o
        cdef bint ok
        for i in range(self.m):
            src = self._sources[i]
            nc = self.ch[i]
            o = self.bases[slot * self.m + i]
            if n and self._window(i, src, n, &pos):
                s = self.dptr[i] + pos * nc
                with nogil:
                    ok = _finite(s, n * nc)
                    if ok:
                        _deinterleave_p(s, nc, n, o, n)
                if ok:
                    PyObject_GenericSetAttr(src, "_pos", pos + n)
                    PyObject_GenericSetAttr(src, "_produced", src._produced + n)
                    continue
            src.read_into((<object>self._works[slot][i])[: nc * n].reshape(nc, n))
