"""The year's indicators (sub-step 13): the census of the stocks, the rows' values, the record.

:func:`record_year` takes the year-end census into the ledger's stocks (:func:`year_census`:
one pass over the actors, one over the projects, one over the institutions), evaluates every row of the year's plan
from the ledger's buffer (:func:`evaluate`) and records them.  Float sums are NumPy's
(:func:`sim.kernels.sums.pairwise_sum`), so every value is the one ``ndarray.sum`` gives.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.indicators.layout import SUM, year_plan
from sim.kernels.predicates import is_company
from sim.kernels.sums import pairwise_sum
from sim.state.codes import (
    ACTIVE,
    ALL_COMPANIES,
    DROPPED,
    MEMBERS,
    N_ACTOR_TYPES,
    NON_MEMBERS,
    SELECTED,
)

if TYPE_CHECKING:
    from sim.model import ClusterModel


@njit(cache=True)
def fabric_and_members(a, n, export_intensity, led):
    """The actors' stocks of the year, in one pass over rows ``< n``: the members of each
    cluster by actor type (``led.members``), the living actors of each pole
    (``led.pole_members``), and the companies' employment, value added, exports
    (``value_added * export_share`` of exporters, the share set by the economy from
    productivity; ``export_intensity`` is no longer read here), exporters and number by group (members,
    non-members, all) as :func:`pairwise_sum` over each group's rows in row order
    (``x[mask].sum()`` without its ``0.0 +``).

    Which actors are members, companies or exporters follows no pattern the processor can
    predict, so the pass has no branch on them: an actor of no cluster (of no pole, or dead) is
    counted in a spare last row, and every actor's values are written at the next free place
    of each group's columns, whose counter only moves past them when the actor belongs to the
    group (otherwise the group's next company overwrites them); the same pass with branches
    took half as long again (docs/performance.md).
    """
    alive, atype, cluster, pole = a.alive, a.atype, a.cluster, a.pole
    employment, value_added, exporter = a.employment, a.value_added, a.exporter
    export_share = a.export_share
    members, pole_members = led.members, led.pole_members
    n_c = members.shape[0]
    n_p = pole_members.shape[0]
    by_type = np.zeros((n_c + 1, N_ACTOR_TYPES), np.int64)  # last row: no cluster
    per_pole = np.zeros(n_p + 1, np.int64)  # last: dead or no pole
    cols = np.empty((9, n))  # employment, value added, exports of members, others, all
    k_m, k_o, k_a = 0, 0, 0
    x_m, x_o, x_a = 0, 0, 0
    for i in range(n):
        c = cluster[i]
        ty = atype[i]
        p = pole[i]
        by_type[c if c >= 0 else n_c, ty] += 1
        per_pole[p if alive[i] & (p >= 0) else n_p] += 1
        company = alive[i] & is_company(ty)
        member = company & (c >= 0)
        other = company & (c < 0)
        xp = exporter[i]
        emp = employment[i]
        va = value_added[i]
        ex = va * (export_share[i] if xp else 0.0)
        cols[0, k_m] = emp
        cols[1, k_m] = va
        cols[2, k_m] = ex
        cols[3, k_o] = emp
        cols[4, k_o] = va
        cols[5, k_o] = ex
        cols[6, k_a] = emp
        cols[7, k_a] = va
        cols[8, k_a] = ex
        k_m += member
        k_o += other
        k_a += company
        x_m += member & xp
        x_o += other & xp
        x_a += company & xp
    for c in range(n_c):
        for ty in range(N_ACTOR_TYPES):
            members[c, ty] = by_type[c, ty]
    for p in range(n_p):
        pole_members[p] = per_pole[p]
    for g, k, x in ((MEMBERS, k_m, x_m), (NON_MEMBERS, k_o, x_o), (ALL_COMPANIES, k_a, x_a)):
        led.employment[g] = pairwise_sum(cols[3 * g], 0, k)
        led.value_added[g] = pairwise_sum(cols[3 * g + 1], 0, k)
        led.exports[g] = pairwise_sum(cols[3 * g + 2], 0, k)
        led.exporters[g] = x
        led.companies[g] = k


@njit(cache=True)
def projects_under_way(p, alive, n, led):
    """The projects' stocks of the year: cluster partnerships under way by cluster
    (``led.partnerships_active``), pole projects under way by pole
    (``led.pole_projects_active``), the distinct living actors among the members of the
    cluster partnerships under way (``led.involved``) and the partnerships outside the
    clusters under way (``led.outside_active``)."""
    active, call, cluster, pole, members = p.active, p.call, p.cluster, p.pole, p.members
    pa, pp = led.partnerships_active, led.pole_projects_active
    pa[:] = 0.0
    pp[:] = 0.0
    seen = np.zeros(n, np.bool_)
    involved = 0
    outside = 0
    for q in range(active.shape[0]):
        if not active[q]:
            continue
        if call[q] >= 0:
            pp[pole[q]] += 1.0
            continue
        if cluster[q] < 0:  # a partnership outside the clusters
            outside += 1
            continue
        pa[cluster[q]] += 1.0
        for m in range(members.shape[1]):
            j = members[q, m]
            if j >= 0 and not seen[j]:
                seen[j] = True
                if alive[j]:
                    involved += 1
    led.involved[()] = involved
    led.outside_active[()] = outside


@njit(cache=True)
def institutions(cl, po, agreements, step, led):
    """The institutions' stocks of the year: clusters active, dropped this year (by cluster),
    their agreements in force, their animators' effort (the sum over the tasks), the poles
    selected and the budget left."""
    status, status_step, effort = cl.status, cl.status_step, cl.effort
    dropped, agreements_active, effort_fte = led.dropped, led.agreements_active, led.effort_fte
    n_c = status.shape[0]
    active = 0
    for c in range(n_c):
        active += status[c] == ACTIVE
        dropped[c] = 1.0 if status[c] == DROPPED and status_step[c] > step - 4 else 0.0
        agreements_active[c] = agreements[c]
        effort_fte[c] = 0.0 + pairwise_sum(effort[c], 0, effort.shape[1])
    led.clusters_active[()] = active
    selected = 0
    for p in range(po.status.shape[0]):
        selected += po.status[p] == SELECTED
    led.poles_selected[()] = selected
    for i in range(po.remaining.shape[0]):
        led.budget_left[i] = po.remaining[i]


@njit(cache=True)
def year_census(a, n, p, cl, po, agreements, step, export_intensity, led):
    """The stocks of the year into the ledger, in one compiled call:
    :func:`fabric_and_members`, :func:`projects_under_way`, :func:`institutions`."""
    fabric_and_members(a, n, export_intensity, led)
    projects_under_way(p, a.alive, n, led)
    institutions(cl, po, agreements, step, led)


@njit(cache=True)
def _reduce(q, kind, idx, lo, hi, buf):
    if kind != SUM:
        return q[idx[lo]]
    for r in range(lo, hi):
        buf[r - lo] = q[idx[r]]
    return 0.0 + pairwise_sum(buf, 0, hi - lo)


@njit(cache=True)
def evaluate(q, num_kind, num_ptr, num_idx, den_kind, den_ptr, den_idx):
    """The value of every row of a plan (:class:`sim.indicators.layout.Plan`) from the
    ledger's buffer ``q``: its numerator's cells (one taken as it is, or added up), divided by
    its denominator's when it has one (0 when that is 0)."""
    n = num_kind.shape[0]
    out = np.empty(n)
    width = 1
    for r in range(n):
        width = max(width, num_ptr[r + 1] - num_ptr[r], den_ptr[r + 1] - den_ptr[r])
    buf = np.empty(width)
    for r in range(n):
        v = _reduce(q, num_kind[r], num_idx, num_ptr[r], num_ptr[r + 1], buf)
        if den_kind[r] >= 0:
            d = _reduce(q, den_kind[r], den_idx, den_ptr[r], den_ptr[r + 1], buf)
            v = v / d if d != 0.0 else 0.0
        out[r] = v
    return out


@lru_cache(maxsize=64)
def cohorts(start_year: int, launch_steps: tuple[int, ...]) -> tuple[tuple[int, ...],
                                                                      tuple[int, ...]]:
    """The cohorts of clusters launched at steps ``launch_steps`` of a run that starts in
    ``start_year``: their launch years in order, and the index of each cluster's among them.
    Cached: the launch steps are the same every year."""
    years, idx = np.unique(start_year + np.array(launch_steps, np.int64) // 4,
                           return_inverse=True)
    return tuple(years.tolist()), tuple(idx.tolist())


def record_year(m: ClusterModel) -> None:
    """Record every indicator of the catalogue for the year that ends now."""
    a, cl, po, led, t = m.actors, m.clusters, m.poles, m.ledger, m.t
    years, cohort_of = cohorts(m.sc.time.start_year, tuple(cl.launch_step.tolist()))
    n_c, _, n_k = led.sizes
    year_census(a.view, a.n, m.projects.view, cl.view, po.view,
                m.agreements.active_counts(n_c, t), t, m.sc.world.export_intensity, led.view)
    calls = tuple(np.flatnonzero(led.calls_held).tolist())
    plan = year_plan(cl.names, po.names, n_k, years, cohort_of, calls)
    values = evaluate(led.buffer, plan.num_kind, plan.num_ptr, plan.num_idx, plan.den_kind,
                      plan.den_ptr, plan.den_idx)
    m.recorder.add_rows(plan.strings, m.year, values)
