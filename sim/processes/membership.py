"""Sub-step 5, membership: actors join and leave clusters by their own choice (bottom-up).

Rule (docs/ODD.md, submodel "Membership"):

* A member company reconsiders with probability ``leave_rate`` per quarter and stays with
  probability ``logistic(U / noise)``.
* A non-member company of a sector that an active cluster recruits in looks at one such cluster
  (drawn at random when several recruit in its sector).  It becomes aware of it with probability
  ``awareness_base + awareness_recruit * recruiting_effort``, and then joins with probability
  ``logistic(U / noise)``.
* A non-member university, research or training centre joins with probability
  ``rd_join_rate * pull`` (the members already in attract the knowledge institutions).

The utility of company ``i`` for cluster ``c`` is its expected gain against the fee::

    U = benefit_base + benefit_activity * activity[c] * record[i] + benefit_pull * pull[c]
        + benefit_taste * taste[i] + selection * health[i] - cost_weight * fee_kEUR(i, c) / size_factor(i)

with ``activity`` the members involved in partnerships launched over the last year per
member (how often membership brings a project), ``record`` the company's own success record
``2 (won + prior / 2) / (done + prior)`` over the projects it took part in (1 before any, lower
after failures: firms learn from their projects; SKIN, literature A1), ``pull`` the share of
the cluster's potential companies already in, ``taste`` the company's persistent taste for
cooperation (standard normal), ``health`` its margin's deviation from the start's margin in
units of :data:`MARGIN_SD` (0 before the economy has seen it), whose weight ``selection`` is the
direction and strength of selection (negative: firms in decline seek help, Martin, Mayer &
Mayneris 2011), and the fee the one the cluster charges this year (a large firm pays more and
weighs it a quarter as much).  No sector constant: a sector's firms value membership through
the partnerships it brings them, which its cooperation propensity (the sector rule,
:func:`sim.world.sector_cooperation`) sets.  The cluster-level inputs are the census the
animation funding took this quarter (:func:`sim.processes.animation.fund_animation`), which
the schedule passes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels.predicates import is_company, is_large
from sim.kernels.rng import randbelow, uniform
from sim.state.codes import RECRUITING
from sim.state.params import Params

if TYPE_CHECKING:
    from sim.model import ClusterModel

LARGE_COST_DISCOUNT = 4.0
# the spread of the companies' margins that a unit of ``health`` stands for: the standard
# deviation of (margin - margin_0) over the baseline's companies, 2003-2012: 0.021-0.025 (measured:
# tests/processes/test_membership.py::test_margin_sd_is_the_measured_spread)
MARGIN_SD = 0.023

PARAMS = Params(floats={name: "behaviour.membership." + name for name in (
    "awareness_base", "awareness_recruit", "benefit_base", "benefit_pull",
    "benefit_activity", "benefit_taste", "cost_weight", "noise", "leave_rate",
    "rd_join_rate", "record_prior", "selection")}
    | {"margin0": lambda sc: 1.0 - sc.world.market.labour_share})


def membership(m: ClusterModel, census: np.ndarray) -> None:
    """Companies, universities, research and training centres join or leave clusters.  The
    clusters' inputs are this quarter's ``census``, updated as members come and go."""
    a = m.actors
    membership_step(a.view, a.n, m.clusters.view, census, PARAMS.of(m),
                    m.streams["membership"], m.ledger.view)


@njit(cache=True)
def net_benefit(large, activity, record, pull, health, fee_sme, fee_large, taste, weights):
    """The utility ``U`` above from scalars; ``large`` is True for a large firm, ``weights``
    the tuple (benefit_base, benefit_activity, benefit_pull, benefit_taste, selection,
    cost_weight)."""
    base, w_activity, w_pull, w_taste, w_selection, cost_weight = weights
    if large:
        cost = cost_weight * fee_large / 1000.0 / LARGE_COST_DISCOUNT
    else:
        cost = cost_weight * fee_sme / 1000.0
    return (base + w_activity * activity * record + w_pull * pull + w_taste * taste
            + w_selection * health - cost)


@njit(cache=True)
def utility_weights(p):
    """The utility's weights of record ``p`` as the tuple :func:`net_benefit` takes."""
    return (p.benefit_base, p.benefit_activity, p.benefit_pull, p.benefit_taste, p.selection,
            p.cost_weight)


@njit(cache=True, inline="always")
def success_record(done, won, prior):
    """The company's success record ``2 (won + prior / 2) / (done + prior)``: the mean of a
    Beta posterior over its projects' success, relative to the prior's 1/2."""
    return 2.0 * (won + 0.5 * prior) / (done + prior)


@njit(cache=True, inline="always")
def health(a, i, margin0):
    """Company ``i``'s margin over the start's, in units of :data:`MARGIN_SD` (0 before the
    economy has seen it)."""
    if a.market_weight[i] <= 0.0:
        return 0.0
    return (a.margin[i] - margin0) / MARGIN_SD


@njit(cache=True)
def utility(a, i, c, cl, census, params):
    """Net benefit of membership of cluster ``c`` for company ``i`` (utility units)."""
    p = params[0]
    return net_benefit(is_large(a.atype[i]), census[c].activity,
                       success_record(a.projects_done[i], a.projects_won[i], p.record_prior),
                       census[c].pull, health(a, i, p.margin0), cl.fee_sme[c], cl.fee_large[c],
                       a.taste[i], utility_weights(p))


@njit(cache=True)
def membership_step(a, n, cl, census, params, rng, led):
    """Apply one quarter of membership decisions to the actors of rows ``< n``, in order.

    ``census`` (one row per cluster: ``members``, ``pull``, ``activity``) holds the clusters'
    inputs; its ``members`` are updated as actors join and leave, and so are the ledger's
    ``joins`` and ``leaves``.  Fees are the clusters' of this quarter (EUR/year).
    """
    p = params[0]
    alive, atype, sector, cluster = a.alive, a.atype, a.sector, a.cluster
    sector_clusters, active, effort = cl.sector_clusters, cl.active, cl.effort
    joins, leaves = led.joins, led.leaves
    leave_rate, noise, rd_join_rate = p.leave_rate, p.noise, p.rd_join_rate
    awareness_base, awareness_recruit = p.awareness_base, p.awareness_recruit
    k_max = sector_clusters.shape[1]
    cand = np.empty(k_max, np.int32)
    for i in range(n):
        if not alive[i]:
            continue
        c = cluster[i]
        s = sector[i]
        if c >= 0:
            if is_company(atype[i]) and uniform(rng) < leave_rate:
                u = utility(a, i, c, cl, census, params)
                if uniform(rng) >= 1.0 / (1.0 + np.exp(-u / noise)):
                    cluster[i] = -1
                    census[c].members -= 1
                    leaves[c] += 1
            continue
        nk = 0
        for q in range(k_max):
            cc = sector_clusters[s, q]
            if cc >= 0 and active[cc]:
                cand[nk] = cc
                nk += 1
        if nk == 0:
            continue
        c = cand[randbelow(rng, nk)] if nk > 1 else cand[0]
        if is_company(atype[i]):
            if uniform(rng) >= awareness_base + awareness_recruit * effort[c, RECRUITING]:
                continue
            u = utility(a, i, c, cl, census, params)
            if uniform(rng) < 1.0 / (1.0 + np.exp(-u / noise)):
                cluster[i] = c
                census[c].members += 1
                joins[c] += 1
        elif uniform(rng) < rd_join_rate * census[c].pull:
            cluster[i] = c
            census[c].members += 1
            joins[c] += 1
