"""Common random numbers for economic outcomes: the ratio of the paired to the independent
standard error of the difference of a 2012 outcome between the baseline and each shipped
scenario (issue 16; goal below 0.3).

For R replications r = 0..R-1 of the baseline (a_r) and of a variant (b_r), which share their
world and their streams (``sim.model.run_seed_sequence``), the paired standard error of the
mean difference is ``sd(b_r - a_r) / sqrt(R)`` and the independent one (as if the variant's
runs had their own seeds) ``sqrt((var(a) + var(b)) / R)``.  Their ratio is what common random
numbers buy: 1 when they buy nothing, small when the difference is measured precisely.

    python -m benchmarks.econ_crn                 # 20 replications, every shipped variant
    python -m benchmarks.econ_crn --reps 10 --scenarios no_evaluation poles_rd_heavy

The scale studies (``scale_*``) are left out: their world is not the baseline's.  Runs seed
``run.seed`` of each scenario, replications 0..R-1, to the scenario's end year; the outcomes
are read in its last year (2012 for every shipped scenario).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
OUTCOMES = ("employment", "value_added", "productivity", "exports")
GOAL = 0.3


def outcomes(scenario, replication: int) -> np.ndarray:
    """The totals of :data:`OUTCOMES` in the last year of one run."""
    from sim.model import ClusterModel

    m = ClusterModel(scenario, replication=replication, handles=False)
    df = m.run()
    last = df["year"].max()
    tot = df[(df["by"] == "total") & (df["year"] == last)].set_index("indicator")["value"]
    return np.array([float(tot[name]) for name in OUTCOMES])


def variants(names: list[str] | None) -> list[Path]:
    """The shipped variants (every scenario but the baseline and the scale studies)."""
    paths = sorted(p for p in SCENARIOS.glob("*.toml")
                   if p.stem != "baseline" and not p.stem.startswith("scale_"))
    if names:
        by_name = {p.stem: p for p in paths}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise SystemExit(f"unknown scenario(s) {missing}; shipped: {sorted(by_name)}")
        paths = [by_name[n] for n in names]
    return paths


def se_ratios(base: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                            np.ndarray]:
    """(paired se, independent se, relative mean difference) per outcome, for (R, k)
    arrays of the two scenarios' replications."""
    r = base.shape[0]
    diff = other - base
    paired = diff.std(axis=0, ddof=1) / np.sqrt(r)
    indep = np.sqrt((base.var(axis=0, ddof=1) + other.var(axis=0, ddof=1)) / r)
    return paired, indep, diff.mean(axis=0) / base.mean(axis=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=20, help="replications per scenario (20)")
    ap.add_argument("--scenarios", nargs="*", help="variants to compare (default: all)")
    args = ap.parse_args(argv)
    paths = variants(args.scenarios)
    t0 = time.perf_counter()
    base = np.array([outcomes(SCENARIOS / "baseline.toml", r) for r in range(args.reps)])
    print(f"paired / independent standard error of the 2012 difference from the baseline, "
          f"{args.reps} replications (goal < {GOAL})")
    head = f"{'scenario':28s}" + "".join(f"{o:>14s}" for o in OUTCOMES) + "   max"
    print(head)
    worst = 0.0
    for path in paths:
        other = np.array([outcomes(path, r) for r in range(args.reps)])
        paired, indep, rel = se_ratios(base, other)
        ratio = np.divide(paired, indep, out=np.zeros_like(paired), where=indep > 0)
        worst = max(worst, float(ratio.max()))
        print(f"{path.stem:28s}" + "".join(f"{x:14.3f}" for x in ratio)
              + f"{ratio.max():6.3f}")
        print(f"{'  mean difference':28s}" + "".join(f"{x:+13.2%} " for x in rel))
    print(f"largest ratio {worst:.3f} ({'meets' if worst < GOAL else 'misses'} the goal "
          f"< {GOAL}); {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
