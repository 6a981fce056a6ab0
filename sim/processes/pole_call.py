"""Sub-step 7, pole call: at a call's deadline, consortia of the selected poles propose, the
jury ranks and labels them, and the budget funds them.

Proposals are scored on the members' mean capability, their match, the presence of research,
training and foreign partners, the health of their companies (``behaviour.poles.jury_selection``:
the jury picks champions, Fontagné et al. 2013), plus noise; those at or above
``label_threshold`` are labelled, if they include a foreign partner when the policy requires one
(``policy.poles.require_foreign``, the seed).  A consortium finds a foreign partner with the
chance ``behaviour.poles.foreign_prob`` times (1 + the agreements with foreign clusters in
force of the clusters of the pole's sectors).
In rank order, a labelled proposal is funded when its R&D request fits this call's envelope
(what is left of the instrument divided by the calls left in the budget period); its training
and investment requests are granted when they fit theirs.  No instrument can be overspent.
Proposals that are not funded free their partners' capacity; the members of a funded one join
its pole, and its companies match its R&D grant with their own R&D money: the grant covers
``policy.poles.rd_aid_rate`` of the project's R&D budget (:mod:`sim.processes.projects` spends
the match over the project's life).  The consortia come from the shared rule
(:func:`sim.kernels.consortia.form_consortia`, groups = poles); the jury's and the budget's
arithmetic and the call's counters are one compiled call, :func:`judge_and_fund`, whose
numbers are, bit for bit, those of the NumPy it replaced (``tests/test_poles.py``); the draws
(the jury's noise, the requests' spread) are made here, from the ``jury`` Generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels import libm
from sim.kernels.consortia import GROUP, consortium_rule, form_consortia
from sim.kernels.groups import member_index
from sim.kernels.predicates import is_training
from sim.kernels.sums import pairwise_sum
from sim.processes.partnering import SEARCH
from sim.processes.projects import start_projects
from sim.rules.funding import capped, over_firm_cap, sme_bonus, sme_majority
from sim.state.codes import GRANTS, INVESTMENT, LARGE, RD, SELECTED, SME, TRAINING
from sim.state.params import Params

if TYPE_CHECKING:
    from sim.model import ClusterModel

_Q = "policy.poles."
_R = "behaviour.poles."  # the responses of firms, research actors and the jury
RULE = consortium_rule(
    **SEARCH, nc_prob=_R + "rd_slot_prob", grow_prob=_R + "consortium_growth",
    max_size=_Q + "max_consortium",
    # proposals are not projects: they leave the members' involvement (last_project) alone
    use_coop=lambda sc: False, require_mix=lambda sc: True, mark_involvement=lambda sc: False)
JURY = Params(floats={
    "noise": _R + "jury_noise", "threshold": _Q + "label_threshold",
    "training_eur": lambda sc: _cap(1e6 * sc.policy.poles.training_request_meur, sc),
    "investment_eur": lambda sc: _cap(1e6 * sc.policy.poles.investment_request_meur, sc),
    "sme_quota": "policy.rules.pole_jury.sme_quota"},
    flags={"require_foreign": "policy.poles.require_foreign"})


def _cap(request_eur: float, sc) -> float:
    """A grant request under the rulebook's cap per project (``policy.rules.pole_jury``)."""
    cap = 1e6 * sc.policy.rules.pole_jury.cap_project_meur
    return min(request_eur, cap) if cap > 0 else request_eur
# the jury's score: weights of the members' mean capability, match (float32, as the match is),
# a research partner, a training partner and a foreign partner
W_CAPABILITY, W_MATCH, W_RD, W_TRAINING, W_FOREIGN = 0.5, np.float32(0.3), 0.2, 0.1, 0.2


