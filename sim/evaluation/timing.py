"""Time and memory of each estimator at a given panel size.

``python -m sim.evaluation.timing [--firms 4000] [--years 12] [--repeats 5]`` draws a
synthetic pair of that size (staggered cohorts, the default effect) and reports, per
registered estimator, the median wall time over ``repeats`` interleaved rounds (after one
warm-up round that compiles pyfixest's kernels) and the peak of Python-tracked memory
(``tracemalloc``, which sees NumPy's buffers), then the same for the truth functions.
The baseline has about 4,000 companies over 2001-2012.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from sim.evaluation import estimators as est
from sim.evaluation.synthetic import SyntheticDesign, synthetic_pair
from sim.evaluation.truth import cost_per_outcome, true_effects


def measure(n_firms: int = 4000, years: int = 12, repeats: int = 5,
            names: tuple[str, ...] | None = None) -> list[tuple[str, float, float]]:
    """``(name, median seconds, peak MiB)`` per estimator and for the truth functions."""
    design = SyntheticDesign(n_firms=n_firms, first_year=2001, last_year=2000 + years,
                             cohorts=(2003, 2004, 2006, 2008))
    pair = synthetic_pair(design, seed=1)
    jobs = {n: (lambda n=n: est.get(n).estimate(pair.policy, "employment", "cluster"))
            for n in (names or tuple(est.REGISTRY))}
    jobs["true_effects"] = lambda: true_effects(pair.policy, pair.twin)
    jobs["cost_per_outcome"] = lambda: cost_per_outcome(pair.policy, pair.twin)
    for f in jobs.values():  # warm-up
        f()
    times: dict[str, list[float]] = {n: [] for n in jobs}
    for _ in range(repeats):
        for n, f in jobs.items():
            t = time.perf_counter()
            f()
            times[n].append(time.perf_counter() - t)
    out = []
    for n, f in jobs.items():
        tracemalloc.start()
        f()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.append((n, float(np.median(times[n])), peak / 2 ** 20))
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--firms", type=int, default=4000)
    ap.add_argument("--years", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--estimators", nargs="*", default=None)
    a = ap.parse_args(argv)
    rows = measure(a.firms, a.years, a.repeats, tuple(a.estimators) if a.estimators else None)
    print(f"{a.firms} firms x {a.years} years = {a.firms * a.years} actor-years; "
          f"median of {a.repeats} interleaved rounds")
    print(f"{'':20s} {'seconds':>9s} {'peak MiB':>9s}")
    for n, s, mib in rows:
        print(f"{n:20s} {s:9.3f} {mib:9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
