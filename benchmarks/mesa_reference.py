"""Pure-Mesa reference of the partnership-formation rule: a speed baseline and a docking oracle.

This is the rule of :func:`sim.kernels.consortia.form_consortia` in cluster mode
(``use_coop=True``, ``require_mix=False``, groups = clusters), written the way a Mesa user would
write it: one :class:`Firm` (``mesa.Agent``) per actor holding its attributes as Python values
(knowledge as a list of floats, ties as a ``dict`` partner -> trust), and a :class:`RefModel`
(``mesa.Model``) whose ``step()`` activates the initiators with ``AgentSet.shuffle_do("step")``.

The reference draws from the model's own ``self.random`` (stdlib ``random.Random``, Mesa's
convention) instead of the kernel's xoshiro stream, so it is *not* draw-for-draw identical to the
kernel: it is an oracle for the distribution of outcomes (``tests/test_benchmark_reference.py``)
and the baseline of the speed ratio (``benchmarks/bench_partnering.py``).  Its constants (taste
shock, vertical bump) are written out here on purpose rather than imported from the kernel, so a
change of the kernel's rule shows up as a docking failure.

:func:`make_world` draws one synthetic population as arrays (N actors in 12 clusters, 8 knowledge
dimensions, a share of universities / research / training centres, random trust ties);
:class:`RefModel` and :class:`KernelPartnering` are both built from it, so both implement the same
world.  :func:`build_pair` does all three in one call.

Rule (docs/ODD.md, "Partnership formation"), per initiator visited in random order:

1. skip unless alive with spare capacity; initiate with probability
   ``rate[c] * sector_coop[sector]``; target size 2, +1 with probability ``grow_prob`` each time,
   up to ``max_size``;
2. remembered partners first (tie order), then ``K`` random candidates: with probability
   ``nc_prob`` a non-company member of its cluster, with probability ``cross[c]`` a company of
   another active cluster drawn uniformly, else a company of its own cluster; a random candidate
   is known with probability ``discovery[c]``;
3. a candidate with spare capacity accepts when ``match + U(-0.25, 0.25) > threshold`` with
   ``match = w_h 4s(1-s) + w_v exp(-((|dstage| - 0.35) / 0.2)^2) + w_t trust + w_p same_province``
   (the vertical term is 0.5 unless both are companies); the initiator stops at the target size or
   once ``max_refusals`` candidates have refused;
4. two or more members commit: loads rise by one, a foreign partner joins with probability
   ``foreign[c]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from operator import mul
from typing import NamedTuple

import mesa
import numpy as np
from mesa.agent import AgentSet

from sim.indicators.ledger import Ledger
from sim.kernels.consortia import Consortia
from sim.kernels.groups import member_index
from sim.kernels.rng import new_state
from sim.processes.partnering import (
    RATES,
    RULE,
    cluster_partnering,
    partner_groups,
    tally_launches,
)
from sim.state.actors import Actors
from sim.state.codes import KNOW, MAPPING, N_TASKS, PARTNERSHIPS
from sim.state.institutions import CLUSTER_FIELDS, _clusters_view
from sim.world import SECTOR

# actor types (sim.state.codes), restated: companies are SME and LARGE
SME, LARGE, UNIVERSITY, RESEARCH_CENTRE, TRAINING_CENTRE = 0, 1, 2, 3, 4
TIES = 8  # tie slots per actor (sim.state.codes.TIES)

# the rule's fixed constants, restated independently of the kernel
TASTE_HALF_WIDTH = 0.25
VERTICAL_PEAK = 0.35
VERTICAL_WIDTH = 0.2


@dataclass(frozen=True, kw_only=True)
class RuleParams:
    """Parameters of the rule; defaults are the scenario schema's (``sim.scenario.Partnering``).

    ``initiate_rate`` is the exception: the calibrated 0.006 per quarter leaves almost every
    initiator idle, so the benchmark's default exercises the search itself (every member with
    spare capacity initiates with probability ``0.5 * (1 + effort) * sector_coop``).
    """

    initiate_rate: float = 0.5
    initiate_promotion: float = 1.0
    candidates: int = 10
    discovery_base: float = 0.35
    discovery_effort: float = 1.5
    cross_cluster_prob: float = 0.12
    rd_candidate_prob: float = 0.15
    foreign_prob: float = 0.03
    w_horizontal: float = 1.0
    w_vertical: float = 0.8
    w_trust: float = 1.0
    w_proximity: float = 0.3
    accept_threshold: float = 0.6
    max_refusals: int = 4
    max_consortium: int = 6
    consortium_growth: float = 0.65
    outside_rate: float = 1.0


@dataclass
class World:
    """A synthetic population as the model's arrays (same dtypes as
    :class:`sim.state.actors.Actors`)."""

    n: int
    n_clusters: int
    params: RuleParams
    alive: np.ndarray  # bool (n,)
    atype: np.ndarray  # int8 (n,)
    sector: np.ndarray  # int16 (n,)
    province: np.ndarray  # int8 (n,)
    cluster: np.ndarray  # int16 (n,), all >= 0 here
    load: np.ndarray  # int16 (n,)
    capacity: np.ndarray  # int16 (n,)
    knowledge: np.ndarray  # float32 (n, D), unit norm, non-negative
    stage: np.ndarray  # float32 (n,)
    tie_partner: np.ndarray  # int32 (n, TIES), -1 empty
    tie_trust: np.ndarray  # float32 (n, TIES)
    sector_coop: np.ndarray  # float64 (S,)
    active: np.ndarray  # bool (C,)
    effort_partnerships: np.ndarray  # float64 (C,) animator efforts (Clusters.effort's columns)
    effort_know: np.ndarray  # float64 (C,)
    effort_mapping: np.ndarray  # float64 (C,)
    agreements: np.ndarray  # int64 (C,) active intercluster agreements
    seed: int = 0
    extra: dict = field(default_factory=dict)


def cluster_probabilities(w: World) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-cluster initiation, discovery, cross-cluster and foreign probabilities.

    Same formulas as :func:`sim.processes.partnering.cluster_probabilities`.
    """
    p = w.params
    rate = np.where(w.active, p.initiate_rate * (1.0 + p.initiate_promotion
                                                 * w.effort_partnerships), 0.0)
    discovery = 1.0 - (1.0 - p.discovery_base) * np.exp(-p.discovery_effort * w.effort_know)
    cross = np.minimum(1.0, p.cross_cluster_prob * (1.0 + w.effort_mapping))
    foreign = np.minimum(1.0, p.foreign_prob * (1.0 + w.agreements))
    return rate, discovery, cross, foreign


