"""Project outcomes and project starts (:mod:`sim.processes.projects`): the outcomes' kernel
against its pure-Python twin draw for draw, the resolution's booking against the Python it
replaced, and the durations drawn at a project's start."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.kernels.consortia import _consortia_view
from sim.processes.projects import (
    OUTCOME,
    PARAMS,
    complete_projects,
    resolve_projects,
    spend_private_rd,
    store_projects,
)
from sim.state.codes import BENCHMARKING, N_TASKS, RESEARCH_CENTRE, UNIVERSITY
from tests import reference as ref
from tests.worlds import (
    actors_of,
    copy_args,
    effort_matrix,
    make_world,
    projects_of,
    rng_state,
    run_both,
)

SEEDS = [0, 1, 2, 3, 7, 42, 2024, 99991]
OUT_FIELDS = (("out_done", "slot"), ("out_success", "success"), ("out_spinoff", "spinoff"),
              ("out_innovations", "innovations"))


def params_of(args: dict) -> np.ndarray:
    """The projects' record from the flat arguments (durations 0: not drawn here)."""
    rec = np.zeros(1, PARAMS.dtype)
    for name in PARAMS.names:
        rec[0][name] = args.get(name, 0)
    return rec


def inputs_of(args: dict):
    """The projects' and actors' tables, the clusters' view and the outcome rows."""
    effort = np.zeros((len(args["cl_benchmark"]), N_TASKS))
    effort[:, BENCHMARKING] = args["cl_benchmark"]
    return (projects_of(args), actors_of(args), effort,
            np.zeros(args["p_active"].shape[0], OUTCOME))


def call_complete(args: dict) -> int:
    """``complete_projects`` on the flat arguments of its twin (the outcome rows written back
    into ``out_*``)."""
    projects, actors, cl, out = inputs_of(args)
    k = complete_projects(args["step"], projects.view, actors.view, cl, params_of(args),
                          args["rng"], np.uint64(args["key"]), out)
    projects.check()
    actors.check()
    for name, field in OUT_FIELDS:
        args[name][:k] = out[field][:k]
    return k


