"""Evaluation rules: the criteria's measures, how they combine, what failing does, and when.

Each rule is a small named function chosen in the scenario by its name
(:mod:`sim.rules.schema`), over plain arrays so that a test can hand it a small state built by
hand:

* **combination rules** (:data:`COMBINE`): ``passes(values, criteria, rule) -> (passed,
  score)``;
* **consequences** (:data:`CONSEQUENCES`): ``consequence(passed, record, rule) -> decision``,
  which also updates the cluster's record (probation, subsidy factor, failures in a row);
* **calendars** (:data:`CALENDARS`): ``due(year, t, launch_year, ref_step, review_year,
  rule, default_period) -> bool`` per cluster.

The Region's process that applies them is :func:`sim.processes.evaluation.evaluate_clusters`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from sim.kernels.predicates import is_company
from sim.rules.schema import (
    All,
    Any_,
    Common,
    ConditionalRenewal,
    Criterion,
    Drop,
    KOfN,
    LaunchYears,
    PerCluster,
    Probation,
    SubsidyCut,
    Weighted,
    Withdraw,
)
from sim.state.codes import POLE_ASSETS, SPINOFF_PARTNERSHIP, SPINOFF_RESEARCH

# decisions, as the decisions' table writes them
RENEWED, DROPPED, PROBATION, CUT, CONDITIONAL, RESTORED, WITHDRAWN = (
    "renewed", "dropped", "probation", "subsidy_cut", "conditional_renewal", "restored",
    "label_withdrawn")


# ---------------------------------------------------------------------------------- measures
@njit(cache=True)
def member_counts(a, n, cl):
    """Per cluster (int64, ``(C, 5)``): members, member companies, member companies that
    started a project at or after the cluster's last evaluation step, exporting member
    companies, and member companies created (partnership or research spin-off, pole assets) at
    or after that step."""
    atype, cluster, last_project, since = a.atype, a.cluster, a.last_project, cl.last_eval_step
    exporter, born, origin = a.exporter, a.born, a.origin
    out = np.zeros((since.shape[0], 5), np.int64)
    for i in range(n):
        c = cluster[i]
        if c < 0:
            continue
        out[c, 0] += 1
        if is_company(atype[i]):
            out[c, 1] += 1
            if last_project[i] >= since[c]:
                out[c, 2] += 1
            if exporter[i]:
                out[c, 3] += 1
            o = origin[i]
            if born[i] >= since[c] and (o == SPINOFF_PARTNERSHIP or o == SPINOFF_RESEARCH
                                        or o == POLE_ASSETS):
                out[c, 4] += 1
    return out


def cluster_measures(counts: np.ndarray, launched_since: np.ndarray, subsidy: np.ndarray,
                     fees: np.ndarray, members_before: np.ndarray) -> dict[str, np.ndarray]:
    """The measures a criterion can read, per cluster (float64 arrays):

    ``members``
        members (critical mass);
    ``involvement``
        share of member companies that started a project since the last evaluation (0 with
        no member company): the companies' involvement;
    ``members_involved``
        those member companies, in number;
    ``partnerships_launched``
        partnerships launched by the cluster's members since the last evaluation;
    ``new_enterprises``
        member companies created since the last evaluation (spin-offs, pole assets);
    ``exporters_share``
        share of exporters among the member companies;
    ``self_financing``
        the fees' share of the animation budget of the year (fees over subsidy + fees);
    ``member_growth``
        growth of the members since the last evaluation (or the launch), ``now / before - 1``.
    """
    members = counts[:, 0].astype(np.float64)
    companies = counts[:, 1]
    involved = counts[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        involvement = np.where(companies > 0, involved / np.maximum(companies, 1), 0.0)
        exporters = np.where(companies > 0, counts[:, 3] / np.maximum(companies, 1), 0.0)
        budget = subsidy + fees
        self_fin = np.where(budget > 0, fees / np.where(budget > 0, budget, 1.0), 0.0)
        growth = members / np.maximum(members_before, 1.0) - 1.0
    return {"members": members, "involvement": involvement,
            "members_involved": involved.astype(np.float64),
            "partnerships_launched": launched_since.astype(np.float64),
            "new_enterprises": counts[:, 4].astype(np.float64),
            "exporters_share": exporters, "self_financing": self_fin,
            "member_growth": growth}


# ------------------------------------------------------------------------ combination rules
def met(values: list[float], criteria: list[Criterion]) -> list[bool]:
    """Whether each criterion is met: its value is at least its threshold."""
    return [not (v < c.min) for v, c in zip(values, criteria, strict=True)]


def score(values: list[float], criteria: list[Criterion]) -> float:
    """The weighted score in [0, 1]: the weighted mean of ``min(value / threshold, 1)`` (1
    for a threshold of 0, 0 for a negative value); 1 when every weight is 0."""
    total = sum(c.weight for c in criteria)
    if total <= 0:
        return 1.0
    parts = [1.0 if c.min <= 0 else min(max(v, 0.0) / c.min, 1.0)
             for v, c in zip(values, criteria, strict=True)]
    return sum(c.weight * p for c, p in zip(criteria, parts, strict=True)) / total


def all_met(values, criteria, rule: All) -> bool:
    """``all``: every criterion is met."""
    return all(met(values, criteria))


def any_met(values, criteria, rule: Any_) -> bool:
    """``any``: at least one criterion is met."""
    return any(met(values, criteria))


def k_of_n(values, criteria, rule: KOfN) -> bool:
    """``k_of_n``: at least ``rule.k`` criteria are met."""
    return sum(met(values, criteria)) >= rule.k


def weighted(values, criteria, rule: Weighted) -> bool:
    """``weighted``: the weighted score (:func:`score`) is at least ``rule.pass_score``."""
    return score(values, criteria) >= rule.pass_score


COMBINE = {"all": all_met, "any": any_met, "k_of_n": k_of_n, "weighted": weighted}


def passes(values: list[float], criteria: list[Criterion], rule) -> tuple[bool, float]:
    """Whether the values pass under the combination ``rule``, and their weighted score."""
    return bool(COMBINE[rule.rule](values, criteria, rule)), score(values, criteria)


# ------------------------------------------------------------------------------ consequences
@dataclass
class Record:
    """What the rules remember of one cluster (or pole) between its evaluations."""

    probation_until: int = -1  # year of the review when on probation or renewed on conditions
    subsidy_factor: float = 1.0  # multiplies its animation subsidy
    failures: int = 0  # failed evaluations in a row
    score: float = 1.0  # weighted score of its last evaluation (1 before any)
    members_before: float = 0.0  # members at its recognition, then at its last evaluation
    launched_since: int = 0  # partnerships launched since its last evaluation
    recognised_year: int = -1  # year of its recognition (bottom-up), -1 otherwise


def drop(passed: bool, r: Record, rule: Drop, year: int) -> str:
    """``drop``: failing drops (the baseline)."""
    return RENEWED if passed else DROPPED


def probation(passed: bool, r: Record, rule: Probation, year: int) -> str:
    """``probation``: a first failure puts on probation until the review ``review_years``
    later; failing the review drops; passing ends the probation."""
    on = r.probation_until >= 0
    if passed:
        r.probation_until = -1
        return RENEWED
    if on:
        return DROPPED
    r.probation_until = year + rule.review_years
    return PROBATION


def subsidy_cut(passed: bool, r: Record, rule: SubsidyCut, year: int) -> str:
    """``subsidy_cut``: failing multiplies the subsidy factor by ``1 - cut`` (and drops after
    ``drop_after`` failures in a row, if set); passing restores it when ``restore``."""
    if passed:
        cut = r.subsidy_factor < 1.0
        r.failures = 0
        if rule.restore:
            r.subsidy_factor = 1.0
        return RESTORED if cut and rule.restore else RENEWED
    r.failures += 1
    if rule.drop_after and r.failures >= rule.drop_after:
        return DROPPED
    r.subsidy_factor *= 1.0 - rule.cut
    return CUT


def conditional_renewal(passed: bool, r: Record, rule: ConditionalRenewal, year: int) -> str:
    """``conditional_renewal``: failing renews on conditions (subsidy cut by ``cut`` until a
    review ``review_years`` later); the review restores the subsidy when passed and drops when
    failed."""
    on = r.probation_until >= 0
    if passed:
        r.probation_until = -1
        r.subsidy_factor = 1.0
        return RESTORED if on else RENEWED
    if on:
        return DROPPED
    r.probation_until = year + rule.review_years
    r.subsidy_factor = 1.0 - rule.cut
    return CONDITIONAL


def withdraw(passed: bool, r: Record, rule: Withdraw, year: int) -> str:
    """``withdraw`` (poles): failing withdraws the label."""
    return RENEWED if passed else WITHDRAWN


CONSEQUENCES = {"drop": drop, "probation": probation, "subsidy_cut": subsidy_cut,
                "conditional_renewal": conditional_renewal, "withdraw": withdraw}


def consequence(passed: bool, r: Record, rule, year: int) -> str:
    """The decision of ``rule`` for an evaluation that ``passed`` or not (updates ``r``)."""
    return CONSEQUENCES[rule.rule](passed, r, rule, year)


# -------------------------------------------------------------------------------- calendars
def launch_years(year: int, t: int, launch_year: int, ref_step: int, rule: LaunchYears,
                 default_period: int) -> bool:
    """``launch_years``: every ``period_years``-th year after the launch year (the
    baseline)."""
    period = rule.period_years or default_period
    age = year - launch_year
    return age > 0 and age % period == 0


def common(year: int, t: int, launch_year: int, ref_step: int, rule: Common,
           default_period: int) -> bool:
    """``common``: ``first_year`` and every ``period_years`` after, for a cluster launched
    at least ``min_age_years`` before."""
    return (year >= rule.first_year and (year - rule.first_year) % rule.period_years == 0
            and year - launch_year >= rule.min_age_years)


def per_cluster(year: int, t: int, launch_year: int, ref_step: int, rule: PerCluster,
                default_period: int) -> bool:
    """``per_cluster``: the year end of the year in which ``4 * period_years`` quarters have
    passed since the cluster's recognition or its last evaluation (``ref_step``): its
    anniversary step ``ref_step + 4 * period_years`` is at or before ``t``."""
    return t - ref_step >= 4 * rule.period_years


CALENDARS = {"launch_years": launch_years, "common": common, "per_cluster": per_cluster}


def due(year: int, t: int, launch_year: int, ref_step: int, rule, default_period: int) -> bool:
    """Whether a cluster is due under calendar ``rule`` at the end of ``year`` (step ``t``)."""
    return bool(CALENDARS[rule.rule](year, t, launch_year, ref_step, rule, default_period))
