"""Statistics of stored experiments: means with intervals, paired differences, sweeps, and
global sensitivity indices (SALib).  Reads a store; never runs the model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy import stats

Z_LEVEL = 0.95


def t_interval(x: np.ndarray, level: float = Z_LEVEL) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval of the mean of ``x``."""
    x = np.asarray(x, float)
    n = len(x)
    m = float(x.mean()) if n else float("nan")
    if n < 2:
        return m, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / np.sqrt(n)
    return m, m - half, m + half


def totals(series: pd.DataFrame, indicators: list[str], years: list[int] | None = None
           ) -> pd.DataFrame:
    """Wide table (variant, replication, indicator, year) -> value of the totals."""
    d = series[(series["by"] == "total") & series["indicator"].isin(indicators)]
    if years:
        d = d[d["year"].isin(years)]
    return d[["variant", "replication", "indicator", "year", "value"]]


def compare_table(series: pd.DataFrame, reference: str, indicators: list[str],
                  years: list[int] | None = None, level: float = Z_LEVEL,
                  order: list[str] | None = None) -> pd.DataFrame:
    """Each variant's mean and interval, and its paired difference from ``reference``.

    The difference of a variant is computed replication by replication (the replications of
    all variants share their random streams), with a Student-t interval of the mean difference.
    ``sd_ratio`` is the standard error of that paired difference over the standard error the
    same difference would have with independent draws (below 1: common random numbers help).
    """
    d = totals(series, indicators, years)
    rows = []
    ref = {k: g.set_index("replication")["value"]
           for k, g in d[d["variant"] == reference].groupby(["indicator", "year"])}
    for (variant, ind, year), g in d.groupby(["variant", "indicator", "year"], sort=False):
        x = g.set_index("replication")["value"].sort_index()
        mean, lo, hi = t_interval(x.values, level)
        row = {"indicator": ind, "year": int(year), "variant": variant, "n": len(x),
               "mean": mean, "ci_low": lo, "ci_high": hi}
        if variant != reference and (ind, year) in ref:
            r = ref[(ind, year)].reindex(x.index)
            diff = (x - r).dropna()
            dm, dlo, dhi = t_interval(diff.values, level)
            indep = np.sqrt(x.var(ddof=1) / len(x) + r.var(ddof=1) / len(r))
            paired = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
            row.update(diff=dm, diff_low=dlo, diff_high=dhi,
                       sd_ratio=float(paired / indep) if indep > 0 else np.nan)
        rows.append(row)
    columns = ["indicator", "year", "variant", "n", "mean", "ci_low", "ci_high", "diff",
               "diff_low", "diff_high", "sd_ratio"]
    out = pd.DataFrame(rows, columns=columns)
    rank = {v: i for i, v in enumerate(order or dict.fromkeys(d["variant"]))}
    out["_o"] = out["variant"].map(rank)
    return out.sort_values(["indicator", "year", "_o"]).drop(columns="_o").reset_index(drop=True)


def sweep_table(series: pd.DataFrame, variants: pd.DataFrame, indicators: list[str],
                years: list[int] | None = None, level: float = Z_LEVEL) -> pd.DataFrame:
    """Per design point: the lever settings and each indicator's mean and interval."""
    d = totals(series, indicators, years)
    settings = {v: json.loads(s) for v, s in zip(variants["variant"], variants["settings"],
                                                  strict=True)}
    rows = []
    for (variant, ind, year), g in d.groupby(["variant", "indicator", "year"]):
        mean, lo, hi = t_interval(g["value"].values, level)
        rows.append({"variant": variant, **settings.get(variant, {}), "indicator": ind,
                     "year": int(year), "n": len(g), "mean": mean, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=None if rows else ["variant", "indicator", "year", "n",
                                                          "mean", "ci_low", "ci_high"])


def point_means(series: pd.DataFrame, variants: list[str], indicator: str, year: int
                ) -> np.ndarray:
    """Mean over replications of one indicator-year, per design point in ``variants`` order."""
    d = totals(series, [indicator], [year]).groupby("variant")["value"].mean()
    return d.reindex(variants).to_numpy()


def sensitivity(design_dict: dict, series: pd.DataFrame, variants: list[str],
                indicators: list[str], years: list[int], seed: int = 1,
                resamples: int = 1000) -> pd.DataFrame:
    """Morris (mu*, sigma) or Sobol (S1, ST) indices with bootstrap intervals, per indicator."""
    from SALib.analyze import morris as morris_an
    from SALib.analyze import sobol as sobol_an

    from sim.experiment.design import Design, points, salib_problem

    design = Design.model_validate(design_dict)
    problem = salib_problem(design)
    x = np.array([[p[lv.path] for lv in design.lever] for p in points(design)], float)
    rows = []
    for ind in indicators:
        for year in years:
            y = point_means(series, variants, ind, year)
            if np.isnan(y).any():
                raise ValueError(f"{ind}@{year}: some design points have no successful run")
            if design.sampler.method == "morris":
                r = morris_an.analyze(problem, x, y, num_resamples=resamples, conf_level=0.95,
                                      num_levels=design.sampler.levels, seed=seed)
                for k, name in enumerate(problem["names"]):
                    rows.append({"indicator": ind, "year": year, "parameter": name,
                                 "mu_star": r["mu_star"][k], "mu_star_conf": r["mu_star_conf"][k],
                                 "sigma": r["sigma"][k], "mu": r["mu"][k]})
            else:
                r = sobol_an.analyze(problem, y, calc_second_order=False,
                                     num_resamples=resamples, conf_level=0.95, seed=seed)
                for k, name in enumerate(problem["names"]):
                    rows.append({"indicator": ind, "year": year, "parameter": name,
                                 "S1": r["S1"][k], "S1_conf": r["S1_conf"][k],
                                 "ST": r["ST"][k], "ST_conf": r["ST_conf"][k]})
    return pd.DataFrame(rows)
