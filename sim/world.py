"""The productive fabric's creation: the sectors' table, the initial population (docs/ODD.md,
section 5 "Initialisation") and every company created later (entrants, spin-offs, pole-assets
firms: :func:`spawn_companies` and its kernels).

The initial population is drawn with NumPy from the run's ``init`` Generator: companies by
sector (sizes, productivity, province, technology profile, value-chain stage, export status)
and the universities, research centres and training centres of each sector.  Later companies
are SMEs drawn by the kernels :func:`write_smes` and :func:`spawn_smes` from each origin's own
xoshiro256** stream; ``tests/reference.py`` re-implements those in plain Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.kernels import libm
from sim.kernels.rng import normal, uniform
from sim.kernels.sums import company_sums, pairwise_sum
from sim.state.actors import Actors
from sim.state.codes import (
    INITIAL,
    LARGE,
    N_ACTOR_TYPES,
    POLE_ASSETS,
    RESEARCH_CENTRE,
    SME,
    SPINOFF_PARTNERSHIP,
    TRAINING_CENTRE,
    UNIVERSITY,
)
from sim.state.params import Params
from sim.state.views import define_view

if TYPE_CHECKING:
    from sim.model import ClusterModel
    from sim.scenario import Scenario

SME_SIGMA = 0.8  # sd of log employment of SMEs (assumption)
LARGE_SIGMA = 0.6
CAPABILITY_SIGMA = 0.3

# the sectors' constants, one row per sector, as kernels read them (``sectors[s].growth``)
SECTOR = np.dtype([("cooperation", np.float64), ("knowledge_intensity", np.float64),
                   ("growth", np.float64), ("large_share", np.float64),
                   ("export_share", np.float64)], align=True)


def sector_table(sc: Scenario) -> np.ndarray:
    """The scenario's sectors as a structured array.

    Parameters
    ----------
    sc : Scenario

    Returns
    -------
    ndarray(SECTOR, (S,))
        One row per sector of ``sc.world.sectors``: cooperation, knowledge intensity, growth,
        large firms' share, exporters' share.
    """
    out = np.zeros(len(sc.world.sectors), SECTOR)
    for s, spec in enumerate(sc.world.sectors):
        out[s] = (sector_cooperation(sc, spec), spec.knowledge_intensity, spec.growth,
                  spec.large_share, spec.export_share)
    return out


def sector_cooperation(sc: Scenario, spec) -> float:
    """The sector's cooperation propensity: its own when the scenario sets one, otherwise the
    sector rule ``exp(cooperation_slope * (knowledge_intensity - 0.5))`` (1 at the middle of
    the OECD classes; the slope is estimated by the calibration)."""
    if spec.cooperation is not None:
        return float(spec.cooperation)
    slope = sc.behaviour.partnering.cooperation_slope
    return math.exp(slope * (spec.knowledge_intensity - 0.5))


def sector_centroids(rng: np.random.Generator, n_sectors: int, dims: int) -> np.ndarray:
    """One non-negative unit technology profile per sector, peaked on a few fields."""
    raw = rng.gamma(0.5, 1.0, size=(n_sectors, dims))
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def profiles(rng: np.random.Generator, centroids: np.ndarray, sector: np.ndarray,
             spread: float) -> np.ndarray:
    """Unit non-negative profiles scattered around each actor's sector centroid."""
    return unit_profiles(centroids, sector, spread,
                         rng.standard_normal((len(sector), centroids.shape[1])))


@njit(cache=True)
def unit_profiles(centroids, sector, spread, noise):
    """Unit non-negative technology profiles (float32, ``noise.shape``) from given standard
    normal ``noise`` of shape (actors, dims): ``raw = |centroids[sector] + spread * noise|``
    divided by its Euclidean norm (rows of norm 0 are left as they are), the squares summed in
    NumPy's order (the NumPy expression this pass replaced)."""
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


@dataclass(frozen=True)
class FirmTables:
    """Per-scenario constants of actor creation, looked up by sector or actor type."""

    large_share: np.ndarray  # float (S,)
    export_share: np.ndarray  # float (S,)
    province_cdf: np.ndarray  # float (5,) cumulative province weights, last = 1
    capacity: np.ndarray  # int16 (N_ACTOR_TYPES,) most concurrent projects per actor type

    @classmethod
    def from_scenario(cls, sc: Scenario) -> FirmTables:
        """Build the tables of ``sc``."""
        w, pp = sc.world, sc.behaviour.partnering
        cdf = (np.asarray(w.province_weights) / sum(w.province_weights)).cumsum()
        cdf /= cdf[-1]
        capacity = np.empty(N_ACTOR_TYPES, np.int16)
        capacity[[SME, LARGE]] = pp.capacity_sme, pp.capacity_large
        capacity[[UNIVERSITY, RESEARCH_CENTRE, TRAINING_CENTRE]] = pp.capacity_rd
        return cls(
            large_share=np.array([s.large_share for s in w.sectors]),
            export_share=np.array([s.export_share for s in w.sectors]),
            province_cdf=cdf, capacity=capacity,
        )

    def provinces(self, u: np.ndarray) -> np.ndarray:
        """Provinces by inverse CDF of uniform draws ``u``: the same as
        ``rng.choice(5, size=len(u), p=weights)`` when ``u = rng.random(len(u))``."""
        return self.province_cdf.searchsorted(u, side="right").astype(np.int8)


