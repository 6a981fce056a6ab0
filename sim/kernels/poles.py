"""The competitiveness poles' bookkeeping: the jury and funding of a call, the programmes'
quarterly spending, and the selection's counts.

These run a few times a year over a handful of poles and a few hundred proposals; as NumPy they
cost a few dozen small-array operations (about a microsecond each) per call or quarter, which
at a thousand actors weighed more than the kernels around them.  Each is one compiled call that
gives the same numbers, bit for bit, as the NumPy it replaces (``tests/test_poles.py`` keeps that
NumPy as the oracle and compares them).  The rules are in :mod:`sim.policy` and docs/ODD.md,
submodels 7.2, 7.7 and 7.9.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.bookkeeping import consortium_means, fund_proposals, pole_counts

# pole status (sim.institutions)
POLE_SELECTED = 1
# instruments (sim.policy)
RD, TRAINING, INVESTMENT, EXPORT, ASSETS = range(5)
# actor types (sim.state)
_LARGE, _UNIVERSITY, _RESEARCH_CENTRE, _TRAINING_CENTRE = 1, 2, 3, 4


@njit(cache=True)
def judge_and_fund(
    k, members, size, match, pole, foreign, has_rd, has_tr, capability, atype, z, rd_req,
    jury_noise, label_threshold, training_eur, investment_eur, fund, calls_left, remaining,
    load, a_pole, last_project, step, call, proposals, labelled_n, consortium_types,
    consortium_size, consortium_foreign, funded_n, funding, funded, grants, funded_rows,
):
    """The jury and the budget of one call over its ``k`` proposals (the consortia buffers).

    Score: ``0.5 mean capability + 0.3 match + 0.2 has_rd + 0.1 has_training + 0.2 foreign
    + jury_noise z`` (``z`` standard normal draws, one per proposal); labelled when at least
    ``label_threshold``.  When ``fund`` (the call is in the budget period), the envelope of
    each of R&D, training and investment is what is left of it (``remaining``) divided by
    ``calls_left``, and labelled proposals are funded in score order
    (:func:`sim.kernels.bookkeeping.fund_proposals`): R&D request ``rd_req``, training
    ``training_eur`` when the consortium has a training centre, investment ``investment_eur``.
    ``remaining`` is reduced by the grants.

    Books the call's counters (column ``call`` of ``proposals``, ``labelled_n``, ``funded_n``
    (pole x call); row ``call`` of ``consortium_types`` (call x actor type), the labelled
    consortia's sizes and foreign partners; ``funding`` by instrument), frees the capacity the
    proposals held when they are not funded (``load``), and gives the members of a funded
    consortium its pole (``a_pole``) and ``last_project = step``.

    Writes ``funded`` (bool, k), ``grants`` (k, 3, zeroed first) and the funded rows in order
    to ``funded_rows``; returns how many were funded.
    """
    cap_mean = consortium_means(capability, members, size, k)
    score = np.empty(k)
    labelled = np.zeros(k, np.bool_)
    w_match = np.float32(0.3)  # NumPy's float32 product: match is float32
    for i in range(k):
        g = pole[i]
        proposals[g, call] += 1
        s = 0.5 * cap_mean[i] + w_match * match[i]
        s = s + (0.2 if has_rd[i] else 0.0)
        s = s + (0.1 if has_tr[i] else 0.0)
        s = s + (0.2 if foreign[i] > 0 else 0.0)
        s = s + jury_noise * z[i]
        score[i] = s
        if s >= label_threshold:
            labelled[i] = True
            labelled_n[g, call] += 1
            for m in range(size[i]):
                consortium_types[call, atype[members[i, m]]] += 1
            consortium_size[call] += size[i]
            consortium_foreign[call] += foreign[i]
    funded[:k] = False
    grants[:k] = 0.0
    if fund:
        envelope = np.empty(3)
        for j in range(3):
            envelope[j] = remaining[j] / max(calls_left, 1)
        tr_req = np.empty(k)
        inv_req = np.empty(k)
        for i in range(k):
            tr_req[i] = training_eur if has_tr[i] else 0.0
            inv_req[i] = investment_eur
        order = np.argsort(-score, kind="mergesort")  # stable, as NumPy's kind="stable"
        fund_proposals(order, labelled, rd_req, tr_req, inv_req, envelope, funded, grants)
    total = np.zeros(3)
    for i in range(k):  # grants.sum(axis=0): row after row
        for j in range(3):
            total[j] += grants[i, j]
    if fund:
        for j in range(3):
            remaining[j] -= total[j]
    n_funded = 0
    for i in range(k):
        if funded[i]:
            funded_n[pole[i], call] += 1
            funded_rows[n_funded] = i
            n_funded += 1
        else:  # a proposal that is not funded frees its partners' capacity
            for m in range(size[i]):
                load[members[i, m]] -= 1
    for j in range(3):
        funding[j] += total[j]
    for q in range(n_funded):
        i = funded_rows[q]
        for m in range(size[i]):
            a_pole[members[i, m]] = pole[i]
            last_project[members[i, m]] = step
    return n_funded


@njit(cache=True)
def programme_spend(n, pole, status, remaining, quarters_left, firms_per_meur, export_spend,
                    funding, expected_firms):
    """One quarter of export promotion (AWEX) and assets and holdings.

    What is left of each of the two programmes is spread evenly over the ``quarters_left``
    quarters of the budget period: this quarter's share is spent over the selected poles in
    proportion to their members (rows ``< n`` with that ``pole``), evenly when none has any.
    Writes each pole's export promotion spending (``export_spend``, MEUR this quarter; zero for
    all when no pole is selected) and the expected number of pole-assets firms
    (``expected_firms``, ``firms_per_meur`` per MEUR of assets spending); reduces
    ``remaining`` and adds to ``funding`` (EUR by instrument).  Returns False, having spent
    nothing, when no pole is selected.
    """
    n_p = status.shape[0]
    export_spend[:] = 0.0
    any_selected = False
    for p in range(n_p):
        any_selected |= status[p] == POLE_SELECTED
    if not any_selected:
        return False
    weight = pole_counts(n, pole, n_p)
    total = 0
    for p in range(n_p):
        if status[p] != POLE_SELECTED:
            weight[p] = 0
        total += weight[p]
    share = np.empty(n_p)
    if total == 0:  # spread evenly over the selected poles
        n_sel = 0.0
        for p in range(n_p):
            n_sel += 1.0 if status[p] == POLE_SELECTED else 0.0
        for p in range(n_p):
            share[p] = (1.0 if status[p] == POLE_SELECTED else 0.0) / n_sel
    else:
        for p in range(n_p):
            share[p] = weight[p] / total
    export = remaining[EXPORT] / quarters_left
    remaining[EXPORT] -= export
    for p in range(n_p):
        export_spend[p] = share[p] * export / 1e6
    assets = remaining[ASSETS] / quarters_left
    remaining[ASSETS] -= assets
    funding[EXPORT] += export
    funding[ASSETS] += assets
    for p in range(n_p):
        expected_firms[p] = firms_per_meur * share[p] * assets / 1e6
    return True


@njit(cache=True)
def selection_counts(n, alive, atype, sector, cluster, last_project, innovations, province,
                     in_sectors, n_provinces):
    """What the poles' selection checks, for one candidate pole (``in_sectors``: bool by
    sector): its universities and research centres, training centres, innovations, engaged
    companies (cluster members or past partners) and the provinces of the latter.

    Returns ``(rd, training, innovations, engaged, provinces)``.
    """
    rd = 0
    tr = 0
    innov = 0
    engaged = 0
    seen = np.zeros(n_provinces, np.bool_)
    for i in range(n):
        if not alive[i] or not in_sectors[sector[i]]:
            continue
        t = atype[i]
        innov += innovations[i]
        if t == _UNIVERSITY or t == _RESEARCH_CENTRE:
            rd += 1
        elif t == _TRAINING_CENTRE:
            tr += 1
        elif t <= _LARGE and (cluster[i] >= 0 or last_project[i] >= 0):
            engaged += 1
            seen[province[i]] = True
    provinces = 0
    for q in range(n_provinces):
        provinces += seen[q]
    return rd, tr, innov, engaged, provinces
