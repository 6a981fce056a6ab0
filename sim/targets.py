"""Observed figures ("targets") and how to look them up in a run's tidy indicator table.

Format (TOML), one ``[[target]]`` per figure::

    [[target]]
    indicator = "members_total"   # a name from the indicator catalogue
    year = 2006                   # end of that calendar year
    value = 790
    rel_tolerance = 0.10          # or abs_tolerance = ...
    source = "..."
    # optional: weight = 4.0        # multiplies the moment's weight in the calibration (default 1)
    # optional: where = { cluster = "...", actor_type = "...", pole = "...", call = 2 }

A file is checked on its own when it is read (:func:`load_targets`: the catalogue's names and
breakdowns, every error at once) and against the scenario it is set against before anything
runs (:func:`scenario_problems`: years within the run, clusters, poles, calls and cohorts that
the scenario has), so that no target can come out as NaN.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.indicators import BY_NAME
from sim.loader import (
    ScenarioError,
    read_toml,
    show,
    suggestion,
    validation_errors,
    wrong_kind,
)
from sim.scenario import ACTOR_TYPES, INSTRUMENTS, Scenario

WHERE_KEYS = ("actor_type", "call", "cluster", "cohort", "group", "instrument", "pole")
GROUPS = ("members", "non_members")


class Target(BaseModel):
    """One observed figure (checked with its file by :func:`target_checks`)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    indicator: str
    year: int = Field(ge=1900, le=2200)
    value: float
    rel_tolerance: float | None = Field(None, ge=0.0)
    abs_tolerance: float | None = Field(None, ge=0.0)
    # a multiplier of the moment's weight in a calibration's objective (calibration/smm.py):
    # how much the figure counts against the others, a stated choice of the targets' file
    weight: float = Field(1.0, gt=0.0, le=1000.0)
    source: str = Field(min_length=1)
    where: dict[str, str | int] = Field(default_factory=dict)

    @property
    def selector(self) -> tuple[str, str]:
        """The (by, key) pair of the tidy table this target reads."""
        if not self.where:
            return "total", ""
        dims = sorted(self.where)
        return "/".join(dims), "/".join(str(self.where[d]) for d in dims)

    @property
    def tolerance(self) -> float:
        """Absolute tolerance around the observed value."""
        if self.abs_tolerance is not None:
            return self.abs_tolerance
        return abs(self.value) * float(self.rel_tolerance)

    @property
    def label(self) -> str:
        """Short label, e.g. ``members_total[cluster=wood]@2004``."""
        where = ",".join(f"{k}={v}" for k, v in sorted(self.where.items()))
        return f"{self.indicator}{'[' + where + ']' if where else ''}@{self.year}"


def target_checks(doc: dict[str, Any]) -> list[str]:
    """Checks of every ``[[target]]`` across its keys, on the raw document (tolerant of wrong
    types, so they are reported with the field errors)."""
    out = []
    targets = doc.get("target")
    for i, t in enumerate(targets if isinstance(targets, list) else []):
        if not isinstance(t, dict):
            continue
        key, name = f"target[{i}]", t.get("indicator")
        if isinstance(name, str) and name not in BY_NAME:
            out.append(f"{key}.indicator: unknown indicator {show(name)}"
                       f"{suggestion(name, sorted(BY_NAME))} (see `clustersim indicators`)")
            name = None
        if (t.get("rel_tolerance") is None) == (t.get("abs_tolerance") is None):
            out.append(f"{key}: give exactly one of rel_tolerance and abs_tolerance")
        where = t.get("where")
        if not isinstance(where, dict):
            continue
        bad = sorted(str(k) for k in where if k not in WHERE_KEYS)
        for k in bad:
            out.append(f"{key}.where: unknown where key {show(k)}{suggestion(k, list(WHERE_KEYS))} "
                       f"(allowed: {list(WHERE_KEYS)})")
        if isinstance(name, str) and where and not bad:
            by = "/".join(sorted(where))
            if by not in BY_NAME[name].by:
                out.append(f"{key}.where: {name} is not reported by {by!r} (it is by "
                           f"{list(BY_NAME[name].by)})")
    return out


