"""Sub-step 10, economy: the productive fabric's quarter (value added, employment, exports,
exit) and the decay of trust; in the same pass, the census of the fabric that the demography
(sub-step 11) reads next.

Rule (docs/ODD.md, submodel "Economy"), for each living company in row order:

* ``log VA += growth[sector] + va_noise * N(0, 1)``; employment follows with
  ``employment_elasticity``, so productivity (VA per FTE) drifts with the rest;
* it exits with probability ``exit_rate * sqrt(mean_productivity / productivity)``, capped
  at 1 (less productive firms exit more); an exiting firm leaves its cluster and pole;
* an exporter stops with probability ``export_exit_rate``; a non-exporter starts with
  probability ``export_entry_rate * size_factor * (1 + promotion_effect * promotion[cluster]
  + pole_export_effect * pole_export_spend[pole])`` (large firms: size factor 2);

then every remembered tie decays by ``trust_decay``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels.predicates import is_company, is_large, is_research
from sim.kernels.rng import normal, uniform
from sim.kernels.sums import company_sums
from sim.state.codes import PROMOTION
from sim.state.params import Params

if TYPE_CHECKING:
    from sim.model import ClusterModel

PARAMS = Params(floats={
    "va_noise": "world.va_noise", "elasticity": "world.employment_elasticity",
    "exit_rate": "world.exit_rate", "export_entry_rate": "world.export_entry_rate",
    "export_exit_rate": "world.export_exit_rate",
    "promotion_effect": "policy.international.promotion_export_effect",
    "pole_export_effect": "policy.poles.export_spend_effect",
    "trust_decay": "behaviour.projects.trust_decay"})
LARGE_EXPORT_FACTOR = 2.0  # a large firm starts exporting twice as readily


def economy(m: ClusterModel) -> tuple[np.ndarray, np.ndarray]:
    """Value added, employment, exports and exits of companies; trust decay.  Returns the
    census of the fabric after the exits (living companies per sector; rows of the living
    universities and research centres, in order), for the demography of sub-step 11."""
    a = m.actors
    per_sector = np.empty(len(m.sectors), np.int64)
    research = m.scratch.get("research")
    if research is None or research.shape[0] < a.n:  # reused from quarter to quarter
        research = m.scratch["research"] = np.empty(a.cap, np.int64)
    k, exits, _, _ = economy_step(a.view, a.n, m.clusters.effort, m.poles.export_spend,
                                  m.sectors, PARAMS.of(m), m.streams["economy"], per_sector,
                                  research)
    m.ledger.add("exits", exits)
    return per_sector, research[:k]


@njit(cache=True)
def economy_step(a, n, effort, export_spend, sectors, params, rng, per_sector, research):
    """Advance the companies of rows ``< n`` by one quarter (arrays updated in place), with
    the clusters' ``effort`` (promotion) and the poles' ``export_spend``.

    Takes, in the same pass, the census the demography needs next: the living companies per
    sector after this quarter's exits (``per_sector``, overwritten) and the rows of the
    living universities and research centres, in order (the first k rows of ``research``,
    which has at least ``n``).  Returns ``(k, exits, export starts, export stops)``.
    """
    p = params[0]
    alive, atype, sector, cluster, pole = a.alive, a.atype, a.sector, a.cluster, a.pole
    employment, value_added, exporter = a.employment, a.value_added, a.exporter
    va_noise, elasticity, exit_rate = p.va_noise, p.elasticity, p.exit_rate
    export_exit_rate, export_entry_rate = p.export_exit_rate, p.export_entry_rate
    promotion_effect, pole_export_effect = p.promotion_effect, p.pole_export_effect
    exits = 0
    starts = 0
    stops = 0
    per_sector[:] = 0
    k_research = 0
    total_emp, total_va = company_sums(a, n)
    mean_prod = total_va / total_emp if total_emp > 0.0 else 1.0
    for i in range(n):
        if not alive[i]:
            continue
        if not is_company(atype[i]):
            if is_research(atype[i]):
                research[k_research] = i
                k_research += 1
            continue
        dl = sectors[sector[i]].growth + va_noise * normal(rng)
        value_added[i] *= np.exp(dl)
        employment[i] *= np.exp(elasticity * dl)
        prod = value_added[i] / employment[i]
        hazard = min(1.0, exit_rate * np.sqrt(mean_prod / prod))
        if uniform(rng) < hazard:
            alive[i] = False
            cluster[i] = -1
            pole[i] = -1
            exits += 1
            continue
        per_sector[sector[i]] += 1
        if exporter[i]:
            if uniform(rng) < export_exit_rate:
                exporter[i] = False
                stops += 1
        else:
            mult = 1.0
            c = cluster[i]
            if c >= 0:
                mult += promotion_effect * effort[c, PROMOTION]
            pl = pole[i]
            if pl >= 0:
                mult += pole_export_effect * export_spend[pl]
            size_factor = LARGE_EXPORT_FACTOR if is_large(atype[i]) else 1.0
            if uniform(rng) < export_entry_rate * size_factor * mult:
                exporter[i] = True
                starts += 1
    keep = 1.0 - p.trust_decay
    tie_trust = a.tie_trust
    for i in range(n):
        for m in range(tie_trust.shape[1]):
            tie_trust[i, m] *= keep
    return k_research, exits, starts, stops
