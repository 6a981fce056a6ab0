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
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.indicators import BY_NAME
from sim.loader import (
    ScenarioError,
    embedded_names,
    embedded_path,
    load_scenario,
    plain_name,
    read_toml,
    show,
    suggestion,
    validation_errors,
    wrong_kind,
)
from sim.scenario import MOVED_KEYS, Scenario, parameter_bounds

BOUNDS = parameter_bounds()
# a design point's resolved scenario is loaded before anything runs and kept in the manifest
# (about 15 kB each): 20,000 points make a 300 MB manifest; runs: weeks on a few cores
MAX_POINTS = 20_000
MAX_RUNS = 10_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Lever(_Strict):
    """A parameter varied by a sweep: grid ``values`` or a continuous range (checked with the
    whole design by :func:`design_checks`)."""

    path: str
    values: list[float] | None = Field(None, min_length=1, max_length=1000)
    lower: float | None = None
    upper: float | None = None

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

    name: str = Field(min_length=1, max_length=80)
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

    _name = field_validator("name")(classmethod(lambda cls, v: plain_name(v)))

    @model_validator(mode="after")
    def _check(self) -> Design:
        problems = design_checks(self.model_dump())
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _num(x: Any) -> float | None:
    ok = isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
    return float(x) if ok else None


def lever_problems(lever: Any, i: int, sampler: dict[str, Any]) -> list[str]:
    """The problems of one ``[[lever]]`` of a raw design document (values of a wrong type are
    left to the schema's field errors)."""
    if not isinstance(lever, dict) or not isinstance(lever.get("path"), str):
        return []
    key, path = f"lever[{i}]", lever["path"]
    if path in MOVED_KEYS:
        return [f"{key}.path: {show(path)} has moved to {MOVED_KEYS[path]} (a behavioural "
                "response, not a lever of the Region: issue 16)"]
    if path not in BOUNDS:
        return [f"{key}.path: {show(path)} is not a numeric parameter of the scenario schema"
                f"{suggestion(path, sorted(BOUNDS))} (see sim.scenario.parameter_bounds())"]
    b = BOUNDS[path]
    values, lower, upper = lever.get("values"), lever.get("lower"), lever.get("upper")
    if values is not None and (lower is not None or upper is not None):
        return [f"{key}.values: give either values or lower/upper, not both"]
    out = []
    whole = b["type"] == "int"
    if values is not None:
        nums = [_num(v) for v in values] if isinstance(values, list) else [None]
        if not nums or None in nums:
            return []
        if whole:
            out += [f"{key}.values[{j}]: {v} is not a whole number, and {path} is an integer "
                    f"parameter (it would run as {round(v)})"
                    for j, v in enumerate(nums) if not v.is_integer()]
        lo, hi, low_key, high_key = min(nums), max(nums), f"{key}.values", f"{key}.values"
    else:
        given = {"lower": lower, "upper": upper}
        for name, v in given.items():
            if v is not None and _num(v) is None:
                return []
            if whole and v is not None and not float(v).is_integer():
                out.append(f"{key}.{name}: {v} is not a whole number, and {path} is an integer "
                           "parameter")
        lo = float(lower) if lower is not None else b["lower"]
        hi = float(upper) if upper is not None else b["upper"]
        if lo is None or hi is None:
            which = "lower" if lo is None else "upper"
            return [*out, f"{key}.{which}: the schema gives no bound for {path!r}; state lower "
                          "and upper"]
        low_key, high_key = f"{key}.lower", f"{key}.upper"
        method, levels = sampler.get("method", "grid"), sampler.get("levels", 4)
        if whole and method == "grid" and isinstance(levels, int) and 2 <= levels <= 32:
            grid = np.linspace(lo, hi, levels)
            off = [float(x) for x in grid if not float(x).is_integer()]
            if off and not out:
                out.append(f"{key}: a grid of {levels} levels from {lo:g} to {hi:g} falls "
                           f"between whole numbers ({off[0]:.4g}), and {path} is an integer "
                           "parameter; give its values (values = [...])")
    bound = b["lower"]
    if bound is not None and (lo < bound or (b["lower_open"] and lo <= bound)):
        rel = "above" if b["lower_open"] else "at least"
        out.append(f"{low_key}: {lo} is outside the schema's bounds (must be {rel} {bound})")
    if b["upper"] is not None and hi > b["upper"]:
        out.append(f"{high_key}: {hi} is outside the schema's bounds (must be at most "
                   f"{b['upper']})")
    if hi < lo or (values is None and hi == lo):
        out.append(f"{key}.upper: {hi} must be above lower ({lo}): a lever's range cannot be "
                   "empty (give values = [x] for a single value)" if hi == lo else
                   f"{key}.upper: {hi} is below lower ({lo})")
    return out


