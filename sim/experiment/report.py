"""Tables and figures of a stored experiment (redrawn from the store, never re-run)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.experiment.analysis import compare_table, sensitivity, sweep_table
from sim.experiment.figures import compare_figure, sensitivity_figure, sweep_figure
from sim.experiment.store import Store, write_text

__all__ = ["compare_figure", "format_compare", "report", "sensitivity_figure", "sweep_figure"]


def _years(design: dict, series: pd.DataFrame) -> list[int]:
    return design.get("years") or [int(series["year"].max())]


def report(store: Store, *, draw: bool = True) -> dict[str, pd.DataFrame]:
    """Compute the design's tables, write them as CSV and draw its figures; return the tables."""
    man = store.manifest()
    design = man["design"]
    series = store.load_series()
    runs = store.load_runs()
    variants = store.load_variants()
    inds = design["indicators"]
    years = _years(design, series)
    reps = design["replications"]
    seed = design["seed"]
    out: dict[str, pd.DataFrame] = {}
    caption = (f"Design {design['name']}: {reps} replications per variant, root seed {seed}; "
               "replication r of every variant shares its random streams (common random numbers).")
    if design["kind"] == "compare":
        ref = variants["variant"].iloc[0]
        table = compare_table(series, ref, inds, years, order=list(variants["variant"]))
        out["compare"] = table
        write_text(store.root / "compare.csv", table.to_csv(index=False))
        if draw and not series.empty:
            compare_figure(series, ref, inds, store.root / "compare", caption,
                           order=list(variants["variant"]), targets=_seed_targets(man))
    else:
        table = sweep_table(series, variants, inds, years)
        out["sweep"] = table
        write_text(store.root / "sweep.csv", table.to_csv(index=False))
        levers = [lv["path"] for lv in design["lever"]]
        # a sensitivity design's sample over many levers is summed up by its indices: beyond
        # a page of scatter panels it gets no sweep figure
        if draw and not table.empty and (design["kind"] == "sweep" or len(levers) <= 2
                                         or len(levers) * len(inds) <= 12):
            sweep_figure(table, levers, store.root / "sweep", caption)
        if design["kind"] == "sensitivity" and not (runs["status"] != "ok").any():
            idx = sensitivity(design, series, list(variants["variant"]), inds, years,
                              seed=design["sampler"]["seed"])
            out["sensitivity"] = idx
            write_text(store.root / "sensitivity.csv", idx.to_csv(index=False))
            if draw:
                sensitivity_figure(idx, design["sampler"]["method"],
                                   store.root / "sensitivity",
                                   f"Design {design['name']}: "
                                   f"{design['sampler']['method'].capitalize()} "
                                   f"indices of the means over {reps} "
                                   f"replication{'s' if reps != 1 else ''} per design "
                                   f"point, with bootstrap 95% intervals (SALib); root seed "
                                   f"{seed}.")
    out["failures"] = runs[runs["status"] != "ok"]
    return out


def _seed_targets(manifest: dict) -> list | None:
    """The seed's observed figures, for comparisons of scenarios at the seed's scale."""
    from sim.targets import load_targets

    scales = {v.get("scenario", {}).get("run", {}).get("scale", 1.0)
              for v in manifest.get("variants", {}).values()}
    return load_targets() if scales == {1.0} else None


def format_compare(table: pd.DataFrame) -> str:
    """The comparison table as text: mean [95% CI] and the paired difference [95% CI]."""
    def f(x: float) -> str:
        return "" if pd.isna(x) else (f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}")

    rows = []
    for _, r in table.iterrows():
        diff = "" if pd.isna(r.get("diff", np.nan)) else (
            f"{f(r['diff'])} [{f(r['diff_low'])}, {f(r['diff_high'])}]")
        ratio = "" if pd.isna(r.get("sd_ratio", np.nan)) else f"{r['sd_ratio']:.2f}"
        rows.append([r["indicator"], r["year"], r["variant"], int(r["n"]),
                     f"{f(r['mean'])} [{f(r['ci_low'])}, {f(r['ci_high'])}]", diff, ratio])
    df = pd.DataFrame(rows, columns=["indicator", "year", "variant", "n", "mean [95% CI]",
                                     "paired difference [95% CI]", "se ratio CRN/indep."])
    return df.to_string(index=False)
