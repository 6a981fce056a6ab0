"""Calibration by the simulated method of moments (SMM): ``clustersim calibrate CONFIG``.

A configuration (TOML, strict) names a scenario, a targets file (see :mod:`sim.targets`), the
free parameters with their search bounds, the replications and the root seed::

    name = "wallonia"
    scenario = "../scenarios/baseline.toml"     # relative to this file
    targets = "targets/wallonia_2004_2006.toml"
    replications = 16
    seed = 20010101
    end_year = 2006           # optional: truncate the runs to the last target year
    write = "calibrated.toml" # optional: where the estimates go (default: beside the config)
    [[parameter]]
    path = "behaviour.membership.benefit_base"
    lower = -3.5
    upper = -1.0
    start = -2.3              # optional (default: the middle of the bounds)
    [optimizer]
    method = "differential_evolution"   # or "nelder-mead"
    max_evaluations = 300
    seed = 1
    [uncertainty]
    method = "bootstrap"
    resamples = 30
    j_draws = 100             # J's simulated distribution (calibration/overid.py)
    profile_points = 11       # profiles of the objective (calibration/profiles.py)
    [[literature]]            # optional: published effects measured on the simulated panel
    ...                       # (calibration/literature.py)

The modules by concern: this one (configuration, evaluator and cache, search, bootstrap,
reports), :mod:`calibration.overid` (J and its distribution), :mod:`calibration.profiles`
(the objective along each parameter) and :mod:`calibration.literature` (the literature's
effects on the simulated firm panel).

Design choices
--------------
Moments.  One moment per target: the target's indicator, year and selector in each run
(:func:`sim.targets.lookup`), averaged over R replications.  Replication r of *every* candidate
parameter vector is run with ``SeedSequence(seed, spawn_key=(r,))`` (common random numbers), so
two candidates differ only by their parameters, not by their luck, and the objective is a
deterministic function of the parameters.

Weighting.  Diagonal, from the moments' simulated variance: ``w_k = 1 / (s_k^2 (1 + 1/R) +
(tol_k / 2)^2)``, where ``s_k^2`` is the variance of moment k over the R replications at the
start point.  ``s_k^2 (1 + 1/R)`` is the variance of (one observed history - the mean of R
simulated ones) when the model is right; the term ``(tol_k / 2)^2`` is a choice of weighting,
not a variance: it keeps a figure read loosely (the targets file's readings of "650
enterprises", "some 222 members"...) from weighing as much as one known exactly, and it stops
a moment that hardly varies from dominating.  The weighting is therefore *not* the optimal one
(the inverse of the moments' full covariance at the true parameters): it is diagonal, measured
at the start point, and tolerance-inflated, so J at the estimate is not chi-square; its
distribution is simulated (:mod:`calibration.overid`).  A moment that
neither varies at the start nor has a tolerance (e.g. the four pilots of 2001) gets the
variance of a one-unit event of chance 1/(R+1), so no weight is infinite.  A target file may
multiply a moment's weight by its ``weight`` (default 1: a stated choice, e.g. that a count the
seed states exactly counts as much as several noisy binary events).  The weights are fixed
at the start point (a one-step estimator): the objective of a candidate then depends only on its
own cached per-replication moments, which is what makes a rerun resume exactly.  The
objective is ``J(theta) = sum_k w_k (mean_r m_kr(theta) - observed_k)^2``.

Optimiser.  :func:`scipy.optimize.differential_evolution` by default: bounded, seeded
(deterministic), derivative-free and global.  With common random numbers and discrete outcomes
(clusters dropped, counts of firms), J is piecewise constant in the parameters: gradients are
zero or undefined, and a local method stalls on the first plateau, whereas DE's population moves
by differences of whole candidates and does not care.  ``integrality`` keeps integer
parameters (``policy.evaluation.min_members``) integral; ``polish`` (L-BFGS-B) is off since it
needs gradients.  A generation's candidates are evaluated together (``updating = "deferred"``),
so all their R replications run in parallel.  ``method = "nelder-mead"`` is the cheaper
alternative: Nelder-Mead on the unit cube (each parameter scaled to [0, 1] by its bounds, so
that one simplex step means the same share of every range), from the start point.  Either way
the best point found is polished by a short bounded Nelder-Mead on the unit cube
(``optimizer.local_evaluations``).  Every parameter is rounded to 1/10,000 of its range before
it is run: the written estimates are readable and the cache keys stable.

Cache and resume.  Every evaluation (parameter values, the resolved scenario's hash, seed,
replications and the per-replication value of every moment) is written atomically as one JSON
file in ``<output>/<name>/evaluations/`` (``calibration/output/<name>/`` by default), keyed by a
hash of the resolved scenario, the seed, the replications, the targets and the model's
fingerprint (:func:`sim.results.model_fingerprint`: after a change of the model's code, NumPy or
Numba, nothing evaluated before is reused).  The whole procedure is deterministic, so a rerun
replays the same candidates, reads them from the cache and carries on where it stopped; the
result is the same as that of an uninterrupted run.

Estimate.  The best candidate of everything evaluated: the global search, the polish, the
finite-difference points of the Jacobian (below) and a *local design*: a seeded Latin hypercube
of ``uncertainty.local_points`` candidates (default 10 per parameter) in the box of +-3 Jacobian
standard errors around the polished point (at least one finite-difference step and at most half
the range each side).  The local design is run once and shared by the bootstrap; if it holds a
better point than the polished one, that point is the estimate and the Jacobian is measured
again there.

Uncertainty.  A bootstrap of the estimator (``[uncertainty] method = "bootstrap"``).
Resample b (i) draws the R replications with replacement (simulation error: the per-replication
moments of every cached candidate are reused, nothing is rerun for that) and, with
``data_noise = true`` (the default), (ii) redraws the observed figures as ``observed +
(m(theta_hat, rep R+b) - mean_r m(theta_hat, r))``: the deviation of one fresh replication at the
estimate stands for the luck of the one history Wallonia lived.  No reading error is added
(until issue 16 an invented ``N(0, (tol/2)^2)`` was): the seed's figures are administrative
counts (members, partnerships, clusters kept or dropped), so the noise that remains is the
model's own, the spread of the simulated moments.  Without (ii) the intervals would only
show the Monte-Carlo error of the estimator, about 1/R of its variance.  Each resample is then
re-estimated: the best of all the candidates above under the resampled objective, then a short
Nelder-Mead from there (``uncertainty.local_evaluations``; its new candidates are run once with
all R replications and cached).  Without the local design the resampled estimates could only
land on the global search's own candidates, and the intervals would shrink to wherever it
happened to look.  The standard error is the standard deviation of the resampled estimates,
the interval their 2.5-97.5 percentiles.  An ABC rejection step was not chosen: in a 5-6
dimensional box it needs many more simulations for a comparable posterior.

Identification.  A finite-difference Jacobian G of the mean moments at the estimate (central,
step ``uncertainty.jacobian_step`` of each range, common random numbers) gives the sandwich
standard error ``sqrt(diag((G'WG)^-1 G'W Omega W G (G'WG)^-1))`` with ``Omega = (1 + 1/R)
Cov_r(m)`` (no reading error either), and the rise of J over one step each way (the objective's
flatness).  A parameter is reported *identified* when its bootstrap 95% interval covers at most
half of its search range and its Jacobian 95% interval (+-1.96 se) is narrower than the whole
range; otherwise the targets cannot tell its values apart (flat objective, or a trade-off with
another parameter: the correlations of the resampled estimates are printed).

Overidentification.  J at the estimate, with the weighting above, against its distribution
under the model: ``uncertainty.j_draws`` fresh replications at the estimate (replications
1,000,000 + b, disjoint from the estimation's and the bootstrap's) are pseudo-observed data
sets, each re-optimised over every candidate evaluated and ``uncertainty.j_local_evaluations``
Nelder-Mead evaluations; the p-value is the share of them that fit at least as badly
(:mod:`calibration.overid`).

Profiles.  J along a grid of ``uncertainty.profile_points`` values of each parameter's range,
the others at the estimate (a slice, not re-optimised over the others):
``profiles.csv`` and ``profiles.png`` (:mod:`calibration.profiles`).

Literature moments.  The ``[[literature]]`` effects measured at the estimate with the
project's estimators on the simulated firm panel, beside the published ranges (other regions'
figures, used as ranges; reported, not matched: :mod:`calibration.literature` says why).

Output.  ``calibrated.toml`` ([meta], [parameters], [uncertainty."path"], [[fit]],
[overidentification], [[literature]]) at the
config's ``write`` path (``clustersim calibrate`` writes it to the cache folder and replaces the
config's ``write`` file only with ``--install``); the baseline reads its [parameters].  Parameters that the calibration
held fixed but that the scenario read from its own calibration files are written too, with the
value used, so the baseline runs exactly the calibrated model (``write_held = false``: the
estimates only, for a file layered after another in a scenario's ``calibration`` list).  ``report.txt``,
``result.json``, ``profiles.csv``, ``profiles.png``, ``j_draws.csv`` and ``literature.csv`` go
to the cache folder.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import io
import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from calibration import literature, overid, profiles
from calibration.literature import LiteratureSettings, LiteratureSpec
from sim.experiment.runner import SequentialExecutor, local_pool, prime_kernels, run_batch
from sim.loader import (
    ScenarioError,
    apply_calibration,
    calibration_files,
    load_document,
    plain_name,
    read_calibrated,
    read_toml,
    relative_inside,
    scenario_hash,
    set_path,
    show,
    suggestion,
    validate_document,
    validation_errors,
    wrong_kind,
)
from sim.results import atomic_write_bytes, git_commit, model_fingerprint, versions
from sim.scenario import CAL, Scenario, parameter_bounds
from sim.targets import Target, load_targets, scenario_problems

BOUNDS = parameter_bounds()
RESOLUTION = 1e-4  # parameters are rounded to this share of their search range
NEAR_BOUND = 0.01  # an estimate this close to a bound (share of the range) is reported at it
CLOUD_WIDTH = 3.0  # half-width of the local design around the estimate, in standard errors
PROFILE_FLAT = 1.0  # a profile point whose J is within this of the estimate's is "flat"


class CalibrationError(RuntimeError):
    """A calibration cannot go on (a run failed, a target is missing from the results...)."""


# ------------------------------------------------------------------------------ configuration
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class ParameterSpec(_Strict):
    """A free parameter: a numeric parameter of the schema marked "to be calibrated"."""

    path: str
    lower: float
    upper: float
    start: float | None = None

    @model_validator(mode="after")
    def _check(self) -> ParameterSpec:
        if self.path not in BOUNDS:
            hint = suggestion(self.path, sorted(BOUNDS)).replace(";", ",")
            raise ValueError(f"path: {show(self.path)} is not a numeric parameter of the scenario "
                             f"schema{hint} (see sim.scenario.parameter_bounds())")
        b = BOUNDS[self.path]
        if CAL not in b["source"]:
            source = b["source"].replace("; ", ", ")
            raise ValueError(f"path: {self.path!r} is not a parameter to be calibrated (its "
                             f"source is {source!r}, and only parameters whose source says "
                             f"{CAL!r} are estimated)")
        problems = []
        lo_b, hi_b = b["lower"], b["upper"]
        for key, v in (("lower", self.lower), ("upper", self.upper)):
            if lo_b is not None and (v < lo_b or (b["lower_open"] and v <= lo_b)):
                rel = "above" if b["lower_open"] else "at least"
                problems.append(f"{key}: {v} is outside the schema's bounds (must be {rel} "
                                f"{lo_b})")
            if hi_b is not None and v > hi_b:
                problems.append(f"{key}: {v} is outside the schema's bounds (must be at most "
                                f"{hi_b})")
            if b["type"] == "int" and v != int(v):
                problems.append(f"{key}: {self.path} is an integer, so its bounds must be "
                                f"whole numbers (got {v})")
        if self.upper <= self.lower:
            problems.append(f"upper: {self.upper} must be above lower ({self.lower})")
        elif self.start is not None and not self.lower <= self.start <= self.upper:
            problems.append(f"start: {self.start} is outside [lower, upper] = "
                            f"[{self.lower}, {self.upper}]")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def is_int(self) -> bool:
        """Whether the parameter is an integer."""
        return BOUNDS[self.path]["type"] == "int"

    @property
    def span(self) -> float:
        """upper - lower."""
        return self.upper - self.lower

    def value(self, u: float) -> int | float:
        """The parameter's value at ``u`` in [0, 1] of its range, rounded (see RESOLUTION)."""
        return self.quantize(self.lower + float(np.clip(u, 0.0, 1.0)) * self.span)

    def unit(self, v: float) -> float:
        """Position of value ``v`` in [0, 1] of the range."""
        return (float(v) - self.lower) / self.span

    def quantize(self, v: float) -> int | float:
        """Round a value to the calibration's resolution and clip it to the bounds."""
        v = min(max(float(v), self.lower), self.upper)
        if self.is_int:
            return round(v)
        digits = max(0, math.ceil(-math.log10(self.span * RESOLUTION)))
        return min(max(round(v, digits), self.lower), self.upper)


