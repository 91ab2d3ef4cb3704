"""pedalboard's own effects as session entries: ``{ type = "pedalboard", name = "Chorus", params = {...} }``.

Every pedalboard built-in whose output does not depend on the block size can be used: Chorus,
Phaser, Distortion, Convolution, Reverb, Delay, Compressor, the filters, ... Parameters are the
built-in's constructor arguments, by their pedalboard names (``rate_hz``, ``drive_db``); pedalboard
checks their ranges. A file argument (Convolution's ``impulse_response_filename``) is relative to
the session file and must be a regular audio file that pedalboard reads (WAV, AIFF or Ogg Vorbis,
by its extension and its contents): anything else is refused, since pedalboard would silently
ignore it. Enumerations (LadderFilter's ``mode``) are given by member name (``"LPF24"``).

PitchShift is refused, with the reason, while pedalboard's own streaming bug is present
(spotify/pedalboard#415: it returns silence when fed block by block, as a render feeds it); a check
at first use lets it in as soon as a fixed pedalboard is installed.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ..errors import MixcoreError, cut, did_you_mean, short
from ..params import check_written
from .pedalboard_adapter import HostedParam, PedalboardProcessor, constructor_args, one_line
from .vst3 import check_keys, check_tail, resolve

PEDALBOARD_KEYS = ("type", "id", "name", "params", "tail_s")
#: pedalboard classes that are not effects of their own.
_NOT_EFFECTS = {"Plugin", "Pedalboard", "Chain", "Mix", "PluginContainer", "ExternalPlugin", "VST3Plugin",
                "AudioUnitPlugin", "IIRFilter"}
#: Built-ins left out, and why (their delay depends on how the audio is cut into blocks).
EXCLUDED = {
    "MP3Compressor": "its codec delay depends on the block size",
    "GSMFullRateCompressor": "its codec delay depends on the block size",
    "Resample": "its resampler delay depends on the block size",
}
#: Built-ins that pedalboard cannot run block by block in some versions: allowed once they stream.
BROKEN_STREAMING = {
    "PitchShift": "pedalboard's PitchShift returns silence when its input comes block by block "
                  "(spotify/pedalboard#415, pedalboard {version}); use a VST3 pitch shifter",
}
_streams: dict[str, bool] = {}
#: Audio files a built-in's file argument may name: what pedalboard's Convolution (JUCE's readers)
#: reads, by extension (JUCE picks the reader by it); anything else it ignores without a word (FLAC,
#: 64-bit float, A-law, ADPCM in pedalboard 0.9.26). Values: libsndfile's (format, subtypes).
_PCM = ("PCM_16", "PCM_24", "PCM_32", "FLOAT")
AUDIO_FILES = {".wav": ("WAV", "WAVEX"), ".wave": ("WAV", "WAVEX"), ".aif": ("AIFF",), ".aiff": ("AIFF",),
               ".aifc": ("AIFF",), ".ogg": ("OGG",)}
AUDIO_SUBTYPES = {"WAV": (*_PCM, "PCM_U8"), "WAVEX": (*_PCM, "PCM_U8"), "AIFF": (*_PCM, "PCM_S8"), "OGG": ("VORBIS",)}


def check_audio_file(path: Path, key: str) -> None:
    """Refuse anything but a regular audio file pedalboard reads (one line naming ``key``).

    A FIFO or a device is refused before it is opened; the contents are read only by libsndfile.
    """
    import soundfile as sf

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise MixcoreError(f"{key}: file not found: {path}") from None
    except OSError as e:
        raise MixcoreError(f"{key}: cannot read {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise MixcoreError(f"{key}: {path} is not a regular file")
    formats = AUDIO_FILES.get(path.suffix.lower())
    if formats is None:
        raise MixcoreError(f"{key}: {path} is not an audio file pedalboard reads (expected .wav, .aiff or .ogg)")
    try:
        info = sf.info(str(path))
    except Exception:
        raise MixcoreError(f"{key}: {path} is not an audio file (not readable as {formats[0]})") from None
    if info.format not in formats:
        raise MixcoreError(f"{key}: {path} holds {info.format}, not {formats[0]} as its name says")
    if info.subtype not in AUDIO_SUBTYPES[info.format]:
        raise MixcoreError(f"{key}: {path}: pedalboard cannot read {info.format} {info.subtype} audio; expected "
                           f"{', '.join(AUDIO_SUBTYPES[info.format])}")
    if info.frames < 1:
        raise MixcoreError(f"{key}: {path} holds no audio")


def streams(name: str) -> bool:
    """Whether this pedalboard's ``name`` gives sound when fed block by block (checked once per process)."""
    if name not in _streams:
        import numpy as np
        import pedalboard

        plugin = getattr(pedalboard, name)()
        t = np.arange(4 * 48000) / 48000
        x = np.stack([0.5 * np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)
        peak = 0.0
        for i in range(0, x.shape[1], 4096):
            out = plugin.process(np.ascontiguousarray(x[:, i:i + 4096]), 48000, buffer_size=4096, reset=False)
            peak = max(peak, float(np.abs(out).max()) if out.size else 0.0)
        _streams[name] = peak > 0.1
    return _streams[name]


def builtin_names() -> list[str]:
    """The pedalboard built-ins usable as ``type = "pedalboard"`` entries."""
    import pedalboard

    names = []
    for n in dir(pedalboard):
        c = getattr(pedalboard, n)
        if (isinstance(c, type) and issubclass(c, pedalboard.Plugin) and not n.startswith("_")
                and n not in _NOT_EFFECTS and n not in EXCLUDED):
            names.append(n)
    return sorted(names)


def _enum_of(cls: type, param: str) -> Any:
    for name, type_text, _ in constructor_args(cls):
        if name == param:
            return getattr(cls, type_text.rsplit(".", 1)[-1])
    raise KeyError(param)


def signature_params(cls: type) -> dict[str, tuple[HostedParam, bool]]:
    """{name: (descriptor, required)} from the constructor of a built-in, without making one."""
    out = {}
    for name, type_text, has_default in constructor_args(cls):
        if type_text == "bool":
            p = HostedParam(name, default=None, lo=0.0, hi=1.0, kind="bool")
        elif type_text == "float":
            p = HostedParam(name, default=None)
        elif type_text.startswith("Optional[float]"):
            p = HostedParam(name, default=None, kind="optional_float")
        elif "str" in type_text:
            p = HostedParam(name, default=None, kind="path")
        else:  # an enumeration such as pedalboard_native.LadderFilter.Mode
            enum = getattr(cls, type_text.rsplit(".", 1)[-1], None)
            members = tuple(getattr(enum, "__members__", {}))
            p = HostedParam(name, default=None, choices=members or None, kind="enum" if members else "any")
        out[name] = (p, not has_default)
    return out


def make_builtin(entry: dict, base_dir: Path, where: str) -> PedalboardProcessor:
    """Build a ``pedalboard`` entry: the built-in is constructed with its ``params``."""
    import pedalboard

    check_keys(entry, PEDALBOARD_KEYS, where)
    name = entry.get("name")
    if name in EXCLUDED:
        raise MixcoreError(f"{where}.name: {short(name)} cannot be used in a session: {EXCLUDED[name]}")
    if name in BROKEN_STREAMING and not streams(name):
        reason = BROKEN_STREAMING[name].format(version=pedalboard.__version__)
        raise MixcoreError(f"{where}.name: {short(name)} cannot be used in a session: {reason}")
    names = builtin_names()
    if not isinstance(name, str) or name not in names:
        raise MixcoreError(f"{where}.name: {short(name)} is not a pedalboard effect{did_you_mean(str(name), names)}; "
                           f"expected one of {', '.join(names)}")
    ident = entry.get("id", "pedalboard")
    if not isinstance(ident, str) or not ident:
        raise MixcoreError(f"{where}.id: expected a non-empty string, got {short(ident)}")
    cls = getattr(pedalboard, name)
    sig = signature_params(cls)
    params = entry.get("params") or {}
    if not isinstance(params, dict):
        raise MixcoreError(f"{where}.params: expected a table of parameter values, got {short(params)}")
    kwargs: dict[str, Any] = {}
    paths: dict[str, str] = {}
    for key, value in params.items():
        if key not in sig:
            hint = did_you_mean(str(key), sig)
            raise MixcoreError(f"{where}.params.{cut(key)}: unknown parameter of {short(name)}"
                               + (hint if hint else f"; expected one of {', '.join(sig)}"))
        p = sig[key][0]
        check_written(p, value, f"{where}.params.")
        v = p.validate(value, f"{where}.params.")
        if p.kind == "path":
            path = resolve(base_dir, v, f"{where}.params.{key}")
            from ..render.sources import check_regular

            check_regular(path, f"{where}.params.{cut(key)}")  # not a FIFO or device
            check_audio_file(path, f"{where}.params.{cut(key)}")
            paths[key] = v
            v = str(path)
        elif p.kind == "enum":
            v = getattr(_enum_of(cls, key), v)
        kwargs[key] = v
    missing = [k for k, (_, required) in sig.items() if required and k not in kwargs]
    if missing:
        key = missing[0]
        raise MixcoreError(f"{where}.params.{cut(key)}: required by {short(name)} (e.g. params = {{ {key} = ... }})")
    # required and constructor-only arguments go to the constructor; the rest are set one by one,
    # so that pedalboard's range errors can be pinned on their key
    settable = {k for k in sig if isinstance(getattr(cls, k, None), property) and getattr(cls, k).fset is not None}
    first = {k: v for k, v in kwargs.items() if sig[k][1] or k not in settable}
    try:
        plugin = cls(**first)
    except Exception as e:
        bad = next(iter(first)) if len(first) == 1 else None
        raise MixcoreError(f"{where}.params{'.' + bad if bad else ''}: rejected by {short(name)}: {one_line(e)}") from None
    for key, v in kwargs.items():
        if key not in first:
            try:
                setattr(plugin, key, v)
            except Exception as e:
                raise MixcoreError(f"{where}.params.{cut(key)}: rejected by {short(name)}: {one_line(e)}") from None
    proc = PedalboardProcessor(plugin, id=ident)
    object.__setattr__(proc, "where", where)
    object.__setattr__(proc, "tail_s", check_tail(entry, where))
    object.__setattr__(proc, "paths", paths)
    return proc


def builtin_state(proc: PedalboardProcessor) -> dict[str, Any]:
    """The entry that rebuilds a built-in as it is now (its current parameter values)."""
    entry: dict[str, Any] = {"type": "pedalboard", "name": type(proc.plugin).__name__}
    if proc.id != "pedalboard":
        entry["id"] = proc.id
    params: dict[str, Any] = {}
    paths = getattr(proc, "paths", {})
    current = proc.parameters
    for p in proc.PARAMS:
        if p.kind == "path":
            if p.name in paths:
                params[p.name] = paths[p.name]
            elif isinstance(current.get(p.name), str):
                params[p.name] = current[p.name]
            continue
        if current.get(p.name) is not None:
            params[p.name] = current[p.name]
    if params:
        entry["params"] = params
    if proc.tail_s:
        entry["tail_s"] = proc.tail_s
    return entry
