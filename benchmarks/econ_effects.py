"""Paired policy effects on the economy: the mean difference of 2012 employment, value added,
productivity and exports from the baseline, its paired standard error and t-value, for the
policy changes of issue 16's review (R&D budget doubled, poles off, no evaluation) and the
amounts of the pole instruments (each budget doubled).

    python -m benchmarks.econ_effects                # 20 paired replications
    python -m benchmarks.econ_effects --reps 10 --only rd_budget_x2

Every variant is the baseline with the stated overrides (or a shipped scenario), run with
the baseline's seed and replications 0..R-1 (common random numbers).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = ("employment", "value_added", "productivity", "exports", "firms_alive",
            "innovations")
_P = "policy.poles."
VARIANTS = {
    "rd_budget_x2": {_P + "budget_rd_meur": 240.0},
    "training_budget_x2": {_P + "budget_training_meur": 110.0},
    "investment_budget_x2": {_P + "budget_investment_meur": 90.0},
    "export_budget_x2": {_P + "budget_export_meur": 20.0},
    "poles_off": {_P + "enabled": False},
    "no_evaluation": "scenarios/no_evaluation.toml",
}


def outcomes(scenario, replication: int) -> np.ndarray:
    """The totals of :data:`OUTCOMES` in the last year of one run."""
    from sim.model import ClusterModel

    m = ClusterModel(scenario, replication=replication, handles=False)
    df = m.run()
    last = df["year"].max()
    tot = df[(df["by"] == "total") & (df["year"] == last)].set_index("indicator")["value"]
    return np.array([float(tot[name]) for name in OUTCOMES])


def scenario_of(spec):
    from sim.loader import load_scenario

    if isinstance(spec, str):
        return load_scenario(ROOT / spec)
    return load_scenario(ROOT / "scenarios" / "baseline.toml", overrides=spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--only", nargs="*", choices=sorted(VARIANTS))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    base_sc = scenario_of({})
    base = np.array([outcomes(base_sc, r) for r in range(args.reps)])
    mean = base.mean(axis=0)
    print(f"baseline 2012 (mean of {args.reps}): "
          + ", ".join(f"{o} {v:,.0f}" for o, v in zip(OUTCOMES, mean, strict=True)))
    print(f"{'variant':22s}" + "".join(f"{o:>22s}" for o in OUTCOMES))
    for name in args.only or VARIANTS:
        sc = scenario_of(VARIANTS[name])
        other = np.array([outcomes(sc, r) for r in range(args.reps)])
        d = other - base
        rel = d.mean(axis=0) / mean
        se = d.std(axis=0, ddof=1) / np.sqrt(args.reps)
        t = np.divide(d.mean(axis=0), se, out=np.zeros_like(se), where=se > 0)
        print(f"{name:22s}" + "".join(f"{r:+12.2%} (t {x:+5.1f})" for r, x in zip(rel, t,
                                                                                strict=True)))
    print(f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