class OptimizerSpec(_Strict):
    """The search for the minimum of the objective."""

    method: Literal["differential_evolution", "nelder-mead"] = "differential_evolution"
    max_evaluations: int = Field(300, ge=4, le=1_000_000,
                                 description="candidate parameter vectors of the global search")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="seed of the optimiser")
    population: int | None = Field(None, ge=4, le=10_000,
                                   description="differential_evolution: candidates per "
                                               "generation (default max(10, 4 x parameters))")
    local_evaluations: int = Field(20, ge=0, le=100_000,
                                   description="Nelder-Mead polish of the best point")


class UncertaintySpec(_Strict):
    """How the estimates' uncertainty is measured."""

    method: Literal["bootstrap"] = "bootstrap"
    resamples: int = Field(30, ge=2, le=100_000)
    local_points: int | None = Field(None, ge=0, le=100_000,
                                     description="local design around the estimate, shared by "
                                                 "the resamples (default 10 x parameters)")
    local_evaluations: int = Field(10, ge=0, le=100_000,
                                   description="Nelder-Mead evaluations per resample")
    data_noise: bool = Field(True, description="redraw the observed figures too (one fresh "
                                               "replication's deviation at the estimate: the "
                                               "luck of the one history), not only the "
                                               "replications; no reading error is added")
    seed: int = Field(2, ge=0, le=2**63 - 1, description="seed of the resampling")
    jacobian_step: float = Field(0.1, gt=0.0, le=0.5,
                                 description="finite-difference step, share of each range")
    j_draws: int = Field(100, ge=0, le=100_000,
                         description="pseudo-observed data sets (fresh replications at the "
                                     "estimate) simulating the distribution of J; 0: none")
    j_local_evaluations: int = Field(0, ge=0, le=100_000,
                                     description="Nelder-Mead evaluations re-optimising each "
                                                 "pseudo data set's J (after the best of every "
                                                 "candidate evaluated)")
    profile_points: int = Field(11, ge=0, le=1000,
                                description="grid points of each parameter's profile of the "
                                            "objective (others at the estimate); 0: none")

    @model_validator(mode="after")
    def _check(self) -> UncertaintySpec:
        if self.profile_points == 1:
            raise ValueError("profile_points: a profile needs at least 2 points (or 0 for "
                             "none), got 1")
        return self


class CalibrationConfig(_Strict):
    """A calibration configuration file."""

    name: str = Field(min_length=1, max_length=80)
    description: str = Field("", max_length=4000)
    scenario: str = Field(min_length=1)
    targets: str = Field(min_length=1)
    replications: int = Field(16, ge=2, le=100_000)
    seed: int = Field(20010101, ge=0, le=2**63 - 1)
    end_year: int | None = Field(None, ge=1990, le=2100)
    write: str = Field("calibrated.toml", min_length=1, max_length=1000,
                       description="calibrated-parameters file to write (relative to the "
                                   "config, inside its folder)")
    write_held: bool = Field(True, description="also write, in [parameters], the values of "
                             "the parameters held fixed that the scenario read from its "
                             "calibration files (false: the estimates only, for a file that a "
                             "scenario reads after another in its `calibration` list)")
    output: str = Field("output", min_length=1, max_length=1000,
                        description="folder of the caches (relative to the config, inside its "
                                    "folder); the cache of this calibration is "
                                    "<output>/<name>/")
    parameter: list[ParameterSpec] = Field(min_length=1, max_length=32)
    optimizer: OptimizerSpec = OptimizerSpec()
    uncertainty: UncertaintySpec = UncertaintySpec()
    literature: list[LiteratureSpec] = Field(default_factory=list, max_length=50,
                                             description="published effects measured on the "
                                                         "simulated panel at the estimate "
                                                         "(calibration/literature.py)")
    literature_settings: LiteratureSettings = LiteratureSettings()

    _name = field_validator("name")(classmethod(lambda cls, v: plain_name(v)))

    @model_validator(mode="after")
    def _check(self) -> CalibrationConfig:
        paths = [p.path for p in self.parameter]
        if len(set(paths)) != len(paths):
            dup = sorted({p for p in paths if paths.count(p) > 1})
            raise ValueError(f"parameter: a parameter is listed twice: {dup}")
        if not self.write.endswith(".toml"):
            raise ValueError(f"write: expected a path ending in .toml (got {show(self.write)})")
        names = [s.name for s in self.literature]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"literature: a name is used twice: {dup}")
        return self


