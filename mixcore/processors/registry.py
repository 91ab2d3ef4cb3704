"""Session ``type`` name -> processor class. Processors register themselves here.

The session builder looks types up here; the router never creates processors.
"""
from __future__ import annotations

from .base import Processor

_REGISTRY: dict[str, type[Processor]] = {}


def register(cls: type[Processor]) -> type[Processor]:
    """Class decorator: make ``cls`` available as ``type = cls.type_name``."""
    _REGISTRY[cls.type_name] = cls
    return cls


def processor_types() -> dict[str, type[Processor]]:
    from . import _all  # noqa: F401  (imports every processor module)

    return dict(_REGISTRY)
