"""Build script: compiles every ``pyx/*.pyx`` into ``mixcore._dsp.<name>``.

Optimisation is on (-O3) and portable: no -ffast-math, no -march=native, so
renders are bit-identical across machines of one architecture.
Every module's C flags are in one table, ``FLAGS`` below. A module named ``*_avx2.pyx`` is the same
kernel as its baseline twin, built with the twin's flags plus ``-mavx2`` (x86-64 only; elsewhere it is
not built): mixcore picks it at run time when the CPU has AVX2 (``mixcore._dsp.cpu``). AVX2 adds wider
vectors, not FMA, so both give the same bits.
The kernels' hand-written C is in ``pyx/include/*.h`` (on the include path; a module is recompiled
when a header it includes changes).
Cython's checks come from the directives here only (no per-function overrides in pyx/): set
``MIXCORE_CYTHON_DEBUG=1`` to turn on bounds/wraparound/initialisation checks everywhere (and -O0 -g).

Cython and the C compiler run on every core (``MIXCORE_BUILD_JOBS=N`` to use N), also under
``pip install .``, where setuptools has no ``-j`` option to pass. ``pip install -v .`` shows the
progress (pip hides a build's output otherwise).
"""
import os
import platform
import re
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("MIXCORE_CYTHON_DEBUG", "0") == "1"
HERE = Path(__file__).parent
X86_64 = platform.machine().lower() in ("x86_64", "amd64")
JOBS = max(1, int(os.environ.get("MIXCORE_BUILD_JOBS") or os.cpu_count() or 1))


# The C flags of every module, one line each, in one place (a module missing here gets DEFAULT).
# Every module also gets OPT (-O0 -g with MIXCORE_CYTHON_DEBUG=1); a *_avx2 twin gets its baseline's
# line plus -mavx2. No -ffast-math, no -march=native, no -mfma: bit-identical renders on every machine
# of one architecture. -ffp-contract=off everywhere: no compiler fuses a multiply-add in one build and
# not in another (nothing is built with FMA, so today it changes no instruction; it keeps that true).
# -fno-trapping-math (VEC) for the vector kernels: without it GCC assumes a compare may trap and will
# not turn a loop's selects into vector blends; it changes no value (docs/PERF-R1.md).
DEFAULT = ["-ffp-contract=off"]
VEC = ["-fno-trapping-math", "-ffp-contract=off"]
FLAGS: dict[str, list[str]] = {
    "biquad": VEC,
    "compressor": VEC,
    "coeffs": DEFAULT,
    "cpu": DEFAULT,
    "crashguard": DEFAULT,
    "deesser": DEFAULT,
    "delay": DEFAULT,
    "dither": DEFAULT,
    "eqbank": VEC,
    "gain": DEFAULT,
    "gate": DEFAULT,
    "limiter": VEC,
    "loudness": DEFAULT,
    "lv2host": DEFAULT,
    "mix": DEFAULT,
    "reverb": VEC,
    "truepeak": DEFAULT,
    "width": DEFAULT,
}
OPT = ["-O0", "-g"] if DEBUG else ["-O3", "-fno-math-errno"]
INCLUDE = HERE / "pyx" / "include"


def _flags(stem: str) -> list[str]:
    twin = stem.endswith("_avx2")
    return FLAGS.get(stem.removesuffix("_avx2"), DEFAULT) + OPT + (["-mavx2"] if twin else [])


def _headers(source: Path, seen: set[Path] | None = None) -> set[Path]:
    """The pyx/include headers a module's C includes (through its .pxi files and the headers themselves)."""
    seen = set() if seen is None else seen
    for name in re.findall(r'^\s*(?:include|cdef extern from|#include)\s+"([^"]+)"', source.read_text(), re.M):
        for path in (source.parent / name, INCLUDE / name):
            if path.exists() and path not in seen:
                seen.add(path)
                if path.suffix in (".pxi", ".h"):
                    _headers(path, seen)
                break
    return {p for p in seen if p.suffix == ".h"}


extensions = [
    Extension(
        f"mixcore._dsp.{pyx.stem}",
        [str(pyx.relative_to(HERE))],
        include_dirs=[np.get_include(), "pyx", "pyx/include"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=_flags(pyx.stem),
        depends=sorted(str(h.relative_to(HERE)) for h in _headers(pyx)),
    )
    for pyx in sorted((HERE / "pyx").glob("*.pyx"))
    if X86_64 or not pyx.stem.endswith("_avx2")
    # MIXCORE_PYX=a,b builds only those modules (quick rebuilds while developing)
    if not os.environ.get("MIXCORE_PYX") or pyx.stem in os.environ["MIXCORE_PYX"].split(",")
]

# Cython's directives, for every module: pyx/ sets none per function or file (the checks are on
# everywhere with MIXCORE_CYTHON_DEBUG=1, off everywhere otherwise).
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

# The generated C depends on DEBUG (bounds checks compiled in or not) but cythonize compares only
# timestamps: a module whose last generation was in the other mode is regenerated (stamp per module).
STAMPS = HERE / "build" / "cython-mode"
MODE = "debug" if DEBUG else "release"


def _stale(ext: Extension) -> bool:
    stamp = STAMPS / ext.name
    return not stamp.exists() or stamp.read_text() != MODE


def _cythonize(exts: list[Extension]) -> list:
    """Generate the C of every module, JOBS at a time; a module last generated in the other mode is forced."""
    out = []
    for force in (True, False):
        group = [ext for ext in exts if _stale(ext) == force]
        if not group:
            continue
        print(f"mixcore: cythonizing {len(group)} modules ({JOBS} at a time)", flush=True)
        out += cythonize(
            group,
            force=force,
            nthreads=JOBS if len(group) > 1 else 0,
            compiler_directives=DIRECTIVES,
            include_path=["pyx"],
        )
    for ext in exts:
        stamp = STAMPS / ext.name
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(MODE)
    return out


class ParallelBuildExt(build_ext):
    """build_ext compiling JOBS extensions at once unless ``-j`` says otherwise (pip passes no -j)."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if not self.parallel:
            self.parallel = JOBS

    def build_extension(self, ext: Extension) -> None:
        print(f"mixcore: compiling {ext.name}", flush=True)
        super().build_extension(ext)


if __name__ == "__main__":  # setuptools runs this file as __main__; tests read the tables above with runpy
    setup(
        ext_modules=_cythonize(extensions),
        cmdclass={"build_ext": ParallelBuildExt},
        packages=["mixcore", "mixcore._dsp"] + [
            f"mixcore.{p.name}" for p in (HERE / "mixcore").iterdir()
            if p.is_dir() and (p / "__init__.py").exists() and p.name != "_dsp"
        ],
        package_data={"mixcore": ["py.typed", "presets/*.toml"]},
    )
