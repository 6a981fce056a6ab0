"""Overidentification: the calibration's J statistic at the estimate and its distribution under
the model, simulated (issue 16, "Calibration of the structure").

The statistic.  The calibration minimises ``J(theta) = sum_k w_k (mean_r m_kr(theta) -
observed_k)^2`` with *diagonal* weights ``w_k = 1 / (s_k^2 (1 + 1/R) + (tol_k/2)^2)`` measured at
the start point (:func:`calibration.smm.weights`).  This is Hansen's J only with the optimal
weighting, the inverse of the full covariance matrix of (observed - simulated) at the true
parameters; ours is not optimal: it is diagonal (the moments are correlated: members in 2004 and
in 2006, launched and active partnerships...), it is measured at the start point rather than at
the estimate, and it adds the targets' tolerances, which keep a figure known loosely from
weighing as much as one known exactly.  So J at the estimate is not chi-square with K - P degrees
of freedom, and a chi-square p-value would be wrong (it is printed for reference only).  Its
distribution under the hypothesis that the model, at the estimate, produced the observed figures
is simulated instead.

The simulation.  B pseudo-observed data sets: B fresh replications of the model at the estimate
(replications ``J_REPLICATION_OFFSET + b``, seeded as every run by ``SeedSequence(seed,
spawn_key=(replication,))``; the estimation uses replications 0..R-1 and the bootstrap's
pseudo-histories R..R+resamples-1, so the three sets of histories are disjoint).  Each stands for
the one history Wallonia lived, if the model were right.  For each, J is computed as the
calibration computes it, with the same weights and the same R estimation replications of every
candidate:

* *at the estimate* (no re-optimisation): ``J_b = sum_k w_k (mean_r m_kr(theta_hat) -
  pseudo_bk)^2``; it overstates the J that an estimation on that pseudo-history would reach;
* *re-optimised* (the reported p-value): the least J over every candidate the calibration has
  evaluated (global search, polish, Jacobian points and the local design around the estimate),
  then ``uncertainty.j_local_evaluations`` Nelder-Mead evaluations from there, as the bootstrap
  re-estimates.  The observed J had a global search, the pseudo ones a local one, so the
  re-optimised J_b are if anything too large and the p-value errs on the side of not rejecting.

The p-value is ``(1 + #{J_b >= J}) / (B + 1)``: the share of pseudo-histories of the model that
fit at least as badly as Wallonia's figures.  A small p-value says the model cannot reproduce
the targets together at any of the parameter values searched, beyond what its own randomness
explains.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

J_REPLICATION_OFFSET = 1_000_000  # replication of the first pseudo-observed data set


@dataclass
class JTest:
    """J at the estimate and its simulated distribution."""

    statistic: float  # J at the estimate (observed figures)
    moments: int
    parameters: int
    draws: np.ndarray  # J of each pseudo-observed data set, re-optimised
    draws_at_estimate: np.ndarray  # the same, at the estimate (no re-optimisation)
    local_evaluations: int  # Nelder-Mead evaluations per re-optimisation
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def degrees_of_freedom(self) -> int:
        """K - P (what a chi-square would have, with the optimal weighting)."""
        return self.moments - self.parameters

    @property
    def p_value(self) -> float:
        """Simulated p-value of the observed J against the re-optimised draws."""
        return simulated_p_value(self.statistic, self.draws)

    @property
    def p_value_at_estimate(self) -> float:
        """Simulated p-value against the draws at the estimate (no re-optimisation)."""
        return simulated_p_value(self.statistic, self.draws_at_estimate)

    @property
    def chi2_p_value(self) -> float:
        """The chi-square(K - P) p-value: for reference only (the weighting is not optimal)."""
        from scipy.stats import chi2

        df = self.degrees_of_freedom
        return float(chi2.sf(self.statistic, df)) if df > 0 else math.nan

    def summary(self) -> dict[str, Any]:
        """Plain numbers for the reports (and the resume check)."""
        q = (np.quantile(self.draws, [0.5, 0.9, 0.95]).tolist() if len(self.draws)
             else [math.nan] * 3)
        return {"statistic": _r(self.statistic), "moments": self.moments,
                "parameters": self.parameters, "degrees_of_freedom": self.degrees_of_freedom,
                "draws": len(self.draws), "local_evaluations": self.local_evaluations,
                "p_value": _r(self.p_value), "p_value_at_estimate":
                    _r(self.p_value_at_estimate), "chi2_p_value_not_valid": _r(self.chi2_p_value),
                "draws_median": _r(q[0]), "draws_q90": _r(q[1]), "draws_q95": _r(q[2]),
                "weighting": "diagonal, fixed at the start point, tolerances included: not "
                             "the optimal weighting, so J is not chi-square and its "
                             "distribution is simulated",
                "replications": (f"{J_REPLICATION_OFFSET}..{J_REPLICATION_OFFSET + len(self.draws) - 1}"
                                 if len(self.draws) else ""),
                **self.details}


def simulated_p_value(statistic: float, draws: Sequence[float] | np.ndarray) -> float:
    """``(1 + #{draws >= statistic}) / (B + 1)`` (NaN without draws)."""
    d = np.asarray(draws, float)
    if d.size == 0:
        return math.nan
    return float((1 + np.sum(d >= statistic)) / (d.size + 1))


def j_distribution(pseudo: np.ndarray, at_estimate: Callable[[np.ndarray], float],
                   refit: Callable[[np.ndarray], float]) -> tuple[np.ndarray, np.ndarray]:
    """J of each pseudo-observed data set (rows of ``pseudo``, B x K): (re-optimised by
    ``refit``, at the estimate by ``at_estimate``).  Both functions take an observed vector."""
    pseudo = np.atleast_2d(np.asarray(pseudo, float))
    at = np.array([at_estimate(p) for p in pseudo], float)
    re = np.array([refit(p) for p in pseudo], float)
    return re, at


def _r(x: float) -> float:
    return float(f"{x:.4g}") if math.isfinite(x) else x


__all__ = ["J_REPLICATION_OFFSET", "JTest", "j_distribution", "simulated_p_value"]