def make_world(
    n: int,
    seed: int = 0,
    *,
    n_clusters: int = 12,
    dims: int = 8,
    n_sectors: int = 10,
    n_provinces: int = 5,
    non_company_share: float = 0.1,
    large_share: float = 0.15,
    busy_share: float = 0.2,
    tie_prob: float = 0.3,
    inactive: int = 0,
    capacity_scale: int = 1,
    params: RuleParams | None = None,
    **param_overrides,
) -> World:
    """Draw a synthetic population of ``n`` actors, every one a member of one of the clusters.

    Companies are SMEs (capacity 1) and large firms (capacity 3); a ``non_company_share`` of the
    actors are universities, research and training centres (capacity 4).  Cluster sizes are
    uneven and actors are *not* stored contiguously by cluster (the model's layout: rows in order
    of creation).  Knowledge profiles mix a cluster centroid with sparse idiosyncratic gamma noise,
    so cosines spread over (0, 1).  Each tie slot is filled with probability ``tie_prob`` (80 % of
    them inside the cluster), trust uniform in [0.05, 1).  ``busy_share`` is the chance each unit
    of capacity starts occupied.  The last ``inactive`` clusters are inactive (rate 0, closed to
    cross-cluster search).  ``capacity_scale`` multiplies every capacity (a large value makes
    capacity non-binding, so every initiator runs its whole search).  ``param_overrides`` replace
    fields of ``params``.
    """
    params = replace(params or RuleParams(), **param_overrides)
    rng = np.random.default_rng(seed)
    C = n_clusters
    weights = rng.uniform(0.5, 1.5, C)
    cluster = rng.choice(C, size=n, p=weights / weights.sum()).astype(np.int16)

    is_nc = rng.random(n) < non_company_share
    atype = np.where(rng.random(n) < large_share, LARGE, SME).astype(np.int8)
    atype[is_nc] = rng.integers(UNIVERSITY, TRAINING_CENTRE + 1, is_nc.sum())
    capacity = (capacity_scale
                * np.select([atype == SME, atype == LARGE], [1, 3], 4)).astype(np.int16)
    load = rng.binomial(capacity, busy_share).astype(np.int16)

    sector = rng.integers(0, n_sectors, n).astype(np.int16)
    home = rng.integers(0, n_provinces, C)
    province = np.where(rng.random(n) < 0.5, home[cluster],
                        rng.integers(0, n_provinces, n)).astype(np.int8)
    stage = rng.random(n).astype(np.float32)
    stage[is_nc] = 0.5

    centroid = rng.gamma(0.7, size=(C, dims))
    k = 0.6 * centroid[cluster] + rng.gamma(0.25, size=(n, dims))
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    knowledge = k.astype(np.float32)

    # ties: 80 % to a random member of the own cluster, else to anyone; no self, no duplicates
    order = np.argsort(cluster, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(cluster, minlength=C))])
    size = ptr[1:] - ptr[:-1]
    own = order[ptr[cluster][:, None] + (rng.random((n, TIES)) * size[cluster][:, None]).astype(int)]
    anyone = rng.integers(0, n, (n, TIES))
    partner = np.where(rng.random((n, TIES)) < 0.8, own, anyone)
    partner[rng.random((n, TIES)) >= tie_prob] = -1
    partner[partner == np.arange(n)[:, None]] = -1
    for m in range(1, TIES):
        dup = (partner[:, :m] == partner[:, m:m + 1]).any(axis=1)
        partner[dup & (partner[:, m] >= 0), m] = -1
    trust = np.where(partner >= 0, rng.uniform(0.05, 1.0, (n, TIES)), 0.0).astype(np.float32)

    active = np.ones(C, np.bool_)
    if inactive:
        active[C - inactive:] = False
    return World(
        n=n, n_clusters=C, params=params, alive=np.ones(n, np.bool_), atype=atype,
        sector=sector, province=province, cluster=cluster, load=load, capacity=capacity,
        knowledge=knowledge, stage=stage, tie_partner=partner.astype(np.int32), tie_trust=trust,
        sector_coop=rng.uniform(0.5, 1.0, n_sectors), active=active,
        effort_partnerships=rng.uniform(0.0, 1.0, C), effort_know=rng.uniform(0.0, 1.0, C),
        effort_mapping=rng.uniform(0.0, 1.0, C), agreements=rng.integers(0, 3, C),
        seed=seed,
    )


