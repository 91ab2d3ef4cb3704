"""Channel layouts and their BS.1770-4 weights; the channel mask of a WAV file.

BS.1770-4 weighs each channel by its position: G = 1.41 (+1.5 dB) for a loudspeaker at an azimuth
between 60 and 120 degrees (either side) and an elevation below 30 degrees, 1.0 for every other
position, and leaves the LFE out (G = 0). ``POSITIONS`` places every channel name, ``LAYOUTS``
names the usual layouts in WAV / SMPTE channel order, ``BY_COUNT`` is what a channel count alone
is taken to mean, and ``layout_from_mask`` reads a WAVE_FORMAT_EXTENSIBLE channel mask.
"""
from __future__ import annotations

import struct
from pathlib import Path

# --- layouts (BS.1770-4 section 2.3 and Table 3: the position rule) ------------------------------------

#: (azimuth, elevation) in degrees of every channel name; None for the LFE, which is not measured
POSITIONS: dict[str, tuple[float, float] | None] = {
    "M": (0.0, 0.0), "L": (30.0, 0.0), "R": (-30.0, 0.0), "C": (0.0, 0.0), "LFE": None,
    "Ls": (110.0, 0.0), "Rs": (-110.0, 0.0),           # surrounds of 4.0 / 5.x (ITU-R BS.775: 100-120)
    "Lss": (90.0, 0.0), "Rss": (-90.0, 0.0),           # side surrounds of 7.x
    "Lrs": (150.0, 0.0), "Rrs": (-150.0, 0.0),         # rear surrounds of 7.x
    "Ltf": (45.0, 45.0), "Rtf": (-45.0, 45.0),         # top front
    "Ltr": (135.0, 45.0), "Rtr": (-135.0, 45.0),       # top rear
}

#: named layouts, channels in WAV / SMPTE order
LAYOUTS: dict[str, tuple[str, ...]] = {
    "mono": ("M",), "stereo": ("L", "R"), "3.0": ("L", "R", "C"), "4.0": ("L", "R", "Ls", "Rs"),
    "5.0": ("L", "R", "C", "Ls", "Rs"), "5.1": ("L", "R", "C", "LFE", "Ls", "Rs"),
    "7.1": ("L", "R", "C", "LFE", "Lrs", "Rrs", "Lss", "Rss"),
    "7.1.4": ("L", "R", "C", "LFE", "Lrs", "Rrs", "Lss", "Rss", "Ltf", "Rtf", "Ltr", "Rtr"),
}

#: the layout assumed from the channel count alone (no channel mask, no ``--layout``)
BY_COUNT = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 8: "7.1", 12: "7.1.4"}

#: WAVE_FORMAT_EXTENSIBLE dwChannelMask bits, in bit order (= channel order in the file)
_MASK_BITS = ("L", "R", "C", "LFE", "BL", "BR", "FLC", "FRC", "BC", "SL", "SR", "TC", "TFL", "TFC", "TFR",
              "TBL", "TBC", "TBR")
_MASK_NAMES = {"TFL": "Ltf", "TFR": "Rtf", "TBL": "Ltr", "TBR": "Rtr", "SL": "Lss", "SR": "Rss"}


def weight(name: str) -> float:
    """G of one channel: 1.41 for azimuth 60-120 degrees (either side) and elevation below 30 degrees,
    0 for the LFE, 1.0 otherwise (BS.1770-4)."""
    pos = POSITIONS[name]
    if pos is None:
        return 0.0
    az, el = abs(pos[0]), abs(pos[1])
    return 1.41 if 60.0 <= az <= 120.0 and el < 30.0 else 1.0


def parse_layout(layout: str, channels: int | None = None) -> tuple[str, ...]:
    """A layout name (``mono``, ``stereo``, ``5.1``, ``7.1``, ``7.1.4``, ...) or comma-separated channel
    names (``L,R,C,LFE,Ls,Rs``) -> channel names; ValueError naming the problem."""
    text = layout.strip()
    if text in LAYOUTS:
        names = LAYOUTS[text]
    else:
        names = tuple(n.strip() for n in text.split(","))
        bad = [n for n in names if n not in POSITIONS]
        if bad:
            raise ValueError(f"layout {layout!r}: not one of {', '.join(LAYOUTS)} nor a comma-separated list of "
                             f"channel names ({', '.join(POSITIONS)})")
    if channels is not None and len(names) != channels:
        raise ValueError(f"layout {layout!r} has {len(names)} channels, the audio {channels}")
    return names


def layout_from_mask(mask: int, channels: int) -> tuple[str, ...] | None:
    """Channel names from a WAVE_FORMAT_EXTENSIBLE channel mask, or None when the mask does not
    describe ``channels`` known speakers. Back left/right are the surrounds (110 degrees) when the
    mask has no side channels (5.1 written with BL/BR), and the rear surrounds when it has."""
    bits = [_MASK_BITS[i] for i in range(len(_MASK_BITS)) if mask >> i & 1]
    if len(bits) != channels or mask >> len(_MASK_BITS):
        return None
    sides = "SL" in bits or "SR" in bits
    back = {"BL": "Lrs" if sides else "Ls", "BR": "Rrs" if sides else "Rs"}
    names = tuple(back.get(b) or _MASK_NAMES.get(b, b) for b in bits)
    if channels == 1 and names == ("C",):
        return ("M",)
    return names if all(n in POSITIONS for n in names) else None


def weights(names) -> tuple[float, ...]:
    """G of every channel of a layout."""
    return tuple(weight(n) for n in names)


def resolve(channels: int, layout: str | tuple[str, ...] | list[str] | None = None,
            mask: int | None = None) -> tuple[str, ...]:
    """The channel names of audio with ``channels`` channels: ``layout`` when given (a name, a
    comma-separated list or a sequence of names), else the WAV channel ``mask`` when it describes
    them, else ``BY_COUNT``; ValueError when none applies."""
    if layout is not None:
        return parse_layout(layout if isinstance(layout, str) else ",".join(layout), channels)
    if mask is not None:
        names = layout_from_mask(mask, channels)
        if names is not None:
            return names
    if channels in BY_COUNT:
        return LAYOUTS[BY_COUNT[channels]]
    raise ValueError(f"{channels} channels: no layout is known for {channels} channels (1-6, 8 = 7.1, "
                     f"12 = 7.1.4); name the channels with --layout (for example L,R,C,LFE,Ls,Rs)")


def wav_channel_mask(path: str | Path) -> int | None:
    """dwChannelMask of a WAVE_FORMAT_EXTENSIBLE file (RIFF/RF64 WAVE), or None (other formats,
    plain PCM headers, a zero mask, unreadable headers)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
                return None
            for _ in range(64):   # the fmt chunk comes before the data, after a few others at most
                hdr = f.read(8)
                if len(hdr) < 8:
                    return None
                cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
                if cid == b"fmt ":
                    fmt = f.read(size)
                    if len(fmt) >= 24 and struct.unpack("<H", fmt[:2])[0] == 0xFFFE:
                        mask = struct.unpack("<I", fmt[20:24])[0]
                        return mask or None
                    return None
                f.seek(size + (size & 1), 1)
    except OSError:
        return None
    return None
