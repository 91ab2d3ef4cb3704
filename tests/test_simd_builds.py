"""Kernels built twice (``pyx/<name>_avx2.pyx`` beside ``<name>.pyx``, see setup.py and
mixcore/simd.py): the AVX2 build is picked at run time and must give the same bits as the baseline."""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from mixcore import simd
from mixcore._dsp import cpu

PYX = Path(__file__).resolve().parent.parent / "pyx"


def test_every_avx2_twin_includes_the_same_kernel():
    twins = sorted(PYX.glob("*_avx2.pyx"))
    assert twins
    for twin in twins:
        base = PYX / twin.name.replace("_avx2", "")
        assert base.exists(), f"{twin.name} has no baseline twin"
        assert twin.read_text() == base.read_text(), f"{twin.name} differs from {base.name}"


def test_kernel_choice_follows_the_cpu_and_the_override(monkeypatch):
    want = "mixcore._dsp.mix_avx2" if cpu.has_avx2() else "mixcore._dsp.mix"
    assert simd.kernel("mix").__name__ == want
    monkeypatch.setenv("MIXCORE_SIMD", "baseline")
    assert simd.kernel("mix").__name__ == "mixcore._dsp.mix"


def test_mix_builds_agree():
    mods = [importlib.import_module("mixcore._dsp.mix")]
    if cpu.has_avx2():
        mods.append(importlib.import_module("mixcore._dsp.mix_avx2"))
    rng = np.random.default_rng(1)
    n = 5001
    srcs = [rng.standard_normal((int(rng.integers(1, 3)), n)).astype(np.float32) for _ in range(9)]
    gains = rng.uniform(0.0, 2.0, 9)
    gains[3] = 1.0
    inter = rng.standard_normal((n, 2)).astype(np.float32)
    outs = set()
    for m in mods:
        a = np.empty((2, n), np.float32)
        m.sum_into(a, srcs, gains)
        b = np.empty((2, n), np.float32)
        m.apply_gains(srcs[0], b, 0.3, 0.7)
        c = np.empty((2, n), np.float32)
        m.deinterleave(inter, c)
        outs.add(a.tobytes() + b.tobytes() + c.tobytes())
    assert len(outs) == 1


def test_avx2_dispatch_is_active_on_x86_64():
    """The AVX2-versus-baseline tests (here, test_compressor_bank, test_eq_bank, the limiter and reverb
    kernels) compare the baseline with itself where AVX2 does not run. On x86-64 (CI) it must run: every
    twin is built, importable, and the one ``kernel()`` picks. (``MIXCORE_SIMD=baseline`` fails this too,
    on purpose: that run does not test the AVX2 builds.)"""
    import os
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return  # no AVX2 twins on other architectures: the baseline is the only build there
    assert cpu.has_avx2(), "this x86-64 CPU reports no AVX2: the AVX2 builds go untested"
    assert os.environ.get("MIXCORE_SIMD", "") != "baseline", "MIXCORE_SIMD=baseline: the AVX2 builds go untested"
    assert simd.use_avx2()
    twins = sorted(p.stem.removesuffix("_avx2") for p in PYX.glob("*_avx2.pyx"))
    assert twins
    for name in twins:
        importlib.import_module(f"mixcore._dsp.{name}_avx2")
        assert simd.kernel(name).__name__ == f"mixcore._dsp.{name}_avx2"
