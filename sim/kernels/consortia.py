"""Partner search and consortium formation: the hot path of the model.

One kernel serves the clusters' partnerships (groups = clusters) and the poles' calls
(groups = poles).  The rule (docs/ODD.md, submodel "Partnership formation"):

1. Each potential initiator initiates this step with probability ``p_i = group_rate[g]`` (times
   its sector's cooperation propensity when ``use_coop``).  These independent Bernoulli draws
   are made by geometric skipping at ``p_max`` (the largest possible ``p_i``) and thinning with
   probability ``p_i / p_max``, which is exact and costs draws in proportion to the initiators,
   not to the pool; from ``p_max >= DENSE_INITIATION`` on, where a skip (a logarithm) costs
   more than the positions it passes, by one uniform per position.  The initiators then act in
   a random order; one whose capacity has filled up before its turn (it was recruited by an
   earlier one) does nothing.  An initiator draws a target
   consortium size (2, +1 with probability ``grow_prob`` each time, up to ``max_size``).
2. It asks its remembered partners first (trust ties; SKIN / INFSO-SKIN "previous partners
   first"), then screens ``K`` random candidates: with probability ``nc_prob`` a university,
   research or training centre of its group, with probability ``cross_prob[g]`` a company of
   another group of ``cross_groups`` (uniformly among them; ``cross_groups`` must contain ``g``),
   otherwise a company of its own group.  A random candidate is only known with probability
   ``discovery[g]`` (the animator's "knowing each other" effort raises it).
3. A known candidate with spare capacity accepts when its match plus a uniform taste shock in
   [-0.25, 0.25) exceeds ``threshold``; the match is
   ``w_h * 4s(1-s) + w_v * vertical + w_t * trust + w_p * same_province`` with ``s`` the cosine of
   the two technology profiles (Cowan-Jonard-Zimmermann), ``vertical`` a bump around a
   value-chain distance of 0.35 (customer-supplier), ``trust`` the tie value.  The initiator
   stops once ``max_refusals`` candidates have refused (Tomasello et al.'s R) or at the target
   size.
4. A consortium of two or more local actors (and, if ``require_mix``, with a company and a
   research or training actor) is committed: members' loads rise and a foreign partner joins
   with probability ``foreign_prob[g]``.

All draws come from the explicit xoshiro state ``rng`` in a fixed order, so the kernel is a
pure function of its inputs; ``tests/reference.py`` re-implements it in plain Python.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.groups import member_index
from sim.kernels.rng import randbelow, shuffle, uniform
from sim.kernels.ties import trust_of

TASTE_HALF_WIDTH = 0.25
# Largest initiation probability from which every pool position gets its own uniform instead
# of geometric skipping: a skip costs a logarithm and a division (about 28 ns per visit on the
# benchmark VM, against under 4 ns per position for a plain draw), so skipping pays below
# about 0.13.  The model's rates (0.006-0.05 per quarter, 0.04 per pole call) stay far below.
DENSE_INITIATION = 0.125
VERTICAL_PEAK = 0.35
VERTICAL_WIDTH = 0.2


@njit(cache=True, inline='always')
def pair_match(knowledge, i, j, atype_i, atype_j, stage_i, stage_j, province_i, province_j,
               trust, w_h, w_v, w_t, w_p):
    """Match of actors ``i`` and ``j`` from their attributes (dimensionless, about 0..3).

    The kernel's form of :func:`match_score`: scalars instead of the actor arrays, because a
    call to a compiled function that passes many arrays costs more (reference counting,
    argument marshalling) than the arithmetic itself (about 45 ns against 10 ns per match).
    Inlined into its callers by Numba (``inline='always'``), since LLVM did not and even the
    one array's reference counting cost about 5 ns a match (the ``search`` step at 1,000
    firms: 124 to 112 us; the same draws and results).
    """
    s = 0.0
    for d in range(knowledge.shape[1]):
        s += knowledge[i, d] * knowledge[j, d]
    s = min(1.0, max(0.0, s))
    horizontal = 4.0 * s * (1.0 - s)
    if atype_i <= 1 and atype_j <= 1:
        dv = abs(stage_i - stage_j)
        z = (dv - VERTICAL_PEAK) / VERTICAL_WIDTH
        vertical = np.exp(-z * z)
    else:
        vertical = 0.5  # R&D and training actors sit off the value chain
    prox = 1.0 if province_i == province_j else 0.0
    return w_h * horizontal + w_v * vertical + w_t * trust + w_p * prox


@njit(cache=True)
def match_score(i, j, atype, province, knowledge, stage, tie_partner, tie_trust,
                w_h, w_v, w_t, w_p):
    """Match of actors ``i`` and ``j`` (dimensionless, about 0..3)."""
    return pair_match(knowledge, i, j, atype[i], atype[j], stage[i], stage[j], province[i],
                      province[j], trust_of(tie_partner, tie_trust, i, j), w_h, w_v, w_t, w_p)


@njit(cache=True)
def _in(members, size, j):
    for m in range(size):
        if members[m] == j:
            return True
    return False


@njit(cache=True)
def draw_initiators(pool, pool_group, group_rate, use_coop, sector_coop, sector, rng):
    """Positions in ``pool`` of this step's initiators, in pool order.

    Each entry ``pos`` is drawn independently with probability
    ``p = group_rate[pool_group[pos]]`` (times ``sector_coop[sector[pool[pos]]]`` when
    ``use_coop``), by geometric skipping at ``p_max`` (the largest possible ``p``, capped at 1)
    and thinning with probability ``p / p_max``: exact Bernoulli draws at a cost proportional to
    ``len(pool) * p_max``.  An entry with ``p >= p_max`` is taken without a thinning draw.
    From ``p_max >= DENSE_INITIATION`` on, every position is visited and draws one uniform
    (none when ``p >= 1``), which at ``p_max = 1`` is the same as skipping.
    """
    n_pool = pool.shape[0]
    p_max = 0.0
    for g in range(group_rate.shape[0]):
        p_max = max(p_max, group_rate[g])
    if use_coop:
        c_max = 0.0
        for s in range(sector_coop.shape[0]):
            c_max = max(c_max, sector_coop[s])
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
            prob = group_rate[pool_group[pos]]
            if use_coop:
                prob *= sector_coop[sector[pool[pos]]]
            if dense:
                taken = prob >= 1.0 or uniform(rng) < prob
            else:
                taken = prob >= p_max or uniform(rng) * p_max < prob
            chosen[n_chosen] = pos  # kept or overwritten: no branch on a coin flip
            n_chosen += taken
    return chosen[:n_chosen]


@njit(cache=True)
def form_consortia(
    pool, pool_group, group_rate, use_coop, sector_coop,
    co_ptr, co_idx, nc_ptr, nc_idx, cross_groups,
    discovery, cross_prob, nc_prob, foreign_prob,
    alive, atype, sector, province, load, capacity, knowledge, stage, group_of,
    tie_partner, tie_trust, last_project, step,
    n_candidates, w_h, w_v, w_t, w_p, threshold, max_refusals, max_size, grow_prob,
    require_mix, rng,
    out_members, out_size, out_match, out_group, out_foreign, out_cross, out_has_rd,
    out_has_training, work=None,
):
    """Form consortia; return how many were written to the ``out_*`` buffers.

    Parameters
    ----------
    pool, pool_group : ndarray(int32, (m,))  potential initiators and their group.
    group_rate : ndarray(float64, (G,))      initiation probability per step in each group.
    cross_groups : ndarray(int32, (h,))      groups open to cross-group search (contains every
                                             initiator's group when h > 1).
    use_coop : bool                          multiply it by ``sector_coop[sector[i]]``.
    co_ptr, co_idx / nc_ptr, nc_idx : CSR    companies / other actors of each group.
    discovery, cross_prob, foreign_prob : ndarray(float64, (G,))  per-group probabilities.
    nc_prob : float                          chance a candidate slot goes to a non-company.
    alive .. last_project : actor arrays (see ``sim.state.Actors``); ``load`` and
        ``last_project`` are updated in place for committed members.
    group_of : ndarray(int, (n,))            each actor's group (-1 none), for cross flags.
    rng : ndarray(uint64, (4,))              xoshiro256** state, advanced in place.
    out_* : caller-allocated buffers of length B (``out_members`` is (B, width)).
    work : ndarray(int64, (6,)), optional
        Work counters, incremented (for the benchmarks' floor): initiators drawn, initiators
        that searched, tie slots read, random candidates drawn, matches evaluated, members
        committed.  When omitted, the counting branches are compiled out.
    """
    width = out_members.shape[1]
    cap_size = min(max_size, width)
    members = np.empty(width, np.int32)
    n_out = 0
    n_cross = cross_groups.shape[0]
    # 1. who initiates, then in what order
    chosen = draw_initiators(pool, pool_group, group_rate, use_coop, sector_coop, sector, rng)
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
                elif u < nc_prob + cross_prob[g] and n_cross > 1:
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
                if uniform(rng) >= discovery[g]:
                    continue
            if work is not None:
                work[4] += 1
            score = pair_match(knowledge, i, j, atype[i], atype[j], stage[i], stage[j],
                               province[i], province[j], trust_of(tie_partner, tie_trust, i, j),
                               w_h, w_v, w_t, w_p)
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
            a = atype[members[m]]
            if a <= 1:
                has_co = True
            elif a <= 3:
                has_rd = True
            else:
                has_tr = True
            if group_of[members[m]] != g:
                cross = True
        if require_mix and not (has_co and (has_rd or has_tr)):
            continue
        for m in range(size):
            load[members[m]] += 1
            last_project[members[m]] = step
            out_members[n_out, m] = members[m]
        for m in range(size, width):
            out_members[n_out, m] = -1
        out_size[n_out] = size
        if work is not None:
            work[5] += size
        out_match[n_out] = match_sum / (size - 1)
        out_group[n_out] = g
        out_foreign[n_out] = 1 if uniform(rng) < foreign_prob[g] else 0
        out_cross[n_out] = cross
        out_has_rd[n_out] = has_rd
        out_has_training[n_out] = has_tr
        n_out += 1
    return n_out


# Indices of the partnership rule's parameters in the ``params`` vector of
# :func:`cluster_partnering` (built once per run by :func:`partnering_params`).
(P_RATE, P_PROMOTION, P_DISCOVERY_BASE, P_DISCOVERY_EFFORT, P_CROSS, P_FOREIGN, P_NC,
 P_W_H, P_W_V, P_W_T, P_W_P, P_THRESHOLD, P_GROWTH) = range(13)


def partnering_params(pp) -> np.ndarray:
    """The float parameters of the cluster partnership rule as a vector (``P_*`` order);
    ``pp`` is the scenario's ``behaviour.partnering``."""
    return np.array([pp.initiate_rate, pp.initiate_promotion, pp.discovery_base,
                     pp.discovery_effort, pp.cross_cluster_prob, pp.foreign_prob,
                     pp.rd_candidate_prob, pp.w_horizontal, pp.w_vertical, pp.w_trust,
                     pp.w_proximity, pp.accept_threshold, pp.consortium_growth], np.float64)


@njit(cache=True)
def cluster_probabilities(params, active, effort_partnerships, effort_know, effort_mapping,
                          agreements):
    """Per-cluster initiation, discovery, cross-cluster and foreign-partner probabilities.

    rate = initiate_rate (1 + promotion x effort) in active clusters (0 elsewhere);
    discovery = 1 - (1 - base) exp(-effort_coefficient x effort_know);
    cross = min(1, cross_prob (1 + effort_mapping)); foreign = min(1, foreign_prob (1 + agreements)).
    """
    n_c = active.shape[0]
    rate = np.zeros(n_c)
    discovery = np.empty(n_c)
    cross = np.empty(n_c)
    foreign = np.empty(n_c)
    for c in range(n_c):
        if active[c]:
            rate[c] = params[P_RATE] * (1.0 + params[P_PROMOTION] * effort_partnerships[c])
        discovery[c] = 1.0 - (1.0 - params[P_DISCOVERY_BASE]) * np.exp(
            -params[P_DISCOVERY_EFFORT] * effort_know[c])
        cross[c] = min(1.0, params[P_CROSS] * (1.0 + effort_mapping[c]))
        foreign[c] = min(1.0, params[P_FOREIGN] * (1.0 + agreements[c]))
    return rate, discovery, cross, foreign


@njit(cache=True)
def cluster_partnering(
    n, params, active, effort_partnerships, effort_know, effort_mapping, agreements,
    sector_coop, alive, atype, sector, province, load, capacity, knowledge, stage, cluster,
    tie_partner, tie_trust, last_project, step, n_candidates, max_refusals, max_size, rng,
    out_members, out_size, out_match, out_group, out_foreign, out_cross, out_has_rd,
    out_has_training, work=None, index=None,
):
    """One quarter's partnership step in the clusters, in one compiled call.

    Indexes the living members of every cluster (:func:`sim.kernels.groups.member_index`),
    computes the per-cluster probabilities (:func:`cluster_probabilities`) and runs
    :func:`form_consortia` in cluster mode (every member company a potential initiator, its
    sector's cooperation propensity applied, cross-cluster search among the active clusters).
    One call instead of a dozen NumPy operations keeps the step's fixed cost near Numba's
    dispatch (a few microseconds), which matters at small sizes and many replications.

    Returns the number of consortia written, or, when the ``out_*`` buffers have fewer rows
    than there are living member companies (each could lead one consortium), minus that
    number, before any draw: the caller grows the buffers and calls again.

    ``work``: see :func:`form_consortia`.  ``index``, optional: the clusters' member index (the
    five arrays of :func:`sim.kernels.groups.member_index`, which must be up to date) when the
    caller keeps one; the model does not (it builds the index here every quarter), but
    ``benchmarks/bench_index.py`` passes one built once, to measure what keeping it up to date
    across quarters would save.
    """
    n_c = active.shape[0]
    # the whole step stays in this one function: a call between compiled functions that is
    # not inlined increfs and decrefs each array argument (about 9 ns an array here), and
    # splitting off the part after the index cost 1.2 us a step at 1,000 firms
    if index is None:
        co_ptr, co_idx, nc_ptr, nc_idx, pool_group = member_index(cluster[:n], atype, alive,
                                                                  n_c)
    else:
        co_ptr, co_idx, nc_ptr, nc_idx, pool_group = index
    if co_idx.shape[0] == 0:
        return 0
    if co_idx.shape[0] > out_members.shape[0]:
        return -co_idx.shape[0]
    n_active = 0
    for c in range(n_c):
        n_active += active[c]
    cross_groups = np.empty(n_active, np.int32)
    q = 0
    for c in range(n_c):
        if active[c]:
            cross_groups[q] = c
            q += 1
    rate, discovery, cross, foreign = cluster_probabilities(
        params, active, effort_partnerships, effort_know, effort_mapping, agreements)
    return form_consortia(
        co_idx, pool_group, rate, True, sector_coop, co_ptr, co_idx, nc_ptr, nc_idx,
        cross_groups, discovery, cross, params[P_NC], foreign, alive, atype, sector, province,
        load, capacity, knowledge, stage, cluster, tie_partner, tie_trust, last_project, step,
        n_candidates, params[P_W_H], params[P_W_V], params[P_W_T], params[P_W_P],
        params[P_THRESHOLD], max_refusals, max_size, params[P_GROWTH], False, rng,
        out_members, out_size, out_match, out_group, out_foreign, out_cross, out_has_rd,
        out_has_training, work,
    )