def new_companies(sc: Scenario, rng: np.random.Generator, centroids: np.ndarray,
                  sector: np.ndarray, step: int, origin: int,
                  large: np.ndarray | None = None,
                  tables: FirmTables | None = None) -> dict[str, np.ndarray]:
    """Columns for new companies of the given sectors (the initial population).

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
    emp_sme = w.sme_employment_mean * libm.exp(SME_SIGMA * z[:k] - SME_SIGMA**2 / 2)
    np.minimum(np.maximum(emp_sme, 1.0, out=emp_sme), 249.0, out=emp_sme)
    if large.any():
        emp_large = np.maximum(250.0, w.large_employment_mean
                               * libm.exp(LARGE_SIGMA * z[k: 2 * k] - LARGE_SIGMA**2 / 2))
        employment = np.where(large, emp_large, emp_sme)
        boost = np.where(large, 1.3, 1.0)
    else:  # entrants and spin-offs are SMEs
        employment, boost = emp_sme, 1.0
    prod = w.productivity_mean * libm.exp(w.productivity_sd * z[2 * k: 3 * k]
                                        - w.productivity_sd**2 / 2)
    knowledge = unit_profiles(centroids, sector, w.sector_profile_spread,
                              z[3 * k:].reshape(k, dims))
    u = rng.random(2 * k)
    z = rng.standard_normal(2 * k)
    atype = np.where(large, LARGE, SME).astype(np.int8)
    return dict(
        atype=atype, sector=sector.astype(np.int16),
        province=t.provinces(u[:k]),
        employment=employment, value_added=prod * employment,
        exporter=u[k:] < t.export_share[sector],
        capability=libm.exp(CAPABILITY_SIGMA * z[:k]) * boost,
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
        capability=libm.exp(CAPABILITY_SIGMA * z[:k]) * boost,
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
    actors = Actors(max(64, int(n_total * 1.6)), w.knowledge_dims)
    if len(firm_sector):
        cols = new_companies(sc, rng, centroids, firm_sector, -1, INITIAL, tables=tables)
        cols["born"][:] = -1
        actors.add(**cols)
    if inst_sector:
        actors.add(**new_institutions(sc, rng, centroids, np.array(inst_sector),
                                      np.array(inst_type), tables=tables))
    return actors, centroids


# ------------------------------------------------------------------ companies created later
NEW_FIRM = Params(floats={"spread": "world.sector_profile_spread",
                          "sme_mean": "world.sme_employment_mean",
                          "sme_sigma": lambda sc: SME_SIGMA,
                          "prod_mean": "world.productivity_mean",
                          "prod_sd": "world.productivity_sd",
                          "cap_sigma": lambda sc: CAPABILITY_SIGMA,
                          "prod_start": lambda sc: 0.0},
                  ints={"sme_capacity": "behaviour.partnering.capacity_sme"})

NewFirmsView = define_view(__name__, "NewFirmsView",
                           ("params", "centroids", "province_cdf", "export_share"),
                           "What new companies are drawn from, as one kernel argument.")


@njit(cache=True)
def _new_firms_view(*arrays):
    return NewFirmsView(*arrays)


def new_firms(sc: Scenario, centroids: np.ndarray, tables: FirmTables,
              prod_start: float) -> NewFirmsView:
    """The constants new companies are drawn from: :data:`NEW_FIRM` (``prod_start``, the
    companies' mean productivity at the start, scales their value added to the level of the
    day), the sector centroids, the provinces' CDF and the sectors' export shares."""
    params = NEW_FIRM.build(sc)
    params[0]["prod_start"] = prod_start
    return _new_firms_view(params, centroids, tables.province_cdf, tables.export_share)


@njit(cache=True)
def productivity_level(a, n, prod_start):
    """Today's mean productivity of the living companies (rows ``< n``) over ``prod_start``
    (1 when ``prod_start`` is not positive)."""
    if prod_start <= 0.0:
        return 1.0
    emp, va = company_sums(a, n)
    return (va / emp if emp > 0.0 else 0.0) / prod_start


@njit(cache=True)
def write_smes(a, n, sector, like, level, gen, step, origin, rng):
    """Write ``k = len(sector)`` new SMEs into rows ``n .. n + k - 1`` (allocated, unused).

    Per firm, in this order: a normal for employment (lognormal around ``sme_mean``, mean
    preserving, clipped to 1..249 FTE), a normal for productivity (lognormal around
    ``prod_mean``); unless it copies ``like[i]``'s profile and province (when ``like`` is not
    empty), ``D`` normals for its technology profile (``|centroid[sector] + spread * z|``
    normalised) and a uniform for its province (inverse CDF); then uniforms and normals for
    export status (``u < export_share[sector]``), capability (lognormal, ``cap_sigma``), taste
    (standard normal) and value-chain stage (uniform).  Value added is productivity x
    employment x ``level``.
    """
    f = gen.params[0]
    centroids, cdf, export_share = gen.centroids, gen.province_cdf, gen.export_share
    alive, atype, a_sector, province = a.alive, a.atype, a.sector, a.province
    employment, value_added, exporter = a.employment, a.value_added, a.exporter
    capability, taste, knowledge, stage = a.capability, a.taste, a.knowledge, a.stage
    capacity, born, a_origin = a.capacity, a.born, a.origin
    k = sector.shape[0]
    has_like = like.shape[0] > 0
    dims = centroids.shape[1]
    spread, sme_sigma, prod_sd = f.spread, f.sme_sigma, f.prod_sd
    raw = np.empty(dims)
    n_cdf = cdf.shape[0]
    for i in range(k):
        r = n + i
        s = sector[i]
        emp = f.sme_mean * np.exp(sme_sigma * normal(rng) - 0.5 * sme_sigma * sme_sigma)
        emp = min(249.0, max(1.0, emp))
        prod = f.prod_mean * np.exp(prod_sd * normal(rng) - 0.5 * prod_sd * prod_sd)
        if has_like:
            j = like[i]
            province[r] = province[j]
            for d in range(dims):
                knowledge[r, d] = knowledge[j, d]
        else:
            sq = 0.0
            for d in range(dims):
                v = abs(centroids[s, d] + spread * normal(rng))
                raw[d] = v
                sq += v * v
            norm = np.sqrt(sq)
            if norm == 0.0:
                norm = 1.0
            for d in range(dims):
                knowledge[r, d] = raw[d] / norm
            u = uniform(rng)
            p = 0
            while p < n_cdf and cdf[p] <= u:
                p += 1
            province[r] = p
        alive[r] = True
        atype[r] = SME
        a_sector[r] = s
        employment[r] = emp
        value_added[r] = prod * emp * level
        exporter[r] = uniform(rng) < export_share[s]
        capability[r] = np.exp(f.cap_sigma * normal(rng))
        taste[r] = normal(rng)
        stage[r] = uniform(rng)
        capacity[r] = f.sme_capacity
        born[r] = step
        a_origin[r] = origin


@njit(cache=True)
def spawn_smes(a, n, sector, like, gen, step, origin, rng):
    """:func:`write_smes` at today's productivity level (companies of rows ``< n``)."""
    level = productivity_level(a, n, gen.params[0].prod_start)
    write_smes(a, n, sector, like, level, gen, step, origin, rng)


