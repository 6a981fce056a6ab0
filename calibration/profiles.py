"""Profiles of the calibration's objective: what the targets identify (issue 16).

For each estimated parameter, J on a grid of its search range with every *other* parameter held
at the estimate (a one-at-a-time slice through the estimate, not a profile re-optimised over the
others: a trade-off between two parameters shows as a flat slice only if it is along the
parameter's own axis; the bootstrap's correlations show the others).  Each grid point is an
ordinary candidate (R replications, common random numbers, cached), so the slices cost
``P x profile_points`` candidates and resume like the rest.  A flat slice says the targets do not
tell the parameter's values apart; a slice whose minimum is not at the estimate says the search
did not reach the minimum along that axis (reported).

Written to the calibration's output folder: ``profiles.csv`` (parameter, value, J, J minus J at
the estimate, whether the point is the estimate) and ``profiles.png`` (one panel per parameter).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def grid(spec: Any, estimate: float, points: int) -> list[int | float]:
    """``points`` evenly spaced values over the range of parameter ``spec`` (a
    :class:`calibration.smm.ParameterSpec`), rounded to the calibration's resolution (whole
    numbers for an integer parameter, so fewer when the range is short), plus the estimate;
    sorted, without duplicates."""
    if points < 2:
        raise ValueError(f"a profile needs at least 2 points (got {points})")
    vals = {spec.quantize(v) for v in np.linspace(spec.lower, spec.upper, points)}
    vals.add(spec.quantize(estimate))
    return sorted(vals)


def profile(params: Sequence[Any], estimate: dict[str, int | float], points: int,
            objective: Callable[[list[dict[str, int | float]]], list[float]]) -> pd.DataFrame:
    """The objective along each parameter's grid, the others at ``estimate``.

    ``objective`` takes a list of candidates (dotted path -> value) and returns their J (all the
    grid points are passed in one call, so a calibration runs them together).
    """
    cands: list[dict[str, int | float]] = []
    rows: list[tuple[str, int | float, bool]] = []
    for p in params:
        for v in grid(p, estimate[p.path], points):
            c = dict(estimate)
            c[p.path] = v
            cands.append(c)
            rows.append((p.path, v, v == p.quantize(estimate[p.path])))
    js = objective(cands)
    j_hat = float(objective([dict(estimate)])[0])
    df = pd.DataFrame(rows, columns=["parameter", "value", "at_estimate"])
    df["objective"] = np.asarray(js, float)
    df["rise"] = df["objective"] - j_hat
    return df[["parameter", "value", "objective", "rise", "at_estimate"]]


def summary(df: pd.DataFrame, params: Sequence[Any], threshold: float) -> pd.DataFrame:
    """Per parameter: the least J of its slice and where, J at the range's ends, and the share
    of the grid whose J is within ``threshold`` of the estimate's (the slice's flat part)."""
    rows = []
    for p in params:
        s = df[df["parameter"] == p.path].sort_values("value")
        i = int(np.argmin(s["objective"].to_numpy()))
        rows.append({"parameter": p.path,
                     "min_objective": float(s["objective"].iloc[i]),
                     "argmin": s["value"].iloc[i],
                     "rise_at_lower": float(s["rise"].iloc[0]),
                     "rise_at_upper": float(s["rise"].iloc[-1]),
                     "flat_share": float(np.mean(s["rise"].to_numpy() <= threshold)),
                     "min_below_estimate": bool(s["rise"].iloc[i] < -1e-12)})
    return pd.DataFrame(rows)


def figure(df: pd.DataFrame, params: Sequence[Any], estimate: dict[str, int | float],
           j_hat: float, path: Path, title: str, threshold: float | None = None) -> Path:
    """One panel per parameter: J along its grid, the estimate marked, J at the estimate and
    (when given) ``J + threshold`` as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(params)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, p in zip(axes.flat, params, strict=False):
        s = df[df["parameter"] == p.path].sort_values("value")
        ax.plot(s["value"], s["objective"], "o-", color="tab:blue", ms=3, lw=1.2)
        ax.axvline(estimate[p.path], color="tab:red", lw=1, ls="--", label="estimate")
        ax.axhline(j_hat, color="grey", lw=0.8, ls=":", label="J at the estimate")
        if threshold is not None:
            ax.axhline(j_hat + threshold, color="tab:orange", lw=0.8, ls=":",
                       label=f"J + {threshold:g}")
        ax.set_title(p.path.split(".", 1)[-1], fontsize=9)
        ax.set_xlabel(p.path.rsplit(".", 1)[-1], fontsize=8)
        ax.set_ylabel("objective J", fontsize=8)
        top = float(np.nanmax(s["objective"]))
        if top > 50 * max(j_hat, 1e-9) and top > 0:
            ax.set_yscale("log")
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path


__all__ = ["figure", "grid", "profile", "summary"]
