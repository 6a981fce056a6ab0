"""The pole programmes (:mod:`sim.processes.programmes`): the quarter's spending against the
NumPy it replaced, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from sim.processes.programmes import programme_spend
from sim.state.codes import ASSETS, EXPORT, SELECTED
from sim.state.institutions import POLE_FIELDS, _poles_view
from tests.worlds import ledger

SEEDS = range(12)


def programmes_numpy(n, pole, status, remaining, quarters_left, firms_per_meur, export_spend,
                     funding):
    """The programmes' spending as it was in NumPy, before the kernel (returns the expected
    firms, or None when no pole is selected)."""
    export_spend[:] = 0.0
    selected = status == SELECTED
    if not selected.any():
        return None
    weight = np.bincount(pole[:n][pole[:n] >= 0], minlength=len(status)) * selected
    if weight.sum() == 0:
        weight = selected.astype(float)
    share = weight / weight.sum()
    export = remaining[EXPORT] / quarters_left
    remaining[EXPORT] -= export
    export_spend[:] = share * export / 1e6
    assets = remaining[ASSETS] / quarters_left
    remaining[ASSETS] -= assets
    funding[[EXPORT, ASSETS]] += (export, assets)
    return firms_per_meur * share * assets / 1e6


@pytest.mark.parametrize("seed", SEEDS)
def test_programme_spend_is_the_numpy_spending(seed):
    g = np.random.default_rng(100 + seed)
    n_p, n = int(g.integers(1, 8)), int(g.integers(0, 300))
    status = g.choice([0, 1, 2], n_p, p=[0.2, 0.5, 0.3]).astype(np.int8)
    pole = g.integers(-1, n_p, n + 5).astype(np.int16)
    if seed % 4 == 0:
        pole[:] = -1  # no pole members: spread evenly
    remaining = g.uniform(0.0, 1e8, 5)
    funding = g.uniform(0.0, 1e7, 5)
    q_left, rate = int(g.integers(1, 30)), float(g.uniform(0.0, 2.0))
    spend1, spend2 = np.full(n_p, 7.0), np.full(n_p, 7.0)
    rem1, rem2, f1, f2 = remaining.copy(), remaining.copy(), funding.copy(), funding.copy()
    expected = programmes_numpy(n, pole, status, rem1, q_left, rate, spend1, f1)
    out = np.full(n_p, np.nan)
    arrays = dict(status=status, sectors=np.zeros((n_p, 1), np.bool_),
                  sector_pole=np.zeros(1, np.int64), call_steps=np.zeros(0, np.int64),
                  budget=rem2.copy(), remaining=rem2, export_spend=spend2)
    led = ledger(1, n_p, 1)
    led.pole_funding[...] = f2
    spent = programme_spend(pole, n, _poles_view(*(arrays[f] for f in POLE_FIELDS)), q_left,
                            rate, led.view, out)
    f2 = led.pole_funding
    assert spent == (expected is not None)
    if spent:
        assert np.array_equal(out, expected)
    assert np.array_equal(spend1, spend2) and np.array_equal(rem1, rem2)
    assert np.array_equal(f1, f2)


def test_residual_programmes_spend_over_pole_members_with_diminishing_returns():
    """What is left of training and investment is spent 1/quarters_left at a time, evenly over
    the living companies of selected poles, as a pending process innovation of gain *
    log(1 + amount per company / reference); none when no company takes part."""
    from sim.processes.programmes import RESIDUAL, residual_programmes
    from sim.state.actors import Actors
    from sim.state.codes import INVESTMENT, SME, TRAINING, UNIVERSITY

    n = 10
    a = Actors(16, 3)
    a.add(atype=np.array([SME] * 8 + [UNIVERSITY] * 2, np.int8),
          pole=np.array([0, 0, 1, -1, 0, 1, 2, -1, 0, 1], np.int16))
    a.alive[4] = False
    status = np.array([SELECTED, SELECTED, 0], np.int8)  # pole 2 not selected
    remaining = np.zeros(5)
    remaining[TRAINING], remaining[INVESTMENT] = 4e6, 2e6
    arrays = dict(status=status, sectors=np.zeros((3, 1), np.bool_),
                  sector_pole=np.zeros(1, np.int64), call_steps=np.zeros(0, np.int64),
                  budget=remaining.copy(), remaining=remaining, export_spend=np.zeros(3))
    po = _poles_view(*(arrays[f] for f in POLE_FIELDS))
    rec = np.zeros(1, RESIDUAL.dtype)
    rec[0]["training_gain"], rec[0]["investment_gain"], rec[0]["reference"] = 0.01, 0.02, 5e4
    led = ledger(1, 3, 1)
    k = residual_programmes(a.view, n, po, 2, rec, led.view)
    reached = [0, 1, 2, 5]  # living companies of selected poles
    assert k == len(reached)
    want = 0.01 * np.log1p(2e6 / 4 / 5e4) + 0.02 * np.log1p(1e6 / 4 / 5e4)
    assert np.allclose(a.pending_efficiency[reached], want)
    others = np.setdiff1d(np.arange(n), reached)
    assert (a.pending_efficiency[others] == 0).all()
    assert remaining[TRAINING] == 2e6 and remaining[INVESTMENT] == 1e6
    assert led.pole_funding[TRAINING] == 2e6 and led.pole_funding[INVESTMENT] == 1e6
    a.pole[:] = -1
    assert residual_programmes(a.view, n, po, 1, rec, led.view) == 0
    assert remaining[TRAINING] == 2e6


def test_export_actions_reach_non_exporting_members_by_the_amount():
    """Export money buys actions of a set cost: the share of a selected pole's non-exporting
    members reached follows spend / cost / eligible (capped at 1), each reached member's export
    clock loses -log(1 - effect); exporters, dead firms, institutions and other poles' members
    are left alone."""
    from sim.processes.programmes import EXPORT_ACTIONS, export_actions
    from sim.state.actors import Actors
    from sim.state.codes import SME, UNIVERSITY

    n = 4000
    a = Actors(n, 3)
    atype = np.full(n, SME, np.int8)
    atype[-10:] = UNIVERSITY
    pole = np.zeros(n, np.int16)
    pole[n // 2:] = 1
    a.add(atype=atype, pole=pole, export_clock=np.ones(n),
          draw_id=np.arange(n, dtype=np.int64), exporter=np.arange(n) % 4 == 0)
    status = np.array([SELECTED, 0], np.int8)
    arrays = dict(status=status, sectors=np.zeros((2, 1), np.bool_),
                  sector_pole=np.zeros(1, np.int64), call_steps=np.zeros(0, np.int64),
                  budget=np.zeros(5), remaining=np.zeros(5), export_spend=np.array([3.0, 9.0]))
    po = _poles_view(*(arrays[f] for f in POLE_FIELDS))
    rec = np.zeros(1, EXPORT_ACTIONS.dtype)
    rec[0]["cost"], rec[0]["effect"] = 2e3, 0.2
    eligible = (pole == 0) & (np.arange(n) % 4 != 0) & (atype == SME)
    reached = export_actions(a.view, n, po, rec, np.uint64(9), 30)
    chance = 3.0e6 / 2e3 / eligible.sum()
    hit = a.export_clock[:n] < 1.0
    assert reached == hit.sum()
    assert not hit[~eligible].any()
    assert np.allclose(a.export_clock[:n][hit], 1.0 + np.log1p(-0.2))
    assert abs(hit.sum() - chance * eligible.sum()) < 4 * np.sqrt(eligible.sum() * chance)
