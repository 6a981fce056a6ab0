"""Bookkeeping over all actors in one pass: counts and sums that the Python-level sub-steps
and the yearly indicators need (no draws).

Each kernel replaces a handful of NumPy mask / bincount / sum calls over the actor arrays, whose
fixed costs dominate at the model's sizes.  Results are bit-identical to the NumPy expressions
they replace: counts are exact, and float64 sums use :func:`pairwise_sum`, NumPy's own summation
order for a contiguous float64 array (so ``x[mask].sum()`` and the kernel agree to the bit).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.institutions import ACTIVE as ACTIVE_CLUSTER
from sim.institutions import DROPPED as DROPPED_CLUSTER
from sim.institutions import SELECTED as SELECTED_POLE
from sim.kernels.rng import randbelow

PW_BLOCKSIZE = 128  # NumPy's pairwise-summation block (numpy/_core/src/umath/loops_utils.h.src)


@njit(cache=True)
def _block_sum(a, lo, n):
    """NumPy's pairwise sum of a block of at most ``PW_BLOCKSIZE`` elements."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = lo + 8
    stop = lo + n - n % 8
    while i < stop:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < lo + n:
        res += a[i]
        i += 1
    return res


@njit(cache=True)
def pairwise_sum(a, lo, n):
    """Sum of ``a[lo:lo + n]`` (float64) in NumPy's pairwise order (``ndarray.sum``).

    Below 8 elements a plain loop; up to ``PW_BLOCKSIZE`` eight interleaved accumulators then the
    rest; above, the sum of the two halves (split on a multiple of 8), each summed the same way.
    The halving recursion runs on an explicit stack (Numba's cache does not handle recursion).
    """
    if n <= PW_BLOCKSIZE:
        return _block_sum(a, lo, n)
    s_lo = np.empty(64, np.int64)  # the halves being summed, outermost first
    s_n = np.empty(64, np.int64)
    s_right = np.zeros(64, np.bool_)  # whether the left half is done and the right one under way
    s_left = np.empty(64)  # the sum of the left half
    d = 0
    s_lo[0] = lo
    s_n[0] = n
    while True:
        while s_n[d] > PW_BLOCKSIZE:  # descend to the leftmost block
            n2 = s_n[d] // 2
            n2 -= n2 % 8
            s_right[d] = False
            s_lo[d + 1] = s_lo[d]
            s_n[d + 1] = n2
            d += 1
        res = _block_sum(a, s_lo[d], s_n[d])
        d -= 1
        while d >= 0 and s_right[d]:  # close the halves whose right part this completes
            res = s_left[d] + res
            d -= 1
        if d < 0:
            return res
        s_left[d] = res  # a left half is done: sum the right one
        s_right[d] = True
        n2 = s_n[d] // 2
        n2 -= n2 % 8
        s_lo[d + 1] = s_lo[d] + n2
        s_n[d + 1] = s_n[d] - n2
        d += 1


@njit(cache=True)
def company_totals(n, alive, atype, employment, value_added):
    """Employment and value added summed over the living companies (rows ``< n``).

    Equal to ``employment[:n][comp].sum()`` and ``value_added[:n][comp].sum()`` with
    ``comp = alive[:n] & (atype[:n] <= 1)``.
    """
    emp = np.empty(n)
    va = np.empty(n)
    k = 0
    for i in range(n):
        if alive[i] and atype[i] <= 1:
            emp[k] = employment[i]
            va[k] = value_added[i]
            k += 1
    return pairwise_sum(emp, 0, k), pairwise_sum(va, 0, k)


@njit(cache=True)
def cluster_counts(n, atype, cluster, n_clusters):
    """Members of each cluster by actor type (int64, ``(n_clusters, 5)``).

    An exited actor has no cluster (``cluster = -1``), so no ``alive`` test is needed.
    """
    out = np.zeros((n_clusters, 5), np.int64)
    for i in range(n):
        c = cluster[i]
        if c >= 0:
            out[c, atype[i]] += 1
    return out


