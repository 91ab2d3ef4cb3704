#!/usr/bin/env python3
"""Build mixcore's own VST3 plugins (JUCE from Debian) into ``plugins/build/``, cached by source hash.

    python3 plugins/build.py           # one line per plugin: <name> <bundle path>
    python3 plugins/build.py --json    # {"<name>": "<bundle path>", ...}
    python3 plugins/build.py -v        # show the compiler's output while building

The plugins are one CMake project (``plugins/CMakeLists.txt``), so JUCE is configured once. The
sources, this script and the toolchain it found are hashed; when the hash matches the one stored
with the last successful build and every bundle exists, nothing is rebuilt (about 10 ms). A build
from scratch takes about three minutes on two cores.

Needs ``apt-get install -y juce-modules-source cmake g++``. Debian's JUCE 7.0.5 CMake package was
written for CMake 3, so Debian's own ``/usr/bin/cmake`` (3.25) is preferred; any other CMake 4.x
on PATH is given ``-DCMAKE_POLICY_VERSION_MINIMUM=3.5``. When CMake, a C++ compiler or JUCE is
missing, or the build fails, the script exits with status 1 and a message saying what to do.
Concurrent runs (e.g. parallel test processes) wait for each other on a lock file.
"""
from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"
STAMP = BUILD / ".source-hash"
LOCK = BUILD / ".lock"
#: CMake target -> product name (the bundle is <product name>.vst3)
PLUGINS = {"MixcoreTestEffect": "MixcoreTestEffect", "MixcoreCrash": "MixcoreCrash",
           "MixcoreSynth": "MixcoreSynth"}
INSTALL_HINT = "apt-get update && apt-get install -y juce-modules-source cmake g++"


class BuildError(Exception):
    """The toolchain is missing or the build failed; the message says which and what to do."""


def find_cmake() -> tuple[str, list[str]]:
    """The CMake to use and the extra arguments it needs for Debian's JUCE config."""
    candidates = [c for c in ("/usr/bin/cmake", shutil.which("cmake")) if c and os.access(c, os.X_OK)]
    if not candidates:
        raise BuildError(f"cmake not found; install the toolchain: {INSTALL_HINT}")
    exe = candidates[0]
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"version (\d+)\.", out)
    major = int(m.group(1)) if m else 3
    # JUCE 7.0.5's config was written for CMake 3; CMake >= 4 wants the old policies asked for explicitly.
    return exe, (["-DCMAKE_POLICY_VERSION_MINIMUM=3.5"] if major >= 4 else [])


def find_juce() -> Path:
    """The folder holding JUCEConfig.cmake (JUCE_DIR wins when set)."""
    if os.environ.get("JUCE_DIR"):
        d = Path(os.environ["JUCE_DIR"])
        if (d / "JUCEConfig.cmake").exists():
            return d
        raise BuildError(f"JUCE_DIR={d} holds no JUCEConfig.cmake")
    for pattern in ("/usr/lib/*/cmake/JUCE-*/JUCEConfig.cmake", "/usr/lib/cmake/JUCE-*/JUCEConfig.cmake",
                    "/usr/local/lib/cmake/JUCE-*/JUCEConfig.cmake", "/usr/local/lib/*/cmake/JUCE-*/JUCEConfig.cmake"):
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[-1]).parent
    raise BuildError(f"JUCE not found (no JUCEConfig.cmake); install the toolchain: {INSTALL_HINT}")


def find_compiler() -> str:
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        path = shutil.which(name) if name else None
        if path:
            return path
    raise BuildError(f"no C++ compiler found; install the toolchain: {INSTALL_HINT}")


def source_hash(toolchain: str) -> str:
    """sha256 over the CMake project, the plugin sources, this script and the toolchain's identity."""
    h = hashlib.sha256(toolchain.encode())
    for f in sorted([HERE / "CMakeLists.txt", Path(__file__).resolve(), *(HERE / "src").rglob("*")]):
        if f.is_file():
            h.update(str(f.relative_to(HERE)).encode() + b"\0")
            h.update(f.read_bytes())
    return h.hexdigest()


def bundles() -> dict[str, Path]:
    """Where each plugin's bundle is (whether or not it has been built yet)."""
    return {name: BUILD / f"{target}_artefacts" / "Release" / "VST3" / f"{name}.vst3"
            for target, name in PLUGINS.items()}


def _run(cmd: list[str], verbose: bool) -> None:
    r = subprocess.run(cmd, stdout=None if verbose else subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       check=False)
    if r.returncode != 0:
        tail = "\n".join((r.stdout or "").strip().splitlines()[-25:])
        raise BuildError(f"build failed: {' '.join(cmd)} (exit {r.returncode})" + (f"\n{tail}" if tail else ""))


def build(verbose: bool = False, jobs: int | None = None) -> dict[str, Path]:
    """Build the plugins if their sources changed; return {product name: bundle path}."""
    cmake, extra = find_cmake()
    juce = find_juce()
    cxx = find_compiler()
    wanted = source_hash(f"{cmake}|{juce}|{cxx}")
    found = bundles()
    BUILD.mkdir(exist_ok=True)
    LOCK.touch(exist_ok=True)
    with open(LOCK) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building: wait for it, then re-check
        if STAMP.exists() and STAMP.read_text().strip() == wanted and all(p.is_dir() for p in found.values()):
            return found
        cache = BUILD / "CMakeCache.txt"
        if cache.exists() and f"CMAKE_COMMAND:INTERNAL={cmake}\n" not in cache.read_text(errors="replace"):
            for item in BUILD.iterdir():  # configured by another CMake: start clean rather than fail on the cache
                if item != LOCK:
                    shutil.rmtree(item) if item.is_dir() else item.unlink()
        STAMP.unlink(missing_ok=True)
        t0 = time.monotonic()
        print(f"plugins/build.py: building {', '.join(PLUGINS)} (JUCE from {juce}); this takes a few minutes",
              file=sys.stderr, flush=True)
        jobs = jobs or max(2, os.cpu_count() or 2)
        _run([cmake, "-S", str(HERE), "-B", str(BUILD), "-DCMAKE_BUILD_TYPE=Release", f"-DJUCE_DIR={juce}",
              f"-DCMAKE_CXX_COMPILER={cxx}", *extra], verbose)
        _run([cmake, "--build", str(BUILD), "--config", "Release", "-j", str(jobs)], verbose)
        missing = [str(p) for p in found.values() if not p.is_dir()]
        if missing:
            raise BuildError(f"build finished but these bundles are missing: {', '.join(missing)}")
        STAMP.write_text(wanted + "\n")
        print(f"plugins/build.py: built in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
        return found


def main(argv: list[str]) -> int:
    try:
        found = build(verbose="-v" in argv)
    except BuildError as e:
        print(f"plugins/build.py: {e}", file=sys.stderr)
        return 1
    if "--json" in argv:
        print(json.dumps({k: str(v) for k, v in found.items()}))
    else:
        for name, path in found.items():
            print(name, path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