@dataclass
class Problem:
    """A loaded configuration: the config, its files, targets and base scenario document."""

    config: CalibrationConfig
    source: Path
    scenario_path: Path
    targets_path: Path
    targets: list[Target]
    base_doc: dict[str, Any]
    calibration_files: list[Path]  # the calibrated-parameters files the scenario reads

    @property
    def params(self) -> list[ParameterSpec]:
        """The free parameters."""
        return list(self.config.parameter)

    @property
    def observed(self) -> np.ndarray:
        """The targets' observed values."""
        return np.array([t.value for t in self.targets], float)

    @property
    def tolerance(self) -> np.ndarray:
        """The targets' absolute tolerances."""
        return np.array([t.tolerance for t in self.targets], float)

    @property
    def target_weight(self) -> np.ndarray:
        """The targets' stated weight multipliers (``weight``, default 1)."""
        return np.array([t.weight for t in self.targets], float)

    @property
    def cache_dir(self) -> Path:
        """Folder of this calibration's cache and reports."""
        return self.source.parent / self.config.output / self.config.name

    @property
    def write_path(self) -> Path:
        """The calibrated-parameters file written at the end."""
        p = Path(self.config.write)
        return p if p.is_absolute() else self.source.parent / p

    def overrides(self, values: dict[str, int | float]) -> dict[str, Any]:
        """Scenario overrides of a candidate (types as the schema wants them)."""
        out: dict[str, Any] = {}
        for p in self.params:
            v = values[p.path]
            out[p.path] = int(v) if p.is_int else float(v)
        if self.config.end_year is not None:
            out["time.end_year"] = self.config.end_year
        return out

    def scenario(self, values: dict[str, int | float]) -> Scenario:
        """The resolved scenario of a candidate."""
        doc = copy.deepcopy(self.base_doc)
        over = self.overrides(values)
        for k, v in over.items():
            set_path(doc, k, v)
        return validate_document(doc, str(self.scenario_path), tuple(over))

    def values(self, u: Sequence[float]) -> dict[str, int | float]:
        """Parameter values at a point of the unit cube."""
        return {p.path: p.value(x) for p, x in zip(self.params, u, strict=True)}

    def unit(self, values: dict[str, int | float]) -> np.ndarray:
        """The unit-cube point of parameter values."""
        return np.array([p.unit(values[p.path]) for p in self.params])

    def start(self) -> dict[str, int | float]:
        """The start point (config ``start``, else the middle of each range)."""
        return {p.path: p.quantize(p.start if p.start is not None else p.lower + p.span / 2)
                for p in self.params}


def _resolve(folder: Path, ref: str) -> Path:
    p = Path(ref)
    return p if p.is_absolute() else folder / p


def load_config(path: str | Path) -> Problem:
    """Read and check a calibration configuration; every problem is reported at once."""
    path = Path(path)
    doc = read_toml(path)
    if not doc:
        raise ScenarioError(str(path), ["the file is empty: a calibration needs at least `name`, "
                                        "`scenario`, `targets` and one [[parameter]]"])
    wrong_kind(doc, "calibration configuration", str(path))
    folder = path.parent
    # every file the calibration writes lies inside the configuration's folder
    problems = validation_errors(doc, CalibrationConfig)
    for key, default in (("write", "calibrated.toml"), ("output", "output")):
        ref = doc.get(key, default)
        if isinstance(ref, str) and ref and len(ref) <= 1000:
            where = relative_inside(folder, ref, key)
            if isinstance(where, str):
                problems.append(where)
    if problems:
        raise ScenarioError(str(path), problems)
    cfg = CalibrationConfig.model_validate(doc)
    scen_path = _resolve(folder, cfg.scenario)
    targets_path = _resolve(folder, cfg.targets)
    base_doc: dict[str, Any] = {}
    cal_files: list[Path] = []
    try:
        base_doc = load_document(scen_path)
        apply_calibration(base_doc, scen_path)
        cal_files = calibration_files(base_doc, scen_path)
    except ScenarioError as exc:
        problems += [f"scenario: {scen_path}: {e}" for e in exc.errors]
    targets: list[Target] = []
    try:
        targets = load_targets(targets_path)
    except ScenarioError as exc:
        problems += [f"targets: {targets_path}: {e}" for e in exc.errors]
    if problems:
        raise ScenarioError(str(path), problems)
    prob = Problem(cfg, path, scen_path, targets_path, targets, base_doc, cal_files)
    # the scenario must load at both corners of the box (cross-block checks included)
    for corner in ("lower", "upper"):
        vals = {p.path: p.quantize(getattr(p, corner)) for p in cfg.parameter}
        try:
            sc = prob.scenario(vals)
        except ScenarioError as exc:
            problems += [f"scenario: {scen_path} with every parameter at its {corner} bound: {e}"
                         for e in exc.errors]
            break
    else:
        first, last = sc.time.start_year, sc.time.end_year
        for i, t in enumerate(targets):
            if not first <= t.year <= last:
                what = "end_year" if cfg.end_year is not None else "the scenario's time.end_year"
                problems.append(f"targets: {targets_path}: target[{i}] ({t.label}) is outside "
                                f"the simulated years {first}-{last} (see {what})")
        problems += [f"targets: {targets_path}: {e}"
                     for e in scenario_problems(targets, sc, years=False)]
        if cfg.literature:
            from calibration.literature import scenario_document

            try:
                last = scenario_document(prob, vals, cfg.literature_settings.end_year
                                         ).time.end_year
            except ScenarioError as exc:
                last = None
                problems += [f"literature_settings: the scenario {scen_path} run to "
                             f"literature_settings.end_year: {e}" for e in exc.errors]
            for i, s in enumerate(cfg.literature):
                if s.last_year is not None and last is not None and not (
                        first < s.last_year <= last):
                    problems.append(f"literature[{i}].last_year: {s.last_year} is outside the "
                                    f"years of the literature runs {first + 1}-{last} (see "
                                    f"literature_settings.end_year)")
    if problems:
        raise ScenarioError(str(path), problems)
    return prob


# ------------------------------------------------------------------------------ moments
def _target_keys(targets: list[Target]) -> pd.DataFrame:
    rows = []
    for k, t in enumerate(targets):
        by, key = t.selector
        rows.append({"indicator": t.indicator, "year": t.year, "by": by, "key": key, "k": k})
    return pd.DataFrame(rows)


def moments_of_series(series: pd.DataFrame, keys: pd.DataFrame,
                      labels: Sequence[str]) -> dict[tuple[str, int], np.ndarray]:
    """Per (variant, replication): the vector of the targets' values in a tidy series."""
    sub = series.merge(keys, on=["indicator", "year", "by", "key"], how="inner")
    out: dict[tuple[str, int], np.ndarray] = {}
    k_n = len(keys)
    for (variant, rep), g in sub.groupby(["variant", "replication"], sort=False):
        vec = np.full(k_n, np.nan)
        if g["k"].duplicated().any():
            raise CalibrationError(f"run {variant}/{rep}: a target matches several rows")
        vec[g["k"].to_numpy()] = g["value"].to_numpy(float)
        out[(str(variant), int(rep))] = vec
    for key, vec in out.items():
        if np.isnan(vec).any():
            missing = [labels[k] for k in np.flatnonzero(np.isnan(vec))]
            raise CalibrationError(f"run {key[0]}/{key[1]}: no value for target(s) {missing}")
    return out


