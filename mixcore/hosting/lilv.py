"""The installed LV2 world, read through Debian's ``liblilv-0.so.0`` (the reference LV2 host library).

Why this binding: lilv is loaded at run time (``ctypes``), never linked or compiled against, so
``pip install .`` needs neither liblilv nor its headers and mixcore works without it; only an
``lv2`` entry then fails, with one line saying how to install it (:data:`INSTALL_HINT`). Discovery
(plugins, ports, ranges, presets) runs once per session, so ctypes' call cost does not matter here.
Everything per block -- the plugin's ``run`` through its descriptor's function pointer, without
the GIL -- and the host features a plugin calls back into (URID map/unmap, options) live in the
Cython module :mod:`mixcore._dsp.lv2host`, which needs no header either (it declares the few LV2
structs it uses; the LV2 ABI is a stable C ABI).

The world holds the plugins of the LV2 folders only (:func:`.folders.lv2_folders`: the standard
``LV2_PATH`` folders, ``LV2_PATH`` itself, ``MIXCORE_PLUGIN_PATH`` and ``--plugin-path``); lilv
reads only their Turtle data, and a plugin's binary is loaded only when it is instantiated, after
:func:`.folders.check_folder` has checked the real paths of its bundle and library.
"""
from __future__ import annotations

import ctypes
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MixcoreError

LIB = "liblilv-0.so.0"
#: Another file name for liblilv (tests set a missing one to see what a machine without it says).
LIB_ENV = "MIXCORE_LIBLILV"
INSTALL_HINT = "LV2 hosting needs liblilv: apt-get install liblilv-0-0"

LV2 = "http://lv2plug.in/ns/lv2core#"
ATOM = "http://lv2plug.in/ns/ext/atom#"
PG = "http://lv2plug.in/ns/ext/port-groups#"
PSET = "http://lv2plug.in/ns/ext/presets#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
UNITS = "http://lv2plug.in/ns/extensions/units#"
LV2_PATH_OPTION = b"http://drobilla.net/ns/lilv#lv2-path"

_lib: ctypes.CDLL | None = None
_lib_error: str | None = None

P = ctypes.c_void_p
_SIGNATURES = {
    "lilv_world_new": (P, []),
    "lilv_world_set_option": (None, [P, ctypes.c_char_p, P]),
    "lilv_world_load_all": (None, [P]),
    "lilv_world_get_all_plugins": (P, [P]),
    "lilv_world_load_resource": (ctypes.c_int, [P, P]),
    "lilv_world_get": (P, [P, P, P, P]),
    "lilv_world_ask": (ctypes.c_bool, [P, P, P, P]),
    "lilv_new_uri": (P, [P, ctypes.c_char_p]),
    "lilv_new_string": (P, [P, ctypes.c_char_p]),
    "lilv_node_free": (None, [P]),
    "lilv_node_as_uri": (ctypes.c_char_p, [P]),
    "lilv_node_as_string": (ctypes.c_char_p, [P]),
    "lilv_node_as_float": (ctypes.c_float, [P]),
    "lilv_file_uri_parse": (P, [ctypes.c_char_p, P]),
    "lilv_free": (None, [P]),
    "lilv_plugins_begin": (P, [P]),
    "lilv_plugins_get": (P, [P, P]),
    "lilv_plugins_next": (P, [P, P]),
    "lilv_plugins_is_end": (ctypes.c_bool, [P, P]),
    "lilv_plugins_get_by_uri": (P, [P, P]),
    "lilv_nodes_begin": (P, [P]),
    "lilv_nodes_get": (P, [P, P]),
    "lilv_nodes_next": (P, [P, P]),
    "lilv_nodes_is_end": (ctypes.c_bool, [P, P]),
    "lilv_nodes_free": (None, [P]),
    "lilv_plugin_get_uri": (P, [P]),
    "lilv_plugin_get_name": (P, [P]),
    "lilv_plugin_get_bundle_uri": (P, [P]),
    "lilv_plugin_get_library_uri": (P, [P]),
    "lilv_plugin_get_required_features": (P, [P]),
    "lilv_plugin_get_num_ports": (ctypes.c_uint32, [P]),
    "lilv_plugin_get_port_ranges_float": (None, [P, P, P, P]),
    "lilv_plugin_has_latency": (ctypes.c_bool, [P]),
    "lilv_plugin_get_latency_port_index": (ctypes.c_uint32, [P]),
    "lilv_plugin_get_port_by_index": (P, [P, ctypes.c_uint32]),
    "lilv_plugin_get_related": (P, [P, P]),
    "lilv_plugin_get_author_name": (P, [P]),
    "lilv_port_get_symbol": (P, [P, P]),
    "lilv_port_get_name": (P, [P, P]),
    "lilv_port_is_a": (ctypes.c_bool, [P, P, P]),
    "lilv_port_has_property": (ctypes.c_bool, [P, P, P]),
    "lilv_port_get": (P, [P, P, P]),
    "lilv_port_get_scale_points": (P, [P, P]),
    "lilv_scale_points_begin": (P, [P]),
    "lilv_scale_points_get": (P, [P, P]),
    "lilv_scale_points_next": (P, [P, P]),
    "lilv_scale_points_is_end": (ctypes.c_bool, [P, P]),
    "lilv_scale_points_free": (None, [P]),
    "lilv_scale_point_get_label": (P, [P]),
    "lilv_scale_point_get_value": (P, [P]),
    "lilv_plugin_instantiate": (P, [P, ctypes.c_double, P]),
    "lilv_instance_free": (None, [P]),
    "lilv_state_new_from_world": (P, [P, P, P]),
    "lilv_state_emit_port_values": (None, [P, P, P]),
    "lilv_state_free": (None, [P]),
    "lilv_state_new_from_instance": (P, [P, P, P, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                         ctypes.c_char_p, P, P, ctypes.c_uint32, P]),
    "lilv_state_to_string": (P, [P, P, P, P, ctypes.c_char_p, ctypes.c_char_p]),
    "lilv_state_new_from_string": (P, [P, P, ctypes.c_char_p]),
    "lilv_state_restore": (None, [P, P, P, P, ctypes.c_uint32, P]),
    "lilv_state_get_num_properties": (ctypes.c_uint32, [P]),
    "lilv_state_get_plugin_uri": (P, [P]),
    "lilv_plugin_has_extension_data": (ctypes.c_bool, [P, P]),
}

