# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # clustersim in ten minutes: from one run to a first policy comparison
#
# This tutorial is a [Jupytext](https://jupytext.readthedocs.io) script in the "percent"
# format: run it as it is (`python docs/tutorial.py`), or open it as a notebook in Jupyter
# with Jupytext installed.  The test suite runs it (`tests/test_tutorial.py`), so every line
# below works with the code it ships with.  It takes well under a minute.
#
# It writes into `tutorial_output/` of the current folder (or `$CLUSTERSIM_TUTORIAL_OUT`).

# %%
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

OUT = Path(os.environ.get("CLUSTERSIM_TUTORIAL_OUT", "tutorial_output"))
OUT.mkdir(parents=True, exist_ok=True)
# the clustersim command of this Python's environment (.venv/bin/clustersim)
CLUSTERSIM = shutil.which("clustersim", path=str(Path(sys.executable).parent)) or "clustersim"


def clustersim(*args: str) -> str:
    """Run a clustersim command as you would in a terminal and return what it printed."""
    proc = subprocess.run([CLUSTERSIM, *args], capture_output=True, text=True, check=True)
    return proc.stdout


# %% [markdown]
# ## 1. One run of the baseline
#
# `clustersim run` with no argument runs the embedded baseline: Wallonia 2001-2012, the
# clusters launched in 2001, 2003 and 2004, the Region's three-yearly evaluations and the
# competitiveness poles of 2006.  It prints the key indicators by year with the seed's
# observed figures in brackets, and writes tidy results.

# %%
text = clustersim("run", "--out", str(OUT / "results"), "--no-figure")
print("\n".join(text.splitlines()[:6]))

# %% [markdown]
# The results are a *tidy* table: one row per indicator, year and breakdown.  `by` is
# `total` or the breakdown (`cluster`, `group`, ...), `key` the breakdown's value.

# %%
run = pd.read_parquet(OUT / "results" / "baseline-seed20010101-rep0" / "indicators.parquet")
print(run.columns.tolist())
members = run[(run.indicator == "members_total") & (run.by == "total")].set_index("year")
print(members["value"].astype(int).to_string())

# %% [markdown]
# Breakdowns are rows too: the members of each cluster on 31 December 2006.

# %%
by_cluster = run[(run.indicator == "members_total") & (run.by == "cluster") & (run.year == 2006)]
print(by_cluster[["key", "value"]].sort_values("value", ascending=False).to_string(index=False))

# %% [markdown]
# ## 2. A first policy comparison
#
# What did the Region's evaluations (which dropped the wood and food-processing clusters in
# 2004) change?  `clustersim compare` runs the baseline and the variant `no_evaluation` with
# the same replications: replication r of both uses the same random streams (*common random
# numbers*), so their paired difference measures the policy, not the luck of the draw.
# Scenario names of the package work as well as file names.  Ten replications keep this
# quick; a study would use 100 or more.

# %%
text = clustersim("compare", "baseline", "no_evaluation", "--reps", "10", "--years",
                  "2006,2012", "--indicators", "clusters_active,members_total", "-j", "1",
                  "--quiet", "--out", str(OUT / "experiments"))
print(text)

# %% [markdown]
# ## 3. Reading the store with pandas
#
# The comparison's store holds `series.parquet`: the tidy indicators of every run, with the
# variant and the replication.  Everything the printed table says can be recomputed from it.

# %%
store = OUT / "experiments" / "compare-baseline-vs-no_evaluation"
series = pd.read_parquet(store / "series.parquet")
total = series[(series.by == "total") & (series.indicator == "members_total")]
paths = total.pivot_table(index="year", columns="variant", values="value", aggfunc="mean")
print(paths.round(0).astype(int).tail(4).to_string())

# the paired difference in 2012, replication by replication
y2012 = total[total.year == 2012].pivot(index="replication", columns="variant", values="value")
diff = y2012["no_evaluation"] - y2012["baseline"]
print(f"members in 2012, no evaluation minus baseline: mean {diff.mean():.1f}, "
      f"paired standard error {diff.std(ddof=1) / len(diff) ** 0.5:.1f}")

# %% [markdown]
# ## 4. A figure
#
# The house style of the project's figures (`sim.figures`): a journal column's width,
# labelled axes with units.  The band is the spread of the replications (2.5-97.5%).

# %%
from sim.figures import add_caption, new_figure, save, style, width_for  # noqa: E402

with style():
    fig = new_figure(width_for(1), 2.6)
    ax = fig.subplots()
    for variant, colour in (("baseline", "#2c7fb8"), ("no_evaluation", "#d95f0e")):
        v = total[total.variant == variant].groupby("year")["value"]
        ax.fill_between(v.mean().index, v.quantile(0.025), v.quantile(0.975), color=colour,
                        alpha=0.2, lw=0)
        ax.plot(v.mean().index, v.mean(), color=colour,
                label=variant.replace("_", " ").capitalize())
    ax.set_xlabel("Year")
    ax.set_ylabel("Cluster members (members)")
    ax.legend(frameon=False, loc="upper left")
    add_caption(fig, "Mean of 10 replications and the 2.5-97.5% range of the runs.")
    files = save(fig, OUT / "members_with_and_without_evaluation", "Members")
print("figure written:", ", ".join(str(f) for f in files))

# %% [markdown]
# ## Where next
#
# * `clustersim sweep experiments/animation_sweep.toml`: a Latin hypercube over two levers.
# * `clustersim sensitivity experiments/sensitivity_behaviour.toml`: Morris screening.
# * `clustersim reproduce papers/policy_brief.toml`: every table and figure of the policy brief.
# * `python experiments/ema_discovery.py`: scenario discovery with the EMA Workbench.
# * `docs/ODD.md`: the model itself.
