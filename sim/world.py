"""Initialisation of the productive fabric (docs/ODD.md, section 5 "Initialisation").

Builds the struct-of-arrays population from a scenario: companies by sector (sizes, productivity,
province, technology profile, value-chain stage, export status) and the universities, research
centres and training centres of each sector.  All draws come from the run's ``rng``.
"""

from __future__ import annotations

import numpy as np

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
    raw = np.abs(centroids[sector] + spread * rng.standard_normal((len(sector),
                                                                   centroids.shape[1])))
    norm = np.sqrt((raw * raw).sum(axis=1, keepdims=True))
    norm[norm == 0] = 1.0
    return (raw / norm).astype(np.float32)


def capacities(sc: Scenario, atype: np.ndarray) -> np.ndarray:
    """Most concurrent projects per actor type."""
    pp = sc.behaviour.partnering
    table = np.array([pp.capacity_sme, pp.capacity_large, pp.capacity_rd, pp.capacity_rd,
                      pp.capacity_rd], np.int16)
    return table[atype]


def new_companies(sc: Scenario, rng: np.random.Generator, centroids: np.ndarray,
                  sector: np.ndarray, step: int, origin: int,
                  large: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Columns for new companies of the given sectors (initial population or entrants)."""
    w = sc.world
    k = len(sector)
    if large is None:
        shares = np.array([s.large_share for s in w.sectors])[sector]
        large = rng.random(k) < shares
    atype = np.where(large, LARGE, SME).astype(np.int8)
    emp_sme = np.clip(w.sme_employment_mean * np.exp(SME_SIGMA * rng.standard_normal(k)
                                                     - SME_SIGMA**2 / 2), 1.0, 249.0)
    emp_large = np.maximum(250.0, w.large_employment_mean
                           * np.exp(LARGE_SIGMA * rng.standard_normal(k) - LARGE_SIGMA**2 / 2))
    employment = np.where(large, emp_large, emp_sme)
    prod = w.productivity_mean * np.exp(w.productivity_sd * rng.standard_normal(k)
                                        - w.productivity_sd**2 / 2)
    weights = np.asarray(w.province_weights) / sum(w.province_weights)
    knowledge = profiles(rng, centroids, sector, w.sector_profile_spread)
    export_share = np.array([s.export_share for s in w.sectors])[sector]
    return dict(
        atype=atype, sector=sector.astype(np.int16),
        province=rng.choice(5, size=k, p=weights).astype(np.int8),
        employment=employment, value_added=prod * employment,
        exporter=rng.random(k) < export_share,
        capability=np.exp(CAPABILITY_SIGMA * rng.standard_normal(k)) * np.where(large, 1.3, 1.0),
        taste=rng.standard_normal(k).astype(np.float32),
        knowledge=knowledge, stage=rng.random(k).astype(np.float32),
        capacity=capacities(sc, atype), born=np.full(k, step, np.int32),
        origin=np.full(k, origin, np.int8),
    )


def new_institutions(sc: Scenario, rng: np.random.Generator, centroids: np.ndarray,
                     sector: np.ndarray, atype: np.ndarray) -> dict[str, np.ndarray]:
    """Columns for universities, research centres and training centres."""
    w = sc.world
    k = len(sector)
    weights = np.asarray(w.province_weights) / sum(w.province_weights)
    knowledge = profiles(rng, centroids, sector, w.sector_profile_spread)
    boost = np.where(atype == TRAINING_CENTRE, 1.0, 1.5)
    return dict(
        atype=atype.astype(np.int8), sector=sector.astype(np.int16),
        province=rng.choice(5, size=k, p=weights).astype(np.int8),
        capability=np.exp(CAPABILITY_SIGMA * rng.standard_normal(k)) * boost,
        taste=rng.standard_normal(k).astype(np.float32),
        knowledge=knowledge, stage=np.full(k, 0.5, np.float32),
        capacity=capacities(sc, atype), born=np.full(k, -1, np.int32),
        origin=np.full(k, INITIAL, np.int8),
    )


def scaled(count: int, scale: float) -> int:
    """A population count times the scenario's scale, rounded."""
    return round(count * scale)


def build_population(sc: Scenario, rng: np.random.Generator) -> tuple[Actors, np.ndarray]:
    """The initial actors (companies first, sector by sector, then institutions).

    Returns the actors and the sector centroids used for entrants later on.
    """
    w = sc.world
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
        cols = new_companies(sc, rng, centroids, firm_sector, -1, INITIAL)
        cols["born"][:] = -1
        actors.add(**cols)
    if inst_sector:
        actors.add(**new_institutions(sc, rng, centroids, np.array(inst_sector),
                                      np.array(inst_type)))
    return actors, centroids