@njit(cache=True)
def fabric_census(n, alive, atype, sector, n_sectors):
    """Living companies per sector (int64, ``(n_sectors,)``) and the indices of the living
    universities and research centres (int64, index order), in one pass."""
    per_sector = np.zeros(n_sectors, np.int64)
    research = np.empty(n, np.int64)
    k = 0
    run_sector, run = 0, 0  # rows come mostly in runs of one sector: count a run in a register
    for i in range(n):
        if not alive[i]:
            continue
        t = atype[i]
        if t <= 1:
            s = sector[i]
            if s != run_sector:
                per_sector[run_sector] += run
                run_sector, run = s, 0
            run += 1
        elif t == 2 or t == 3:
            research[k] = i
            k += 1
    per_sector[run_sector] += run
    return per_sector, research[:k]


@njit(cache=True)
def indicator_census(n, alive, atype, cluster, pole, employment, value_added, exporter,
                     export_intensity, n_clusters, n_poles):
    """The actors' counts and the companies' totals of the yearly indicators, in one pass.

    Returns the members of each cluster by actor type (int64, ``(n_clusters, 5)``, as
    :func:`cluster_counts`), the living actors of each pole (int64, ``(n_poles,)``) and the
    companies' totals by group (float64 ``(3, 5)``: rows members, non-members, all living
    companies; columns employment, value added, exports ``value_added * exporter *
    export_intensity``, exporters, companies).  The totals are :func:`pairwise_sum` over each
    group's rows in row order: ``x[mask].sum()`` without its ``0.0 +`` (``-0.0`` when every
    term is ``-0.0`` or there is none).

    Which actors are members, companies or exporters follows no pattern the processor can
    predict, so the pass has no branch on them: an actor of no cluster (of no pole, or dead) is
    counted in a spare last row, and every actor's values are written at the next free place
    of each group's columns, whose counter only moves past them when the actor belongs to the
    group (otherwise the group's next company overwrites them).  Measured in runs of the
    baseline scenario (about 5,000 actors), the same pass with branches costs half as much again
    (49 against 32 us).
    """
    by_type = np.zeros((n_clusters + 1, 5), np.int64)  # last row: no cluster
    per_pole = np.zeros(n_poles + 1, np.int64)  # last: dead or no pole
    cols = np.empty((9, n))  # employment, value added, exports of members, others, all
    k_m, k_o, k_a = 0, 0, 0
    x_m, x_o, x_a = 0, 0, 0
    for i in range(n):
        c = cluster[i]
        ty = atype[i]
        p = pole[i]
        by_type[c if c >= 0 else n_clusters, ty] += 1
        per_pole[p if alive[i] & (p >= 0) else n_poles] += 1
        company = alive[i] & (ty <= 1)
        member = company & (c >= 0)
        other = company & (c < 0)
        xp = exporter[i]
        emp = employment[i]
        va = value_added[i]
        ex = va * (1.0 if xp else 0.0) * export_intensity
        cols[0, k_m] = emp
        cols[1, k_m] = va
        cols[2, k_m] = ex
        cols[3, k_o] = emp
        cols[4, k_o] = va
        cols[5, k_o] = ex
        cols[6, k_a] = emp
        cols[7, k_a] = va
        cols[8, k_a] = ex
        k_m += member
        k_o += other
        k_a += company
        x_m += member & xp
        x_o += other & xp
        x_a += company & xp
    fabric = np.empty((3, 5))
    for g, k, x in ((0, k_m, x_m), (1, k_o, x_o), (2, k_a, x_a)):
        for q in range(3):
            fabric[g, q] = pairwise_sum(cols[3 * g + q], 0, k)
        fabric[g, 3] = x
        fabric[g, 4] = k
    return by_type[:n_clusters], per_pole[:n_poles], fabric


@njit(cache=True)
def involved_actors(p_active, p_call, p_members, alive, n):
    """Distinct living actors among the members (``-1`` padded) of the cluster partnerships
    under way (``call < 0``)."""
    seen = np.zeros(n, np.bool_)
    count = 0
    for p in range(p_active.shape[0]):
        if not p_active[p] or p_call[p] >= 0:
            continue
        for m in range(p_members.shape[1]):
            j = p_members[p, m]
            if j >= 0 and not seen[j]:
                seen[j] = True
                if alive[j]:
                    count += 1
    return count


