"""Sub-step 9, pole programmes: export promotion (AWEX) and assets and holdings, whose budgets
are spread evenly over the quarters left in the budget period from the poles' selection on;
the assets programme creates new companies (docs/ODD.md, submodel 7.9).

**Export promotion reaches firms.** Each selected pole's export money of the quarter
(``export_spend``) pays actions of ``world.market.export_package_keur`` each for its
non-exporting member companies: each is reached with probability ``min(1, actions /
eligible)`` (its own keyed draw), and an action takes ``-log(1 - export_package_effect)`` off
its export clock (the chance of starting to export this quarter, lowering the sunk entry cost),
so the export budget acts through its amount (:func:`export_actions`).

**Unspent money (the stated rule).** What the calls leave of the training and investment
budgets (they grant only the requests of funded projects) is carried from call to call; what
the last call of the budget period leaves is spent, over the quarters left in the period
(that of the last call included), as direct programmes for the selected poles' member
companies, evenly per company: a company receiving ``x`` EUR of training gets a process
innovation of ``training_gain * log(1 + x / programme_reference)`` (skills: more output per
worker and per input) and of investment ``investment_gain * log(1 + x / programme_reference)``
(equipment), pending, with the economy's lag.  The R&D budget left after the last call lapses
(it returns to the Region), as export promotion and assets money left after the period.  So
every instrument acts through its amount, with diminishing returns (issue 16)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels.keyed import PROMOTION_ACTION, key_of, keyed_uniform
from sim.kernels.predicates import is_company
from sim.state.codes import ASSETS, EXPORT, INVESTMENT, POLE_ASSETS, SELECTED, TRAINING
from sim.state.params import Params
from sim.world import spawn_companies

if TYPE_CHECKING:
    from sim.model import ClusterModel

EXPORT_ACTIONS = Params(floats={
    "cost": lambda sc: 1e3 * sc.world.market.export_package_keur,
    "effect": "world.market.export_package_effect"})
RESIDUAL = Params(floats={
    "training_gain": "behaviour.poles.training_gain",
    "investment_gain": "behaviour.poles.investment_gain",
    "reference": lambda sc: 1e3 * sc.behaviour.innovation.programme_reference_keur})


def pole_programmes(m: ClusterModel) -> None:
    """Export promotion (AWEX) and assets and holdings: what is left of each is spread evenly
    over the quarters left in the budget period, from the poles' selection on."""
    po, pp, a = m.poles, m.sc.policy.poles, m.actors
    if not po.in_budget_period(m.t):
        po.export_spend[:] = 0.0
        return
    quarters_left = po.budget_steps[1] - m.t + 1  # this one included
    in_period = (po.call_steps >= po.budget_steps[0]) & (po.call_steps <= po.budget_steps[1])
    if in_period.any() and m.t >= po.call_steps[in_period].max():  # the calls are over
        residual_programmes(a.view, a.n, po.view, quarters_left, RESIDUAL.of(m),
                            m.ledger.view)
    expected = np.zeros(len(po.names))
    if not programme_spend(a.pole, a.n, po.view, quarters_left, pp.assets_firms_per_meur,
                           m.ledger.view, expected):
        return
    key = m.constants.get("economy_key")
    if key is None:  # the run's key of firm-level draws (shared with sim.processes.economy)
        key = m.constants["economy_key"] = key_of(m.streams["economy"])
    export_actions(a.view, a.n, po.view, EXPORT_ACTIONS.of(m), key, m.t)
    gen = m.gen["assets"]
    new_firms = gen.poisson(expected)
    for p in np.flatnonzero(new_firms):
        sectors = np.flatnonzero(po.sectors[p])
        # choice(sectors, size=...), which draws exactly these integers
        sec = sectors[gen.integers(0, len(sectors), size=int(new_firms[p]), dtype=np.int64)]
        rows = spawn_companies(m, sec, POLE_ASSETS)
        a.pole[rows] = p
        m.ledger.new_firms[POLE_ASSETS] += len(rows)


