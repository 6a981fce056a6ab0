"""The Region's processes: cluster launches, animation funding, internationalisation,
evaluation, and the competitiveness poles (selection, calls, jury, budget, programmes).

Each function is one line of :meth:`sim.model.ClusterModel.step` and works on a handful of
clusters or poles with NumPy; the only per-actor work goes through kernels or vectorised masks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.institutions import (
    ABSORBED,
    ACTIVE,
    DROPPED,
    NOT_SELECTED,
    PLANNED,
    PROMOTION,
    SELECTED,
)
from sim.kernels.bookkeeping import (
    agreement_draws,
    animation_budget,
    founder_candidates,
    involvement_counts,
    membership_inputs,
    pole_groups,
)
from sim.kernels.consortia import form_consortia
from sim.kernels.groups import member_index
from sim.kernels.poles import judge_and_fund, programme_spend, selection_counts
from sim.processes import spawn_companies
from sim.scenario import PROVINCES
from sim.state import (
    POLE_ASSETS,
)

if TYPE_CHECKING:
    from sim.model import ClusterModel

RD, TRAINING, INVESTMENT, EXPORT, ASSETS = range(5)
TENDER_REFERENCE_EUR = 24_000.0  # seed: the Region's tender subsidy


def launch_clusters(m: ClusterModel) -> None:
    """Clusters due this quarter start, founded by companies of their sectors (bottom-up)."""
    if m.t not in m.launch_steps:
        return
    cl, a = m.clusters, m.actors
    due = np.flatnonzero((cl.status == PLANNED) & (cl.launch_step == m.t))
    n = a.n
    for c in due:
        cand, weight = founder_candidates(n, a.alive, a.atype, a.cluster, a.sector,
                                          cl.sectors[c], a.capability)
        k = min(len(cand), max(2, round(cl.founders[c] * m.sc.run.scale)))
        if k:
            a.cluster[weighted_sample(m.gen["launch"], cand, weight, k)] = c
        cl.set_status(c, ACTIVE, m.t)
        cl.last_eval_step[c] = m.t
        m.counters.clusters_created += 1


def weighted_sample(rng: np.random.Generator, items: np.ndarray, weight: np.ndarray,
                    k: int) -> np.ndarray:
    """``k`` of ``items`` drawn without replacement, each draw with probability proportional to
    the weights of the items not drawn yet (successive sampling), by Efraimidis and Spirakis'
    keys: one uniform ``u`` per item, the ``k`` largest ``log(u) / weight`` win.  Exact, with one
    draw per item; items of weight 0 come after every other, in their order.  About 10 times
    cheaper than ``Generator.choice(replace=False, p=...)`` on a few hundred items."""
    with np.errstate(divide="ignore"):
        key = np.log(rng.random(len(items))) / weight
    return items[np.argsort(-key, kind="stable")[:k]]


def fund_animation(m: ClusterModel) -> None:
    """The Region's animation subsidy (tapered), members' fees, and the animators' effort.

    An animator is hired only with a subsidy; fees complement it up to their caps.  Effort is
    the budget in full-time animators, split over the tasks by the policy's shares.
    """
    cl, an, a = m.clusters, m.sc.policy.animation, m.actors
    shares = m.effort_shares
    if shares is None:
        shares = m.effort_shares = np.array([
            an.effort_know_each_other, an.effort_mapping, an.effort_recruiting,
            an.effort_partnerships, an.effort_benchmarking, an.effort_promotion])
    # the clusters' census of this quarter (members by kind, pull, activity), in one pass; the
    # membership step (sub-step 5) reads it too, since nothing joins or leaves in between
    membership_inputs(a.n, a.alive, a.atype, a.sector, a.cluster, cl.sectors, cl.launched_recent,
                      cl.members, cl.pull, cl.activity, cl.n_sme, cl.n_large)
    cl.census_step = m.t
    animation_budget(
        cl.n_sme, cl.n_large, cl.active, cl.launch_step, m.t, an.taper_per_year,
        an.taper_floor, an.subsidy_eur_per_year, an.cost_eur_per_year, an.fee_cap_sme_eur,
        an.fee_cap_large_eur, shares, m.counters.animation_subsidy, m.counters.fees, cl.subsidy,
        cl.fee_sme, cl.fee_large, cl.effort)


def internationalise(m: ClusterModel) -> None:
    """Clusters sign agreements with foreign clusters, helped by the tender subsidy."""
    cl, it = m.clusters, m.sc.policy.international
    year = m.year
    subsidy = it.tender_subsidy_eur if year >= it.tender_subsidy_start_year else 0.0
    factor = 1.0 + it.tender_effect * subsidy / TENDER_REFERENCE_EUR
    u = m.gen["international"].random(len(cl.names))
    signed = agreement_draws(u, cl.effort[:, PROMOTION], cl.status, it.agreement_rate, factor)
    for c in signed.tolist():
        m.agreements.sign(c, m.t + 4 * it.agreement_years)
    m.counters.agreements_signed += len(signed)
    m.counters.tender_subsidy += subsidy * len(signed)


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
    counts = involvement_counts(n, a.atype, a.cluster, a.last_project, cl.last_eval_step)
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
            m.counters.clusters_dropped += 1


def select_poles(m: ClusterModel) -> None:
    """In the selection quarter, candidate poles are checked against the seed's four criteria.

    1. partnership of enterprises, research and training centres: at least ``min_rd_actors``
       universities or research centres and ``min_training_actors`` training centres;
    2. innovative projects: at least ``min_innovation`` innovations by the sectors' companies;
    3. critical mass: ``min_companies`` companies that are cluster members or past partners;
    4. activities across Wallonia: such companies in ``min_provinces`` provinces.
    """
    pp, po, a = m.sc.policy.poles, m.poles, m.actors
    if m.t != m.selection_step:
        return
    n = a.n
    alive = a.alive[:n]
    for p in range(len(po.names)):
        rd, tr, innov, engaged, provinces = selection_counts(
            n, a.alive, a.atype, a.sector, a.cluster, a.last_project, a.innovations,
            a.province, po.sectors[p], len(PROVINCES))
        ok = (rd >= pp.min_rd_actors and tr >= pp.min_training_actors
              and innov >= pp.min_innovation and engaged >= pp.min_companies
              and provinces >= pp.min_provinces)
        po.status[p] = SELECTED if ok else NOT_SELECTED
        if not ok:
            continue
        # cluster members of the pole's sectors become pole members
        in_sec = alive & po.sectors[p][a.sector[:n]]
        a.pole[:n][in_sec & (a.cluster[:n] >= 0)] = p
        if pp.absorb_clusters:
            cl = m.clusters
            covered = cl.active & ~(cl.sectors & ~po.sectors[p]).any(axis=1)
            for c in np.flatnonzero(covered):
                cl.set_status(c, ABSORBED, m.t)
                cl.effort[c] = 0.0
                m.agreements.end(c, m.t)
                cl.pole[c] = p
                a.cluster[:n][a.cluster[:n] == c] = -1
                m.counters.clusters_absorbed += 1


def in_budget_period(m: ClusterModel) -> bool:
    """Whether this quarter lies in the poles' budget period."""
    lo, hi = m.budget_steps
    return lo <= m.t <= hi


