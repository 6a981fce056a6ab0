"""Membership decisions: actors join and leave clusters by their own choice (bottom-up).

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
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.rng import randbelow, uniform

LARGE_COST_DISCOUNT = 4.0


@njit(cache=True)
def net_benefit(large, ki, coop, pull, activity, fee_sme, fee_large, taste, benefit_base,
                benefit_knowledge, benefit_pull, benefit_activity, benefit_taste, cost_weight):
    """The utility below from scalars (a compiled call that passes many arrays costs more than
    this arithmetic); ``large`` is True for a large firm."""
    if large:
        cost = cost_weight * fee_large / 1000.0 / LARGE_COST_DISCOUNT
    else:
        cost = cost_weight * fee_sme / 1000.0
    return (benefit_base + benefit_knowledge * ki * coop + benefit_pull * pull
            + benefit_activity * activity + benefit_taste * taste - cost)


@njit(cache=True)
def utility(i, c, atype, sector, taste, sector_coop, sector_ki, cl_pull, cl_activity,
            cl_fee_sme, cl_fee_large, benefit_base, benefit_knowledge, benefit_pull,
            benefit_activity, benefit_taste, cost_weight):
    """Net benefit of membership of cluster ``c`` for company ``i`` (utility units)."""
    s = sector[i]
    return net_benefit(atype[i] == 1, sector_ki[s], sector_coop[s], cl_pull[c], cl_activity[c],
                       cl_fee_sme[c], cl_fee_large[c], taste[i], benefit_base,
                       benefit_knowledge, benefit_pull, benefit_activity, benefit_taste,
                       cost_weight)


@njit(cache=True)
def membership_step(
    n, alive, atype, sector, taste, cluster, sector_clusters, cl_active, cl_recruit, cl_pull,
    cl_activity, cl_fee_sme, cl_fee_large, cl_members, sector_coop, sector_ki,
    awareness_base, awareness_recruit, benefit_base, benefit_knowledge, benefit_pull,
    benefit_activity, benefit_taste, cost_weight, noise, leave_rate, rd_join_rate, rng,
    out_flows,
):
    """Apply one quarter of membership decisions in index order.

    Parameters
    ----------
    sector_clusters : ndarray(int32, (S, k))  clusters recruiting in each sector, -1 padded.
    cl_* : ndarray((C,))                      per-cluster state this quarter (fees in EUR/year).
    cl_members : ndarray(int64, (C,))         member counts, updated in place.
    out_flows : ndarray(int64, (C, 2))        joins and leaves per cluster, incremented.
    """
    k_max = sector_clusters.shape[1]
    cand = np.empty(k_max, np.int32)
    for i in range(n):
        if not alive[i]:
            continue
        c = cluster[i]
        if c >= 0:
            if atype[i] <= 1 and uniform(rng) < leave_rate:
                u = net_benefit(atype[i] == 1, sector_ki[sector[i]], sector_coop[sector[i]],
                                cl_pull[c], cl_activity[c], cl_fee_sme[c], cl_fee_large[c],
                                taste[i], benefit_base, benefit_knowledge, benefit_pull,
                                benefit_activity, benefit_taste, cost_weight)
                if uniform(rng) >= 1.0 / (1.0 + np.exp(-u / noise)):
                    cluster[i] = -1
                    cl_members[c] -= 1
                    out_flows[c, 1] += 1
            continue
        s = sector[i]
        nk = 0
        for m in range(k_max):
            cc = sector_clusters[s, m]
            if cc >= 0 and cl_active[cc]:
                cand[nk] = cc
                nk += 1
        if nk == 0:
            continue
        c = cand[randbelow(rng, nk)] if nk > 1 else cand[0]
        if atype[i] <= 1:
            if uniform(rng) >= awareness_base + awareness_recruit * cl_recruit[c]:
                continue
            u = net_benefit(atype[i] == 1, sector_ki[s], sector_coop[s], cl_pull[c],
                            cl_activity[c], cl_fee_sme[c], cl_fee_large[c], taste[i],
                            benefit_base, benefit_knowledge, benefit_pull, benefit_activity,
                            benefit_taste, cost_weight)
            if uniform(rng) < 1.0 / (1.0 + np.exp(-u / noise)):
                cluster[i] = c
                cl_members[c] += 1
                out_flows[c, 0] += 1
        elif uniform(rng) < rd_join_rate * cl_pull[c]:
            cluster[i] = c
            cl_members[c] += 1
            out_flows[c, 0] += 1
