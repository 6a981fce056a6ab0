"""CPU cost of the economy's branch in two figures (issue 16's goals): a baseline replication
(ms of CPU, the minimum over 12 after a warm-up run) and the whole step at 100,000 actors at
the start (``run.scale`` 27; ns of CPU per actor-step, over 16 steps after 24).

    python -m benchmarks.econ_cost

CPU time (``time.process_time``) rather than wall time, because the machine is shared; run it
alternately against another checkout to compare (the figures move with the load).
"""

from __future__ import annotations

import sys
import time

import numpy as np


def main() -> int:
    from sim.loader import load_scenario
    from sim.model import ClusterModel

    sc = load_scenario(None)
    ClusterModel(sc, handles=False).run()  # compile and warm the caches
    reps = []
    for r in range(12):
        t = time.process_time()
        ClusterModel(sc, replication=r, handles=False).run()
        reps.append(time.process_time() - t)
    print(f"baseline replication, CPU ms: min {1e3 * min(reps):.1f}, "
          f"median {1e3 * np.median(reps):.1f} (goal < 25)")
    m = ClusterModel(load_scenario(None, overrides={"run.scale": 27.0}), handles=False)
    for _ in range(24):
        m.step()
    ts = []
    for _ in range(16):
        t = time.process_time()
        m.step()
        ts.append(time.process_time() - t)
    n = m.actors.n
    print(f"whole step at {n:,} actors, CPU ns per actor-step: min {1e9 * min(ts) / n:.1f}, "
          f"median {1e9 * np.median(ts) / n:.1f} (goal < 70 at 100,000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