#: ``void set_value(const char* symbol, void* user_data, const void* value, uint32_t size, uint32_t type)``
SET_VALUE = ctypes.CFUNCTYPE(None, ctypes.c_char_p, P, P, ctypes.c_uint32, ctypes.c_uint32)
#: ``const void* get_value(const char* symbol, void* user_data, uint32_t* size, uint32_t* type)``
GET_VALUE = ctypes.CFUNCTYPE(P, ctypes.c_char_p, P, ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint32))
STATE_EXT = "http://lv2plug.in/ns/ext/state#interface"


def lib() -> ctypes.CDLL:
    """liblilv, loaded on first use; a machine without it gets one line saying how to install it."""
    global _lib, _lib_error
    if _lib is not None:
        return _lib
    if _lib_error is None:
        try:
            handle = ctypes.CDLL(os.environ.get(LIB_ENV) or LIB)
            for name, (res, args) in _SIGNATURES.items():
                fn = getattr(handle, name)
                fn.restype = res
                fn.argtypes = args
            _lib = handle
            return handle
        except (OSError, AttributeError) as e:
            _lib_error = " ".join(str(e).split())
    raise MixcoreError(f"{INSTALL_HINT} ({_lib_error})")


def available() -> bool:
    try:
        lib()
        return True
    except MixcoreError:
        return False


@dataclass
class Port:
    """One port of an LV2 plugin, as its Turtle describes it."""

    index: int
    symbol: str
    name: str
    kind: str  # "audio", "control", "atom", "cv" or "other"
    is_input: bool
    default: float = math.nan
    lo: float = math.nan
    hi: float = math.nan
    integer: bool = False
    toggled: bool = False
    enumeration: bool = False
    optional: bool = False  # lv2:connectionOptional
    sidechain: bool = False  # lv2:isSideChain, or in a port group that is a pg:sideChainOf another
    unit: str = ""
    points: dict[str, float] = field(default_factory=dict)  # scale points: label -> value


@dataclass
class PluginInfo:
    uri: str
    name: str
    author: str
    bundle: Path
    library: Path
    ports: list[Port]
    required: list[str]
    latency_port: int  # -1: none
    presets: dict[str, str]  # preset URI -> label
    handle: int  # the LilvPlugin*, valid while the world lives

    def audio(self, is_input: bool, sidechain: bool = False) -> list[Port]:
        return [p for p in self.ports if p.kind == "audio" and p.is_input == is_input
                and (p.sidechain == sidechain or not is_input)]

    def controls(self) -> list[Port]:
        return [p for p in self.ports if p.kind == "control" and p.is_input]


def _s(ptr: int | None) -> str:
    if not ptr:
        return ""
    raw = lib().lilv_node_as_string(ptr)
    return raw.decode("utf-8", "replace") if raw else ""


def _path(uri_node: int) -> Path:
    L = lib()
    raw = L.lilv_file_uri_parse(L.lilv_node_as_uri(uri_node), None)
    try:
        return Path(ctypes.cast(raw, ctypes.c_char_p).value.decode("utf-8", "surrogateescape"))
    finally:
        L.lilv_free(raw)


