"""Membership (:mod:`sim.processes.membership`): the kernel against its pure-Python twin draw
for draw, its flows and the rule's promises, and the utility."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from sim.processes.animation import CENSUS
from sim.processes.membership import PARAMS, membership_step, utility
from sim.state.codes import LARGE, N_TASKS, RECRUITING, SME
from sim.state.institutions import CLUSTER_FIELDS, _clusters_view
from tests import reference as ref
from tests.worlds import (
    actors_of,
    copy_args,
    effort_matrix,
    ledger,
    make_world,
    rng_state,
    run_both,
)

SEEDS = [0, 1, 2, 3, 7, 42, 2024, 99991]


def params_of(args: dict) -> np.ndarray:
    """The membership record from the flat arguments."""
    rec = np.zeros(1, PARAMS.dtype)
    for name in PARAMS.names:
        rec[0][name] = args[name]
    return rec


def inputs_of(args: dict):
    """The clusters' view and census, and the sectors, from the flat arguments."""
    n_c = len(args["cl_active"])
    effort = np.zeros((n_c, N_TASKS))
    effort[:, RECRUITING] = args["cl_recruit"]
    arrays = dict(active=args["cl_active"], status=np.zeros(n_c, np.int8),
                  status_step=np.zeros(n_c, np.int64), launch_step=np.zeros(n_c, np.int64),
                  last_eval_step=np.zeros(n_c, np.int64), sectors=np.zeros((n_c, 1), np.bool_),
                  sector_clusters=args["sector_clusters"], effort=effort,
                  subsidy=np.zeros(n_c), fee_sme=args["cl_fee_sme"],
                  fee_large=args["cl_fee_large"], launched_recent=np.zeros((n_c, 4), np.int64),
                  pole=np.full(n_c, -1, np.int64))
    census = np.zeros(n_c, CENSUS)
    census["members"] = args["cl_members"]
    census["pull"] = args["cl_pull"]
    census["activity"] = args["cl_activity"]
    return _clusters_view(*(arrays[f] for f in CLUSTER_FIELDS)), census


def call_membership(args: dict) -> None:
    """``membership_step`` on the flat arguments of its twin: the census' members and the
    ledger's joins and leaves are written back into ``cl_members`` and ``out_flows``."""
    actors = actors_of(args)
    cl, census = inputs_of(args)
    led = ledger(len(args["cl_active"]))
    membership_step(actors.view, args["n"], cl, census, params_of(args), args["rng"],
                    led.view)
    actors.check()
    args["cl_members"][:] = census["members"]
    args["out_flows"][:, 0] += led.joins.astype(np.int64)
    args["out_flows"][:, 1] += led.leaves.astype(np.int64)


def membership_args(w: dict, **over) -> dict:
    """``membership_step`` as ``sim.processes.membership`` calls it, as the twin's flat
    arguments."""
    g = w["g"]
    n, C, S = w["n"], w["C"], w["S"]
    recruits = g.random((C, S)) < 0.35  # clusters' sectors
    recruits[np.arange(C), g.integers(0, S, C)] = True
    recruits[:, 0] = False  # sector 0: a single recruiting cluster (no draw of the cluster)
    recruits[0, 0] = True
    k = int(recruits.sum(axis=0).max())
    sector_clusters = np.full((S, k), -1, np.int32)
    for s in range(S):
        cs = np.flatnonzero(recruits[:, s])
        sector_clusters[s, : len(cs)] = cs
    active = g.random(C) < 0.8
    active[0] = True
    cluster = w["cluster"].copy()
    cluster[:n][~active[np.maximum(cluster[:n], 0)] & (cluster[:n] >= 0)] = -1
    members = np.bincount(cluster[:n][cluster[:n] >= 0], minlength=C).astype(np.int64)
    comp = np.isin(w["atype"][:n], (SME, LARGE)) & w["alive"][:n]
    companies = np.bincount(cluster[:n][(cluster[:n] >= 0) & comp], minlength=C)
    per_sector = np.bincount(w["sector"][:n][comp], minlength=S)
    potential = recruits.astype(np.int64) @ per_sector
    effort = effort_matrix(g, C)
    fee_sme = np.where(active, g.uniform(0.0, 1500.0, C), 0.0)
    args = dict(
        n=n, alive=w["alive"], atype=w["atype"], sector=w["sector"], taste=w["taste"],
        cluster=cluster, sector_clusters=sector_clusters, cl_active=active,
        cl_recruit=effort[:, 2], cl_pull=companies / np.maximum(potential, 1),
        cl_activity=g.uniform(0.0, 1.5, C), cl_fee_sme=fee_sme, cl_fee_large=4.0 * fee_sme,
        cl_members=members,
        # the success records and the margins (a fifth not yet seen by the economy)
        projects_done=g.integers(0, 6, w["cap"]).astype(np.int16),
        margin=(0.35 + 0.023 * g.standard_normal(w["cap"])).astype(np.float32),
        market_weight=np.where(g.random(w["cap"]) < 0.8, g.uniform(0.5, 2.0, w["cap"]), 0.0),
        awareness_base=0.25, awareness_recruit=0.4, benefit_base=float(g.uniform(-1.0, 0.5)),
        benefit_pull=1.0, benefit_activity=float(g.uniform(0.5, 4.0)), benefit_taste=0.7,
        selection=float(g.uniform(-1.0, 1.0)), record_prior=2.0, margin0=0.35,
        cost_weight=0.4, noise=float(g.uniform(0.3, 1.5)), leave_rate=float(g.uniform(0.1, 0.5)),
        rd_join_rate=float(g.uniform(0.2, 0.9)), rng=rng_state(n + 3000),
        out_flows=g.integers(0, 3, (C, 2)).astype(np.int64),
    )
    args["projects_won"] = np.minimum(args["projects_done"],
                                      g.integers(0, 6, w["cap"])).astype(np.int16)
    args.update(over)
    # in the twin's order (run_both passes the values positionally)
    return {k: args[k] for k in inspect.signature(ref.membership_step).parameters}


