"""The floor of the partnership step: its unavoidable memory traffic, arithmetic and draws.

The issue's second benchmark compares the project's partnership step with "a floor measured on
the same machine in the same run".  The floor here does, for the work the real step did (its
work counters, :func:`sim.kernels.consortia.form_consortia` with ``work``), the least that any
implementation of the rule must do, with no decision logic:

* one streaming pass over the actors' cluster, type and alive flag (the members of each cluster
  change every quarter, so some pass over the population is needed to find the candidates);
* the initiation draws: one uniform per pool position visited by the geometric skipping
  (``len(pool) * p_max``, with ``p_max`` the largest initiation probability; every position
  from ``DENSE_INITIATION`` on, where the kernel draws one uniform per position), and per initiator
  drawn one draw (its place in the random order) and its own row (alive, load, capacity);
* per initiator that searched: one draw for the target size;
* per tie slot read: the slot, and the partner's alive, load and capacity;
* per random candidate: two draws (source, position), the gather of its index from the cluster's
  list, its alive, load and capacity, and one draw for discovery;
* per match: the partner's knowledge row, type, stage and province, the dot product, the
  vertical bump's ``exp``, the initiator's tie slots for trust, and the taste draw;
* per committed member: one write.

Counts are spread evenly over the initiators (each gets the floor or ceiling of the mean).
Candidates are drawn from the same cluster lists over the same memory layout as the real step,
with the same xoshiro256** generator, so the floor sees the same caches.  It is a lower bound
by construction (it omits the rejection branches, the duplicate checks, the consortium records),
not a competing implementation: it is not the rule.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.rng import randbelow, uniform


@njit(cache=True)
def index_pass(group_of, atype, alive):
    """The streaming read of the population that finding each cluster's members needs."""
    acc = 0
    for i in range(group_of.shape[0]):
        if alive[i] and group_of[i] >= 0:
            acc += atype[i] <= 1
    return acc


@njit(cache=True)
def floor_step(work, visits, pool, pool_group, co_ptr, co_idx, alive, atype, load, capacity, stage,
               province, knowledge, tie_partner, tie_trust, scratch, rng):
    """The step's gathers, arithmetic and draws for ``work`` = (initiators drawn,
    initiators that searched, tie slots, random candidates, matches, committed members);
    returns a checksum (so nothing is optimised away)."""
    acc = 0.0
    for _ in range(visits):
        acc += uniform(rng)
    if work[0] == 0 or pool.shape[0] == 0:
        return acc
    n_skip = work[0] - work[1]  # drawn, but busy by their turn
    for _ in range(n_skip):
        i = pool[randbelow(rng, pool.shape[0])]
        acc += alive[i] + load[i] + capacity[i]
    n_init = work[1]
    n_ties = tie_partner.shape[1]
    seen = np.empty(n_ties + 64, np.int64)
    for t in range(n_init):
        k_tie = (work[2] * (t + 1)) // n_init - (work[2] * t) // n_init
        k_rand = (work[3] * (t + 1)) // n_init - (work[3] * t) // n_init
        k_match = (work[4] * (t + 1)) // n_init - (work[4] * t) // n_init
        k_commit = (work[5] * (t + 1)) // n_init - (work[5] * t) // n_init
        p = randbelow(rng, pool.shape[0])
        i = pool[p]
        g = pool_group[p]
        acc += alive[i] + load[i] + capacity[i] + uniform(rng)
        n_seen = 0
        for q in range(k_tie):
            j = tie_partner[i, q % n_ties]
            if j >= 0:
                acc += alive[j] + load[j] + capacity[j]
                seen[n_seen] = j
                n_seen += 1
        lo = co_ptr[g]
        hi = co_ptr[g + 1]
        for _ in range(k_rand):
            acc += uniform(rng)
            j = co_idx[lo + randbelow(rng, hi - lo)]
            acc += alive[j] + load[j] + capacity[j] + uniform(rng)
            if n_seen < seen.shape[0]:
                seen[n_seen] = j
                n_seen += 1
        for q in range(k_match):
            j = seen[q % n_seen] if n_seen > 0 else co_idx[lo + randbelow(rng, hi - lo)]
            s = 0.0
            for d in range(knowledge.shape[1]):
                s += knowledge[i, d] * knowledge[j, d]
            z = (abs(stage[i] - stage[j]) - 0.35) / 0.2
            trust = 0.0
            for m in range(n_ties):
                if tie_partner[i, m] == j:
                    trust = tie_trust[i, m]
            acc += 4.0 * s * (1.0 - s) + np.exp(-z * z) + trust + uniform(rng)
            acc += atype[j] + (province[i] == province[j])
        for q in range(k_commit):
            j = seen[q % n_seen] if n_seen > 0 else i
            scratch[j] = t
    return acc


def initiation_visits(n_pool: int, group_rate: np.ndarray, sector_coop: np.ndarray) -> int:
    """Pool positions the initiation draws visit (cluster mode): ``n_pool * p_max`` by geometric
    skipping, ``n_pool`` from ``DENSE_INITIATION`` on (one draw per position)."""
    from sim.kernels.consortia import DENSE_INITIATION

    p_max = min(1.0, float(group_rate.max(initial=0.0)) * float(sector_coop.max(initial=0.0)))
    return n_pool if p_max >= DENSE_INITIATION else round(n_pool * p_max)


class Floor:
    """The floor of one :class:`benchmarks.mesa_reference.KernelPartnering` step.

    ``work`` is the kernel's counters from one step of the same world; :meth:`step` repeats the
    floor's traffic for that work on the kernel's own arrays (nothing of the state is changed
    except a scratch array).  ``read_pass=False`` leaves out the pass over the population, as
    is due for a step whose member index is kept up to date across steps
    (``benchmarks/bench_index.py``).
    """

    def __init__(self, kernel, work: np.ndarray, seed: int = 3, *, read_pass: bool = True) -> None:
        from benchmarks.mesa_reference import cluster_probabilities
        from sim.kernels.groups import member_index
        from sim.kernels.rng import new_state

        self.k = kernel
        self.work = work.copy()
        co_ptr, co_idx, _nc_ptr, _nc_idx, _ = member_index(kernel.cluster[: kernel.n],
                                                        kernel.atype, kernel.alive,
                                                        kernel.world.n_clusters)
        pool_group = np.repeat(np.arange(len(co_ptr) - 1, dtype=np.int32), np.diff(co_ptr))
        self.co_ptr, self.co_idx, self.pool_group = co_ptr, co_idx, pool_group
        rate = cluster_probabilities(kernel.world)[0]
        self.visits = initiation_visits(len(co_idx), rate, kernel.sector_coop)
        self.scratch = np.zeros(kernel.n, np.int64)
        self.rng = new_state(np.random.SeedSequence(seed))
        self.read_pass = read_pass

    def step(self) -> float:
        k = self.k
        if self.read_pass:
            index_pass(k.cluster, k.atype, k.alive)
        return floor_step(self.work, self.visits, self.co_idx, self.pool_group, self.co_ptr,
                          self.co_idx, k.alive, k.atype, k.load, k.capacity, k.stage,
                          k.province, k.knowledge, k.tie_partner, k.tie_trust, self.scratch,
                          self.rng)