SPAWN_STREAM = {SPINOFF_PARTNERSHIP: "spinoff", POLE_ASSETS: "assets_firms"}
_NO_ROWS = np.zeros(0, np.int64)


def spawn_companies(m: ClusterModel, sector: np.ndarray, origin: int,
                    like: np.ndarray | None = None) -> np.ndarray:
    """Create new SMEs (partnership spin-offs and pole-assets firms).

    Parameters
    ----------
    m : ClusterModel
    sector : ndarray(int, (k,))
        Each new company's sector.
    origin : int
        ``codes.SPINOFF_PARTNERSHIP`` or ``codes.POLE_ASSETS``: chooses the stream.
    like : ndarray(int, (k,)), optional
        Each spin-off's parent, whose technology profile and province it copies.

    Returns
    -------
    ndarray(int64, (k,))
        The new companies' rows (Mesa handles made when the model keeps them).

    Notes
    -----
    The attributes are drawn by :func:`spawn_smes` from the origin's own kernel stream, so
    that a variant which changes, say, the number of pole-assets firms does not shift the draws
    of the partnership spin-offs.
    """
    a = m.actors
    sector = np.asarray(sector, np.int64)
    k = len(sector)
    a.ensure(a.n + k)
    n0 = a.n
    spawn_smes(a.view, n0, sector, _NO_ROWS if like is None else np.asarray(like, np.int64),
               m.firms, m.t, origin, m.streams[SPAWN_STREAM[origin]])
    a.n = n0 + k
    rows = np.arange(n0, n0 + k)
    m.handles.add(rows)
    return rows