def projects_args(w: dict, *, step: int = 30, n_slots: int | None = None,
                  width: int | None = None, **over) -> dict:
    """``complete_projects`` as ``sim.processes.projects`` calls it, as the twin's flat
    arguments."""
    g = w["g"]
    n, C = w["n"], w["C"]
    P = int(g.integers(20, 80)) if n_slots is None else n_slots
    W = int(g.integers(4, 11)) if width is None else width
    active = g.random(P) < 0.75
    end = np.where(g.random(P) < 0.55, step, step + g.integers(-2, 4, P)).astype(np.int32)
    members = np.full((P, W), -1, np.int32)
    size = np.zeros(P, np.int16)
    for p in np.flatnonzero(active):
        k = int(g.integers(2, W + 1))
        members[p, :k] = g.choice(n, size=k, replace=False)
        size[p] = k
    # an inactive slot that "ends" now must be ignored
    end[np.flatnonzero(~active)[:3]] = step
    atype = w["atype"]
    has_rd = np.array([bool(np.isin(atype[members[p, : size[p]]],
                                    (UNIVERSITY, RESEARCH_CENTRE)).any()) for p in range(P)])
    funded = g.random(P) < 0.35
    start = (end - g.integers(1, 12, P)).astype(np.int32)  # two members' projects may overlap
    fund = np.where(funded[:, None] & (g.random((P, 3)) < 0.6), g.uniform(1e4, 1e6, (P, 3)), 0.0)
    p_cluster = np.where(g.random(P) < 0.7, g.integers(0, C, P), -1).astype(np.int16)
    effort = effort_matrix(g, C)
    # make some members' tie rows full so new partners replace the weakest
    for j in g.choice(n, size=n // 5, replace=False):
        empty = w["tie_partner"][j] < 0
        k = int(empty.sum())
        taken = set(w["tie_partner"][j].tolist()) | {int(j)}
        fresh = [x for x in g.permutation(n).tolist() if x not in taken][:k]
        w["tie_partner"][j, empty] = fresh
        w["tie_trust"][j, empty] = g.random(k).astype(np.float32)
    args = dict(
        step=step, p_active=active, p_end=end, p_members=members, p_size=size,
        p_match=g.uniform(0.0, 2.0, P).astype(np.float32), p_has_rd=has_rd,
        p_foreign=g.choice([0, 0, 0, 1, 2], P).astype(np.int8), p_cluster=p_cluster,
        p_fund_rd=fund[:, 0].copy(), p_fund_training=fund[:, 1].copy(),
        p_fund_investment=fund[:, 2].copy(),
        p_rd_private=np.where(g.random(P) < 0.8, g.uniform(0.0, 2e6, P), 0.0),
        alive=w["alive"], atype=atype, load=w["load"],
        pending_quality=g.uniform(0.0, 0.1, len(w["alive"])),
        pending_efficiency=g.uniform(0.0, 0.1, len(w["alive"])),
        foreign_partners=g.integers(0, 3, len(w["alive"])).astype(np.int16),
        exporter=w["exporter"], knowledge=w["knowledge"], capability=w["capability"],
        innovations=w["innovations"], tie_partner=w["tie_partner"], tie_trust=w["tie_trust"],
        cl_benchmark=effort[:, 4],
        success_base=float(g.uniform(-1.0, 0.5)), success_match=1.0, success_research=0.3,
        success_benchmark=0.5, success_funded=0.4, productivity_gain=0.02, training_gain=0.01,
        investment_gain=0.02, innovation_prob=0.35, export_gain=0.2, learning=0.15,
        spinoff_prob=0.15, spinoff_prob_research=0.5, trust_gain=0.1, trust_loss=0.05,
        quality_gain=0.05, grant_ref=1e6, rng=rng_state(n + 4000),
        key=int(g.integers(0, 2**63)), p_start=start,
        draw_id=np.where(g.random(len(w["alive"])) < 0.8,
                         g.integers(0, 2**62, len(w["alive"])), -1).astype(np.int64),
        export_clock=g.exponential(1.0, len(w["alive"])),
        projects_done=g.integers(0, 4, len(w["alive"])).astype(np.int16),
        projects_won=np.zeros(len(w["alive"]), np.int16),
        out_done=np.full(P, -7, np.int32), out_success=np.zeros(P, np.bool_),
        out_spinoff=np.ones(P, np.bool_), out_innovations=np.full(P, -7, np.int64),
    )
    args.update(over)
    return args


def check_projects_invariants(k: int, args: dict, before: dict) -> None:
    step = args["step"]
    due = np.flatnonzero(before["p_active"] & (before["p_end"] == step))
    assert args["out_done"][:k].tolist() == due.tolist()
    load = before["load"].copy()
    for p in due:
        for j in before["p_members"][p, : before["p_size"][p]]:
            if load[j] > 0:
                load[j] -= 1
    assert np.array_equal(args["load"], load)
    assert (args["load"] >= 0).all()
    assert int(args["out_innovations"][:k].sum()) == int(
        (args["innovations"] - before["innovations"]).sum())
    assert not args["out_spinoff"][:k][~args["out_success"][:k]].any()
    norms = np.linalg.norm(args["knowledge"].astype(np.float64), axis=1)
    assert np.all((np.abs(norms - 1.0) < 1e-5) | (norms == 0.0))
    assert args["tie_trust"].min() >= 0.0 and args["tie_trust"].max() <= 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_complete_projects(seed):
    args = projects_args(make_world(seed))
    before = copy_args(args)
    k, out, _ = run_both(call_complete, ref.complete_projects, args)
    assert k > 0
    check_projects_invariants(k, out, before)


def test_complete_projects_exercises_the_branches():
    """Across the seeds the compared runs include successes and failures, dead members, funded
    projects, foreign partners, innovations, export clocks brought forward and spin-offs of both kinds."""
    seen = dict(success=0, failure=0, dead=0, funded=0, foreign=0, innov=0, export=0,
                spin_rd=0, spin=0, tie_added=0)
    for seed in SEEDS:
        a = projects_args(make_world(seed))
        b = copy_args(a)
        k = call_complete(a)
        done, ok, spin = a["out_done"][:k], a["out_success"][:k], a["out_spinoff"][:k]
        seen["success"] += int(ok.sum())
        seen["failure"] += int((~ok).sum())
        for p in done:
            team = b["p_members"][p, : b["p_size"][p]]
            seen["dead"] += int((~b["alive"][team]).sum())
        seen["funded"] += int(((b["p_fund_rd"][done] > 0) | (b["p_fund_training"][done] > 0)
                               | (b["p_fund_investment"][done] > 0)).sum())
        seen["foreign"] += int((b["p_foreign"][done][ok] > 0).sum())
        seen["innov"] += int(a["out_innovations"][:k].sum())
        seen["export"] += int((a["export_clock"] < b["export_clock"]).sum())
        seen["spin_rd"] += int((spin & b["p_has_rd"][done]).sum())
        seen["spin"] += int((spin & ~b["p_has_rd"][done]).sum())
        seen["tie_added"] += int((a["tie_partner"] != b["tie_partner"]).sum())
    assert all(v > 0 for v in seen.values()), seen


def test_complete_projects_all_members_dead_and_nothing_due():
    for seed in SEEDS[:3]:
        w = make_world(seed)
        w["alive"][:] = False
        args = projects_args(w, success_base=3.0)
        before = copy_args(args)
        k, out, _ = run_both(call_complete, ref.complete_projects, args)
        check_projects_invariants(k, out, before)
        assert np.array_equal(out["knowledge"], before["knowledge"])
        args = projects_args(make_world(seed))
        args["p_end"] = args["p_end"] + 100
        k, out, _ = run_both(call_complete, ref.complete_projects, args)
        assert k == 0 and out["rng"].tolist() == args["rng"].tolist()


@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(60, 300), n_slots=st.integers(1, 120),
       width=st.integers(2, 12), dims=st.integers(1, 6),
       success_base=st.floats(-4.0, 4.0, allow_nan=False))
