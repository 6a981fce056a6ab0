"""Performance regression gate for CI: the partnership step against the pure-Mesa reference and
against its floor, interleaved in one run, must stay within stated bounds.  Ratios only:
absolute times on shared CI machines are noisy.

Bounds (set at about half of what was measured on the development machine, a 2-vCPU AMD EPYC VM,
so that noise does not fail a sound build while a real regression of the kernel does):

* model's own rates ('calibrated' profile), 10,000 firms: reference / kernel measured 118x,
  must stay >= 60x;
* every firm searching ('search' profile), 10,000 firms: reference / kernel measured 42-50x,
  must stay >= 25x; kernel / floor measured 1.6x, must stay <= 3x.

* the command line (issue 19): ``clustersim run --no-figure`` and ``clustersim run`` (PNG) as
  whole processes with a warm Numba cache, against ``python -c "import numpy"`` timed in the
  same interleaved rounds (:mod:`benchmarks.bench_cli`), on CPU time (user + system: the wall
  time of a shared VM moves with the load far more than its CPU time); medians of 3 rounds.
  Bounds in :data:`MAX_CLI_OVER_NUMPY`, at about 1.5 times what was measured (5 rounds at a
  load of 12: ``--no-figure`` 2.62 s CPU = 17.6x, with the PNG 4.42 s = 29.7x, against 0.15 s).
  A run already in the shared run cache (``run --no-figure, run cache hit``: read back, neither
  the model nor Numba loaded) measured 6.8x (1.95 s CPU at a load of 6-8, 5 rounds), bound 10x:
  a change that makes the cached path import the model again breaks it.

Run:  python -m benchmarks.gate        (about 30 s; exit status 1 when a bound is broken)
      python -m benchmarks.gate --no-cli   (the kernel only, about 10 s)
"""

from __future__ import annotations

import sys
import time

from benchmarks.bench_partnering import bench_size

MIN_RATIO = {("calibrated", 10_000): 60.0, ("search", 10_000): 25.0}
MAX_OVER_FLOOR = {("search", 10_000): 3.0}
# CPU seconds of the process / CPU seconds of `python -c "import numpy"` (same rounds)
MAX_CLI_OVER_NUMPY = {"run --no-figure": 27.0, "run (figure, png)": 45.0,
                      "run --no-figure, run cache hit": 10.0}


def cli_gate() -> int:
    """The command line's latency against ``import numpy``; returns the bounds broken."""
    from benchmarks.bench_cli import cli_latency

    res = cli_latency(rounds=3, which=tuple(MAX_CLI_OVER_NUMPY))
    failed = 0
    base = res["rows"]["import numpy"]
    for name, bound in MAX_CLI_OVER_NUMPY.items():
        r = res["rows"][name]
        ok = r["cpu_over_numpy"] <= bound
        failed += not ok
        print(f"gate clustersim {name}: {r['cpu_s']:.2f} s CPU ({r['wall_s']:.2f} s wall) "
              f"against import numpy {base['cpu_s']:.2f} s CPU: {r['cpu_over_numpy']:.1f}x "
              f"(<= {bound:.0f}x) {'ok' if ok else 'ABOVE THE BOUND'}")
    return failed


def main(argv: list[str] | None = None) -> int:
    from benchmarks.mesa_reference import KernelPartnering, make_world

    argv = sys.argv[1:] if argv is None else argv

    t0 = time.perf_counter()
    KernelPartnering(make_world(500, 0), seed=0).step()  # load the kernels (excluded)
    failed = 0
    for key in sorted(set(MIN_RATIO) | set(MAX_OVER_FLOOR)):
        profile, n = key
        r = bench_size(n, profile, rounds=3, min_time=0.2)
        checks = []
        if key in MIN_RATIO:
            ok = r["ratio"] >= MIN_RATIO[key]
            checks.append(f"reference/kernel {r['ratio']:.1f}x (>= {MIN_RATIO[key]:.0f}x) "
                          f"{'ok' if ok else 'BELOW THE FLOOR'}")
            failed += not ok
        if key in MAX_OVER_FLOOR:
            ok = r["kernel_over_floor"] <= MAX_OVER_FLOOR[key]
            checks.append(f"kernel/floor {r['kernel_over_floor']:.2f}x "
                          f"(<= {MAX_OVER_FLOOR[key]:.1f}x) {'ok' if ok else 'ABOVE THE BOUND'}")
            failed += not ok
        print(f"gate {profile:10s} N={n:,}: reference {r['reference_ms']:.2f} ms, kernel "
              f"{r['kernel_ms']:.3f} ms, floor {r['floor_ms']:.3f} ms per step; "
              + "; ".join(checks))
    if "--no-cli" not in argv:
        failed += cli_gate()
    verdict = "every bound holds" if not failed else f"{failed} bound(s) BROKEN"
    print(f"performance gate ({time.perf_counter() - t0:.1f} s): {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
