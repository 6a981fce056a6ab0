"""Initialisation of the productive fabric (docs/ODD.md, section 5 "Initialisation").

Builds the struct-of-arrays population from a scenario: companies by sector (sizes, productivity,
province, technology profile, value-chain stage, export status) and the universities, research
centres and training centres of each sector.  All draws come from the run's ``rng``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.kernels.bookkeeping import unit_profiles
from sim.scenario import Scenario
from sim.state import (
    INITIAL,
    LARGE,
    RESEARCH_CENTRE,
    SME,
    TRAINING_CENTRE,
    UNIVERSITY,
    Actors,
)

SME_SIGMA = 0.8  # sd of log employment of SMEs (assumption)
LARGE_SIGMA = 0.6
CAPABILITY_SIGMA = 0.3


def sector_centroids(rng: np.random.Generator, n_sectors: int, dims: int) -> np.ndarray:
    """One non-negative unit technology profile per sector, peaked on a few fields."""
    raw = rng.gamma(0.5, 1.0, size=(n_sectors, dims))
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def profiles(rng: np.random.Generator, centroids: np.ndarray, sector: np.ndarray,
             spread: float) -> np.ndarray:
    """Unit non-negative profiles scattered around each actor's sector centroid."""
    return scatter(centroids, sector, spread,
                   rng.standard_normal((len(sector), centroids.shape[1])))


def scatter(centroids: np.ndarray, sector: np.ndarray, spread: float,
            noise: np.ndarray) -> np.ndarray:
    """:func:`profiles` from given standard normal ``noise`` of shape (actors, dims):
    ``|centroid + spread * noise|`` scaled to unit norm, in one kernel pass."""
    return unit_profiles(centroids, sector, spread, noise)


@dataclass(frozen=True)
class FirmTables:
    """Per-scenario constants of actor creation, looked up by sector or actor type."""

    large_share: np.ndarray  # float (S,)
    export_share: np.ndarray  # float (S,)
    province_cdf: np.ndarray  # float (5,) cumulative province weights, last = 1
    capacity: np.ndarray  # int16 (5,) most concurrent projects per actor type

    @classmethod
    def from_scenario(cls, sc: Scenario) -> FirmTables:
        """Build the tables of ``sc``."""
        w, pp = sc.world, sc.behaviour.partnering
        cdf = (np.asarray(w.province_weights) / sum(w.province_weights)).cumsum()
        cdf /= cdf[-1]
        return cls(
            large_share=np.array([s.large_share for s in w.sectors]),
            export_share=np.array([s.export_share for s in w.sectors]),
            province_cdf=cdf,
            capacity=np.array([pp.capacity_sme, pp.capacity_large, pp.capacity_rd,
                               pp.capacity_rd, pp.capacity_rd], np.int16),
        )

    def provinces(self, u: np.ndarray) -> np.ndarray:
        """Provinces by inverse CDF of uniform draws ``u``: the same as
        ``rng.choice(5, size=len(u), p=weights)`` when ``u = rng.random(len(u))``."""
        return self.province_cdf.searchsorted(u, side="right").astype(np.int8)


def capacities(sc: Scenario, atype: np.ndarray) -> np.ndarray:
    """Most concurrent projects per actor type."""
    return FirmTables.from_scenario(sc).capacity[atype]