def _holds_lv2(folder: Path) -> bool:
    """Whether ``folder`` holds an LV2 bundle (a folder with a ``manifest.ttl``)."""
    try:
        return any((b / "manifest.ttl").is_file() for b in Path(folder).iterdir() if b.is_dir())
    except OSError:
        return False


class World:
    """A lilv world over ``folders`` (the LV2 path); plugins by URI, described on demand."""

    def __init__(self, folders: list[Path]) -> None:
        from ..render.sources import quiet_stderr

        L = lib()
        self.folders = [f for f in folders if _holds_lv2(f)]  # a VST3 folder in the path is not lilv's business
        self.ptr = L.lilv_world_new()
        path = os.pathsep.join(str(f) for f in self.folders).encode()
        value = L.lilv_new_string(self.ptr, path)
        L.lilv_world_set_option(self.ptr, LV2_PATH_OPTION, value)
        L.lilv_node_free(value)
        with quiet_stderr():  # lilv prints a line for every folder without a manifest.ttl
            L.lilv_world_load_all(self.ptr)
        self._nodes: dict[str, int] = {}
        self._infos: dict[str, PluginInfo] = {}
        self.plugins = L.lilv_world_get_all_plugins(self.ptr)

    def node(self, uri: str) -> int:
        """A URI node, kept for the world's lifetime (the handful of vocabulary URIs)."""
        n = self._nodes.get(uri)
        if n is None:
            n = self._nodes[uri] = lib().lilv_new_uri(self.ptr, uri.encode())
        return n

    def uris(self) -> list[str]:
        L = lib()
        out = []
        it = L.lilv_plugins_begin(self.plugins)
        while not L.lilv_plugins_is_end(self.plugins, it):
            out.append(L.lilv_node_as_uri(L.lilv_plugin_get_uri(L.lilv_plugins_get(self.plugins, it))).decode())
            it = L.lilv_plugins_next(self.plugins, it)
        return out

    def plugin(self, uri: str) -> PluginInfo | None:
        info = self._infos.get(uri)
        if info is None:
            L = lib()
            node = L.lilv_new_uri(self.ptr, uri.encode())
            ptr = L.lilv_plugins_get_by_uri(self.plugins, node)
            L.lilv_node_free(node)
            if not ptr:
                return None
            info = self._infos[uri] = self._describe(uri, ptr)
        return info

    def _describe(self, uri: str, plug: int) -> PluginInfo:
        L = lib()
        n = L.lilv_plugin_get_num_ports(plug)
        lo, hi, df = (ctypes.c_float * n)(), (ctypes.c_float * n)(), (ctypes.c_float * n)()
        L.lilv_plugin_get_port_ranges_float(plug, lo, hi, df)
        cls = {k: self.node(LV2 + c) for k, c in (("audio", "AudioPort"), ("control", "ControlPort"),
                                                   ("cv", "CVPort"), ("input", "InputPort"))}
        atom_port = self.node(ATOM + "AtomPort")
        prop = {k: self.node(LV2 + k) for k in ("integer", "toggled", "enumeration", "connectionOptional",
                                                "isSideChain")}
        group_pred, side_of = self.node(PG + "group"), self.node(PG + "sideChainOf")
        unit_pred = self.node(UNITS + "unit")
        ports = []
        for i in range(n):
            port = L.lilv_plugin_get_port_by_index(plug, i)
            kind = next((k for k in ("audio", "control", "cv") if L.lilv_port_is_a(plug, port, cls[k])),
                        "atom" if L.lilv_port_is_a(plug, port, atom_port) else "other")
            sym_node = L.lilv_port_get_symbol(plug, port)
            name_node = L.lilv_port_get_name(plug, port)
            p = Port(i, _s(sym_node), _s(name_node), kind, bool(L.lilv_port_is_a(plug, port, cls["input"])),
                     df[i], lo[i], hi[i])
            if name_node:
                L.lilv_node_free(name_node)
            p.integer = bool(L.lilv_port_has_property(plug, port, prop["integer"]))
            p.toggled = bool(L.lilv_port_has_property(plug, port, prop["toggled"]))
            p.enumeration = bool(L.lilv_port_has_property(plug, port, prop["enumeration"]))
            p.optional = bool(L.lilv_port_has_property(plug, port, prop["connectionOptional"]))
            p.sidechain = bool(L.lilv_port_has_property(plug, port, prop["isSideChain"]))
            group = L.lilv_port_get(plug, port, group_pred)
            if group:
                p.sidechain = p.sidechain or bool(L.lilv_world_ask(self.ptr, group, side_of, None))
                L.lilv_node_free(group)
            unit = L.lilv_port_get(plug, port, unit_pred)
            if unit:
                p.unit = L.lilv_node_as_uri(unit).decode().rpartition("#")[2] if _is_uri(unit) else ""
                L.lilv_node_free(unit)
            if kind == "control":
                sp = L.lilv_port_get_scale_points(plug, port)
                if sp:
                    it = L.lilv_scale_points_begin(sp)
                    while not L.lilv_scale_points_is_end(sp, it):
                        point = L.lilv_scale_points_get(sp, it)
                        p.points[_s(L.lilv_scale_point_get_label(point))] = float(
                            L.lilv_node_as_float(L.lilv_scale_point_get_value(point)))
                        it = L.lilv_scale_points_next(sp, it)
                    L.lilv_scale_points_free(sp)
            ports.append(p)
        name_node = L.lilv_plugin_get_name(plug)
        name = _s(name_node) or uri
        if name_node:
            L.lilv_node_free(name_node)
        author_node = L.lilv_plugin_get_author_name(plug)
        author = _s(author_node)
        if author_node:
            L.lilv_node_free(author_node)
        req = L.lilv_plugin_get_required_features(plug)
        required = self._uris_of(req)
        L.lilv_nodes_free(req)
        latency = int(L.lilv_plugin_get_latency_port_index(plug)) if L.lilv_plugin_has_latency(plug) else -1
        return PluginInfo(uri, name, author, _path(L.lilv_plugin_get_bundle_uri(plug)),
                          _path(L.lilv_plugin_get_library_uri(plug)), ports, required, latency,
                          self._presets(plug), plug)

    def _uris_of(self, nodes: int) -> list[str]:
        L = lib()
        out = []
        if not nodes:
            return out
        it = L.lilv_nodes_begin(nodes)
        while not L.lilv_nodes_is_end(nodes, it):
            out.append(L.lilv_node_as_uri(L.lilv_nodes_get(nodes, it)).decode())
            it = L.lilv_nodes_next(nodes, it)
        return out

    def _presets(self, plug: int) -> dict[str, str]:
        L = lib()
        related = L.lilv_plugin_get_related(plug, self.node(PSET + "Preset"))
        out = {}
        label_pred = self.node(RDFS + "label")
        for uri in self._uris_of(related):
            node = self.node(uri)
            L.lilv_world_load_resource(self.ptr, node)
            label = L.lilv_world_get(self.ptr, node, label_pred, None)
            out[uri] = _s(label) or uri.rpartition("#")[2]
            if label:
                L.lilv_node_free(label)
        if related:
            L.lilv_nodes_free(related)
        return out

    def preset_values(self, preset_uri: str, map_address: int) -> dict[str, float]:
        """The control port values a preset stores (by symbol); ``map_address``: an LV2_URID_Map*."""
        L = lib()
        state = L.lilv_state_new_from_world(self.ptr, map_address, self.node(preset_uri))
        if not state:
            raise MixcoreError(f"preset {preset_uri!r} cannot be read")
        try:
            return port_values(state)
        finally:
            L.lilv_state_free(state)

    def preset_state(self, preset_uri: str, map_address: int) -> int:
        """A preset as a LilvState (the caller frees it with ``lilv_state_free``)."""
        state = lib().lilv_state_new_from_world(self.ptr, map_address, self.node(preset_uri))
        if not state:
            raise MixcoreError(f"preset {preset_uri!r} cannot be read")
        return state


