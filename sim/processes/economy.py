"""Sub-step 10, economy: the productive fabric's quarter (sales, value added, employment,
exports, exit) and the decay of trust; in the same pass, the census of the fabric that the
demography (sub-step 11) reads next.  The mechanism is written out in docs/economy.md.

Rule (docs/ODD.md, submodel "Economy"), for each sector's living companies:

* **Lags.** A share ``1 / behaviour.innovation.lag_quarters`` of each firm's pending product
  (quality) and process (efficiency) innovations arrives this quarter.
* **Market shares** (a logit market with an outside competitor; Dosi, Fagiolo & Roventini
  2010's market shares by competitiveness): firm i's demand weight moves by
  ``Δquality + cost_demand_effect * Δefficiency + va_noise * z_i - va_noise**2 / 2``, with
  ``z_i`` the firm's own keyed normal draw; its sales are ``demand[s] * w_i / (outside[s] +
  W[s])``, ``W[s]`` the weights of the sector's companies alive at the end of the last
  quarter (so a competitor's gain reaches a firm's sales one quarter later, and the whole
  quarter is one pass over the actors), ``demand[s]`` growing at the
  sector's ``growth`` and ``outside[s]`` (the foreign competitors) fixed at the start so that
  the region holds ``world.market.home_share`` of its market.  A firm's gain is therefore
  partly its regional competitors' loss (a share ``W / (outside + W)`` of it) and partly the
  foreign competitors'.
* **Accounts.** Value added = sales - inputs, inputs = ``input_share * sales``; the labour
  the output needs is ``sales / (sales_per_fte * exp(efficiency))`` (a process innovation
  saves labour: value-added productivity), ``sales_per_fte`` and the wage growing at ``(1 -
  employment_elasticity) * growth`` (the sector's technical progress); employment closes a share
  ``employment_adjustment`` of the gap to that need each quarter.
* **Exit by the firm's own viability:** hazard rate ``exit_rate * exp(-exit_margin_sensitivity
  * (margin - margin_0))`` per quarter, with margin = (VA - wage bill) / VA and ``margin_0 = 1 -
  labour_share`` (every firm's margin at the start).  No other firm's state enters it.
* **Exports** (entry against a sunk cost): an exporter stops with probability
  ``export_exit_rate * rel**-export_productivity_elasticity``; a non-exporter starts with
  probability ``export_entry_rate * size_factor * rel**export_productivity_elasticity *
  (1 + promotion_effect * promotion[cluster] + pole_export_effect * pole_export_spend[pole]
  + foreign_export_effect * log(1 + foreign_partners))``, ``rel`` its productivity over the
  start's mean with the sector's trend (large firms: size factor 2).  The terms in the bracket
  are the reductions of the sunk entry cost (the hazard is inversely proportional to it).
  An exporter's export intensity (``export_share``, exports / value added) closes
  ``1 / export_ramp_quarters`` of the gap to ``min(0.95, export_intensity *
  rel**export_intensity_elasticity)`` each quarter (new exporters start small); a
  non-exporter's is 0.

**Event times by inversion.** The hazards are rates per quarter: exit and each export switch
happen when the firm's integrated hazard (the sum of the quarters' rates) reaches a unit
exponential threshold drawn once per spell (``exit_clock``, ``export_clock``): the event law of
a continuous-time hazard (probability ``1 - exp(-rate)`` in a quarter of constant rate), but
a small change of the hazard moves the event a little in time instead of redrawing it, which
keeps paired runs close (common random numbers).

Every draw is keyed by (run, process, firm, quarter) (:mod:`sim.kernels.keyed`): a firm's
draws do not depend on which other firms are alive.  A firm's identity in the draws
(``draw_id``) is its row for the initial population and, for a later company, a hash of (birth
step, origin, sector, rank among that cohort), so that the k-th entrant of a sector in a
quarter draws the same numbers in two runs even when the rows before it differ.  A company the
economy has not seen
(``market_weight == 0``: the initial population on the first quarter, later entrants,
spin-offs and pole-assets firms) enters the market at its value added and employment: sales
``value_added / (1 - input_share)``, a weight giving it those sales at the sector's current
denominators, its wage ``labour_share`` of its productivity.

Then every remembered tie decays by ``trust_decay``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels.keyed import (
    EXIT,
    EXPORT,
    VA_SHOCK,
    cohort_id,
    key_of,
    keyed_normal_at,
    keyed_prefix,
    keyed_uniform,
)
from sim.kernels.predicates import is_company, is_large, is_research
from sim.state.codes import ORIGINS, PROMOTION
from sim.state.params import Params

if TYPE_CHECKING:
    from sim.model import ClusterModel

_M = "world.market."
PARAMS = Params(floats={
    "va_noise": "world.va_noise", "elasticity": "world.employment_elasticity",
    "exit_rate": "world.exit_rate", "export_entry_rate": "world.export_entry_rate",
    "export_exit_rate": "world.export_exit_rate",
    "promotion_effect": "behaviour.international.promotion_export_effect",
    "pole_export_effect": "behaviour.poles.export_spend_effect",
    "trust_decay": "behaviour.projects.trust_decay",
    "home_share": _M + "home_share", "input_share": _M + "input_share",
    "labour_share": _M + "labour_share", "adjustment": _M + "employment_adjustment",
    "cost_demand": _M + "cost_demand_effect", "exit_margin": _M + "exit_margin_sensitivity",
    "export_prod": _M + "export_productivity_elasticity",
    "foreign_export": _M + "foreign_export_effect",
    "prod_mean": "world.productivity_mean",
    "intensity": "world.export_intensity",
    "intensity_prod": _M + "export_intensity_elasticity",
    "ramp": lambda sc: 1.0 / sc.world.market.export_ramp_quarters,
    "arrival": lambda sc: 1.0 / sc.behaviour.innovation.lag_quarters})
LARGE_EXPORT_FACTOR = 2.0  # a large firm starts exporting twice as readily
N_ORIGINS = len(ORIGINS)

# each sector's market (one row per sector): the demand (sales of the whole market, region
# and foreign competitors, EUR/year), the foreign competitors' weight, the region's weights
# of the last quarter, the quarters elapsed since the start, whether it is set up
# and the sector's technical progress since the start (the factor of sales per FTE and wages)
MARKET = np.dtype([("demand", np.float64), ("outside", np.float64), ("weight", np.float64),
                   ("progress", np.float64), ("age", np.int64), ("ready", np.bool_)],
                  align=True)


@njit(cache=True, inline="always")
def _power(x, e):
    """``x ** e``, exactly, without the library's pow for the usual exponents (a tenth of the
    economy's cost per firm at 100,000 actors)."""
    if e == 1.5:
        return x * np.sqrt(x)
    if e == 1.0:
        return x
    if e == 2.0:
        return x * x
    if e == 0.5:
        return np.sqrt(x)
    if e == 0.0:
        return 1.0
    return x ** e