@pytest.mark.parametrize("seed", SEEDS)
def test_membership_step(seed):
    args = membership_args(make_world(seed))
    before = copy_args(args)
    _, out, _ = run_both(call_membership, ref.membership_step, args)
    flows = out["out_flows"] - before["out_flows"]
    assert np.array_equal(out["cl_members"] - before["cl_members"], flows[:, 0] - flows[:, 1])
    n = args["n"]
    changed = out["cluster"][:n] != before["cluster"][:n]
    assert int(changed.sum()) == int(flows.sum())
    # only living actors move; joins go to active clusters
    assert args["alive"][:n][changed].all()
    joined = changed & (out["cluster"][:n] >= 0)
    assert args["cl_active"][out["cluster"][:n][joined]].all()


def test_membership_step_exercises_the_branches():
    joins = leaves = rd_joins = 0
    for seed in SEEDS:
        args = membership_args(make_world(seed))
        before = copy_args(args)
        call_membership(args)
        n = args["n"]
        flows = args["out_flows"] - before["out_flows"]
        joins += int(flows[:, 0].sum())
        leaves += int(flows[:, 1].sum())
        new = (before["cluster"][:n] < 0) & (args["cluster"][:n] >= 0)
        rd_joins += int((new & ~np.isin(args["atype"][:n], (SME, LARGE))).sum())
    assert joins > 0 and leaves > 0 and rd_joins > 0


def test_membership_step_extreme_utilities():
    """Utilities far beyond exp's range: the logistic saturates (no overflow in either)."""
    for seed in SEEDS[:3]:
        for base in (-1e6, 1e6):
            args = membership_args(make_world(seed), benefit_base=base, noise=0.01)
            run_both(call_membership, ref.membership_step, args)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_utility(seed):
    w = make_world(seed)
    a = membership_args(w, benefit_base=0.1, benefit_pull=1.0, benefit_activity=0.5,
                        benefit_taste=0.7, cost_weight=0.4)
    actors = actors_of(a)
    cl, census = inputs_of(a)
    g = w["g"]
    for _ in range(100):
        i = int(g.integers(w["n"]))
        c = int(g.integers(w["C"]))
        want = ref.utility(i, c, a)
        got = utility(actors.view, i, c, cl, census, params_of(a))
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_a_failure_lowers_and_a_success_raises_the_benefit():
    """Firms learn from their projects: the success record moves the expected gain, and with
    it the utility, in the direction of the outcomes (and not without activity)."""
    w = make_world(5)
    a = membership_args(w, benefit_activity=2.0, selection=0.0)
    i = int(np.flatnonzero(np.isin(a["atype"][: w["n"]], (SME, LARGE)))[0])
    c = 0
    a["cl_activity"][c] = 0.5
    a["projects_done"][i] = 0
    a["projects_won"][i] = 0
    fresh = ref.utility(i, c, a)
    a["projects_done"][i] = 3
    failed = ref.utility(i, c, a)
    a["projects_won"][i] = 3
    won = ref.utility(i, c, a)
    assert failed < fresh < won
    a["cl_activity"][c] = 0.0
    assert ref.utility(i, c, a) == pytest.approx(fresh - 2.0 * 0.5)


def test_selection_tilts_membership_towards_declining_firms():
    """The documented sign: with ``selection`` < 0 a firm whose margin fell below the start's
    values membership more than a healthy one, other things equal."""
    w = make_world(6)
    a = membership_args(w, selection=-0.5)
    i = int(np.flatnonzero(np.isin(a["atype"][: w["n"]], (SME, LARGE)))[0])
    a["market_weight"][i] = 1.0
    a["margin"][i] = 0.35 - 0.023
    declining = ref.utility(i, 0, a)
    a["margin"][i] = 0.35 + 0.023
    healthy = ref.utility(i, 0, a)
    assert declining - healthy == pytest.approx(2 * 0.5, rel=1e-5)
    a["market_weight"][i] = 0.0  # not yet seen by the economy: no health term
    assert ref.utility(i, 0, a) == pytest.approx((declining + healthy) / 2, rel=1e-5)


def test_margin_sd_is_the_measured_spread():
    """``MARGIN_SD``, the margin spread that one unit of ``health`` stands for, is the standard
    deviation of the companies' (margin - margin_0) in the baseline, 2003-2012 (seed 1;
    the first year, before the economy has run a full year, is narrower and left out).
    Tolerance: the yearly spreads measured lie in 0.021-0.025; their median within 10%."""
    from sim import ClusterModel, load_scenario
    from sim.processes.membership import MARGIN_SD

    sc = load_scenario(None)
    m = ClusterModel(sc, seed=1, handles=False)
    margin0 = 1.0 - sc.world.market.labour_share
    spreads = []
    while m.running:
        m.step()
        if m.t % 4 == 0 and m.t >= 8:
            a, n = m.actors, m.actors.n
            seen = (a.alive[:n] & np.isin(a.atype[:n], (SME, LARGE))
                    & (a.market_weight[:n] > 0))
            spreads.append(float(np.std(a.margin[:n][seen] - margin0)))
    assert len(spreads) >= 9
    assert abs(np.median(spreads) - MARGIN_SD) < 0.1 * MARGIN_SD, spreads
