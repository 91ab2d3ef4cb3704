"""Pick the widest build of a kernel this CPU runs.

Kernels across many lanes (``pyx/*bank*.pyx``) are built twice: the baseline (SSE2 on x86-64) and
``<name>_avx2`` with ``-mavx2`` (setup.py). Both compute the same IEEE operations per lane -- AVX2 only
widens the vectors, it adds no fused multiply-add -- so the choice changes speed, never bits.
``MIXCORE_SIMD=baseline`` forces the baseline build (for tests and comparisons).
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

from ._dsp.cpu import has_avx2


def use_avx2() -> bool:
    return os.environ.get("MIXCORE_SIMD", "") != "baseline" and has_avx2()


def kernel(name: str) -> ModuleType:
    """``mixcore._dsp.<name>_avx2`` where the CPU has AVX2 and it was built, else ``mixcore._dsp.<name>``."""
    if use_avx2():
        try:
            return importlib.import_module(f"mixcore._dsp.{name}_avx2")
        except ImportError:  # not built here (not x86-64)
            pass
    return importlib.import_module(f"mixcore._dsp.{name}")
