"""Tables and figures of a stored experiment (redrawn from the store, never re-run)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from sim.experiment.analysis import compare_table, sensitivity, sweep_table
from sim.experiment.store import Store, write_text
from sim.figures import OKABE_ITO, STYLE, save


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
    caption = (f"{design['name']}: {reps} replications per variant, means with 95% t-intervals, "
               f"root seed {seed}, common random numbers across variants")
    if design["kind"] == "compare":
        ref = variants["variant"].iloc[0]
        table = compare_table(series, ref, inds, years, order=list(variants["variant"]))
        out["compare"] = table
        write_text(store.root / "compare.csv", table.to_csv(index=False))
        if draw and not series.empty:
            compare_figure(series, ref, inds, store.root / "compare", caption,
                           order=list(variants["variant"]))
    else:
        table = sweep_table(series, variants, inds, years)
        out["sweep"] = table
        write_text(store.root / "sweep.csv", table.to_csv(index=False))
        if draw and not table.empty:
            sweep_figure(table, [lv["path"] for lv in design["lever"]], store.root / "sweep",
                         caption)
        if design["kind"] == "sensitivity" and not (runs["status"] != "ok").any():
            idx = sensitivity(design, series, list(variants["variant"]), inds, years,
                              seed=design["sampler"]["seed"])
            out["sensitivity"] = idx
            write_text(store.root / "sensitivity.csv", idx.to_csv(index=False))
            if draw:
                sensitivity_figure(idx, design["sampler"]["method"],
                                   store.root / "sensitivity",
                                   f"{design['name']}: {design['sampler']['method']} indices, "
                                   f"{reps} replications per point, bootstrap 95% intervals, "
                                   f"root seed {seed}")
    out["failures"] = runs[runs["status"] != "ok"]
    return out


def compare_figure(series: pd.DataFrame, reference: str, indicators: list[str], stem: Path,
                   caption: str, order: list[str] | None = None) -> list[Path]:
    """Top row: each variant's mean path with its 95% band; bottom row: the paired difference
    from the reference with its band."""
    d = series[(series["by"] == "total") & series["indicator"].isin(indicators)]
    present = set(d["variant"])
    variants = [v for v in (order or dict.fromkeys(d["variant"])) if v in present]
    n = len(indicators)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, n, figsize=(max(3.2, 2.6 * n), 4.6), squeeze=False,
                                 constrained_layout=True)
        for j, ind in enumerate(indicators):
            di = d[d["indicator"] == ind]
            wide = di.pivot_table(index=["year", "replication"], columns="variant",
                                  values="value")
            for k, v in enumerate(variants):
                colour = OKABE_ITO[k % len(OKABE_ITO)]
                _band(axes[0, j], wide[v].unstack("replication"), colour, v)
                if v != reference and reference in wide:
                    diff = (wide[v] - wide[reference]).unstack("replication")
                    _band(axes[1, j], diff, colour, f"{v} - {reference}")
            axes[0, j].set_title(ind)
            axes[1, j].axhline(0, color="black", lw=0.6)
            axes[1, j].set_title(f"difference from {reference}")
            for ax in axes[:, j]:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
                ax.set_xlabel("year")
        for ax in (axes[0, 0], axes[1, 0]):
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=6)
        fig.suptitle(caption, fontsize=7)
        paths = save(fig, stem, caption)
        plt.close(fig)
    return paths


def _band(ax, wide: pd.DataFrame, colour: str, label: str) -> None:
    """Mean over columns (replications) with a 95% t-interval band, by year (index)."""
    from scipy import stats

    m = wide.mean(axis=1)
    n = wide.notna().sum(axis=1)
    half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * wide.std(axis=1, ddof=1) / np.sqrt(n)
    ax.plot(m.index, m.values, color=colour, lw=1.3, label=label)
    ax.fill_between(m.index, (m - half).values, (m + half).values, color=colour, alpha=0.2, lw=0)


def sweep_figure(table: pd.DataFrame, levers: list[str], stem: Path, caption: str
                 ) -> list[Path]:
    """Each indicator (rows) against each lever (columns), one point per design point."""
    inds = list(dict.fromkeys(table["indicator"]))
    year = int(table["year"].max())
    t = table[table["year"] == year]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(inds), len(levers), squeeze=False,
                                 figsize=(2.6 * len(levers) + 0.6, 2.2 * len(inds) + 0.4),
                                 constrained_layout=True)
        for i, ind in enumerate(inds):
            ti = t[t["indicator"] == ind]
            for j, lv in enumerate(levers):
                ax = axes[i, j]
                ax.errorbar(ti[lv], ti["mean"], yerr=[ti["mean"] - ti["ci_low"],
                                                      ti["ci_high"] - ti["mean"]],
                            fmt="o", ms=3, color=OKABE_ITO[0], ecolor=OKABE_ITO[5], lw=0.8)
                ax.set_xlabel(lv.split(".")[-1])
                if j == 0:
                    ax.set_ylabel(f"{ind} ({year})")
        fig.suptitle(caption, fontsize=7)
        paths = save(fig, stem, caption)
        plt.close(fig)
    return paths


def sensitivity_figure(idx: pd.DataFrame, method: str, stem: Path, caption: str) -> list[Path]:
    """Bars of the indices with their bootstrap intervals, one panel per indicator-year."""
    groups = list(idx.groupby(["indicator", "year"], sort=False))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(groups), squeeze=False,
                                 figsize=(3.2 * len(groups) + 0.4, 2.8), constrained_layout=True)
        for ax, ((ind, year), g) in zip(axes[0], groups, strict=True):
            names = [p.split(".")[-1] for p in g["parameter"]]
            y = np.arange(len(g))
            if method == "morris":
                ax.barh(y, g["mu_star"], xerr=g["mu_star_conf"], color=OKABE_ITO[0])
                ax.set_xlabel("mu* (Morris)")
            else:
                ax.barh(y - 0.2, g["S1"], 0.4, xerr=g["S1_conf"], color=OKABE_ITO[0],
                        label="first order S1")
                ax.barh(y + 0.2, g["ST"], 0.4, xerr=g["ST_conf"], color=OKABE_ITO[1],
                        label="total order ST")
                ax.legend(fontsize=6)
                ax.set_xlabel("Sobol index")
            ax.set_yticks(y, names)
            ax.set_title(f"{ind} ({year})")
        fig.suptitle(caption, fontsize=7)
        paths = save(fig, stem, caption)
        plt.close(fig)
    return paths


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
