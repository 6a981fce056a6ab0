"""Scenario discovery with the EMA Workbench on clustersim (issue 18, section 2).

Question: under which behavioural conditions and policy settings do the Walloon clusters end
2012 with fewer than X members (the baseline has about 930; 790 in 2006 is the seed's figure)?

1. ``sim.ema.ema_model``: uncertainties = four behavioural parameters, levers = three policy
   parameters, each range inside the schema's bounds; outcomes from the indicator catalogue.
2. ``perform_experiments`` (through ``sim.ema.perform``: seeded Latin hypercubes) over
   scenarios x policies, every experiment the mean of R replications of the project's own
   seeded engine (common random numbers: replication r of every experiment shares its streams).
3. PRIM on the failure ``members_total_2012 < X``: the peeling trajectory and the chosen box
   are printed and plotted (house style, ``sim/figures.py``).

Run (about a minute on two cores with the defaults)::

    python experiments/ema_discovery.py                       # writes experiments/output/ema_discovery/
    python experiments/ema_discovery.py --scenarios 60 --policies 10 --reps 5 --threshold 800

Needs the ``ema`` extra (``pip install -e ".[ema]"``; the ``dev`` extra has it).
"""

from __future__ import annotations

import argparse
import inspect
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

UNCERTAINTIES = {  # behavioural parameters no source fixes (ranges of sensitivity_behaviour.toml)
    "behaviour.membership.benefit_base": (-3.0, -1.5),
    "behaviour.membership.leave_rate": (0.01, 0.06),
    "behaviour.partnering.initiate_rate": (0.003, 0.012),
    "behaviour.projects.success_base": (-1.0, 0.6),
}
LEVERS = {  # what the Region controls
    "policy.animation.subsidy_eur_per_year": (50_000.0, 300_000.0),
    "policy.evaluation.min_members": (20, 60),
    "policy.evaluation.period_years": (2, 4),
}
OUTCOMES = [("members_total", 2012), ("clusters_active", 2012),
            ("partnerships_launched_cumulative", 2012)]