def test_complete_projects_hypothesis(seed, n, n_slots, width, dims, success_base):
    w = make_world(seed, n=n, dims=dims)
    args = projects_args(w, n_slots=n_slots, width=width, success_base=success_base)
    before = copy_args(args)
    k, out, _ = run_both(call_complete, ref.complete_projects, args)
    check_projects_invariants(k, out, before)


# ------------------------------------------------------------------------------- booking
@pytest.mark.parametrize("seed", range(12))
def test_resolve_projects_is_complete_projects_then_the_booking(seed):
    """``resolve_projects`` = ``complete_projects``, the tallies, the spin-offs' parents and
    the slots' release, as ``sim.processes.projects`` did them in Python."""
    args = projects_args(make_world(seed), step=30)
    P = args["p_active"].shape[0]
    n_free = int(np.random.default_rng(seed).integers(0, 5))
    free = np.full(P + n_free + 5, -9, np.int32)
    a1, a2 = copy_args(args), copy_args(args)
    # before: the kernel, then Python
    k = call_complete(a1)
    done, success, spin = a1["out_done"][:k], a1["out_success"][:k], a1["out_spinoff"][:k]
    spin_slots = done[spin]
    leads, parents = a1["p_members"][spin_slots, 0], a1["p_cluster"][spin_slots]
    free1 = free.copy()
    free1[n_free: n_free + k] = done
    a1["p_active"][done] = False
    a1["p_members"][done] = -1
    # now: one call
    a2["p_free"] = free.copy()
    projects, actors, cl, out = inputs_of(a2)
    got = resolve_projects(30, projects.view, n_free, actors.view, cl, params_of(a2),
                           a2["rng"], np.uint64(a2["key"]), out)
    assert got == (k, int(success.sum()), int(a1["out_innovations"][:k].sum()), len(leads))
    assert np.array_equal(out["lead"][: len(leads)], leads)
    assert np.array_equal(out["parent"][: len(leads)], parents)
    assert np.array_equal(free1, a2["p_free"])
    for name in args:
        v1, v2 = a1[name], a2[name]
        if isinstance(v1, np.ndarray) and not name.startswith("out_"):
            assert np.array_equal(v1, v2, equal_nan=v1.dtype.kind == "f"), name
    assert k > 0


def test_resolve_projects_with_nothing_due_changes_nothing():
    args = projects_args(make_world(3), step=30)
    args["p_end"] = args["p_end"] + 100
    args["p_free"] = np.zeros(5, np.int32)
    before = copy_args(args)
    projects, actors, cl, out = inputs_of(args)
    got = resolve_projects(30, projects.view, 2, actors.view, cl, params_of(args), args["rng"],
                           np.uint64(args["key"]), out)
    assert got == (0, 0, 0, 0)
    for name, v in before.items():
        if isinstance(v, np.ndarray) and not name.startswith("out_"):
            assert np.array_equal(v, args[name], equal_nan=v.dtype.kind == "f"), name