# --------------------------------------------------------------------------------------------
# The pure-Mesa reference
# --------------------------------------------------------------------------------------------


class Consortium(NamedTuple):
    """One committed consortium: member indices (initiator first), lead cluster, mean match."""

    members: tuple[int, ...]
    cluster: int
    match: float
    foreign: bool
    cross: bool


class Firm(mesa.Agent):
    """An actor (company, university, research or training centre) with its own Python state."""

    def __init__(self, model: RefModel, index: int, *, atype: int, sector: int, province: int,
                 cluster: int, stage: float, knowledge: list[float], load: int,
                 capacity: int, alive: bool = True) -> None:
        super().__init__(model)
        self.index = index
        self.atype = atype
        self.sector = sector
        self.province = province
        self.cluster = cluster
        self.stage = stage
        self.knowledge = knowledge
        self.load = load
        self.capacity = capacity
        self.alive = alive
        self.ties: dict[Firm, float] = {}  # remembered partner -> trust, in slot order
        self.last_project = -1

    @property
    def is_company(self) -> bool:
        return self.atype <= LARGE

    def match(self, other: Firm) -> float:
        """Match of this initiator with a candidate."""
        m = self.model
        s = sum(map(mul, self.knowledge, other.knowledge))
        s = min(1.0, max(0.0, s))
        horizontal = 4.0 * s * (1.0 - s)
        if self.atype <= LARGE and other.atype <= LARGE:
            z = (abs(self.stage - other.stage) - VERTICAL_PEAK) / VERTICAL_WIDTH
            vertical = math.exp(-z * z)
        else:
            vertical = 0.5
        trust = self.ties.get(other, 0.0)
        prox = 1.0 if self.province == other.province else 0.0
        return m.w_h * horizontal + m.w_v * vertical + m.w_t * trust + m.w_p * prox

    def accepts(self, other: Firm) -> tuple[bool, float]:
        """The candidate's answer (with its taste shock) and the match."""
        score = self.match(other)
        shock = TASTE_HALF_WIDTH * (2.0 * self.model.random.random() - 1.0)
        return score + shock > self.model.threshold, score

    def step(self) -> None:
        """Maybe initiate a consortium and search partners for it."""
        if not self.alive or self.load >= self.capacity:
            return
        m = self.model
        rand = m.random.random
        c = self.cluster
        c = m.group_of(self)  # its cluster when active, the outside group otherwise
        if rand() >= m.rate[c] * m.sector_coop[self.sector]:
            return
        target = 2
        while target < m.max_size and rand() < m.grow_prob:
            target += 1
        members = [self]
        match_sum = 0.0
        refusals = 0
        # 1. previous partners first
        for other in self.ties:
            if len(members) >= target or refusals >= m.max_refusals:
                break
            if not other.alive or other.load >= other.capacity or other in members:
                continue
            ok, score = self.accepts(other)
            if ok:
                members.append(other)
                match_sum += score
            else:
                refusals += 1
        # 2. random candidates
        for _ in range(m.n_candidates):
            if len(members) >= target or refusals >= m.max_refusals:
                break
            u = rand()
            if u < m.nc_prob:
                pool = m.others_in[c]
            elif u < m.nc_prob + m.cross[c] and len(m.active_clusters) > 1:
                h = m.random.choice([x for x in m.active_clusters if x != c])
                pool = m.companies_in[h]
            else:
                pool = m.companies_in[c]
            if not pool:
                continue
            other = m.random.choice(pool)
            if other is self or not other.alive or other.load >= other.capacity or other in members:
                continue
            if rand() >= m.discovery[c]:
                continue
            ok, score = self.accepts(other)
            if ok:
                members.append(other)
                match_sum += score
            else:
                refusals += 1
        if len(members) < 2:
            return
        for other in members:
            other.load += 1
            other.last_project = m.steps
        m.consortia.append(Consortium(
            members=tuple(o.index for o in members), cluster=c,
            match=match_sum / (len(members) - 1),
            foreign=rand() < m.foreign[c],
            cross=c < m.n_clusters and any(m.group_of(o) not in (c, m.n_clusters)
                                           for o in members),
        ))


