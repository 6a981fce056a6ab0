"""Partner search and consortium formation: the hot path of the model.

One kernel, shared by two processes, serves the clusters' partnerships (groups = clusters,
:mod:`sim.processes.partnering`) and the poles' calls (groups = poles,
:mod:`sim.processes.pole_call`).  The rule (docs/ODD.md, submodel "Partnership formation"):

1. Each potential initiator initiates this step with probability ``p_i = groups[g].rate``
   (times its sector's cooperation propensity when the rule's ``use_coop``).  These independent Bernoulli draws
   are made by geometric skipping at ``p_max`` (the largest possible ``p_i``) and thinning with
   probability ``p_i / p_max``, which is exact and costs draws in proportion to the initiators,
   not to the pool; from ``p_max >= DENSE_INITIATION`` on, where a skip (a logarithm) costs
   more than the positions it passes, by one uniform per position.  The initiators then act in
   a random order; one whose capacity has filled up before its turn (it was recruited by an
   earlier one) does nothing.  An initiator draws a target
   consortium size (2, +1 with probability ``grow_prob`` each time, up to ``max_size``).
2. It asks its remembered partners first (trust ties; SKIN / INFSO-SKIN "previous partners
   first"), then screens ``K`` random candidates: with probability ``nc_prob`` a university,
   research or training centre of its group, with probability ``groups[g].cross`` a company
   of another group of ``cross_groups`` (uniformly among them; ``cross_groups`` must contain
   ``g``), otherwise a company of its own group.  A random candidate is only known with
   probability ``groups[g].discovery`` (the animator's "knowing each other" effort raises it).
3. A known candidate with spare capacity accepts when its match plus a uniform taste shock in
   [-0.25, 0.25) exceeds ``threshold``; the match is
   ``w_h * 4s(1-s) + w_v * vertical + w_t * trust + w_p * same_province`` with ``s`` the cosine of
   the two technology profiles (Cowan-Jonard-Zimmermann), ``vertical`` a bump around a
   value-chain distance of 0.35 (customer-supplier), ``trust`` the tie value.  The initiator
   stops once ``max_refusals`` candidates have refused (Tomasello et al.'s R) or at the target
   size.
4. A consortium of two or more local actors (and, if ``require_mix``, with a company and a
   research or training actor) is committed: members' loads rise (and, if
   ``mark_involvement``, their last project's step is this one) and a foreign partner joins
   with probability ``groups[g].foreign``.

All draws come from the explicit xoshiro state ``rng`` in a fixed order, so the kernel is a
pure function of its inputs; ``tests/reference.py`` re-implements it in plain Python.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.predicates import is_company, is_research
from sim.kernels.rng import randbelow, shuffle, uniform
from sim.kernels.ties import trust_of
from sim.state.params import Params, Source
from sim.state.views import define_view

TASTE_HALF_WIDTH = 0.25
# Largest initiation probability from which every pool position gets its own uniform instead
# of geometric skipping: a skip costs a logarithm and a division, about seven plain draws, so
# skipping pays below about 0.13 (docs/performance.md).  The model's rates (0.006-0.05 per
# quarter, 0.04 per pole call) stay far below.
DENSE_INITIATION = 0.125
VERTICAL_PEAK = 0.35
VERTICAL_WIDTH = 0.2

# each group's probabilities this step (a structured array, one row per group)
GROUP = np.dtype([("rate", np.float64), ("discovery", np.float64), ("cross", np.float64),
                  ("foreign", np.float64)], align=True)

# the rule's constants: one record type for both callers, so that the kernel compiles once
RULE_FIELDS = {
    "floats": ("nc_prob", "w_h", "w_v", "w_t", "w_p", "threshold", "grow_prob"),
    "ints": ("n_candidates", "max_refusals", "max_size"),
    "flags": ("use_coop", "require_mix", "mark_involvement"),
}


def consortium_rule(**sources: Source) -> Params:
    """The record of the rule's constants, every field of :data:`RULE_FIELDS` given its
    source: ``nc_prob`` (the chance that a candidate slot goes to a university, research or
    training centre), ``w_h``, ``w_v``, ``w_t``, ``w_p`` (the match's weights), ``threshold``
    (acceptance), ``grow_prob`` (the target size's growth), ``n_candidates``, ``max_refusals``,
    ``max_size``, ``use_coop`` (the sector's cooperation propensity scales initiation),
    ``require_mix`` (a company with a research or training actor) and ``mark_involvement``
    (members' ``last_project`` takes the step)."""
    assert set(sources) == {f for group in RULE_FIELDS.values() for f in group}, sources
    return Params(**{group: {f: sources[f] for f in names}
                     for group, names in RULE_FIELDS.items()})


CONSORTIUM_FIELDS = ("members", "size", "match", "group", "foreign", "cross", "has_rd",
                     "has_training")
ConsortiaView = define_view(__name__, "ConsortiaView", CONSORTIUM_FIELDS,
                            "The consortium buffers as one kernel argument.")


@njit(cache=True)
def _consortia_view(*arrays):
    return ConsortiaView(*arrays)


class Consortia:
    """Output buffers of :func:`form_consortia`: row ``r`` is the r-th consortium formed, its
    members (``(rows, width)``, -1 padded), size, match, group, foreign partners, whether it
    spans two groups and has a research or training member."""

    def __init__(self, rows: int, width: int) -> None:
        self.members = np.full((rows, width), -1, np.int32)
        self.size = np.zeros(rows, np.int16)
        self.match = np.zeros(rows, np.float32)
        self.group = np.zeros(rows, np.int32)
        self.foreign = np.zeros(rows, np.int8)
        self.cross = np.zeros(rows, np.bool_)
        self.has_rd = np.zeros(rows, np.bool_)
        self.has_training = np.zeros(rows, np.bool_)
        self.view = _consortia_view(*(getattr(self, f) for f in CONSORTIUM_FIELDS))

    @property
    def rows(self) -> int:
        """Consortia the buffers hold."""
        return self.members.shape[0]

    def ensure(self, rows: int, width: int) -> Consortia:
        """Buffers with at least ``rows`` rows of ``width`` members: these, or larger ones
        (by half at least, so that a slowly rising need does not reallocate every step)."""
        if self.rows >= rows and self.members.shape[1] >= width:
            return self
        return Consortia(max(rows, 64, self.rows * 3 // 2), max(width, self.members.shape[1]))

    def nbytes(self) -> int:
        """Bytes of the buffers."""
        return sum(getattr(self, f).nbytes for f in CONSORTIUM_FIELDS)


@njit(cache=True, inline='always')
def pair_match(knowledge, i, j, actor_i, actor_j, trust, weights):
    """Match of actors ``i`` and ``j`` (dimensionless, about 0..3), ``actor_i`` and
    ``actor_j`` their (type, value-chain stage, province), ``weights`` the tuple (w_h, w_v,
    w_t, w_p).

    Inlined into its callers by Numba (``inline='always'``) and given scalars, not the actor
    arrays: arrays passed to a compiled function, even an inlined one, are reference-counted at
    every call, which cost more than the match itself (docs/performance.md).
    """
    w_h, w_v, w_t, w_p = weights
    atype_i, stage_i, province_i = actor_i
    atype_j, stage_j, province_j = actor_j
    s = 0.0
    for d in range(knowledge.shape[1]):
        s += knowledge[i, d] * knowledge[j, d]
    s = min(1.0, max(0.0, s))
    horizontal = 4.0 * s * (1.0 - s)
    if is_company(atype_i) and is_company(atype_j):
        dv = abs(stage_i - stage_j)
        z = (dv - VERTICAL_PEAK) / VERTICAL_WIDTH
        vertical = np.exp(-z * z)
    else:
        vertical = 0.5  # R&D and training actors sit off the value chain
    prox = 1.0 if province_i == province_j else 0.0
    return w_h * horizontal + w_v * vertical + w_t * trust + w_p * prox


@njit(cache=True)
def match_score(a, i, j, weights):
    """Match of actors ``i`` and ``j`` of view ``a`` (dimensionless, about 0..3);
    ``weights`` = (w_h, w_v, w_t, w_p)."""
    return pair_match(a.knowledge, i, j, (a.atype[i], a.stage[i], a.province[i]),
                      (a.atype[j], a.stage[j], a.province[j]),
                      trust_of(a.tie_partner, a.tie_trust, i, j), weights)


@njit(cache=True)
def _in(members, size, j):
    for m in range(size):
        if members[m] == j:
            return True
    return False


@njit(cache=True)
def draw_initiators(pool, pool_group, groups, use_coop, sectors, sector, rng):
    """Positions in ``pool`` of this step's initiators, in pool order.

    Each entry ``pos`` is drawn independently with probability
    ``p = groups[pool_group[pos]].rate`` (times ``sectors[sector[pool[pos]]].cooperation``
    when ``use_coop``), by geometric skipping at ``p_max`` (the largest possible ``p``, capped
    at 1) and thinning with probability ``p / p_max``: exact Bernoulli draws at a cost
    proportional to ``len(pool) * p_max``.  An entry with ``p >= p_max`` is taken without a
    thinning draw.  From ``p_max >= DENSE_INITIATION`` on, every position is visited and
    draws one uniform (none when ``p >= 1``), which at ``p_max = 1`` is the same as skipping.
    """
    n_pool = pool.shape[0]
    p_max = 0.0
    for g in range(groups.shape[0]):
        p_max = max(p_max, groups[g].rate)
    if use_coop:
        c_max = 0.0
        for s in range(sectors.shape[0]):
            c_max = max(c_max, sectors[s].cooperation)
        p_max *= c_max
    p_max = min(p_max, 1.0)
    chosen = np.empty(n_pool, np.int64)
    n_chosen = 0
    if p_max > 0.0:
        dense = p_max >= DENSE_INITIATION
        log_q = np.log1p(-p_max) if p_max < 1.0 else 0.0
        pos = -1
        while True:
            if not dense:
                skip = np.log(1.0 - uniform(rng)) / log_q
                if pos + 1 + skip >= n_pool:
                    break
                pos += 1 + int(skip)
            else:
                pos += 1
                if pos >= n_pool:
                    break
            prob = groups[pool_group[pos]].rate
            if use_coop:
                prob *= sectors[sector[pool[pos]]].cooperation
            if dense:
                taken = prob >= 1.0 or uniform(rng) < prob
            else:
                taken = prob >= p_max or uniform(rng) * p_max < prob
            chosen[n_chosen] = pos  # kept or overwritten: no branch on a coin flip
            n_chosen += taken
    return chosen[:n_chosen]


@njit(cache=True)
def form_consortia(pool, pool_group, index, groups, sectors, a, group_of, step, rule, rng, out,
                   work=None):
    """Form consortia; return how many were written to the buffers ``out``.

    Parameters
    ----------
    pool, pool_group : ndarray(int32, (m,))  potential initiators and their group.
    index : tuple (co_ptr, co_idx, nc_ptr, nc_idx, cross_groups)
        The companies / other actors of each group as CSR (``sim.kernels.groups``), and the
        groups open to cross-group search (containing every initiator's group when more than
        one).
    groups : ndarray(GROUP, (G,))            each group's probabilities this step.
    sectors : ndarray(world.SECTOR, (S,))    the sectors' cooperation propensity.
    a : ActorsView                           ``load`` and ``last_project`` are updated in place
                                             for committed members.
    group_of : ndarray(int, (n,))            each actor's group (-1 none), for cross flags.
    rule : ndarray(RULE record, (1,))        the rule's constants (:func:`consortium_rule`).
    rng : ndarray(uint64, (4,))              xoshiro256** state, advanced in place.
    out : ConsortiaView                      caller-allocated buffers of B rows.
    work : ndarray(int64, (6,)), optional
        Work counters, incremented (for the benchmarks' floor): initiators drawn, initiators
        that searched, tie slots read, random candidates drawn, matches evaluated, members
        committed.  When omitted, the counting branches are compiled out.
    """
    r = rule[0]
    nc_prob, threshold, grow_prob = r.nc_prob, r.threshold, r.grow_prob
    n_candidates, max_refusals = r.n_candidates, r.max_refusals
    require_mix, mark_involvement = r.require_mix, r.mark_involvement
    weights = (r.w_h, r.w_v, r.w_t, r.w_p)
    co_ptr, co_idx, nc_ptr, nc_idx, cross_groups = index
    alive, atype, province, load, capacity = a.alive, a.atype, a.province, a.load, a.capacity
    knowledge, stage, last_project = a.knowledge, a.stage, a.last_project
    tie_partner, tie_trust = a.tie_partner, a.tie_trust
    out_members, out_size, out_match, out_group = out.members, out.size, out.match, out.group
    out_foreign, out_cross, out_has_rd, out_has_training = (out.foreign, out.cross, out.has_rd,
                                                            out.has_training)
    width = out_members.shape[1]
    cap_size = min(r.max_size, width)
    members = np.empty(width, np.int32)
    n_out = 0
    n_cross = cross_groups.shape[0]
    # 1. who initiates, then in what order
    chosen = draw_initiators(pool, pool_group, groups, r.use_coop, sectors, a.sector, rng)
    n_chosen = chosen.shape[0]
    if work is not None:
        work[0] += n_chosen
    order = chosen
    shuffle(rng, order)
    for t in range(n_chosen):
        p = order[t]
        i = pool[p]
        g = pool_group[p]
        if not alive[i] or load[i] >= capacity[i]:
            continue
        if n_out >= out_members.shape[0]:
            break
        if work is not None:
            work[1] += 1
        target = 2
        while target < cap_size and uniform(rng) < grow_prob:
            target += 1
        members[0] = i
        size = 1
        match_sum = 0.0
        refusals = 0
        cross_prob = groups[g].cross
        discovery = groups[g].discovery
        # remembered partners first (the tie slots), then random candidates
        n_ties = tie_partner.shape[1]
        for q in range(n_ties + n_candidates):
            if size >= target or refusals >= max_refusals:
                break
            if q < n_ties:
                j = tie_partner[i, q]
                if work is not None:
                    work[2] += 1
                if j < 0 or not alive[j] or group_of[j] < 0 or load[j] >= capacity[j]:
                    continue
                if _in(members, size, j):
                    continue
            else:
                u = uniform(rng)
                if u < nc_prob:
                    lo = nc_ptr[g]
                    hi = nc_ptr[g + 1]
                    src = nc_idx
                elif u < nc_prob + cross_prob and n_cross > 1:
                    h = cross_groups[randbelow(rng, n_cross - 1)]
                    if h == g:  # uniform over the other groups: g's draw stands for the last
                        h = cross_groups[n_cross - 1]
                    lo = co_ptr[h]
                    hi = co_ptr[h + 1]
                    src = co_idx
                else:
                    lo = co_ptr[g]
                    hi = co_ptr[g + 1]
                    src = co_idx
                if hi <= lo:
                    continue
                j = src[lo + randbelow(rng, hi - lo)]
                if work is not None:
                    work[3] += 1
                if not alive[j] or load[j] >= capacity[j] or _in(members, size, j):
                    continue
                if uniform(rng) >= discovery:
                    continue
            if work is not None:
                work[4] += 1
            score = pair_match(knowledge, i, j, (atype[i], stage[i], province[i]),
                               (atype[j], stage[j], province[j]),
                               trust_of(tie_partner, tie_trust, i, j), weights)
            if score + TASTE_HALF_WIDTH * (2.0 * uniform(rng) - 1.0) > threshold:
                members[size] = j
                size += 1
                match_sum += score
            else:
                refusals += 1
        if size < 2:
            continue
        has_co = False
        has_rd = False
        has_tr = False
        cross = False
        for m in range(size):
            kind = atype[members[m]]
            if is_company(kind):
                has_co = True
            elif is_research(kind):
                has_rd = True
            else:
                has_tr = True
            if group_of[members[m]] != g:
                cross = True
        if require_mix and not (has_co and (has_rd or has_tr)):
            continue
        for m in range(size):
            load[members[m]] += 1
            if mark_involvement:
                last_project[members[m]] = step
            out_members[n_out, m] = members[m]
        for m in range(size, width):
            out_members[n_out, m] = -1
        out_size[n_out] = size
        if work is not None:
            work[5] += size
        out_match[n_out] = match_sum / (size - 1)
        out_group[n_out] = g
        out_foreign[n_out] = 1 if uniform(rng) < groups[g].foreign else 0
        out_cross[n_out] = cross
        out_has_rd[n_out] = has_rd
        out_has_training[n_out] = has_tr
        n_out += 1
    return n_out
