"""Time one partnership step: the pure-Mesa reference, the project's kernel and the floor.

Run from the repository root::

    python -m benchmarks.bench_partnering            # N = 1k, 10k, 100k; 7 rounds (~1.5 min)
    python -m benchmarks.bench_partnering --quick    # N = 1k, 10k; 3 short rounds (< 60 s)

Both sides step the same synthetic world (:func:`benchmarks.mesa_reference.make_world`): the
reference is :class:`~benchmarks.mesa_reference.RefModel` (``AgentSet.shuffle_do`` over Python
agents); the kernel side is :class:`~benchmarks.mesa_reference.KernelPartnering`, i.e. what
:func:`sim.processes.partnering` does per step (cached output buffers, the one compiled call
``cluster_partnering``: member index, per-cluster probabilities, ``form_consortia``; launches
per cluster); the floor is :class:`benchmarks.floor.Floor`, the step's own work counted by the
kernel's counters in the warm-up step, redone with no decision logic.

Protocol (shared/reference/performance.md, section 2.1): per N, both sides are built and stepped
once (warm-up; the kernel's first call, i.e. JIT compile or cache load, is timed separately),
then timed in interleaved rounds (reference, kernel, floor; then the reverse order); in a round each side repeats steps for at least
``min_time`` seconds; the reported time is the minimum over rounds of the per-round median step
time, and ratios come from the same run.  Every timed step starts from the same state: loads
(the only state the step changes besides ``last_project`` and the random streams) are put back
before each step, outside the timed region; ties, knowledge and membership are not modified by
the step.  Each step draws fresh random numbers (the streams are not reset).

Three workloads ("profiles") of the same rule and world:

* ``busy``: scenario defaults except ``initiate_rate = 0.5`` (every member with spare capacity
  initiates with probability 0.5 (1 + effort) x sector cooperation); capacities bind (SMEs 1).
* ``calibrated``: the scenario's ``initiate_rate = 0.006``: the regime the model runs in, where
  almost every visit ends at the initiation draw.
* ``search``: ``initiate_rate = 1`` and capacities x100, so nobody saturates and every initiator
  runs its whole search (closest to performance.md's K=10 search benchmark).

Results go to stdout and to ``benchmarks/results/partnering-latest.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

PROFILES = {
    "busy": {"initiate_rate": 0.5},
    "calibrated": {"initiate_rate": 0.006},
    "search": {"initiate_rate": 1.0, "capacity_scale": 100},
}
GOAL_RATIO = 100.0  # performance.md G1: reference / kernel >= 100x at every N (here: N >= 10k)
GOAL_GROWTH = 1.0  # kernel ns per firm-step at 100k / at 10k: linear or better

WORLD_SEED = 20240601
REF_SEED = 11
KERNEL_SEED = 12


def machine() -> dict:
    """CPU, cores and software versions."""
    import mesa
    import numba
    import numpy as np

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "sim"], cwd=ROOT,
                               capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        sha, dirty = "", ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "mesa": mesa.__version__,
        "git_sha": sha,
        "sim_tree_dirty": bool(dirty),
    }


def cold_compile_seconds() -> dict:
    """First kernel step in a fresh process with an empty Numba cache (a true JIT compile)."""
    code = (
        "import time; t0 = time.perf_counter();"
        "from benchmarks.mesa_reference import KernelPartnering, make_world;"
        "t1 = time.perf_counter();"
        "k = KernelPartnering(make_world(200, 0), 0); t2 = time.perf_counter(); k.step();"
        "t3 = time.perf_counter(); k.step(); t4 = time.perf_counter();"
        "print(t1 - t0, t3 - t2, t4 - t3)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                           text=True, check=False)
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-500:]}
    imp, first, second = (float(x) for x in r.stdout.split())
    return {"import_s": imp, "first_step_s": first, "second_step_s": second}


def time_steps(step, reset, min_time: float, min_steps: int) -> list[float]:
    """Step times (s) of one round: at least ``min_steps`` and ``min_time`` seconds of steps."""
    times: list[float] = []
    spent = 0.0
    while len(times) < min_steps or spent < min_time:
        reset()
        t = time.perf_counter()
        step()
        dt = time.perf_counter() - t
        times.append(dt)
        spent += dt
    return times


def bench_size(n: int, profile: str, rounds: int, min_time: float) -> dict:
    """Build both sides for ``n`` firms, warm up, then time interleaved rounds."""
    import numpy as np

    from benchmarks.floor import Floor
    from benchmarks.mesa_reference import KernelPartnering, RefModel, make_world

    t = time.perf_counter()
    world = make_world(n, WORLD_SEED, **PROFILES[profile])
    t_world = time.perf_counter() - t
    t = time.perf_counter()
    ref = RefModel(world, seed=REF_SEED)
    t_ref_build = time.perf_counter() - t
    ker = KernelPartnering(world, seed=KERNEL_SEED)
    loads_arr = world.load.copy()
    loads_list = loads_arr.tolist()

    def ref_reset():
        ref.set_loads(loads_list)

    def ker_reset():
        ker.set_loads(loads_arr)

    # warm-up (the kernel has already been compiled or loaded by main()); the warm-up kernel
    # step also gives the work counters the floor repeats
    ref_reset()
    ref.step()
    ker_reset()
    work = np.zeros(6, np.int64)
    ker.step(work)
    floor = Floor(ker, work)
    floor.step()
    consortia = {"reference": [len(ref.consortia)], "kernel": [ker.k]}

    medians: dict[str, list[float]] = {"reference": [], "kernel": [], "floor": []}
    steps: dict[str, int] = {"reference": 0, "kernel": 0, "floor": 0}
    sides = {
        "reference": (ref.step, ref_reset, lambda: len(ref.consortia)),
        "kernel": (ker.step, ker_reset, lambda: ker.k),
        "floor": (floor.step, lambda: None, None),
    }
    orders = (["reference", "kernel", "floor"], ["floor", "kernel", "reference"])
    for r in range(rounds):
        for side in orders[r % 2]:
            step, reset, count = sides[side]
            ts = time_steps(step, reset, min_time, min_steps=1 if side == "reference" else 3)
            medians[side].append(statistics.median(ts))
            steps[side] += len(ts)
            if count is not None:
                consortia[side].append(count())
    ref_s = min(medians["reference"])
    ker_s = min(medians["kernel"])
    floor_s = min(medians["floor"])
    return {
        "n": n,
        "profile": profile,
        "reference_ms": ref_s * 1e3,
        "kernel_ms": ker_s * 1e3,
        "reference_ns_per_firm": ref_s * 1e9 / n,
        "kernel_ns_per_firm": ker_s * 1e9 / n,
        "ratio": ref_s / ker_s,
        "floor_ms": floor_s * 1e3,
        "floor_ns_per_firm": floor_s * 1e9 / n,
        "kernel_over_floor": ker_s / floor_s,
        "work": dict(zip(("initiators_drawn", "initiators_searched", "tie_slots",
                          "random_candidates", "matches", "members_committed"),
                         (int(x) for x in work), strict=True)),
        "round_medians_ms": {k: [v * 1e3 for v in vs] for k, vs in medians.items()},
        "round_spread": {k: max(vs) / min(vs) for k, vs in medians.items()},
        "timed_steps": steps,
        "consortia_per_step_mean": {k: statistics.fmean(v) for k, v in consortia.items()},
        "build_s": {"world": t_world, "reference_model": t_ref_build},
    }


def first_call() -> dict:
    """This process's first kernel step (JIT compile, or load from Numba's cache)."""
    from benchmarks.mesa_reference import KernelPartnering, make_world
    from sim.kernels.consortia import form_consortia
    from sim.kernels.groups import build_csr

    ker = KernelPartnering(make_world(200, 0), 0)
    t = time.perf_counter()
    ker.step()
    first = time.perf_counter() - t
    t = time.perf_counter()
    ker.step()
    second = time.perf_counter() - t
    hits = sum(d.stats.cache_hits.total() if hasattr(d.stats.cache_hits, "total")
               else sum(d.stats.cache_hits.values()) for d in (form_consortia, build_csr))
    misses = sum(d.stats.cache_misses.total() if hasattr(d.stats.cache_misses, "total")
                 else sum(d.stats.cache_misses.values()) for d in (form_consortia, build_csr))
    how = "cache load" if hits and not misses else "compile" if misses else "unknown"
    return {"first_step_s": first, "second_step_s": second, "numba_cache_hits": hits,
            "numba_cache_misses": misses, "first_call_was": how}


def fmt_table(rows: list[dict]) -> str:
    head = (f"{'N':>8} | {'ref ms/step':>11} | {'kernel ms/step':>14} | {'ref ns/firm':>11} | "
            f"{'kernel ns/firm':>14} | {'ratio ref/kernel':>16} | {'floor ns/firm':>13} | "
            f"{'kernel/floor':>12} | {'consortia ref/kernel':>20} | {'spread ref/kern':>15}")
    lines = [head, "-" * len(head)]
    for r in rows:
        c = r["consortia_per_step_mean"]
        s = r["round_spread"]
        lines.append(
            f"{r['n']:>8,} | {r['reference_ms']:>11.3f} | {r['kernel_ms']:>14.4f} | "
            f"{r['reference_ns_per_firm']:>11,.0f} | {r['kernel_ns_per_firm']:>14.1f} | "
            f"{r['ratio']:>15.1f}x | {r['floor_ns_per_firm']:>13.1f} | "
            f"{r['kernel_over_floor']:>11.2f}x | {c['reference']:>9.1f}/{c['kernel']:<10.1f} | "
            f"{s['reference']:>6.2f}/{s['kernel']:<8.2f}")
    return "\n".join(lines)


def verdict(rows: list[dict]) -> dict:
    """The goals: ratio >= 100x at N >= 10k; per-firm kernel time growth 10k->100k <= 1."""
    big = [r for r in rows if r["n"] >= 10_000]
    by_n = {r["n"]: r for r in rows}
    growth = None
    if 10_000 in by_n and 100_000 in by_n:
        growth = by_n[100_000]["kernel_ns_per_firm"] / by_n[10_000]["kernel_ns_per_firm"]
    return {
        "min_ratio_n_ge_10k": min((r["ratio"] for r in big), default=None),
        "ratio_goal_met": all(r["ratio"] >= GOAL_RATIO for r in big) if big else None,
        "kernel_growth_10k_to_100k": growth,
        "growth_goal_met": None if growth is None else growth <= GOAL_GROWTH,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="N = 1k, 10k; 3 rounds of 0.15 s (full: 1k-100k, 7 rounds of 0.4 s)")
    ap.add_argument("--profiles", default="busy,calibrated,search",
                    help="comma-separated subset of " + ",".join(PROFILES))
    ap.add_argument("--sizes", default=None, help="comma-separated N (overrides the mode)")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--min-time", type=float, default=None, help="seconds per side per round")
    ap.add_argument("--out", default=str(RESULTS / "partnering-latest.json"))
    ap.add_argument("--no-cold-compile", action="store_true",
                    help="skip the fresh-process compile measurement")
    args = ap.parse_args(argv)

    sizes = ([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    rounds = args.rounds or (3 if args.quick else 7)
    min_time = args.min_time or (0.15 if args.quick else 0.4)
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    for p in profiles:
        if p not in PROFILES:
            ap.error(f"unknown profile {p!r}; choose from {', '.join(PROFILES)}")

    t_start = time.perf_counter()
    t = time.perf_counter()
    import mesa  # noqa: F401  (import cost reported)
    t_mesa = time.perf_counter() - t
    t = time.perf_counter()
    import benchmarks.mesa_reference  # noqa: F401
    t_imports = time.perf_counter() - t

    jit = first_call()
    cold = None if (args.quick or args.no_cold_compile) else cold_compile_seconds()
    info = machine()

    print("Partnership step: pure-Mesa reference vs project kernel (form_consortia + build_csr)")
    print(f"machine: {info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable); "
          f"python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, "
          f"mesa {info['mesa']}; git {info['git_sha'][:10]}"
          f"{' (sim/ has uncommitted changes)' if info['sim_tree_dirty'] else ''}")
    print(f"protocol: warm-up step, {rounds} interleaved rounds, >= {min_time} s per side per "
          "round, min over rounds of the per-round median; loads reset before every step "
          "(untimed)")
    print(f"JIT: this process's first kernel step {jit['first_step_s']:.3f} s "
          f"({jit['first_call_was']}), second {jit['second_step_s'] * 1e3:.3f} ms; "
          f"import mesa {t_mesa:.2f} s, numba kernels + reference {t_imports:.2f} s")
    if cold:
        if "error" in cold:
            print(f"cold compile (fresh process, empty cache): failed: {cold['error']}")
        else:
            print(f"cold compile (fresh process, empty NUMBA_CACHE_DIR): first step "
                  f"{cold['first_step_s']:.2f} s, second {cold['second_step_s'] * 1e3:.2f} ms")
    print("world: C=12 clusters, D=8, 10 % non-company members, 15 % large firms, 8 tie slots "
          "(30 % filled), 20 % of capacity busy at start; ns/firm = step time / N actors")

    results: dict[str, list[dict]] = {}
    verdicts: dict[str, dict] = {}
    for profile in profiles:
        rows = []
        for n in sizes:
            gc.collect()
            rows.append(bench_size(n, profile, rounds, min_time))
        results[profile] = rows
        verdicts[profile] = v = verdict(rows)
        print()
        print(f"profile {profile!r} ({PROFILES[profile]}):")
        print(fmt_table(rows))
        goal = (f"goal: ratio >= {GOAL_RATIO:.0f}x at N >= 10k -> "
                f"{'met' if v['ratio_goal_met'] else 'NOT met'} "
                f"(min {v['min_ratio_n_ge_10k']:.1f}x)")
        if v["kernel_growth_10k_to_100k"] is not None:
            goal += (f"; kernel ns/firm growth 10k->100k {v['kernel_growth_10k_to_100k']:.2f}x "
                     f"(goal <= {GOAL_GROWTH:.1f}x, linear or better) -> "
                     f"{'met' if v['growth_goal_met'] else 'NOT met'}")
        else:
            goal += "; growth 10k->100k not measured in this mode"
        print(goal)

    total = time.perf_counter() - t_start
    print(f"\ntotal benchmark time {total:.1f} s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "partnering",
        "mode": "quick" if args.quick else "full",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.bench_partnering",
                             *(argv if argv is not None else sys.argv[1:])]),
        "machine": info,
        "protocol": {"rounds": rounds, "min_time_s": min_time, "statistic":
                     "min over rounds of per-round median step time",
                     "reset": "loads restored before every step, untimed",
                     "world_seed": WORLD_SEED, "reference_seed": REF_SEED,
                     "kernel_seed": KERNEL_SEED},
        "goals": {"ratio_at_n_ge_10k": GOAL_RATIO, "kernel_growth_10k_to_100k": GOAL_GROWTH},
        "profiles": PROFILES,
        "jit_first_call": jit,
        "jit_cold_compile": cold,
        "imports_s": {"mesa": t_mesa, "kernels_and_reference": t_imports},
        "results": results,
        "verdicts": verdicts,
        "total_s": total,
    }
    out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
