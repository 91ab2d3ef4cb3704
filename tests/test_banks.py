"""Banks (render/engine.py): the nodes of a layer run each chain position in one ``process_bank``
call. Banking is an optimisation only: the output must be the same bytes as node by node, for any
block size and thread count, with members that drop out of the bank (automation, a sidechain key,
a later start behind a latent processor)."""
from __future__ import annotations

import functools

import numpy as np
import pytest
from helpers import noise, write

from mixcore.graph import plan as plan_mod
from mixcore.render import engine as engine_mod
from mixcore.session import Session

SR = 48000
N = 40000
EQ = {"type": "eq", "bands": [
    {"kind": "highpass", "freq_hz": 40.0, "q": 0.7071},
    {"kind": "peak", "freq_hz": 200.0, "gain_db": -3.0, "q": 1.0},
    {"kind": "peak", "freq_hz": 2500.0, "gain_db": 2.0, "q": 0.7},
    {"kind": "peak", "freq_hz": 8000.0, "gain_db": 1.5, "q": 0.7}]}
COMP = {"type": "compressor", "threshold_db": -20.0, "ratio": 4.0, "attack_ms": 5.0, "release_ms": 100.0}


@pytest.fixture
def session(tmp_path):
    tracks = []
    for i in range(9):
        ch = 1 if i == 3 else 2
        write(tmp_path / f"t{i}.wav", noise(N - 500 * i, ch, seed=100 + i, level=0.2 + 0.05 * i))
        chain = [dict(EQ, id="eq"), dict(COMP, id="comp", threshold_db=-18.0 - i)]
        tracks.append({"name": f"t{i}", "source": f"t{i}.wav", "pan": (i - 4) / 5.0, "gain_db": -i / 2.0,
                       "output": ("drums" if i < 3 else "master"), "chain": chain,
                       "sends": [{"to": "verb", "level_db": -12.0}]})
    tracks[5]["chain"].insert(0, {"type": "test_latency", "samples": 300})  # starts later than the others
    tracks[6]["chain"] = tracks[6]["chain"][:1]                               # a shorter chain
    tracks[7]["chain"][1]["sidechain"] = "t0"                                 # keyed: runs alone
    return Session(base_dir=tmp_path, sample_rate=SR, tail_s=0.1, tracks=tracks, buses=[
        {"name": "drums", "chain": [dict(COMP, id="c")]},
        {"name": "verb", "chain": [dict(COMP, id="c"), {"type": "reverb"}]},
    ], automation=[
        {"target": "t2.comp.threshold_db", "points": [[0.0, -30.0], [0.6, -10.0]]},  # automated: alone
        {"target": "t4.eq.bands[1].gain_db", "points": [[0.0, 0.0], [0.8, 6.0]]},
    ])


def render(session, block, threads, banks, monkeypatch):
    with monkeypatch.context() as m:
        if not banks:
            m.setattr(engine_mod, "schedule", functools.partial(plan_mod.schedule, banks=False))
        return np.concatenate(list(session.stream(block, threads=threads)), axis=1)


@pytest.mark.parametrize("block,threads", [(512, 1), (4096, 1), (1000, 2), (16384, 2)])
def test_banked_render_is_bitidentical_to_node_by_node(session, block, threads, monkeypatch):
    ref = render(session, 4096, 1, False, monkeypatch)
    out = render(session, block, threads, True, monkeypatch)
    assert out.shape == ref.shape
    assert out.tobytes() == ref.tobytes()


def test_tracks_and_buses_form_banks(session):
    plan, lanes, _ = session.compile(4096)
    for threads, ways in ((1, 1), (2, 2)):
        eng = engine_mod.Engine(plan, lanes, threads=threads)
        try:
            banks = [item for layer in eng._active_layers for item in layer if isinstance(item, engine_mod.Bank)]
            names = sorted(st.plan.node.name for b in banks for st in b.members)
            # t2 (automated compressor), t4 (automated EQ) and t7 (sidechain key) run alone
            assert [n for n in names if n.startswith("t")] == ["t0", "t1", "t3", "t5", "t6", "t8"]
            assert len([b for b in banks if b.members[0].plan.node.kind == "track"]) == ways
        finally:
            eng.close()


def test_banks_cut_nothing_when_alone(session):
    plan, _lanes, _ = session.compile(4096)
    layers = plan_mod.schedule(plan, set(), 2, banks=False)
    assert all(not step.bank for layer in layers for step in layer)
    assert [list(step.nodes) for layer in layers for step in layer] == [[n] for layer in plan.layers for n in layer]


def _stepped(session, block, threads, banks, monkeypatch, changes):
    """Render block by block, setting parameters of banked processors between blocks (as live control
    does): ``changes[b]`` = [(node, chain index, param, value)] applied before block b."""
    with monkeypatch.context() as m:
        if not banks:
            m.setattr(engine_mod, "schedule", functools.partial(plan_mod.schedule, banks=False))
        plan, lanes, frames = session.compile(block)
        eng = engine_mod.Engine(plan, lanes, threads=threads)
        out = []
        try:
            eng.reset()
            total = frames + plan.total_latency
            for b, (e0, n) in enumerate(eng.blocks(total)):
                out.append(eng.output("master", n).copy())
                for node, k, param, value in changes.get(b + 1, ()):
                    plan.graph.nodes[node].processors[k].set_param(param, value)
        finally:
            eng.close()
        return np.concatenate(out, axis=1)


def test_parameters_changed_between_blocks_reach_the_banks(session, monkeypatch):
    # the prepared bank operations hold the addresses of derived values: a parameter change must
    # re-plan them (an EQ glide takes its member out of the bank until it ends, then it joins again)
    changes = {10: [("t0", 0, "bands[1].gain_db", 6.0), ("t1", 1, "threshold_db", -40.0)],
               20: [("t3", 1, "ratio", 10.0), ("drums", 0, "threshold_db", -30.0)],
               21: [("t0", 0, "bands[2].freq_hz", 900.0)]}
    ref = _stepped(session, 512, 1, False, monkeypatch, changes)
    out = _stepped(session, 512, 1, True, monkeypatch, changes)
    plain = _stepped(session, 512, 1, True, monkeypatch, {})
    assert out.tobytes() == ref.tobytes()
    assert out.tobytes() != plain.tobytes()  # the changes were heard



def test_a_change_outside_a_bank_does_not_plan_it_again(session, monkeypatch):
    # t2 runs alone (its compressor is automated); setting its makeup between blocks moves
    # Processor._epoch, but no bank member changed, so the banks keep their prepared operations
    plans = []
    real = engine_mod.Bank.plan

    def counting(self):
        plans.append(id(self))
        real(self)

    monkeypatch.setattr(engine_mod.Bank, "plan", counting)
    changes = {b: [("t2", 1, "makeup_db", float(b % 3))] for b in range(1, 40)}
    _stepped(session, 512, 1, True, monkeypatch, changes)
    assert len(plans) == len(set(plans)) > 0  # each bank planned once
