"""The estimators' coverage study: every registered estimator on synthetic panels with a known
effect, many Monte Carlo replications (sim/evaluation/synthetic.py, sim/evaluation/truth.py).

Run from the repository root::

    python -m benchmarks.estimators               # 200 replications (~4.5 min on 2 cores)
    python -m benchmarks.estimators --reps 60     # what CI runs (.ci/run; about 40 s)

Design (the same as ``tests/test_evaluation_estimators.py``, which runs it in a small
configuration; CI runs this command at :data:`CI_REPS`): 150 firms, 2001-2010, cohorts joining
in 2004, 2006 and 2008, no selection, so every estimator is unbiased; replication r is
``synthetic_pair(design, seed=SEED, key=r)``. For each estimator the table gives the bias and
its Monte Carlo standard error, the coverage of its 95% interval and the mean reported standard
error against the actual spread of its errors, and checks them against :func:`bounds`: the bias
within 3 Monte Carlo standard errors of 0; the coverage within 3 binomial standard errors of
0.95 (at R replications: ``3 sqrt(0.95 x 0.05 / R)``, 0.046 at 200), except that the
propensity-score estimators may over-cover (their firm-clustered errors treat the estimated
score as known: Hirano, Imbens & Ridder 2003); the mean standard error within 20% of the spread
(30% below 100 replications). Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import pandas as pd

from sim.evaluation import estimators as E
from sim.evaluation.synthetic import SyntheticDesign, monte_carlo
from sim.evaluation.truth import score

SEED = 20260        # root seed of the study; replication r uses spawn key r
CI_REPS = 60        # the replications CI runs (.ci/run)
OVER_COVER = ("psm_did", "ipw_did")  # estimated score treated as known: conservative intervals


def design() -> SyntheticDesign:
    """The study's synthetic design (no selection: every estimator is unbiased)."""
    return SyntheticDesign(n_firms=150, first_year=2001, last_year=2010,
                           cohorts=(2004, 2006, 2008))


def estimators() -> tuple[str, ...]:
    """Every registered estimator."""
    return tuple(E.REGISTRY)


def bounds(reps: int) -> dict[str, float]:
    """The checks' bounds at ``reps`` replications (see the module's docstring)."""
    half = 3 * math.sqrt(0.95 * 0.05 / reps)
    return {"coverage_low": 0.95 - half, "coverage_high": min(1.0, 0.95 + half),
            "se_rel": 0.2 if reps >= 100 else 0.3}


def study(reps: int) -> pd.DataFrame:
    """The score table by estimator with each check's verdict (column ``failed``: what failed,
    empty when all hold)."""
    est, truth = monte_carlo(design(), reps, seed=SEED, estimators=estimators())
    s = score(est, truth).set_index("estimator")
    b = bounds(reps)
    failed = []
    for name, row in s.iterrows():
        why = []
        if row["failures"] > 0:
            why.append(f"{int(row['failures'])} failed estimates")
        if abs(row["bias"]) > 3 * row["bias_mcse"]:
            why.append(f"bias {row['bias']:+.3f} beyond 3 mcse ({row['bias_mcse']:.3f})")
        if row["coverage"] < b["coverage_low"]:
            why.append(f"coverage {row['coverage']:.3f} < {b['coverage_low']:.3f}")
        if name in OVER_COVER:
            if row["mean_se"] < row["sd_error"]:
                why.append("mean se below the spread")
        else:
            if row["coverage"] > b["coverage_high"]:
                why.append(f"coverage {row['coverage']:.3f} > {b['coverage_high']:.3f}")
            if abs(row["mean_se"] / row["sd_error"] - 1) > b["se_rel"]:
                why.append(f"mean se / spread {row['mean_se'] / row['sd_error']:.2f}")
        failed.append("; ".join(why))
    s["failed"] = failed
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=200, help="replications (default 200)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    s = study(args.reps)
    cols = ["n_reps", "bias", "bias_mcse", "coverage", "mean_se", "sd_error", "failed"]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(s[cols].round(4).to_string())
    b = bounds(args.reps)
    print(f"\n{args.reps} replications, seed {SEED}, {time.perf_counter() - t0:.0f} s; coverage "
          f"bounds [{b['coverage_low']:.3f}, {b['coverage_high']:.3f}], mean se within "
          f"{100 * b['se_rel']:.0f}% of the spread")
    bad = s[s["failed"] != ""]
    print("every check holds" if bad.empty else f"{len(bad)} estimator(s) fail a check")
    return 1 if len(bad) else 0


if __name__ == "__main__":
    sys.exit(main())
