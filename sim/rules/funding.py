"""Funding rules: the animation subsidy's amount and taper, and the poles' unspent money.

Each rule is a small named function chosen in the scenario by its name
(:mod:`sim.rules.schema`), over plain arrays:

* **taper rules** (:data:`TAPERS`): ``taper(years, rule, animation) -> rate`` per cluster,
  ``years`` the full years since its launch;
* **subsidy rules** (:data:`SUBSIDIES`): ``subsidy(rate, active, census, score, rule,
  animation) -> EUR/year`` per cluster;
* **pole-money rules** (:data:`POLE_MONEY`): ``rule_fn(remaining, budget, years_left,
  years_total, rule) -> (lapsed, carried, moved)`` per instrument, at a year end of the
  budget period, changing ``remaining`` in place.

:func:`sim.processes.animation.fund_animation` and the year end of
:func:`sim.processes.evaluation.evaluate_clusters` apply them.
"""

from __future__ import annotations

import numpy as np

from sim.rules.schema import (
    ByScore,
    CarryOver,
    Envelope,
    Flat,
    Lapse,
    LinearFloor,
    MatchedFees,
    PerMember,
    Reallocate,
    Stepwise,
    Sunset,
)
from sim.state.codes import GRANTS, LARGE, SME

LARGE_FEE_UNITS = 4.0  # a large firm pays the fee of four SMEs


# ------------------------------------------------------------------------------------- taper
def linear_floor(years: np.ndarray, rule: LinearFloor, animation) -> np.ndarray:
    """``linear_floor``: ``max(taper_floor, 1 - taper_per_year * years)``, 1 without a
    taper (the baseline, ``policy.animation``)."""
    if animation.taper_per_year > 0:
        rate = 1.0 - animation.taper_per_year * years.astype(np.float64)
        return np.where(rate < animation.taper_floor, animation.taper_floor, rate)
    return np.ones(len(years))


