"""Experiment designs: comparisons, sweeps and sensitivity analyses declared in TOML.

A design names the scenarios to compare (``kind = "compare"``) or a base scenario and the levers
to vary (``kind = "sweep"`` or ``"sensitivity"``), the sampler, the replications, the
indicators and years to report, and the root seed::

    name = "evaluation_policy"
    kind = "compare"
    scenarios = ["../scenarios/baseline.toml", "../scenarios/no_evaluation.toml"]
    replications = 200
    seed = 20010101
    indicators = ["clusters_active", "members_total", "partnerships_launched_cumulative"]
    years = [2006, 2009, 2012]

    # a sweep or a sensitivity analysis instead:
    kind = "sweep"
    base = "../scenarios/baseline.toml"
    [sampler]
    method = "lhs"            # grid, lhs, sobol, morris
    samples = 32
    [[lever]]
    path = "policy.animation.subsidy_eur_per_year"
    lower = 50000.0           # bounds default to the schema's
    upper = 300000.0
    [[lever]]
    path = "policy.evaluation.period_years"
    values = [2, 3, 4]        # grid levels

Paths in a design are relative to the design file.  Designs are refused before anything runs
when a key is unknown, a type or value is wrong, a lever path is not a numeric parameter of the
schema, or a lever range leaves the schema's bounds; all errors at once, like scenario files.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.indicators import BY_NAME
from sim.loader import ScenarioError, format_errors, load_scenario, read_toml
from sim.scenario import Scenario, parameter_bounds

BOUNDS = parameter_bounds()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Lever(_Strict):
    """A parameter varied by a sweep: grid ``values`` or a continuous range."""

    path: str
    values: list[float] | None = Field(None, min_length=1, max_length=1000)
    lower: float | None = None
    upper: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Lever:
        if self.path not in BOUNDS:
            raise ValueError(f"path: {self.path!r} is not a numeric parameter of the scenario "
                             f"schema (see sim.scenario.parameter_bounds())")
        b = BOUNDS[self.path]
        if self.values is not None and (self.lower is not None or self.upper is not None):
            raise ValueError("values: give either values or lower/upper, not both")
        lo, hi = self.range
        low_key, high_key = ("values", "values") if self.values is not None else ("lower", "upper")
        bound = b["lower"]
        if bound is not None and (lo < bound or (b["lower_open"] and lo <= bound)):
            rel = "above" if b["lower_open"] else "at least"
            raise ValueError(f"{low_key}: {lo} is outside the schema's bounds (must be {rel} "
                             f"{bound})")
        if b["upper"] is not None and hi > b["upper"]:
            raise ValueError(f"{high_key}: {hi} is outside the schema's bounds (must be at most "
                             f"{b['upper']})")
        if hi < lo:
            raise ValueError(f"upper: {hi} is below lower ({lo})")
        return self

    @property
    def range(self) -> tuple[float, float]:
        """(lower, upper) of the lever: its values, its bounds or the schema's bounds."""
        if self.values is not None:
            return min(self.values), max(self.values)
        b = BOUNDS[self.path]
        lo = self.lower if self.lower is not None else b["lower"]
        hi = self.upper if self.upper is not None else b["upper"]
        if lo is None or hi is None:
            raise ValueError(f"lower/upper: the schema gives no bound for {self.path!r}; "
                             "state lower and upper")
        return float(lo), float(hi)

    @property
    def is_int(self) -> bool:
        """Whether the parameter is an integer."""
        return BOUNDS[self.path]["type"] == "int"


class Sampler(_Strict):
    """How lever values are drawn."""

    method: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    samples: int = Field(16, ge=1, le=100_000,
                         description="lhs: points; sobol: base samples N (N*(k+2) points); "
                                     "morris: trajectories ((k+1) points each)")
    levels: int = Field(4, ge=2, le=32, description="morris: grid levels")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="seed of the sampler")


