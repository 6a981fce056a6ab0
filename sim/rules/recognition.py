"""Recognition rules: how clusters come to be (``policy.rules.recognition``).

* ``pinned`` (the baseline): the clusters launch on the scenario's dates, the historical
  replay; nothing is decided here.
* ``none``: the Region recognises no cluster; none launches.
* ``bottom_up``: the scenario's clusters are the groups of related activities that *may*
  form (their sectors), not dated launches.  On 1 January of each year from ``first_year``,
  the companies of a group's sectors that are in no cluster weigh the benefit they expect
  (:func:`interested`); a group applies when at least ``behaviour.creation.min_founders`` of
  them do (times ``run.scale``; the firms' side of a birth, :class:`sim.scenario.Creation`); the Region recognises the applications in order of the interested
  companies' number, at most ``per_year`` a year, while the yearly subsidy committed to the
  active and recognised clusters stays within ``budget_eur``, and none after ``last_year``.
  When ``rounds`` lists years, groups apply in those years only (the Region's calls for
  recognition); the clusters the scenario dates in or before ``pinned_until`` launch on their
  dates (the Region's pilots, inputs).  A recognised cluster launches that quarter (:func:`sim.processes.launch.launch_clusters`
  draws its founders); a dropped one may apply again ``wait_years`` after its drop.
  Deterministic given the state: no random stream of its own.

Each rule is a function ``rule(m, spec) -> list of clusters to launch this quarter``
(:data:`RECOGNITION`); every application and its decision is recorded in the decisions'
table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.rules.schema import BottomUp, NoneRecognised, Pinned
from sim.state.codes import DROPPED, LARGE, PLANNED, SME

if TYPE_CHECKING:
    from sim.model import ClusterModel



def pinned(m: ClusterModel, rule: Pinned) -> list[int]:
    """``pinned``: the scenario's launch dates (nothing to decide)."""
    return []


def none(m: ClusterModel, rule: NoneRecognised) -> list[int]:
    """``none``: no cluster is ever recognised: the scenario's dates are cleared."""
    if m.t == 0:
        _clear_dates(m, 0)
    return []


def _clear_dates(m: ClusterModel, keep_before: int) -> None:
    """Undate the planned clusters due from step ``keep_before`` on: a cluster not (yet)
    recognised is dated the quarter after the run (its cohort, in the indicators, is the year
    after the last); those due earlier keep their dates (the pinned pilots)."""
    cl = m.clusters
    cl.launch_step[(cl.status == PLANNED) & (cl.launch_step >= keep_before)] = m.n_quarters
    cl.launch_step_set = frozenset(int(s) for s in cl.launch_step[cl.status == PLANNED]
                                   if s < m.n_quarters)


def interested(m: ClusterModel, c: int, rule: BottomUp) -> int:
    """The companies of cluster ``c``'s sectors, alive and in no cluster, whose expected
    benefit of a cluster reaches ``behaviour.creation.benefit_threshold``.  The benefit is the
    membership's utility (``behaviour.membership``, :mod:`sim.processes.membership`: its base,
    the pull of existing cooperation (the share of the group's companies that ever took part
    in a partnership), the company's taste for cooperation and its health) with three terms of
    the creation process's own (``behaviour.creation``): the group's recent cooperation
    standing for what a cluster would do (the share of its companies that started a
    partnership over the last four quarters, times each company's success record; weight
    ``cooperation_weight``), the clusters already at work (their share of the scenario's
    groups; weight ``demonstration_weight``: the seed's "multiplier effect") and the animation
    subsidy on offer (its share of an animator's cost; weight ``subsidy_weight``).  ``rule``
    is the recognition rule (unused here: the firms' interest does not depend on the Region's
    rule)."""
    from sim.processes.membership import MARGIN_SD

    a, n, sc = m.actors, m.actors.n, m.sc
    mb, an, cr = sc.behaviour.membership, sc.policy.animation, sc.behaviour.creation
    sector = a.sector[:n]
    company = a.alive[:n] & np.isin(a.atype[:n], (SME, LARGE))
    in_group = company & cl_sectors(m, c)[sector]
    if not in_group.any():
        return 0
    last = a.last_project[:n][in_group]
    coop_share = float((last >= 0).mean())
    recent = float((last >= m.t - 4).mean()) if m.t >= 4 else coop_share
    free = in_group & (a.cluster[:n] < 0)
    record = (2.0 * (a.projects_won[:n][free] + 0.5 * mb.record_prior)
              / (a.projects_done[:n][free] + mb.record_prior))
    seen = a.market_weight[:n][free] > 0
    health = np.where(seen, (a.margin[:n][free] - (1.0 - sc.world.market.labour_share))
                      / MARGIN_SD, 0.0)
    offer = min(an.subsidy_eur_per_year / an.cost_eur_per_year, 1.0)
    shown = float(np.sum(m.clusters.active)) / len(m.clusters.names)  # the clusters at work
    u = (mb.benefit_base + cr.cooperation_weight * recent * record + mb.benefit_pull * coop_share
         + mb.benefit_taste * a.taste[:n][free] + mb.selection * health
         + cr.subsidy_weight * offer + cr.demonstration_weight * shown)
    return int((u >= cr.benefit_threshold).sum())