@njit(cache=True)
def consortium_means(values, members, size, k):
    """Mean of ``values`` (float64) over the members of each of the first ``k`` consortia.

    Equal to ``values[members[i, :size[i]]].mean()`` for each ``i`` (NumPy's summation order).
    """
    out = np.empty(k)
    buf = np.empty(members.shape[1])
    for i in range(k):
        s = size[i]
        for m in range(s):
            buf[m] = values[members[i, m]]
        out[i] = pairwise_sum(buf, 0, s) / s
    return out


@njit(cache=True)
def add_to_members(target, members, size, rows, delta):
    """``target[members[i, :size[i]]] += delta`` for each consortium ``i`` of ``rows``, in order
    (the members of one consortium are distinct)."""
    for i in rows:
        for m in range(size[i]):
            target[members[i, m]] += delta


@njit(cache=True)
def set_members(target, members, size, rows, values):
    """``target[members[i, :size[i]]] = values[i]`` for each consortium ``i`` of ``rows``, in
    order (a later consortium overwrites an earlier one)."""
    for i in rows:
        for m in range(size[i]):
            target[members[i, m]] = values[i]


@njit(cache=True)
def store_projects(slots, step, duration_min, duration_max, rng, cluster, pole, call, members,
                   size, match, foreign, cross, has_rd, has_training,
                   p_active, p_start, p_end, p_cluster, p_pole, p_call, p_size, p_members,
                   p_match, p_has_rd, p_has_training, p_foreign, p_cross, p_fund_rd,
                   p_fund_training, p_fund_investment):
    """Write consortium ``i`` (row ``i`` of the kernel buffers) into project slot ``slots[i]``,
    starting at ``step`` for a duration drawn uniformly in ``duration_min .. duration_max``
    steps (one draw of ``rng`` per project, in row order), unfunded, members ``-1`` padded."""
    width = members.shape[1]
    spread = duration_max - duration_min + 1
    for i in range(slots.shape[0]):
        s = slots[i]
        p_active[s] = True
        p_start[s] = step
        p_end[s] = step + duration_min + randbelow(rng, spread)
        p_cluster[s] = cluster[i]
        p_pole[s] = pole[i]
        p_call[s] = call
        p_size[s] = size[i]
        for m in range(width):
            p_members[s, m] = members[i, m]
        for m in range(width, p_members.shape[1]):
            p_members[s, m] = -1
        p_match[s] = match[i]
        p_has_rd[s] = has_rd[i]
        p_has_training[s] = has_training[i]
        p_foreign[s] = foreign[i]
        p_cross[s] = cross[i]
        p_fund_rd[s] = 0.0
        p_fund_training[s] = 0.0
        p_fund_investment[s] = 0.0


@njit(cache=True)
def membership_census(n, alive, atype, sector, cluster, cl_sectors):
    """For each cluster, in one pass: its members by actor type (int64, ``(C, 5)``, as
    :func:`cluster_counts`) and the living companies of the sectors it recruits in (int64,
    ``(C,)``); ``cl_sectors`` is the bool (C, S) matrix of the clusters' sectors."""
    n_c, n_s = cl_sectors.shape
    members = np.zeros((n_c, 5), np.int64)
    per_sector = np.zeros(n_s, np.int64)
    for i in range(n):
        c = cluster[i]
        if c >= 0:
            members[c, atype[i]] += 1
        if alive[i] and atype[i] <= 1:
            per_sector[sector[i]] += 1
    recruitable = np.zeros(n_c, np.int64)
    for c in range(n_c):
        for s in range(n_s):
            if cl_sectors[c, s]:
                recruitable[c] += per_sector[s]
    return members, recruitable


@njit(cache=True)
def unit_profiles(centroids, sector, spread, noise):
    """Unit non-negative technology profiles (float32, ``noise.shape``):
    ``raw = |centroids[sector] + spread * noise|`` divided by its Euclidean norm (rows of
    norm 0 are left as they are).  The same as the NumPy expression of
    :func:`sim.world.scatter` (the squares summed in NumPy's order)."""
    k, d = noise.shape
    out = np.empty((k, d), np.float32)
    raw = np.empty(d)
    sq = np.empty(d)
    for i in range(k):
        c = sector[i]
        for j in range(d):
            v = abs(centroids[c, j] + spread * noise[i, j])
            raw[j] = v
            sq[j] = v * v
        norm = np.sqrt(pairwise_sum(sq, 0, d))
        if norm == 0.0:
            norm = 1.0
        for j in range(d):
            out[i, j] = raw[j] / norm
    return out


