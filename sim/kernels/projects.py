"""Project outcomes: projects ending this step succeed or fail, with their effects.

Rule (docs/ODD.md, submodel "Project outcomes"), for each project whose end step is ``step``,
in slot order:

* success with probability ``logistic(success_base + success_match * match
  + success_research * has_rd + success_benchmark * benchmarking[cluster]
  + success_funded * funded)``;
* every member frees one unit of capacity;
* on success, each living company gains ``productivity_gain`` (plus ``training_gain`` /
  ``investment_gain`` when the pole funded training / investment) in log value added, launches
  a new product with probability ``innovation_prob``, and a non-exporter starts exporting with
  probability ``export_gain`` (doubled with a foreign partner); every living member moves its
  technology profile by ``learning`` towards the consortium's mean and gains capability;
* trust between every pair of living members rises by ``trust_gain`` on success, falls by
  ``trust_loss`` on failure;
* a successful project creates a new enterprise with probability ``spinoff_prob``
  (``spinoff_prob_research`` when a university or research centre took part).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.rng import uniform
from sim.kernels.ties import touch_tie

CAPABILITY_GAIN = 0.05


@njit(cache=True)
def complete_projects(
    step, p_active, p_end, p_members, p_size, p_match, p_has_rd, p_foreign, p_cluster,
    p_fund_rd, p_fund_training, p_fund_investment,
    alive, atype, load, value_added, exporter, knowledge, capability, innovations,
    tie_partner, tie_trust, cl_benchmark,
    success_base, success_match, success_research, success_benchmark, success_funded,
    productivity_gain, training_gain, investment_gain, innovation_prob, export_gain, learning,
    spinoff_prob, spinoff_prob_research, trust_gain, trust_loss, rng,
    out_done, out_success, out_spinoff, out_innovations,
):
    """Resolve the projects ending at ``step``; return how many were resolved.

    ``out_done[k]`` is the slot of the k-th resolved project, ``out_success[k]`` its outcome,
    ``out_spinoff[k]`` whether it creates a new enterprise and ``out_innovations[k]`` the new
    products it yielded.  Actor arrays are updated in place.
    """
    dims = knowledge.shape[1]
    mean = np.empty(dims, np.float64)
    n_done = 0
    for p in range(p_active.shape[0]):
        if not p_active[p] or p_end[p] != step:
            continue
        c = p_cluster[p]
        funded = p_fund_rd[p] > 0.0 or p_fund_training[p] > 0.0 or p_fund_investment[p] > 0.0
        logit = success_base + success_match * p_match[p]
        if p_has_rd[p]:
            logit += success_research
        if c >= 0:
            logit += success_benchmark * cl_benchmark[c]
        if funded:
            logit += success_funded
        success = uniform(rng) < 1.0 / (1.0 + np.exp(-logit))
        size = p_size[p]
        mean[:] = 0.0
        n_alive = 0
        for m in range(size):
            j = p_members[p, m]
            if load[j] > 0:
                load[j] -= 1
            if alive[j]:
                n_alive += 1
                for d in range(dims):
                    mean[d] += knowledge[j, d]
        n_innov = 0
        if success and n_alive > 0:
            gain = productivity_gain
            if p_fund_training[p] > 0.0:
                gain += training_gain
            if p_fund_investment[p] > 0.0:
                gain += investment_gain
            mult = np.exp(gain)
            p_export = export_gain * (2.0 if p_foreign[p] > 0 else 1.0)
            for d in range(dims):
                mean[d] /= n_alive
            for m in range(size):
                j = p_members[p, m]
                if not alive[j]:
                    continue
                if atype[j] <= 1:
                    value_added[j] *= mult
                    if uniform(rng) < innovation_prob:
                        innovations[j] += 1
                        n_innov += 1
                    if not exporter[j] and uniform(rng) < p_export:
                        exporter[j] = True
                capability[j] += CAPABILITY_GAIN
                norm = 0.0
                for d in range(dims):
                    v = knowledge[j, d] + learning * (mean[d] - knowledge[j, d])
                    knowledge[j, d] = v
                    norm += v * v
                norm = np.sqrt(norm)
                if norm > 0.0:
                    for d in range(dims):
                        knowledge[j, d] /= norm
        delta = trust_gain if success else -trust_loss
        for a in range(size):
            ja = p_members[p, a]
            if not alive[ja]:
                continue
            for b in range(size):
                jb = p_members[p, b]
                if a != b and alive[jb]:
                    touch_tie(tie_partner, tie_trust, ja, jb, delta)
        spin = False
        if success:
            ps = spinoff_prob_research if p_has_rd[p] else spinoff_prob
            spin = uniform(rng) < ps
        out_done[n_done] = p
        out_success[n_done] = success
        out_spinoff[n_done] = spin
        out_innovations[n_done] = n_innov
        n_done += 1
    return n_done


@njit(cache=True)
def resolve_projects(
    step, p_active, p_end, p_members, p_size, p_match, p_has_rd, p_foreign, p_cluster,
    p_fund_rd, p_fund_training, p_fund_investment, p_free, n_free,
    alive, atype, load, value_added, exporter, knowledge, capability, innovations,
    tie_partner, tie_trust, cl_benchmark,
    success_base, success_match, success_research, success_benchmark, success_funded,
    productivity_gain, training_gain, investment_gain, innovation_prob, export_gain, learning,
    spinoff_prob, spinoff_prob_research, trust_gain, trust_loss, rng,
    out_done, out_success, out_spinoff, out_innovations, out_lead, out_parent,
):
    """:func:`complete_projects`, then what the quarter books of it, in the same call.

    Tallies the outcomes, lists the spin-offs' parents (``out_lead[s]``, the lead member of
    the s-th successful project that creates a new enterprise, in slot order, and
    ``out_parent[s]``, that project's cluster) and releases the resolved slots to the free
    list (pushed onto ``p_free`` from position ``n_free``, in resolution order; slots made
    inactive with their members cleared; :class:`sim.state.Projects` releases no slot itself).

    Returns ``(resolved, succeeded, innovations, spin-offs)``; the caller adds ``resolved`` to
    the free list's length.
    """
    k = complete_projects(
        step, p_active, p_end, p_members, p_size, p_match, p_has_rd, p_foreign, p_cluster,
        p_fund_rd, p_fund_training, p_fund_investment,
        alive, atype, load, value_added, exporter, knowledge, capability, innovations,
        tie_partner, tie_trust, cl_benchmark,
        success_base, success_match, success_research, success_benchmark, success_funded,
        productivity_gain, training_gain, investment_gain, innovation_prob, export_gain,
        learning, spinoff_prob, spinoff_prob_research, trust_gain, trust_loss, rng,
        out_done, out_success, out_spinoff, out_innovations,
    )
    n_success = 0
    n_innov = 0
    n_spin = 0
    for q in range(k):
        s = out_done[q]
        n_success += out_success[q]
        n_innov += out_innovations[q]
        if out_spinoff[q]:
            out_lead[n_spin] = p_members[s, 0]
            out_parent[n_spin] = p_cluster[s]
            n_spin += 1
    for q in range(k):
        s = out_done[q]
        p_free[n_free + q] = s
        p_active[s] = False
        p_members[s, :] = -1
    return k, n_success, n_innov, n_spin
