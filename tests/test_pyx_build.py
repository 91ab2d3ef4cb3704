"""How pyx/ is built (setup.py, MANIFEST.in): the kernels' C lives in real headers (pyx/include), every
module's C flags come from setup.py's one table, Cython's checks only from setup.py's directives (so
MIXCORE_CYTHON_DEBUG=1 turns them on everywhere), and an sdist carries everything a build needs."""
from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYX = ROOT / "pyx"
INCLUDE = PYX / "include"
SOURCES = sorted([*PYX.glob("*.pyx"), *PYX.glob("*.pxi"), *PYX.glob("*.pxd")])


def _setup_tables(monkeypatch, debug: bool) -> dict:
    """setup.py's module-level tables (setup() itself runs only as __main__)."""
    monkeypatch.setenv("MIXCORE_CYTHON_DEBUG", "1" if debug else "0")
    monkeypatch.delenv("MIXCORE_PYX", raising=False)
    return runpy.run_path(str(ROOT / "setup.py"), run_name="mixcore_setup_tables")


def test_no_c_in_python_strings():
    """C is in pyx/include/*.h, declared with ``cdef extern from "x.h"``: no ``cdef extern from *`` blocks."""
    headers = {p.name for p in INCLUDE.glob("*.h")}
    assert "mixcore_vec.h" in headers
    for src in SOURCES:
        text = src.read_text()
        assert "cdef extern from *" not in text, f"{src.name}: C in a string literal; move it to pyx/include"
        for name in re.findall(r'^cdef extern from "([^"]+)"', text, re.M):
            assert name in headers, f"{src.name}: {name} is not in pyx/include"


def test_headers_compile_on_their_own():
    """Every header is real C: it compiles alone (its own includes, include guard), baseline and AVX2."""
    cc = (sysconfig.get_config_var("CC") or "cc").split()
    for h in sorted(INCLUDE.glob("*.h")):
        text = h.read_text()
        guard = re.search(r"#ifndef (\w+)\n#define \1\n", text)
        assert guard and text.rstrip().endswith("#endif /* " + guard.group(1) + " */"), f"{h.name}: include guard"
        for extra in ([], ["-mavx2"]):
            r = subprocess.run([*cc, "-std=gnu11", "-fsyntax-only", "-Wall", "-Werror", "-Wno-unused-function",
                                *extra, "-I", str(INCLUDE), "-x", "c", str(h)], capture_output=True, text=True)
            assert r.returncode == 0, f"{h.name} {extra}: {r.stderr}"


def test_no_per_function_check_overrides_or_DEF():
    """Checks come from setup.py's directives only; constants are cdef enums or header macros (no DEF)."""
    for src in SOURCES:
        text = src.read_text()
        for pattern in (r"@cython\.(boundscheck|wraparound|initializedcheck|cdivision)\b",
                        r"with cython\.(boundscheck|wraparound|initializedcheck)\b",
                        r"^#\s*cython:.*(boundscheck|wraparound|initializedcheck)", r"^\s*DEF\s",
                        r"^#\s*distutils:"):
            hit = re.search(pattern, text, re.M)
            assert not hit, f"{src.name}: {hit.group(0)!r} (set it in setup.py's table or directives)"


def test_one_flag_table(monkeypatch):
    g = _setup_tables(monkeypatch, debug=False)
    flags, modules = g["FLAGS"], sorted(p.stem for p in PYX.glob("*.pyx"))
    bases = [m for m in modules if not m.endswith("_avx2")]
    assert sorted(flags) == bases, "setup.py FLAGS: one line per pyx module"
    for m in modules:
        f = g["_flags"](m)
        assert "-ffp-contract=off" in f and "-O3" in f, m
        assert not any(x.startswith(("-march", "-ffast-math", "-mfma", "-Ofast")) for x in f), m
        if m.endswith("_avx2"):
            assert f == g["_flags"](m.removesuffix("_avx2")) + ["-mavx2"], m
    ext = {e.name.rsplit(".", 1)[1]: e for e in g["extensions"]}
    assert str(INCLUDE.relative_to(ROOT)) in ext["eqbank"].include_dirs
    assert ext["eqbank"].extra_compile_args == g["_flags"]("eqbank")
    # a module is recompiled when a header it includes changes
    assert set(ext["compressor"].depends) == {"pyx/include/compressor_kernel.h", "pyx/include/mixcore_vec.h"}


@pytest.mark.parametrize("debug", [False, True])
def test_debug_switch_sets_every_check(monkeypatch, debug):
    g = _setup_tables(monkeypatch, debug)
    d = g["DIRECTIVES"]
    assert (d["boundscheck"], d["wraparound"], d["initializedcheck"]) == (debug, debug, debug)
    assert ("-O0" in g["_flags"]("mix")) == debug


def test_sdist_carries_the_kernel_sources(tmp_path):
    """An sdist holds every .pyx/.pxi/.pxd and header (a build from it compiles every kernel), not the generated C."""
    tree = tmp_path / "src"
    tree.mkdir()
    for name in ("setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(PYX, tree / "pyx", ignore=shutil.ignore_patterns("*.c", "*.html"))
    shutil.copytree(ROOT / "mixcore", tree / "mixcore", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    env = {**os.environ, "MIXCORE_PYX": "cpu", "MIXCORE_BUILD_JOBS": "1"}  # cythonize one tiny module only
    r = subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path / "dist")], cwd=tree, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (archive,) = (tmp_path / "dist").glob("*.tar.gz")
    with tarfile.open(archive) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    want = {str(p.relative_to(ROOT)) for p in [*SOURCES, *INCLUDE.glob("*.h")]}
    assert want <= names, sorted(want - names)
    assert not [n for n in names if n.startswith("pyx/") and n.endswith(".c")]