class RefModel(mesa.Model):
    """The partnership step of a :class:`World` in plain Mesa."""

    def __init__(self, world: World, seed: int = 0, *, keep_lists: bool = False) -> None:
        super().__init__(rng=seed)  # an int: random.Random(seed) in mesa 3.3 and 3.5
        w, p = world, world.params
        self.n_clusters = w.n_clusters
        self.nc_prob = p.rd_candidate_prob
        self.n_candidates = p.candidates
        self.w_h, self.w_v, self.w_t, self.w_p = (p.w_horizontal, p.w_vertical, p.w_trust,
                                                  p.w_proximity)
        self.threshold = p.accept_threshold
        self.max_refusals = p.max_refusals
        self.max_size = p.max_consortium
        self.grow_prob = p.consortium_growth
        self.sector_coop = w.sector_coop.tolist()
        self.params = p
        self.active = w.active.tolist()
        self.effort_partnerships = w.effort_partnerships.tolist()
        self.effort_know = w.effort_know.tolist()
        self.effort_mapping = w.effort_mapping.tolist()
        self.agreements = w.agreements.tolist()
        self.firms = [
            Firm(self, i, atype=int(w.atype[i]), sector=int(w.sector[i]),
                 province=int(w.province[i]), cluster=int(w.cluster[i]),
                 stage=float(w.stage[i]), knowledge=w.knowledge[i].tolist(),
                 load=int(w.load[i]), capacity=int(w.capacity[i]), alive=bool(w.alive[i]))
            for i in range(w.n)
        ]
        for firm, row, trust in zip(self.firms, w.tie_partner.tolist(), w.tie_trust.tolist(),
                                    strict=True):
            firm.ties = {self.firms[j]: t for j, t in zip(row, trust, strict=True) if j >= 0}
        self.initiators = AgentSet([f for f in self.firms if f.is_company], random=self.random)
        self.consortia: list[Consortium] = []
        # keep_lists: the clusters' member lists are built once and kept (as a Mesa model
        # that updates them on every join and exit would); otherwise every step rebuilds them
        self.keep_lists = keep_lists
        if keep_lists:
            self.update_member_lists()

    def group_of(self, f: Firm) -> int:
        """The firm's partnering group: its cluster when active, the outside group (index
        ``n_clusters``) otherwise."""
        c = f.cluster
        return c if c >= 0 and self.active[c] else self.n_clusters

    def update_member_lists(self) -> None:
        """Living companies and other actors of each group (the clusters, then the outside)."""
        self.companies_in = [[] for _ in range(self.n_clusters + 1)]
        self.others_in = [[] for _ in range(self.n_clusters + 1)]
        for f in self.firms:
            if f.alive:
                (self.companies_in if f.is_company else self.others_in)[self.group_of(f)].append(f)

    def update_clusters(self) -> None:
        """Living members of each cluster (unless kept) and this step's per-cluster
        probabilities."""
        if not self.keep_lists:
            self.update_member_lists()
        self.active_clusters = [c for c in range(self.n_clusters) if self.active[c]]
        p = self.params
        self.rate = [p.initiate_rate * (1.0 + p.initiate_promotion * e) if a else 0.0
                     for a, e in zip(self.active, self.effort_partnerships, strict=True)]
        self.discovery = [1.0 - (1.0 - p.discovery_base) * math.exp(-p.discovery_effort * e)
                          for e in self.effort_know]
        self.cross = [min(1.0, p.cross_cluster_prob * (1.0 + e)) for e in self.effort_mapping]
        self.foreign = [min(1.0, p.foreign_prob * (1.0 + a)) for a in self.agreements]
        # the outside group: the base rates, no animator, no cross-cluster search
        self.rate.append(p.outside_rate * p.initiate_rate)
        self.discovery.append(p.discovery_base)
        self.cross.append(0.0)
        self.foreign.append(min(1.0, p.foreign_prob))

    def step(self) -> None:
        """One partnership step: initiators act once each, in random order."""
        self.update_clusters()
        self.consortia = []
        self.initiators.shuffle_do("step")

    def set_loads(self, loads: list[int]) -> None:
        """Put every firm's load back (to repeat a step from the same state)."""
        for f, load in zip(self.firms, loads, strict=True):
            f.load = load
            f.last_project = -1