def pole_call(m: ClusterModel) -> None:
    """A call deadline: consortia propose, the jury ranks and labels, the budget funds.

    Proposals are scored on the members' mean capability, their match, the presence of
    research, training and foreign partners, plus noise; those at or above ``label_threshold``
    are labelled.  In rank order, a labelled proposal is funded when its R&D request fits this
    call's envelope (what is left of the instrument divided by the calls left in the budget
    period); its training and investment requests are granted when they fit theirs.  No
    instrument can be overspent.  Proposals that are not funded free their partners' capacity;
    the members of a funded one join its pole.  The jury's and the budget's arithmetic and the
    call's counters are one compiled call, :func:`sim.kernels.poles.judge_and_fund` (the score's
    weights are there); the draws (the jury's noise, the requests' spread) are made here.
    """
    if m.t not in m.call_steps:
        return
    po, pp, a = m.poles, m.sc.policy.poles, m.actors
    calls = np.flatnonzero(po.call_steps == m.t)
    selected = po.status == SELECTED
    if not pp.enabled or len(calls) == 0 or not selected.any():
        return
    call = int(calls[0])
    m.counters.calls_this_year[call] = True
    n = a.n
    # each living actor's selected pole by its sector; who can initiate a proposal
    group, initiators = pole_groups(n, a.alive, a.atype, a.sector, po.sector_pole, selected)
    n_p = len(po.names)
    co_ptr, co_idx, nc_ptr, nc_idx, _ = member_index(group, a.atype, a.alive, n_p)
    if len(initiators) == 0:
        return
    bp = m.sc.behaviour.partnering
    buf = m.buffers(len(initiators), pp.max_consortium)
    scratch_last = a.last_project.copy()  # proposals are not projects: keep involvement clean
    ones = np.ones(n_p)
    k = form_consortia(
        initiators, group[initiators], np.where(selected, pp.proposal_rate, 0.0), False,
        m.sector_coop, co_ptr, co_idx, nc_ptr, nc_idx, np.zeros(0, np.int32), ones,
        np.zeros(n_p), pp.rd_slot_prob, np.full(n_p, pp.foreign_prob),
        a.alive, a.atype, a.sector, a.province, a.load, a.capacity, a.knowledge, a.stage,
        group, a.tie_partner, a.tie_trust, scratch_last, m.t, bp.candidates,
        bp.w_horizontal, bp.w_vertical, bp.w_trust, bp.w_proximity, bp.accept_threshold,
        bp.max_refusals, pp.max_consortium, pp.consortium_growth, True,
        m.streams["poles"], *buf,
    )
    if k == 0:
        return
    members, size, match, pole, foreign, _cross, has_rd, has_tr = buf
    rng = m.gen["jury"]
    z = rng.standard_normal(k)  # the jury's noise, then the R&D requests' spread
    rd_req = 1e6 * pp.rd_request_meur * np.exp(0.5 * rng.standard_normal(k) - 0.125) \
        * np.sqrt(size[:k] / 4.0)
    c = m.counters
    funded = np.empty(k, np.bool_)
    grants = np.empty((k, 3))
    rows = np.empty(k, np.int64)
    # the Region spreads what is left evenly over the calls left in the budget period
    calls_left = int(((po.call_steps >= m.t) & (po.call_steps <= m.budget_steps[1])).sum())
    n_funded = judge_and_fund(
        k, members, size, match, pole, foreign, has_rd, has_tr, a.capability, a.atype, z,
        rd_req, pp.jury_noise, pp.label_threshold, 1e6 * pp.training_request_meur,
        1e6 * pp.investment_request_meur, in_budget_period(m), calls_left, po.remaining,
        a.load, a.pole, a.last_project, m.t, call, c.proposals, c.labelled, c.consortium_types,
        c.consortium_size, c.consortium_foreign, c.funded, c.funding, funded, grants, rows,
    )
    if n_funded:
        sel = rows[:n_funded]
        sub = tuple(x[sel] for x in buf)
        lead_cluster = a.cluster[sub[0][:, 0]]
        slots = m.commit_projects(sub, n_funded, cluster=lead_cluster, pole=sub[3], call=call)
        m.projects.fund_rd[slots] = grants[sel, 0]
        m.projects.fund_training[slots] = grants[sel, 1]
        m.projects.fund_investment[slots] = grants[sel, 2]