@njit(cache=True)
def programme_spend(pole, n, po, quarters_left, firms_per_meur, led, expected_firms):
    """One quarter of export promotion (AWEX) and assets and holdings.

    What is left of each of the two programmes is spread evenly over the ``quarters_left``
    quarters of the budget period: this quarter's share is spent over the selected poles in
    proportion to their members (the actors of rows ``< n`` with that ``pole``), evenly when
    none has any.
    Writes each pole's export promotion spending (``po.export_spend``, MEUR this quarter;
    zero for all when no pole is selected) and the expected number of pole-assets firms
    (``expected_firms``, ``firms_per_meur`` per MEUR of assets spending); reduces
    ``po.remaining`` and adds to the ledger's ``pole_funding``.  Returns False, having spent
    nothing, when no pole is selected.
    """
    status, remaining, export_spend = po.status, po.remaining, po.export_spend
    n_p = status.shape[0]
    export_spend[:] = 0.0
    any_selected = False
    for p in range(n_p):
        any_selected |= status[p] == SELECTED
    if not any_selected:
        return False
    weight = np.zeros(n_p, np.int64)
    for i in range(n):
        if pole[i] >= 0:
            weight[pole[i]] += 1
    total = 0
    for p in range(n_p):
        if status[p] != SELECTED:
            weight[p] = 0
        total += weight[p]
    share = np.empty(n_p)
    if total == 0:  # spread evenly over the selected poles
        n_sel = 0.0
        for p in range(n_p):
            n_sel += 1.0 if status[p] == SELECTED else 0.0
        for p in range(n_p):
            share[p] = (1.0 if status[p] == SELECTED else 0.0) / n_sel
    else:
        for p in range(n_p):
            share[p] = weight[p] / total
    export = remaining[EXPORT] / quarters_left
    remaining[EXPORT] -= export
    for p in range(n_p):
        export_spend[p] = share[p] * export / 1e6
    assets = remaining[ASSETS] / quarters_left
    remaining[ASSETS] -= assets
    led.pole_funding[EXPORT] += export
    led.pole_funding[ASSETS] += assets
    for p in range(n_p):
        expected_firms[p] = firms_per_meur * share[p] * assets / 1e6
    return True


@njit(cache=True)
def residual_programmes(a, n, po, quarters_left, params, led):
    """One quarter of the residual training and investment programmes (the module's rule):
    ``1 / quarters_left`` of what is left of each is spent evenly over the living companies
    of rows ``< n`` that take part in a selected pole (nothing is spent when there is none);
    each gets a pending process innovation of ``gain * log(1 + amount / reference)``.
    Reduces ``po.remaining`` and adds to the ledger's ``pole_funding``; returns the number of
    companies reached."""
    pr = params[0]
    status, remaining = po.status, po.remaining
    alive, atype, pole, pend_e = a.alive, a.atype, a.pole, a.pending_efficiency
    k = 0
    for i in range(n):
        if alive[i] and is_company(atype[i]) and pole[i] >= 0 and status[pole[i]] == SELECTED:
            k += 1
    if k == 0:
        return 0
    training = remaining[TRAINING] / quarters_left
    investment = remaining[INVESTMENT] / quarters_left
    remaining[TRAINING] -= training
    remaining[INVESTMENT] -= investment
    led.pole_funding[TRAINING] += training
    led.pole_funding[INVESTMENT] += investment
    gain = (pr.training_gain * np.log1p(training / k / pr.reference)
            + pr.investment_gain * np.log1p(investment / k / pr.reference))
    for i in range(n):
        if alive[i] and is_company(atype[i]) and pole[i] >= 0 and status[pole[i]] == SELECTED:
            pend_e[i] += gain
    return k


@njit(cache=True)
def export_actions(a, n, po, params, key, step):
    """The export promotion's actions of one quarter (the module's rule): the non-exporting
    living companies of rows ``< n`` in each selected pole are reached with probability
    ``min(1, export_spend * 1e6 / cost / eligible)`` (keyed draw ``PROMOTION_ACTION`` of
    their ``draw_id``, ``step``); a reached company's export clock loses ``-log(1 - effect)``.
    Returns the number of companies reached."""
    pr = params[0]
    status, spend = po.status, po.export_spend
    alive, atype, pole, exporter = a.alive, a.atype, a.pole, a.exporter
    clock, draw_id = a.export_clock, a.draw_id
    n_p = status.shape[0]
    eligible = np.zeros(n_p, np.int64)
    for i in range(n):
        pl = pole[i]
        if pl >= 0 and alive[i] and is_company(atype[i]) and not exporter[i]:
            eligible[pl] += 1
    chance = np.zeros(n_p)
    for pl in range(n_p):
        if status[pl] == SELECTED and eligible[pl] > 0:
            chance[pl] = min(1.0, spend[pl] * 1e6 / pr.cost / eligible[pl])
    push = np.log1p(-min(pr.effect, 1.0 - 1e-12))
    reached = 0
    for i in range(n):
        pl = pole[i]
        if pl < 0 or chance[pl] <= 0.0 or not alive[i] or not is_company(atype[i]) \
                or exporter[i]:
            continue
        who = draw_id[i] if draw_id[i] >= 0 else i
        if keyed_uniform(key, PROMOTION_ACTION, who, step, 0) < chance[pl]:
            clock[i] += push
            reached += 1
    return reached
