"""The economy (:mod:`sim.processes.economy`): the census it takes for the demography, the
market (one firm's gain is partly its competitors' loss), the partial adjustment of
employment, exit by the firm's own margin, export entry, and common random numbers at the
firm level (a firm's outcome does not depend on which firms of other sectors are alive)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.processes.economy import PARAMS, economy_step, new_markets
from sim.state.codes import LARGE, N_TASKS, PROMOTION, RESEARCH_CENTRE, SME, UNIVERSITY
from tests.worlds import actors_of, copy_args, effort_matrix, make_world
from tests.worlds import sector_table as sectors_of

SEEDS = [0, 1, 2, 3, 7, 42, 2024, 99991]
DEFAULTS = dict(va_noise=0.03, elasticity=0.5, exit_rate=0.02, export_entry_rate=0.05,
                export_exit_rate=0.05, promotion_effect=0.5, pole_export_effect=0.5,
                trust_decay=0.02, home_share=0.25, input_share=0.6, labour_share=0.65,
                adjustment=0.25, cost_demand=0.5, exit_margin=8.0, export_prod=1.5,
                foreign_export=0.5, prod_mean=70_000.0, arrival=0.25, intensity=0.35,
                intensity_prod=0.5, ramp=0.125)


def economy_args(w: dict, **over) -> dict:
    """A world for ``economy_step``: the actors' arrays, fresh market columns, the census
    buffers filled with junk."""
    g = w["g"]
    cap = w["cap"]
    effort = effort_matrix(g, w["C"])
    args = dict(
        alive=w["alive"], atype=w["atype"], sector=w["sector"], cluster=w["cluster"],
        pole=w["pole"], employment=w["employment"], value_added=w["value_added"],
        exporter=w["exporter"], tie_trust=w["tie_trust"].copy(),
        market_weight=np.zeros(cap), sales=np.zeros(cap), sales_per_fte=np.zeros(cap),
        wage=np.zeros(cap), quality=np.zeros(cap), efficiency=np.zeros(cap),
        pending_quality=np.zeros(cap), pending_efficiency=np.zeros(cap),
        foreign_partners=g.integers(0, 3, cap).astype(np.int16),
        draw_id=np.full(cap, -1, np.int64),
        exit_clock=np.zeros(cap), export_clock=np.zeros(cap),
        export_spells=np.zeros(cap, np.int16),
        export_share=np.zeros(cap), margin=np.zeros(cap, np.float32),
        born=np.where(g.random(cap) < 0.8, -1, g.integers(0, 5, cap)).astype(np.int32),
    )
    args["origin"] = np.where(args["born"] < 0, 0, g.integers(1, 5, cap)).astype(np.int8)
    args["tie_trust"][w["n"]:] = 0.5  # rows beyond n hold junk trust: left alone
    # every company needs a positive size to enter the market
    comp = np.isin(args["atype"], (SME, LARGE))
    args["employment"] = np.where(comp, np.maximum(args["employment"], 1.0), 0.0)
    args["value_added"] = np.where(comp, args["employment"] * g.uniform(4e4, 1e5, cap), 0.0)
    params = dict(DEFAULTS)
    params.update({k: v for k, v in over.items() if k in DEFAULTS})
    args.update({k: v for k, v in over.items() if k not in DEFAULTS})
    promotion = np.zeros((w["C"], N_TASKS))
    promotion[:, PROMOTION] = effort[:, PROMOTION]
    return dict(arrays=args, n=w["n"], S=w["S"], params=params, promotion=promotion,
                export_spend=g.uniform(0.0, 2.0, w["n_poles"]),
                growth=g.uniform(-0.01, 0.02, w["S"]), cap=cap)


class Run:
    """The economy's quarters on one world (its markets kept from call to call)."""

    def __init__(self, world: dict, key: int = 12345) -> None:
        self.w = world
        self.actors = actors_of(world["arrays"])
        self.markets = new_markets(world["S"])
        self.rec = np.zeros(1, PARAMS.dtype)
        for name in PARAMS.names:
            self.rec[0][name] = world["params"][name]
        self.key = np.uint64(key)
        self.sectors = sectors_of(growth=world["growth"])

    def step(self, t: int):
        per_sector = np.full(self.w["S"], 99, np.int64)
        research = np.full(self.w["cap"], -5, np.int64)
        got = economy_step(self.actors.view, self.w["n"], self.w["promotion"],
                           self.w["export_spend"], self.sectors, self.markets, self.rec,
                           self.key, t, per_sector, research)
        self.actors.check()
        return got, per_sector, research

    def col(self, name: str) -> np.ndarray:
        return getattr(self.actors.table, name)


