"""mixcore: mix and master audio from Python."""
__version__ = "0.1.0"

from typing import TYPE_CHECKING

from .errors import MixcoreError  # noqa: E402

if TYPE_CHECKING:  # imported on first use (importing mixcore does not import numpy: the CLI sets up first)
    from .processors import Chain, ProcessSpec, Processor

__all__ = ["MixcoreError", "Chain", "ProcessSpec", "Processor", "__version__"]


def __getattr__(name: str):
    # Processor classes (Compressor, EQ, ...) are looked up lazily in the registry
    # so that importing mixcore stays cheap and every registered type is exported.
    if name in ("Chain", "ProcessSpec", "Processor"):
        from . import processors

        return getattr(processors, name)
    from .processors.registry import processor_types

    for cls in processor_types().values():
        if cls.__name__ == name:
            return cls
    if name in ("Session", "load_session"):
        from . import session

        return getattr(session, name)
    if name in ("load_plugin",):
        from . import hosting

        return getattr(hosting, name)
    if name in ("analyze",):
        from . import metering

        return getattr(metering, name)
    raise AttributeError(f"module 'mixcore' has no attribute {name!r}")
