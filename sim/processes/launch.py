"""Sub-step 1, cluster launch: on 1 January the policy scheduled for the year comes into force
(:mod:`sim.rules.schedule`); the clusters due this quarter start, founded by companies of
their sectors (bottom-up; docs/ODD.md, submodel 7.1).  Their dates are the scenario's
(``recognition = pinned``, the historical replay) or the Region's recognitions of the groups
of firms that applied (``bottom_up``, :mod:`sim.rules.recognition`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels import libm
from sim.kernels.predicates import is_company, is_large
from sim.rules import recognition, schedule
from sim.state.codes import ACTIVE, PLANNED

if TYPE_CHECKING:
    from sim.model import ClusterModel

LARGE_FOUNDER_WEIGHT = 2.0  # a large firm is twice as likely to found (per unit capability)


def launch_clusters(m: ClusterModel) -> None:
    """Clusters due this quarter start, founded by companies of their sectors (bottom-up)."""
    if m.quarter == 1:
        schedule.apply(m)
        recognition.recognise(m)
    cl, a = m.clusters, m.actors
    if m.t not in cl.launch_step_set:
        return
    due = np.flatnonzero((cl.status == PLANNED) & (cl.launch_step == m.t))
    for c in due:
        cand, weight = founder_candidates(a.view, a.n, cl.sectors[c])
        k = min(len(cand), max(2, round(cl.founders[c] * m.sc.run.scale)))
        if k:
            a.cluster[weighted_sample(m.gen["launch"], cand, weight, k)] = c
        m.rulebook.clusters[c].members_before = float(k)
        cl.set_status(c, ACTIVE, m.t)
        cl.last_eval_step[c] = m.t
        m.ledger.clusters_created[c] += 1


def weighted_sample(rng: np.random.Generator, items: np.ndarray, weight: np.ndarray,
                    k: int) -> np.ndarray:
    """``k`` of ``items`` drawn without replacement, each draw with probability proportional to
    the weights of the items not drawn yet (successive sampling), by Efraimidis and Spirakis'
    keys: one uniform ``u`` per item, the ``k`` largest ``log(u) / weight`` win.  Exact, with one
    draw per item; items of weight 0 come after every other, in their order (cheaper than
    ``Generator.choice(replace=False, p=...)``, docs/performance.md)."""
    with np.errstate(divide="ignore"):
        key = libm.log(rng.random(len(items))) / weight
    return items[np.argsort(-key, kind="stable")[:k]]


@njit(cache=True)
def founder_candidates(a, n, in_sectors):
    """The living companies of no cluster whose sector is in ``in_sectors`` (bool by sector):
    their rows (int64, in order) and weights (capability, doubled for a large firm)."""
    alive, atype, cluster, sector, capability = a.alive, a.atype, a.cluster, a.sector, \
        a.capability
    cand = np.empty(n, np.int64)
    weight = np.empty(n)
    k = 0
    for i in range(n):
        if alive[i] and is_company(atype[i]) and cluster[i] < 0 and in_sectors[sector[i]]:
            cand[k] = i
            weight[k] = capability[i] * (LARGE_FOUNDER_WEIGHT if is_large(atype[i]) else 1.0)
            k += 1
    return cand[:k], weight[:k]
