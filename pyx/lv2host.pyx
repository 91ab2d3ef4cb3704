# cython: language_level=3
"""LV2 plugin instances: the host features they call back into, and fixed-size blocks without the GIL.

No LV2 or lilv header is needed to build this module (``pip install .`` works on a machine without
liblilv): it declares the few structs of the LV2 C ABI it uses (``LV2_Descriptor``, ``LV2_Feature``,
``LV2_URID_Map``/``Unmap``, ``LV2_Options_Option``, ``LV2_Atom``) and lilv's public
``LilvInstanceImpl`` (which lilv.h exposes in its ABI for exactly this: calling ``run`` inline).
Instances are created by lilv (loaded at run time with ctypes, see ``mixcore/hosting/lilv.py``)
with the features of a :class:`Features`; a :class:`Runner` then drives them through the
descriptor's function pointers: ``run`` is called with the GIL released.

Host features (:class:`Features`): ``urid:map`` and ``urid:unmap`` (one table per process, behind
the GIL: plugins map their URIs while being instantiated), ``options:options`` (sample rate,
minimum/maximum/nominal block length, sequence size), ``worker:schedule`` (synchronous, see below), ``buf-size:boundedBlockLength``,
``buf-size:fixedBlockLength``, ``buf-size:powerOf2BlockLength`` and ``buf-size:coarseBlockLength``
(the plugin is always run on blocks of exactly ``block`` samples, a power of two),
``lv2core:isLive`` and ``lv2core:inPlaceBroken`` (inputs and outputs never share a buffer).

A :class:`Runner` passes the track's audio through a FIFO of ``block`` samples: every sample is
delayed by exactly ``block`` (the plugin's own latency comes on top), whatever the sizes of the
calls, so the output never depends on the render's block size or threads.
"""
from libc.stdint cimport uint32_t, int32_t, int64_t
from libc.string cimport memset, memcpy
from libc.stdlib cimport malloc, free

ctypedef void* LV2_Handle
ctypedef uint32_t LV2_URID

ctypedef struct LV2_Feature:
    const char* URI
    void* data

ctypedef struct LV2_Descriptor:
    const char* URI
    LV2_Handle (*instantiate)(const LV2_Descriptor*, double, const char*, const LV2_Feature* const*) noexcept nogil
    void (*connect_port)(LV2_Handle, uint32_t, void*) noexcept nogil
    void (*activate)(LV2_Handle) noexcept nogil
    void (*run)(LV2_Handle, uint32_t) noexcept nogil
    void (*deactivate)(LV2_Handle) noexcept nogil
    void (*cleanup)(LV2_Handle) noexcept nogil
    const void* (*extension_data)(const char*) noexcept nogil

ctypedef struct LilvInstanceImpl:  # lilv.h: "exposed in the ABI to allow inlining of ... lilv_instance_run()"
    const LV2_Descriptor* lv2_descriptor
    LV2_Handle lv2_handle
    void* pimpl

ctypedef struct LV2_URID_Map:
    void* handle
    LV2_URID (*map)(void*, const char*) noexcept

ctypedef struct LV2_URID_Unmap:
    void* handle
    const char* (*unmap)(void*, LV2_URID) noexcept

ctypedef struct LV2_Options_Option:
    int context  # LV2_OPTIONS_INSTANCE = 0
    uint32_t subject
    LV2_URID key
    uint32_t size
    LV2_URID type
    const void* value

ctypedef struct LV2_Atom:
    uint32_t size
    uint32_t type

ctypedef int (*LV2_Worker_Respond_Function)(void*, uint32_t, const void*) noexcept nogil

ctypedef struct LV2_Worker_Interface:
    int (*work)(LV2_Handle, LV2_Worker_Respond_Function, void*, uint32_t, const void*) noexcept nogil
    int (*work_response)(LV2_Handle, uint32_t, const void*) noexcept nogil
    int (*end_run)(LV2_Handle) noexcept nogil