# --------------------------------------------------------------------------------------------
# The project's kernel on the same world
# --------------------------------------------------------------------------------------------


class KernelPartnering:
    """What :func:`sim.processes.partnering.partnering` does per step, on a :class:`World`'s
    arrays.

    The world's arrays are copied into the model's own tables (an
    :class:`sim.state.actors.Actors`, the clusters' view, the sectors' table, the rule's
    records from the world's parameters), so a kernel and a reference built from one world
    never share state.  A step reuses cached output buffers (as the model's
    ``Consortia.ensure``) and makes the one compiled call
    :func:`sim.processes.partnering.cluster_partnering` (member index, per-cluster
    probabilities, ``form_consortia`` with the explicit xoshiro256** state), then books
    launches per cluster (:func:`sim.processes.partnering.tally_launches`).
    """

    def __init__(self, world: World, seed: int = 0, *, keep_index: bool = False) -> None:
        w = world
        self.world = w
        self.n = w.n
        a = Actors(w.n, w.knowledge.shape[1])
        for name in ("alive", "atype", "sector", "province", "cluster", "load", "capacity",
                     "knowledge", "stage", "tie_partner", "tie_trust"):
            getattr(a, name)[...] = getattr(w, name)
        a.n = w.n
        self.actors = a
        # the arrays by name, as the floor (benchmarks/floor.py) reads them
        for name in ("alive", "atype", "sector", "province", "cluster", "load", "capacity",
                     "knowledge", "stage", "tie_partner", "tie_trust", "last_project"):
            setattr(self, name, getattr(a, name))
        self.sector_coop = w.sector_coop.copy()
        self.sectors = np.zeros(len(w.sector_coop), SECTOR)
        self.sectors["cooperation"] = w.sector_coop
        effort = np.zeros((w.n_clusters, N_TASKS))
        effort[:, PARTNERSHIPS] = w.effort_partnerships
        effort[:, KNOW] = w.effort_know
        effort[:, MAPPING] = w.effort_mapping
        self.recent = np.zeros((w.n_clusters, 4), np.int64)
        cl = dict(active=w.active.copy(), status=np.zeros(w.n_clusters, np.int8),
                  status_step=np.zeros(w.n_clusters, np.int64),
                  launch_step=np.zeros(w.n_clusters, np.int64),
                  last_eval_step=np.zeros(w.n_clusters, np.int64),
                  sectors=np.zeros((w.n_clusters, 1), np.bool_),
                  sector_clusters=np.full((1, 1), -1, np.int32), effort=effort,
                  subsidy=np.zeros(w.n_clusters), fee_sme=np.zeros(w.n_clusters),
                  fee_large=np.zeros(w.n_clusters), launched_recent=self.recent,
                  pole=np.full(w.n_clusters, -1, np.int64))
        self.clusters = _clusters_view(*(cl[f] for f in CLUSTER_FIELDS))
        self.agreements = w.agreements.copy()
        p = w.params
        self.rates = rule_record(RATES, initiate_rate=p.initiate_rate,
                                 initiate_promotion=p.initiate_promotion,
                                 discovery_base=p.discovery_base,
                                 discovery_effort=p.discovery_effort,
                                 cross_prob=p.cross_cluster_prob, foreign_prob=p.foreign_prob,
                                 outside_rate=p.outside_rate)
        self.rule = rule_record(RULE, nc_prob=p.rd_candidate_prob, w_h=p.w_horizontal,
                                w_v=p.w_vertical, w_t=p.w_trust, w_p=p.w_proximity,
                                threshold=p.accept_threshold, grow_prob=p.consortium_growth,
                                n_candidates=p.candidates, max_refusals=p.max_refusals,
                                max_size=p.max_consortium, use_coop=True, require_mix=False,
                                mark_involvement=True)
        self.rng = new_state(np.random.SeedSequence(seed))
        self.t = 0
        self.k = 0
        self.ledger = Ledger(w.n_clusters, 1, 1)  # launches per cluster, cumulative
        self.launched = self.ledger.launched
        self.launched_members = self.ledger.launched_members
        self.cross = self.foreign = 0
        self.consortia_buffers = Consortia(64, p.max_consortium)
        # keep_index: the clusters' member index is built once and passed to every step (what
        # an index kept up to date across quarters would cost); otherwise every step builds it,
        # as the model does
        self.index = (member_index(partner_groups(self.cluster, w.active, w.n),
                                   self.atype, self.alive, w.n_clusters + 1)
                      if keep_index else None)

    def step(self, work: np.ndarray | None = None) -> int:
        """One partnership step; returns the number of consortia formed.

        ``work`` (int64, (6,)), when given, receives the kernel's work counters
        (see :func:`sim.kernels.consortia.form_consortia`).
        """
        p = self.world.params
        self.t += 1
        rows = 0
        while True:
            self.consortia_buffers = self.consortia_buffers.ensure(rows, p.max_consortium)
            k, group = cluster_partnering(self.actors.view, self.n, self.clusters,
                                          self.agreements, self.sectors, self.rates, self.rule,
                                          self.t, self.rng, self.consortia_buffers.view, work,
                                          self.index)
            if k >= 0:
                break
            rows = -k  # more member companies than buffer rows: grow, call again
        self.k = k
        if k:  # the model's bookings (sim.processes.partnering)
            _, n_cross, n_foreign = tally_launches(k, self.consortia_buffers.view, group,
                                                   self.recent, self.t % 4, self.ledger.view)
            self.cross += n_cross
            self.foreign += n_foreign
        else:
            self.recent[:, self.t % 4] = 0
        return k

    def consortia(self) -> list[Consortium]:
        """The last step's consortia, in the reference's record format."""
        b = self.consortia_buffers
        return [Consortium(members=tuple(int(j) for j in b.members[r, :b.size[r]]),
                           cluster=int(b.group[r]), match=float(b.match[r]),
                           foreign=bool(b.foreign[r]), cross=bool(b.cross[r]))
                for r in range(self.k)]

    def set_loads(self, loads: np.ndarray) -> None:
        """Put every actor's load back (to repeat a step from the same state)."""
        np.copyto(self.load, loads)
        self.last_project.fill(-1)


def rule_record(params, **values) -> np.ndarray:
    """The record of ``params`` (a :class:`sim.state.params.Params`) holding ``values``."""
    rec = np.zeros(1, params.dtype)
    for name in params.names:
        rec[0][name] = values[name]
    return rec


def build_pair(n: int, world_seed: int = 0, *, model_seed: int = 1, kernel_seed: int = 1,
               **world_kw) -> tuple[RefModel, KernelPartnering, World]:
    """One synthetic world and both implementations built from it."""
    world = make_world(n, world_seed, **world_kw)
    return RefModel(world, seed=model_seed), KernelPartnering(world, seed=kernel_seed), world


def summarize(consortia: list[Consortium]) -> dict[str, float]:
    """Count, mean size, mean match and cross / foreign shares of one step's consortia."""
    k = len(consortia)
    if k == 0:
        return {"count": 0, "mean_size": math.nan, "mean_match": math.nan,
                "cross_share": math.nan, "foreign_share": math.nan}
    return {
        "count": k,
        "mean_size": sum(len(c.members) for c in consortia) / k,
        "mean_match": sum(c.match for c in consortia) / k,
        "cross_share": sum(c.cross for c in consortia) / k,
        "foreign_share": sum(c.foreign for c in consortia) / k,
    }
