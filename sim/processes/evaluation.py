"""Sub-step 12 (Q4), evaluation: at the year end, the Region applies its rulebook's evaluation
rules (:mod:`sim.rules.evaluation`) to the clusters due under its calendar, and, when the
rulebook says so, to the poles; then its rule for the poles' unspent money
(:mod:`sim.rules.funding`).  Every decision is recorded with its reason
(``ClusterModel.rulebook.decisions``; docs/ODD.md, submodel 7.12).

The baseline's rules: every ``period_years`` after its launch year, a cluster's critical mass
(members) and its member companies' involvement are checked against their thresholds and a
cluster that fails (``fail_when``) is dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.rules import evaluation as rules
from sim.rules.evaluation import member_counts
from sim.rules.funding import POLE_MONEY
from sim.rules.schema import All, Any_, Criterion
from sim.state.codes import DROPPED, INSTRUMENTS, NOT_SELECTED, SELECTED

if TYPE_CHECKING:
    from sim.model import ClusterModel


def evaluate_clusters(m: ClusterModel) -> None:
    """At the year end the Region applies its evaluation rules to the clusters due (and to
    the poles, if the rulebook evaluates them), then its rule for unspent pole money."""
    st = m.rulebook
    launched = m.ledger.launched
    for c, r in enumerate(st.clusters):
        r.launched_since += int(launched[c])
    if m.sc.policy.evaluation.enabled:
        evaluate_cluster_rules(m)
    if m.sc.policy.rules.pole_evaluation.enabled and m.sc.policy.poles.enabled:
        evaluate_poles(m)
    pole_money(m)


def default_criteria(ev) -> list[Criterion]:
    """The baseline's criteria: critical mass and involvement (``policy.evaluation``)."""
    return [Criterion(indicator="members", min=float(ev.min_members)),
            Criterion(indicator="involvement", min=ev.min_involvement)]


def default_combine(ev):
    """The baseline's combination: every criterion must be met when one failure is enough
    to fail (``fail_when = 'any'``), one suffices when only failing both fails."""
    return All() if ev.fail_when == "any" else Any_(rule="any")


def _reason(values, criteria, combine, passed: bool, score: float) -> str:
    parts = [f"{c.indicator} {v:.4g} {'>=' if not v < c.min else '<'} {c.min:g}"
             for v, c in zip(values, criteria, strict=True)]
    how = combine.rule + (f" {combine.k}" if combine.rule == "k_of_n" else "") + (
        f" score {score:.3f} vs {combine.pass_score:g}" if combine.rule == "weighted" else "")
    return "; ".join(parts) + f" -> {how}: {'passed' if passed else 'failed'}"


def evaluate_cluster_rules(m: ClusterModel) -> None:
    """The clusters due this year end (their calendar, or the review of a probation) are
    measured, pass or fail under the combination rule, and take the consequence rule's
    decision; a dropped cluster loses its members, animator and agreements."""
    ev, rb, cl, a, st = m.sc.policy.evaluation, m.sc.policy.rules.evaluation, m.clusters, \
        m.actors, m.rulebook
    n = a.n
    start = m.sc.time.start_year
    due = []
    for c in np.flatnonzero(cl.active):
        r = st.clusters[c]
        launch_year = start + int(cl.launch_step[c]) // 4
        if r.probation_until >= 0:
            if m.year >= r.probation_until:
                due.append(c)
        elif rules.due(m.year, m.t, launch_year, int(cl.last_eval_step[c]), rb.calendar,
                       ev.period_years):
            due.append(c)
    if not due:
        return
    criteria = rb.criteria or default_criteria(ev)
    combine = rb.combine or default_combine(ev)
    # dropping one cluster changes no other cluster's counts
    counts = member_counts(a.view, n, cl.view)
    measures = rules.cluster_measures(
        counts, np.array([r.launched_since for r in st.clusters], np.int64),
        m.ledger.animation_subsidy, m.ledger.fees,
        np.array([r.members_before for r in st.clusters], np.float64))
    for c in due:
        r = st.clusters[c]
        members, companies, involved = counts[c, :3].tolist()
        involvement = involved / companies if companies else 0.0
        values = [float(measures[k.indicator][c]) for k in criteria]
        passed, score = rules.passes(values, criteria, combine)
        review = r.probation_until >= 0
        decision = rules.consequence(passed, r, rb.consequence, m.year)
        m.evaluations.append((m.year, cl.names[c], members, involvement, not passed))
        m.ledger.evaluated[c] += 1
        st.decide(m.year, m.quarter, "cluster", cl.names[c],
                  "review" if review else "evaluation", f"{combine.rule}/{rb.consequence.rule}",
                  decision, passed, score, _reason(values, criteria, combine, passed, score))
        cl.last_eval_step[c] = m.t
        r.score, r.members_before, r.launched_since = score, float(members), 0
        if decision == rules.PROBATION:
            m.ledger.probations[c] += 1
        elif decision == rules.CUT:
            m.ledger.subsidy_cuts[c] += 1
        elif decision == rules.CONDITIONAL:
            m.ledger.conditional_renewals[c] += 1
        elif decision == rules.DROPPED:
            cl.set_status(c, DROPPED, m.t)
            cl.effort[c] = 0.0  # the animator's post ends with the Region's funding
            m.agreements.end(c, m.t)
            a.cluster[:n][a.cluster[:n] == c] = -1


