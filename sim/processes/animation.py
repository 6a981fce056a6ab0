"""Sub-step 3, animation funding: the Region's animation subsidy (its amount and taper
chosen by the rulebook, :mod:`sim.rules.funding`), the members' fees, and the animators' effort by task; and the clusters' census of the quarter, which the
membership (sub-step 5) reads too.

An animator is hired only with a subsidy; fees complement it up to their caps.  Effort is
the budget in full-time animators, split over the tasks by the policy's shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels.predicates import is_company
from sim.rules.funding import LARGE_FEE_UNITS, subsidies
from sim.state.codes import LARGE, N_ACTOR_TYPES, N_TASKS, SME, TASKS
from sim.state.params import Params

if TYPE_CHECKING:
    from sim.model import ClusterModel

_A = "policy.animation."
PARAMS = Params(
    floats={"cost_eur": _A + "cost_eur_per_year",
            "fee_cap_sme": _A + "fee_cap_sme_eur", "fee_cap_large": _A + "fee_cap_large_eur"},
    arrays={"shares": (lambda sc: [getattr(sc.policy.animation, f"effort_{task}")
                                   for task in TASKS], N_TASKS)},
)

# the clusters' census of a quarter, one row per cluster
CENSUS = np.dtype([("members", np.int64), ("pull", np.float64), ("activity", np.float64),
                   ("n_sme", np.int64), ("n_large", np.int64)], align=True)


def fund_animation(m: ClusterModel) -> np.ndarray:
    """The clusters' census of this quarter, then their animation budget: subsidy (by the
    rulebook's subsidy and taper rules), fees and effort by task.
    Returns the census (one :data:`CENSUS` row per cluster), for the membership of sub-step 5:
    nothing joins or leaves in between."""
    a, cl = m.actors, m.clusters
    census = np.empty(len(cl.names), CENSUS)
    cluster_census(a.view, a.n, cl.view, census)
    years = np.maximum((m.t - cl.launch_step) // 4, 0)
    cl.subsidy[:] = subsidies(years, cl.active, census, m.rulebook.scores(),
                              m.rulebook.factors(), m.sc.policy.rules.animation,
                              m.sc.policy.animation)
    animation_budget(census, cl.view, PARAMS.of(m), m.ledger.view)
    return census


@njit(cache=True)
def cluster_census(a, n, cl, census):
    """Per cluster, in one pass over the actors of rows ``< n``: its members, its member SMEs
    and large firms, its pull (member companies over the living companies of its sectors, at
    least 1) and its activity (members involved in the launches of the last four quarters per
    member, at least 1)."""
    alive, atype, sector, cluster = a.alive, a.atype, a.sector, a.cluster
    cl_sectors, launched_recent = cl.sectors, cl.launched_recent
    n_c, n_s = cl_sectors.shape
    by_type = np.zeros((n_c, N_ACTOR_TYPES), np.int64)
    per_sector = np.zeros(n_s, np.int64)
    for i in range(n):
        c = cluster[i]
        if c >= 0:
            by_type[c, atype[i]] += 1
        if alive[i] and is_company(atype[i]):
            per_sector[sector[i]] += 1
    for c in range(n_c):
        potential = 0
        for s in range(n_s):
            if cl_sectors[c, s]:
                potential += per_sector[s]
        members = 0
        for ty in range(N_ACTOR_TYPES):
            members += by_type[c, ty]
        involved = 0
        for q in range(launched_recent.shape[1]):
            involved += launched_recent[c, q]
        census[c].members = members
        census[c].n_sme = by_type[c, SME]
        census[c].n_large = by_type[c, LARGE]
        census[c].pull = (by_type[c, SME] + by_type[c, LARGE]) / max(potential, 1)
        census[c].activity = involved / max(members, 1)


@njit(cache=True)
def animation_budget(census, cl, params, led):
    """The clusters' animation budget this quarter, from their subsidy (``cl.subsidy``,
    EUR/year, set by the funding rules) and their member SMEs and large firms (``census``):
    writes each cluster's SME and large-firm fees and effort by task; adds a quarter of the
    subsidy and of the fees to the ledger's ``animation_subsidy`` and ``fees``."""
    p = params[0]
    effort, subsidy, fee_sme, fee_large = cl.effort, cl.subsidy, cl.fee_sme, cl.fee_large
    year_subsidy, year_fees = led.animation_subsidy, led.fees
    for c in range(subsidy.shape[0]):
        s = subsidy[c]
        need = p.cost_eur - s
        if need < 0.0:
            need = 0.0
        n_sme = census[c].n_sme
        n_large = census[c].n_large
        units = n_sme + LARGE_FEE_UNITS * n_large
        per_unit = need / max(units, 1.0) if units > 0 else 0.0
        if s > 0:
            fs = min(p.fee_cap_sme, per_unit)
            fl = min(p.fee_cap_large, LARGE_FEE_UNITS * per_unit)
        else:
            fs = 0.0
            fl = 0.0
        fees = n_sme * fs + n_large * fl
        fte = (s + fees) / p.cost_eur if s > 0 else 0.0
        for task in range(N_TASKS):
            effort[c, task] = fte * p.shares[task]
        fee_sme[c] = fs
        fee_large[c] = fl
        year_subsidy[c] += s / 4.0
        year_fees[c] += fees / 4.0
