"""The demography (:mod:`sim.processes.demography`): entry and academic spin-offs against the
pure-Python twin draw for draw, and the retry with grown arrays making the same draws."""

from __future__ import annotations

import numpy as np
import pytest

from sim.processes.demography import PARAMS, demography_step
from sim.state.codes import ENTRY, LARGE, RESEARCH_CENTRE, SME, SPINOFF_RESEARCH, UNIVERSITY
from tests import reference as ref
from tests.worlds import (
    SME_RENAME,
    actors_of,
    copy_args,
    make_world,
    new_firms_of,
    rng_state,
    run_both,
    sme_columns,
    sme_tables,
)

SEEDS = [0, 1, 2, 3, 7, 42, 2024, 99991]


def call_demography(args: dict):
    """``demography_step`` on the flat arguments of its twin (the actors' first ``cap`` rows:
    the rows it may fill)."""
    cap = args["cap"]
    rows = {k: (v[:cap] if isinstance(v, np.ndarray) and v.shape[:1] == args["alive"].shape
                else v) for k, v in args.items()}
    actors = actors_of(rows, SME_RENAME)
    rec = np.zeros(1, PARAMS.dtype)
    rec[0]["entry_rate"], rec[0]["spinoff_rate"] = args["entry_rate"], args["spinoff_rate"]
    got = demography_step(actors.view, args["n"], args["per_sector"], args["research"], rec,
                          new_firms_of(args), args["step"], args["entry_rng"],
                          args["research_rng"])
    actors.check()
    return got


def demography_args(w: dict, free: int, entry_rate: float = 0.04,
                    spinoff_rate: float = 0.15) -> dict:
    n = w["n"]
    alive, atype = w["alive"][:n], w["atype"][:n]
    per_sector = np.bincount(w["sector"][:n][alive & np.isin(atype, (SME, LARGE))],
                             minlength=w["S"]).astype(np.int64)
    research = np.flatnonzero(alive & np.isin(atype, (UNIVERSITY, RESEARCH_CENTRE))).astype(
        np.int64)
    t = sme_tables(w)
    return dict(n=n, cap=n + free, per_sector=per_sector, research=research,
                entry_rate=entry_rate, spinoff_rate=spinoff_rate,
                entry_rng=rng_state(n + 8000), research_rng=rng_state(n + 9000),
                params=t["params"], centroids=t["centroids"], cdf=t["cdf"],
                export_share=t["export_share"], capacity=t["capacity"], step=t["step"],
                origin_entry=ENTRY, origin_research=SPINOFF_RESEARCH, **sme_columns(w, free))


@pytest.mark.parametrize("seed", SEEDS)
def test_demography_step(seed):
    w = make_world(seed)
    args = demography_args(w, free=400)
    (entries, spinoffs), out, _ = run_both(call_demography, ref.demography_step, args)
    n = args["n"]
    new = slice(n, n + entries + spinoffs)
    assert (out["a_origin"][n: n + entries] == ENTRY).all()
    assert (out["a_origin"][n + entries: n + entries + spinoffs] == SPINOFF_RESEARCH).all()
    # entrants come in sector order; academic spin-offs copy a university or research centre
    assert (np.diff(out["a_sector"][n: n + entries]) >= 0).all()
    assert out["alive"][new].all() and not out["alive"][n + entries + spinoffs:].any()


def test_demography_step_exercises_both_origins():
    totals = np.zeros(2, np.int64)
    for seed in SEEDS:
        totals += call_demography(demography_args(make_world(seed), free=400))
    assert (totals > 0).all(), totals


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_demography_step_too_few_rows_draws_nothing(seed):
    """Without enough free rows the kernel asks for more and leaves everything as it was (the
    streams too), so the call with grown arrays makes the very same draws."""
    w = make_world(seed)
    roomy = demography_args(w, free=400, entry_rate=0.3, spinoff_rate=0.5)
    want = call_demography(copy_args(roomy))
    assert sum(want) > 1
    tight = demography_args(w, free=sum(want) - 1, entry_rate=0.3, spinoff_rate=0.5)
    before = copy_args(tight)
    got, out, _ = run_both(call_demography, ref.demography_step, tight)
    assert got == (-(tight["n"] + sum(want)), 0)
    for name, v in before.items():
        if isinstance(v, np.ndarray):
            assert np.array_equal(out[name], v), name
    regrown = demography_args(w, free=sum(want), entry_rate=0.3, spinoff_rate=0.5)
    assert call_demography(regrown) == want
