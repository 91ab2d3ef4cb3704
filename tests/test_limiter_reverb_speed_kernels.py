"""The vectorised limiter and reverb kernels (pyx/limiter.pxi, pyx/reverb.pxi) against plain references.

The references below are the kernels' algorithms written the straightforward way (numpy float32 for the
true-peak interpolator, Python floats sample by sample for everything else: the operations of the
scalar kernels these replaced, in the same order). The kernels must match them bit for bit -- the
vectorisation, the chunking, the skipped quiet groups and the van Herk sliding minimum change the
speed, never the output -- for mono, stereo and 3 channels, for any cut into blocks (0, 1, 5, 257,
4096 ... samples), and the AVX and baseline builds must give the same bits.
"""
from __future__ import annotations

import math
import platform

import numpy as np
import pytest
from helpers import cycle_blocks
from hypothesis import given, settings
from hypothesis import strategies as st

import mixcore
import mixcore.processors.limiter as limiter_mod
import mixcore.processors.reverb as reverb_mod
from mixcore._dsp import limiter as limiter_base
from mixcore._dsp import reverb as reverb_base
from mixcore._dsp.cpu import has_avx2
from mixcore.processors import ProcessSpec
from mixcore.processors.limiter import MARGIN_DB, TAPS

SR = 48000
BLOCKS = (0, 1, 5, 257, 4096)


