"""The economy (:mod:`sim.processes.economy`): the kernel against its pure-Python twin draw for
draw, with the census of the fabric it takes for the demography."""

from __future__ import annotations

import numpy as np
import pytest

from sim.processes.economy import PARAMS, economy_step
from sim.state.codes import LARGE, N_TASKS, PROMOTION, RESEARCH_CENTRE, SME, UNIVERSITY
from tests import reference as ref
from tests.worlds import (
    actors_of,
    copy_args,
    effort_matrix,
    make_world,
    rng_state,
    run_both,
)
from tests.worlds import sector_table as sectors_of

SEEDS = [0, 1, 2, 3, 7, 42, 2024, 99991]
NAMES = {"va_noise": "va_noise", "elasticity": "elasticity", "exit_rate": "exit_rate",
         "export_entry_rate": "export_entry_rate", "export_exit_rate": "export_exit_rate",
         "promotion_effect": "promotion_effect", "pole_export_effect": "pole_export_effect",
         "trust_decay": "trust_decay"}


def call_economy(args: dict):
    """``economy_step`` on the flat arguments of its twin."""
    actors = actors_of(args)
    effort = np.zeros((len(args["cl_promotion"]), N_TASKS))
    effort[:, PROMOTION] = args["cl_promotion"]
    rec = np.zeros(1, PARAMS.dtype)
    for name in PARAMS.names:
        rec[0][name] = args[NAMES[name]]
    got = economy_step(actors.view, args["n"], effort, args["pole_export_spend"],
                       sectors_of(growth=args["sector_growth"]), rec, args["rng"],
                       args["per_sector"], args["research"])
    actors.check()
    return got


def economy_args(w: dict, **over) -> dict:
    """``economy_step`` as ``sim.processes.economy`` calls it, as the twin's flat arguments
    (the census buffers filled with junk)."""
    g = w["g"]
    effort = effort_matrix(g, w["C"])
    args = dict(
        n=w["n"], alive=w["alive"], atype=w["atype"], sector=w["sector"], cluster=w["cluster"],
        pole=w["pole"], employment=w["employment"], value_added=w["value_added"],
        exporter=w["exporter"], sector_growth=g.uniform(-0.01, 0.02, w["S"]),
        va_noise=0.05, elasticity=0.6, exit_rate=float(g.uniform(0.01, 0.1)),
        export_entry_rate=0.05, export_exit_rate=0.08, cl_promotion=effort[:, 5],
        promotion_effect=0.5, pole_export_spend=g.uniform(0.0, 2.0, w["n_poles"]),
        pole_export_effect=0.5, tie_trust=w["tie_trust"], trust_decay=0.02,
        rng=rng_state(w["n"] + 5000), per_sector=np.full(w["S"], 99, np.int64),
        research=np.full(w["cap"], -5, np.int64),
    )
    # rows beyond n hold junk trust: the kernel must leave them alone
    args["tie_trust"] = args["tie_trust"].copy()
    args["tie_trust"][w["n"]:] = 0.5
    args.update(over)
    return args


@pytest.mark.parametrize("seed", SEEDS)
def test_economy_step(seed):
    args = economy_args(make_world(seed))
    before = copy_args(args)
    (k, exits, starts, stops), out, _ = run_both(call_economy, ref.economy_step, args)
    exited = before["alive"] & ~out["alive"]
    companies = np.isin(args["atype"], (SME, LARGE))
    assert int(exited.sum()) == exits
    assert (out["cluster"][exited] == -1).all() and (out["pole"][exited] == -1).all()
    assert companies[exited].all()
    assert int((out["exporter"] & ~before["exporter"]).sum()) == starts
    assert int((~out["exporter"] & before["exporter"]).sum()) == stops
    n = args["n"]
    untouched = ~before["alive"] | ~companies
    assert np.array_equal(out["value_added"][untouched], before["value_added"][untouched])
    assert np.array_equal(out["tie_trust"][n:], before["tie_trust"][n:])
    # the census: living companies per sector after the exits, living R&D actors in order
    living = out["alive"][:n]
    want = np.bincount(args["sector"][:n][living & companies[:n]], minlength=len(
        args["per_sector"]))
    assert np.array_equal(out["per_sector"], want)
    rd = np.flatnonzero(living & np.isin(args["atype"][:n], (UNIVERSITY, RESEARCH_CENTRE)))
    assert k == len(rd) > 0 and np.array_equal(out["research"][:k], rd)


def test_economy_step_exercises_the_branches():
    totals = np.zeros(3, np.int64)
    for seed in SEEDS:
        _, *counts = call_economy(economy_args(make_world(seed)))
        totals += counts
    assert (totals > 0).all(), totals


def test_economy_step_no_companies():
    """No living company: mean productivity falls back to 1 and only ties decay."""
    w = make_world(11)
    w["alive"][:] = False
    run_both(call_economy, ref.economy_step, economy_args(w))
    args = economy_args(make_world(12), exit_rate=1e3)  # hazard capped at 1: everyone exits
    _, out, _ = run_both(call_economy, ref.economy_step, args)
    assert not out["alive"][np.isin(args["atype"], (SME, LARGE))].any()