def pole_programmes(m: ClusterModel) -> None:
    """Export promotion (AWEX) and assets and holdings: what is left of each is spread evenly
    over the quarters left in the budget period, from the poles' selection on."""
    po, pp, a = m.poles, m.sc.policy.poles, m.actors
    if not in_budget_period(m):
        po.export_spend[:] = 0.0
        return
    quarters_left = m.budget_steps[1] - m.t + 1  # this one included
    expected = m.expected_assets_firms
    if not programme_spend(a.n, a.pole, po.status, po.remaining, quarters_left,
                           pp.assets_firms_per_meur, po.export_spend, m.counters.funding,
                           expected):
        return
    new_firms = m.gen["assets"].poisson(expected)
    for p in np.flatnonzero(new_firms):
        sectors = np.flatnonzero(po.sectors[p])
        # choice(sectors, size=...), which draws exactly these integers
        sec = sectors[m.gen["assets"].integers(0, len(sectors), size=int(new_firms[p]),
                                               dtype=np.int64)]
        idx = spawn_companies(m, sec, POLE_ASSETS)
        a.pole[idx] = p
        m.counters.new_assets += len(idx)


__all__ = [
    "evaluate_clusters",
    "fund_animation",
    "internationalise",
    "launch_clusters",
    "pole_call",
    "pole_programmes",
    "select_poles",
]