def design_checks(doc: dict[str, Any]) -> list[str]:
    """Checks of a design across its keys, on the raw document (tolerant of wrong types, so
    they are reported together with the field errors, as for scenarios)."""
    problems = []
    indicators = doc.get("indicators")
    for i, name in enumerate(indicators if isinstance(indicators, list) else []):
        if isinstance(name, str) and name not in BY_NAME:
            problems.append(f"indicators[{i}]: unknown indicator {show(name)}"
                            f"{suggestion(name, sorted(BY_NAME))} (see `clustersim indicators`)")
    kind = doc.get("kind")
    levers = doc.get("lever") if isinstance(doc.get("lever"), list) else []
    scenarios = doc.get("scenarios")
    sampler = doc.get("sampler") if isinstance(doc.get("sampler"), dict) else {}
    if kind == "compare":
        if (isinstance(scenarios, list) and len(scenarios) < 2) or scenarios is None:
            problems.append("scenarios: a comparison needs at least two scenarios (the first "
                            "is the reference)")
        if levers:
            problems.append("lever: a comparison has no levers (use kind = \"sweep\")")
    elif kind in ("sweep", "sensitivity"):
        if doc.get("base") is None:
            problems.append(f"base: a {kind} needs a base scenario")
        if not levers and not isinstance(doc.get("lever"), dict):
            problems.append(f"lever: a {kind} needs at least one lever")
        if scenarios:
            problems.append(f"scenarios: a {kind} varies levers of one base; list scenarios "
                            "only in a comparison")
        if kind == "sensitivity" and sampler.get("method", "grid") not in ("sobol", "morris"):
            problems.append("sampler.method: a sensitivity analysis samples with sobol or "
                            "morris")
        for i, lv in enumerate(levers):
            problems += lever_problems(lv, i, sampler)
        paths = [lv.get("path") for lv in levers if isinstance(lv, dict)]
        paths = [p for p in paths if isinstance(p, str)]
        if len(set(paths)) != len(paths):
            problems.append(f"lever: a parameter is varied twice: {show(paths)}")
    problems += _size_problems(doc, kind, levers, scenarios, sampler)
    return problems


def _size_problems(doc: dict[str, Any], kind: Any, levers: list, scenarios: Any,
                   sampler: dict[str, Any]) -> list[str]:
    """A design too large to plan: more than :data:`MAX_POINTS` points or
    :data:`MAX_RUNS` runs (counted from well-typed keys only)."""
    def count(x: Any, default: int) -> int | None:
        return x if isinstance(x, int) and not isinstance(x, bool) and x >= 0 else \
            default if x is None else None

    reps = count(doc.get("replications"), 10)
    if kind == "compare":
        points = len(scenarios) if isinstance(scenarios, list) else None
    else:
        method = sampler.get("method", "grid")
        if not isinstance(method, str):
            return []  # the schema says what a method is
        samples, levels = count(sampler.get("samples"), 16), count(sampler.get("levels"), 4)
        k = len(levers)
        if method == "grid":
            sizes = [len(lv["values"]) if isinstance(lv, dict) and isinstance(lv.get("values"), list)
                     else levels for lv in levers]
            points = math.prod(sizes) if None not in sizes else None
        elif samples is None:
            points = None
        else:
            points = samples * {"lhs": 1, "sobol": k + 2, "morris": k + 1}.get(method, 1)
    if points is None or reps is None:
        return []
    if points > MAX_POINTS:
        return [f"sampler: the design has {points:,} points, more than {MAX_POINTS:,} (each "
                "point's scenario is resolved before anything runs and kept in the manifest); "
                "use fewer samples, levels or values"]
    if points * reps > MAX_RUNS:
        return [f"replications: {points:,} points x {reps:,} replications make "
                f"{points * reps:,} runs, more than {MAX_RUNS:,}"]
    return []


