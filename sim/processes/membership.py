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

The utility of company ``i`` for cluster ``c`` is::

    U = benefit_base + benefit_knowledge * knowledge_intensity[s] * cooperation[s]
        + benefit_pull * pull[c] + benefit_activity * activity[c]
        + benefit_taste * taste[i] - cost_weight * fee_kEUR(i, c) / size_factor(i)

with ``pull`` the share of the cluster's potential companies already in, ``activity`` the
members involved in partnerships launched over the last year per member, ``taste`` the
company's persistent taste for cooperation (standard normal), and the fee the one
the cluster charges this year (a large firm pays more and weighs it a quarter as much).
The cluster-level inputs are the census the animation funding took this quarter
(:func:`sim.processes.animation.fund_animation`), which the schedule passes on.
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

PARAMS = Params(floats={name: "behaviour.membership." + name for name in (
    "awareness_base", "awareness_recruit", "benefit_base", "benefit_knowledge", "benefit_pull",
    "benefit_activity", "benefit_taste", "cost_weight", "noise", "leave_rate",
    "rd_join_rate")})


def membership(m: ClusterModel, census: np.ndarray) -> None:
    """Companies, universities, research and training centres join or leave clusters.  The
    clusters' inputs are this quarter's ``census``, updated as members come and go."""
    a = m.actors
    membership_step(a.view, a.n, m.clusters.view, census, m.sectors, PARAMS.of(m),
                    m.streams["membership"], m.ledger.view)


@njit(cache=True)
def net_benefit(large, ki, coop, pull, activity, fee_sme, fee_large, taste, weights):
    """The utility ``U`` above from scalars; ``large`` is True for a large firm, ``weights``
    the tuple (benefit_base, benefit_knowledge, benefit_pull, benefit_activity,
    benefit_taste, cost_weight)."""
    base, w_knowledge, w_pull, w_activity, w_taste, cost_weight = weights
    if large:
        cost = cost_weight * fee_large / 1000.0 / LARGE_COST_DISCOUNT
    else:
        cost = cost_weight * fee_sme / 1000.0
    return (base + w_knowledge * ki * coop + w_pull * pull + w_activity * activity
            + w_taste * taste - cost)


@njit(cache=True)
def utility_weights(p):
    """The utility's weights of record ``p`` as the tuple :func:`net_benefit` takes."""
    return (p.benefit_base, p.benefit_knowledge, p.benefit_pull, p.benefit_activity,
            p.benefit_taste, p.cost_weight)


@njit(cache=True)
def utility(a, i, c, cl, census, sectors, params):
    """Net benefit of membership of cluster ``c`` for company ``i`` (utility units)."""
    s = a.sector[i]
    return net_benefit(is_large(a.atype[i]), sectors[s].knowledge_intensity,
                       sectors[s].cooperation, census[c].pull, census[c].activity,
                       cl.fee_sme[c], cl.fee_large[c], a.taste[i], utility_weights(params[0]))


@njit(cache=True)
def membership_step(a, n, cl, census, sectors, params, rng, led):
    """Apply one quarter of membership decisions to the actors of rows ``< n``, in order.

    ``census`` (one row per cluster: ``members``, ``pull``, ``activity``) holds the clusters'
    inputs; its ``members`` are updated as actors join and leave, and so are the ledger's
    ``joins`` and ``leaves``.  Fees are the clusters' of this quarter (EUR/year).
    """
    p = params[0]
    weights = utility_weights(p)
    alive, atype, sector, taste, cluster = a.alive, a.atype, a.sector, a.taste, a.cluster
    sector_clusters, active, effort = cl.sector_clusters, cl.active, cl.effort
    fee_sme, fee_large = cl.fee_sme, cl.fee_large
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
                u = net_benefit(is_large(atype[i]), sectors[s].knowledge_intensity,
                                sectors[s].cooperation, census[c].pull, census[c].activity,
                                fee_sme[c], fee_large[c], taste[i], weights)
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
            u = net_benefit(is_large(atype[i]), sectors[s].knowledge_intensity,
                            sectors[s].cooperation, census[c].pull, census[c].activity,
                            fee_sme[c], fee_large[c], taste[i], weights)
            if uniform(rng) < 1.0 / (1.0 + np.exp(-u / noise)):
                cluster[i] = c
                census[c].members += 1
                joins[c] += 1
        elif uniform(rng) < rd_join_rate * census[c].pull:
            cluster[i] = c
            census[c].members += 1
            joins[c] += 1
