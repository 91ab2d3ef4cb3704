"""The compiled kernels (``pyx/*.pyx`` built into this folder by ``pip install`` or ``build_ext --inplace``).

Python run from a source checkout imports this folder, where the kernels exist only once built: say so in
one line instead of ``No module named 'mixcore._dsp.biquad'``.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import MixcoreError


class KernelsMissing(MixcoreError, ImportError):
    """The compiled kernels are not in this ``mixcore/_dsp`` folder (an unbuilt source checkout)."""


if importlib.util.find_spec(f"{__name__}.cpu") is None:  # every build has it
    _here = Path(__file__).resolve().parent.parent
    raise KernelsMissing(
        f"the compiled kernels are missing from {_here} (a source checkout that was not built): "
        f"run Python from another folder to use the installed mixcore, or build this one with "
        f"'pip install -e .'")
