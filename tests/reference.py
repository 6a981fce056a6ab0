"""Slow pure-Python twins of the model's Numba kernels (test oracle).

Everything here is plain Python: ints, floats, lists and loops; no NumPy arithmetic and no
Numba.  The module deliberately imports nothing from ``sim`` so that it stays an independent
re-implementation of the rules written in the kernels' docstrings.

Conventions
-----------
* Every function takes the kernel's inputs as flat positional arguments, a view's or a
  record's fields one by one (``tests/worlds.py`` builds the kernel's call from them; NumPy
  arrays are accepted and converted to lists; nothing passed in is modified), and returns a
  ``dict`` with the kernel's return value under ``"return"`` (when it has one), every array the
  kernel updates in place or writes to (as nested lists, under the argument's name) and the
  final generator state under ``"rng"`` (a list of four ints).
* The kernels work on the model's real dtypes.  Where a kernel does arithmetic in float32 (a
  product or difference of two float32 array elements) or stores a float64 result into a float32
  array, the twin rounds with :func:`f32`, so results agree bit for bit in practice.
* ``math.exp`` raises on overflow where the kernels return ``inf``; :func:`_exp` mirrors the
  kernels.
"""

from __future__ import annotations

import math
import struct

MASK64 = (1 << 64) - 1
TWO_M53 = 2.0**-53

# constants of the kernels' rules (restated here on purpose, not imported)
TASTE_HALF_WIDTH = 0.25
VERTICAL_PEAK = 0.35
VERTICAL_WIDTH = 0.2
LARGE_COST_DISCOUNT = 4.0
MARGIN_SD = 0.023
CAPABILITY_GAIN = 0.05
DENSE_INITIATION = 0.125  # from this largest initiation probability on, one uniform per position

_F32 = struct.Struct("<f")


def f32(x: float) -> float:
    """Round a Python float to the nearest IEEE binary32 value (returned as a float)."""
    return _F32.unpack(_F32.pack(x))[0]


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + _exp(-x))


def _tolist(a):
    """A NumPy array (or scalar sequence) as nested Python lists of Python scalars."""
    if hasattr(a, "tolist"):
        return a.tolist()
    return [(_tolist(v) if isinstance(v, (list, tuple)) else v) for v in a]


# --------------------------------------------------------------------------------------------
# keyed draws (sim.kernels.keyed)
# --------------------------------------------------------------------------------------------


def _mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def keyed_u64(key: int, process: int, actor: int, quarter: int, draw: int) -> int:
    """Twin of :func:`sim.kernels.keyed.keyed_u64` on Python ints."""
    h = _mix64(int(key) ^ ((process * 0x9E3779B97F4A7C15) & MASK64))
    h = _mix64(h ^ ((quarter * 0x94D049BB133111EB) & MASK64))
    h = _mix64(h ^ ((actor * 0xBF58476D1CE4E5B9) & MASK64))
    return _mix64(h ^ ((draw * 0xD6E8FEB86659FD93) & MASK64))


def keyed_uniform(key: int, process: int, actor: int, quarter: int, draw: int) -> float:
    """Twin of :func:`sim.kernels.keyed.keyed_uniform`."""
    return (keyed_u64(key, process, actor, quarter, draw) >> 11) * TWO_M53


KEYED_INNOVATION = 4  # sim.kernels.keyed.INNOVATION, restated


# --------------------------------------------------------------------------------------------
# xoshiro256**
# --------------------------------------------------------------------------------------------


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


