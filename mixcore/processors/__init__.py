"""Native processors: one Cython kernel (``pyx/<name>.pyx``) plus one thin class each."""
from .base import ProcessSpec, Processor, process_whole
from .chain import Chain
from .registry import processor_types, register

__all__ = ["ProcessSpec", "Processor", "process_whole", "Chain", "processor_types", "register"]