ctypedef struct LV2_Worker_Schedule:
    void* handle
    int (*schedule_work)(void*, uint32_t, const void*) noexcept nogil

# The worker extension, synchronously: an offline renderer has no deadline to protect, so the work a
# plugin schedules is done at once, in the calling thread; its responses are queued and handed back
# (work_response, then end_run) right after the run() that scheduled it -- the same order a host with a
# worker thread gives, and the same result every time.
ctypedef struct WorkerCtx:
    LV2_Handle plugin
    const LV2_Worker_Interface* iface
    char* resp
    uint32_t cap
    uint32_t used
    int in_run

cdef int _respond(void* handle, uint32_t size, const void* data) noexcept nogil:
    cdef WorkerCtx* w = <WorkerCtx*>handle
    cdef uint32_t need = 8 + ((size + 7) & ~(<uint32_t>7))
    if w.used + need > w.cap:
        return 2  # LV2_WORKER_ERR_NO_SPACE
    (<uint32_t*>(w.resp + w.used))[0] = size
    memcpy(w.resp + w.used + 8, data, size)
    w.used += need
    return 0

cdef void _deliver(WorkerCtx* w) noexcept nogil:
    cdef uint32_t pos = 0, size
    if w.iface == NULL:
        return
    while pos < w.used:
        size = (<uint32_t*>(w.resp + pos))[0]
        if w.iface.work_response != NULL:
            w.iface.work_response(w.plugin, size, w.resp + pos + 8)
        pos += 8 + ((size + 7) & ~(<uint32_t>7))
    w.used = 0

cdef int _schedule(void* handle, uint32_t size, const void* data) noexcept nogil:
    cdef WorkerCtx* w = <WorkerCtx*>handle
    cdef int status
    if w.iface == NULL or w.iface.work == NULL:
        return 1  # LV2_WORKER_ERR_UNKNOWN
    status = w.iface.work(w.plugin, _respond, <void*>w, size, data)
    if not w.in_run:  # scheduled outside run() (e.g. while restoring state): answer at once
        _deliver(w)
    return status

URID_MAP = "http://lv2plug.in/ns/ext/urid#map"
URID_UNMAP = "http://lv2plug.in/ns/ext/urid#unmap"
OPTIONS = "http://lv2plug.in/ns/ext/options#options"
WORKER = "http://lv2plug.in/ns/ext/worker#schedule"
WORKER_IFACE = b"http://lv2plug.in/ns/ext/worker#interface"
#: Bytes of responses a plugin's worker may queue during one run().
WORKER_CAPACITY = 1 << 16
BUF = "http://lv2plug.in/ns/ext/buf-size#"
#: Features without data that mixcore provides by how it runs plugins.
FLAG_FEATURES = (BUF + "boundedBlockLength", BUF + "fixedBlockLength", BUF + "powerOf2BlockLength",
                 BUF + "coarseBlockLength", "http://lv2plug.in/ns/lv2core#isLive",
                 "http://lv2plug.in/ns/lv2core#inPlaceBroken", "http://lv2plug.in/ns/lv2core#hardRTCapable")
SUPPORTED = (URID_MAP, URID_UNMAP, OPTIONS, WORKER) + FLAG_FEATURES
#: Bytes of an atom port's buffer (an empty sequence in, room for the plugin's messages out).
ATOM_CAPACITY = 8192

# -- URID map/unmap: one table for the process, behind the GIL -------------------------------------
cdef dict _ids = {}
cdef list _uris = [None]  # URID 0 is never a valid URID


cdef LV2_URID _map(void* handle, const char* uri) noexcept with gil:
    cdef bytes key = uri
    cdef object got = _ids.get(key)
    if got is None:
        got = len(_uris)
        _uris.append(key)
        _ids[key] = got
    return <LV2_URID>got


cdef const char* _unmap(void* handle, LV2_URID urid) noexcept with gil:
    if urid == 0 or urid >= <LV2_URID>len(_uris):
        return NULL
    return <const char*>(<bytes>_uris[urid])


