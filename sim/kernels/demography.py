"""New companies: entrants, spin-offs and pole-assets firms, drawn and written in kernels.

Rule (docs/ODD.md, submodels "Demography" and "Project outcomes"): a new company is an SME of a
given sector whose attributes are drawn as those of the initial SMEs (:func:`sim.world.new_companies`)
and whose value added is scaled to today's productivity level; a spin-off copies its parent's
technology profile and province.  The demography's numbers are exact binomials: each living
company of a sector brings one entrant with probability ``entry_rate`` per quarter, and each
living university or research centre draws an academic spin-off with probability
``spinoff_rate`` (the parents are then drawn uniformly with replacement among them).

All draws come from explicit xoshiro256** streams (one per origin: entry, partnership spin-off,
academic spin-off, pole assets), so a variant that changes how many firms of one origin are
created does not shift the draws of another; ``tests/reference.py`` re-implements the kernels in
plain Python.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.economy import company_sums
from sim.kernels.rng import normal, randbelow, uniform

# Indices of the new firms' parameters in the ``params`` vector (:func:`firm_params`).
(F_SPREAD, F_SME_MEAN, F_SME_SIGMA, F_PROD_MEAN, F_PROD_SD, F_CAP_SIGMA,
 F_PROD_START) = range(7)


def firm_params(world, sme_sigma: float, cap_sigma: float, prod_start: float) -> np.ndarray:
    """The float parameters of new companies as a vector (``F_*`` order); ``world`` is the
    scenario's ``world`` section, ``prod_start`` the mean productivity at the start."""
    return np.array([world.sector_profile_spread, world.sme_employment_mean, sme_sigma,
                     world.productivity_mean, world.productivity_sd, cap_sigma, prod_start],
                    np.float64)


@njit(cache=True)
def bernoulli_count(rng, trials, p):
    """Successes among ``trials`` independent Bernoulli(``p``) trials: an exact
    Binomial(trials, p) draw by geometric skipping (about ``trials * p + 1`` uniforms)."""
    if trials <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return trials
    log_q = np.log1p(-p)
    k = 0
    pos = -1
    while True:
        skip = np.log(1.0 - uniform(rng)) / log_q  # failures before the next success
        if pos + 1 + skip >= trials:
            return k
        pos += 1 + int(skip)
        k += 1


@njit(cache=True)
def productivity_level(n, alive, atype, employment, value_added, prod_start):
    """Today's mean productivity of the living companies (rows ``< n``) over ``prod_start``
    (1 when ``prod_start`` is not positive)."""
    if prod_start <= 0.0:
        return 1.0
    emp, va = company_sums(n, alive, atype, employment, value_added)
    return (va / emp if emp > 0.0 else 0.0) / prod_start


@njit(cache=True)
def write_smes(rng, n, sector, like, has_like, level, params, centroids, cdf, export_share,
               capacity, step, origin, alive, atype, a_sector, province, employment,
               value_added, exporter, capability, taste, knowledge, stage, a_capacity, born,
               a_origin):
    """Write ``k = len(sector)`` new SMEs into rows ``n .. n + k - 1`` (allocated, unused).

    Per firm, in this order: a normal for employment (lognormal around ``sme_mean``, mean
    preserving, clipped to 1..249 FTE), a normal for productivity (lognormal around
    ``prod_mean``); unless it copies ``like[i]``'s profile and province, ``D`` normals for
    its technology profile (``|centroid[sector] + spread * z|`` normalised) and a uniform for its
    province (inverse ``cdf``); then uniforms and normals for export status (``u <
    export_share[sector]``), capability (lognormal, ``cap_sigma``), taste (standard normal) and
    value-chain stage (uniform).  Value added is productivity x employment x ``level``.
    """
    k = sector.shape[0]
    dims = centroids.shape[1]
    spread = params[F_SPREAD]
    sme_sigma = params[F_SME_SIGMA]
    prod_sd = params[F_PROD_SD]
    raw = np.empty(dims)
    n_cdf = cdf.shape[0]
    for i in range(k):
        r = n + i
        s = sector[i]
        emp = params[F_SME_MEAN] * np.exp(sme_sigma * normal(rng) - 0.5 * sme_sigma * sme_sigma)
        emp = min(249.0, max(1.0, emp))
        prod = params[F_PROD_MEAN] * np.exp(prod_sd * normal(rng) - 0.5 * prod_sd * prod_sd)
        if has_like:
            j = like[i]
            province[r] = province[j]
            for d in range(dims):
                knowledge[r, d] = knowledge[j, d]
        else:
            sq = 0.0
            for d in range(dims):
                v = abs(centroids[s, d] + spread * normal(rng))
                raw[d] = v
                sq += v * v
            norm = np.sqrt(sq)
            if norm == 0.0:
                norm = 1.0
            for d in range(dims):
                knowledge[r, d] = raw[d] / norm
            u = uniform(rng)
            p = 0
            while p < n_cdf and cdf[p] <= u:
                p += 1
            province[r] = p
        alive[r] = True
        atype[r] = 0
        a_sector[r] = s
        employment[r] = emp
        value_added[r] = prod * emp * level
        exporter[r] = uniform(rng) < export_share[s]
        capability[r] = np.exp(params[F_CAP_SIGMA] * normal(rng))
        taste[r] = normal(rng)
        stage[r] = uniform(rng)
        a_capacity[r] = capacity[0]
        born[r] = step
        a_origin[r] = origin