@pytest.mark.parametrize("seed", SEEDS)
def test_economy_step_census_exits_and_exports(seed):
    world = economy_args(make_world(seed))
    before = copy_args(world["arrays"])
    run = Run(world)
    (k, exits, starts, stops), per_sector, research = run.step(0)
    a = world["arrays"]
    n = world["n"]
    exited = before["alive"] & ~a["alive"]
    companies = np.isin(a["atype"], (SME, LARGE))
    assert int(exited.sum()) == exits
    assert (a["cluster"][exited] == -1).all() and (a["pole"][exited] == -1).all()
    assert companies[exited].all()
    assert int((a["exporter"] & ~before["exporter"]).sum()) == starts
    assert int((~a["exporter"] & before["exporter"]).sum()) == stops
    untouched = ~before["alive"] | ~companies
    assert np.array_equal(a["value_added"][untouched], before["value_added"][untouched])
    assert np.array_equal(a["tie_trust"][n:], before["tie_trust"][n:])
    living = a["alive"][:n]
    want = np.bincount(a["sector"][:n][living & companies[:n]], minlength=world["S"])
    assert np.array_equal(per_sector, want)
    rd = np.flatnonzero(living & np.isin(a["atype"][:n], (UNIVERSITY, RESEARCH_CENTRE)))
    assert k == len(rd) > 0 and np.array_equal(research[:k], rd)
    # the first quarter: every living company enters at its size, so value added = the
    # start's (times the shock); the region holds home_share of each market
    inn = before["alive"] & companies
    assert (a["market_weight"][inn] > 0).all()
    sales = a["sales"][inn]
    assert np.allclose(a["value_added"][inn], sales * (1 - DEFAULTS["input_share"]))
    ratio = a["value_added"][inn] / before["value_added"][inn]
    assert np.all(np.abs(np.log(ratio)) < 6 * DEFAULTS["va_noise"] + 1e-9)
    for s in range(world["S"]):
        mk = run.markets
        if mk["ready"][s]:
            share = mk["weight"][s] / (mk["outside"][s] + mk["weight"][s])
            assert share == pytest.approx(DEFAULTS["home_share"])


def test_economy_step_exercises_the_branches():
    totals = np.zeros(3, np.int64)
    for seed in SEEDS:
        run = Run(economy_args(make_world(seed)))
        for t in range(4):
            (_, *counts), _, _ = run.step(t)
            totals += counts
    assert (totals > 0).all(), totals


def test_a_firms_gain_is_partly_its_competitors_loss():
    """A quality jump of one firm raises its sales by about the jump, lowers its sector
    competitors' sales (a quarter later), raises the sector's regional sales by less than its own gain, and
    leaves the other sectors alone."""
    runs = []
    for jump in (0.0, 0.2):
        world = economy_args(make_world(5), va_noise=0.0, exit_rate=0.0)
        run = Run(world)
        run.step(0)
        a = world["arrays"]
        comp = a["alive"] & np.isin(a["atype"], (SME, LARGE))
        i = int(np.flatnonzero(comp)[0])
        a["pending_quality"][i] = jump / DEFAULTS["arrival"]  # arrives whole next quarter
        run.step(1)
        a["pending_quality"][i] = 0.0
        run.step(2)  # the competitors' sales take in the new weight a quarter later
        runs.append((world, run, i, comp))
    (w0, _, i, comp), (w1, _, _, _) = runs
    s0, s1 = w0["arrays"]["sales"], w1["arrays"]["sales"]
    sec = w0["arrays"]["sector"]
    rivals = comp & (sec == sec[i])
    rivals[i] = False
    others = comp & (sec != sec[i])
    gain_i = s1[i] - s0[i]
    assert np.log(s1[i] / s0[i]) == pytest.approx(0.2, abs=0.05)
    assert (s1[rivals] < s0[rivals]).all() and rivals.any()
    loss = (s0[rivals] - s1[rivals]).sum()
    assert 0 < loss < gain_i
    assert np.array_equal(s1[others], s0[others])