def test_store_projects_durations():
    """Each project's duration is uniform in duration_min .. duration_max, one draw per project
    in row order (the stream advances by exactly that); the members are padded."""
    k, width, cap = 4_000, 6, 4_100
    slots = np.arange(k, dtype=np.int32)
    cons = _consortia_view(np.zeros((k, width), np.int32), np.full(k, 2, np.int16),
                           np.zeros(k, np.float32), np.zeros(k, np.int32),
                           np.full(k, 2, np.int8), np.zeros(k, np.bool_),
                           np.zeros(k, np.bool_), np.zeros(k, np.bool_))
    p = projects_of({"p_active": np.zeros(cap, np.bool_),
                     "p_members": np.zeros((cap, 8), np.int32)})
    rec = np.zeros(1, PARAMS.dtype)
    rec[0]["duration_min"], rec[0]["duration_max"] = 4, 12
    rec[0]["own_rd"] = 40_000.0
    s = rng_state(5)
    r = ref.Xoshiro(s)
    store_projects(p.view, slots, cons, np.arange(k), np.zeros(k, np.int16),
                   np.zeros(k, np.int16), 0, 10, rec, s, np.zeros(1, np.int8))
    t = p.table
    duration = t.end[:k] - t.start[:k]
    assert duration.tolist() == [4 + r.randbelow(9) for _ in range(k)]
    assert [int(x) for x in s] == r.state()
    counts = np.bincount(duration, minlength=13)[4:]
    assert counts.min() > 0.8 * k / 9 and counts.max() < 1.2 * k / 9
    assert (t.members[:k, width:] == -1).all() and t.active[:k].all()
    # an unfunded partnership's own R&D budget: own_rd per company (two SMEs) and year
    assert np.array_equal(t.rd_private[:k], 40_000.0 * 2 * duration / 4.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_spend_private_rd_against_its_reference(seed):
    """The quarter's own R&D money, compiled against its pure-Python twin: projects under way,
    starting, ending and inactive; companies and institutions, dead and alive; funded and
    unfunded; each living company's cumulative spending and the two totals."""
    g = np.random.default_rng(seed)
    n, P, step = 60, 40, 12
    atype = g.integers(0, 5, n).astype(np.int8)
    alive = g.random(n) < 0.85
    size = g.integers(1, 7, P).astype(np.int16)
    members = np.full((P, 8), -1, np.int32)
    for q in range(P):
        members[q, : size[q]] = g.choice(n, size=size[q], replace=False)
    start = g.integers(step - 10, step + 2, P).astype(np.int32)
    end = (start + g.integers(1, 12, P)).astype(np.int32)
    args = dict(p_active=g.random(P) < 0.9, p_start=start, p_end=end, p_members=members,
                p_size=size, p_rd_private=np.where(g.random(P) < 0.9, g.uniform(0, 1e6, P), 0.0),
                p_fund_rd=np.where(g.random(P) < 0.4, g.uniform(1e5, 1e6, P), 0.0))
    spent = g.uniform(0, 1e5, n)
    want_spent = spent.copy()
    want = ref.spend_private_rd(step, *args.values(), alive, atype, want_spent)
    p = projects_of(args)
    a = actors_of({"alive": alive, "atype": atype, "rd_private": spent})
    got = spend_private_rd(step, p.view, a.view)
    assert np.allclose(got, want, rtol=1e-12, atol=0.0) and got[0] > got[1] > 0.0
    assert np.allclose(spent, want_spent, rtol=1e-12, atol=0.0)
    p.check()
    a.check()


def test_a_project_spends_its_own_rd_budget_in_full():
    """Metamorphic, over a project's life: quarter by quarter, a project whose companies all
    live spends exactly its ``rd_private``, nothing before its start or from its end on."""
    members = np.full((1, 4), -1, np.int32)
    members[0, :3] = (0, 1, 2)  # two companies and a research centre
    args = dict(p_active=np.ones(1, np.bool_), p_start=np.array([5], np.int32),
                p_end=np.array([12], np.int32), p_members=members,
                p_size=np.array([3], np.int16), p_rd_private=np.array([700_000.0]),
                p_fund_rd=np.array([0.0]))
    p = projects_of(args)
    spent = np.zeros(3)
    a = actors_of({"alive": np.ones(3, np.bool_), "atype": np.array([0, 1, 3], np.int8),
                   "rd_private": spent})
    by_quarter = [spend_private_rd(t, p.view, a.view)[0] for t in range(20)]
    assert by_quarter[:5] == [0.0] * 5 and by_quarter[12:] == [0.0] * 8
    assert np.isclose(sum(by_quarter), 700_000.0) and spent.tolist() == [350_000.0] * 2 + [0.0]