def evaluate_poles(m: ClusterModel) -> None:
    """The selected poles due (``first_year`` and every ``period_years`` after, or the review
    of a probation) are measured (labelled and funded projects since the selection,
    participants) and keep or lose their label."""
    pe, po, a, st = m.sc.policy.rules.pole_evaluation, m.poles, m.actors, m.rulebook
    on_calendar = m.year >= pe.first_year and (m.year - pe.first_year) % pe.period_years == 0
    n = a.n
    alive, pole = a.alive[:n], a.pole[:n]
    participants = np.bincount(pole[alive & (pole >= 0)].astype(np.int64),
                               minlength=len(po.names))
    measures = {"labelled_projects": m.ledger.labelled.sum(axis=1),
                "funded_projects": m.ledger.funded.sum(axis=1),
                "members": participants.astype(np.float64)}
    for p in np.flatnonzero(po.status == SELECTED):
        r = st.poles[p]
        review = r.probation_until >= 0
        if not (m.year >= r.probation_until if review else on_calendar):
            continue
        values = [float(measures[k.indicator][p]) for k in pe.criteria]
        passed, score = rules.passes(values, pe.criteria, pe.combine)
        decision = rules.consequence(passed, r, pe.consequence, m.year)
        if decision == rules.DROPPED:  # the probation's review failed: the label goes
            decision = rules.WITHDRAWN
        r.score = score
        st.decide(m.year, m.quarter, "pole", po.names[p], "review" if review else "evaluation",
                  f"{pe.combine.rule}/{pe.consequence.rule}", decision, passed, score,
                  _reason(values, pe.criteria, pe.combine, passed, score))
        if decision == rules.WITHDRAWN:
            po.status[p] = NOT_SELECTED
            m.ledger.poles_withdrawn[p] += 1
        elif decision == rules.PROBATION:
            m.ledger.pole_probations[p] += 1


def pole_money(m: ClusterModel) -> None:
    """At a year end of the poles' budget period, the rule for unspent money: money beyond
    the tranches of the years left lapses, is carried over or is reallocated; what is left at
    the end of the period lapses (recorded, not spent)."""
    pp, po = m.sc.policy.poles, m.poles
    if not pp.enabled or not pp.budget_start_year <= m.year <= pp.budget_end_year:
        return
    led = m.ledger
    if m.year == pp.budget_end_year:
        led.pole_money_lapsed[:] += po.remaining
        if po.remaining.any():
            m.rulebook.decide(m.year, m.quarter, "budget", "poles", "end of period",
                              "pole_money", "lapsed", None, None, "left at the end: " + ", ".join(
                                  f"{INSTRUMENTS[i]} {po.remaining[i] / 1e6:.2f} MEUR"
                                  for i in np.flatnonzero(po.remaining)))
        return
    rule = m.sc.policy.rules.pole_money
    years_total = pp.budget_end_year - pp.budget_start_year + 1
    lapsed, carried, moved = POLE_MONEY[rule.rule](po.remaining, po.budget,
                                                   pp.budget_end_year - m.year, years_total,
                                                   rule)
    led.pole_money_lapsed[:] += lapsed
    led.pole_money_carried[:] += carried
    led.pole_money_moved[:] += moved
    if rule.rule != "carry_over" and (lapsed.any() or moved.any()):
        what = lapsed if rule.rule == "lapse" else moved
        m.rulebook.decide(m.year, m.quarter, "budget", "poles", "year end", rule.rule,
                          "lapsed" if rule.rule == "lapse" else "reallocated", None, None,
                          ", ".join(f"{INSTRUMENTS[i]} {what[i] / 1e6:+.2f} MEUR"
                                    for i in np.flatnonzero(what)))
