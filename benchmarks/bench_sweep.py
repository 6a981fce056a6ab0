"""Throughput of the experiment engine (issue 3's benchmark).

1. Replications per core-second of the baseline in a warm process (in-process, sequential).
2. Efficiency of a 1,000-run comparison on 2 local workers: time spent in the model (the sum of
   the runs' wall times, measured inside the workers) over total core time (2 x wall time of the
   whole command, start-up, scheduling and writing included).
3. Overhead of the Dask path (a LocalCluster of 2 worker processes) against the local pool on
   the same design, interleaved.

Run:  python -m benchmarks.bench_sweep [--runs 1000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sim import ClusterModel, load_scenario
from sim.experiment.design import Design
from sim.experiment.runner import run_design

ROOT = Path(__file__).resolve().parents[1]



def loopback_cluster(n_workers: int):
    """A Dask ``LocalCluster`` of ``n_workers`` processes whose scheduler, workers and dashboard
    listen on 127.0.0.1 only (its default dashboard listened on every interface)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address="127.0.0.1:0")

def in_process(reps: int, cpu: bool = False) -> float:
    """Replications per second of the baseline in this (warm) process: per second of wall time,
    or with ``cpu`` per second of this process's CPU time (a core-second that the other
    processes of a busy machine do not inflate)."""
    sc = load_scenario()
    ClusterModel(sc, seed=0, handles=False).run()  # warm-up: kernels loaded
    clock = time.process_time if cpu else time.perf_counter
    t0 = clock()
    for r in range(reps):
        ClusterModel(sc, seed=1, replication=r, handles=False).run()
    return reps / (clock() - t0)


def design(runs: int, name: str) -> Design:
    return Design(name=name, kind="compare",
                  scenarios=[str(ROOT / "scenarios" / "baseline.toml"),
                             str(ROOT / "scenarios" / "no_evaluation.toml")],
                  replications=runs // 2, seed=1, indicators=["members_total"])


def sweep(runs: int, executor_kind: str) -> dict:
    """Run a fresh store with the local pool or Dask; wall time includes start-up."""
    out = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    client = cluster = None
    try:
        t0 = time.perf_counter()
        if executor_kind == "dask":
            from distributed import Client

            cluster = loopback_cluster(2)
            client = Client(cluster)
            res = run_design(design(runs, "bench"), out, executor=client.get_executor(pure=False),
                             progress=False)
        else:
            res = run_design(design(runs, "bench"), out, workers=2, progress=False)
        wall = time.perf_counter() - t0
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        shutil.rmtree(out, ignore_errors=True)
    return {"wall": wall, "model_seconds": res.model_seconds,
            "efficiency": res.model_seconds / (2 * wall), "runs": res.total,
            "runs_per_second": res.total / wall}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="200 runs, one round")
    args = ap.parse_args()
    runs = 200 if args.quick else args.runs
    rounds = 1 if args.quick else 2
    print(f"machine: {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}")
    rps = in_process(20 if args.quick else 100)
    print(f"1. baseline replications per core-second (warm process, in-process): {rps:.1f} "
          f"({1000 / rps:.1f} ms per replication)")
    local, dask = [], []
    for _ in range(rounds):  # interleaved
        local.append(sweep(runs, "local"))
        dask.append(sweep(runs, "dask"))
    eff = statistics.median(r["efficiency"] for r in local)
    print(f"2. {runs}-run comparison on 2 local workers: wall "
          f"{statistics.median(r['wall'] for r in local):.1f} s, model time "
          f"{statistics.median(r['model_seconds'] for r in local):.1f} s, efficiency "
          f"{eff:.0%} (goal >= 90%), {statistics.median(r['runs_per_second'] for r in local):.1f} "
          f"runs/s")
    ratio = statistics.median(d["wall"] / r["wall"] for d, r in zip(dask, local, strict=True))
    print(f"3. Dask LocalCluster (2 workers) on the same design: wall "
          f"{statistics.median(r['wall'] for r in dask):.1f} s, efficiency "
          f"{statistics.median(r['efficiency'] for r in dask):.0%}; Dask / local wall time "
          f"{ratio:.2f}x (median of {rounds} interleaved rounds)")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep-latest.json").write_text(json.dumps(
        {"replications_per_core_second": rps, "local": local, "dask": dask,
         "dask_over_local": ratio}, indent=1))


if __name__ == "__main__":
    main()
