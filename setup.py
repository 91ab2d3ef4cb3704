"""Build script: compiles every ``pyx/*.pyx`` into ``mixcore._dsp.<name>``.

Optimisation is on (-O3) and portable: no -ffast-math, no -march=native, so
renders are bit-identical across machines of one architecture.
A module named ``*_avx2.pyx`` is the same kernel as its baseline twin built with ``-mavx2`` (x86-64
only; elsewhere it is not built): mixcore picks it at run time when the CPU has AVX2
(``mixcore._dsp.cpu``). AVX2 adds wider vectors, not FMA, so both give the same bits.
Set ``MIXCORE_CYTHON_DEBUG=1`` to turn on bounds/wraparound/initialisation checks.
"""
import os
import platform
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("MIXCORE_CYTHON_DEBUG", "0") == "1"
HERE = Path(__file__).parent
X86_64 = platform.machine().lower() in ("x86_64", "amd64")


def _flags(stem: str) -> list[str]:
    base = ["-O0", "-g"] if DEBUG else ["-O3", "-fno-math-errno"]
    return base + (["-mavx2"] if stem.endswith("_avx2") else [])


extensions = [
    Extension(
        f"mixcore._dsp.{pyx.stem}",
        [str(pyx.relative_to(HERE))],
        include_dirs=[np.get_include(), "pyx"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=_flags(pyx.stem),
    )
    for pyx in sorted((HERE / "pyx").glob("*.pyx"))
    if X86_64 or not pyx.stem.endswith("_avx2")
    # MIXCORE_PYX=a,b builds only those modules (quick rebuilds while developing)
    if not os.environ.get("MIXCORE_PYX") or pyx.stem in os.environ["MIXCORE_PYX"].split(",")
]

# The generated C depends on DEBUG (bounds checks compiled in or not) but cythonize compares only
# timestamps: a module whose last generation was in the other mode is regenerated (stamp per module).
STAMPS = HERE / "build" / "cython-mode"
MODE = "debug" if DEBUG else "release"


def _cythonize(ext: Extension) -> list:
    stamp = STAMPS / ext.name
    force = not stamp.exists() or stamp.read_text() != MODE
    out = cythonize(
        [ext],
        force=force,
        compiler_directives={
            "language_level": 3,
            "boundscheck": DEBUG,
            "wraparound": DEBUG,
            "initializedcheck": DEBUG,
            "cdivision": True,
            "embedsignature": True,
        },
        include_path=["pyx"],
    )
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(MODE)
    return out


setup(
    ext_modules=[m for ext in extensions for m in _cythonize(ext)],
    packages=["mixcore", "mixcore._dsp"] + [
        f"mixcore.{p.name}" for p in (HERE / "mixcore").iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name != "_dsp"
    ],
    package_data={"mixcore": ["py.typed", "presets/*.toml"]},
)
