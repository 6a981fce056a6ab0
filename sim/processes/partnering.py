"""Sub-step 6, partnering: the members of every active cluster search partners and launch
partnerships (the hot path: the member index, the clusters' probabilities and the partner
search in one compiled call, :func:`cluster_partnering`, around the shared rule of
:func:`sim.kernels.consortia.form_consortia`); the new partnerships start as projects and are
booked per cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels.consortia import GROUP, consortium_rule, form_consortia
from sim.kernels.groups import member_index
from sim.processes.projects import PARAMS as PROJECTS
from sim.processes.projects import store_projects
from sim.state.codes import KNOW, MAPPING, PARTNERSHIPS
from sim.state.params import Params

if TYPE_CHECKING:
    from sim.model import ClusterModel

_P = "behaviour.partnering."
# the clusters' probabilities: initiation (raised by the animator's partnership effort),
# discovery of a candidate ("knowing each other"), cross-cluster search (mapping), a foreign
# partner (the cluster's agreements with foreign clusters)
RATES = Params(floats={
    "initiate_rate": _P + "initiate_rate", "initiate_promotion": _P + "initiate_promotion",
    "discovery_base": _P + "discovery_base", "discovery_effort": _P + "discovery_effort",
    "cross_prob": _P + "cross_cluster_prob", "foreign_prob": _P + "foreign_prob"})
# how a member searches and who accepts, in the clusters and at the poles' calls alike
SEARCH = {"w_h": _P + "w_horizontal", "w_v": _P + "w_vertical", "w_t": _P + "w_trust",
          "w_p": _P + "w_proximity", "threshold": _P + "accept_threshold",
          "n_candidates": _P + "candidates", "max_refusals": _P + "max_refusals"}
RULE = consortium_rule(
    **SEARCH, nc_prob=_P + "rd_candidate_prob", grow_prob=_P + "consortium_growth",
    max_size=_P + "max_consortium", use_coop=lambda sc: True, require_mix=lambda sc: False,
    mark_involvement=lambda sc: True)


def partnering(m: ClusterModel) -> None:
    """Members search partners and launch partnerships (the hot path, one compiled call)."""
    a, cl = m.actors, m.clusters
    agreements = m.agreements.active_counts(len(cl.names), m.t)
    rows = 0
    while True:
        m.consortia = m.consortia.ensure(rows, m.sc.behaviour.partnering.max_consortium)
        k = cluster_partnering(a.view, a.n, cl.view, agreements, m.sectors, RATES.of(m),
                               RULE.of(m), m.t, m.streams["partnering"], m.consortia.view, None,
                               None)
        if k >= 0:
            break
        rows = -k  # more member companies than buffer rows: grow them, call again
    if k == 0:
        cl.launched_recent[:, m.t % 4] = 0
        return
    p, led = m.projects, m.ledger
    p.reserve(k)
    n_cross, n_foreign = commit_partnerships(k, p.view, p.n_free, m.consortia.view,
                                             cl.launched_recent, m.t, PROJECTS.of(m),
                                             m.streams["durations"], led.view)
    p.n_free -= k
    led.add("launched_total", k)
    led.add("cross_launched", n_cross)
    led.add("foreign_launched", n_foreign)


@njit(cache=True)
def cluster_probabilities(rates, cl, agreements):
    """Per cluster (one :data:`sim.kernels.consortia.GROUP` row each):

    rate = initiate_rate (1 + initiate_promotion x partnership effort) in active clusters (0
    elsewhere); discovery = 1 - (1 - discovery_base) exp(-discovery_effort x "knowing each
    other" effort); cross = min(1, cross_prob (1 + mapping effort)); foreign = min(1,
    foreign_prob (1 + agreements in force)).
    """
    r = rates[0]
    active, effort = cl.active, cl.effort
    n_c = active.shape[0]
    out = np.empty(n_c, GROUP)
    for c in range(n_c):
        out[c].rate = (r.initiate_rate * (1.0 + r.initiate_promotion * effort[c, PARTNERSHIPS])
                       if active[c] else 0.0)
        out[c].discovery = 1.0 - (1.0 - r.discovery_base) * np.exp(
            -r.discovery_effort * effort[c, KNOW])
        out[c].cross = min(1.0, r.cross_prob * (1.0 + effort[c, MAPPING]))
        out[c].foreign = min(1.0, r.foreign_prob * (1.0 + agreements[c]))
    return out


@njit(cache=True)
def cluster_partnering(a, n, cl, agreements, sectors, rates, rule, step, rng, out, work=None,
                       index=None):
    """One quarter's partnership step in the clusters, in one compiled call.

    Indexes the living members of every cluster (:func:`sim.kernels.groups.member_index`),
    computes the per-cluster probabilities (:func:`cluster_probabilities`) and runs
    :func:`form_consortia` in cluster mode (every member company a potential initiator, its
    sector's cooperation propensity applied, cross-cluster search among the active clusters).
    One call instead of a dozen NumPy operations keeps the step's fixed cost near Numba's
    dispatch (a few microseconds), which matters at small sizes and many replications.

    Returns the number of consortia written to ``out``, or, when ``out`` has fewer rows than
    there are living member companies (each could lead one consortium), minus that number,
    before any draw: the caller grows the buffers and calls again.

    ``work``: see :func:`form_consortia`.  ``index``, optional: the clusters' member index (the
    five arrays of :func:`sim.kernels.groups.member_index`, which must be up to date) when the
    caller keeps one; the model does not (it builds the index here every quarter), but
    ``benchmarks/bench_index.py`` passes one built once, to measure what keeping it up to date
    across quarters would save.
    """
    active = cl.active
    n_c = active.shape[0]
    # the whole step stays in one compiled call: splitting off the part after the index cost
    # more than the rest of a small step (docs/performance.md)
    if index is None:
        co_ptr, co_idx, nc_ptr, nc_idx, pool_group = member_index(a.cluster[:n], a.atype,
                                                                  a.alive, n_c)
    else:
        co_ptr, co_idx, nc_ptr, nc_idx, pool_group = index
    if co_idx.shape[0] == 0:
        return 0
    if co_idx.shape[0] > out.members.shape[0]:
        return -co_idx.shape[0]
    n_active = 0
    for c in range(n_c):
        n_active += active[c]
    cross_groups = np.empty(n_active, np.int32)
    q = 0
    for c in range(n_c):
        if active[c]:
            cross_groups[q] = c
            q += 1
    groups = cluster_probabilities(rates, cl, agreements)
    return form_consortia(co_idx, pool_group, (co_ptr, co_idx, nc_ptr, nc_idx, cross_groups),
                          groups, sectors, a, a.cluster, step, rule, rng, out, work)


@njit(cache=True)
def tally_launches(k, cons, recent, col, led):
    """Book ``k`` consortia of the clusters' partnership step: per cluster, launches and
    members involved are added to the ledger's ``launched`` and ``launched_members`` and the
    members involved this quarter written to ``recent[:, col]``; returns (cross-cluster, with
    a foreign partner)."""
    launched, launched_members = led.launched, led.launched_members
    group, size, cross, foreign = cons.group, cons.size, cons.cross, cons.foreign
    involved = np.zeros(launched.shape[0], np.int64)
    n_cross = 0
    n_foreign = 0
    for r in range(k):
        g = group[r]
        launched[g] += 1
        involved[g] += size[r]
        n_cross += cross[r] != 0
        n_foreign += foreign[r] > 0
    for g in range(launched.shape[0]):
        launched_members[g] += involved[g]
        recent[g, col] = involved[g]
    return n_cross, n_foreign


@njit(cache=True)
def commit_partnerships(k, p, n_free, cons, recent, step, params, rng, led):
    """Start the clusters' ``k`` new partnerships (the rows of ``cons``) as projects and book
    them, in one call: the slots are popped from the top of the free-list stack
    (``p.free[:n_free]``, the top first, as :meth:`sim.state.projects.Projects.take`; the
    caller has reserved them and lowers its ``n_free`` by ``k``), written by
    :func:`sim.processes.projects.store_projects` with no pole and no call, and tallied per
    cluster by :func:`tally_launches` into ``recent`` (the clusters' launched_recent; whose
    counts it returns)."""
    free, group = p.free, cons.group
    slots = np.empty(k, np.int32)
    cluster = np.empty(k, np.int16)
    for q in range(k):
        slots[q] = free[n_free - 1 - q]
        cluster[q] = group[q]
    rows = np.arange(k)
    store_projects(p, slots, cons, rows, cluster, np.full(k, -1, np.int16), np.int64(-1), step,
                   params, rng)
    return tally_launches(k, cons, recent, step % 4, led)
