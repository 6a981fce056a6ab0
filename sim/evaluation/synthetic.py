"""Synthetic firm panels with a known treatment effect, for testing the estimators and the
scoring machinery without the model.

:func:`synthetic_pair` draws a policy panel and its counterfactual twin that share every
random number: the twin is the same firms without the treatment, so the true effect on the
treated is known exactly, as it is for a model run and its twin.  Both panels follow
:data:`sim.evaluation.panel.PANEL_COLUMNS`; treatment is cluster membership (absorbing, from
the cohort year), with an R&D grant paid to members every treated year.

Outcome model (each firm i, year t, sector s(i); all draws from the generator)::

    employment_it = a_i + l_t + d_s (t - t0) + b_i (t - t0) + tau_e(i,t) D_it + u_it
    u_it = rho u_i,t-1 + e_it,   e_it ~ N(0, sigma^2)

with ``D_it = 1[t >= g_i]`` for treated firms of cohort ``g_i``, ``e = t - g_i`` the event
time and ``tau_e`` the effect (a constant or a path by event time).  Value added and exports
follow the same form with their own effects; innovations are Poisson counts and the treated
get extra Poisson innovations of mean ``tau`` (coupled: the twin's count plus the extra).

Selection (planted; the literature's two cases, ``reference/evaluation.md``):

* ``"none"``: who is treated is random.
* ``"declining"``: firms of sectors in relative decline (``d_s < 0``) are more likely to be
  treated, as the French Local Productive Systems selected sectors and regions in relative
  decline (Martin, Mayer & Mayneris 2011).  Members are then on a declining trend: a naive
  comparison is biased downwards, and so is a DiD with common year effects; a DiD with sector
  by year effects (as that paper controls) removes the bias.
* ``"declining_firm"``: firms with a negative own trend ``b_i`` are more likely to be
  treated; no fixed-effects DiD removes this (kept to show it).
* ``"champions"``: firms with a high level ``a_i`` are more likely to be treated, as juries
  picked winners among pole applicants (Fontagné et al. 2013): the naive comparison is biased
  upwards, firm fixed effects remove it.

Randomness: one ``numpy.random.Generator`` from ``SeedSequence(seed, spawn_key=(key,))``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.evaluation.panel import (
    ACTOR_TYPES,
    GRANT_COLUMNS,
    ORIGINS,
    PANEL_COLUMNS,
    PROVINCES,
    panel_from_arrays,
)

SELECTIONS = ("none", "declining", "declining_firm", "champions")
EFFECT_OUTCOMES = ("employment", "value_added", "exports", "innovations")


@dataclass(frozen=True)
class SyntheticDesign:
    """Parameters of a synthetic pair.  Units follow the panel: FTE, EUR/year.

    Attributes
    ----------
    n_firms : int
        Firms (all SMEs of the initial population, alive throughout).
    first_year, last_year : int
        Years of the panel, inclusive.
    cohorts : tuple of int
        Years in which treated firms join (drawn uniformly among treated firms).
    treated_share : float
        Expected share of firms treated (the logit's intercept is set for it).
    effects : mapping of outcome to float or sequence
        Effect on each outcome of :data:`EFFECT_OUTCOMES`: a constant, or a path by event
        time 0, 1, 2, ... (the last value holds afterwards).  Missing outcomes: no effect.
    selection : str
        One of :data:`SELECTIONS`.
    selection_strength : float
        Slope of the treatment logit on the standardised selection variable.
    n_sectors : int
        Sectors; with ``"declining"`` the sector trends are spread over
        ``[-sector_trend, +sector_trend]``.
    sector_trend : float
        Largest sector trend (FTE per year).
    firm_trend_sd : float
        Standard deviation of the firms' own trends (FTE per year).
    noise_sd : float
        Standard deviation of the innovation ``e`` (FTE).
    rho : float
        AR(1) coefficient of the noise (serial correlation within a firm).
    grant_eur : float
        R&D grant paid to a treated firm each treated year (EUR).
    """

    n_firms: int = 400
    first_year: int = 2001
    last_year: int = 2012
    cohorts: tuple[int, ...] = (2004, 2006, 2008)
    treated_share: float = 0.4
    effects: Mapping[str, float | Sequence[float]] = field(
        default_factory=lambda: {"employment": 2.0})
    selection: str = "none"
    selection_strength: float = 1.5
    n_sectors: int = 6
    sector_trend: float = 0.8
    firm_trend_sd: float = 0.3
    noise_sd: float = 2.0
    rho: float = 0.3
    grant_eur: float = 50_000.0

    def __post_init__(self):
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection {self.selection!r}: expected one of {SELECTIONS}")
        unknown = sorted(set(self.effects) - set(EFFECT_OUTCOMES))
        if unknown:
            raise ValueError(f"effects: unknown outcome(s) {unknown}; allowed {EFFECT_OUTCOMES}")
        if not all(self.first_year < g <= self.last_year for g in self.cohorts):
            raise ValueError("cohorts must lie after first_year and not after last_year")


@dataclass(frozen=True)
class SyntheticPair:
    """A policy panel, its twin, and the truth by construction."""

    policy: pd.DataFrame
    twin: pd.DataFrame
    cohorts: pd.Series  # first treated year per actor_id (0 = never)
    design: SyntheticDesign


def effect_path(effect: float | Sequence[float], event_time: np.ndarray) -> np.ndarray:
    """The effect at each event time (0 before treatment)."""
    e = np.asarray(event_time)
    path = np.atleast_1d(np.asarray(effect, dtype=float))
    out = path[np.clip(e, 0, len(path) - 1)]
    return np.where(e >= 0, out, 0.0)


def _logit_intercept(z: np.ndarray, slope: float, share: float) -> float:
    """Intercept c with mean(expit(c + slope z)) = share (bisection; expit is monotone)."""
    lo, hi = -30.0, 30.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if np.mean(1.0 / (1.0 + np.exp(-(mid + slope * z)))) < share:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def synthetic_pair(design: SyntheticDesign | None = None, *, seed: int = 0, key: int = 0
                   ) -> SyntheticPair:
    """Draw a policy panel and its counterfactual twin with a known effect.

    Parameters
    ----------
    design : SyntheticDesign, optional
        The data-generating process (default :class:`SyntheticDesign()`).
    seed : int
        Root seed.
    key : int
        Replication key: the generator is ``default_rng(SeedSequence(seed, spawn_key=(key,)))``.

    Returns
    -------
    SyntheticPair
        Both panels validated against the schema; ``cohorts`` per actor.
    """
    d = design or SyntheticDesign()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))
    n = d.n_firms
    years = np.arange(d.first_year, d.last_year + 1)
    T = len(years)
    t = (years - d.first_year).astype(float)

    sector = rng.integers(0, d.n_sectors, n)
    sector_trend = np.linspace(-d.sector_trend, d.sector_trend, d.n_sectors)
    province = rng.integers(0, len(PROVINCES), n)
    level = 40.0 + rng.gamma(2.0, 10.0, n)  # FTE, >= 40
    firm_trend = rng.normal(0.0, d.firm_trend_sd, n)
    year_effect = np.cumsum(rng.normal(0.3, 0.5, T))
    va_per_fte = rng.normal(60_000.0, 8_000.0, n).clip(30_000.0)
    exporter = rng.random(n) < 0.4
    innov_rate = rng.gamma(2.0, 0.25, n)

    z = {"none": np.zeros(n),
         "declining": -sector_trend[sector] / max(d.sector_trend, 1e-12),
         "declining_firm": -firm_trend / max(d.firm_trend_sd, 1e-12),
         "champions": (level - level.mean()) / level.std()}[d.selection]
    slope = 0.0 if d.selection == "none" else d.selection_strength
    c = _logit_intercept(z, slope, d.treated_share)
    treated = rng.random(n) < 1.0 / (1.0 + np.exp(-(c + slope * z)))
    cohort = np.where(treated, rng.choice(np.asarray(d.cohorts), n), 0)

    # AR(1) noise, started from its stationary distribution
    e = rng.normal(0.0, d.noise_sd, (n, T))
    u = np.empty((n, T))
    u[:, 0] = e[:, 0] / np.sqrt(max(1.0 - d.rho ** 2, 1e-12))
    for k in range(1, T):
        u[:, k] = d.rho * u[:, k - 1] + e[:, k]
    base = (level[:, None] + year_effect[None, :] + (sector_trend[sector] + firm_trend)[:, None]
            * t[None, :] + u)
    ev = np.where(cohort[:, None] > 0, years[None, :] - cohort[:, None], -1)
    D = ev >= 0

    def tau(name):
        return effect_path(d.effects.get(name, 0.0), ev) * D

    emp0 = base
    va0 = base * va_per_fte[:, None] + rng.normal(0.0, 50_000.0, (n, T))
    ex_share = np.where(exporter, 0.35, 0.0)[:, None]
    inn0 = rng.poisson(np.broadcast_to(innov_rate[:, None], (n, T)))
    extra_rate = np.maximum(tau("innovations"), 0.0)
    inn_extra = rng.poisson(extra_rate)

    common = {
        "actor_id": np.repeat(np.arange(n, dtype=np.int64), T),
        "actor_type": np.full(n * T, ACTOR_TYPES.index("sme"), np.int8),
        "sector": np.repeat(sector, T).astype(np.int16),
        "province": np.repeat(province, T).astype(np.int8),
        "origin": np.full(n * T, ORIGINS.index("initial"), np.int8),
        "birth_year": np.full(n * T, d.first_year, np.int16),
        "alive": np.ones(n * T, bool),
        "pole": np.full(n * T, -1, np.int16), "pole_since": np.full(n * T, -1, np.int16),
        "projects_active_pole": np.zeros(n * T, np.int16),
        "projects_completed_pole": np.zeros(n * T, np.int16),
        "exporter": np.repeat(exporter, T),
    }
    for col in (*GRANT_COLUMNS, "private_rd_eur"):
        common[col] = np.zeros(n * T)
    yrs = np.tile(years, n)

    def build(on: bool) -> pd.DataFrame:
        cols = dict(common)
        Dm = D if on else np.zeros_like(D)
        cols["cluster"] = np.where(Dm, 0, -1).ravel().astype(np.int16)
        cols["cluster_since"] = np.where(Dm, cohort[:, None], -1).ravel().astype(np.int16)
        cols["projects_active_cluster"] = Dm.ravel().astype(np.int16)
        cols["projects_completed_cluster"] = np.zeros(n * T, np.int16)
        cols["grant_rd_eur"] = np.where(Dm, d.grant_eur, 0.0).ravel()
        k = 1.0 if on else 0.0
        emp = emp0 + k * tau("employment")
        va = va0 + k * tau("value_added")
        cols["employment"] = emp.ravel()
        cols["value_added"] = va.ravel()
        cols["exports"] = (va * ex_share + k * tau("exports") * exporter[:, None]).ravel()
        cols["innovations"] = (inn0 + (inn_extra if on else 0)).ravel().astype(np.int32)
        return panel_from_arrays(yrs, cols)

    policy, twin = build(True), build(False)
    assert list(policy.columns) == [c.name for c in PANEL_COLUMNS]
    cohorts = pd.Series(cohort.astype(np.int64), index=pd.Index(np.arange(n), name="actor_id"),
                        name="cluster")
    return SyntheticPair(policy, twin, cohorts, d)


def monte_carlo(design: SyntheticDesign, reps: int, *, seed: int = 0,
                estimators: Sequence[str] | None = None,
                outcomes: Sequence[str] = ("employment",), treatment: str = "cluster"
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run estimators on ``reps`` synthetic pairs (replication r uses key r).

    Returns
    -------
    (estimates, truth) : tuple of pandas.DataFrame
        Inputs of :func:`sim.evaluation.truth.score`, with a ``replication`` column.
    """
    from sim.evaluation.truth import evaluate_pair, true_att

    est_rows, truth_rows = [], []
    for r in range(reps):
        pair = synthetic_pair(design, seed=seed, key=r)
        e, t = evaluate_pair(pair.policy, pair.twin, outcomes, treatment, estimators)
        est_rows.append(e.assign(replication=r))
        truth_rows.append(true_att(t).assign(replication=r))
    return pd.concat(est_rows, ignore_index=True), pd.concat(truth_rows, ignore_index=True)