@njit(cache=True)
def involvement_counts(n, atype, cluster, last_project, since):
    """Per cluster (int64, ``(C, 3)``): members, member companies, and member companies that
    started a project at or after step ``since[c]``."""
    out = np.zeros((since.shape[0], 3), np.int64)
    for i in range(n):
        c = cluster[i]
        if c < 0:
            continue
        out[c, 0] += 1
        if atype[i] <= 1:
            out[c, 1] += 1
            if last_project[i] >= since[c]:
                out[c, 2] += 1
    return out


@njit(cache=True)
def year_values(n, alive, atype, cluster, pole, employment, value_added, exporter,
                export_intensity, cl_status, cl_status_step, t, cohort, n_cohorts, flows,
                launched, launched_members, agreements, animation_subsidy, fees, effort,
                p_active, p_call, p_cluster, p_pole, p_members, po_status, calls, proposals,
                labelled, funded, cons_size, cons_foreign, cons_types, funding, remaining,
                counts, tender_subsidy):
    """The values of one year's indicator rows (float64), in the order of
    :func:`sim.indicators.year_layout` (see :func:`sim.indicators.record_year`).

    ``cohort[c]`` is the index of cluster ``c``'s launch year among the ``n_cohorts`` sorted
    launch years; ``calls`` the calls held this year; ``counts`` (int64) the yearly counters
    clusters created, dropped, absorbed, partnerships launched since the start, projects
    completed, succeeded, innovations, new enterprises out of partnerships, research and pole
    assets, entries, exits, cross-cluster and foreign partnerships launched, agreements
    signed.  Float sums are NumPy's (``0.0 +`` the pairwise sum, as ``ndarray.sum``).
    """
    n_c = cl_status.shape[0]
    n_p = po_status.shape[0]
    n_k = calls.shape[0]
    by_ct, pm, fabric = indicator_census(n, alive, atype, cluster, pole, employment,
                                         value_added, exporter, export_intensity, n_c, n_p)
    out = np.empty(75 + 10 * n_c + 2 * n_cohorts + 5 * n_p + 11 * n_k)
    j = 0
    v = 0
    for c in range(n_c):
        if cl_status[c] == ACTIVE_CLUSTER:
            v += 1
    out[j] = v
    out[j + 1] = counts[0]
    out[j + 2] = counts[1]
    j += 3
    for c in range(n_c):
        out[j] = 1.0 if cl_status[c] == DROPPED_CLUSTER and cl_status_step[c] > t - 4 else 0.0
        j += 1
    out[j] = counts[2]
    j += 1
    by_cluster = np.zeros(n_c, np.int64)
    ent_cluster = np.zeros(n_c, np.int64)
    by_type = np.zeros(5, np.int64)
    for c in range(n_c):
        for ty in range(5):
            by_cluster[c] += by_ct[c, ty]
            by_type[ty] += by_ct[c, ty]
        ent_cluster[c] = by_ct[c, 0] + by_ct[c, 1]
    ent = by_type[0] + by_type[1]
    total = by_cluster.sum()
    out[j] = total
    j += 1
    for c in range(n_c):
        out[j + c] = by_cluster[c]
    j += n_c
    for ty in range(5):
        out[j + ty] = by_type[ty]
    j += 5
    out[j] = ent
    j += 1
    for c in range(n_c):
        out[j + c] = ent_cluster[c]
    j += n_c
    for y in range(n_cohorts):
        tot_y = 0
        ent_y = 0
        for c in range(n_c):
            if cohort[c] == y:
                tot_y += by_cluster[c]
                ent_y += ent_cluster[c]
        out[j + y] = tot_y
        out[j + n_cohorts + y] = ent_y
    j += 2 * n_cohorts
    out[j] = ent / total if total else 0.0
    out[j + 1] = by_type[2] + by_type[3]
    j += 2
    for col in range(2):
        s = 0
        for c in range(n_c):
            s += flows[c, col]
            out[j + 1 + c] = flows[c, col]
        out[j] = s
        j += 1 + n_c
    # projects under way: cluster partnerships by cluster, pole projects by pole
    pa = np.zeros(n_c, np.int64)
    pp = np.zeros(n_p, np.int64)
    n_pa = 0
    n_pp = 0
    for q in range(p_active.shape[0]):
        if not p_active[q]:
            continue
        if p_call[q] < 0:
            n_pa += 1
            if p_cluster[q] >= 0:
                pa[p_cluster[q]] += 1
        else:
            n_pp += 1
            pp[p_pole[q]] += 1
    out[j] = n_pa
    j += 1
    for c in range(n_c):
        out[j + c] = pa[c]
    j += n_c
    out[j] = n_pp
    j += 1
    for p in range(n_p):
        out[j + p] = pp[p]
    j += n_p
    n_launched = launched.sum()
    out[j] = n_launched
    j += 1
    for c in range(n_c):
        out[j + c] = launched[c]
    j += n_c
    out[j] = counts[3]
    out[j + 1] = involved_actors(p_active, p_call, p_members, alive, n)
    out[j + 2] = launched_members.sum() / n_launched if n_launched else 0.0
    out[j + 3] = counts[4]
    out[j + 4] = counts[5]
    out[j + 5] = counts[6]
    out[j + 6] = counts[7] + counts[8] + counts[9]
    out[j + 7] = counts[7]
    out[j + 8] = counts[8]
    out[j + 9] = counts[10]
    out[j + 10] = counts[11]
    out[j + 11] = fabric[2, 4]
    out[j + 12] = counts[12]
    out[j + 13] = counts[13]
    j += 14
    out[j] = agreements.sum()
    j += 1
    for c in range(n_c):
        out[j + c] = agreements[c]
    j += n_c
    out[j] = counts[14]
    out[j + 1] = 0.0 + pairwise_sum(animation_subsidy, 0, n_c)
    j += 2
    for c in range(n_c):
        out[j + c] = animation_subsidy[c]
    j += n_c
    out[j] = 0.0 + pairwise_sum(fees, 0, n_c)
    j += 1
    fte = np.empty(n_c)
    row = np.empty(effort.shape[1])
    for c in range(n_c):
        for m in range(effort.shape[1]):
            row[m] = effort[c, m]
        fte[c] = 0.0 + pairwise_sum(row, 0, effort.shape[1])
    out[j] = 0.0 + pairwise_sum(fte, 0, n_c)
    j += 1
    for c in range(n_c):
        out[j + c] = fte[c]
    j += n_c
    out[j] = tender_subsidy
    j += 1
    v = 0
    for p in range(n_p):
        if po_status[p] == SELECTED_POLE:
            v += 1
    out[j] = v
    out[j + 1] = pm.sum()
    j += 2
    for p in range(n_p):
        out[j + p] = pm[p]
    j += n_p
    for arr in (proposals, labelled, funded):
        start = j
        j += 1
        s = 0
        for p in range(n_p):
            sp = 0
            for kk in range(n_k):
                sp += arr[p, calls[kk]]
            out[j + p] = sp
            s += sp
        j += n_p
        for kk in range(n_k):
            sk = 0
            for p in range(n_p):
                sk += arr[p, calls[kk]]
            out[j + kk] = sk
        j += n_k
        out[start] = s
    for kk in range(n_k):
        k = calls[kk]
        lab = 0
        for p in range(n_p):
            lab += labelled[p, k]
        out[j] = cons_size[k] / lab if lab else 0.0
        out[j + 1] = cons_foreign[k]
        out[j + 2] = cons_types[k].sum()
        j += 3
        for ty in range(5):
            out[j + ty] = cons_types[k, ty]
        j += 5
    for ty in range(5):
        s = 0
        for kk in range(n_k):
            s += cons_types[calls[kk], ty]
        out[j + ty] = s
    j += 5
    for arr in (funding, remaining):
        out[j] = 0.0 + pairwise_sum(arr, 0, 5)
        for i in range(5):
            out[j + 1 + i] = arr[i]
        j += 6
    for g in range(3):
        e = fabric[g, 0]
        va = fabric[g, 1]
        out[j] = e
        out[j + 1] = va
        out[j + 2] = va / e if e else 0.0
        out[j + 3] = fabric[g, 2]
        out[j + 4] = fabric[g, 3] / fabric[g, 4] if fabric[g, 4] else 0.0
        j += 5
    assert j == out.shape[0]
    return out