cdef LV2_URID_Map _map_feature
cdef LV2_URID_Unmap _unmap_feature
_map_feature.handle = NULL
_map_feature.map = _map
_unmap_feature.handle = NULL
_unmap_feature.unmap = _unmap


def urid(str uri):
    """The URID of ``uri`` (mapping it if new)."""
    b = uri.encode()
    return int(_map(NULL, b))


def map_address():
    """The address of the process's ``LV2_URID_Map`` (for lilv's state functions)."""
    return <size_t>&_map_feature


def unmap_address():
    """The address of the process's ``LV2_URID_Unmap`` (for lilv's state functions)."""
    return <size_t>&_unmap_feature


cdef class Features:
    """The NULL-terminated ``LV2_Feature*`` array given to one instance at ``sample_rate`` in blocks
    of ``block`` samples (``address``), and the URIs it holds (``uris``). After the instance is made,
    :meth:`bind` connects its worker (if the plugin has the worker interface)."""

    cdef WorkerCtx worker
    cdef LV2_Worker_Schedule schedule
    cdef LV2_Feature feats[12]
    cdef const LV2_Feature* ptrs[13]
    cdef LV2_Options_Option opts[6]
    cdef float rate
    cdef int32_t block_len, seq_size
    cdef list _keep
    cdef readonly tuple uris

    def __init__(self, double sample_rate, int block):
        cdef int i, n = 0
        self.rate = <float>sample_rate
        self.block_len = block
        memset(&self.worker, 0, sizeof(WorkerCtx))
        self.worker.resp = <char*>malloc(WORKER_CAPACITY)
        if self.worker.resp == NULL:
            raise MemoryError()
        self.worker.cap = WORKER_CAPACITY
        self.schedule.handle = <void*>&self.worker
        self.schedule.schedule_work = _schedule
        self.seq_size = ATOM_CAPACITY
        self._keep = [u.encode() for u in SUPPORTED]
        keys = [("http://lv2plug.in/ns/lv2core#sampleRate", 0), (BUF + "minBlockLength", 1),
                (BUF + "maxBlockLength", 1), (BUF + "nominalBlockLength", 1), (BUF + "sequenceSize", 2)]
        cdef LV2_URID t_float = urid("http://lv2plug.in/ns/ext/atom#Float")
        cdef LV2_URID t_int = urid("http://lv2plug.in/ns/ext/atom#Int")
        memset(self.opts, 0, sizeof(self.opts))
        for i, (key, kind) in enumerate(keys):
            self.opts[i].context = 0
            self.opts[i].subject = 0
            self.opts[i].key = urid(key)
            self.opts[i].size = 4
            self.opts[i].type = t_float if kind == 0 else t_int
            self.opts[i].value = <const void*>&self.rate if kind == 0 else (
                <const void*>&self.block_len if kind == 1 else <const void*>&self.seq_size)
        for i, uri in enumerate(SUPPORTED):
            self.feats[i].URI = <const char*>(<bytes>self._keep[i])
            if uri == URID_MAP:
                self.feats[i].data = <void*>&_map_feature
            elif uri == URID_UNMAP:
                self.feats[i].data = <void*>&_unmap_feature
            elif uri == OPTIONS:
                self.feats[i].data = <void*>self.opts
            elif uri == WORKER:
                self.feats[i].data = <void*>&self.schedule
            else:
                self.feats[i].data = NULL
            self.ptrs[i] = &self.feats[i]
            n += 1
        self.ptrs[n] = NULL
        self.uris = SUPPORTED

    def __dealloc__(self):
        free(self.worker.resp)

    @property
    def address(self):
        return <size_t>&self.ptrs[0]

    @property
    def worker_address(self):
        return <size_t>&self.worker

    def bind(self, size_t instance):
        """Connect the worker to ``instance`` (a LilvInstance*): its handle and worker interface."""
        cdef LilvInstanceImpl* inst = <LilvInstanceImpl*>instance
        self.worker.plugin = inst.lv2_handle
        self.worker.iface = NULL
        if inst.lv2_descriptor.extension_data != NULL:
            self.worker.iface = <const LV2_Worker_Interface*>inst.lv2_descriptor.extension_data(WORKER_IFACE)
        return self.worker.iface != NULL