def stepwise(years: np.ndarray, rule: Stepwise, animation) -> np.ndarray:
    """``stepwise``: ``max(floor, 1 - step * (years // period_years))``."""
    rate = 1.0 - rule.step * (years // rule.period_years).astype(np.float64)
    return np.maximum(rate, rule.floor)


def sunset(years: np.ndarray, rule: Sunset, animation) -> np.ndarray:
    """``sunset``: the baseline's linear taper, then 0 once ``years`` years have passed."""
    return np.where(years >= rule.years, 0.0, linear_floor(years, LinearFloor(), animation))


TAPERS = {"linear_floor": linear_floor, "stepwise": stepwise, "sunset": sunset}


# ----------------------------------------------------------------------------------- subsidy
def flat(rate, active, census, score, rule: Flat, animation) -> np.ndarray:
    """``flat``: ``rate * subsidy_eur_per_year`` for an active cluster (the baseline)."""
    return np.where(active, rate * animation.subsidy_eur_per_year, 0.0)


def per_member(rate, active, census, score, rule: PerMember, animation) -> np.ndarray:
    """``per_member``: ``rate * min(max_eur, eur_per_member * members)``."""
    full = np.minimum(rule.max_eur, rule.eur_per_member * census["members"])
    return np.where(active, rate * full, 0.0)


def matched_fees(rate, active, census, score, rule: MatchedFees, animation) -> np.ndarray:
    """``matched_fees``: ``rate * min(max_eur, ratio * fee capacity)``, the fee capacity
    being the members' fees at their caps (SMEs ``fee_cap_sme_eur``, large firms
    ``fee_cap_large_eur``)."""
    capacity = (census["n_sme"] * animation.fee_cap_sme_eur
                + census["n_large"] * animation.fee_cap_large_eur)
    return np.where(active, rate * np.minimum(rule.max_eur, rule.ratio * capacity), 0.0)


def by_score(rate, active, census, score, rule: ByScore, animation) -> np.ndarray:
    """``by_score``: ``rate * subsidy_eur_per_year * max(min_share, score)``."""
    share = np.maximum(rule.min_share, score)
    return np.where(active, rate * animation.subsidy_eur_per_year * share, 0.0)


def envelope(rate, active, census, score, rule: Envelope, animation) -> np.ndarray:
    """``envelope``: ``total_eur`` shared among the active clusters in proportion to score
    times rate (equal shares when every weight is 0); exactly ``total_eur`` in all when a
    cluster is active, nothing otherwise."""
    w = np.where(active, score * rate, 0.0)
    if w.sum() <= 0:
        w = active.astype(np.float64)
    total = w.sum()
    if total <= 0:
        return np.zeros(len(w))
    return rule.total_eur * w / total


SUBSIDIES = {"flat": flat, "per_member": per_member, "matched_fees": matched_fees,
             "by_score": by_score, "envelope": envelope}


def subsidies(years: np.ndarray, active: np.ndarray, census: np.ndarray, score: np.ndarray,
              factor: np.ndarray, rules, animation) -> np.ndarray:
    """The clusters' subsidy this quarter (EUR/year): the subsidy rule at the taper rule's
    rate, times each cluster's factor (the evaluation's cuts; 1 in the baseline)."""
    rate = TAPERS[rules.taper.rule](years, rules.taper, animation)
    s = SUBSIDIES[rules.subsidy.rule](rate, active, census, score, rules.subsidy, animation)
    return s * factor


# -------------------------------------------------------------------------------- pole money
def tranches(budget: np.ndarray, years_left: int, years_total: int) -> np.ndarray:
    """The budget of the years left (each year has ``budget / years_total``)."""
    return budget * (years_left / years_total)


def carry_over(remaining, budget, years_left, years_total, rule: CarryOver):
    """``carry_over``: unspent money stays for the years left (the baseline); returns
    (lapsed, carried, moved) per instrument: nothing lapses, the money beyond the years
    left's tranches is carried."""
    carried = np.maximum(remaining - tranches(budget, years_left, years_total), 0.0)
    return np.zeros_like(remaining), carried, np.zeros_like(remaining)


def lapse(remaining, budget, years_left, years_total, rule: Lapse):
    """``lapse``: the money beyond the years left's tranches lapses."""
    keep = tranches(budget, years_left, years_total)
    lapsed = np.maximum(remaining - keep, 0.0)
    remaining -= lapsed
    return lapsed, np.zeros_like(remaining), np.zeros_like(remaining)


def reallocate(remaining, budget, years_left, years_total, rule: Reallocate):
    """``reallocate``: the grant instruments' money beyond their tranches of the years left
    moves to the grant instrument that spent the largest share of its budget (the first of
    them on a tie); ``moved`` is negative where money left, positive where it went."""
    keep = tranches(budget, years_left, years_total)
    moved = np.zeros_like(remaining)
    grants = list(GRANTS)
    spent_share = [1.0 - remaining[i] / budget[i] if budget[i] > 0 else -1.0 for i in grants]
    target = grants[int(np.argmax(spent_share))]
    for i in grants:
        if i == target:
            continue
        excess = max(remaining[i] - keep[i], 0.0)
        moved[i] -= excess
        moved[target] += excess
    remaining += moved
    return np.zeros_like(remaining), np.zeros_like(remaining), moved


POLE_MONEY = {"carry_over": carry_over, "lapse": lapse, "reallocate": reallocate}


# ------------------------------------------------------------------------------ pole jury
def sme_bonus(members: np.ndarray, size: np.ndarray, atype: np.ndarray, k: int,
              bonus: float) -> np.ndarray:
    """The jury's SME bonus of the first ``k`` consortia: ``bonus`` times the share of SMEs
    among each one's local members (zeros when ``bonus`` is 0)."""
    out = np.zeros(k)
    if bonus > 0:
        for i in range(k):
            team = members[i, : size[i]]
            out[i] = bonus * float((atype[team] == SME).mean())
    return out


def sme_majority(members: np.ndarray, size: np.ndarray, atype: np.ndarray, k: int
                 ) -> np.ndarray:
    """Whether SMEs are more than half the local members of each of the first ``k``
    consortia (the proposals the SME quota favours)."""
    out = np.zeros(k, np.bool_)
    for i in range(k):
        out[i] = 2 * int((atype[members[i, : size[i]]] == SME).sum()) > size[i]
    return out


def capped(request: np.ndarray, cap_eur: float) -> np.ndarray:
    """Grant requests cut to ``cap_eur`` (unchanged when the cap is 0)."""
    return np.minimum(request, cap_eur) if cap_eur > 0 else request


def over_firm_cap(members, size, atype, k, request_eur, received: dict, cap_eur: float):
    """Whether each of the first ``k`` proposals would take one of its companies above
    ``cap_eur`` of grants (``received``: EUR by actor row so far; a company's share of a
    project is its request over the consortium's companies); all False when the cap is 0."""
    out = np.zeros(k, np.bool_)
    if cap_eur <= 0:
        return out
    for i in range(k):
        team = [int(x) for x in members[i, : size[i]] if atype[x] in (SME, LARGE)]
        share = request_eur[i] / max(len(team), 1)
        out[i] = any(received.get(x, 0.0) + share > cap_eur for x in team)
    return out
