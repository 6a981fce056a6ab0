"""What a member index kept up to date across quarters would give the partnership step.

Run from the repository root::

    python -m benchmarks.bench_index                       # model's rates, N = 1k, 10k, 100k (~30 s)
    python -m benchmarks.bench_index --profiles calibrated,busy --sizes 1000,10000

The model rebuilds the clusters' member index (a counting sort of every actor by cluster,
:func:`sim.kernels.groups.member_index`) in every partnership step, because members join and
leave every quarter.  On the model's rates that pass is most of the step, and it is what keeps
the step 3-4x above its floor (``python -m benchmarks``, figures 1-2).  The alternative is an
index that every step which changes membership keeps exact (joins and leaves, exits, launches,
drops, absorptions, spin-offs).  This benchmark measures what that would buy before anyone
builds it, on the same world and with the same protocol as ``bench_partnering``, with six
sides timed in interleaved rounds:

* ``reference``: the pure-Mesa reference as in figure 1 (it rebuilds its member lists every
  step);
* ``reference, lists kept``: the same, with member lists built once and kept, as a Mesa model
  that updates them on every join and exit would (``RefModel(keep_lists=True)``);
* ``kernel``: the model's step as in figure 1 (it builds the index);
* ``kernel, index kept``: the same compiled call given an index built once
  (``KernelPartnering(keep_index=True)``, ``cluster_partnering(..., index=...)``); the cost of
  keeping the index exact is *not* counted;
* ``floor``: figure 2's floor (it includes one streaming read of the population);
* ``floor, no read pass``: the floor without that read, which a kept index makes unnecessary.

A fair comparison of a kept index sets it against the reference that keeps its lists and the
floor without the read pass (the columns marked "kept").  Results go to stdout and
``benchmarks/results/index-latest.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks.bench_partnering import (
    KERNEL_SEED,
    PROFILES,
    REF_SEED,
    RESULTS,
    ROOT,
    WORLD_SEED,
    first_call,
    machine,
    time_steps,
)

SIDES = ("reference", "reference_kept", "kernel", "kernel_kept", "floor", "floor_kept")


def bench_size(n: int, profile: str, rounds: int, min_time: float) -> dict:
    """Build the six sides for ``n`` firms, warm up, then time interleaved rounds."""
    import numpy as np

    from benchmarks.floor import Floor
    from benchmarks.mesa_reference import KernelPartnering, RefModel, make_world

    world = make_world(n, WORLD_SEED, **PROFILES[profile])
    refs = {"reference": RefModel(world, seed=REF_SEED),
            "reference_kept": RefModel(world, seed=REF_SEED, keep_lists=True)}
    kers = {"kernel": KernelPartnering(world, seed=KERNEL_SEED),
            "kernel_kept": KernelPartnering(world, seed=KERNEL_SEED, keep_index=True)}
    loads_arr = world.load.copy()
    loads_list = loads_arr.tolist()
    sides = {}
    for name, ref in refs.items():
        sides[name] = (ref.step, lambda ref=ref: ref.set_loads(loads_list))
    for name, ker in kers.items():
        sides[name] = (ker.step, lambda ker=ker: ker.set_loads(loads_arr))
    # warm-up; the kernel's warm-up step gives the work counters the floors repeat
    for name in ("reference", "reference_kept", "kernel_kept"):
        sides[name][1]()
        sides[name][0]()
    work = np.zeros(6, np.int64)
    sides["kernel"][1]()
    kers["kernel"].step(work)
    floor = Floor(kers["kernel"], work)
    floor_kept = Floor(kers["kernel"], work, read_pass=False)
    sides["floor"] = (floor.step, lambda: None)
    sides["floor_kept"] = (floor_kept.step, lambda: None)
    for f in (floor, floor_kept):
        f.step()

    medians: dict[str, list[float]] = {s: [] for s in SIDES}
    for r in range(rounds):
        for side in (SIDES if r % 2 == 0 else SIDES[::-1]):
            step, reset = sides[side]
            ts = time_steps(step, reset, min_time, min_steps=1 if "reference" in side else 3)
            medians[side].append(statistics.median(ts))
    best = {s: min(v) for s, v in medians.items()}
    return {
        "n": n,
        "profile": profile,
        "ms": {s: best[s] * 1e3 for s in SIDES},
        "ratio_now": best["reference"] / best["kernel"],
        "ratio_kept": best["reference_kept"] / best["kernel_kept"],
        "ratio_kept_vs_rebuilding_reference": best["reference"] / best["kernel_kept"],
        "kernel_over_floor_now": best["kernel"] / best["floor"],
        "kernel_over_floor_kept": best["kernel_kept"] / best["floor_kept"],
        "index_share_of_step": 1.0 - best["kernel_kept"] / best["kernel"],
        "round_medians_ms": {s: [v * 1e3 for v in vs] for s, vs in medians.items()},
        "work": [int(x) for x in work],
    }


def fmt_table(rows: list[dict]) -> str:
    head = (f"{'N':>8} | {'ref ms':>8} | {'ref kept':>8} | {'kernel us':>9} | "
            f"{'kept us':>8} | {'floor us':>8} | {'floor kept':>10} | {'ratio now':>9} | "
            f"{'ratio kept':>10} | {'k/floor now':>11} | {'k/floor kept':>12} | "
            f"{'index share':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        ms = r["ms"]
        lines.append(
            f"{r['n']:>8,} | {ms['reference']:>8.3f} | {ms['reference_kept']:>8.3f} | "
            f"{ms['kernel'] * 1e3:>9.2f} | {ms['kernel_kept'] * 1e3:>8.2f} | "
            f"{ms['floor'] * 1e3:>8.2f} | {ms['floor_kept'] * 1e3:>10.2f} | "
            f"{r['ratio_now']:>8.0f}x | {r['ratio_kept']:>9.0f}x | "
            f"{r['kernel_over_floor_now']:>10.2f}x | {r['kernel_over_floor_kept']:>11.2f}x | "
            f"{r['index_share_of_step']:>10.0%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profiles", default="calibrated",
                    help="comma-separated subset of " + ",".join(PROFILES))
    ap.add_argument("--sizes", default="1000,10000,100000", help="comma-separated N")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.25, help="seconds per side per round")
    ap.add_argument("--out", default=str(RESULTS / "index-latest.json"))
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    for p in profiles:
        if p not in PROFILES:
            ap.error(f"unknown profile {p!r}; choose from {', '.join(PROFILES)}")

    t_start = time.perf_counter()
    first_call()  # kernels loaded (or compiled) before anything is timed
    info = machine()
    print("Partnership step with the member index rebuilt every step (as the model does) or "
          "kept across steps (not counting the cost of keeping it exact)")
    print(f"machine: {info['cpu']}, {info['cores']} cores; python {info['python']}, numpy "
          f"{info['numpy']}, numba {info['numba']}, mesa {info['mesa']}; git "
          f"{info['git_sha'][:10]}{' (sim/ has uncommitted changes)' if info['sim_tree_dirty'] else ''}")
    print(f"protocol: warm-up step, {args.rounds} interleaved rounds of the six sides, >= "
          f"{args.min_time} s per side per round, min over rounds of the per-round median")
    results: dict[str, list[dict]] = {}
    for profile in profiles:
        rows = []
        for n in sizes:
            gc.collect()
            rows.append(bench_size(n, profile, args.rounds, args.min_time))
        results[profile] = rows
        print(f"\nprofile {profile!r} ({PROFILES[profile]}):")
        print(fmt_table(rows))
    print("\nratio kept = reference with lists kept / kernel with index kept; k/floor kept = "
          "kernel with index kept / floor without its read pass; index share = the part of the "
          "model's step that a kept index would save")
    total = time.perf_counter() - t_start
    print(f"total benchmark time {total:.1f} s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "index",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.bench_index",
                             *(argv if argv is not None else sys.argv[1:])]),
        "machine": info,
        "protocol": {"rounds": args.rounds, "min_time_s": args.min_time,
                     "statistic": "min over rounds of per-round median step time",
                     "world_seed": WORLD_SEED, "reference_seed": REF_SEED,
                     "kernel_seed": KERNEL_SEED},
        "results": results,
        "total_s": total,
    }, indent=2))
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