def pole_call(m: ClusterModel) -> None:
    """A call deadline: consortia propose, the jury ranks and labels, the budget funds."""
    po, pp, a = m.poles, m.sc.policy.poles, m.actors
    pb = m.sc.behaviour.poles
    if m.t not in po.call_step_set:
        return
    calls = np.flatnonzero(po.call_steps == m.t)
    selected = po.status == SELECTED
    if not pp.enabled or len(calls) == 0 or not selected.any():
        return
    call = int(calls[0])
    m.ledger.calls_held[call] = 1.0
    # each living actor's selected pole by its sector; who can initiate a proposal
    group, initiators = pole_groups(a.view, a.n, po.view)
    n_p = len(po.names)
    co_ptr, co_idx, nc_ptr, nc_idx, _ = member_index(group, a.atype, a.alive, n_p)
    if len(initiators) == 0:
        return
    groups = np.zeros(n_p, GROUP)
    groups["rate"] = np.where(selected, pb.proposal_rate, 0.0)
    groups["discovery"] = 1.0
    groups["foreign"] = foreign_chances(m, pb.foreign_prob)
    m.consortia = cons = m.consortia.ensure(len(initiators), pp.max_consortium)
    k = form_consortia(initiators, group[initiators].astype(np.int32),
                       (co_ptr, co_idx, nc_ptr, nc_idx, np.zeros(0, np.int32)), groups,
                       m.sectors, a.view, group, m.t, RULE.of(m), m.streams["poles"], cons.view,
                       None)
    if k == 0:
        return
    rng = m.gen["jury"]
    z = rng.standard_normal(k)  # the jury's noise, then the R&D requests' spread
    rd_req = 1e6 * pp.rd_request_meur * libm.exp(0.5 * rng.standard_normal(k) - 0.125) \
        * np.sqrt(cons.size[:k] / 4.0)
    # the rulebook's jury rules (sim.rules.funding): SME bonus, caps per project and per firm
    jr = m.sc.policy.rules.pole_jury
    bonus = sme_bonus(cons.members, cons.size, a.atype, k, jr.sme_bonus)
    if pb.jury_selection != 0.0:  # the jury's tilt towards healthy companies (champions)
        bonus = bonus + pb.jury_selection * company_health(cons.members[:k], cons.size[:k], a,
                                                           m.sc.world.market.labour_share)
    sme_led = sme_majority(cons.members, cons.size, a.atype, k)
    rd_req = capped(rd_req, 1e6 * jr.cap_project_meur)
    if jr.cap_firm_meur > 0:
        j = JURY.of(m)[0]
        request = rd_req + np.where(cons.has_training[:k], j["training_eur"], 0.0) \
            + j["investment_eur"]
        over = over_firm_cap(cons.members, cons.size, a.atype, k, request,
                             m.rulebook.firm_grants, 1e6 * jr.cap_firm_meur)
        rd_req = np.where(over, np.inf, rd_req)  # an infinite request is never funded
        m.ledger.add("proposals_over_firm_cap", int(over.sum()))
    # the Region spreads what is left evenly over the calls left in the budget period
    calls_left = (int(((po.call_steps >= m.t) & (po.call_steps <= po.budget_steps[1])).sum())
                  if po.in_budget_period(m.t) else 0)
    rows, grants = judge_and_fund(k, cons.view, a.view, (z, rd_req, bonus, sme_led), JURY.of(m),
                                  po.view, m.ledger.view, call, m.t, calls_left)
    if jr.cap_firm_meur > 0:
        for i in rows:
            team = [int(x) for x in cons.members[i, : cons.size[i]] if a.atype[x] in (SME, LARGE)]
            for x in team:
                m.rulebook.firm_grants[x] = (m.rulebook.firm_grants.get(x, 0.0)
                                             + grants[i].sum() / max(len(team), 1))
    if len(rows):
        pole = cons.group[rows].astype(np.int16)
        slots = start_projects(m, cons, rows, a.cluster[cons.members[rows, 0]], pole, call)
        p = m.projects
        p.fund_rd[slots] = grants[rows, RD]
        p.fund_training[slots] = grants[rows, TRAINING]
        p.fund_investment[slots] = grants[rows, INVESTMENT]
        # the companies match the R&D grant up to the budget it covers at the aid rate
        p.rd_private[slots] = grants[rows, RD] * (1.0 - pp.rd_aid_rate) / pp.rd_aid_rate


def foreign_chances(m: ClusterModel, base: float) -> np.ndarray:
    """Each pole's chance that a consortium brings in a foreign partner: ``base`` times (1 +
    the agreements with foreign clusters in force of the Walloon clusters of its sectors),
    at most 1, as a cluster partnership's (:func:`sim.processes.partnering.cluster_probabilities`):
    the clusters' international partnerships (and the tender subsidy behind them) open the
    way to the foreign partners that the poles' proposals must include."""
    po, cl = m.poles, m.clusters
    agreements = m.agreements.active_counts(len(cl.names), m.t)
    out = np.empty(len(po.names))
    for p in range(len(po.names)):
        covered = cl.sectors[:, po.sector_pole == p].any(axis=1)
        out[p] = min(1.0, base * (1.0 + float(agreements[covered].sum())))
    return out