def new_companies(sc: Scenario, rng: np.random.Generator, centroids: np.ndarray,
                  sector: np.ndarray, step: int, origin: int,
                  large: np.ndarray | None = None,
                  tables: FirmTables | None = None) -> dict[str, np.ndarray]:
    """Columns for new companies of the given sectors (initial population or entrants).

    Draws, in this order: [large-firm flags when ``large`` is None], the normals of SME
    employment, large-firm employment, productivity and the technology profile (one call),
    the uniforms of province and export status, the normals of capability and taste, the
    uniforms of the value-chain stage.
    """
    w = sc.world
    t = FirmTables.from_scenario(sc) if tables is None else tables
    k = len(sector)
    if large is None:
        large = rng.random(k) < t.large_share[sector]
    dims = centroids.shape[1]
    z = rng.standard_normal(k * (3 + dims))
    emp_sme = w.sme_employment_mean * np.exp(SME_SIGMA * z[:k] - SME_SIGMA**2 / 2)
    np.minimum(np.maximum(emp_sme, 1.0, out=emp_sme), 249.0, out=emp_sme)
    if large.any():
        emp_large = np.maximum(250.0, w.large_employment_mean
                               * np.exp(LARGE_SIGMA * z[k: 2 * k] - LARGE_SIGMA**2 / 2))
        employment = np.where(large, emp_large, emp_sme)
        boost = np.where(large, 1.3, 1.0)
    else:  # entrants and spin-offs are SMEs
        employment, boost = emp_sme, 1.0
    prod = w.productivity_mean * np.exp(w.productivity_sd * z[2 * k: 3 * k]
                                        - w.productivity_sd**2 / 2)
    knowledge = scatter(centroids, sector, w.sector_profile_spread,
                        z[3 * k:].reshape(k, dims))
    u = rng.random(2 * k)
    z = rng.standard_normal(2 * k)
    atype = np.where(large, LARGE, SME).astype(np.int8)
    return dict(
        atype=atype, sector=sector.astype(np.int16),
        province=t.provinces(u[:k]),
        employment=employment, value_added=prod * employment,
        exporter=u[k:] < t.export_share[sector],
        capability=np.exp(CAPABILITY_SIGMA * z[:k]) * boost,
        taste=z[k:].astype(np.float32),
        knowledge=knowledge, stage=rng.random(k).astype(np.float32),
        capacity=t.capacity[atype], born=np.full(k, step, np.int32),
        origin=np.full(k, origin, np.int8),
    )


def new_institutions(sc: Scenario, rng: np.random.Generator, centroids: np.ndarray,
                     sector: np.ndarray, atype: np.ndarray,
                     tables: FirmTables | None = None) -> dict[str, np.ndarray]:
    """Columns for universities, research centres and training centres.

    Draws, in this order: the normals of the technology profile, the uniforms of the province,
    the normals of capability and taste.
    """
    w = sc.world
    t = FirmTables.from_scenario(sc) if tables is None else tables
    k = len(sector)
    knowledge = profiles(rng, centroids, sector, w.sector_profile_spread)
    province = t.provinces(rng.random(k))
    z = rng.standard_normal(2 * k)
    boost = np.where(atype == TRAINING_CENTRE, 1.0, 1.5)
    return dict(
        atype=atype.astype(np.int8), sector=sector.astype(np.int16),
        province=province,
        capability=np.exp(CAPABILITY_SIGMA * z[:k]) * boost,
        taste=z[k:].astype(np.float32),
        knowledge=knowledge, stage=np.full(k, 0.5, np.float32),
        capacity=t.capacity[atype], born=np.full(k, -1, np.int32),
        origin=np.full(k, INITIAL, np.int8),
    )


def scaled(count: int, scale: float) -> int:
    """A population count times the scenario's scale, rounded."""
    return round(count * scale)


def build_population(sc: Scenario, rng: np.random.Generator,
                     tables: FirmTables | None = None) -> tuple[Actors, np.ndarray]:
    """The initial actors (companies first, sector by sector, then institutions).

    Returns the actors and the sector centroids used for entrants later on.
    """
    w = sc.world
    tables = FirmTables.from_scenario(sc) if tables is None else tables
    scale = sc.run.scale
    centroids = sector_centroids(rng, len(w.sectors), w.knowledge_dims)
    firm_sector = np.repeat(np.arange(len(w.sectors)),
                            [scaled(s.firms, scale) for s in w.sectors])
    inst_sector, inst_type = [], []
    for s_idx, s in enumerate(w.sectors):
        for atype, count in ((UNIVERSITY, s.universities), (RESEARCH_CENTRE, s.research_centres),
                             (TRAINING_CENTRE, s.training_centres)):
            k = scaled(count, scale)
            inst_sector += [s_idx] * k
            inst_type += [atype] * k
    n_total = len(firm_sector) + len(inst_sector)
    actors = Actors.empty(max(64, int(n_total * 1.6)), w.knowledge_dims)
    if len(firm_sector):
        cols = new_companies(sc, rng, centroids, firm_sector, -1, INITIAL, tables=tables)
        cols["born"][:] = -1
        actors.add(**cols)
    if inst_sector:
        actors.add(**new_institutions(sc, rng, centroids, np.array(inst_sector),
                                      np.array(inst_type), tables=tables))
    return actors, centroids