def load_design(path: str | Path, kinds: tuple[str, ...] | None = None
                ) -> tuple[Design, Path]:
    """Read and validate a design file; return it and its folder (for relative paths).

    ``kinds``: the kinds of design the caller runs; another kind is refused before the design's
    scenarios are read."""
    path = Path(path)
    doc = read_toml(path)
    if not doc:
        raise ScenarioError(str(path), ["the file is empty: a design needs at least `name` and "
                                        "`kind`"])
    wrong_kind(doc, "design", str(path))
    kind = doc.get("kind")
    if kinds and kind in ("compare", "sweep", "sensitivity") and kind not in kinds:
        raise ScenarioError(str(path), [
            f"kind: this command runs designs of kind {' or '.join(map(repr, kinds))}; this one "
            f"is {kind!r}: run it with `clustersim sweep {path}`"])
    return validate_design(doc, str(path), path.parent), path.parent


def validate_design(doc: dict[str, Any], source: str, folder: Path) -> Design:
    """Validate a design document and the scenarios it names, all errors at once.

    Every scenario must load, and every year asked for must lie within every scenario's run.
    The scenarios are loaded even when the design has errors of its own, so that every problem
    of the files shows in one go.
    """
    problems = validation_errors(doc, Design, design_checks)
    scenarios, base = doc.get("scenarios"), doc.get("base")
    if isinstance(scenarios, list) and scenarios:
        refs = [(f"scenarios[{i}]", r) for i, r in enumerate(scenarios) if isinstance(r, str)]
    else:
        refs = [("base", base)] if isinstance(base, str) else []
    years = doc.get("years") if isinstance(doc.get("years"), list) else []
    names: dict[str, str] = {}
    for key, ref in refs:
        p = resolve(folder, ref)
        if isinstance(p, str):
            problems.append(f"{key}: {p}")
            continue
        try:
            sc = load_scenario(p)
        except ScenarioError as exc:
            problems += [f"{key}: {p}: {e}" for e in exc.errors]
            continue
        if sc.name in names and key != "base":
            problems.append(f"{key}: {p.name} is named {sc.name!r}, as {names[sc.name]} is: "
                            "compared scenarios need distinct names (set `name` in one)")
        names.setdefault(sc.name, key)
        for j, year in enumerate(years):
            if isinstance(year, int) and not sc.time.start_year <= year <= sc.time.end_year:
                problems.append(f"years[{j}]: {year} is outside the run of {key} ({p.name}: "
                                f"{sc.time.start_year}-{sc.time.end_year})")
    if problems:
        raise ScenarioError(source, list(dict.fromkeys(problems)))
    return Design.model_validate(doc)


def resolve(folder: Path, ref: str) -> Path | str:
    """A scenario reference of a design: a path relative to the design, or the name of an
    embedded scenario (an error message instead for a name that is neither)."""
    p = Path(ref)
    if p.suffix != ".toml":
        names = embedded_names()
        if ref not in names:
            return (f"no embedded scenario {show(ref)}{suggestion(ref, names)} (embedded: "
                    f"{', '.join(names)}; a path to a scenario file ends in .toml)")
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
            p = resolve(folder, ref)
            if isinstance(p, str):
                raise ScenarioError(ref, [p])
            sc = load_scenario(p)
            key = sc.name
            if key in seen:
                raise ScenarioError(ref, [f"name: two compared scenarios are both named {key!r}"])
            seen.add(key)
            out.append((key, sc, {}))
        return out
    base_path = resolve(folder, design.base or "baseline")
    if isinstance(base_path, str):
        raise ScenarioError("design", [f"base: {base_path}"])
    for k, settings in enumerate(points(design)):
        sc = load_scenario(base_path, overrides=settings)
        out.append((f"{k:05d}-{point_id(settings)}", sc, settings))
    return out
