"""Sub-step 6, partnering: companies search partners and launch partnerships, in the clusters
and outside them (the hot path: the group index, the groups' probabilities and the partner
search in one compiled call, :func:`cluster_partnering`, around the shared rule of
:func:`sim.kernels.consortia.form_consortia`); the new partnerships start as projects and are
booked per cluster.

Every living company partners, in one of ``C + 1`` groups: the members of each active cluster
(group ``c``), and every other company (group ``C``, "outside").  Outside, a company
initiates at ``outside_rate x initiate_rate`` (times its sector's cooperation propensity, as
in the clusters), finds its candidates among the other companies and research actors outside
clusters and among its remembered partners, and knows a random candidate with the base
discovery chance: firms cooperate without the policy.  A cluster adds what its animator's
effort buys (initiation raised by the partnership effort, discovery by "knowing each other",
cross-cluster search by the mapping) and a pool of related firms; the difference between the
two is the policy's additionality, and what members would have done outside its deadweight.
Outside partnerships are projects without a cluster (``cluster = -1``); the seed's partnership
figures count the clusters' only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels.consortia import GROUP, consortium_rule, draw_initiators, form_consortia
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
    "cross_prob": _P + "cross_cluster_prob", "foreign_prob": _P + "foreign_prob",
    "outside_rate": _P + "outside_rate"})
# how a member searches and who accepts, in the clusters and at the poles' calls alike
SEARCH = {"w_h": _P + "w_horizontal", "w_v": _P + "w_vertical", "w_t": _P + "w_trust",
          "w_p": _P + "w_proximity", "threshold": _P + "accept_threshold",
          "n_candidates": _P + "candidates", "max_refusals": _P + "max_refusals"}
RULE = consortium_rule(
    **SEARCH, nc_prob=_P + "rd_candidate_prob", grow_prob=_P + "consortium_growth",
    max_size=_P + "max_consortium", use_coop=lambda sc: True, require_mix=lambda sc: False,
    mark_involvement=lambda sc: True)


def partnering(m: ClusterModel) -> None:
    """Companies search partners and launch partnerships, in the clusters and outside them
    (the hot path, one compiled call)."""
    a, cl = m.actors, m.clusters
    agreements = m.agreements.active_counts(len(cl.names), m.t)
    rows = 0
    while True:
        m.consortia = m.consortia.ensure(rows, m.sc.behaviour.partnering.max_consortium)
        k, group = cluster_partnering(a.view, a.n, cl.view, agreements, m.sectors, RATES.of(m),
                                      RULE.of(m), m.t, m.streams["partnering"],
                                      m.consortia.view, None, None)
        if k >= 0:
            break
        rows = -k  # more initiators than buffer rows: grow them, call again (same draws)
    if k == 0:
        cl.launched_recent[:, m.t % 4] = 0
        return
    p, led = m.projects, m.ledger
    p.reserve(k)
    n_cluster, n_cross, n_foreign = commit_partnerships(
        k, p.view, p.n_free, m.consortia.view, group, cl.launched_recent, m.t, PROJECTS.of(m),
        m.streams["durations"], led.view, m.actors.atype)
    p.n_free -= k
    led.add("launched_total", n_cluster)
    led.add("outside_launched", k - n_cluster)
    led.add("cross_launched", n_cross)
    led.add("foreign_launched", n_foreign)


@njit(cache=True)
def partner_groups(cluster, active, n):
    """Each actor's partnering group (int16, as the actors' ``cluster``): its cluster when that
    cluster is active, ``C`` (outside) otherwise, for the rows ``< n``."""
    n_c = active.shape[0]
    group = np.empty(n, np.int16)
    for i in range(n):
        c = cluster[i]
        group[i] = c if c >= 0 and active[c] else n_c
    return group


@njit(cache=True)
def cluster_probabilities(rates, cl, agreements):
    """Per group (one :data:`sim.kernels.consortia.GROUP` row each: the ``C`` clusters, then
    the outside):

    rate = initiate_rate (1 + initiate_promotion x partnership effort) in active clusters (0
    elsewhere), outside_rate x initiate_rate outside; discovery = 1 - (1 - discovery_base)
    exp(-discovery_effort x "knowing each other" effort), discovery_base outside; cross =
    min(1, cross_prob (1 + mapping effort)), 0 outside; foreign = min(1, foreign_prob (1 +
    agreements in force)), foreign_prob outside.
    """
    r = rates[0]
    active, effort = cl.active, cl.effort
    n_c = active.shape[0]
    out = np.empty(n_c + 1, GROUP)
    for c in range(n_c):
        out[c].rate = (r.initiate_rate * (1.0 + r.initiate_promotion * effort[c, PARTNERSHIPS])
                       if active[c] else 0.0)
        out[c].discovery = 1.0 - (1.0 - r.discovery_base) * np.exp(
            -r.discovery_effort * effort[c, KNOW])
        out[c].cross = min(1.0, r.cross_prob * (1.0 + effort[c, MAPPING]))
        out[c].foreign = min(1.0, r.foreign_prob * (1.0 + agreements[c]))
    out[n_c].rate = r.outside_rate * r.initiate_rate
    out[n_c].discovery = r.discovery_base
    out[n_c].cross = 0.0
    out[n_c].foreign = min(1.0, r.foreign_prob)
    return out


@njit(cache=True)
def cluster_partnering(a, n, cl, agreements, sectors, rates, rule, step, rng, out, work=None,
                       index=None):
    """One quarter's partnership step, in the clusters and outside them, in one compiled call.

    Groups the living actors (:func:`partner_groups`: each active cluster's members, and the
    outside), indexes them (:func:`sim.kernels.groups.member_index`), computes the groups'
    probabilities (:func:`cluster_probabilities`) and runs :func:`form_consortia` (every
    living company a potential initiator, its sector's cooperation propensity applied,
    cross-cluster search among the active clusters).  One call instead of a dozen NumPy
    operations keeps the step's fixed cost near Numba's dispatch (a few microseconds), which
    matters at small sizes and many replications.

    Returns the number of consortia written to ``out`` and the actors' groups; when ``out``
    has fewer rows than this quarter's initiators (each could lead one consortium), minus
    that number, with ``rng`` as it was: the caller grows the buffers and calls again, which
    draws the same initiators.

    ``work``: see :func:`form_consortia`.  ``index``, optional: the groups' index (the five
    arrays of :func:`sim.kernels.groups.member_index` over :func:`partner_groups`, which must
    be up to date) when the caller keeps one; the model does not (it builds the index here
    every quarter), but ``benchmarks/bench_index.py`` passes one built once, to measure what
    keeping it up to date across quarters would save.
    """
    active = cl.active
    n_c = active.shape[0]
    group = partner_groups(a.cluster, active, n)
    # the whole step stays in one compiled call: splitting off the part after the index cost
    # more than the rest of a small step (docs/performance.md)
    if index is None:
        co_ptr, co_idx, nc_ptr, nc_idx, pool_group = member_index(group, a.atype, a.alive,
                                                                  n_c + 1)
    else:
        co_ptr, co_idx, nc_ptr, nc_idx, pool_group = index
    if co_idx.shape[0] == 0:
        return 0, group
    groups = cluster_probabilities(rates, cl, agreements)
    # each initiator leads one consortium at most: the buffers need this quarter's initiators
    # (drawn on a copy of the stream, which form_consortia then draws again)
    probe = rng.copy()
    n_init = draw_initiators(co_idx, pool_group, groups, rule[0].use_coop, sectors, a.sector,
                             probe).shape[0]
    if n_init > out.members.shape[0]:
        return -n_init, group
    n_active = 0
    for c in range(n_c):
        n_active += active[c]
    cross_groups = np.empty(n_active, np.int32)
    q = 0
    for c in range(n_c):
        if active[c]:
            cross_groups[q] = c
            q += 1
    k = form_consortia(co_idx, pool_group, (co_ptr, co_idx, nc_ptr, nc_idx, cross_groups),
                       groups, sectors, a, group, step, rule, rng, out, work)
    return k, group


@njit(cache=True)
def tally_launches(k, cons, group, recent, col, led):
    """Book ``k`` consortia of the partnership step: per cluster, launches and members
    involved are added to the ledger's ``launched`` and ``launched_members`` and the members
    involved this quarter written to ``recent[:, col]``; the consortia of the outside group
    (``C``) are not a cluster's.  A cluster's consortium is cross-cluster when a member belongs
    to another active cluster (``group``, the actors' partnering groups); ``cons.cross`` is
    set to that.  Returns (cluster partnerships, cross-cluster, cluster partnerships with a
    foreign partner)."""
    launched, launched_members = led.launched, led.launched_members
    n_c = launched.shape[0]
    g_of, size, members, foreign = cons.group, cons.size, cons.members, cons.foreign
    involved = np.zeros(n_c, np.int64)
    n_cluster = 0
    n_cross = 0
    n_foreign = 0
    for r in range(k):
        g = g_of[r]
        cross = False
        if g < n_c:
            for m in range(size[r]):
                h = group[members[r, m]]
                if h < n_c and h != g:
                    cross = True
            launched[g] += 1
            involved[g] += size[r]
            n_cluster += 1
            n_cross += cross
            n_foreign += foreign[r] > 0
        cons.cross[r] = cross
    for g in range(n_c):
        launched_members[g] += involved[g]
        recent[g, col] = involved[g]
    return n_cluster, n_cross, n_foreign


@njit(cache=True)
def commit_partnerships(k, p, n_free, cons, group, recent, step, params, rng, led, atype):
    """Start the ``k`` new partnerships (the rows of ``cons``) as projects and book them, in
    one call: tallied per cluster by :func:`tally_launches` into ``recent`` (the clusters'
    launched_recent), then written by :func:`sim.processes.projects.store_projects` with no
    pole and no call (and no cluster for the outside group's) into the slots popped from the
    top of the free-list stack (``p.free[:n_free]``, the top first, as
    :meth:`sim.state.projects.Projects.take`; the caller has reserved them and lowers its
    ``n_free`` by ``k``; ``atype``, the actors' types, counts each project's companies for
    their own R&D budget).  Returns the tally's counts."""
    free, g_of = p.free, cons.group
    n_c = recent.shape[0]
    counts = tally_launches(k, cons, group, recent, step % 4, led)
    slots = np.empty(k, np.int32)
    cluster = np.empty(k, np.int16)
    for q in range(k):
        slots[q] = free[n_free - 1 - q]
        cluster[q] = g_of[q] if g_of[q] < n_c else -1
    rows = np.arange(k)
    store_projects(p, slots, cons, rows, cluster, np.full(k, -1, np.int16), np.int64(-1), step,
                   params, rng, atype)
    return counts