@njit(cache=True)
def spawn_smes(rng, n, sector, like, has_like, params, centroids, cdf, export_share, capacity,
               step, origin, alive, atype, a_sector, province, employment, value_added,
               exporter, capability, taste, knowledge, stage, a_capacity, born, a_origin):
    """:func:`write_smes` at today's productivity level (companies of rows ``< n``)."""
    level = productivity_level(n, alive, atype, employment, value_added,
                               params[F_PROD_START])
    write_smes(rng, n, sector, like, has_like, level, params, centroids, cdf, export_share,
               capacity, step, origin, alive, atype, a_sector, province, employment,
               value_added, exporter, capability, taste, knowledge, stage, a_capacity, born,
               a_origin)


@njit(cache=True)
def demography_step(n, cap, per_sector, research, entry_rate, spinoff_rate, entry_rng,
                    research_rng, params, centroids, cdf, export_share, capacity, step,
                    origin_entry, origin_research, alive, atype, a_sector, province,
                    employment, value_added, exporter, capability, taste, knowledge, stage,
                    a_capacity, born, a_origin):
    """One quarter's entry and academic spin-offs, written into rows from ``n`` on.

    ``per_sector`` holds the living companies of each sector and ``research`` the indices of
    the living universities and research centres.  Entrants per sector are
    Binomial(``per_sector[s]``, ``entry_rate``) (stream ``entry_rng``), written first, in sector
    order; then Binomial(``len(research)``, ``spinoff_rate``) academic spin-offs whose parents are
    drawn uniformly with replacement (stream ``research_rng``).  Both start at the productivity
    level of the companies before entry.

    Returns ``(entrants, spin-offs)``; when rows ``n .. cap - 1`` cannot hold them all, returns
    ``(-rows needed, 0)`` with both streams put back as they were, so that the caller grows the
    arrays and calls again with the same draws.
    """
    saved_entry = entry_rng.copy()
    saved_research = research_rng.copy()
    n_s = per_sector.shape[0]
    entrants = np.empty(n_s, np.int64)
    n_entry = 0
    for s in range(n_s):
        entrants[s] = bernoulli_count(entry_rng, per_sector[s], entry_rate)
        n_entry += entrants[s]
    n_research = research.shape[0]
    k = bernoulli_count(research_rng, n_research, spinoff_rate)
    parents = np.empty(k, np.int64)
    for q in range(k):
        parents[q] = research[randbelow(research_rng, n_research)]
    if n + n_entry + k > cap:
        entry_rng[:] = saved_entry
        research_rng[:] = saved_research
        return -(n + n_entry + k), 0
    level = productivity_level(n, alive, atype, employment, value_added, params[F_PROD_START])
    if n_entry:
        sector = np.empty(n_entry, np.int64)
        q = 0
        for s in range(n_s):
            for _ in range(entrants[s]):
                sector[q] = s
                q += 1
        write_smes(entry_rng, n, sector, parents[:0], False, level, params, centroids, cdf,
                   export_share, capacity, step, origin_entry, alive, atype, a_sector,
                   province, employment, value_added, exporter, capability, taste, knowledge,
                   stage, a_capacity, born, a_origin)
    if k:
        sector = np.empty(k, np.int64)
        for q in range(k):
            sector[q] = a_sector[parents[q]]
        write_smes(research_rng, n + n_entry, sector, parents, True, level, params, centroids,
                   cdf, export_share, capacity, step, origin_research, alive, atype, a_sector,
                   province, employment, value_added, exporter, capability, taste, knowledge,
                   stage, a_capacity, born, a_origin)
    return n_entry, k
