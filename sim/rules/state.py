"""What the Region's rules remember during a run, and the table of their decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.rules.evaluation import Record

DECISION_COLUMNS = ("year", "quarter", "object", "name", "process", "rule", "decision",
                    "passed", "score", "reason")


@dataclass
class RuleState:
    """The rules' memory of one run: a :class:`~sim.rules.evaluation.Record` per cluster and
    per pole, the scenario before any scheduled change, and every decision with its reason."""

    clusters: list[Record]
    poles: list[Record]
    base_scenario: Any  # the run's scenario before the policy schedule
    applied_year: int | None = None  # the last year whose scheduled policy is in force
    decisions: list[dict] = field(default_factory=list)
    firm_grants: dict[int, float] = field(default_factory=dict)  # pole grants by company row

    @classmethod
    def new(cls, sc: Any, n_clusters: int, n_poles: int) -> RuleState:
        """Fresh records for a run of scenario ``sc``."""
        return cls([Record() for _ in range(n_clusters)], [Record() for _ in range(n_poles)],
                   sc)

    def decide(self, year: int, quarter: int, obj: str, name: str, process: str, rule: str,
               decision: str, passed: bool | None, score: float | None, reason: str) -> None:
        """Record one decision and its reason."""
        self.decisions.append(dict(zip(DECISION_COLUMNS, (
            year, quarter, obj, name, process, rule, decision, passed,
            None if score is None else float(score), reason), strict=True)))

    def table(self) -> pd.DataFrame:
        """The decisions of the run, one row each, in the order they were taken."""
        return pd.DataFrame(self.decisions, columns=list(DECISION_COLUMNS))

    def factors(self) -> np.ndarray:
        """The clusters' subsidy factors (float64)."""
        return np.array([r.subsidy_factor for r in self.clusters], np.float64)

    def scores(self) -> np.ndarray:
        """The clusters' last evaluation scores (float64)."""
        return np.array([r.score for r in self.clusters], np.float64)
