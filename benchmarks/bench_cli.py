"""What the user waits for at the command line: ``clustersim run`` as whole processes.

Interleaved rounds of fresh processes (a warm Numba cache: one discarded run first):

* ``python -c "import numpy"`` (the yardstick of the machine and its load, in the same run);
* ``clustersim run --no-figure`` (the model run: the shared run cache off);
* ``clustersim run`` (the figure, PNG, the default, drawn in the command: as in a script);
* ``clustersim run --figure-formats png,pdf,svg`` (the three formats, the old default);
* ``clustersim run --figure background`` (what ``clustersim run`` does at a terminal: the
  command returns when its tables are written; the figure's process is waited for before the
  next command, and the time until the PNG exists is reported as ``ready``);
* ``clustersim run --no-figure`` with the run in the shared run cache (a run already computed:
  read back, not run; a cache of this run, written before the rounds).

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
            "run (figure, png)": [*run, "--figure", "foreground"],
            "run (png, pdf, svg)": [*run, "--figure", "foreground", "--figure-formats",
                                    "png,pdf,svg"],
            "run (figure in the background)": [*run, "--figure", "background"],
            "run --no-figure, run cache hit": [*run, "--no-figure"]}


CACHED = "run --no-figure, run cache hit"  # the one command run with the run cache on
BACKGROUND = "run (figure in the background)"


def timed(cmd: list[str], env: dict | None = None, figure: Path | None = None
          ) -> tuple[float, float, float | None]:
    """(wall, CPU, ready) seconds of one process; ``ready``: when ``figure`` (a file the
    process leaves to a process of its own) exists, waited for (None without ``figure``)."""
    if figure is not None:
        figure.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ready = None
    if figure is not None:
        while not figure.exists():
            if time.perf_counter() - t > 300:
                raise RuntimeError(f"{figure} not written 300 s after {' '.join(cmd)}")
            time.sleep(0.05)
        ready = time.perf_counter() - t
        time.sleep(0.3)  # the figure's process exits (it writes the file last)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), ready


def cli_latency(rounds: int = 5, which: tuple[str, ...] | None = None) -> dict:
    """Median wall and CPU seconds of each command, and their ratios to ``import numpy``."""
    with tempfile.TemporaryDirectory(prefix="clustersim-bench-") as out:
        cmds = commands(out)
        if which:
            cmds = {k: v for k, v in cmds.items() if k in which or k == "import numpy"}
        env = {**os.environ, "CLUSTERSIM_NO_CACHE": "1"}
        cached_env = {k: v for k, v in env.items() if k != "CLUSTERSIM_NO_CACHE"}
        cached_env["CLUSTERSIM_CACHE"] = str(Path(out) / "run-cache")
        first = [*clustersim(), "run", "--out", out, "--no-figure"]
        subprocess.run(first, cwd=ROOT, check=True, capture_output=True,
                       env=env)  # the Numba cache warm
        if CACHED in cmds:  # the run in the run cache
            subprocess.run(first, cwd=ROOT, check=True, capture_output=True, env=cached_env)
        figure = next(Path(out).glob("*/indicators.parquet")).parent / "overview.png"
        got: dict[str, list[tuple[float, float, float | None]]] = {k: [] for k in cmds}
        for _ in range(rounds):
            for k, cmd in cmds.items():
                got[k].append(timed(cmd, cached_env if k == CACHED else env,
                                    figure if k == BACKGROUND else None))
    base_wall = statistics.median(w for w, _, _ in got["import numpy"])
    base_cpu = statistics.median(c for _, c, _ in got["import numpy"])
    rows = {}
    for k, v in got.items():
        wall = statistics.median(w for w, _, _ in v)
        cpu = statistics.median(c for _, c, _ in v)
        # ratio per round (the same round's numpy), then the median: load moves between rounds
        ratio = statistics.median(w / b for (w, _, _), (b, _, _) in zip(v, got["import numpy"],
                                                                         strict=True))
        rows[k] = {"wall_s": wall, "cpu_s": cpu, "wall_min_s": min(w for w, _, _ in v),
                   "over_numpy": ratio, "cpu_over_numpy": cpu / base_cpu}
        if k == BACKGROUND:
            rows[k]["ready_s"] = statistics.median(r for _, _, r in v)
    return {"rounds": rounds, "rows": rows, "numpy_wall_s": base_wall,
            "load": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    res = cli_latency(args.rounds)
    print(f"{'command':32s} {'wall med':>9s} {'wall min':>9s} {'CPU med':>8s} "
          f"{'/ numpy':>8s}   (load {res['load'][0]:.1f}, {args.rounds} rounds)")
    for k, r in res["rows"].items():
        print(f"{k:32s} {r['wall_s']:8.2f}s {r['wall_min_s']:8.2f}s {r['cpu_s']:7.2f}s "
              f"{r['over_numpy']:7.1f}x"
              + (f"   (figure ready {r['ready_s']:.2f} s)" if "ready_s" in r else ""))
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