cdef class Runner:
    """Drives 1 or 2 instances (2: a mono plugin on a stereo track, dual mono) in blocks of ``block``.

    The caller connects every port (:meth:`connect`, :meth:`connect_atom`) to buffers it keeps
    alive: audio inputs to rows of ``inq`` (the track's channels) or ``kq`` (the sidechain key),
    audio outputs to rows of ``outq`` or ``scratch``, control ports to ``controls``. ``avg_out``:
    the output is the mean of ``scratch`` rows 0 and 1 (a stereo plugin on a mono track);
    ``avg_key``: ``scratch`` row 2 is the mean of the key's two rows (a mono sidechain input, one
    instance). ``latency_port``: the control port whose value is checked after every run.
    """

    cdef LilvInstanceImpl* inst[2]
    cdef WorkerCtx* workers[2]
    cdef int K, C, F, ni, avg_out, avg_key, has_key, lat_port, n_atoms, active
    cdef float[:, ::1] inq, outq, kq, scratch, controls
    cdef LV2_Atom* atoms[64]
    cdef uint32_t atom_cap[64]
    cdef int atom_in[64]
    cdef LV2_URID t_seq, t_chunk
    cdef readonly float latency
    cdef readonly int latency_changed
    cdef list keep

    def __init__(self, list instances, list workers, float[:, ::1] inq, float[:, ::1] outq, float[:, ::1] kq,
                 float[:, ::1] scratch, float[:, ::1] controls, int latency_port, bint avg_out, bint avg_key,
                 bint has_key):
        cdef size_t a
        self.K = len(instances)
        if self.K < 1 or self.K > 2:
            raise ValueError("1 or 2 instances")
        for k in range(self.K):
            a = instances[k]
            self.inst[k] = <LilvInstanceImpl*>a
            a = workers[k]
            self.workers[k] = <WorkerCtx*>a
        self.inq, self.outq, self.kq, self.scratch, self.controls = inq, outq, kq, scratch, controls
        self.C = inq.shape[0]
        self.F = inq.shape[1]
        self.ni = 0
        self.avg_out, self.avg_key, self.has_key = avg_out, avg_key, has_key
        self.lat_port = latency_port
        self.n_atoms = 0
        self.active = 0
        self.latency = 0.0
        self.latency_changed = 0
        self.keep = []
        self.t_seq = urid("http://lv2plug.in/ns/ext/atom#Sequence")
        self.t_chunk = urid("http://lv2plug.in/ns/ext/atom#Chunk")

    def connect(self, int k, int port, size_t address):
        """Connect ``port`` of instance ``k`` to ``address`` (0: NULL, an optional port left out)."""
        self.inst[k].lv2_descriptor.connect_port(self.inst[k].lv2_handle, port, <void*>address)

    def connect_atom(self, int k, int port, bint is_input, buffer):
        """Connect an atom port to ``buffer`` (a uint64 array the caller keeps): an empty sequence
        in, or room for the plugin's output, set again before every run."""
        cdef unsigned long long[::1] b = buffer
        if self.n_atoms >= 64:
            raise ValueError("too many atom ports")
        self.atoms[self.n_atoms] = <LV2_Atom*>&b[0]
        self.atom_cap[self.n_atoms] = <uint32_t>(b.shape[0] * 8)
        self.atom_in[self.n_atoms] = is_input
        self.n_atoms += 1
        self.keep.append(buffer)
        self._reset_atoms()
        self.inst[k].lv2_descriptor.connect_port(self.inst[k].lv2_handle, port, <void*>&b[0])

    cdef void _reset_atoms(self) noexcept nogil:
        cdef int a
        cdef uint32_t* body
        for a in range(self.n_atoms):
            if self.atom_in[a]:  # an empty sequence: header, then the body's unit and pad
                self.atoms[a].size = 8
                self.atoms[a].type = self.t_seq
                body = <uint32_t*>(<char*>self.atoms[a] + 8)
                body[0] = 0
                body[1] = 0
            else:  # the capacity the plugin may fill
                self.atoms[a].size = self.atom_cap[a] - 8
                self.atoms[a].type = self.t_chunk

    def activate(self):
        for k in range(self.K):
            if self.inst[k].lv2_descriptor.activate != NULL:
                self.inst[k].lv2_descriptor.activate(self.inst[k].lv2_handle)
        self.active = 1

    def deactivate(self):
        if not self.active:
            return
        for k in range(self.K):
            if self.inst[k].lv2_descriptor.deactivate != NULL:
                self.inst[k].lv2_descriptor.deactivate(self.inst[k].lv2_handle)
        self.active = 0

    def clear(self):
        """Empty the FIFOs (the output of the next ``block`` samples is silence)."""
        self.inq[:, :] = 0.0
        self.outq[:, :] = 0.0
        self.kq[:, :] = 0.0
        self.ni = 0

    def run_silence(self):
        """Run one block of silence (after activate: the plugin settles and reports its latency);
        returns the latency it reports (0 without a latency port)."""
        self.clear()
        with nogil:
            self._run()
        self.outq[:, :] = 0.0
        self.latency_changed = 0
        self.latency = self.controls[0, self.lat_port] if self.lat_port >= 0 else 0.0
        return self.latency

    cdef void _run(self) noexcept nogil:
        cdef int k, i
        cdef int F = self.F
        self._reset_atoms()
        if self.avg_key:
            for i in range(F):
                self.scratch[2, i] = 0.5 * (self.kq[0, i] + self.kq[1, i])
        for k in range(self.K):
            self.workers[k].in_run = 1
            self.inst[k].lv2_descriptor.run(self.inst[k].lv2_handle, <uint32_t>F)
            self.workers[k].in_run = 0
            if self.workers[k].iface != NULL:
                _deliver(self.workers[k])
                if self.workers[k].iface.end_run != NULL:
                    self.workers[k].iface.end_run(self.inst[k].lv2_handle)
        if self.avg_out:
            for i in range(F):
                self.outq[0, i] = 0.5 * (self.scratch[0, i] + self.scratch[1, i])
        if self.lat_port >= 0 and self.controls[0, self.lat_port] != self.latency:
            self.latency_changed = 1

    def process(self, float[:, ::1] block, float[:, ::1] key):
        """``block`` (C, n) in place: out = the plugin's output ``block`` samples late. ``key``
        (rows, n): the sidechain input (None: the block itself). Returns 1 when the plugin's
        reported latency changed since it was prepared, else 0."""
        cdef Py_ssize_t n = block.shape[1], j = 0, m, i, c, r, kr
        cdef int F = self.F, C = self.C
        cdef float[:, ::1] src = block if key is None else key
        kr = src.shape[0]
        if block.shape[0] != C:
            raise ValueError(f"{block.shape[0]}-channel block for a {C}-channel runner")
        if key is not None and key.shape[1] != n:
            raise ValueError("key and block lengths differ")
        with nogil:
            while j < n:
                m = F - self.ni
                if m > n - j:
                    m = n - j
                if self.has_key:
                    for r in range(2):
                        for i in range(m):
                            self.kq[r, self.ni + i] = src[r if r < kr else kr - 1, j + i]
                for c in range(C):
                    for i in range(m):
                        self.inq[c, self.ni + i] = block[c, j + i]
                        block[c, j + i] = self.outq[c, self.ni + i]
                self.ni += <int>m
                j += m
                if self.ni == F:
                    self._run()
                    self.ni = 0
        return self.latency_changed