def company_health(members: np.ndarray, size: np.ndarray, a, labour_share: float) -> np.ndarray:
    """The mean health of each consortium's companies (their margin over the start's, in
    units of :data:`sim.processes.membership.MARGIN_SD`; 0 for one the economy has not seen
    and for a consortium without companies), which the jury's selection weighs."""
    from sim.processes.membership import MARGIN_SD

    rows = np.maximum(members, 0)
    valid = (members >= 0) & (np.arange(members.shape[1]) < size[:, None])
    company = valid & np.isin(a.atype[rows], (SME, LARGE))
    seen = company & (a.market_weight[rows] > 0)
    h = np.where(seen, (a.margin[rows].astype(np.float64) - (1.0 - labour_share)) / MARGIN_SD,
                 0.0)
    n_co = company.sum(axis=1)
    return np.where(n_co > 0, h.sum(axis=1) / np.maximum(n_co, 1), 0.0)


@njit(cache=True)
def pole_groups(a, n, po):
    """The selected pole of each actor row ``< n`` by its sector (int16, as the actors'
    ``cluster``, so that the group index and the consortia compile once for both; ``-1`` when
    dead or none) and the rows that can initiate a proposal (int32: companies, universities and
    research centres of a selected pole)."""
    alive, atype, sector = a.alive, a.atype, a.sector
    sector_pole, status = po.sector_pole, po.status
    group = np.empty(n, np.int16)
    initiators = np.empty(n, np.int32)
    k = 0
    for i in range(n):
        g = sector_pole[sector[i]] if alive[i] else -1
        if g < 0 or status[g] != SELECTED:
            g = -1
        group[i] = g
        if g >= 0 and not is_training(atype[i]):
            initiators[k] = i
            k += 1
    return group, initiators[:k]


@njit(cache=True)
def consortium_means(values, members, size, k):
    """Mean of ``values`` (float64) over the members of each of the first ``k`` consortia:
    ``values[members[i, :size[i]]].mean()`` for each ``i`` (NumPy's summation order)."""
    out = np.empty(k)
    buf = np.empty(members.shape[1])
    for i in range(k):
        s = size[i]
        for m in range(s):
            buf[m] = values[members[i, m]]
        out[i] = pairwise_sum(buf, 0, s) / s
    return out


@njit(cache=True)
def fund_proposals(order, labelled, rd_req, tr_req, inv_req, envelope, funded, grants,
                   sme=None, quota=0.0):
    """The jury's funding in rank ``order``: a labelled proposal is funded when its R&D request
    fits what is left of ``envelope[RD]``; its training and investment requests (when
    positive) are granted when they fit ``envelope[TRAINING]`` and ``envelope[INVESTMENT]``.
    With an SME ``quota`` (the rulebook's, 0 in the baseline), a first pass in rank order
    funds the SME-majority proposals (``sme``) from the share ``quota`` of the R&D envelope
    reserved to them; the second pass (the only one without a quota) funds the others from
    what is left, the unspent reserve included.  Updates ``envelope``, ``funded`` and
    ``grants`` (``(k, 3)``) in place."""
    if quota > 0.0 and sme is not None:
        reserved = quota * envelope[RD]
        for i in order:
            if not labelled[i] or not sme[i] or rd_req[i] > reserved:
                continue
            reserved -= rd_req[i]
            _grant(i, rd_req, tr_req, inv_req, envelope, funded, grants)
    for i in order:
        if funded[i] or not labelled[i] or rd_req[i] > envelope[RD]:
            continue
        _grant(i, rd_req, tr_req, inv_req, envelope, funded, grants)


@njit(cache=True)
def _grant(i, rd_req, tr_req, inv_req, envelope, funded, grants):
    """Fund proposal ``i``: its R&D request, and its training and investment requests when
    positive and within what is left of their envelopes."""
    funded[i] = True
    grants[i, RD] = rd_req[i]
    envelope[RD] -= rd_req[i]
    req = tr_req[i]
    if 0 < req <= envelope[TRAINING]:
        grants[i, TRAINING] = req
        envelope[TRAINING] -= req
    req = inv_req[i]
    if 0 < req <= envelope[INVESTMENT]:
        grants[i, INVESTMENT] = req
        envelope[INVESTMENT] -= req