@njit(cache=True)
def animation_budget(n_sme, n_large, active, launch_step, t, taper_per_year, taper_floor,
                     subsidy_eur, cost_eur, fee_cap_sme, fee_cap_large, shares,
                     year_subsidy, year_fees, subsidy, fee_sme, fee_large, effort):
    """The clusters' animation budget this quarter (see :func:`sim.policy.fund_animation`),
    from their member SMEs and large firms (``n_sme``, ``n_large``: the census of
    :func:`membership_inputs`): writes the subsidy rate (EUR/year), the SME and large-firm fees
    and the effort by task (``(C, len(shares))``) of every cluster into ``subsidy``,
    ``fee_sme``, ``fee_large`` and ``effort``; adds a quarter of the subsidy and of the fees to
    the yearly counters ``year_subsidy`` and ``year_fees``.  The same operations, in the same
    order, as the NumPy expressions they replace."""
    n_c = active.shape[0]
    for c in range(n_c):
        if taper_per_year > 0:
            years = (t - launch_step[c]) // 4
            if years < 0:
                years = 0
            rate = 1.0 - taper_per_year * years
            if rate < taper_floor:
                rate = taper_floor
        else:
            rate = 1.0
        s = rate * subsidy_eur if active[c] else 0.0
        need = cost_eur - s
        if need < 0.0:
            need = 0.0
        units = n_sme[c] + 4.0 * n_large[c]
        per_unit = need / max(units, 1.0) if units > 0 else 0.0
        if s > 0:
            fs = min(fee_cap_sme, per_unit)
            fl = min(fee_cap_large, 4.0 * per_unit)
        else:
            fs = 0.0
            fl = 0.0
        fees = n_sme[c] * fs + n_large[c] * fl
        fte = (s + fees) / cost_eur if s > 0 else 0.0
        for task in range(shares.shape[0]):
            effort[c, task] = fte * shares[task]
        subsidy[c] = s
        fee_sme[c] = fs
        fee_large[c] = fl
        year_subsidy[c] += s / 4.0
        year_fees[c] += fees / 4.0