def program(n: int, channels: int, seed: int, level: float = 1.0) -> np.ndarray:
    """Loud bursts, quiet stretches and a sine: the limiter acts, rests, and skips quiet groups."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    env = np.where((np.arange(n) // 600) % 4 == 1, 0.02, 1.0) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    tone = 0.6 * np.sin(2 * np.pi * 440 * t + np.arange(channels)[:, None])
    x = env * (tone + 0.5 * rng.standard_normal((channels, n)))
    return np.ascontiguousarray(level * x, dtype=np.float32)


def kernels(name: str) -> list:
    """The baseline build and, where the CPU has AVX2, the AVX2 build (which x86-64 always builds)."""
    mods = [{"limiter": limiter_base, "reverb": reverb_base}[name]]
    if platform.machine() in ("x86_64", "AMD64"):
        import importlib

        avx = importlib.import_module(f"mixcore._dsp.{name}_avx2")  # built on every x86-64
        if has_avx2():
            mods.append(avx)
    return mods


def run_blocks(proc, x: np.ndarray, sizes, sr: float = SR, max_block: int = 1) -> np.ndarray:
    """process() over consecutive blocks of the given sizes (cycled; 0-length blocks included)."""
    proc.prepare(ProcessSpec(float(sr), max(max(sizes), max_block), x.shape[0]))
    proc.reset()
    return cycle_blocks(x, sizes, lambda blk, _pos: proc.process(blk))


# -- limiter reference --------------------------------------------------------------------------

def ref_limiter(x: np.ndarray, ceiling_db: float, release_ms: float, lookahead_ms: float, sr: float = SR):
    """The true-peak limiter, whole signal at once: (output, min gain)."""
    ch, n = x.shape
    K = TAPS // 2
    D = max(1, int(round(lookahead_ms * 1e-3 * sr)))
    ceiling = 10.0 ** ((ceiling_db - MARGIN_DB) / 20.0)
    clip = 10.0 ** (ceiling_db / 20.0)
    a_rel = math.exp(-1.0 / (release_ms * 1e-3 * sr))
    fir = mixcore.Limiter._FIR
    w = np.concatenate([np.zeros((ch, TAPS), np.float32), x], axis=1)
    seg = np.zeros(n)
    for c in range(ch):
        ys = []
        for k in range(3):  # y_k(q) for q = -1 .. n-1, float32, taps in order from 0
            acc = np.zeros(n + 1, np.float32)
            for j in range(TAPS):
                acc = acc + fir[k, j] * w[c, TAPS - 1 - j:TAPS - 1 - j + n + 1]
            ys.append(np.abs(acc.astype(np.float64)))
        p0 = np.abs(w[c, K:K + n].astype(np.float64))
        p4 = np.abs(w[c, K + 1:K + 1 + n].astype(np.float64))
        p1, p2, p3, lo = ys[0][1:], ys[1][1:], ys[2][1:], ys[2][:-1]
        best = p4.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            for a0, p, a4 in ((lo, p0, p1), (p0, p1, p2), (p1, p2, p3), (p2, p3, p4)):
                curv = a0 - 2.0 * p + a4
                v = np.where(curv < -1e-12, p - (a0 - a4) * (a0 - a4) / (8.0 * curv), p)
                best = np.maximum(best, np.where((p >= a0) & (p >= a4), v, 0.0))
        seg = np.maximum(seg, best)
    # sequential part: sliding minimum by a monotonic deque, moving average, release, delay, clip
    L = D - 1 + K
    dline = np.zeros((ch, n + L), np.float32)
    dline[:, L:] = x
    r_hist: dict[int, float] = {}
    dq: list[tuple[int, float]] = []  # (index, r), increasing r
    hq = [1.0] * D
    hsum, env, gmin, seg_prev = float(D), 1.0, 1.0, 0.0
    y = np.zeros_like(x)
    for t in range(n):
        s_ = float(seg[t])
        tp = s_ if s_ > seg_prev else seg_prev
        seg_prev = s_
        m = t - K
        r = ceiling / tp if tp > ceiling else 1.0
        r_hist[m] = r
        while dq and dq[-1][1] >= r:
            dq.pop()
        dq.append((m, r))
        jj = m - D + 1
        while dq[0][0] < jj:
            dq.pop(0)
        h = dq[0][1]
        hsum = hsum + h - hq.pop(0)
        hq.append(h)
        s = hsum / D
        env = s if s < env else env + (s - env) * (1.0 - a_rel)
        gmin = min(gmin, env)
        for c in range(ch):
            v = float(dline[c, t]) * env
            v = clip if v > clip else (-clip if v < -clip else v)
            y[c, t] = v
    return y, gmin


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("lookahead", [5.0, 0.5, 1.3])
def test_limiter_equals_the_reference_bit_for_bit(channels, lookahead):
    x = program(6000, channels, seed=channels, level=1.6)
    ref, gmin = ref_limiter(x, -1.0, 30.0, lookahead)
    assert np.abs(ref - x).max() > 0.1  # the limiter acts
    for mod in kernels("limiter"):
        for sizes in [(6000,), (4096, 0, 1, 5, 257), (1,) * 7 + (300,)]:
            lim = mixcore.Limiter(ceiling_dbtp=-1.0, release_ms=30.0, lookahead_ms=lookahead)
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(limiter_mod, "process_limiter", mod.process_limiter)
                y = run_blocks(lim, x, sizes)
            np.testing.assert_array_equal(y, ref)
            assert lim._state[3] == gmin


def test_limiter_quiet_groups_are_skipped_without_changing_a_bit():
    """Quiet stretches just under the skip bound, and peaks just over the ceiling after them."""
    n = 8000
    t = np.arange(n) / SR
    x = np.stack([0.30 * np.sin(2 * np.pi * 997 * t), 0.33 * np.sin(2 * np.pi * 13001 * t)])
    x[:, 3000:3003] = 0.92
    x[1, 5000:5600] *= 3.0
    x = x.astype(np.float32)
    ref, _ = ref_limiter(x, -1.0, 100.0, 5.0)
    for mod in kernels("limiter"):
        for sizes in [(n,), (257, 5, 1)]:
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(limiter_mod, "process_limiter", mod.process_limiter)
                y = run_blocks(mixcore.Limiter(), x, sizes)
            np.testing.assert_array_equal(y, ref)


@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.sampled_from(BLOCKS + (2, 3, 64, 1000)), min_size=1, max_size=6).filter(any),
       channels=st.sampled_from([1, 2]), seed=st.integers(0, 3), ceiling=st.sampled_from([-1.0, -6.0, -0.1]))
def test_limiter_block_sizes_never_change_output_or_state(sizes, channels, seed, ceiling):
    x = program(5000, channels, seed=seed, level=1.3)
    whole = mixcore.Limiter(ceiling_dbtp=ceiling)
    a = run_blocks(whole, x, (5000,))
    cut = mixcore.Limiter(ceiling_dbtp=ceiling)
    b = run_blocks(cut, x, sizes, max_block=700)
    np.testing.assert_array_equal(a, b)
    for name in ("_state", "_hring", "_vh", "_dline", "_tail"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(cut, name))
    # and the next block continues the same way
    z = program(700, channels, seed=seed + 10, level=1.5)
    za, zb = z.copy(), z.copy()
    whole.process(za)
    cut.process(zb)
    np.testing.assert_array_equal(za, zb)


def test_limiter_automated_ceiling_drop_after_a_quiet_block():
    """Segments skipped as quiet in one call are never compared with a lower ceiling of the next."""
    x = program(3000, 2, seed=7, level=0.5)
    lanes = {"ceiling_dbtp": np.concatenate([np.full(1500, 0.0), np.full(1500, -12.0)]),
             "release_ms": np.full(3000, 50.0)}
    outs = []
    for sizes in [(3000,), (1499, 2, 1499), (1,)]:
        lim = mixcore.Limiter(ceiling_dbtp=0.0, release_ms=50.0)
        lim.prepare(ProcessSpec(float(SR), max(sizes), 2))
        lim.reset()
        y = x.copy()
        pos, k = 0, 0
        while pos < 3000:
            m = min(sizes[k % len(sizes)], 3000 - pos)
            blk = np.ascontiguousarray(y[:, pos:pos + m])
            lim.process_automated(blk, {name: v[pos:pos + m] for name, v in lanes.items()})
            y[:, pos:pos + m] = blk
            pos, k = pos + m, k + 1
        outs.append(y)
    for y in outs[1:]:
        np.testing.assert_array_equal(y, outs[0])
    assert np.abs(outs[0][:, -1000:]).max() <= 10 ** (-12 / 20)


# -- reverb reference ---------------------------------------------------------------------------

def ref_reverb(r: mixcore.Reverb, x: np.ndarray) -> np.ndarray:
    """The FDN sample by sample from the processor's prepared state (as pyx/reverb.pxi's docstring)."""
    guard = lambda v: 0.0 if abs(v) < 1e-30 else v  # noqa: E731
    ch, n = x.shape
    d = [int(v) for v in r._d]
    cur, tgt, step = (list(map(float, row)) for row in r._coef)
    stv = list(map(float, r._state))
    sp, ay, ls, lc = stv[0:8], stv[8:12], stv[12:16], stv[16:20]
    dcur, eta, deta, D0 = stv[20:24], stv[24:28], stv[28:32], [int(v) for v in stv[32:36]]
    G, B, dG, dB = cur[:8], cur[8:], step[:8], step[8:]
    apl, apg = [int(v) for v in r._apd], [float(v) for v in r._apg]
    apc = [1.0 - g * g for g in apg]
    size = r._lines.shape[0]
    lines = [[0.0] * size for _ in range(8)]
    aps = [[0.0] * r._ap.shape[1] for _ in range(5)]
    pd = [0.0] * r._pd.shape[0]
    prm = [float(v) for v in r._prm]
    depth, wet_gain, early = prm[4], prm[5], prm[6]
    ramp = [float(v) for v in r._mix.state]
    w, rem = int(r._counters[0]), int(r._counters[1])
    y = np.zeros_like(x)
    for i in range(n):
        u = 0.0
        for c in range(ch):
            u += float(x[c, i])
        u = u * (1.0 / ch)
        pd[w % len(pd)] = u
        u = pd[(w - r._pdd) % len(pd)]
        for k in range(4):
            v = guard(aps[k][(w - apl[k]) % len(aps[k])])
            aps[k][w % len(aps[k])] = u + apg[k] * v
            u = apc[k] * v - apg[k] * u
        v = guard(aps[4][(w - apl[4]) % len(aps[4])])
        aps[4][w % len(aps[4])] = u + apg[4] * v
        ur = apc[4] * v - apg[4] * u
        if rem > 0:
            rem -= 1
            if rem == 0:
                G, B = tgt[:8], tgt[8:]
            else:
                G = [g + e for g, e in zip(G, dG)]
                B = [b + e for b, e in zip(B, dB)]
        if w % 16 == 0:
            for m in range(4):
                ls[m] += prm[m] * lc[m]
                lc[m] -= prm[m] * ls[m]
                dnext = d[2 * m + 1] + depth * ls[m]
                D0[m] = int(0.5 * (dcur[m] + dnext) - 0.5)
                f = dcur[m] - D0[m]
                eta[m] = (1.0 - f) / (1.0 + f)
                f = dnext - D0[m]
                deta[m] = ((1.0 - f) / (1.0 + f) - eta[m]) * (1.0 / 16)
                dcur[m] = dnext
                ay[m] = guard(ay[m])
        rr = [0.0] * 8
        for k in range(0, 8, 2):
            rr[k] = lines[k][(w - d[k]) % size]
        for m in range(4):
            p = w - D0[m]
            yy = eta[m] * (lines[2 * m + 1][p % size] - ay[m]) + lines[2 * m + 1][(p - 1) % size]
            eta[m] += deta[m]
            ay[m] = yy
            rr[2 * m + 1] = yy
        s = [guard(G[k] * rr[k] + B[k] * sp[k]) for k in range(8)]
        sp = list(s)
        wl = ((rr[0] + rr[1]) + (rr[2] + rr[3])) + ((rr[4] + rr[5]) + (rr[6] + rr[7]))
        wr = ((rr[0] - rr[1]) + (rr[2] - rr[3])) + ((rr[4] - rr[5]) + (rr[6] - rr[7]))
        a0, a1, a2, a3 = s[0] + s[1], s[0] - s[1], s[2] + s[3], s[2] - s[3]
        b0, b1, b2, b3 = s[4] + s[5], s[4] - s[5], s[6] + s[7], s[6] - s[7]
        s = [a0 + a2, a1 + a3, a0 - a2, a1 - a3, b0 + b2, b1 + b3, b0 - b2, b1 - b3]
        for k in range(4):
            lines[k][w % size] = (s[k] + s[k + 4]) * 0.35355339059327373 + u
            lines[k + 4][w % size] = (s[k] - s[k + 4]) * 0.35355339059327373 + u
        wl = wet_gain * wl + early * u
        wr = wet_gain * wr + early * ur
        if ramp[3] > 0.0:  # smooth.pxd
            ramp[3] -= 1.0
            ramp[0] = ramp[1] if ramp[3] <= 0.0 else ramp[0] + ramp[2]
        mix = ramp[0]
        for c in range(ch):
            y[c, i] = float(x[c, i]) * (1.0 - mix) + (wr if c & 1 else wl) * mix
        w += 1
    return y


def fresh_reverb(sr: float, channels: int, block: int, **params) -> mixcore.Reverb:
    r = mixcore.Reverb(**params)
    r.prepare(ProcessSpec(float(sr), block, channels))
    r.reset()
    # glides under way: the loop coefficients (decay, damping) and the mix
    r.set_param("decay_s", 2.5)
    r.set_param("damping", 0.3)
    r.set_param("mix", 0.8)
    return r


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("sr,room,predelay", [(22050, 0.0, 0.0), (48000, 0.7, 2.0)])
def test_reverb_equals_the_reference_bit_for_bit(channels, sr, room, predelay):
    n = 5000
    x = program(n, channels, seed=11 + channels, level=0.7)
    x[:, 2500:] = 0.0
    params = dict(room_size=room, predelay_ms=predelay, decay_s=1.0, damping=0.6, mix=0.5)
    ref = ref_reverb(fresh_reverb(sr, channels, n, **params), x)
    assert np.abs(ref[:, 3000:]).max() > 1e-3  # the tail rings on
    for mod in kernels("reverb"):
        for sizes in [(n,), (4096, 0, 1, 5, 257)]:
            r = fresh_reverb(sr, channels, max(sizes), **params)
            out = x.copy()
            pos, k = 0, 0
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(reverb_mod, "process_reverb", mod.process_reverb)
                while pos < n:
                    m = min(sizes[k % len(sizes)], n - pos)
                    blk = np.ascontiguousarray(out[:, pos:pos + m])
                    r.process(blk)
                    out[:, pos:pos + m] = blk
                    pos, k = pos + m, k + 1
            np.testing.assert_array_equal(out, ref)


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.sampled_from(BLOCKS + (2, 3, 64, 1000)), min_size=1, max_size=6).filter(any),
       channels=st.sampled_from([1, 2]), room=st.sampled_from([0.0, 0.5, 1.0]),
       sr=st.sampled_from([8000, 22050, 48000, 96000]))
def test_reverb_block_sizes_never_change_output_or_state(sizes, channels, room, sr):
    x = program(6000, channels, seed=3, level=0.8)
    params = dict(room_size=room, decay_s=3.0, damping=0.4, predelay_ms=1.0, mix=0.6)
    whole = fresh_reverb(sr, channels, 6000, **params)
    cut = fresh_reverb(sr, channels, max(sizes), **params)
    a, b = x.copy(), x.copy()
    whole.process(a)
    pos, k = 0, 0
    while pos < 6000:
        m = min(sizes[k % len(sizes)], 6000 - pos)
        blk = np.ascontiguousarray(b[:, pos:pos + m])
        cut.process(blk)
        b[:, pos:pos + m] = blk
        pos, k = pos + m, k + 1
    np.testing.assert_array_equal(a, b)
    for name in ("_lines", "_state", "_coef", "_ap", "_pd", "_counters"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(cut, name))


def test_avx2_and_baseline_builds_give_the_same_bits():
    """Directly: both builds on the same state, a long stretch (R1-like settings), then their states."""
    mods_l, mods_r = kernels("limiter"), kernels("reverb")
    if platform.machine() in ("x86_64", "AMD64") and has_avx2():
        assert len(mods_l) == len(mods_r) == 2
    x = program(48000, 2, seed=5, level=1.4)
    outs = []
    for ml, mr in zip(mods_l, mods_r):
        lim = mixcore.Limiter(ceiling_dbtp=-1.0, release_ms=100.0, lookahead_ms=5.0)
        rev = mixcore.Reverb(room_size=0.7, damping=0.5, mix=1.0)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(limiter_mod, "process_limiter", ml.process_limiter)
            mp.setattr(reverb_mod, "process_reverb", mr.process_reverb)
            yl = run_blocks(lim, x, (16384,))
            yr = run_blocks(rev, x, (16384,))
        outs.append((yl, yr, lim._state.copy(), rev._lines.copy(), rev._state.copy()))
    for other in outs[1:]:
        for a, b in zip(outs[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("sr,lookahead", [(2000, 0.5), (4000, 0.5), (3000, 1.0), (192000, 20.0)])
def test_limiter_sliding_minimum_at_the_extreme_lookaheads(sr, lookahead):
    """Blocks of D = 1, 2, 3 and 3840 samples for the van Herk minimum, against the deque reference."""
    x = program(4000, 2, seed=1, level=1.5)
    ref, _ = ref_limiter(x, -3.0, 10.0, lookahead, sr)
    for sizes in [(4000,), (1,), (7, 300, 0)]:
        y = run_blocks(mixcore.Limiter(ceiling_dbtp=-3.0, release_ms=10.0, lookahead_ms=lookahead), x, sizes, sr=sr)
        np.testing.assert_array_equal(y, ref)