@dataclass
class Evaluator:
    """Runs candidates (R replications each, on an executor) and caches their moments."""

    problem: Problem
    executor: Executor
    workers: int = 1
    bar: Any = None
    memory: dict[str, np.ndarray] = field(default_factory=dict)
    points: dict[str, dict[str, int | float]] = field(default_factory=dict)
    computed: list[str] = field(default_factory=list)
    hits: int = 0
    seconds: float = 0.0  # model time of the runs made now
    wall: dict[str, float] = field(default_factory=dict)  # model time of each evaluation
    best: float = math.inf
    fresh_runs: list[float] = field(default_factory=list)  # model time of each run made now
    _memo: dict[tuple, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keys = _target_keys(self.problem.targets)
        self.labels = [t.label for t in self.problem.targets]
        self.folder = self.problem.cache_dir / "evaluations"

    def reps(self) -> tuple[int, ...]:
        """The replications of a candidate."""
        return tuple(range(self.problem.config.replications))

    def key(self, sc: Scenario, reps: Sequence[int]) -> str:
        """Cache key: resolved scenario, seed, replications, targets and the model's fingerprint
        (its code, NumPy and Numba versions), so that no evaluation of an earlier model is
        reused after the model changed."""
        blob = json.dumps({"scenario": scenario_hash(sc), "seed": self.problem.config.seed,
                           "model": model_fingerprint(),
                           "replications": list(reps),
                           "targets": [[*t.selector, t.indicator, t.year]
                                       for t in self.problem.targets]}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def key_of(self, values: dict[str, int | float], reps: Sequence[int]
               ) -> tuple[str, Scenario | None]:
        """Cache key of a candidate (and its scenario when it had to be built)."""
        memo = (tuple(sorted(values.items())), tuple(reps))
        if memo in self._memo:
            return self._memo[memo], None
        sc = self.problem.scenario(values)
        key = self.key(sc, reps)
        self._memo[memo] = key
        return key, sc

    def _load(self, key: str) -> np.ndarray | None:
        if key in self.memory:
            return self.memory[key]
        f = self.folder / f"{key}.json"
        if not f.exists():
            return None
        rec = json.loads(f.read_text())
        m = np.array(rec["moments"], float)
        if m.shape != (len(rec["replications"]), len(self.labels)):
            return None  # a damaged entry is run again
        self.memory[key] = m
        self.wall[key] = float(rec.get("wall_seconds", 0.0))
        return m

    def _save(self, key: str, values: dict, sc: Scenario, reps: Sequence[int], m: np.ndarray,
              wall: float) -> None:
        rec = {"key": key, "parameters": values, "scenario_hash": scenario_hash(sc),
               "seed": self.problem.config.seed, "replications": list(reps),
               "targets": self.labels, "moments": m.tolist(), "wall_seconds": wall}
        atomic_write_bytes(self.folder / f"{key}.json",
                           (json.dumps(rec, sort_keys=True) + "\n").encode())
        self.memory[key] = m
        self.wall[key] = wall
        self.computed.append(key)

    def evaluate(self, points: list[dict[str, int | float]],
                 reps: Sequence[int] | None = None) -> list[tuple[str, np.ndarray]]:
        """(key, per-replication moments R x K) of every point; missing ones are run together."""
        reps = tuple(self.reps() if reps is None else reps)
        out: list[tuple[str, np.ndarray | None]] = []
        todo: dict[str, tuple[dict, Scenario]] = {}
        for values in points:
            key, sc = self.key_of(values, reps)
            self.points.setdefault(key, dict(values))
            m = self._load(key)
            if m is None and key not in todo:
                if sc is None:
                    sc = self.problem.scenario(values)
                todo[key] = (values, sc)
            out.append((key, m))
        if todo:
            self._run(todo, reps)
        n_cached = len(points) - len(todo)
        self.hits += n_cached
        if self.bar is not None:
            self.bar.update(len(points))
        return [(k, self.memory[k]) for k, _ in out]

    def _run(self, todo: dict[str, tuple[dict, Scenario]], reps: Sequence[int]) -> None:
        cfg = self.problem.config
        tasks = []
        for key, (_, sc) in todo.items():
            doc, digest = sc.model_dump(mode="json"), scenario_hash(sc)
            tasks += [(key, doc, digest, cfg.seed, r) for r in reps]
        n_workers = max(1, self.workers)
        size = max(1, min(len(reps), math.ceil(len(tasks) / (2 * n_workers))))
        batches = [tasks[i:i + size] for i in range(0, len(tasks), size)]
        got: dict[str, dict[int, np.ndarray]] = {k: {} for k in todo}
        wall: dict[str, float] = dict.fromkeys(todo, 0.0)
        failures: list[str] = []
        window = 1 if isinstance(self.executor, SequentialExecutor) else 4 * n_workers
        for records, blob in _stream(self.executor, batches, window):
            for rec in records:
                wall[rec["variant"]] += rec["wall_seconds"]
                self.seconds += rec["wall_seconds"]
                if rec["status"] == "ok" and not rec.get("cached"):
                    self.fresh_runs.append(rec["wall_seconds"])
                if rec["status"] != "ok":
                    failures.append(f"{todo[rec['variant']][0]} replication "
                                    f"{rec['replication']}:\n{rec['error']}")
            if blob:
                series = pd.read_parquet(io.BytesIO(blob))
                for (k, r), vec in moments_of_series(series, self.keys, self.labels).items():
                    got[k][r] = vec
            for k in {rec["variant"] for rec in records}:
                if len(got[k]) == len(reps) and k not in self.memory:
                    m = np.vstack([got[k][r] for r in reps])
                    self._save(k, dict(todo[k][0]), todo[k][1], reps, m, wall[k])
        if failures:
            raise CalibrationError(f"{len(failures)} run(s) failed; the first, at "
                                   f"{failures[0]}")


def _stream(ex: Executor, batches: list, window: int) -> Iterable[tuple[list[dict], bytes]]:
    """Submit ``run_batch`` tasks keeping at most ``window`` in flight; yield their results."""
    it = iter(batches)
    pending: set[Future] = set()
    try:
        for b in it:
            pending.add(ex.submit(run_batch, b))
            if len(pending) >= window:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.add(ex.submit(run_batch, nxt))
    finally:
        for fut in pending:
            fut.cancel()


# ------------------------------------------------------------------------------ objective
def variance_floor(m: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Least variance of each moment: that of a one-unit event of chance 1/(R+1) (one
    hundredth of the observed value for a moment that is not a whole number)."""
    r = m.shape[0]
    integer = np.all(np.isclose(m, np.round(m)), axis=0) & np.isclose(observed,
                                                                       np.round(observed))
    unit = np.where(integer, 1.0, 0.01 * np.maximum(np.abs(observed), 1e-9))
    p = 1 / (r + 1)
    return p * (1 - p) * unit ** 2


def moment_variance(m: np.ndarray, tol: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Variance of (observed - mean of R simulated) per moment, from per-replication moments
    ``m`` (R x K): ``s^2 (1 + 1/R) + (tol/2)^2``, floored (see :func:`variance_floor`)."""
    r = m.shape[0]
    var = m.var(axis=0, ddof=1) * (1 + 1 / r) + (tol / 2) ** 2
    return np.maximum(var, variance_floor(m, observed))


def weights(m0: np.ndarray, tol: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Diagonal SMM weights from the per-replication moments ``m0`` (R x K) at the start."""
    return 1 / moment_variance(m0, tol, observed)


def objective(m: np.ndarray, observed: np.ndarray, w: np.ndarray,
              idx: np.ndarray | None = None) -> float:
    """J = sum_k w_k (mean over replications - observed)^2 (replications ``idx`` if given)."""
    mean = (m if idx is None else m[idx]).mean(axis=0)
    return float(np.sum(w * (mean - observed) ** 2))


# ------------------------------------------------------------------------------ search
@dataclass
class Search:
    """The estimation steps, sharing one evaluator."""

    problem: Problem
    ev: Evaluator
    w: np.ndarray

    def j_of(self, observed: np.ndarray, idx: np.ndarray | None = None
             ) -> Callable[[list[dict]], list[tuple[str, float]]]:
        """J for a list of points under (resampled) observed values and replications."""
        def f(points: list[dict]) -> list[tuple[str, float]]:
            res = self.ev.evaluate(points)
            return [(k, objective(m, observed, self.w, idx)) for k, m in res]
        return f

    def global_search(self) -> list[str]:
        """Run the configured optimiser; return the keys it evaluated, in order."""
        cfg = self.problem.config.optimizer
        params = self.problem.params
        history: list[str] = []
        obs = self.problem.observed
        jf = self.j_of(obs)

        def record(points: list[dict]) -> list[float]:
            res = jf(points)
            for k, j in res:
                if k not in history:
                    history.append(k)
                self.ev.best = min(self.ev.best, j)
            if self.ev.bar is not None:
                self.ev.bar.set_postfix(best_J=f"{self.ev.best:.4g}", cached=self.ev.hits,
                                        refresh=False)  # shown with the next update, once
            return [j for _, j in res]

        if cfg.method == "differential_evolution":
            from scipy.optimize import differential_evolution

            p = len(params)
            n_pop = cfg.population or max(10, 4 * p)
            popsize = max(1, math.ceil(n_pop / p))
            n_pop = max(5, popsize * p)
            maxiter = max(1, cfg.max_evaluations // n_pop - 1)
            start = self.problem.start()

            def to_values(x: np.ndarray) -> dict:
                return {q.path: q.quantize(v) for q, v in zip(params, x, strict=True)}

            def one(x: np.ndarray) -> float:
                return record([to_values(x)])[0]

            def mapper(func: Callable, xs: Iterable) -> list[float]:
                return record([to_values(np.asarray(x)) for x in xs])

            differential_evolution(
                one, [(q.lower, q.upper) for q in params], maxiter=maxiter, popsize=popsize,
                tol=0.0, atol=0.0, polish=False, init="latinhypercube", updating="deferred",
                workers=mapper, rng=np.random.default_rng(cfg.seed),
                integrality=[q.is_int for q in params],
                x0=np.array([start[q.path] for q in params], float))
        else:
            u0 = self.problem.unit(self.problem.start())
            self._nelder_mead(lambda pts: list(zip(
                [self.ev.key_of(v, self.ev.reps())[0] for v in pts], record(pts),
                strict=True)), u0, cfg.max_evaluations, step=0.25)
        return history

    def _nelder_mead(self, f: Callable[[list[dict]], list[tuple[str, float]]], u0: np.ndarray,
                     budget: int, step: float) -> list[str]:
        """Bounded Nelder-Mead on the unit cube from ``u0``; return the keys it evaluated."""
        from scipy.optimize import minimize

        seen: list[str] = []
        if budget <= 0:
            return seen
        p = len(u0)
        simplex = [np.array(u0, float)]
        for j in range(p):
            v = np.array(u0, float)
            v[j] = v[j] + step if v[j] + step <= 1 else v[j] - step
            simplex.append(v)

        def fun(u: np.ndarray) -> float:
            (key, j), = f([self.problem.values(u)])
            seen.append(key)
            return j

        minimize(fun, np.array(u0, float), method="Nelder-Mead", bounds=[(0.0, 1.0)] * p,
                 options={"maxfev": budget, "initial_simplex": np.array(simplex),
                          "xatol": RESOLUTION, "fatol": 0.0})
        return seen

    def best_of(self, keys: Sequence[str], observed: np.ndarray,
                idx: np.ndarray | None = None) -> tuple[str, float]:
        """The key of least J among ``keys`` (the first on ties)."""
        if not keys:
            raise CalibrationError("no candidate was evaluated")
        stack = np.stack([self.ev.memory[k] for k in keys])  # n x R x K
        mean = (stack if idx is None else stack[:, idx, :]).mean(axis=1)
        js = np.sum(self.w * (mean - observed) ** 2, axis=1)
        i = int(np.argmin(js))
        return keys[i], float(js[i])

    def refine(self, pool: list[str], observed: np.ndarray, idx: np.ndarray | None,
               budget: int) -> tuple[str, float, list[str]]:
        """Best of ``pool``, then a short Nelder-Mead from it: (best key, its J, the keys of the
        Nelder-Mead)."""
        k0, _ = self.best_of(pool, observed, idx)
        jf = self.j_of(observed, idx)
        u0 = self.problem.unit(self.ev.points[k0])
        local = self._nelder_mead(jf, u0, budget,
                                  step=self.problem.config.uncertainty.jacobian_step)
        k, j = self.best_of(list(dict.fromkeys([*pool, *local])), observed, idx)
        return k, j, local

    def jacobian(self, est: dict[str, int | float]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Central finite differences of the mean moments at ``est`` (step ``jacobian_step`` of
        each range, one-sided at a bound): (G per unit of range, rise of J down and up, keys)."""
        prob, h = self.problem, self.problem.config.uncertainty.jacobian_step
        obs = prob.observed
        u_hat = prob.unit(est)
        pts, steps, vu_, vd_ = [], [], [], []
        for j in range(len(prob.params)):
            up, dn = u_hat.copy(), u_hat.copy()
            up[j] = min(1.0, u_hat[j] + h)
            dn[j] = max(0.0, u_hat[j] - h)
            vu, vd = prob.values(up), prob.values(dn)
            vu_.append(vu[prob.params[j].path])
            vd_.append(vd[prob.params[j].path])
            pts += [vu, vd]
            steps.append(prob.unit(vu)[j] - prob.unit(vd)[j])
        res = self.ev.evaluate(pts)
        (_, m_hat), = self.ev.evaluate([est])
        j_hat = objective(m_hat, obs, self.w)
        G = np.zeros((len(obs), len(prob.params)))
        rise = np.full((len(prob.params), 2), math.nan)  # (down, up); NaN at a bound
        for j in range(len(prob.params)):
            mu, md = res[2 * j][1], res[2 * j + 1][1]
            if steps[j] > 0:
                G[:, j] = (mu.mean(axis=0) - md.mean(axis=0)) / steps[j]
            here = est[prob.params[j].path]
            if vd_[j] != here:
                rise[j, 0] = objective(md, obs, self.w) - j_hat
            if vu_[j] != here:
                rise[j, 1] = objective(mu, obs, self.w) - j_hat
        return G, rise, [k for k, _ in res]

    def sandwich_se(self, G: np.ndarray, m_hat: np.ndarray) -> np.ndarray:
        """Standard errors per unit of range: sqrt(diag((G'WG)^-1 G'W Omega W G (G'WG)^-1)),
        Omega = (1 + 1/R) Cov_r(m) (its diagonal floored), the variance of (one history -
        the mean of R simulated ones) under the model: the targets are administrative counts,
        so no reading error is added; inf where G'WG is singular."""
        obs, w = self.problem.observed, self.w
        r, k_n = m_hat.shape
        cov = np.atleast_2d(np.cov(m_hat, rowvar=False, ddof=1))
        omega = (1 + 1 / r) * cov
        omega[np.diag_indices(k_n)] = np.maximum(np.diag(omega), variance_floor(m_hat, obs))
        A = G.T @ (w[:, None] * G)
        se = np.full(G.shape[1], math.inf)
        try:
            if np.linalg.cond(A) < 1e12:
                Ai = np.linalg.inv(A)
                V = Ai @ (G.T @ (w[:, None] * omega * w[None, :]) @ G) @ Ai
                se = np.sqrt(np.clip(np.diag(V), 0, None))
        except np.linalg.LinAlgError:
            pass
        return se

    def local_design(self, est: dict[str, int | float], se_u: np.ndarray) -> list[str]:
        """A seeded Latin hypercube of ``uncertainty.local_points`` candidates in the box
        est +- CLOUD_WIDTH standard errors (Jacobian, per unit of range; between one
        finite-difference step and half the range on each side), run once and shared."""
        prob, u = self.problem, self.problem.config.uncertainty
        p = len(prob.params)
        n = u.local_points if u.local_points is not None else 10 * p
        if n <= 0:
            return []
        from scipy.stats import qmc

        half = np.clip(CLOUD_WIDTH * np.nan_to_num(se_u, nan=math.inf, posinf=math.inf),
                       u.jacobian_step, 0.5)
        centre = np.clip(prob.unit(est), half, 1 - half)  # keep the box inside the bounds
        sample = qmc.LatinHypercube(d=p, rng=np.random.default_rng(u.seed + 1)).random(n)
        pts = [prob.values(centre - half + 2 * half * row) for row in sample]
        return [k for k, _ in self.ev.evaluate(pts)]


# ------------------------------------------------------------------------------ the procedure
@dataclass
class Result:
    """What a calibration found."""

    problem: Problem
    estimates: dict[str, int | float]
    objective: float
    objective_start: float
    weights: np.ndarray
    fit: pd.DataFrame
    uncertainty: dict[str, dict[str, Any]]
    correlations: pd.DataFrame
    boot: np.ndarray  # resamples x parameters
    evaluations: int  # distinct candidates evaluated (cached or not)
    computed: int  # of which run now
    computed_keys: list[str]  # their cache keys
    cached: int  # requests answered from the cache
    wall_seconds: float
    simulation_seconds: float  # model time of every evaluation used (cached ones included)
    held: dict[str, Any]
    jtest: overid.JTest | None = None
    profiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    literature: pd.DataFrame = field(default_factory=pd.DataFrame)
    literature_cost: dict[str, Any] = field(default_factory=dict)
    candidate_seconds: float = math.nan  # R x the median model time of a run made now
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Everything but timing: what must be equal between a resumed and a fresh run."""
        lit = self.literature.drop(columns=["errors"], errors="ignore")
        return {"estimates": self.estimates, "objective": self.objective,
                "uncertainty": self.uncertainty, "fit": self.fit.to_dict(orient="list"),
                "boot": self.boot.tolist(), "held": self.held,
                "overidentification": self.jtest.summary() if self.jtest else {},
                "j_draws": self.jtest.draws.tolist() if self.jtest else [],
                "profiles": self.profiles.to_dict(orient="list"),
                "literature": lit.to_dict(orient="list")}


def _dotted(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        node = node[part]
    return node


def _has(doc: dict[str, Any], path: str) -> bool:
    try:
        _dotted(doc, path)
        return True
    except (KeyError, TypeError):
        return False


def calibrate(config: str | Path | Problem, *, workers: int = 1,
              executor: Executor | None = None, progress: bool = True,
              write: str | Path | None = None) -> Result:
    """Run a calibration (resuming from its cache) and write the calibrated-parameters file.

    ``write`` overrides the config's ``write`` path; ``write=False``-like empty string skips
    writing.  ``executor`` (e.g. from :func:`sim.experiment.runner.dask_executor`) overrides
    ``workers``.
    """
    t0 = time.perf_counter()
    prob = config if isinstance(config, Problem) else load_config(config)
    cfg = prob.config
    params = prob.params
    own = executor is None
    if own and workers > 1:
        prime_kernels()  # forked workers inherit the loaded kernels
    ex = executor if executor is not None else local_pool(workers)
    n_workers = max(1, workers) if own else 2
    prob.cache_dir.mkdir(parents=True, exist_ok=True)
    _write_manifest(prob)
    u = cfg.uncertainty
    n_local = u.local_points if u.local_points is not None else 10 * len(params)
    planned = (1 + cfg.optimizer.max_evaluations + cfg.optimizer.local_evaluations + 1
               + 2 * len(params) + 1 + n_local + u.resamples * u.local_evaluations
               + u.j_draws * u.j_local_evaluations + len(params) * (u.profile_points + 1))
    bar = None
    if progress:
        from sim.progress import progress_bar

        bar = progress_bar(planned, unit="eval", desc=f"calibrate {cfg.name}", file=sys.stderr)
    try:
        ev = Evaluator(prob, ex, n_workers, bar)
        obs, tol = prob.observed, prob.tolerance
        R = cfg.replications
        # 1. weights from the simulated variance at the start point
        start = prob.start()
        (k_start, m_start), = ev.evaluate([start])
        w = weights(m_start, tol, obs) * prob.target_weight
        search = Search(prob, ev, w)
        j_start = objective(m_start, obs, w)
        # 2. global search, then a short polish of its best point
        history = search.global_search()
        if k_start not in history:
            history.insert(0, k_start)
        k_hat, _, polish = search.refine(history, obs, None, cfg.optimizer.local_evaluations)
        pool = list(dict.fromkeys([*history, *polish]))
        # 3. Jacobian and sandwich standard errors at the estimate; a local design sized by
        #    them; the best point of everything evaluated is the estimate (the Jacobian is
        #    measured again if the local design found a better point)
        G, rise, jac_keys = search.jacobian(ev.points[k_hat])
        se_u = search.sandwich_se(G, ev.memory[k_hat])
        cloud = search.local_design(ev.points[k_hat], se_u)
        pool = list(dict.fromkeys([*pool, *jac_keys, *cloud]))
        k_best, _ = search.best_of(pool, obs)
        if k_best != k_hat:
            k_hat = k_best
            G, rise, jac_keys = search.jacobian(ev.points[k_hat])
            se_u = search.sandwich_se(G, ev.memory[k_hat])
            pool = list(dict.fromkeys([*pool, *jac_keys]))
        est = dict(ev.points[k_hat])
        m_hat = ev.memory[k_hat]
        j_hat = objective(m_hat, obs, w)
        # 4. bootstrap: resampled replications (and redrawn observations: one fresh history's
        #    deviation at the estimate, no invented reading error), each re-estimated by the
        #    best point of the pool and a short Nelder-Mead from it
        rng = np.random.default_rng(u.seed)
        idx = rng.integers(0, R, size=(u.resamples, R))
        obs_b = np.tile(obs, (u.resamples, 1))
        if u.data_noise:
            (_, m_pseudo), = ev.evaluate([est], reps=range(R, R + u.resamples))
            obs_b = obs_b + (m_pseudo - m_hat.mean(axis=0))
        boot = np.zeros((u.resamples, len(params)))
        for b in range(u.resamples):
            kb, _, _ = search.refine(pool, obs_b[b], idx[b], u.local_evaluations)
            boot[b] = [ev.points[kb][p.path] for p in params]
        ident, corr = _identification(prob, est, G, rise, se_u, search.w, boot)
        # 5. overidentification: J at the estimate against its distribution under the model
        #    (pseudo-observed data = fresh replications at the estimate, calibration/overid.py)
        jtest = overid.JTest(j_hat, len(obs), len(params), np.zeros(0), np.zeros(0),
                             u.j_local_evaluations)
        if u.j_draws > 0:
            off = overid.J_REPLICATION_OFFSET
            (_, m_j), = ev.evaluate([est], reps=range(off, off + u.j_draws))
            jtest.draws, jtest.draws_at_estimate = overid.j_distribution(
                m_j, lambda o: objective(m_hat, o, w),
                lambda o: search.refine(pool, o, None, u.j_local_evaluations)[1])
        # 6. profiles of the objective, each parameter on a grid, the others at the estimate
        prof = pd.DataFrame(columns=["parameter", "value", "objective", "rise", "at_estimate"])
        if u.profile_points > 0:
            jf = search.j_of(obs)
            prof = profiles.profile(params, est, u.profile_points,
                                    lambda pts: [j for _, j in jf(pts)])
        # 7. the literature's effects measured the literature's way at the estimate
        lit, lit_cost = literature.measure(prob, est, ex, n_workers)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        n = len(list((prob.cache_dir / "evaluations").glob("*.json")))
        print(f"\ninterrupted: {n} evaluations are cached in {prob.cache_dir}/evaluations; run "
              "the same command again to resume", file=sys.stderr)
        raise
    finally:
        if own:
            ex.shutdown(wait=True, cancel_futures=True)
    if bar is not None:
        bar.close()
    fit = _fit_table(prob, m_hat, w)
    sc_hat = prob.scenario(est).model_dump(mode="json")
    held = {}
    for cal in prob.calibration_files:
        if not cal.is_file():
            continue
        for key in read_calibrated(cal, str(prob.scenario_path)):
            if key not in est:
                try:
                    held[key] = _dotted(sc_hat, key)
                except (KeyError, TypeError):
                    continue
    sim_seconds = float(sum(ev.wall.get(k, 0.0) for k in ev.memory))
    res = Result(problem=prob, estimates=est, objective=j_hat, objective_start=j_start,
                 weights=w, fit=fit, uncertainty=ident, correlations=corr, boot=boot,
                 evaluations=len(ev.points), computed=len(ev.computed),
                 computed_keys=list(ev.computed), cached=ev.hits,
                 wall_seconds=time.perf_counter() - t0, simulation_seconds=sim_seconds,
                 held=held, jtest=jtest, profiles=prof, literature=lit,
                 literature_cost=lit_cost,
                 candidate_seconds=(cfg.replications * float(np.median(ev.fresh_runs))
                                    if ev.fresh_runs else math.nan))
    res.meta = _meta(res)
    _write_reports(res)
    target = prob.write_path if write is None else (Path(write) if write else None)
    if target is not None:
        write_calibrated(res, target)
    return res


def _identification(prob: Problem, est: dict, G: np.ndarray, rise: np.ndarray,
                    se_u: np.ndarray, w: np.ndarray, boot: np.ndarray
                    ) -> tuple[dict, pd.DataFrame]:
    """Uncertainty and identification of every parameter."""
    params = prob.params
    h = prob.config.uncertainty.jacobian_step
    sens = np.sqrt(np.clip(np.diag(G.T @ (w[:, None] * G)), 0, None))
    out = {}
    for j, p in enumerate(params):
        col = boot[:, j]
        lo, hi = np.percentile(col, [2.5, 97.5])
        se = float(col.std(ddof=1)) if len(col) > 1 else math.nan
        width = (hi - lo) / p.span
        jac_ok = bool(np.isfinite(se_u[j]) and 2 * 1.96 * se_u[j] < 1.0)
        boot_ok = bool(width <= 0.5)
        reasons = []
        if not boot_ok:
            reasons.append(f"the bootstrap 95% interval covers {width:.0%} of the search range")
        if not jac_ok:
            moves = ", ".join(f"{lab} {r:.3g}" for lab, r in zip(("down", "up"), rise[j],
                                                                   strict=True)
                              if np.isfinite(r))
            if sens[j] * h < 0.5:
                reasons.append(f"the moments hardly move with it (J rises by {moves} when it "
                               f"moves by {h:.0%} of its range)")
            else:
                reasons.append("its effect on the moments is confounded with other parameters' "
                               f"(Jacobian 95% interval wider than the range; J rises by {moves} "
                               f"when it moves by {h:.0%} of its range)")
        out[p.path] = {
            "estimate": est[p.path],
            "se": _r(se), "lower": _r(float(lo), p), "upper": _r(float(hi), p),
            "se_jacobian": _r(float(se_u[j] * p.span)),
            "sensitivity": _r(float(sens[j])),
            "objective_rise_down": _r(float(rise[j, 0])),
            "objective_rise_up": _r(float(rise[j, 1])),
            "at_bound": bool(min(est[p.path] - p.lower, p.upper - est[p.path])
                             <= NEAR_BOUND * p.span),
            "identified": jac_ok and boot_ok,
            "reason": "; ".join(reasons),
        }
    names = [p.path for p in params]
    c = np.full((len(params), len(params)), np.nan)
    if boot.shape[0] > 2 and len(params) > 1:
        ok = boot.std(axis=0) > 0
        if ok.sum() > 1:
            c[np.ix_(ok, ok)] = np.corrcoef(boot[:, ok], rowvar=False)
    return out, pd.DataFrame(c, index=names, columns=names)


def _r(x: float, p: ParameterSpec | None = None) -> float:
    """Round a reported number (to 4 significant digits, or to a parameter's resolution)."""
    if not math.isfinite(x):
        return x
    if p is not None:
        return p.quantize(x)
    return float(f"{x:.4g}")


def _fit_table(prob: Problem, m: np.ndarray, w: np.ndarray) -> pd.DataFrame:
    mean = m.mean(axis=0)
    lo, hi = np.quantile(m, [0.025, 0.975], axis=0)
    rows = []
    for k, t in enumerate(prob.targets):
        rows.append({"target": t.label, "observed": t.value, "tolerance": t.tolerance,
                     "simulated": float(mean[k]), "lower": float(lo[k]), "upper": float(hi[k]),
                     "within": bool(abs(mean[k] - t.value) <= t.tolerance + 1e-9),
                     "contribution": float(w[k] * (mean[k] - t.value) ** 2)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ output
def _rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p.resolve())


def _write_manifest(prob: Problem) -> None:
    from sim.results import write_json

    write_json({"config": prob.config.model_dump(mode="json"), "config_file": _rel(prob.source),
                "scenario": _rel(prob.scenario_path), "targets": _rel(prob.targets_path),
                "seed_scheme": "numpy SeedSequence(seed, spawn_key=(replication,)): the same R "
                               "replications for every candidate (common random numbers)",
                "versions": versions(), "git": git_commit(), "model": model_fingerprint()},
               prob.cache_dir / "manifest.json")


def _meta(res: Result) -> dict[str, Any]:
    prob, cfg = res.problem, res.problem.config
    import scipy

    opt = cfg.optimizer
    if opt.method == "differential_evolution":
        method = (f"simulated method of moments; scipy {scipy.__version__} "
                  f"differential_evolution (seed {opt.seed}, at most {opt.max_evaluations} "
                  f"candidates) then Nelder-Mead polish ({opt.local_evaluations})")
    else:
        method = (f"simulated method of moments; scipy {scipy.__version__} Nelder-Mead on the "
                  f"unit cube (at most {opt.max_evaluations} candidates) then polish "
                  f"({opt.local_evaluations})")
    u = cfg.uncertainty
    n_local = u.local_points if u.local_points is not None else 10 * len(prob.params)
    git = git_commit()
    return {
        "config": _rel(prob.source),
        "name": cfg.name,
        "scenario": _rel(prob.scenario_path),
        "targets": _rel(prob.targets_path),
        "seed": cfg.seed,
        "replications": cfg.replications,
        "seed_scheme": "SeedSequence(seed, spawn_key=(replication,)), replications 0..R-1 for "
                       "every candidate (common random numbers)",
        "end_year": cfg.end_year if cfg.end_year is not None else "scenario's",
        "objective": _r(res.objective),
        "objective_start": _r(res.objective_start),
        "objective_definition": "J = sum_k w_k (mean_r m_kr - observed_k)^2, w_k = 1 / (s_k^2 "
                                "(1 + 1/R) + (tol_k/2)^2), s_k^2 the variance over replications "
                                "at the start point (diagonal, not the optimal weighting: J is "
                                "not chi-square, its distribution is simulated)",
        "moments": len(prob.targets),
        "method": method,
        "uncertainty": (f"bootstrap, {u.resamples} resamples of the replications"
                        + (" and of the observed figures (one fresh replication's deviation at "
                           "the estimate; no reading error added)" if u.data_noise else "")
                        + f", each re-estimated by the best of every candidate evaluated "
                          f"(global search, polish, Jacobian, a local design of {n_local} points "
                          f"within +-{CLOUD_WIDTH:g} Jacobian se of the estimate) and "
                          f"{u.local_evaluations} Nelder-Mead evaluations; identification from "
                          f"a finite-difference Jacobian (step {u.jacobian_step} of each range)"),
        "overidentification": (f"J's distribution simulated from {u.j_draws} fresh "
                               f"replications at the estimate as pseudo-observed data, each "
                               f"re-optimised over every candidate evaluated and "
                               f"{u.j_local_evaluations} Nelder-Mead evaluations "
                               f"(calibration/overid.py)" if u.j_draws else "not simulated"),
        "evaluations": res.evaluations,
        "evaluations_run_now": res.computed,
        "held_fixed": sorted(res.held),
        "versions": versions(),
        "model_fingerprint": model_fingerprint(),
        "git_commit": git["commit"] or "",
        "git_dirty": bool(git["dirty"]),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "run_seconds": round(res.wall_seconds, 1),
        "simulation_seconds": round(res.simulation_seconds, 1),
    }


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_table(d: dict[str, Any]) -> list[str]:
    return [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d.items()
            if v is not None and not isinstance(v, dict)]


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def calibrated_toml(res: Result) -> str:
    """The calibrated-parameters file of a result (TOML text)."""
    meta = dict(res.meta)
    vers = meta.pop("versions")
    lines = [
        "# Calibrated behavioural parameters, written by `clustersim calibrate "
        f"{meta['config']}`.",
        "# The baseline scenario reads [parameters] (its `calibration` key); [uncertainty] and "
        "[[fit]] document",
        "# the estimates (see calibration/smm.py for the method).  Do not edit by hand: rerun "
        "the command.",
        "[meta]", *_toml_table(meta), "", "[meta.versions]", *_toml_table(vers), "",
        "[parameters]",
    ]
    for p in res.problem.params:
        lines.append(f"{_toml_key(p.path)} = {_toml_value(res.estimates[p.path])}")
    if res.held and res.problem.config.write_held:
        lines.append("# held fixed by this calibration (values the scenario read and used):")
        for k, v in res.held.items():
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for path, u in res.uncertainty.items():
        lines += ["", f"[uncertainty.{_toml_key(path)}]", *_toml_table(u)]
    for row in res.fit.to_dict(orient="records"):
        row = {k: (round(v, 6) if isinstance(v, float) and math.isfinite(v) else v)
               for k, v in row.items()}
        lines += ["", "[[fit]]", *_toml_table(row)]
    if res.jtest is not None:
        lines += ["", "[overidentification]", *_toml_table(res.jtest.summary())]
    for row in res.literature.to_dict(orient="records"):
        row = {k: (_r(v) if isinstance(v, float) else v) for k, v in row.items()}
        lines += ["", "[[literature]]", *_toml_table(row)]
    text = "\n".join(lines) + "\n"
    import tomllib

    tomllib.loads(text)  # never write a file that does not read back
    return text


def write_calibrated(res: Result, path: str | Path) -> Path:
    """Write the calibrated-parameters file atomically."""
    path = Path(path)
    atomic_write_bytes(path, calibrated_toml(res).encode())
    return path


def _write_reports(res: Result) -> None:
    d = res.problem.cache_dir
    if len(res.profiles):
        atomic_write_bytes(d / "profiles.csv", res.profiles.to_csv(index=False).encode())
        profiles.figure(res.profiles, res.problem.params, res.estimates, res.objective,
                        d / "profiles.png",
                        f"Calibration {res.problem.config.name}: the objective along each "
                        f"parameter, the others at the estimate", PROFILE_FLAT)
    if res.jtest is not None and len(res.jtest.draws):
        atomic_write_bytes(d / "j_draws.csv", pd.DataFrame({
            "replication": np.arange(len(res.jtest.draws)) + overid.J_REPLICATION_OFFSET,
            "j_reoptimised": res.jtest.draws, "j_at_estimate": res.jtest.draws_at_estimate,
        }).to_csv(index=False).encode())
    if len(res.literature):
        atomic_write_bytes(d / "literature.csv", res.literature.to_csv(index=False).encode())
    atomic_write_bytes(d / "report.txt", (format_report(res) + "\n").encode())
    blob = {"meta": res.meta, **res.summary(),
            "correlations": res.correlations.round(4).to_dict()}
    atomic_write_bytes(d / "result.json",
                       (json.dumps(blob, indent=2, sort_keys=True, default=str) + "\n").encode())


def _fmt(v: float) -> str:
    if isinstance(v, int | np.integer):
        return str(int(v))
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def format_report(res: Result) -> str:
    """The estimates, their uncertainty, identification and the fit of every moment."""
    prob, cfg = res.problem, res.problem.config
    out = [f"Calibration {cfg.name} ({_rel(prob.source)}): {len(prob.targets)} moments, "
           f"{len(prob.params)} parameters, R = {cfg.replications} replications (seed "
           f"{cfg.seed}, common random numbers), {res.evaluations} candidates evaluated "
           f"({res.computed} run now, the rest from the cache), {res.wall_seconds:.1f} s."]
    out.append(f"Objective J = {res.objective:.4g} at the estimate (start point: "
               f"{res.objective_start:.4g}).")
    rows = []
    for p in prob.params:
        u = res.uncertainty[p.path]
        rows.append({"parameter": p.path, "estimate": _fmt(u["estimate"]),
                     "se": _fmt(u["se"]),
                     "95% interval": f"[{_fmt(u['lower'])}, {_fmt(u['upper'])}]",
                     "se (Jacobian)": _fmt(u["se_jacobian"]),
                     "bounds": f"[{_fmt(p.lower)}, {_fmt(p.upper)}]",
                     "identified": ("yes" if u["identified"] else "NO")
                     + (" (at a bound)" if u["at_bound"] else "")})
        at = [p.path for p in prob.params if res.uncertainty[p.path]["at_bound"]]
    with pd.option_context("display.width", 250, "display.max_columns", 20,
                           "display.max_colwidth", 60):
        out.append("\nEstimates (bootstrap se and 95% interval; sandwich se from the "
                   "finite-difference Jacobian):")
        out.append(pd.DataFrame(rows).to_string(index=False))
        poor = [(p.path, res.uncertainty[p.path]["reason"]) for p in prob.params
                if not res.uncertainty[p.path]["identified"]]
        if poor:
            out.append("\nPoorly identified by these targets:")
            out += [f"  {path}: {why}" for path, why in poor]
        else:
            out.append("\nEvery parameter is identified by these targets.")
        if at:
            out.append("At (within 1% of) a search bound, so the bound shapes the estimate: "
                       + ", ".join(at))
        c = res.correlations
        pairs = [(a, b, c.loc[a, b]) for i, a in enumerate(c.index) for b in c.index[i + 1:]
                 if np.isfinite(c.loc[a, b]) and abs(c.loc[a, b]) >= 0.7]
        if pairs:
            out.append("Strongly correlated estimates (traded off by the targets): "
                       + "; ".join(f"{a} ~ {b}: {r:+.2f}" for a, b, r in pairs))
        if res.held:
            out.append("Held fixed (read by the scenario from its calibration file): "
                       + ", ".join(f"{k} = {v}" for k, v in res.held.items()))
        f = res.fit.copy()
        f["95% of runs"] = [f"[{_fmt(a)}, {_fmt(b)}]" for a, b in zip(f["lower"], f["upper"],
                                                                      strict=True)]
        f["within tolerance"] = np.where(f["within"], "yes", "NO")
        for col in ("observed", "tolerance", "simulated", "contribution"):
            f[col] = f[col].map(_fmt)
        out.append(f"\nFit at the estimate ({int(res.fit['within'].sum())} of {len(f)} "
                   "moments within tolerance; contribution = w_k (simulated - observed)^2):")
        out.append(f[["target", "observed", "tolerance", "simulated", "95% of runs",
                      "within tolerance", "contribution"]].to_string(index=False))
        out += _report_overid(res)
        out += _report_profiles(res)
        out += _report_literature(res)
    return "\n".join(out)


def _report_overid(res: Result) -> list[str]:
    j, u = res.jtest, res.problem.config.uncertainty
    if j is None:
        return []
    out = [f"\nOveridentification: J = {j.statistic:.4g} at the estimate ({j.moments} moments, "
           f"{j.parameters} parameters).  The weighting is diagonal, fixed at the start point "
           "and includes the targets' tolerances: it is not the optimal weighting, so J is not "
           f"chi-square({j.degrees_of_freedom}) (that p-value, {_fmt(j.chi2_p_value)}, is not "
           "valid) and its distribution under the model is simulated."]
    if len(j.draws):
        s = j.summary()
        out.append(f"  {len(j.draws)} pseudo-observed data sets (fresh replications "
                   f"{s['replications']} at the estimate, disjoint from the estimation's "
                   f"0..{res.problem.config.replications - 1}), each re-optimised (best of the "
                   f"{res.evaluations} candidates evaluated, then {u.j_local_evaluations} "
                   f"Nelder-Mead evaluations): J median {_fmt(s['draws_median'])}, 90% "
                   f"{_fmt(s['draws_q90'])}, 95% {_fmt(s['draws_q95'])}; simulated p-value "
                   f"{_fmt(j.p_value)} (at the estimate without re-optimisation: "
                   f"{_fmt(j.p_value_at_estimate)}).")
        verdict = ("the model, at its estimate, reproduces the targets together about as well "
                   "as it reproduces its own histories" if j.p_value >= 0.05 else
                   "the targets are not jointly reproduced: Wallonia's figures fit worse than "
                   "95% of the model's own histories")
        out.append(f"  Verdict at 5%: {verdict}.")
    else:
        out.append("  Its distribution was not simulated (uncertainty.j_draws = 0).")
    return out


def _report_profiles(res: Result) -> list[str]:
    if not len(res.profiles):
        return []
    prob = res.problem
    tab = profiles.summary(res.profiles, prob.params, PROFILE_FLAT)
    out = [f"\nProfiles of the objective (each parameter on {prob.config.uncertainty.profile_points}"
           " grid points of its range, the others at the estimate; profiles.csv, profiles.png; "
           f"flat = J within {PROFILE_FLAT:g} of the estimate's):"]
    t = tab.copy()
    for col in ("min_objective", "rise_at_lower", "rise_at_upper"):
        t[col] = t[col].map(_fmt)
    t["argmin"] = t["argmin"].map(_fmt)
    t["flat_share"] = t["flat_share"].map(lambda x: f"{x:.0%}")
    t["min_below_estimate"] = np.where(tab["min_below_estimate"], "YES", "no")
    out.append(t.rename(columns={"min_objective": "least J", "argmin": "at",
                                 "rise_at_lower": "rise at lower", "rise_at_upper":
                                 "rise at upper", "flat_share": "flat share",
                                 "min_below_estimate": "lower than the estimate"}
                        ).to_string(index=False))
    low = tab[tab["min_below_estimate"]]
    if len(low):
        out.append("  A grid point fits better than the estimate along: "
                   + ", ".join(low["parameter"]) + " (the search did not reach the minimum "
                   "along that axis; a longer search or a wider local design would move the "
                   "estimate)")
    return out


def _report_literature(res: Result) -> list[str]:
    lit = res.literature
    if not len(lit):
        return []
    c = res.literature_cost
    out = ["\nLiterature moments (other regions' published effects, used as plausibility "
           "ranges, not Walloon data; measured at the estimate on the simulated firm panel "
           f"with the project's estimators, {c.get('replications')} runs to "
           f"{c.get('end_year')}; not in the objective):"]
    t = pd.DataFrame({
        "moment": lit["moment"], "measured with": lit["estimator"] + " / " + lit["outcome"]
        + " / " + lit["treatment"], "simulated": lit["simulated"].map(_fmt),
        "runs' 95%": [f"[{_fmt(a)}, {_fmt(b)}]" for a, b in zip(lit["lower"], lit["upper"],
                                                                strict=True)],
        "method se": lit["method_se"].map(_fmt),
        "published": [f"[{_fmt(a)}, {_fmt(b)}] {un}".rstrip() for a, b, un in
                      zip(lit["low"], lit["high"], lit["unit"], strict=True)],
        "in range": np.where(lit["within"], "yes", "NO")})
    out.append(t.to_string(index=False))
    out += [f"  {m}: {src}" for m, src in zip(lit["moment"], lit["source"], strict=True)]
    for m, e in zip(lit["moment"], lit["errors"], strict=True):
        if e:
            out.append(f"  {m}: estimator errors: {e}")
    if c:
        per, r = c["seconds_per_replication"], res.problem.config.replications
        n_warm = max(1, int(c.get("warmed_workers", 1)))
        text = (f"  Cost: {per:.2f} s of model and estimation time per replication (run to "
                f"{c['end_year']} with the panel, then the regressions; after a one-off "
                f"warm-up of {c.get('warmup_seconds', 0.0) / n_warm:.0f} s in each of "
                f"{n_warm} worker(s))" + (", measured when first run" if c.get("cached")
                                          else ""))
        if math.isfinite(res.candidate_seconds) and res.candidate_seconds > 0:
            text += (f"; in the objective they would cost about "
                     f"{per * r / res.candidate_seconds:.0f} times a candidate's moments "
                     f"({res.candidate_seconds:.2f} s for R = {r}, from the runs made now)")
        else:
            text += ("; a candidate's cost was not measured this time (every run came from a "
                     "cache)")
        out.append(text + ", so they are reported, not matched.")
    return out


def main_calibrate(config: str, *, workers: int = 1, scheduler: str | None = None,
                   progress: bool = True, write: str | None = None,
                   install: bool = False) -> int:
    """What ``clustersim calibrate`` does; returns the exit status.

    The estimates go to ``write`` when given, else to the config's ``write`` file when
    ``install`` (``calibration/calibrated.toml``, which the baseline reads, for
    ``wallonia.toml``), else only to the output folder (``<output>/<name>/calibrated.toml``):
    a calibration never replaces the tracked file unless asked to.
    """
    from sim.experiment.runner import dask_executor

    executor = client = None
    prob = load_config(config)
    if write is None and not install:
        write = str(prob.cache_dir / "calibrated.toml")
    if scheduler:
        executor, client = dask_executor(scheduler)
    try:
        res = calibrate(prob, workers=workers, executor=executor, progress=progress,
                        write=write)
    except KeyboardInterrupt:
        return 130
    except CalibrationError as exc:
        print(f"{config}: calibration stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        if client is not None:
            client.close()
    print(format_report(res))
    target = prob.write_path if write is None else (Path(write) if write else None)
    if target is not None:
        print(f"\nCalibrated parameters written to {_rel(target)}; cache, report.txt and "
              f"result.json in {_rel(prob.cache_dir)}/")
        if target.resolve() != prob.write_path.resolve():
            print(f"{_rel(prob.write_path)} is unchanged; to replace it with these estimates, "
                  f"run the same command with --install (it resumes from the cache)")
    return 0


__all__ = ["CalibrationConfig", "CalibrationError", "Problem", "Result", "calibrate",
           "calibrated_toml", "format_report", "load_config", "main_calibrate",
           "write_calibrated"]
