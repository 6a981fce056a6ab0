"""Whole-model tests: invariants every step, metamorphic relations, reproducibility, golden run,
the drop of the 2004 evaluation, and the scenario files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import ClusterModel, load_scenario
from sim.state.codes import ABSORBED, ACTIVE, LARGE, SME

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "data" / "golden_baseline.json"


def baseline(**overrides):
    return load_scenario(None, overrides=overrides)


def _rows_distinct(x: np.ndarray) -> bool:
    """No value twice in any row of ``x`` (vectorised: at a million actors a set per row
    took 2.9 s a check)."""
    s = np.sort(x, axis=1)
    return not np.any(s[:, 1:] == s[:, :-1])


def check_invariants(m: ClusterModel) -> None:
    """Stock and consistency identities that must hold after every step."""
    a, p, cl, po = m.actors, m.projects, m.clusters, m.poles
    n = a.n
    alive = a.alive[:n]
    member = a.cluster[:n]
    # members are alive and belong to active clusters; no firm in a dropped cluster
    assert np.all(alive[member >= 0])
    assert np.all(cl.status[member[member >= 0]] == ACTIVE)
    assert np.all(a.cluster[:n][~alive] == -1) and np.all(a.pole[:n][~alive] == -1)
    # project store: slots add up, padding is clean, members distinct
    act = np.flatnonzero(p.active)
    assert len(act) + p.n_free == p.cap
    assert not p.active[p.free[: p.n_free]].any()
    assert len(np.unique(p.free[: p.n_free])) == p.n_free
    size, mem = p.size[act], p.members[act]
    assert np.all(size >= 2)
    inside = np.arange(mem.shape[1])[None, :] < size[:, None]
    assert np.all(mem[inside] >= 0) and np.all(mem[~inside] == -1)
    assert _rows_distinct(np.where(inside, mem, -np.arange(1, mem.shape[1] + 1)[None, :]))
    assert np.all(p.end[act] > m.t) and np.all(p.start[act] <= m.t)  # m.t: the quarter run
    # each actor's load is the number of projects under way that it takes part in
    counts = np.bincount(p.members[act][p.members[act] >= 0], minlength=a.cap)[:n]
    np.testing.assert_array_equal(a.load[:n], counts)
    assert np.all(a.load[:n] <= a.capacity[:n])
    # ties: trust in [0, 1], nobody remembers itself, no partner twice
    assert np.all((a.tie_trust[:n] >= 0) & (a.tie_trust[:n] <= 1))
    idx = np.arange(n)[:, None]
    assert not np.any(a.tie_partner[:n] == idx)
    tp = a.tie_partner[:n]
    assert _rows_distinct(np.where(tp >= 0, tp, -np.arange(1, tp.shape[1] + 1)[None, :]))
    # budget never overspent
    assert np.all(po.remaining >= -1e-6) and np.all(po.remaining <= po.budget + 1e-6)
    # animators of clusters that are not active make no effort
    assert np.all(cl.effort[cl.status != ACTIVE] == 0)
    # economic stocks are finite and positive for living companies
    comp = alive & np.isin(a.atype[:n], (SME, LARGE))
    assert np.all(np.isfinite(a.value_added[:n][comp])) and np.all(a.value_added[:n][comp] > 0)
    assert np.all(a.employment[:n][comp] > 0)


@pytest.mark.parametrize("seed", [1, 7])
def test_invariants_every_step(seed):
    m = ClusterModel(seed=seed, handles=False)
    while m.running:
        m.step()
        check_invariants(m)
    df = m.results()
    tot = df[df.by == "total"].set_index(["indicator", "year"])["value"]
    for year in range(2001, 2013):
        # members add up across clusters and across actor types
        by_cluster = df[(df.indicator == "members_total") & (df.by == "cluster")
                        & (df.year == year)]["value"].sum()
        by_type = df[(df.indicator == "members_total") & (df.by == "actor_type")
                     & (df.year == year)]["value"].sum()
        assert by_cluster == by_type == tot[("members_total", year)]
    # the budget spent is what the yearly funding adds up to
    spent = df[(df.indicator == "pole_funding_eur") & (df.by == "instrument")]
    spent = spent.groupby("key")["value"].sum()
    left = df[(df.indicator == "pole_budget_left_eur") & (df.by == "instrument")
              & (df.year == 2012)].set_index("key")["value"]
    budget = m.poles.budget
    for k, name in enumerate(("rd", "training", "investment", "export", "assets")):
        assert spent[name] + left[name] == pytest.approx(budget[k], rel=1e-9, abs=1e-3)
    cum = tot.xs("partnerships_launched_cumulative", level=0)
    assert (np.diff(cum.values) >= 0).all()


def test_handles_are_thin_and_do_not_change_results():
    with_handles = ClusterModel(seed=3, handles=True)
    df1 = with_handles.run()
    df2 = ClusterModel(seed=3, handles=False).run()
    pd.testing.assert_frame_equal(df1, df2)
    # every living actor has a Mesa agent reading the arrays; exited ones were removed
    a = with_handles.actors
    alive = np.flatnonzero(a.alive[: a.n])
    assert len(with_handles.agents) == len(alive) + len(with_handles.clusters.names) + 1
    agent = with_handles.actor(int(alive[0]))
    assert agent.alive and agent.value_added == a.value_added[alive[0]]
    dead = np.flatnonzero(~a.alive[: a.n])
    assert len(dead) and with_handles.actor(int(dead[0])) is None


def test_same_seed_same_results_and_different_seeds_differ():
    a = ClusterModel(seed=11).run()
    b = ClusterModel(seed=11).run()
    pd.testing.assert_frame_equal(a, b)
    c = ClusterModel(seed=12).run()
    d = ClusterModel(seed=11, replication=1).run()
    assert not a["value"].equals(c["value"])
    assert not a["value"].equals(d["value"])


def _total(df, name):
    return df[(df.indicator == name) & (df.by == "total")].set_index("year")["value"]


def test_zero_animation_subsidy_gives_no_animator_effort():
    m = ClusterModel(baseline(**{"policy.animation.subsidy_eur_per_year": 0.0}), seed=5,
                     handles=False)
    while m.running:
        m.step()
        assert np.all(m.clusters.effort == 0)
    df = m.results()
    assert (_total(df, "animation_subsidy_eur") == 0).all()
    assert (_total(df, "animator_effort_fte") == 0).all()
    assert (_total(df, "intercluster_partnerships_signed") == 0).all()


def test_zero_pole_budget_gives_no_funded_pole_project():
    zero = {f"policy.poles.budget_{k}_meur": 0.0
            for k in ("rd", "training", "investment", "export", "assets")}
    df = ClusterModel(baseline(**zero), seed=5, handles=False).run()
    assert _total(df, "poles_selected").max() == 5
    assert _total(df, "pole_proposals_submitted").sum() > 0
    assert (_total(df, "pole_projects_funded") == 0).all()
    assert (_total(df, "pole_funding_eur") == 0).all()


def test_zero_evaluation_thresholds_drop_no_cluster():
    sc = baseline(**{"policy.evaluation.min_members": 0,
                     "policy.evaluation.min_involvement": 0.0})
    for seed in (1, 2, 3):
        m = ClusterModel(sc, seed=seed, handles=False)
        df = m.run()
        assert (_total(df, "clusters_dropped") == 0).all()
        assert m.evaluations  # the evaluations did take place
        assert _total(df, "clusters_active")[2012] == 12


def test_no_initiation_gives_no_partnership():
    df = ClusterModel(baseline(**{"behaviour.partnering.initiate_rate": 0.0}), seed=2,
                      handles=False).run()
    assert (_total(df, "partnerships_launched") == 0).all()
    # only pole projects remain, so nothing is under way before the first call
    assert (_total(df, "partnerships_active").loc[:2005] == 0).all()
    df = ClusterModel(baseline(**{"behaviour.partnering.initiate_rate": 0.0,
                                  "policy.poles.enabled": False}), seed=2, handles=False).run()
    assert (_total(df, "partnerships_active") == 0).all()
    assert (_total(df, "new_enterprises_partnership") == 0).all()


def test_without_poles_nothing_happens_in_poles():
    df = ClusterModel(baseline(**{"policy.poles.enabled": False}), seed=2, handles=False).run()
    for name in ("poles_selected", "pole_proposals_submitted", "pole_members",
                 "pole_funding_eur"):
        assert (_total(df, name) == 0).all(), name


def test_absorption_moves_clusters_into_poles():
    m = ClusterModel(baseline(**{"policy.poles.absorb_clusters": True}), seed=2, handles=False)
    df = m.run()
    absorbed = _total(df, "clusters_absorbed")
    assert absorbed[2006] > 0
    names = {m.clusters.names[c] for c in np.flatnonzero(m.clusters.status == ABSORBED)}
    # clusters whose sectors the aerospace and life-sciences poles cover
    assert {"aeronautics", "space"} & names


def test_pilot_evaluation_drops_wood_and_food_processing_most_often():
    """The 2004 drops come out of the evaluation rule and the members' choices, not from a
    script: the seed's two dropped pilots are the two dropped most often.

    Declared: seeds 0..19 of the baseline.  Pass: wood and food-processing are each dropped in
    2004 more often than aeronautics and than automotive; wood in at least 12 of 20 runs,
    food-processing in at least 8, both in at least 4; aeronautics and automotive both survive
    in at least 14.  (Measured with calibration/calibrated.toml of 2026-12-02, whose membership
    utility has no sector constant: wood 14, food-processing 11, automotive 4, aeronautics 0;
    both 6; the successful pilots both kept in 16.  The calibration's own figures at R=20:
    wood 0.75, food-processing 0.55, against the seed's 1 and 1.)
    """
    from collections import Counter

    dropped_in = Counter()
    both = pilots_kept = 0
    for seed in range(20):
        m = ClusterModel(seed=seed, handles=False)
        m.run()
        dropped = {c for y, c, _, _, d in m.evaluations if y == 2004 and d}
        dropped_in.update(dropped)
        both += {"wood", "food_processing"} <= dropped
        pilots_kept += not ({"aeronautics", "automotive"} & dropped)
    wood, food = dropped_in["wood"], dropped_in["food_processing"]
    assert min(wood, food) > max(dropped_in["aeronautics"], dropped_in["automotive"]), dropped_in
    assert wood >= 12 and food >= 8 and both >= 4 and pilots_kept >= 14, (dropped_in, both,
                                                                           pilots_kept)


GOLDEN_INDICATORS = ("clusters_active", "members_total", "members_enterprises",
                     "partnerships_launched", "partnerships_active", "new_enterprises",
                     "pole_projects_funded", "firms_alive")


def _golden_summary() -> dict:
    m = ClusterModel(seed=424242, handles=False)
    df = m.run()
    out = {name: [int(v) for v in _total(df, name).values] for name in GOLDEN_INDICATORS}
    out["value_added_total_2012"] = float(f"{_total(df, 'value_added')[2012]:.12g}")
    out["evaluations"] = [[y, c, n, d] for y, c, n, _, d in m.evaluations]
    return out


def test_golden_run():
    """Fixed-seed regression: a change of the model's results must be deliberate.

    Regenerate with ``CLUSTERSIM_REGEN_GOLDEN=1 pytest tests/test_model.py -k golden`` and say
    why in the commit message.  Exact on one machine type with the pinned stack (NumPy and Numba
    promise streams only within one build).
    """
    got = _golden_summary()
    if os.environ.get("CLUSTERSIM_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert got == want


@pytest.mark.parametrize("path", [
    pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem.startswith("scale") else [])
    for p in sorted((ROOT / "scenarios").glob("*.toml"))])
def test_every_scenario_file_runs(path):
    sc = load_scenario(path)
    m = ClusterModel(sc, seed=1, handles=False)
    # the scale scenarios (100k and 1M firms) take one year: the same code paths
    years = 3 if sc.run.scale <= 10 else 1
    for _ in range(4 * years):
        m.step()
        check_invariants(m)
    df = m.results()
    assert set(df.year) == set(range(2001, 2001 + years))


def test_finished_models_are_freed():
    """A long-lived worker runs thousands of models: none may stay alive after use (mesa 3.3's
    class-level Agent._ids dict kept every model, about 1.4 MB each; see sim.agents.Handle)."""
    import gc
    import weakref

    refs = []
    for handles in (False, True):
        m = ClusterModel(baseline(**{"time.end_year": 2002}), seed=1, handles=handles)
        m.run()
        refs.append(weakref.ref(m))
        del m
    gc.collect()
    assert all(r() is None for r in refs)


def test_agreement_counts_follow_signatures_ends_and_expiries():
    """The cached counts per cluster equal a fresh count at every step, through signatures,
    expiries and ends."""
    from sim.state.institutions import Agreements

    ag = Agreements([], [])
    rng = np.random.default_rng(5)
    for t in range(200):
        if rng.random() < 0.2:
            ag.sign(int(rng.integers(0, 4)), t + int(rng.integers(1, 12)))
        if rng.random() < 0.05:
            ag.end(int(rng.integers(0, 4)), t)
        want = np.zeros(4, np.int64)
        for c, e in zip(ag.cluster, ag.expiry, strict=True):
            want[c] += e > t
        assert np.array_equal(ag.active_counts(4, t), want), t
        assert np.array_equal(ag.active_counts(4, t), want), t  # twice: from the cache