class Xoshiro:
    """xoshiro256** 1.0 (Blackman & Vigna) over four Python ints masked to 64 bits."""

    def __init__(self, state):
        if isinstance(state, Xoshiro):
            state = state.s
        s = [int(v) & MASK64 for v in _tolist(state)]
        if len(s) != 4:
            raise ValueError("xoshiro256** state has four 64-bit words")
        self.s = s

    def state(self) -> list[int]:
        return list(self.s)

    def next_u64(self) -> int:
        s = self.s
        result = (_rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def uniform(self) -> float:
        return (self.next_u64() >> 11) * TWO_M53

    def randbelow(self, n: int) -> int:
        return int(self.uniform() * n)

    def normal(self) -> float:
        """Ziggurat (Doornik 2005's form), on the kernel's layer tables."""
        from sim.kernels.rng import ZIG_R, ZIG_RATIO, ZIG_X

        while True:
            b = self.next_u64()
            i = b & 127
            u = 2.0 * ((b >> 11) * 2.0**-53) - 1.0
            if abs(u) < ZIG_RATIO[i]:
                return u * ZIG_X[i]
            if i == 0:
                while True:
                    x = math.log(1.0 - self.uniform()) / ZIG_R
                    y = math.log(1.0 - self.uniform())
                    if -2.0 * y >= x * x:
                        break
                return x - ZIG_R if u < 0.0 else ZIG_R - x
            x = u * ZIG_X[i]
            f0 = math.exp(-0.5 * (ZIG_X[i] * ZIG_X[i] - x * x))
            f1 = math.exp(-0.5 * (ZIG_X[i + 1] * ZIG_X[i + 1] - x * x))
            if f1 + self.uniform() * (f0 - f1) < 1.0:
                return x

    def shuffle(self, seq: list) -> None:
        for i in range(len(seq) - 1, 0, -1):
            j = self.randbelow(i + 1)
            seq[i], seq[j] = seq[j], seq[i]


# --------------------------------------------------------------------------------------------
# groups.build_csr
# --------------------------------------------------------------------------------------------


def build_csr(group_of, mask, n_groups):
    """Members of each group in index order; returns ``{"ptr": [...], "idx": [...]}``."""
    group_of = _tolist(group_of)
    mask = _tolist(mask)
    n_groups = int(n_groups)
    members = [[] for _ in range(n_groups)]
    for i, g in enumerate(group_of):
        if g >= 0 and mask[i]:
            members[g].append(i)
    ptr = [0]
    idx = []
    for g in range(n_groups):
        idx.extend(members[g])
        ptr.append(len(idx))
    return {"ptr": ptr, "idx": idx}


# --------------------------------------------------------------------------------------------
# ties
# --------------------------------------------------------------------------------------------


def _trust_of(tie_partner, tie_trust, i, j):
    row = tie_partner[i]
    for m in range(len(row)):
        if row[m] == j:
            return tie_trust[i][m]
    return 0.0


def _touch_tie(tie_partner, tie_trust, i, j, delta):
    """In place on nested lists (``tie_trust`` holds float32 values)."""
    row_p = tie_partner[i]
    row_t = tie_trust[i]
    for m in range(len(row_p)):
        if row_p[m] == j:
            row_t[m] = f32(min(1.0, max(0.0, row_t[m] + delta)))
            return
    if delta <= 0.0:
        return
    empties = [m for m in range(len(row_p)) if row_p[m] < 0]
    if empties:
        slot = empties[0]
    else:
        low = min(row_t)
        slot = next(m for m in range(len(row_t)) if row_t[m] == low)
    row_p[slot] = j
    row_t[slot] = f32(min(1.0, delta))


def trust_of(tie_partner, tie_trust, i, j):
    """Trust of ``i`` in ``j`` (0.0 when ``j`` is not remembered); returns the float."""
    return _trust_of(_tolist(tie_partner), _tolist(tie_trust), int(i), int(j))


def touch_tie(tie_partner, tie_trust, i, j, delta):
    """Returns ``{"tie_partner": ..., "tie_trust": ...}`` after the update."""
    tp = _tolist(tie_partner)
    tt = _tolist(tie_trust)
    _touch_tie(tp, tt, int(i), int(j), float(delta))
    return {"tie_partner": tp, "tie_trust": tt}


# --------------------------------------------------------------------------------------------
# consortia
# --------------------------------------------------------------------------------------------


def _match_score(i, j, atype, province, knowledge, stage, tie_partner, tie_trust,
                 w_h, w_v, w_t, w_p):
    ki = knowledge[i]
    kj = knowledge[j]
    s = 0.0
    for d in range(len(ki)):
        s += f32(ki[d] * kj[d])  # float32 * float32 in the kernel
    s = min(1.0, max(0.0, s))
    horizontal = 4.0 * s * (1.0 - s)
    if atype[i] <= 1 and atype[j] <= 1:
        dv = abs(f32(stage[i] - stage[j]))  # float32 - float32 in the kernel
        z = (dv - VERTICAL_PEAK) / VERTICAL_WIDTH
        vertical = math.exp(-z * z)
    else:
        vertical = 0.5
    trust = _trust_of(tie_partner, tie_trust, i, j)
    prox = 1.0 if province[i] == province[j] else 0.0
    return w_h * horizontal + w_v * vertical + w_t * trust + w_p * prox


def match_score(i, j, atype, province, knowledge, stage, tie_partner, tie_trust,
                w_h, w_v, w_t, w_p):
    """The match of ``i`` and ``j``; returns the float."""
    return _match_score(int(i), int(j), _tolist(atype), _tolist(province), _tolist(knowledge),
                        _tolist(stage), _tolist(tie_partner), _tolist(tie_trust),
                        float(w_h), float(w_v), float(w_t), float(w_p))


def form_consortia(
    pool, pool_group, group_rate, use_coop, sector_coop,
    co_ptr, co_idx, nc_ptr, nc_idx, cross_groups,
    discovery, cross_prob, nc_prob, foreign_prob,
    alive, atype, sector, province, load, capacity, knowledge, stage, group_of,
    tie_partner, tie_trust, last_project, step,
    n_candidates, w_h, w_v, w_t, w_p, threshold, max_refusals, max_size, grow_prob,
    require_mix, mark_involvement, rng,
    out_members, out_size, out_match, out_group, out_foreign, out_cross, out_has_rd,
    out_has_training,
):
    """Twin of :func:`sim.kernels.consortia.form_consortia` (its record's and views' fields as
    separate arguments)."""
    r = Xoshiro(rng)
    pool = _tolist(pool)
    pool_group = _tolist(pool_group)
    group_rate = _tolist(group_rate)
    sector_coop = _tolist(sector_coop)
    co_ptr, co_idx = _tolist(co_ptr), _tolist(co_idx)
    nc_ptr, nc_idx = _tolist(nc_ptr), _tolist(nc_idx)
    cross_groups = _tolist(cross_groups)
    discovery, cross_prob = _tolist(discovery), _tolist(cross_prob)
    foreign_prob = _tolist(foreign_prob)
    alive, atype, sector = _tolist(alive), _tolist(atype), _tolist(sector)
    province, capacity = _tolist(province), _tolist(capacity)
    knowledge, stage, group_of = _tolist(knowledge), _tolist(stage), _tolist(group_of)
    tie_partner, tie_trust = _tolist(tie_partner), _tolist(tie_trust)
    load, last_project = _tolist(load), _tolist(last_project)
    out_members, out_size = _tolist(out_members), _tolist(out_size)
    out_match, out_group = _tolist(out_match), _tolist(out_group)
    out_foreign, out_cross = _tolist(out_foreign), _tolist(out_cross)
    out_has_rd, out_has_training = _tolist(out_has_rd), _tolist(out_has_training)
    nc_prob, threshold, grow_prob = float(nc_prob), float(threshold), float(grow_prob)
    w_h, w_v, w_t, w_p = float(w_h), float(w_v), float(w_t), float(w_p)
    n_candidates, max_refusals = int(n_candidates), int(max_refusals)
    step = int(step)

    rows = len(out_members)
    width = len(out_members[0]) if rows else 0
    cap_size = min(int(max_size), width)
    n_cross = len(cross_groups)

    def score_of(i, j):
        return _match_score(i, j, atype, province, knowledge, stage, tie_partner, tie_trust,
                            w_h, w_v, w_t, w_p)

    def accepts(score):
        return score + TASTE_HALF_WIDTH * (2.0 * r.uniform() - 1.0) > threshold

    def spare(j):
        return load[j] < capacity[j]

    def p_init(pos):
        prob = group_rate[pool_group[pos]]
        if use_coop:
            prob *= sector_coop[sector[pool[pos]]]
        return prob

    # who initiates: independent Bernoulli(p_i), drawn by geometric skipping at p_max and
    # thinning, or one uniform per position from DENSE_INITIATION on (the kernel's scheme, so
    # that the draws line up)
    p_max = max(group_rate, default=0.0) * (max(sector_coop, default=0.0) if use_coop else 1.0)
    p_max = min(p_max, 1.0)
    dense = p_max >= DENSE_INITIATION
    chosen = []
    if p_max > 0.0:
        pos = -1
        while True:
            if not dense:
                skip = math.log(1.0 - r.uniform()) / math.log1p(-p_max)
                if pos + 1 + skip >= len(pool):
                    break
                pos += 1 + int(skip)
            else:
                pos += 1
                if pos >= len(pool):
                    break
            prob = p_init(pos)
            if dense:
                taken = prob >= 1.0 or r.uniform() < prob
            else:
                taken = prob >= p_max or r.uniform() * p_max < prob
            if taken:
                chosen.append(pos)
    r.shuffle(chosen)
    n_out = 0
    for p in chosen:
        i = pool[p]
        g = pool_group[p]
        if not alive[i] or not spare(i):
            continue
        if n_out >= rows:
            break
        target = 2
        while target < cap_size and r.uniform() < grow_prob:
            target += 1
        members = [i]
        match_sum = 0.0
        refusals = 0
        # remembered partners first, in slot order
        for j in tie_partner[i]:
            if len(members) >= target or refusals >= max_refusals:
                break
            if j < 0 or not alive[j] or group_of[j] < 0 or not spare(j) or j in members:
                continue
            score = score_of(i, j)
            if accepts(score):
                members.append(j)
                match_sum += score
            else:
                refusals += 1
        # random candidates
        for _ in range(n_candidates):
            if len(members) >= target or refusals >= max_refusals:
                break
            u = r.uniform()
            if u < nc_prob:
                ptr, src, h = nc_ptr, nc_idx, g
            elif u < nc_prob + cross_prob[g] and n_cross > 1:
                # uniform over the other groups: draw among the first n-1 entries; the
                # initiator's own group, if drawn, stands for the last entry
                h = cross_groups[r.randbelow(n_cross - 1)]
                if h == g:
                    h = cross_groups[-1]
                ptr, src = co_ptr, co_idx
            else:
                ptr, src, h = co_ptr, co_idx, g
            lo, hi = ptr[h], ptr[h + 1]
            if hi <= lo:
                continue
            j = src[lo + r.randbelow(hi - lo)]
            if not alive[j] or not spare(j) or j in members:
                continue
            if r.uniform() >= discovery[g]:
                continue
            score = score_of(i, j)
            if accepts(score):
                members.append(j)
                match_sum += score
            else:
                refusals += 1
        size = len(members)
        if size < 2:
            continue
        kinds = [atype[j] for j in members]
        has_co = any(a <= 1 for a in kinds)
        has_rd = any(a in (2, 3) for a in kinds)
        has_tr = any(a >= 4 for a in kinds)
        cross = any(group_of[j] != g for j in members)
        if require_mix and not (has_co and (has_rd or has_tr)):
            continue
        for j in members:
            load[j] += 1
            if mark_involvement:
                last_project[j] = step
        out_members[n_out] = members + [-1] * (width - size)
        out_size[n_out] = size
        out_match[n_out] = f32(match_sum / (size - 1))
        out_group[n_out] = g
        out_foreign[n_out] = 1 if r.uniform() < foreign_prob[g] else 0
        out_cross[n_out] = cross
        out_has_rd[n_out] = has_rd
        out_has_training[n_out] = has_tr
        n_out += 1
    return {
        "return": n_out, "load": load, "last_project": last_project,
        "out_members": out_members, "out_size": out_size, "out_match": out_match,
        "out_group": out_group, "out_foreign": out_foreign, "out_cross": out_cross,
        "out_has_rd": out_has_rd, "out_has_training": out_has_training, "rng": r.state(),
    }


# --------------------------------------------------------------------------------------------
# membership
# --------------------------------------------------------------------------------------------


def _utility(i, c, atype, taste, done, won, margin, market_weight, cl_pull, cl_activity,
             cl_fee_sme, cl_fee_large, benefit_base, benefit_activity, benefit_pull,
             benefit_taste, selection, cost_weight, record_prior, margin0):
    if atype[i] == 1:
        cost = cost_weight * cl_fee_large[c] / 1000.0 / LARGE_COST_DISCOUNT
    else:
        cost = cost_weight * cl_fee_sme[c] / 1000.0
    record = 2.0 * (won[i] + 0.5 * record_prior) / (done[i] + record_prior)
    health = (margin[i] - margin0) / MARGIN_SD if market_weight[i] > 0.0 else 0.0
    return (benefit_base + benefit_activity * cl_activity[c] * record
            + benefit_pull * cl_pull[c] + benefit_taste * taste[i] + selection * health - cost)


WEIGHT_NAMES = ("benefit_base", "benefit_activity", "benefit_pull", "benefit_taste",
                "selection", "cost_weight", "record_prior", "margin0")


def utility(i, c, args):
    """Net benefit of cluster ``c`` for company ``i`` (``args``: the flat arguments of
    :func:`membership_step`); returns the float."""
    return _utility(int(i), int(c), *(_tolist(args[k]) for k in (
        "atype", "taste", "projects_done", "projects_won", "margin", "market_weight",
        "cl_pull", "cl_activity", "cl_fee_sme", "cl_fee_large")),
        *(float(args[k]) for k in WEIGHT_NAMES))


def membership_step(
    n, alive, atype, sector, taste, cluster, sector_clusters, cl_active, cl_recruit, cl_pull,
    cl_activity, cl_fee_sme, cl_fee_large, cl_members, projects_done, projects_won, margin,
    market_weight, awareness_base, awareness_recruit, benefit_base, benefit_pull,
    benefit_activity, benefit_taste, selection, cost_weight, record_prior, margin0, noise,
    leave_rate, rd_join_rate, rng, out_flows,
):
    """Twin of :func:`sim.processes.membership.membership_step`."""
    r = Xoshiro(rng)
    alive, atype, sector, taste = _tolist(alive), _tolist(atype), _tolist(sector), _tolist(taste)
    cluster = _tolist(cluster)
    sector_clusters = _tolist(sector_clusters)
    cl_active, cl_recruit = _tolist(cl_active), _tolist(cl_recruit)
    cl_pull, cl_activity = _tolist(cl_pull), _tolist(cl_activity)
    cl_fee_sme, cl_fee_large = _tolist(cl_fee_sme), _tolist(cl_fee_large)
    cl_members, out_flows = _tolist(cl_members), _tolist(out_flows)
    done, won = _tolist(projects_done), _tolist(projects_won)
    margin, market_weight = _tolist(margin), _tolist(market_weight)
    awareness_base, awareness_recruit = float(awareness_base), float(awareness_recruit)
    noise, leave_rate, rd_join_rate = float(noise), float(leave_rate), float(rd_join_rate)
    weights = [float(benefit_base), float(benefit_activity), float(benefit_pull),
               float(benefit_taste), float(selection), float(cost_weight), float(record_prior),
               float(margin0)]

    def u_of(i, c):
        return _utility(i, c, atype, taste, done, won, margin, market_weight, cl_pull,
                        cl_activity, cl_fee_sme, cl_fee_large, *weights)

    def join(i, c):
        cluster[i] = c
        cl_members[c] += 1
        out_flows[c][0] += 1

    for i in range(int(n)):
        if not alive[i]:
            continue
        c = cluster[i]
        if c >= 0:
            if atype[i] <= 1 and r.uniform() < leave_rate:
                stay = _logistic(u_of(i, c) / noise)
                if r.uniform() >= stay:
                    cluster[i] = -1
                    cl_members[c] -= 1
                    out_flows[c][1] += 1
            continue
        cand = [cc for cc in sector_clusters[sector[i]] if cc >= 0 and cl_active[cc]]
        if not cand:
            continue
        c = cand[r.randbelow(len(cand))] if len(cand) > 1 else cand[0]
        if atype[i] <= 1:
            if r.uniform() >= awareness_base + awareness_recruit * cl_recruit[c]:
                continue
            if r.uniform() < _logistic(u_of(i, c) / noise):
                join(i, c)
        elif r.uniform() < rd_join_rate * cl_pull[c]:
            join(i, c)
    return {"cluster": cluster, "cl_members": cl_members, "out_flows": out_flows,
            "rng": r.state()}


# --------------------------------------------------------------------------------------------
# projects
# --------------------------------------------------------------------------------------------


def complete_projects(
    step, p_active, p_end, p_members, p_size, p_match, p_has_rd, p_foreign, p_cluster,
    p_fund_rd, p_fund_training, p_fund_investment, p_rd_private,
    alive, atype, load, pending_quality, pending_efficiency, foreign_partners, exporter,
    knowledge, capability, innovations, tie_partner, tie_trust, cl_benchmark,
    success_base, success_match, success_research, success_benchmark, success_funded,
    productivity_gain, training_gain, investment_gain, innovation_prob, export_gain, learning,
    spinoff_prob, spinoff_prob_research, trust_gain, trust_loss, quality_gain, grant_ref, rng,
    key, p_start, draw_id, export_clock, projects_done, projects_won, out_done, out_success,
    out_spinoff, out_innovations,
):
    """Twin of :func:`sim.processes.projects.complete_projects`."""
    r = Xoshiro(rng)
    step = int(step)
    p_active, p_end, p_members = _tolist(p_active), _tolist(p_end), _tolist(p_members)
    p_size, p_match, p_has_rd = _tolist(p_size), _tolist(p_match), _tolist(p_has_rd)
    p_foreign, p_cluster = _tolist(p_foreign), _tolist(p_cluster)
    p_fund_rd, p_fund_training = _tolist(p_fund_rd), _tolist(p_fund_training)
    p_fund_investment, p_rd_private = _tolist(p_fund_investment), _tolist(p_rd_private)
    alive, atype, load = _tolist(alive), _tolist(atype), _tolist(load)
    pending_quality, pending_efficiency = _tolist(pending_quality), _tolist(pending_efficiency)
    foreign_partners, exporter = _tolist(foreign_partners), _tolist(exporter)
    export_clock = _tolist(export_clock)
    knowledge, capability = _tolist(knowledge), _tolist(capability)
    innovations = _tolist(innovations)
    done, won = _tolist(projects_done), _tolist(projects_won)
    tie_partner, tie_trust = _tolist(tie_partner), _tolist(tie_trust)
    cl_benchmark = _tolist(cl_benchmark)
    out_done, out_success = _tolist(out_done), _tolist(out_success)
    out_spinoff, out_innovations = _tolist(out_spinoff), _tolist(out_innovations)
    (success_base, success_match, success_research, success_benchmark, success_funded,
     productivity_gain, training_gain, investment_gain, innovation_prob, export_gain, learning,
     spinoff_prob, spinoff_prob_research, trust_gain, trust_loss, quality_gain,
     grant_ref) = (float(x) for x in (
        success_base, success_match, success_research, success_benchmark, success_funded,
        productivity_gain, training_gain, investment_gain, innovation_prob, export_gain,
        learning, spinoff_prob, spinoff_prob_research, trust_gain, trust_loss, quality_gain,
        grant_ref))

    n_done = 0
    for p in range(len(p_active)):
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
        success = r.uniform() < _logistic(logit)
        team = p_members[p][: p_size[p]]
        living = [j for j in team if alive[j]]
        for j in team:
            if load[j] > 0:
                load[j] -= 1
            if alive[j] and atype[j] <= 1:
                done[j] += 1
                won[j] += int(success)
        n_innov = 0
        if success and living:
            dims = len(knowledge[living[0]])
            mean = [0.0] * dims
            for j in living:
                for d in range(dims):
                    mean[d] += knowledge[j][d]
            mean = [v / len(living) for v in mean]
            gain = (productivity_gain + training_gain * math.log1p(p_fund_training[p] / grant_ref)
                    + investment_gain * math.log1p(p_fund_investment[p] / grant_ref))
            budget = p_fund_rd[p] + p_rd_private[p] if p_fund_rd[p] > 0.0 else 0.0
            step_q = quality_gain * (1.0 + math.log1p(budget / grant_ref))
            export_push = math.log1p(-min(export_gain * (2.0 if p_foreign[p] > 0 else 1.0),
                                          1.0 - 1e-12))
            for j in living:
                if atype[j] <= 1:
                    pending_efficiency[j] += gain
                    start = int(p_start[p])
                    who = int(draw_id[j]) if draw_id[j] >= 0 else j
                    if keyed_uniform(key, KEYED_INNOVATION, who, step, 2 * start) < innovation_prob:
                        innovations[j] += 1
                        n_innov += 1
                        pending_quality[j] += step_q
                    if p_foreign[p] > 0:
                        foreign_partners[j] += 1
                    if not exporter[j]:
                        export_clock[j] += export_push
                capability[j] += CAPABILITY_GAIN
                row = knowledge[j]
                moved = [row[d] + learning * (mean[d] - row[d]) for d in range(dims)]
                norm = 0.0
                for v in moved:  # plain left-to-right sum (not math.fsum / compensated sum)
                    norm += v * v
                norm = math.sqrt(norm)
                stored = [f32(v) for v in moved]  # float32 array
                if norm > 0.0:
                    stored = [f32(v / norm) for v in stored]
                knowledge[j] = stored
        delta = trust_gain if success else -trust_loss
        for a, ja in enumerate(team):
            if not alive[ja]:
                continue
            for b, jb in enumerate(team):
                if a != b and alive[jb]:
                    _touch_tie(tie_partner, tie_trust, ja, jb, delta)
        spin = False
        if success:
            spin = r.uniform() < (spinoff_prob_research if p_has_rd[p] else spinoff_prob)
        out_done[n_done] = p
        out_success[n_done] = success
        out_spinoff[n_done] = spin
        out_innovations[n_done] = n_innov
        n_done += 1
    return {
        "return": n_done, "load": load, "pending_quality": pending_quality,
        "pending_efficiency": pending_efficiency, "foreign_partners": foreign_partners,
        "export_clock": export_clock,
        "knowledge": knowledge, "capability": capability, "innovations": innovations,
        "projects_done": done, "projects_won": won,
        "tie_partner": tie_partner, "tie_trust": tie_trust, "out_done": out_done,
        "out_success": out_success, "out_spinoff": out_spinoff,
        "out_innovations": out_innovations, "rng": r.state(),
    }


# --------------------------------------------------------------------------------------------
# demography: new companies
# --------------------------------------------------------------------------------------------

# the new firms' parameters in the order of sim.world.NEW_FIRM's floats, restated
F_SPREAD, F_SME_MEAN, F_SME_SIGMA, F_PROD_MEAN, F_PROD_SD, F_CAP_SIGMA, F_PROD_START = range(7)


def bernoulli_count(rng, trials, p):
    """Twin of :func:`sim.kernels.rng.bernoulli_count` (on an :class:`Xoshiro`)."""
    r = rng
    trials, p = int(trials), float(p)
    if trials <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return trials
    log_q = math.log1p(-p)
    k = 0
    pos = -1
    while True:
        skip = math.log(1.0 - r.uniform()) / log_q
        if pos + 1 + skip >= trials:
            return k
        pos += 1 + int(skip)
        k += 1


def _productivity_level(n, alive, atype, employment, value_added, prod_start):
    if prod_start <= 0.0:
        return 1.0
    emp = va = 0.0
    for i in range(n):
        if alive[i] and atype[i] <= 1:
            emp += employment[i]
            va += value_added[i]
    return (va / emp if emp > 0.0 else 0.0) / prod_start


_SME_COLUMNS = ("alive", "atype", "a_sector", "province", "employment", "value_added", "exporter",
                "capability", "taste", "knowledge", "stage", "a_capacity", "born", "a_origin")


def _write_smes(r, n, sector, like, has_like, level, params, centroids, cdf, export_share,
                capacity, step, origin, cols):
    """The rule of :func:`sim.world.write_smes` on lists (``cols`` by name)."""
    c = cols
    spread, sme_sigma, prod_sd = params[F_SPREAD], params[F_SME_SIGMA], params[F_PROD_SD]
    dims = len(centroids[0])
    for i, s in enumerate(sector):
        row = n + i
        emp = params[F_SME_MEAN] * _exp(sme_sigma * r.normal() - 0.5 * sme_sigma * sme_sigma)
        emp = min(249.0, max(1.0, emp))
        prod = params[F_PROD_MEAN] * _exp(prod_sd * r.normal() - 0.5 * prod_sd * prod_sd)
        if has_like:
            j = like[i]
            c["province"][row] = c["province"][j]
            c["knowledge"][row] = list(c["knowledge"][j])
        else:
            raw = [abs(centroids[s][d] + spread * r.normal()) for d in range(dims)]
            sq = 0.0
            for v in raw:
                sq += v * v
            norm = math.sqrt(sq) or 1.0
            c["knowledge"][row] = [f32(v / norm) for v in raw]
            u = r.uniform()
            p = 0
            while p < len(cdf) and cdf[p] <= u:
                p += 1
            c["province"][row] = p
        c["alive"][row] = True
        c["atype"][row] = 0
        c["a_sector"][row] = s
        c["employment"][row] = emp
        c["value_added"][row] = prod * emp * level
        c["exporter"][row] = r.uniform() < export_share[s]
        c["capability"][row] = _exp(params[F_CAP_SIGMA] * r.normal())
        c["taste"][row] = f32(r.normal())
        c["stage"][row] = f32(r.uniform())
        c["a_capacity"][row] = capacity[0]
        c["born"][row] = step
        c["a_origin"][row] = origin


def spawn_smes(rng, n, sector, like, has_like, params, centroids, cdf, export_share, capacity,
               step, origin, *arrays):
    """Twin of :func:`sim.world.spawn_smes`."""
    r = Xoshiro(rng)
    cols = dict(zip(_SME_COLUMNS, (_tolist(a) for a in arrays), strict=True))
    params, centroids = _tolist(params), _tolist(centroids)
    n = int(n)
    level = _productivity_level(n, cols["alive"], cols["atype"], cols["employment"],
                                cols["value_added"], params[F_PROD_START])
    _write_smes(r, n, _tolist(sector), _tolist(like), bool(has_like), level, params, centroids,
                _tolist(cdf), _tolist(export_share), _tolist(capacity), int(step), int(origin),
                cols)
    return {**cols, "rng": r.state()}


def demography_step(n, cap, per_sector, research, entry_rate, spinoff_rate, entry_rng,
                    research_rng, params, centroids, cdf, export_share, capacity, step,
                    origin_entry, origin_research, *arrays):
    """Twin of :func:`sim.processes.demography.demography_step`."""
    re, rr = Xoshiro(entry_rng), Xoshiro(research_rng)
    cols = dict(zip(_SME_COLUMNS, (_tolist(a) for a in arrays), strict=True))
    params, centroids = _tolist(params), _tolist(centroids)
    n, research = int(n), _tolist(research)
    entrants = [bernoulli_count(re, k, entry_rate) for k in _tolist(per_sector)]
    k = bernoulli_count(rr, len(research), spinoff_rate)
    parents = [research[rr.randbelow(len(research))] for _ in range(k)]
    out = {"entry_rng": re.state(), "research_rng": rr.state()}
    if n + sum(entrants) + k > cap:  # nothing written, both streams as they were
        return {"return": (-(n + sum(entrants) + k), 0), "entry_rng": _tolist(entry_rng),
                "research_rng": _tolist(research_rng), **cols}
    level = _productivity_level(n, cols["alive"], cols["atype"], cols["employment"],
                                cols["value_added"], params[F_PROD_START])
    tables = (params, centroids, _tolist(cdf), _tolist(export_share), _tolist(capacity),
              int(step))
    sector = [s for s, e in enumerate(entrants) for _ in range(e)]
    _write_smes(re, n, sector, [], False, level, *tables, int(origin_entry), cols)
    _write_smes(rr, n + len(sector), [cols["a_sector"][j] for j in parents], parents, True,
                level, *tables, int(origin_research), cols)
    out.update(entry_rng=re.state(), research_rng=rr.state())
    return {"return": (len(sector), k), **out, **cols}


def spend_private_rd(step, p_active, p_start, p_end, p_members, p_size, p_rd_private,
                     p_fund_rd, alive, atype, rd_private):
    """Twin of :func:`sim.processes.projects.spend_private_rd`: returns (total, pole) and
    updates ``rd_private`` (the companies' cumulative own R&D money) in place."""
    company = {0, 1}  # SMEs and large firms (sim.state.codes), as the twins above
    total = pole = 0.0
    for q in range(len(p_active)):
        if not p_active[q] or not (p_start[q] <= step < p_end[q]) or p_rd_private[q] == 0.0:
            continue
        rows = [int(j) for j in p_members[q][: p_size[q]]]
        n_co = sum(1 for j in rows if int(atype[j]) in company)
        if n_co == 0:
            continue
        share = float(p_rd_private[q]) / int(p_end[q] - p_start[q]) / n_co
        for j in rows:
            if alive[j] and int(atype[j]) in company:
                rd_private[j] += share
                total += share
                if p_fund_rd[q] > 0.0:
                    pole += share
    return total, pole