def port_values(state: int) -> dict[str, float]:
    """The control port values a LilvState holds, by symbol."""
    L = lib()
    from .._dsp.lv2host import urid

    values: dict[str, float] = {}
    kinds = {urid(ATOM + "Float"): ctypes.c_float, urid(ATOM + "Double"): ctypes.c_double,
             urid(ATOM + "Int"): ctypes.c_int32, urid(ATOM + "Long"): ctypes.c_int64,
             urid(ATOM + "Bool"): ctypes.c_int32}

    def take(symbol, _user, value, size, type_):
        kind = kinds.get(type_)
        if value and kind is not None and size == ctypes.sizeof(kind):
            values[symbol.decode()] = float(ctypes.cast(value, ctypes.POINTER(kind))[0])

    cb = SET_VALUE(take)
    L.lilv_state_emit_port_values(state, cb, None)
    return values


def _is_uri(node: int) -> bool:
    return bool(lib().lilv_node_as_uri(node))


_worlds: dict[tuple[str, ...], World] = {}


def world(folders: list[Path]) -> World:
    """The world over ``folders`` (one per distinct folder list, kept for the process's lifetime:
    instances of its plugins refer to it)."""
    key = tuple(str(f) for f in folders)
    w = _worlds.get(key)
    if w is None:
        w = _worlds[key] = World(list(folders))
    return w


__all__ = ["INSTALL_HINT", "available", "lib", "world", "World", "PluginInfo", "Port"]