def discover(scenarios: int, policies: int, reps: int, threshold: float | None, seed: int,
             out: Path, jobs: int = 1) -> dict:
    """Run the experiments and PRIM; write the tables and the figure; return what was found."""
    from ema_workbench import MultiprocessingEvaluator, SequentialEvaluator
    from ema_workbench.analysis import prim

    from sim import ema

    model = ema.ema_model(UNCERTAINTIES, LEVERS, OUTCOMES, replications=reps, seed=seed,
                          name="clustersim")
    evaluator = (MultiprocessingEvaluator(model, n_processes=jobs) if jobs > 1
                 else SequentialEvaluator(model))
    with evaluator:
        experiments, outcomes = ema.perform(model, scenarios, policies, seed=seed % 2**31,
                                            evaluator=evaluator)
    cols = ema.parameter_columns(model)
    x = experiments[cols].astype(float)
    y_name = "members_total_2012"
    if threshold is None:  # the median: half the experiments fail
        threshold = float(np.median(outcomes[y_name]))
    failed = np.asarray(outcomes[y_name]) < threshold
    out.mkdir(parents=True, exist_ok=True)
    table = x.copy()
    for k, v in outcomes.items():
        table[k] = v
    table["failure"] = failed
    table.to_csv(out / "experiments.csv", index=False)
    print(f"{len(x)} experiments ({scenarios} scenarios x {policies} policies, {reps} "
          f"replications each, root seed {seed}); {int(failed.sum())} "
          f"({failed.mean():.0%}) end 2012 with fewer than {threshold:g} members")
    if failed.sum() == 0 or failed.all():
        print("PRIM needs both outcomes: change --threshold", file=sys.stderr)
        return {"experiments": table, "box": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PRIM's notes on its own defaults
        # EMA 2.x takes the density threshold of the box it reports; 3.x dropped the argument
        kw = {"threshold": 0.8} if "threshold" in inspect.signature(prim.Prim).parameters else {}
        alg = prim.Prim(x, failed, peel_alpha=0.1, **kw)
        box = alg.find_box()
    traj = box.peeling_trajectory.copy()
    traj.to_csv(out / "peeling_trajectory.csv", index=False)
    chosen = _choose(traj)
    box.select(chosen)
    limits = _limits(box, x)
    limits.to_csv(out / "box.csv")
    print(f"\nPRIM peeling trajectory ({len(traj)} boxes; coverage = share of the failures "
          "inside the box, density = share of the box's experiments that fail):")
    with pd.option_context("display.width", 160):
        print(traj[["id", "coverage", "density", "mass", "res_dim"]].round(3)
              .to_string(index=False))
    print(f"\nBox {chosen}: coverage {traj.loc[chosen, 'coverage']:.2f}, density "
          f"{traj.loc[chosen, 'density']:.2f}, {int(traj.loc[chosen, 'res_dim'])} restricted "
          "dimension(s):")
    print(limits.to_string())
    paths = figure(traj, chosen, limits, out / "prim", threshold, len(x), reps, seed)
    print(f"\nTables and figure written to {out}/: experiments.csv, peeling_trajectory.csv, "
          f"box.csv, {', '.join(p.name for p in paths)}")
    return {"experiments": table, "trajectory": traj, "box": chosen, "limits": limits}


def _choose(traj: pd.DataFrame) -> int:
    """The box of the trajectory with density >= 0.8 and the largest coverage (else the
    densest): the usual reading of the trade-off."""
    ok = traj[traj["density"] >= 0.8]
    if len(ok):
        return int(ok.sort_values(["coverage", "density"], ascending=False).index[0])
    return int(traj["density"].idxmax())


def _limits(box, x: pd.DataFrame) -> pd.DataFrame:
    """The restricted dimensions of the selected box: its limits and the range explored."""
    from sim import ema

    lims = box.box_lims[box._cur_box]
    rows = {}
    for col in x.columns:
        lo, hi = float(lims.loc[0, col]), float(lims.loc[1, col])
        if lo > float(x[col].min()) + 1e-12 or hi < float(x[col].max()) - 1e-12:
            path = next(p for p in (*UNCERTAINTIES, *LEVERS) if ema.ema_name(p) == col)
            full_lo, full_hi = {**UNCERTAINTIES, **LEVERS}[path]
            # a side PRIM did not peel stays at the declared bound
            lo = full_lo if lo <= float(x[col].min()) + 1e-12 else lo
            hi = full_hi if hi >= float(x[col].max()) - 1e-12 else hi
            rows[path] = {"box_low": lo, "box_high": hi, "range_low": full_lo,
                          "range_high": full_hi,
                          "kind": "uncertainty" if path.startswith("behaviour.") else "lever"}
    return pd.DataFrame.from_dict(rows, orient="index")


def figure(traj: pd.DataFrame, chosen: int, limits: pd.DataFrame, stem: Path,
           threshold: float, n: int, reps: int, seed: int) -> list[Path]:
    """Left: PRIM's trade-off (coverage against density, by restricted dimensions), the chosen
    box marked.  Right: the chosen box's limits on each restricted parameter, as a share of its
    explored range."""
    from matplotlib.ticker import MaxNLocator

    from sim.figures import (
        add_caption,
        check_figure,
        lever_label,
        lever_unit,
        new_figure,
        save,
        style,
        width_for,
    )

    with style():
        fig = new_figure(width_for(2), 3.0)
        a, b = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
        dims = traj["res_dim"].astype(int)
        sc = a.scatter(traj["coverage"], traj["density"], c=dims, cmap="viridis", s=14,
                       vmin=dims.min(), vmax=max(dims.max(), dims.min() + 1))
        a.plot(traj["coverage"], traj["density"], color="0.6", lw=0.6, zorder=0)
        a.scatter([traj.loc[chosen, "coverage"]], [traj.loc[chosen, "density"]], s=60,
                  facecolors="none", edgecolors="#c0392b", lw=1.2, label=f"box {chosen}")
        a.set_xlabel("Coverage (share of failures)")
        a.set_ylabel("Density (share failing)")
        a.set_xlim(0, 1.06)
        a.set_ylim(0, 1.06)
        a.set_title("PRIM peeling trajectory")
        cb = fig.colorbar(sc, ax=a, pad=0.02)
        cb.set_label("Restricted dimensions (number)")
        cb.locator = MaxNLocator(integer=True)
        cb.update_ticks()
        a.legend(loc="lower left", frameon=False)
        names = []
        for k, (path, row) in enumerate(limits.iterrows()):
            span = row["range_high"] - row["range_low"]
            lo = (row["box_low"] - row["range_low"]) / span
            hi = (row["box_high"] - row["range_low"]) / span
            b.barh(k, 1.0, left=0, color="0.9", height=0.6)
            b.barh(k, hi - lo, left=lo, color="#c0392b" if row["kind"] == "lever"
                   else "#2c7fb8", height=0.6)
            unit = lever_unit(path)
            fmt = (lambda v: f"{v:,.0f}") if abs(row["range_high"]) >= 100 else (
                lambda v: f"{v:.3g}")
            names.append(f"{lever_label(path)}\n{fmt(row['box_low'])} to "
                         f"{fmt(row['box_high'])}" + (f" {unit}" if unit else ""))
        b.set_yticks(range(len(names)), names)
        b.invert_yaxis()
        b.set_xlim(0, 1)
        b.set_xlabel("Position in the explored range (share)")
        b.set_title(f"Box {chosen}: where members fall below {threshold:g}")
        add_caption(fig, f"{n} experiments (Latin hypercubes of behaviour x policy), each the "
                    f"mean of {reps} replications, root seed {seed}; failure: members in 2012 "
                    f"below {threshold:g}. Blue: behavioural uncertainty, red: policy lever; "
                    "grey: the range explored.")
        problems = check_figure(fig)
        if problems:
            print("figure: " + "; ".join(problems), file=sys.stderr)
        return save(fig, stem, "PRIM scenario discovery: members in 2012 below "
                    f"{threshold:g}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", type=int, default=30, help="samples of the uncertainties")
    ap.add_argument("--policies", type=int, default=8, help="samples of the levers")
    ap.add_argument("--reps", type=int, default=3, help="replications per experiment")
    ap.add_argument("--threshold", type=float, default=850.0,
                    help="failure: members in 2012 below this (default 850)")
    ap.add_argument("--seed", type=int, default=20010101, help="root seed of the runs")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="EMA worker processes")
    ap.add_argument("--out", default="experiments/output/ema_discovery", help="output folder")
    a = ap.parse_args(argv)
    discover(a.scenarios, a.policies, a.reps, a.threshold, a.seed, Path(a.out), a.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