@njit(cache=True)
def membership_inputs(n, alive, atype, sector, cluster, cl_sectors, launched_recent, members,
                      pull, activity, n_sme, n_large):
    """Per cluster, from one pass of :func:`membership_census`, written into the arrays of
    length C given: its members (int64), its pull (member companies over the living companies
    of its sectors, at least 1), its activity (members involved in the launches of the last
    four quarters per member, at least 1), and its member SMEs and large firms (int64, what the
    animation budget reads)."""
    by_type, potential = membership_census(n, alive, atype, sector, cluster, cl_sectors)
    n_c = by_type.shape[0]
    for c in range(n_c):
        n_sme[c] = by_type[c, 0]
        n_large[c] = by_type[c, 1]
        members[c] = 0
        for ty in range(5):
            members[c] += by_type[c, ty]
        pull[c] = (by_type[c, 0] + by_type[c, 1]) / max(potential[c], 1)
        involved = 0
        for q in range(launched_recent.shape[1]):
            involved += launched_recent[c, q]
        activity[c] = involved / max(members[c], 1)


@njit(cache=True)
def agreement_draws(u, promotion, status, rate, factor):
    """The clusters (int64, in order) that sign an agreement this quarter: active ones with
    ``u[c] < min(rate * promotion[c] * factor, 1)``."""
    out = np.empty(u.shape[0], np.int64)
    k = 0
    for c in range(u.shape[0]):
        p = rate * promotion[c] * factor
        if p > 1.0:
            p = 1.0
        if status[c] != ACTIVE_CLUSTER:
            p = 0.0
        if u[c] < p:
            out[k] = c
            k += 1
    return out[:k]


@njit(cache=True)
def pole_counts(n, pole, n_poles):
    """Actors (rows ``< n``) per pole (int64); exited actors have no pole."""
    out = np.zeros(n_poles, np.int64)
    for i in range(n):
        if pole[i] >= 0:
            out[pole[i]] += 1
    return out


