"""Figures in one house style for papers.

Vector PDF and SVG with embedded TrueType fonts, PNG at 300 dpi, the Okabe-Ito colour-blind-safe
palette, and metadata stating the run (scenario, seed, replications).  Timestamps and random
ids are fixed so the same data gives byte-identical files.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from sim.results import atomic_write_bytes
from sim.targets import Target

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")
STYLE = {
    "pdf.fonttype": 42,  # TrueType, embedded
    "ps.fonttype": 42,
    "svg.fonttype": "path",
    "svg.hashsalt": "clustersim",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "legend.frameon": False,
}
PANELS = (
    ("Clusters", ("clusters_active", "clusters_dropped", "poles_selected")),
    ("Members", ("members_total", "members_enterprises", "members_rd")),
    ("Partnerships", ("partnerships_active", "partnerships_launched",
                      "partnership_members_involved")),
    ("New enterprises and international", ("new_enterprises", "intercluster_partnerships_active",
                                           "foreign_partnerships_launched")),
    ("Pole calls", ("pole_proposals_submitted", "pole_proposals_labelled",
                    "pole_projects_funded")),
    ("Pole budget left (MEUR)", ("pole_budget_left_eur",)),
)


def save(fig: plt.Figure, stem: Path, title: str) -> list[Path]:
    """Save a figure as PDF, SVG and PNG (300 dpi) with fixed metadata; return the paths."""
    paths = []
    for ext, meta in (("pdf", {"Title": title, "CreationDate": None, "Producer": "clustersim"}),
                      ("svg", {"Title": title, "Date": None}),
                      ("png", {"Title": title, "Software": "clustersim"})):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, metadata=meta, bbox_inches="tight")
        path = stem.with_suffix(f".{ext}")
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths


def run_overview(results: pd.DataFrame, targets: list[Target], stem: Path, caption: str
                 ) -> list[Path]:
    """Key indicators by year (mean over replications, with the 2.5-97.5% range when there
    are several) with the observed figures as black diamonds."""
    tot = results[results["by"] == "total"]
    reps = tot["replication"].nunique() if "replication" in tot else 1
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 3, figsize=(7.2, 4.4), constrained_layout=True)
        for ax, (title, names) in zip(axes.flat, PANELS, strict=True):
            for colour, name in zip(OKABE_ITO, names, strict=False):
                d = tot[tot["indicator"] == name]
                scale = 1e-6 if name.endswith("_eur") else 1.0
                g = d.groupby("year")["value"]
                mean = g.mean() * scale
                ax.plot(mean.index, mean.values, color=colour, lw=1.4, label=name)
                if reps > 1:
                    lo, hi = g.quantile(0.025) * scale, g.quantile(0.975) * scale
                    ax.fill_between(mean.index, lo.values, hi.values, color=colour, alpha=0.2,
                                    lw=0)
                for t in targets:
                    if t.indicator == name and not t.where:
                        ax.plot([t.year], [t.value * scale], marker="D", ms=4, color="black",
                                ls="none")
            ax.set_title(title)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
            ax.legend(fontsize=6, loc="best")
            ax.set_xlabel("year")
        fig.suptitle(caption, fontsize=7)
        paths = save(fig, stem, caption)
        plt.close(fig)
    return paths