def test_employment_adjusts_partially():
    """Without shocks and trend, a firm whose sales rise by x closes employment_adjustment of
    the gap to its new labour need each quarter."""
    world = economy_args(make_world(8), va_noise=0.0, exit_rate=0.0, adjustment=0.25)
    world["growth"][:] = 0.0
    run = Run(world)
    run.step(0)
    a = world["arrays"]
    comp = a["alive"] & np.isin(a["atype"], (SME, LARGE))
    i = int(np.flatnonzero(comp)[0])
    a["pending_quality"][i] = 0.3 / DEFAULTS["arrival"]
    emp0 = a["employment"][i]
    run.step(1)
    need = a["sales"][i] / a["sales_per_fte"][i]
    assert a["employment"][i] == pytest.approx(emp0 + 0.25 * (need - emp0))
    assert need > emp0


def test_exit_is_by_own_margin():
    """A firm whose demand collapsed (margin far below the start's) exits, whatever the
    others; with the hazard at zero nobody exits."""
    world = economy_args(make_world(9), va_noise=0.0, exit_rate=0.01, exit_margin=50.0)
    run = Run(world)
    run.step(0)
    a = world["arrays"]
    comp = a["alive"] & np.isin(a["atype"], (SME, LARGE))
    i = int(np.flatnonzero(comp)[0])
    a["market_weight"][i] *= 0.3  # demand collapses; employment adjusts only partly
    run.step(1)
    assert not a["alive"][i]
    world = economy_args(make_world(9), exit_rate=0.0)
    run = Run(world)
    for t in range(3):
        (_, exits, _, _), _, _ = run.step(t)
        assert exits == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_common_random_numbers_at_the_firm_level(seed):
    """Removing a company of another sector leaves every firm of this sector exactly as it
    was, quarter after quarter (the draws are keyed by actor, not by position in a stream)."""
    outs = []
    for remove in (False, True):
        world = economy_args(make_world(seed, n=200, n_sectors=3))
        a = world["arrays"]
        comp = a["alive"] & np.isin(a["atype"], (SME, LARGE))
        if remove:
            victim = np.flatnonzero(comp & (a["sector"] == 0))[:3]
            a["alive"][victim] = False
        run = Run(world)
        for t in range(8):
            run.step(t)
        keep = comp & (a["sector"] != 0)
        outs.append({c: a[c][keep].copy() for c in ("value_added", "employment", "alive",
                                                    "exporter")})
    for c in outs[0]:
        assert np.array_equal(outs[0][c], outs[1][c]), c


def test_draw_ids():
    """The initial population draws as its rows; a later company by its cohort (birth step,
    origin, sector, rank), so the same entrant has the same identity when the rows before it
    differ; identities are distinct."""
    world = economy_args(make_world(4, n=250))
    run = Run(world)
    run.step(0)
    a = world["arrays"]
    seen = a["market_weight"] > 0
    ids = a["draw_id"][seen]
    assert len(set(ids.tolist())) == len(ids)
    initial = seen & (a["born"] < 0)
    assert np.array_equal(a["draw_id"][initial], np.flatnonzero(initial))
    later = seen & (a["born"] >= 0)
    assert later.any() and (a["draw_id"][later] >= 2**40).all()
    # the same cohort shifted down one row (a row before it gone): the same identities
    from sim.kernels.keyed import cohort_id
    i = int(np.flatnonzero(later)[0])
    same = [j for j in np.flatnonzero(later) if (a["born"][j], a["origin"][j], a["sector"][j])
            == (a["born"][i], a["origin"][i], a["sector"][i])]
    assert a["draw_id"][i] == cohort_id(a["born"][i], a["origin"][i], a["sector"][i], 0)
    assert a["draw_id"][same[-1]] == cohort_id(a["born"][i], a["origin"][i], a["sector"][i],
                                               len(same) - 1)


def test_export_share_ramps_towards_its_target():
    """An exporter's export intensity closes 1/ramp of the gap to export_intensity * rel^e
    each quarter; a non-exporter's is 0."""
    world = economy_args(make_world(6), va_noise=0.0, exit_rate=0.0, export_entry_rate=0.0,
                         export_exit_rate=0.0)
    run = Run(world)
    run.step(0)
    a = world["arrays"]
    comp = a["alive"] & np.isin(a["atype"], (SME, LARGE))
    xp = comp & a["exporter"]
    assert xp.any() and (a["export_share"][comp & ~a["exporter"]] == 0).all()
    before = a["export_share"].copy()
    run.step(1)
    share = a["export_share"]
    assert (share[xp] > 0).all() and (share[xp] <= 0.95).all()
    moved = np.abs(share[xp] - before[xp])
    assert moved.max() > 0
