"""Sub-step 8, project outcomes: projects ending this quarter succeed or fail, with their
effects on the members, their ties and spin-offs; and the start of new projects (their slots
and durations), which the partnering and the pole call use.

First, each project under way this quarter spends a quarter's share of its companies' own R&D
money (``rd_private``: an unfunded partnership's ``own_rd_keur_per_year`` per company and year,
or a pole project's match of its R&D grant), in even shares to its living companies'
cumulative ``rd_private`` and to the ledger (input additionality and crowding out are measured
on it: a pole project that takes a company's capacity may replace an unfunded one).

Rule (docs/ODD.md, submodel "Project outcomes"), for each project whose end step is ``step``,
in slot order:

* success with probability ``logistic(success_base + success_match * match
  + success_research * has_rd + success_benchmark * benchmarking[cluster]
  + success_funded * funded)``;
* every member frees one unit of capacity, and each living company adds the project to its
  success record (``projects_done``, and ``projects_won`` on success), which its membership
  decisions read (:mod:`sim.processes.membership`);
* on success, each living company gets a process innovation of ``productivity_gain`` (plus
  ``training_gain * log(1 + training grant / grant_reference)`` and the same for investment:
  the instruments act through their amounts, with diminishing returns) in log labour per unit of output, and
  with probability ``innovation_prob`` a new product of ``quality_gain * (1 + log(1 + R&D
  budget / grant_reference))`` in log demand, where a funded project's R&D budget is its R&D
  grant plus the companies' match (grant / ``policy.poles.rd_aid_rate``) and an unfunded one
  counts 0 (its own money is in ``quality_gain``); both are pending and reach the market with the
  economy's lag (:mod:`sim.processes.economy`); a project with a foreign partner adds one to
  each company's ``foreign_partners`` (lowering its export entry cost), and a non-exporter's
  export clock (:mod:`sim.processes.economy`) loses ``-log(1 - export_gain)`` (``export_gain``
  doubled with a foreign partner): the chance ``export_gain`` of starting to export this
  quarter, as integrated hazard, so that it times the start instead of redrawing it; every
  living member moves its technology profile by ``learning`` towards the consortium's mean
  and gains capability;
* trust between every pair of living members rises by ``trust_gain`` on success, falls by
  ``trust_loss`` on failure;
* a successful project creates a new enterprise with probability ``spinoff_prob``
  (``spinoff_prob_research`` when a university or research centre took part).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels.keyed import INNOVATION, key_of, keyed_uniform
from sim.kernels.predicates import is_company
from sim.kernels.rng import randbelow, uniform
from sim.kernels.ties import touch_tie
from sim.state.codes import BENCHMARKING, SPINOFF_PARTNERSHIP
from sim.state.params import Params
from sim.world import spawn_companies

if TYPE_CHECKING:
    from sim.model import ClusterModel

CAPABILITY_GAIN = 0.05

_B = "behaviour.projects."
PARAMS = Params(
    floats={name: _B + name for name in (
        "success_base", "success_match", "success_research", "success_benchmark",
        "success_funded", "productivity_gain", "innovation_prob", "export_gain", "learning",
        "spinoff_prob", "spinoff_prob_research", "trust_gain", "trust_loss")}
    | {"training_gain": "behaviour.poles.training_gain",
       "investment_gain": "behaviour.poles.investment_gain",
       "quality_gain": "behaviour.innovation.quality_gain",
       "grant_ref": lambda sc: sc.behaviour.innovation.grant_reference_meur * 1e6,
       "own_rd": lambda sc: sc.behaviour.projects.own_rd_keur_per_year * 1e3},
    ints={"duration_min": _B + "duration_min", "duration_max": _B + "duration_max"},
)

# what resolve_projects reports of each project it resolves (one row per project)
OUTCOME = np.dtype([("slot", np.int32), ("success", np.bool_), ("spinoff", np.bool_),
                    ("innovations", np.int64), ("lead", np.int32), ("parent", np.int16)],
                   align=True)


def projects(m: ClusterModel) -> None:
    """The companies' own R&D money of the projects under way this quarter; then the projects
    ending this quarter succeed or fail, with their effects, ties and spin-offs (one compiled
    call resolves them, tallies them and frees their slots)."""
    a, p, led = m.actors, m.projects, m.ledger
    total, pole = spend_private_rd(m.t, p.view, a.view)
    led.add("private_rd", total)
    led.add("private_rd_pole", pole)
    out = m.scratch.get("outcomes")
    if out is None or out.shape[0] < p.cap:  # reused from quarter to quarter
        out = m.scratch["outcomes"] = np.empty(p.cap, OUTCOME)
    key = m.constants.get("economy_key")
    if key is None:  # the run's key of firm-level draws (shared with sim.processes.economy)
        key = m.constants["economy_key"] = key_of(m.streams["economy"])
    k, n_success, n_innov, n_spin = resolve_projects(
        m.t, p.view, p.n_free, a.view, m.clusters.effort, PARAMS.of(m), m.streams["projects"],
        key, out)
    if k == 0:
        return
    p.n_free += k
    led.add("completed", k)
    led.add("succeeded", n_success)
    led.add("innovations", n_innov)
    if n_spin:
        leads = out["lead"][:n_spin].astype(np.int64)
        new = spawn_companies(m, a.sector[leads], SPINOFF_PARTNERSHIP, like=leads)
        # a partnership spin-off joins its parent's cluster when that cluster is active
        parent = out["parent"][:n_spin]
        ok = parent >= 0  # (an outside partnership's parent is -1; a world may have no cluster)
        ok[ok] = m.clusters.active[parent[ok]]
        a.cluster[new[ok]] = parent[ok]
        led.new_firms[SPINOFF_PARTNERSHIP] += len(new)


def start_projects(m: ClusterModel, consortia, rows: np.ndarray, cluster: np.ndarray,
                   pole: np.ndarray, call: int) -> np.ndarray:
    """Start consortia of the buffers as projects this quarter.

    Parameters
    ----------
    m : ClusterModel
    consortia : sim.kernels.consortia.Consortia
        The buffers the consortia were formed in.
    rows : ndarray(int64, (k,))
        The buffers' rows to start.
    cluster, pole : ndarray(int16, (k,))
        Each project's cluster (its lead's; -1 none) and pole (-1 for a cluster partnership).
    call : int
        The call of a pole project (-1 for a cluster partnership).

    Returns
    -------
    ndarray(int32, (k,))
        The projects' slots, each with its duration drawn from the ``durations`` stream.
    """
    p = m.projects
    k = len(rows)
    p.reserve(k)
    slots = p.take(k)
    store_projects(p.view, slots, consortia.view, rows, cluster, pole, call, m.t, PARAMS.of(m),
                   m.streams["durations"], m.actors.atype)
    return slots


@njit(cache=True)
def store_projects(p, slots, cons, rows, cluster, pole, call, step, params, rng, atype):
    """Write consortium ``rows[i]`` of the buffers ``cons`` into project slot ``slots[i]``,
    with cluster ``cluster[i]``, pole ``pole[i]`` and call ``call``, starting at ``step`` for
    a duration drawn uniformly in ``duration_min .. duration_max`` steps (one draw of ``rng``
    per project, in order), unfunded, members ``-1`` padded.  Its companies' own R&D budget
    (``rd_private``) is that of an unfunded partnership: ``own_rd`` per company (``atype``,
    the actors' types) and year of its duration; the pole call replaces it by the match of its
    grant when it funds the project."""
    pr = params[0]
    spread = pr.duration_max - pr.duration_min + 1
    active, start, end, p_cluster, p_pole = p.active, p.start, p.end, p.cluster, p.pole
    p_call, size, members, match, has_rd = p.call, p.size, p.members, p.match, p.has_rd
    has_training, foreign, cross = p.has_training, p.foreign, p.cross
    fund_rd, fund_training, fund_investment = p.fund_rd, p.fund_training, p.fund_investment
    rd_private = p.rd_private
    c_members = cons.members
    width = c_members.shape[1]
    for i in range(slots.shape[0]):
        s = slots[i]
        row = rows[i]
        active[s] = True
        start[s] = step
        end[s] = step + pr.duration_min + randbelow(rng, spread)
        p_cluster[s] = cluster[i]
        p_pole[s] = pole[i]
        p_call[s] = call
        size[s] = cons.size[row]
        for m in range(width):
            members[s, m] = c_members[row, m]
        for m in range(width, members.shape[1]):
            members[s, m] = -1
        match[s] = cons.match[row]
        has_rd[s] = cons.has_rd[row]
        has_training[s] = cons.has_training[row]
        foreign[s] = cons.foreign[row]
        cross[s] = cons.cross[row]
        fund_rd[s] = 0.0
        fund_training[s] = 0.0
        fund_investment[s] = 0.0
        rd_private[s] = pr.own_rd * companies(members[s], size[s], atype) * (end[s] - step) / 4.0


@njit(cache=True)
def companies(members, size, atype):
    """How many of a project's ``size`` members (rows ``members[:size]``) are companies."""
    k = 0
    for m in range(size):
        if is_company(atype[members[m]]):
            k += 1
    return k


@njit(cache=True)
def spend_private_rd(step, p, a):
    """The companies' own R&D money of the quarter ``step``: each project under way (``start
    <= step < end``) spends ``rd_private / (end - start)``, in even shares over its companies
    (dead ones included: a dead company's share is not spent); each living company adds its
    share to its cumulative ``rd_private``.  Returns (the quarter's total, of which in funded
    pole projects)."""
    total = 0.0
    pole = 0.0
    alive, atype, spent = a.alive, a.atype, a.rd_private
    for q in range(p.active.shape[0]):
        if not p.active[q] or p.start[q] > step or step >= p.end[q] or p.rd_private[q] == 0.0:
            continue
        n_co = companies(p.members[q], p.size[q], atype)
        if n_co == 0:
            continue
        share = p.rd_private[q] / (p.end[q] - p.start[q]) / n_co
        for m in range(p.size[q]):
            j = p.members[q, m]
            if alive[j] and is_company(atype[j]):
                spent[j] += share
                total += share
                if p.fund_rd[q] > 0.0:
                    pole += share
    return total, pole


@njit(cache=True)
def _succeeds(p, q, effort, pr, rng):
    """Draw whether project ``q`` succeeds (one uniform)."""
    c = p.cluster[q]
    funded = p.fund_rd[q] > 0.0 or p.fund_training[q] > 0.0 or p.fund_investment[q] > 0.0
    logit = pr.success_base + pr.success_match * p.match[q]
    if p.has_rd[q]:
        logit += pr.success_research
    if c >= 0:
        logit += pr.success_benchmark * effort[c, BENCHMARKING]
    if funded:
        logit += pr.success_funded
    return uniform(rng) < 1.0 / (1.0 + np.exp(-logit))


@njit(cache=True)
def complete_projects(step, p, a, effort, params, rng, key, out):
    """Resolve the projects ending at ``step`` (the clusters' ``effort`` for benchmarking);
    return how many were resolved.

    ``out[k]`` reports the k-th resolved project: its ``slot``, ``success``, whether it
    creates a new enterprise (``spinoff``) and the new products it yielded
    (``innovations``).  The actors' arrays are updated in place.  The success of each project
    is a draw of ``rng``; a company's product innovation and export start are its own keyed
    draws (``key``; process ``INNOVATION``, the company's ``draw_id``, ``step``, draw ``2 * start`` with ``start`` the project's first step), so that they do not
    depend on the other projects resolved.
    """
    pr = params[0]
    p_active, p_end, p_members, p_size = p.active, p.end, p.members, p.size
    p_foreign, p_has_rd, p_start = p.foreign, p.has_rd, p.start
    p_fund_training, p_fund_investment = p.fund_training, p.fund_investment
    alive, atype, load = a.alive, a.atype, a.load
    pend_q, pend_e, foreign = a.pending_quality, a.pending_efficiency, a.foreign_partners
    draw_id, export_clock = a.draw_id, a.export_clock
    exporter, knowledge, capability, innovations = (a.exporter, a.knowledge, a.capability,
                                                    a.innovations)
    tie_partner, tie_trust = a.tie_partner, a.tie_trust
    done, won = a.projects_done, a.projects_won
    dims = knowledge.shape[1]
    mean = np.empty(dims, np.float64)
    n_done = 0
    for q in range(p_active.shape[0]):
        if not p_active[q] or p_end[q] != step:
            continue
        success = _succeeds(p, q, effort, pr, rng)
        size = p_size[q]
        mean[:] = 0.0
        n_alive = 0
        for m in range(size):
            j = p_members[q, m]
            if load[j] > 0:
                load[j] -= 1
            if alive[j]:
                n_alive += 1
                if is_company(atype[j]):  # the company's success record (membership reads it)
                    done[j] += 1
                    won[j] += success
                for d in range(dims):
                    mean[d] += knowledge[j, d]
        n_innov = 0
        if success and n_alive > 0:
            # a process innovation for every company (with the training and investment the
            # pole funded, by their amounts, with diminishing returns), a product innovation
            # with probability innovation_prob (larger with a larger R&D grant); both pending,
            # they reach the market with the economy's lag
            gain = (pr.productivity_gain
                    + pr.training_gain * np.log1p(p_fund_training[q] / pr.grant_ref)
                    + pr.investment_gain * np.log1p(p_fund_investment[q] / pr.grant_ref))
            budget = p.fund_rd[q] + p.rd_private[q] if p.fund_rd[q] > 0.0 else 0.0
            step_q = pr.quality_gain * (1.0 + np.log1p(budget / pr.grant_ref))
            has_foreign = p_foreign[q] > 0
            # the export start's chance, as integrated hazard taken off the export clock
            export_push = np.log1p(-min(pr.export_gain * (2.0 if p_foreign[q] > 0 else 1.0),
                                        1.0 - 1e-12))
            for d in range(dims):
                mean[d] /= n_alive
            for m in range(size):
                j = p_members[q, m]
                if not alive[j]:
                    continue
                if is_company(atype[j]):
                    who = draw_id[j] if draw_id[j] >= 0 else j
                    pend_e[j] += gain
                    u_innov = keyed_uniform(key, INNOVATION, who, step, 2 * p_start[q])
                    if u_innov < pr.innovation_prob:
                        innovations[j] += 1
                        n_innov += 1
                        pend_q[j] += step_q
                    if has_foreign:
                        foreign[j] += 1
                    if not exporter[j]:
                        export_clock[j] += export_push
                capability[j] += CAPABILITY_GAIN
                norm = 0.0
                for d in range(dims):
                    v = knowledge[j, d] + pr.learning * (mean[d] - knowledge[j, d])
                    knowledge[j, d] = v
                    norm += v * v
                norm = np.sqrt(norm)
                if norm > 0.0:
                    for d in range(dims):
                        knowledge[j, d] /= norm
        delta = pr.trust_gain if success else -pr.trust_loss
        for x in range(size):
            ja = p_members[q, x]
            if not alive[ja]:
                continue
            for y in range(size):
                jb = p_members[q, y]
                if x != y and alive[jb]:
                    touch_tie(tie_partner, tie_trust, ja, jb, delta)
        spin = False
        if success:
            ps = pr.spinoff_prob_research if p_has_rd[q] else pr.spinoff_prob
            spin = uniform(rng) < ps
        out[n_done].slot = q
        out[n_done].success = success
        out[n_done].spinoff = spin
        out[n_done].innovations = n_innov
        n_done += 1
    return n_done


@njit(cache=True)
def resolve_projects(step, p, n_free, a, effort, params, rng, key, out):
    """:func:`complete_projects`, then what the quarter books of it, in the same call.

    Tallies the outcomes, lists the spin-offs' parents (``out[s].lead``, the lead member of
    the s-th successful project that creates a new enterprise, in slot order, and
    ``out[s].parent``, that project's cluster) and releases the resolved slots to the free
    list (pushed onto ``p.free`` from position ``n_free``, in resolution order; slots made
    inactive with their members cleared).

    Returns ``(resolved, succeeded, innovations, spin-offs)``; the caller adds ``resolved`` to
    the free list's length.
    """
    k = complete_projects(step, p, a, effort, params, rng, key, out)
    members, cluster, free, active = p.members, p.cluster, p.free, p.active
    n_success = 0
    n_innov = 0
    n_spin = 0
    for q in range(k):
        s = out[q].slot
        n_success += out[q].success
        n_innov += out[q].innovations
        if out[q].spinoff:
            out[n_spin].lead = members[s, 0]
            out[n_spin].parent = cluster[s]
            n_spin += 1
    for q in range(k):
        s = out[q].slot
        free[n_free + q] = s
        active[s] = False
        for m in range(members.shape[1]):
            members[s, m] = -1
    return k, n_success, n_innov, n_spin
