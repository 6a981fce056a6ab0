"""Sub-step 2, pole selection: in the selection quarter, the candidate poles are checked
against the seed's four criteria; the selected ones enrol the cluster members of their
sectors and may absorb the clusters they cover (docs/ODD.md, submodel 7.2).

1. partnership of enterprises, research and training centres: at least ``min_rd_actors``
   universities or research centres and ``min_training_actors`` training centres;
2. innovative projects: at least ``min_innovation`` innovations by the sectors' companies;
3. critical mass: ``min_companies`` companies that are cluster members or past partners;
4. activities across Wallonia: such companies in ``min_provinces`` provinces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels.predicates import is_company, is_research, is_training
from sim.state.codes import ABSORBED, N_PROVINCES, NOT_SELECTED, SELECTED

if TYPE_CHECKING:
    from sim.model import ClusterModel


def select_poles(m: ClusterModel) -> None:
    """In the selection quarter, candidate poles are checked against the four criteria."""
    pp, po, a = m.sc.policy.poles, m.poles, m.actors
    if m.t != po.selection_step:
        return
    n = a.n
    alive = a.alive[:n]
    for p in range(len(po.names)):
        rd, tr, innov, engaged, provinces = selection_counts(a.view, n, po.sectors[p])
        ok = (rd >= pp.min_rd_actors and tr >= pp.min_training_actors
              and innov >= pp.min_innovation and engaged >= pp.min_companies
              and provinces >= pp.min_provinces)
        po.status[p] = SELECTED if ok else NOT_SELECTED
        if not ok:
            continue
        # cluster members of the pole's sectors become pole members
        in_sec = alive & po.sectors[p][a.sector[:n]]
        a.pole[:n][in_sec & (a.cluster[:n] >= 0)] = p
        if pp.absorb_clusters:
            absorb(m, p)


def absorb(m: ClusterModel, p: int) -> None:
    """Pole ``p`` absorbs the active clusters whose sectors are all its own."""
    cl, a, n = m.clusters, m.actors, m.actors.n
    covered = cl.active & ~(cl.sectors & ~m.poles.sectors[p]).any(axis=1)
    for c in np.flatnonzero(covered):
        cl.set_status(c, ABSORBED, m.t)
        cl.effort[c] = 0.0
        m.agreements.end(c, m.t)
        cl.pole[c] = p
        a.cluster[:n][a.cluster[:n] == c] = -1
        m.ledger.add("clusters_absorbed", 1)


@njit(cache=True)
def selection_counts(a, n, in_sectors):
    """What the poles' selection checks, for one candidate pole (``in_sectors``: bool by
    sector): its universities and research centres, training centres, innovations, engaged
    companies (cluster members or past partners) and the provinces of the latter.

    Returns ``(rd, training, innovations, engaged, provinces)``.
    """
    alive, atype, sector, cluster = a.alive, a.atype, a.sector, a.cluster
    last_project, innovations, province = a.last_project, a.innovations, a.province
    rd = 0
    tr = 0
    innov = 0
    engaged = 0
    seen = np.zeros(N_PROVINCES, np.bool_)
    for i in range(n):
        if not alive[i] or not in_sectors[sector[i]]:
            continue
        t = atype[i]
        innov += innovations[i]
        if is_research(t):
            rd += 1
        elif is_training(t):
            tr += 1
        elif is_company(t) and (cluster[i] >= 0 or last_project[i] >= 0):
            engaged += 1
            seen[province[i]] = True
    provinces = 0
    for q in range(N_PROVINCES):
        provinces += seen[q]
    return rd, tr, innov, engaged, provinces