def new_markets(n_sectors: int) -> np.ndarray:
    """The sectors' markets, not yet set up (the economy's first quarter sets them)."""
    return np.zeros(n_sectors, MARKET)


def economy(m: ClusterModel) -> tuple[np.ndarray, np.ndarray]:
    """Sales, value added, employment, exports and exits of companies; trust decay.  Returns
    the census of the fabric after the exits (living companies per sector; rows of the living
    universities and research centres, in order), for the demography of sub-step 11."""
    a = m.actors
    per_sector = np.empty(len(m.sectors), np.int64)
    research = m.scratch.get("research")
    if research is None or research.shape[0] < a.n:  # reused from quarter to quarter
        research = m.scratch["research"] = np.empty(a.cap, np.int64)
    key = m.constants.get("economy_key")
    if key is None:  # the run's key: the economy stream's seed words (never advanced)
        key = m.constants["economy_key"] = key_of(m.streams["economy"])
    k, exits, _, _ = economy_step(a.view, a.n, m.clusters.effort, m.poles.export_spend,
                                  m.sectors, m.markets, PARAMS.of(m), key, m.t, per_sector,
                                  research)
    m.ledger.add("exits", exits)
    return per_sector, research[:k]


@njit(cache=True)
def economy_step(a, n, effort, export_spend, sectors, markets, params, key, step, per_sector,
                 research):
    """Advance the companies of rows ``< n`` by one quarter (arrays updated in place), with
    the clusters' ``effort`` (promotion), the poles' ``export_spend`` and the sectors'
    ``markets`` (set up on the first call, then advanced); draws keyed by ``key`` and
    ``step``.

    Takes, in the same pass, the census the demography needs next: the living companies per
    sector after this quarter's exits (``per_sector``, overwritten) and the rows of the
    living universities and research centres, in order (the first k rows of ``research``,
    which has at least ``n``).  Returns ``(k, exits, export starts, export stops)``.
    """
    p = params[0]
    alive, atype, sector, cluster, pole = a.alive, a.atype, a.sector, a.cluster, a.pole
    employment, value_added, exporter = a.employment, a.value_added, a.exporter
    weight, sales, spf, wage = a.market_weight, a.sales, a.sales_per_fte, a.wage
    quality, efficiency = a.quality, a.efficiency
    pend_q, pend_e, foreign = a.pending_quality, a.pending_efficiency, a.foreign_partners
    draw_id, born, origin = a.draw_id, a.born, a.origin
    exit_clock, export_clock, spells = a.exit_clock, a.export_clock, a.export_spells
    export_share, a_margin = a.export_share, a.margin
    va_noise, elasticity, arrival = p.va_noise, p.elasticity, p.arrival
    input_share, labour_share = p.input_share, p.labour_share
    n_s = sectors.shape[0]
    exits = 0
    starts = 0
    stops = 0
    per_sector[:] = 0
    k_research = 0
    # each sector's ratio of denominator to demand, at which a newcomer enters the market
    # the sectors' demand and progress grow; ``scale`` is the denominator over the demand,
    # with last quarter's weights (1 before the market is set up: sales = weight)
    scale = np.empty(n_s)
    progress = np.empty(n_s)  # this quarter's technical progress factor of each sector
    for s in range(n_s):
        mk = markets[s]
        if mk.ready:
            mk.demand *= np.exp(sectors[s].growth)
            mk.progress *= np.exp((1.0 - elasticity) * sectors[s].growth)
            mk.age += 1
            scale[s] = (mk.outside + mk.weight) / mk.demand
        else:
            mk.progress = 1.0
            scale[s] = 1.0
        progress[s] = mk.progress
    inv_scale = 1.0 / scale
    shock_prefix = keyed_prefix(key, VA_SHOCK, step)
    total_w = np.zeros(n_s)
    rank = np.zeros((N_ORIGINS, n_s), np.int64)  # newcomers seen per origin and sector
    half_var = 0.5 * va_noise * va_noise
    margin0 = 1.0 - labour_share
    for i in range(n):
        if not alive[i]:
            continue
        if not is_company(atype[i]):
            if is_research(atype[i]):
                research[k_research] = i
                k_research += 1
            continue
        s = sector[i]
        if weight[i] <= 0.0:  # first seen: enter the market at its size
            sales[i] = value_added[i] / (1.0 - input_share)
            weight[i] = sales[i] * scale[s]
            spf[i] = sales[i] / employment[i] / progress[s]
            wage[i] = labour_share * value_added[i] / employment[i] / progress[s]
            if born[i] < 0:
                draw_id[i] = i
            else:
                draw_id[i] = cohort_id(born[i], origin[i], s, rank[origin[i], s])
                rank[origin[i], s] += 1
            # the firm's clocks: unit exponential thresholds of integrated hazard
            exit_clock[i] = -np.log(1.0 - keyed_uniform(key, EXIT, draw_id[i], 0, 0))
            spells[i] = 0
            export_clock[i] = -np.log(1.0 - keyed_uniform(key, EXPORT, draw_id[i], 0, 0))
            export_share[i] = p.intensity if exporter[i] else 0.0
        shock = va_noise * keyed_normal_at(shock_prefix, draw_id[i]) - half_var
        if pend_q[i] != 0.0 or pend_e[i] != 0.0:
            dq = arrival * pend_q[i]
            de = arrival * pend_e[i]
            pend_q[i] -= dq
            pend_e[i] -= de
            quality[i] += dq
            efficiency[i] += de
            shock += dq + p.cost_demand * de
        weight[i] *= np.exp(shock)
        sales[i] = weight[i] * inv_scale[s]
        unit = np.exp(-efficiency[i]) if efficiency[i] != 0.0 else 1.0
        va = sales[i] * (1.0 - input_share)
        value_added[i] = va
        pr = progress[s]
        need = sales[i] * unit / (spf[i] * pr)
        employment[i] += p.adjustment * (need - employment[i])
        inv_va = 1.0 / va
        margin = 1.0 - wage[i] * pr * employment[i] * inv_va
        a_margin[i] = margin
        # the quarter's hazard rate (integrated hazard over the quarter)
        exit_clock[i] -= p.exit_rate * np.exp(-p.exit_margin * (margin - margin0))
        if exit_clock[i] <= 0.0:
            alive[i] = False
            cluster[i] = -1
            pole[i] = -1
            exits += 1
            continue
        per_sector[s] += 1
        total_w[s] += weight[i]  # the survivors' weights: next quarter's denominator
        # productivity relative to the start's mean with the sector's trend
        rel = va / (employment[i] * p.prod_mean * pr)
        sel = _power(rel, p.export_prod)
        if exporter[i]:
            h_export = p.export_exit_rate / sel
        else:
            mult = 1.0 + (p.foreign_export * np.log1p(foreign[i]) if foreign[i] > 0 else 0.0)
            c = cluster[i]
            if c >= 0:
                mult += p.promotion_effect * effort[c, PROMOTION]
            pl = pole[i]
            if pl >= 0:
                mult += p.pole_export_effect * export_spend[pl]
            size_factor = LARGE_EXPORT_FACTOR if is_large(atype[i]) else 1.0
            h_export = p.export_entry_rate * size_factor * sel * mult
        export_clock[i] -= h_export
        if export_clock[i] <= 0.0:  # the firm starts or stops exporting; a new clock
            if exporter[i]:
                stops += 1
            else:
                starts += 1
            exporter[i] = not exporter[i]
            spells[i] += 1
            export_clock[i] = -np.log(1.0 - keyed_uniform(key, EXPORT, draw_id[i], 0,
                                                          spells[i]))
        if exporter[i]:  # the export intensity moves towards its target
            target = min(0.95, p.intensity * _power(rel, p.intensity_prod))
            export_share[i] += p.ramp * (target - export_share[i])
        else:
            export_share[i] = 0.0
    for s in range(n_s):
        mk = markets[s]
        if not mk.ready:  # the first quarter: the region holds home_share of the market
            mk.demand = total_w[s] / p.home_share
            mk.outside = total_w[s] * (1.0 - p.home_share) / p.home_share
            mk.ready = total_w[s] > 0.0
        mk.weight = total_w[s]
    keep = 1.0 - p.trust_decay
    tie_trust = a.tie_trust
    for i in range(n):
        for m in range(tie_trust.shape[1]):
            tie_trust[i, m] *= keep
    return k_research, exits, starts, stops