def cl_sectors(m: ClusterModel, c: int) -> np.ndarray:
    """Bool by sector: the sectors of cluster ``c``."""
    return m.clusters.sectors[c]


def bottom_up(m: ClusterModel, rule: BottomUp) -> list[int]:
    """``bottom_up``: the groups that apply this year and those the Region recognises."""
    cl, st = m.clusters, m.rulebook
    if m.t == 0:
        _clear_dates(m, 4 * (rule.pinned_until - m.sc.time.start_year + 1))
    if m.year < rule.first_year or (rule.rounds and m.year not in rule.rounds):
        return []
    need = max(2, round(m.sc.behaviour.creation.min_founders * m.sc.run.scale))
    applicants = []
    for c in range(len(cl.names)):
        status = cl.status[c]
        if status == DROPPED:
            if m.year - (m.sc.time.start_year + int(cl.status_step[c]) // 4) < rule.wait_years:
                continue
        elif status != PLANNED or cl.launch_step[c] < m.n_quarters:
            continue  # at work, or a pinned pilot not launched yet
        k = interested(m, c, rule)
        if k >= need:
            applicants.append((k, c))
    if not applicants:
        return []
    m.ledger.add("applications", len(applicants))
    applicants.sort(key=lambda x: (-x[0], x[1]))
    committed = float(np.sum(cl.active)) * m.sc.policy.animation.subsidy_eur_per_year
    out = []
    for k, c in applicants:
        why = f"{k} interested companies >= {need}"
        if m.year > rule.last_year:
            decision, why = "refused", why + f"; no recognition after {rule.last_year}"
        elif len(out) >= rule.per_year:
            decision, why = "refused", why + f"; {rule.per_year} recognitions a year at most"
        elif committed + m.sc.policy.animation.subsidy_eur_per_year > rule.budget_eur:
            decision, why = "refused", why + f"; the budget ({rule.budget_eur:.0f} EUR/year) " \
                "is committed"
        else:
            decision = "recognised"
            committed += m.sc.policy.animation.subsidy_eur_per_year
            out.append(c)
        st.decide(m.year, m.quarter, "cluster", cl.names[c], "recognition", "bottom_up",
                  decision, decision == "recognised", float(k), why)
    for c in out:
        if cl.status[c] == DROPPED:
            cl.set_status(c, PLANNED, m.t)
            st.clusters[c].probation_until = -1
            st.clusters[c].subsidy_factor = 1.0
            st.clusters[c].failures = 0
        cl.launch_step[c] = m.t
        st.clusters[c].recognised_year = m.year
    if out:
        cl.launch_step_set = cl.launch_step_set | {m.t}
        m.ledger.add("recognitions", len(out))
    return out


RECOGNITION = {"pinned": pinned, "none": none, "bottom_up": bottom_up}


def recognise(m: ClusterModel) -> list[int]:
    """On 1 January: the recognition rule's decisions (the clusters it launches now)."""
    rule = m.sc.policy.rules.recognition
    return RECOGNITION[rule.rule](m, rule)

