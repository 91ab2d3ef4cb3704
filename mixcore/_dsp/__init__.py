"""The compiled kernels (``pyx/*.pyx`` built into this folder by ``pip install`` or ``build_ext --inplace``).

Python run from a source checkout imports this folder, where the kernels exist only once built: the
installed build's kernels are used then, if mixcore was installed with ``pip install .``; without one,
one line says what to do instead of ``No module named 'mixcore._dsp.biquad'``.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import MixcoreError


class KernelsMissing(MixcoreError, ImportError):
    """The compiled kernels are not in this ``mixcore/_dsp`` folder (an unbuilt source checkout)."""


def _installed_kernels() -> str | None:
    """The kernels of the installed mixcore distribution (``pip install .``), when this folder is an
    unbuilt source checkout's: Python run from the checkout root (where the README's "Try it" leaves a
    user, beside ``mixcore-demo/``) imports the checkout's Python and the installed build's kernels, one
    and the same source. An editable install has no such folder (its kernels live in the checkout)."""
    from importlib.metadata import distributions

    here = Path(__file__).resolve().parent
    for dist in distributions(name="mixcore"):  # the checkout's own build metadata may come first
        try:
            folder = Path(str(dist.locate_file("mixcore/_dsp"))).resolve()
            if folder != here and any(folder.glob("cpu.*")):
                return str(folder)
        except (OSError, ValueError):
            continue
    return None


if importlib.util.find_spec(f"{__name__}.cpu") is None and (_found := _installed_kernels()) is not None:
    __path__.append(_found)  # noqa: F821  (the package's search path for its submodules)

if importlib.util.find_spec(f"{__name__}.cpu") is None:  # every build has it
    _here = Path(__file__).resolve().parent.parent
    raise KernelsMissing(
        f"the compiled kernels are missing from {_here} (a source checkout that was not built): "
        f"run Python from another folder to use the installed mixcore, or build this one with "
        f"'pip install -e .'")
