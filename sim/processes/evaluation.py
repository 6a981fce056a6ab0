"""Sub-step 12 (Q4), evaluation: every ``period_years`` after its launch, the Region checks
each active cluster's critical mass and its members' involvement, and drops the clusters that
fail (docs/ODD.md, submodel 7.12)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels.predicates import is_company
from sim.state.codes import DROPPED

if TYPE_CHECKING:
    from sim.model import ClusterModel


def evaluate_clusters(m: ClusterModel) -> None:
    """Every ``period_years`` after its launch, the Region checks each active cluster's
    critical mass and members' involvement, and drops the clusters that fail."""
    ev, cl, a = m.sc.policy.evaluation, m.clusters, m.actors
    if not ev.enabled:
        return
    n = a.n
    launch_year = m.sc.time.start_year + cl.launch_step // 4
    age = m.year - launch_year
    due = np.flatnonzero(cl.active & (age > 0) & (age % ev.period_years == 0))
    if len(due) == 0:
        return
    # members, member companies, companies involved since the last evaluation (dropping one
    # cluster changes no other cluster's counts)
    counts = involvement_counts(a.view, n, cl.view)
    for c in due:
        members, companies, involved = counts[c].tolist()
        involvement = involved / companies if companies else 0.0
        fails = (members < ev.min_members, involvement < ev.min_involvement)
        failed = any(fails) if ev.fail_when == "any" else all(fails)
        m.evaluations.append((m.year, cl.names[c], members, involvement, bool(failed)))
        cl.last_eval_step[c] = m.t
        if failed:
            cl.set_status(c, DROPPED, m.t)
            cl.effort[c] = 0.0  # the animator's post ends with the Region's funding
            m.agreements.end(c, m.t)
            a.cluster[:n][a.cluster[:n] == c] = -1


@njit(cache=True)
def involvement_counts(a, n, cl):
    """Per cluster (int64, ``(C, 3)``): members, member companies, and member companies that
    started a project at or after the cluster's last evaluation step."""
    atype, cluster, last_project, since = a.atype, a.cluster, a.last_project, cl.last_eval_step
    out = np.zeros((since.shape[0], 3), np.int64)
    for i in range(n):
        c = cluster[i]
        if c < 0:
            continue
        out[c, 0] += 1
        if is_company(atype[i]):
            out[c, 1] += 1
            if last_project[i] >= since[c]:
                out[c, 2] += 1
    return out
