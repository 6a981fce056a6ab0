"""Time and memory of a run with the firm panel against the same run without it (issue 15).

``python -m benchmarks.panel_cost [--scenario scenarios/scale_100k.toml] [--repeats 3]``
runs the scenario with the panel off and on, interleaved, after one warm-up of each, and
reports the median wall time of the run, of building the panel's DataFrame, the peak of the
Python-tracked memory (``tracemalloc``, which sees NumPy's buffers) in a separate run of each,
and the panel's size (rows, in-memory MiB, Parquet MiB).
"""

from __future__ import annotations

import argparse
import io
import time
import tracemalloc

import numpy as np

from sim.loader import embedded_path, load_scenario
from sim.model import ClusterModel


def once(sc, panel: bool) -> tuple[float, ClusterModel]:
    t = time.perf_counter()
    m = ClusterModel(sc, handles=False, panel=panel)
    m.run()
    return time.perf_counter() - t, m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", default=None, help="scenario file (default: the baseline)")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    sc = load_scenario(a.scenario or embedded_path("baseline"))
    once(sc, False)
    once(sc, True)
    times: dict[bool, list[float]] = {False: [], True: []}
    frame_s = []
    for _ in range(a.repeats):
        for panel in (False, True):
            s, m = once(sc, panel)
            times[panel].append(s)
            if panel:
                t = time.perf_counter()
                df = m.panel_frame()
                frame_s.append(time.perf_counter() - t)
    peaks = {}
    for panel in (False, True):
        tracemalloc.start()
        _, m = once(sc, panel)
        if panel:
            df = m.panel_frame()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peaks[panel] = peak / 2**20
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    n = int(m.actors.n)
    print(f"{sc.name}: {n} actors at the end, {len(df)} panel rows; median of {a.repeats} "
          "interleaved runs")
    print(f"  run without panel {np.median(times[False]):.3f} s, with panel "
          f"{np.median(times[True]):.3f} s (x{np.median(times[True]) / np.median(times[False]):.2f}"
          f"), + panel_frame() {np.median(frame_s):.3f} s")
    print(f"  peak traced memory without {peaks[False]:.0f} MiB, with (panel frame built) "
          f"{peaks[True]:.0f} MiB (x{peaks[True] / peaks[False]:.2f})")
    print(f"  panel in memory {df.memory_usage(deep=True).sum() / 2**20:.1f} MiB, Parquet "
          f"{len(buf.getvalue()) / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