@njit(cache=True)
def _scores(k, cons, a, z, bonus, jury, call, led):
    """The jury's scores of the ``k`` proposals and whether each is labelled; books the
    proposals and the labelled consortia of call ``call`` in the ledger."""
    members, size, group, match = cons.members, cons.size, cons.group, cons.match
    has_rd, has_training, foreign = cons.has_rd, cons.has_training, cons.foreign
    proposals, labelled_n, partners = led.proposals, led.labelled, led.consortium_partners
    atype = a.atype
    cap_mean = consortium_means(a.capability, members, size, k)
    score = np.empty(k)
    labelled = np.zeros(k, np.bool_)
    for i in range(k):
        g = group[i]
        proposals[g, call] += 1
        s = W_CAPABILITY * cap_mean[i] + W_MATCH * match[i]
        s = s + (W_RD if has_rd[i] else 0.0)
        s = s + (W_TRAINING if has_training[i] else 0.0)
        s = s + (W_FOREIGN if foreign[i] > 0 else 0.0)
        s = s + jury.noise * z[i]
        s = s + bonus[i]  # the rulebook's SME bonus (0 in the baseline)
        score[i] = s
        # the seed: proposals must include foreign partners (when the policy requires them,
        # one without is ineligible)
        if s >= jury.threshold and (foreign[i] > 0 or not jury.require_foreign):
            labelled[i] = True
            labelled_n[g, call] += 1
            for m in range(size[i]):
                partners[call, atype[members[i, m]]] += 1
            led.consortium_size[call] += size[i]
            led.consortium_foreign[call] += foreign[i]
    return score, labelled


@njit(cache=True)
def judge_and_fund(k, cons, a, draws, jury, po, led, call, step, calls_left):
    """The jury and the budget of call ``call`` over its ``k`` proposals (the consortia
    buffers ``cons``).

    Score: ``0.5 mean capability + 0.3 match + 0.2 has_rd + 0.1 has_training + 0.2 foreign
    + jury_noise z + bonus`` (``draws = (z, rd_req, bonus, sme)``: standard normal draws, one
    per proposal, the R&D requests, the rulebook's SME bonus and whether SMEs are the majority
    of each consortium, for its SME quota); labelled when at least the jury's ``threshold``.  When ``calls_left``
    is positive (the call is in the budget period: the calls of the period from this one on),
    the envelope of each of R&D, training and investment is what is left of it
    (``po.remaining``) divided by ``calls_left``, and labelled proposals are funded in score
    order (:func:`fund_proposals`): R&D request ``rd_req``, training ``training_eur`` when the
    consortium has a training centre, investment ``investment_eur``.  ``po.remaining`` is
    reduced by the grants.

    Books the call in the ledger (proposals, labelled, funded by pole; the labelled consortia's
    partners by actor type, sizes and foreign partners; the funding by instrument), frees the
    capacity the proposals held when they are not funded (``a.load``), and gives the members of
    a funded consortium its pole (``a.pole``) and ``last_project = step``.

    Returns the funded rows, in order, and the grants of every proposal (``(k, 3)``: R&D,
    training, investment; zero when not funded).
    """
    j = jury[0]
    z, rd_req, bonus, sme_led = draws
    members, size, group, remaining = cons.members, cons.size, cons.group, po.remaining
    load, a_pole, last_project, funded_n = a.load, a.pole, a.last_project, led.funded
    score, labelled = _scores(k, cons, a, z, bonus, j, call, led)
    funded = np.zeros(k, np.bool_)
    grants = np.zeros((k, 3))
    fund = calls_left > 0
    if fund:
        envelope = np.empty(3)
        for q in range(3):
            envelope[q] = remaining[GRANTS[q]] / calls_left
        tr_req = np.empty(k)
        inv_req = np.empty(k)
        has_training = cons.has_training
        for i in range(k):
            tr_req[i] = j.training_eur if has_training[i] else 0.0
            inv_req[i] = j.investment_eur
        order = np.argsort(-score, kind="mergesort")  # stable, as NumPy's kind="stable"
        fund_proposals(order, labelled, rd_req, tr_req, inv_req, envelope, funded, grants,
                       sme_led, j.sme_quota)
    total = np.zeros(3)
    for i in range(k):  # grants.sum(axis=0): row after row
        for q in range(3):
            total[q] += grants[i, q]
    if fund:
        for q in range(3):
            remaining[GRANTS[q]] -= total[q]
    rows = np.empty(k, np.int64)
    n_funded = 0
    for i in range(k):
        if funded[i]:
            funded_n[group[i], call] += 1
            rows[n_funded] = i
            n_funded += 1
        else:  # a proposal that is not funded frees its partners' capacity
            for m in range(size[i]):
                load[members[i, m]] -= 1
    for q in range(3):
        led.pole_funding[GRANTS[q]] += total[q]
    for r in range(n_funded):
        i = rows[r]
        for m in range(size[i]):
            a_pole[members[i, m]] = group[i]
            last_project[members[i, m]] = step
    return rows[:n_funded], grants
