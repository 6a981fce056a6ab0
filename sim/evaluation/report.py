"""Tables and the figure of an evaluation: the estimators against the true effect.

:func:`format_scores` renders :func:`sim.evaluation.truth.score`'s table as Markdown (or
plain text); :func:`figure_estimates` draws, per outcome, each estimator's estimates and
intervals against the true effect, in the house style of :mod:`sim.figures` (7.2 in wide,
text of 7 pt and more, units on the axes).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.evaluation.panel import OUTCOME_UNITS

SCORE_COLUMNS = {
    "estimator": "estimator", "outcome": "outcome", "n_reps": "reps",
    "mean_truth": "true effect", "mean_estimate": "mean estimate", "bias": "bias",
    "rmse": "RMSE", "coverage": "coverage of 95% CI", "mean_se": "mean SE",
    "sd_error": "SD of error",
}

# panel titles where the outcome's name does not read as words
TITLES = {"private_rd_eur": "own R&D money"}


def _scale(unit: str) -> tuple[float, str]:
    """Figures in EUR are shown in thousands."""
    if unit.startswith("EUR"):
        return 1e-3, "k" + unit
    return 1.0, unit


def format_scores(scores: pd.DataFrame, fmt: str = "markdown", digits: int = 3) -> str:
    """The score table (bias, RMSE, coverage by estimator and outcome) as text.

    Parameters
    ----------
    scores : pandas.DataFrame
        :func:`sim.evaluation.truth.score`'s output.
    fmt : {"markdown", "plain"}
        Markdown pipe table, or aligned plain text.
    digits : int
        Significant digits of the numbers.
    """
    t = scores[[c for c in SCORE_COLUMNS if c in scores.columns]].copy()
    t["outcome"] = [f"{o} ({OUTCOME_UNITS.get(o, '')})" for o in t["outcome"]]
    cells = []
    for _, row in t.iterrows():
        out = []
        for c in t.columns:
            v = row[c]
            if c == "coverage":
                out.append("-" if pd.isna(v) else f"{v:.0%}")
            elif isinstance(v, float | np.floating):
                out.append("-" if not np.isfinite(v) else f"{v:.{digits}g}")
            else:
                out.append(str(v))
        cells.append(out)
    head = [SCORE_COLUMNS[c] for c in t.columns]
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in cells]
        return "\n".join(lines)
    if fmt != "plain":
        raise ValueError(f"fmt {fmt!r}: expected 'markdown' or 'plain'")
    width = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, width, strict=True))]
    lines += ["  ".join(v.rjust(w) if i > 1 else v.ljust(w)
                        for i, (v, w) in enumerate(zip(r, width, strict=True))) for r in cells]
    return "\n".join(lines)


def figure_estimates(estimates: pd.DataFrame, truth: pd.DataFrame, stem: Path, title: str,
                     outcomes: Sequence[str] | None = None) -> list[Path]:
    """Estimates with intervals against the true effect, by estimator and outcome.

    One panel per outcome, one row per estimator.  Over several replications: the dot is
    the mean estimate, the thick bar the central 95% of the estimates, the thin bar the
    mean reported 95% interval, the dashed line the mean true effect (the grey band the
    central 95% of the true effects) and the right margin the interval's coverage.  With
    one replication: the estimate, its interval and the true effect.

    Parameters
    ----------
    estimates : pandas.DataFrame
        ``replication, estimator, outcome, treatment, effect, ci_low, ci_high``.
    truth : pandas.DataFrame
        ``replication, outcome, treatment, true_effect``.
    stem : pathlib.Path
        Output path without suffix; PDF, SVG and PNG are written.
    title : str
        Figure title (also the files' metadata).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from sim.figures import OKABE_ITO, new_figure, save, style

    outs = list(outcomes) if outcomes is not None else list(dict.fromkeys(estimates["outcome"]))
    names = list(dict.fromkeys(estimates["estimator"]))
    ncol = min(3, len(outs))
    nrow = int(np.ceil(len(outs) / ncol))
    width = 7.2 if ncol > 1 else 3.5
    with style():
        fig = new_figure(width, 0.35 + nrow * (0.28 * len(names) + 0.75))
        axes = fig.subplots(nrow, ncol, squeeze=False)
        for ax, o in zip(axes.flat, outs, strict=False):
            scale, unit = _scale(OUTCOME_UNITS.get(o, ""))
            e = estimates[estimates["outcome"] == o]
            t = truth[truth["outcome"] == o]["true_effect"].to_numpy(float) * scale
            if len(t):
                if len(t) > 1:
                    ax.axvspan(*np.quantile(t, [0.025, 0.975]), color="0.88", lw=0)
                ax.axvline(t.mean(), color="black", ls="--", lw=0.9)
            ys = np.arange(len(names))[::-1]
            # the palette without its yellow, which is too faint for thin bars on white
            colours = [c for c in OKABE_ITO if c != "#F0E442"] + ["#999999"]
            for y, name, colour in zip(ys, names, colours * 3, strict=False):
                g = e[e["estimator"] == name]
                ok = g["effect"].notna().to_numpy()
                if not ok.any():
                    ax.text(0.02, y, "failed", transform=ax.get_yaxis_transform(),
                            va="center", fontsize=7, color="0.4")
                    continue
                v = g["effect"].to_numpy(float)[ok] * scale
                lo = g["ci_low"].to_numpy(float)[ok] * scale
                hi = g["ci_high"].to_numpy(float)[ok] * scale
                ax.plot([lo.mean(), hi.mean()], [y, y], color=colour, lw=0.9)
                if len(v) > 1:
                    ax.plot(np.quantile(v, [0.025, 0.975]), [y, y], color=colour, lw=3.2,
                            solid_capstyle="butt", alpha=0.75)
                    tt = (g.merge(truth, on=["replication", "treatment", "outcome"])
                          ["true_effect"].to_numpy(float)[ok] * scale)
                    cov = np.mean((lo <= tt) & (tt <= hi)) if len(tt) == len(v) else np.nan
                    ax.text(1.01, y, f"{cov:.0%}", transform=ax.get_yaxis_transform(),
                            va="center", fontsize=7)
                ax.plot([v.mean()], [y], "o", color=colour, ms=3.5, mec="white", mew=0.4)
            ax.set_yticks(ys, names if ax in axes[:, 0] else [])
            ax.set_ylim(-0.7, len(names) - 0.3)
            ax.set_title(TITLES.get(o, o.replace("_", " ")))
            ax.set_xlabel(f"effect on the treated ({unit})" if unit else "effect on the treated")
            ax.spines["left"].set_visible(False)
            ax.tick_params(axis="y", length=0)
        for ax in list(axes.flat)[len(outs):]:
            ax.set_visible(False)
        reps = estimates["replication"].nunique() if "replication" in estimates else 1
        key = ("dashed: true effect; dot: estimate; thin: its 95% CI" if reps == 1 else
               "dashed: mean true effect; dot: mean estimate; thin: mean 95% CI; thick: 95% "
               "of estimates; right: coverage of the CI")
        fig.suptitle(f"{title}, {reps} replication{'s' if reps != 1 else ''}\n{key}",
                     fontsize=7)
        paths = save(fig, Path(stem), title)
    return paths
