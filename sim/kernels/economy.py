"""The productive fabric's quarter: value added, employment, exports, exit, trust decay.

Rule (docs/ODD.md, submodel "Economy"), for each living company in index order:

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

import numpy as np
from numba import njit

from sim.kernels.rng import normal, uniform


@njit(cache=True)
def company_sums(n, alive, atype, employment, value_added):
    """Employment and value added of the living companies of rows ``< n``, summed in row
    order (the economy's mean productivity and the new firms' productivity level)."""
    emp = 0.0
    va = 0.0
    for i in range(n):
        if alive[i] and atype[i] <= 1:
            emp += employment[i]
            va += value_added[i]
    return emp, va


@njit(cache=True)
def economy_step(
    n, alive, atype, sector, cluster, pole, employment, value_added, exporter,
    sector_growth, va_noise, elasticity, exit_rate, export_entry_rate, export_exit_rate,
    cl_promotion, promotion_effect, pole_export_spend, pole_export_effect,
    tie_trust, trust_decay, rng, out_counts, per_sector=None, research=None,
):
    """Advance the companies by one quarter.

    ``out_counts`` (int64, (3,)) is incremented by exits, export entries and export exits.
    Arrays are updated in place.  With ``per_sector`` (int64, (S,)) and ``research`` (int64,
    (>= n,)), the census the demography needs next is taken in the same pass: the living
    companies per sector after this quarter's exits (``per_sector`` is overwritten) and the
    indices of the living universities and research centres, in index order (the first k rows
    of ``research``); returns k (0 without them).
    """
    census = per_sector is not None and research is not None
    if census:
        per_sector[:] = 0
    k_research = 0
    total_emp, total_va = company_sums(n, alive, atype, employment, value_added)
    mean_prod = total_va / total_emp if total_emp > 0.0 else 1.0
    for i in range(n):
        if not alive[i]:
            continue
        if atype[i] > 1:
            if census and atype[i] <= 3:
                research[k_research] = i
                k_research += 1
            continue
        dl = sector_growth[sector[i]] + va_noise * normal(rng)
        value_added[i] *= np.exp(dl)
        employment[i] *= np.exp(elasticity * dl)
        prod = value_added[i] / employment[i]
        hazard = min(1.0, exit_rate * np.sqrt(mean_prod / prod))
        if uniform(rng) < hazard:
            alive[i] = False
            cluster[i] = -1
            pole[i] = -1
            out_counts[0] += 1
            continue
        if census:
            per_sector[sector[i]] += 1
        if exporter[i]:
            if uniform(rng) < export_exit_rate:
                exporter[i] = False
                out_counts[2] += 1
        else:
            mult = 1.0
            c = cluster[i]
            if c >= 0:
                mult += promotion_effect * cl_promotion[c]
            pl = pole[i]
            if pl >= 0:
                mult += pole_export_effect * pole_export_spend[pl]
            size_factor = 2.0 if atype[i] == 1 else 1.0
            if uniform(rng) < export_entry_rate * size_factor * mult:
                exporter[i] = True
                out_counts[1] += 1
    keep = 1.0 - trust_decay
    for i in range(n):
        for m in range(tie_trust.shape[1]):
            tie_trust[i, m] *= keep
    return k_research
