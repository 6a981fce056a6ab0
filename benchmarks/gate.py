"""Performance regression gate for CI: the partnership step against the pure-Mesa reference,
interleaved in one run, must stay above a stated floor.  Ratios only: absolute times on shared
CI machines are noisy.

Floors (set at about half of what was measured on the development machine, a 2-vCPU AMD EPYC VM,
so that noise does not fail a sound build while a real regression of the kernel does):

* model's own rates ('calibrated' profile), 10,000 firms: measured 81x, floor 35x;
* every firm searching ('search' profile), 10,000 firms: measured 26x, floor 12x.

Run:  python -m benchmarks.gate        (about 20 s; exit status 1 below a floor)
"""

from __future__ import annotations

import sys
import time

from benchmarks.bench_partnering import bench_size

FLOORS = {("calibrated", 10_000): 35.0, ("search", 10_000): 12.0}


def main() -> int:
    from benchmarks.mesa_reference import KernelPartnering, make_world

    t0 = time.perf_counter()
    KernelPartnering(make_world(500, 0), seed=0).step()  # load the kernels (excluded)
    failed = 0
    for (profile, n), floor in FLOORS.items():
        r = bench_size(n, profile, rounds=3, min_time=0.2)
        ok = r["ratio"] >= floor
        failed += not ok
        print(f"gate {profile:10s} N={n:,}: reference {r['reference_ms']:.2f} ms, kernel "
              f"{r['kernel_ms']:.3f} ms per step, ratio {r['ratio']:.1f}x (floor {floor:.0f}x) "
              f"{'ok' if ok else 'BELOW THE FLOOR'}")
    verdict = "every ratio above its floor" if not failed else f"{failed} ratio(s) BELOW the floor"
    print(f"performance gate ({time.perf_counter() - t0:.1f} s): {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