@njit(cache=True)
def fund_proposals(order, labelled, rd_req, tr_req, inv_req, envelope, funded, grants):
    """The jury's funding in rank ``order``: a labelled proposal is funded when its R&D request
    fits what is left of ``envelope[0]``; its training and investment requests (when positive)
    are granted when they fit ``envelope[1]`` and ``envelope[2]``.  Updates ``envelope``,
    ``funded`` and ``grants`` (``(k, 3)``) in place."""
    for i in order:
        if not labelled[i] or rd_req[i] > envelope[0]:
            continue
        funded[i] = True
        grants[i, 0] = rd_req[i]
        envelope[0] -= rd_req[i]
        req = tr_req[i]
        if 0 < req <= envelope[1]:
            grants[i, 1] = req
            envelope[1] -= req
        req = inv_req[i]
        if 0 < req <= envelope[2]:
            grants[i, 2] = req
            envelope[2] -= req


@njit(cache=True)
def founder_candidates(n, alive, atype, cluster, sector, in_sectors, capability):
    """The living companies of no cluster whose sector is in ``in_sectors`` (bool by sector):
    their indices (int64, in order) and weights (capability, doubled for a large firm)."""
    cand = np.empty(n, np.int64)
    weight = np.empty(n)
    k = 0
    for i in range(n):
        if alive[i] and atype[i] <= 1 and cluster[i] < 0 and in_sectors[sector[i]]:
            cand[k] = i
            weight[k] = capability[i] * (2.0 if atype[i] == 1 else 1.0)
            k += 1
    return cand[:k], weight[:k]


@njit(cache=True)
def pole_groups(n, alive, atype, sector, sector_pole, selected):
    """The selected pole of each actor row ``< n`` by its sector (int32, ``-1`` when dead or
    none) and the rows that can initiate a proposal (int32: companies, universities and
    research centres of a selected pole)."""
    group = np.empty(n, np.int32)
    initiators = np.empty(n, np.int32)
    k = 0
    for i in range(n):
        g = sector_pole[sector[i]] if alive[i] else -1
        if g < 0 or not selected[g]:
            g = -1
        group[i] = g
        if g >= 0 and atype[i] <= 3:
            initiators[k] = i
            k += 1
    return group, initiators[:k]


@njit(cache=True)
def tally_launches(k, group, size, foreign, cross, launched, launched_members, recent, col):
    """Book ``k`` consortia of the clusters' partnership step: per cluster, launches and members
    involved are added to ``launched`` and ``launched_members`` and the members involved this
    quarter written to ``recent[:, col]``; returns (cross-cluster, with a foreign partner).
    The counts ``np.bincount`` gave, without its calls."""
    involved = np.zeros(launched.shape[0], np.int64)
    n_cross = 0
    n_foreign = 0
    for r in range(k):
        g = group[r]
        launched[g] += 1
        involved[g] += size[r]
        n_cross += cross[r] != 0
        n_foreign += foreign[r] > 0
    for g in range(launched.shape[0]):
        launched_members[g] += involved[g]
        recent[g, col] = involved[g]
    return n_cross, n_foreign


@njit(cache=True)
def commit_partnerships(k, step, duration_min, duration_max, rng, members, size, match, group,
                        foreign, cross, has_rd, has_training, free, n_free,
                        p_active, p_start, p_end, p_cluster, p_pole, p_call, p_size, p_members,
                        p_match, p_has_rd, p_has_training, p_foreign, p_cross, p_fund_rd,
                        p_fund_training, p_fund_investment, launched, launched_members, recent,
                        col):
    """Store the clusters' ``k`` new partnerships (the partnership kernel's buffers) as projects
    and book them, in one call: the slots are popped from the top of the free-list stack
    (``free[:n_free]``, the top first, as :meth:`sim.state.Projects.take`; the caller has
    reserved them and lowers its ``n_free`` by ``k``), written by :func:`store_projects` with
    no pole and no call, and tallied per cluster by :func:`tally_launches` (whose counts it
    returns)."""
    slots = np.empty(k, np.int32)
    for q in range(k):
        slots[q] = free[n_free - 1 - q]
    no_pole = np.full(k, -1, np.int16)
    store_projects(slots, step, duration_min, duration_max, rng, group, no_pole, -1, members,
                   size, match, foreign, cross, has_rd, has_training,
                   p_active, p_start, p_end, p_cluster, p_pole, p_call, p_size, p_members,
                   p_match, p_has_rd, p_has_training, p_foreign, p_cross, p_fund_rd,
                   p_fund_training, p_fund_investment)
    return tally_launches(k, group, size, foreign, cross, launched, launched_members, recent,
                          col)
