#!/usr/bin/env python3
"""Build mixcore's test plugins (VST3, JUCE from Debian) into plugins/build/, cached by source hash.

    python plugins/build.py          # prints one line per plugin: <name> <bundle path>

Needs `apt-get install -y juce-modules-source cmake g++`. An unchanged source tree is not rebuilt.
Exits non-zero with a one-line reason when the toolchain is missing or the build fails.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"
STAMP = BUILD / ".source-hash"
PLUGINS = {"MixcoreTestEffect": "MixcoreTestEffect", "MixcoreCrash": "MixcoreCrash",
           "MixcoreSynth": "MixcoreSynth"}  # CMake target -> product name


def cmake() -> str:
    # Debian's cmake matches Debian's JUCE config; a pip-installed cmake may be newer than it expects.
    for candidate in ("/usr/bin/cmake", shutil.which("cmake")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise SystemExit("plugins/build.py: cmake not found (apt-get install -y juce-modules-source cmake g++)")


def source_hash() -> str:
    h = hashlib.sha256()
    for f in sorted([HERE / "CMakeLists.txt", *(HERE / "src").rglob("*")]):
        if f.is_file():
            h.update(str(f.relative_to(HERE)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def bundles() -> dict[str, Path]:
    return {name: BUILD / f"{target}_artefacts" / "Release" / "VST3" / f"{name}.vst3" for target, name in PLUGINS.items()}


def build(verbose: bool = False) -> dict[str, Path]:
    """Build if needed; return {product name: bundle path}."""
    wanted = source_hash()
    found = bundles()
    if STAMP.exists() and STAMP.read_text() == wanted and all(p.exists() for p in found.values()):
        return found
    if not Path("/usr/lib/x86_64-linux-gnu/cmake").exists() and not any(Path("/usr/lib").rglob("JUCEConfig.cmake")):
        raise SystemExit("plugins/build.py: JUCE not found (apt-get install -y juce-modules-source cmake g++)")
    exe = cmake()
    out = None if verbose else subprocess.PIPE
    for cmd in ([exe, "-S", str(HERE), "-B", str(BUILD), "-DCMAKE_BUILD_TYPE=Release"],
                [exe, "--build", str(BUILD), "--config", "Release", "-j", str(os.cpu_count() or 2)]):
        r = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            tail = (r.stdout or "").strip().splitlines()[-15:]
            raise SystemExit("plugins/build.py: build failed: " + " ".join(cmd) + "\n" + "\n".join(tail))
    missing = [str(p) for p in found.values() if not p.exists()]
    if missing:
        raise SystemExit(f"plugins/build.py: build finished but bundles are missing: {', '.join(missing)}")
    STAMP.write_text(wanted)
    return found


if __name__ == "__main__":
    for name, path in build(verbose="-v" in sys.argv).items():
        print(name, path)
