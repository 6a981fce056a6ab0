"""Observed figures ("targets") and how to look them up in a run's tidy indicator table.

Format (TOML), one ``[[target]]`` per figure::

    [[target]]
    indicator = "members_total"   # a name from the indicator catalogue
    year = 2006                   # end of that calendar year
    value = 790
    rel_tolerance = 0.10          # or abs_tolerance = ...
    source = "..."
    # optional: where = { cluster = "...", actor_type = "...", pole = "...", call = 2 }
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.indicators import BY_NAME
from sim.loader import ScenarioError, format_errors, read_toml

WHERE_KEYS = ("actor_type", "call", "cluster", "cohort", "group", "instrument", "pole")


class Target(BaseModel):
    """One observed figure."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    indicator: str
    year: int = Field(ge=1900, le=2200)
    value: float
    rel_tolerance: float | None = Field(None, ge=0.0)
    abs_tolerance: float | None = Field(None, ge=0.0)
    source: str = Field(min_length=1)
    where: dict[str, str | int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Target:
        if self.indicator not in BY_NAME:
            raise ValueError(f"unknown indicator {self.indicator!r} (see `clustersim indicators`)")
        if (self.rel_tolerance is None) == (self.abs_tolerance is None):
            raise ValueError("give exactly one of rel_tolerance and abs_tolerance")
        bad = sorted(set(self.where) - set(WHERE_KEYS))
        if bad:
            raise ValueError(f"unknown where key(s) {bad} (allowed: {list(WHERE_KEYS)})")
        by, _ = self.selector
        if by not in BY_NAME[self.indicator].by:
            raise ValueError(f"{self.indicator} is not reported by {by!r} "
                             f"(it is by {list(BY_NAME[self.indicator].by)})")
        return self

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


class TargetFile(BaseModel):
    """A targets file."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    target: list[Target] = Field(min_length=1)


def default_targets_path() -> Path:
    """The seed's figures for 2001-2006, shipped with the package."""
    return Path(str(resources.files("calibration").joinpath("targets/wallonia_2004_2006.toml")))


def load_targets(path: str | Path | None = None) -> list[Target]:
    """Load a targets file (the seed's observed figures, shipped in the package, by default)."""
    if path is None:
        path = default_targets_path()
    doc = read_toml(Path(path))
    try:
        return list(TargetFile.model_validate(doc).target)
    except ValidationError as exc:
        raise ScenarioError(str(path), format_errors(exc, TargetFile)) from None


def lookup(results: pd.DataFrame, target: Target) -> pd.Series:
    """The simulated values of a target's indicator, year and selector (one per run)."""
    by, key = target.selector
    sel = ((results["indicator"] == target.indicator) & (results["year"] == target.year)
           & (results["by"] == by) & (results["key"] == key))
    return results.loc[sel, "value"]
