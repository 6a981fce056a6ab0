"""What the user waits for at the command line: ``clustersim run`` as whole processes.

Interleaved rounds of fresh processes (a warm Numba cache: one discarded run first):

* ``python -c "import numpy"`` (the yardstick of the machine and its load, in the same run);
* ``clustersim run --no-figure``;
* ``clustersim run`` (the figure, PNG, the default);
* ``clustersim run --figure-formats png,pdf,svg`` (the three formats, the old default).

Each is timed as a process (wall, and CPU: user + system of the child), medians over the
rounds; ratios are against ``import numpy`` of the same rounds, which is what the CI gate
bounds (absolute times on a shared 2-core VM move with the load).

Run:  python -m benchmarks.bench_cli [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def clustersim() -> list[str]:
    exe = Path(sys.executable).parent / "clustersim"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]


def commands(out: str) -> dict[str, list[str]]:
    run = [*clustersim(), "run", "--out", out]
    return {"import numpy": [sys.executable, "-c", "import numpy"],
            "run --no-figure": [*run, "--no-figure"],
            "run (figure, png)": run,
            "run (png, pdf, svg)": [*run, "--figure-formats", "png,pdf,svg"]}


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cli_latency(rounds: int = 5, which: tuple[str, ...] | None = None) -> dict:
    """Median wall and CPU seconds of each command, and their ratios to ``import numpy``."""
    with tempfile.TemporaryDirectory(prefix="clustersim-bench-") as out:
        cmds = commands(out)
        if which:
            cmds = {k: v for k, v in cmds.items() if k in which or k == "import numpy"}
        env = {**os.environ, "CLUSTERSIM_NO_CACHE": "1"}
        subprocess.run(cmds["run --no-figure"] if "run --no-figure" in cmds else
                       [*clustersim(), "run", "--out", out, "--no-figure"], cwd=ROOT,
                       check=True, capture_output=True, env=env)  # the Numba cache warm
        got: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
        for _ in range(rounds):
            for k, cmd in cmds.items():
                got[k].append(timed(cmd, env))
    base_wall = statistics.median(w for w, _ in got["import numpy"])
    base_cpu = statistics.median(c for _, c in got["import numpy"])
    rows = {}
    for k, v in got.items():
        wall = statistics.median(w for w, _ in v)
        cpu = statistics.median(c for _, c in v)
        # ratio per round (the same round's numpy), then the median: load moves between rounds
        ratio = statistics.median(w / b for (w, _), (b, _) in zip(v, got["import numpy"],
                                                                   strict=True))
        rows[k] = {"wall_s": wall, "cpu_s": cpu, "wall_min_s": min(w for w, _ in v),
                   "over_numpy": ratio, "cpu_over_numpy": cpu / base_cpu}
    return {"rounds": rounds, "rows": rows, "numpy_wall_s": base_wall,
            "load": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    res = cli_latency(args.rounds)
    print(f"{'command':24s} {'wall med':>9s} {'wall min':>9s} {'CPU med':>8s} "
          f"{'/ numpy':>8s}   (load {res['load'][0]:.1f}, {args.rounds} rounds)")
    for k, r in res["rows"].items():
        print(f"{k:24s} {r['wall_s']:8.2f}s {r['wall_min_s']:8.2f}s {r['cpu_s']:7.2f}s "
              f"{r['over_numpy']:7.1f}x")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