class TargetFile(BaseModel):
    """A targets file."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    target: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> TargetFile:
        problems = target_checks(self.model_dump())
        if problems:
            raise ValueError("; ".join(problems))
        return self


def default_targets_path() -> Path:
    """The seed's figures for 2001-2006, shipped with the package."""
    return Path(str(resources.files("calibration").joinpath("targets/wallonia_2004_2006.toml")))


def load_targets(path: str | Path | None = None) -> list[Target]:
    """Load a targets file (the seed's observed figures, shipped in the package, by default)."""
    if path is None:
        path = default_targets_path()
    doc = read_toml(Path(path))
    wrong_kind(doc, "targets", str(path))
    errors = validation_errors(doc, TargetFile, target_checks)
    if errors:
        raise ScenarioError(str(path), errors)
    return list(TargetFile.model_validate(doc).target)


def scenario_problems(targets: list[Target], sc: Scenario, years: bool = True) -> list[str]:
    """What the targets ask of a scenario that its runs cannot give: a year outside the run
    (unless ``years`` is False), a cluster, pole, call, cohort, actor type, instrument or group
    that it does not have (the target's rows would be missing, its simulated value NaN)."""
    first, last = sc.time.start_year, sc.time.end_year
    known: dict[str, list[Any]] = {
        "cluster": [c.name for c in sc.clusters],
        "pole": [p.name for p in sc.policy.poles.candidates],
        "actor_type": list(ACTOR_TYPES), "instrument": list(INSTRUMENTS), "group": list(GROUPS),
        "cohort": sorted({c.launch_year for c in sc.clusters if first <= c.launch_year <= last}),
    }
    calls = sc.policy.poles.calls if sc.policy.poles.enabled else []
    out = []
    for i, t in enumerate(targets):
        label = t.label if len(t.label) <= 120 else t.label[:117] + "..."
        key = f"target[{i}] ({label})"
        if years and not first <= t.year <= last:
            out.append(f"{key}: year {t.year} is outside the run ({first}-{last})")
        for dim, value in sorted(t.where.items()):
            if dim == "call":
                n = value if isinstance(value, int) else int(value) if str(value).isdigit() else 0
                if not 1 <= n <= len(calls):
                    out.append(f"{key}: where.call = {show(value)}: the scenario has "
                               f"{len(calls)} pole call(s), numbered from 1")
                elif calls[n - 1].year != t.year:
                    out.append(f"{key}: where.call = {show(value)}: call {n} closes in "
                               f"{calls[n - 1].year}, so it has no figures for {t.year}")
                continue
            names = known[dim]
            if str(value) not in [str(x) for x in names]:
                what = {"cohort": "cohorts (launch years within the run)"}.get(dim, f"{dim}s")
                shown = [str(x) for x in names]
                hint = "" if dim == "cohort" else suggestion(str(value), shown)
                out.append(f"{key}: where.{dim} = {show(value)}: the scenario has no such {dim}"
                           f"{hint} (its {what}: "
                           f"{', '.join(shown) or 'none'})")
    return out


def check_against(targets: list[Target], sc: Scenario, source: str) -> None:
    """Refuse targets that the scenario's runs cannot give (see :func:`scenario_problems`)."""
    problems = scenario_problems(targets, sc)
    if problems:
        raise ScenarioError(source, problems)


def lookup(results: pd.DataFrame, target: Target) -> pd.Series:
    """The simulated values of a target's indicator, year and selector (one per run)."""
    by, key = target.selector
    sel = ((results["indicator"] == target.indicator) & (results["year"] == target.year)
           & (results["by"] == by) & (results["key"] == key))
    return results.loc[sel, "value"]