class Design(_Strict):
    """A whole experiment design."""

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = Field("", max_length=4000)
    kind: Literal["compare", "sweep", "sensitivity"]
    scenarios: list[str] = Field(default_factory=list, max_length=256)
    base: str | None = None
    lever: list[Lever] = Field(default_factory=list, max_length=64)
    sampler: Sampler = Sampler()
    replications: int = Field(10, ge=1, le=1_000_000)
    seed: int = Field(20010101, ge=0, le=2**63 - 1)
    indicators: list[str] = Field(default_factory=lambda: ["members_total"], min_length=1)
    years: list[int] = Field(default_factory=list, max_length=200)
    batch_size: int = Field(0, ge=0, le=100_000,
                            description="runs per task; 0 picks one so each worker gets a few")

    @model_validator(mode="after")
    def _check(self) -> Design:
        problems = []
        for i, name in enumerate(self.indicators):
            if name not in BY_NAME:
                problems.append(f"indicators[{i}]: unknown indicator {name!r} "
                                "(see `clustersim indicators`)")
        if self.kind == "compare":
            if len(self.scenarios) < 2:
                problems.append("scenarios: a comparison needs at least two scenarios (the "
                                "first is the reference)")
            if self.lever:
                problems.append("lever: a comparison has no levers (use kind = \"sweep\")")
        else:
            if self.base is None:
                problems.append(f"base: a {self.kind} needs a base scenario")
            if not self.lever:
                problems.append(f"lever: a {self.kind} needs at least one lever")
            if self.scenarios:
                problems.append(f"scenarios: a {self.kind} varies levers of one base; list "
                                "scenarios only in a comparison")
            if self.kind == "sensitivity" and self.sampler.method not in ("sobol", "morris"):
                problems.append("sampler.method: a sensitivity analysis samples with sobol or "
                                "morris")
            paths = [lv.path for lv in self.lever]
            if len(set(paths)) != len(paths):
                problems.append(f"lever: a parameter is varied twice: {paths}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def load_design(path: str | Path) -> tuple[Design, Path]:
    """Read and validate a design file; return it and its folder (for relative paths)."""
    path = Path(path)
    doc = read_toml(path)
    if not doc:
        raise ScenarioError(str(path), ["the file is empty: a design needs at least `name` and "
                                        "`kind`"])
    return validate_design(doc, str(path), path.parent), path.parent


def validate_design(doc: dict[str, Any], source: str, folder: Path) -> Design:
    """Validate a design document and the scenarios it names, all errors at once.

    Every scenario must load, and every year asked for must lie within every scenario's run.
    """
    try:
        design = Design.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError(source, format_errors(exc, Design)) from None
    problems = []
    refs = design.scenarios or [design.base]
    for i, ref in enumerate(refs):
        key = f"scenarios[{i}]" if design.scenarios else "base"
        p = resolve(folder, ref)
        try:
            sc = load_scenario(p)
        except ScenarioError as exc:
            problems += [f"{key}: {p}: {e}" for e in exc.errors]
            continue
        for j, year in enumerate(design.years):
            if not sc.time.start_year <= year <= sc.time.end_year:
                problems.append(f"years[{j}]: {year} is outside the run of {key} ({p.name}: "
                                f"{sc.time.start_year}-{sc.time.end_year})")
    if problems:
        raise ScenarioError(source, problems)
    return design


def resolve(folder: Path, ref: str) -> Path:
    """A scenario reference of a design: a path relative to the design, or an embedded name."""
    p = Path(ref)
    if p.suffix != ".toml":
        from sim.loader import embedded_path

        return embedded_path(ref)
    return p if p.is_absolute() else folder / p


# ------------------------------------------------------------------------------ points
def _unit_samples(design: Design) -> np.ndarray:
    """Sample points in the unit cube (rows) for lhs / sobol / morris."""
    from SALib.sample import latin, morris, sobol

    s = design.sampler
    problem = salib_problem(design)
    if s.method == "lhs":
        return latin.sample(problem, s.samples, seed=s.seed)
    if s.method == "sobol":
        return sobol.sample(problem, s.samples, calc_second_order=False, seed=s.seed)
    return morris.sample(problem, s.samples, num_levels=s.levels, seed=s.seed)


def salib_problem(design: Design) -> dict[str, Any]:
    """The SALib problem of a design's levers."""
    return {"num_vars": len(design.lever), "names": [lv.path for lv in design.lever],
            "bounds": [list(lv.range) for lv in design.lever]}


def points(design: Design) -> list[dict[str, float | int]]:
    """The lever settings of every design point, in a stable order."""
    levers = design.lever
    if design.sampler.method == "grid":
        grids = []
        for lv in levers:
            if lv.values is not None:
                grids.append(lv.values)
            else:
                lo, hi = lv.range
                grids.append(list(np.linspace(lo, hi, design.sampler.levels)))
        rows = [list(p) for p in itertools.product(*grids)]
    else:
        rows = _unit_samples(design).tolist()  # SALib scales to the bounds already
    out = []
    for row in rows:
        pt: dict[str, float | int] = {}
        for lv, v in zip(levers, row, strict=True):
            pt[lv.path] = round(v) if lv.is_int else float(v)
        out.append(pt)
    return out


def point_id(settings: dict[str, Any]) -> str:
    """A stable identifier of a design point (a hash of its settings)."""
    blob = json.dumps(settings, sort_keys=True)
    return "p" + hashlib.sha256(blob.encode()).hexdigest()[:12]


def variants(design: Design, folder: Path) -> list[tuple[str, Scenario, dict[str, Any]]]:
    """(variant key, resolved scenario, lever settings) for every variant of the design."""
    out = []
    if design.kind == "compare":
        seen = set()
        for ref in design.scenarios:
            sc = load_scenario(resolve(folder, ref))
            key = sc.name
            if key in seen:
                raise ScenarioError(ref, [f"name: two compared scenarios are both named {key!r}"])
            seen.add(key)
            out.append((key, sc, {}))
        return out
    base_path = resolve(folder, design.base or "baseline")
    for k, settings in enumerate(points(design)):
        sc = load_scenario(base_path, overrides=settings)
        out.append((f"{k:05d}-{point_id(settings)}", sc, settings))
    return out
