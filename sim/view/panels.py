"""The view's panels as matplotlib figures, drawn from a model's record so far.

Each ``draw_*`` function takes a model (and the seed's observed figures, where the panel has
indicators with targets) and returns the figure and a one-line caption of the last year ended
(what a screen reader, or the browser test, reads).  They draw in the house style of
:mod:`sim.figures` (names and units from the indicator catalogue, euros in kEUR or MEUR, the
seed's figures with their tolerance bars) at a screen size; nothing here depends on Solara, so
the panels are tested without a browser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.figures import (
    OKABE_ITO,
    axis_label,
    display_unit,
    label_of,
    new_figure,
    observed,
    style,
    target_points,
    unit_of,
    value_axis,
    year_axis,
)
from sim.state.codes import ACTOR_TYPES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sim.model import ClusterModel
    from sim.targets import Target

WIDTH, HEIGHT = 5.2, 3.0  # in, at 100 dpi on screen (shown at 150 dpi)
NOTHING_YET = "No year has ended yet: press Step or Play."
INSTRUMENT_LABELS = {"rd": "R&D projects", "training": "Training", "investment": "Investment",
                     "export": "Export promotion", "assets": "Assets and holdings"}


def years_of(model: ClusterModel) -> range:
    """The scenario's calendar years (the x axis of every time panel)."""
    return range(model.sc.time.start_year, model.sc.time.end_year + 1)


def series(df: pd.DataFrame, name: str, by: str = "total", key: str = "") -> pd.Series:
    """The yearly values of one indicator row (year-indexed)."""
    sel = df[(df["indicator"] == name) & (df["by"] == by) & (df["key"] == key)]
    return sel.set_index("year")["value"].astype(float)


def by_key(df: pd.DataFrame, name: str, by: str) -> pd.DataFrame:
    """The yearly values of one indicator by the keys of breakdown ``by`` (years x keys)."""
    sel = df[(df["indicator"] == name) & (df["by"] == by)]
    if sel.empty:
        return pd.DataFrame()
    return sel.pivot_table(index="year", columns="key", values="value", aggfunc="first",
                           sort=False)


def _lines(ax: Axes, model: ClusterModel, df: pd.DataFrame, names: list[str],
           targets: list[Target] | None, quantity: str | None = None) -> float:
    """Draw indicators ``names`` (one unit) with their targets; return the shown factor."""
    unit = unit_of(names[0])
    values = [series(df, n) for n in names]
    known = [v.to_numpy() for v in values if len(v)]
    pts = [p for n in names for p in target_points(targets, n, years_of(model))]
    factor, shown = display_unit(unit, np.concatenate([*known, np.array([p[1] for p in pts])])
                                 if known or pts else [])
    for i, (name, v) in enumerate(zip(names, values, strict=True)):
        ax.plot(v.index, v.to_numpy() * factor, color=OKABE_ITO[i % len(OKABE_ITO)],
                marker="o", ms=2.5, label=label_of(name))
        points = target_points(targets, name, years_of(model))
        if points:
            x, y, tol = (np.array(c, float) for c in zip(*points, strict=True))
            ax.errorbar(x, y * factor, yerr=tol * factor, color=OKABE_ITO[i % len(OKABE_ITO)],
                        marker="D", ms=3.5, ls="none", capsize=2, mec="black", mew=0.6)
    _finish(ax, model, shown, quantity)
    return factor


def _finish(ax: Axes, model: ClusterModel, unit: str, quantity: str | None = None) -> None:
    ax.set_ylabel(axis_label(unit, quantity))
    ax.set_xlabel("Year (31 December)")
    year_axis(ax, years_of(model))
    value_axis(ax, unit)
    if ax.dataLim.y1 <= 0 and ax.dataLim.y0 >= 0:  # nothing but zeros (no spending): from 0
        ax.set_ylim(-0.025, 1.0)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=6.5)


def _last(df: pd.DataFrame) -> int | None:
    return int(df["year"].max()) if len(df) else None


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.2g}"


def draw_clusters(model: ClusterModel, targets: list[Target] | None = None
                  ) -> tuple[Figure, str]:
    """Clusters and their members: active clusters (left) and members by cluster (right),
    with the seed's figures (diamonds, tolerance bars)."""
    df = model.results()
    with style():
        fig = new_figure(WIDTH + 1.2, HEIGHT)
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.5]})
        _lines(left, model, df, ["clusters_active"], targets)
        left.set_title(label_of("clusters_active"))
        members = by_key(df, "members_total", "cluster")
        total = series(df, "members_total")
        if not members.empty:
            members = members.loc[:, members.max() > 0]
            right.stackplot(members.index, members.to_numpy().T,
                            labels=[k.replace("_", " ") for k in members.columns],
                            colors=[OKABE_ITO[i % len(OKABE_ITO)] for i in range(members.shape[1])],
                            alpha=0.85, lw=0)
        pts = target_points(targets, "members_total", years_of(model))
        observed(right, pts)
        right.plot(total.index, total.to_numpy(), color="black", lw=0.8, label="All clusters")
        right.set_title("Members by cluster")
        _finish(right, model, "members")
        if right.get_legend() is not None:
            right.get_legend().remove()
        handles, labels = right.get_legend_handles_labels()
        if handles:  # the clusters' stack from the top down, then the total and the seed's
            order = [*range(len(members.columns) - 1, -1, -1), *range(len(members.columns),
                                                                      len(handles))]
            right.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=5.5,
                         loc="upper left", bbox_to_anchor=(1.01, 1.0), handlelength=1.0)
    last = _last(df)
    if last is None:
        return fig, NOTHING_YET
    return fig, (f"{last}: {_fmt(series(df, 'clusters_active')[last])} active clusters, "
                 f"{_fmt(total[last])} members")


def draw_projects(model: ClusterModel, targets: list[Target] | None = None
                  ) -> tuple[Figure, str]:
    """Partnerships and pole projects under way, and partnerships launched since the start."""
    df = model.results()
    names = ["partnerships_active", "pole_projects_active", "partnerships_launched_cumulative"]
    with style():
        fig = new_figure(WIDTH, HEIGHT)
        ax = fig.subplots()
        _lines(ax, model, df, names, targets)
        ax.set_title("Partnerships and pole projects")
    last = _last(df)
    if last is None:
        return fig, NOTHING_YET
    return fig, (f"{last}: {_fmt(series(df, names[0])[last])} partnerships and "
                 f"{_fmt(series(df, names[1])[last])} pole projects under way")


def draw_budget(model: ClusterModel, targets: list[Target] | None = None
                ) -> tuple[Figure, str]:
    """The Region's spending by year (animation, tender subsidy, pole funding) and the pole
    budget left by instrument."""
    df = model.results()
    spend = ["animation_subsidy_eur", "tender_subsidy_eur", "pole_funding_eur"]
    with style():
        fig = new_figure(WIDTH, HEIGHT)
        left, right = fig.subplots(1, 2)
        _lines(left, model, df, spend, targets, "Spent in the year")
        left.set_title("The Region's spending")
        left_budget = by_key(df, "pole_budget_left_eur", "instrument")
        if not left_budget.empty:
            factor, unit = display_unit("EUR", left_budget.to_numpy())
            right.stackplot(left_budget.index, left_budget.to_numpy().T * factor,
                            labels=[INSTRUMENT_LABELS.get(k, k) for k in left_budget.columns],
                            colors=OKABE_ITO[: left_budget.shape[1]], alpha=0.85, lw=0)
        else:
            unit = "MEUR"
        right.set_title("Pole budget left")
        _finish(right, model, unit, "Budget left")
    last = _last(df)
    if last is None:
        return fig, NOTHING_YET
    words = ", ".join(f"{label_of(n).lower()} {series(df, n)[last] / 1e3:,.0f} kEUR"
                      for n in spend)
    return fig, f"{last}: {words}"


def draw_groups(model: ClusterModel, targets: list[Target] | None = None
                ) -> tuple[Figure, str]:
    """Member companies against the others: labour productivity and the share of exporters."""
    df = model.results()
    with style():
        fig = new_figure(WIDTH, HEIGHT)
        axes = fig.subplots(1, 2)
        for ax, name in zip(axes, ("productivity", "exporters_share"), strict=True):
            groups = by_key(df, name, "group")
            factor, unit = display_unit(unit_of(name), groups.to_numpy() if len(groups) else [])
            for i, g in enumerate(("members", "non_members")):
                if g in groups:
                    ax.plot(groups.index, groups[g].to_numpy() * factor, marker="o", ms=2.5,
                            color=OKABE_ITO[i], ls=("-", "--")[i],
                            label=("Members", "Non-members")[i])
            ax.set_title(label_of(name))
            _finish(ax, model, unit, "Productivity" if name == "productivity" else None)
    last = _last(df)
    if last is None:
        return fig, NOTHING_YET
    p = by_key(df, "productivity", "group").loc[last]
    return fig, (f"{last}: productivity of members {p['members'] / 1e3:,.1f} kEUR/FTE, "
                 f"of non-members {p['non_members'] / 1e3:,.1f} kEUR/FTE")


def cluster_graph(model: ClusterModel, cluster: int):
    """The partnership network of one cluster: its living members (nodes with ``actor_type``
    and ``member`` True) and the actors they work with, joined by an edge when they are in a
    project under way together (``project`` True: a cluster partnership or a pole project) or
    remember each other as partners with positive trust (``trust``, from the ties of past
    projects).  Partners outside the cluster are nodes with ``member`` False."""
    import networkx as nx

    a, p = model.actors, model.projects
    n = a.n
    members = np.flatnonzero(a.alive[:n] & (a.cluster[:n] == cluster))
    g = nx.Graph()
    for i in members:
        g.add_node(int(i), actor_type=ACTOR_TYPES[a.atype[i]], member=True)

    def link(i: int, j: int, trust: float, project: bool) -> None:
        if j not in g:
            g.add_node(j, actor_type=ACTOR_TYPES[a.atype[j]], member=False)
        if g.has_edge(i, j):
            e = g.edges[i, j]
            e["trust"], e["project"] = max(e["trust"], trust), e["project"] or project
        else:
            g.add_edge(i, j, trust=trust, project=project)

    inside = set(members.tolist())
    for q in np.flatnonzero(p.active[: p.cap]):
        rows = [int(j) for j in p.members[q] if j >= 0 and a.alive[j]]
        if not inside.intersection(rows):
            continue
        for x, i in enumerate(rows):
            for j in rows[x + 1:]:
                if i in inside:
                    link(i, j, 0.0, True)
                elif j in inside:
                    link(j, i, 0.0, True)
    for i in members:
        for j, t in zip(a.tie_partner[i], a.tie_trust[i], strict=True):
            if j >= 0 and t > 0 and a.alive[j]:
                link(int(i), int(j), float(t), False)
    return g


def draw_network(model: ClusterModel, cluster: int) -> tuple[Figure, str]:
    """The partnership network of cluster ``cluster`` (see :func:`cluster_graph`); members
    without any link are counted in the caption, not drawn."""
    import networkx as nx

    g = cluster_graph(model, cluster)
    name = model.clusters.names[cluster].replace("_", " ")
    alone = [v for v in g if g.degree(v) == 0]
    n_members = sum(1 for _, d in g.nodes(data=True) if d["member"])
    g.remove_nodes_from(alone)
    colours = {t: OKABE_ITO[i] for i, t in enumerate(ACTOR_TYPES)}
    with style():
        fig = new_figure(WIDTH, HEIGHT + 0.6)
        ax = fig.subplots()
        ax.set_axis_off()
        ax.set_title(f"Who works with whom: {name}")
        if g.number_of_nodes():
            pos = nx.spring_layout(g, seed=1, iterations=40)
            for project, style_ in ((False, ":"), (True, "-")):
                edges = [(u, v) for u, v, d in g.edges(data=True) if d["project"] is project]
                if edges:
                    nx.draw_networkx_edges(
                        g, pos, edgelist=edges, ax=ax, style=style_, alpha=0.6,
                        width=0.8 if project else 0.6, edge_color="0.3" if project else "0.55",
                        label="in a project now" if project else "past partners (trust)")
            for kind in ACTOR_TYPES:
                for member in (True, False):
                    nodes = [v for v, d in g.nodes(data=True)
                             if d["actor_type"] == kind and d["member"] is member]
                    if nodes:
                        nx.draw_networkx_nodes(
                            g, pos, nodelist=nodes, ax=ax, node_size=18 if member else 10,
                            node_color=colours[kind] if member else "white",
                            edgecolors=colours[kind], linewidths=0.7,
                            label=kind.replace("_", " ") + ("" if member else " (outside)"))
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=5.5)
        else:
            ax.text(0.5, 0.5, "Nobody works with anybody yet", ha="center", va="center",
                    transform=ax.transAxes)
    when = f"Q{model.quarter} {model.year}" if model.steps else "Start"
    projects = sum(1 for _, _, d in g.edges(data=True) if d["project"])
    return fig, (f"{when}: {name}, {n_members} members ({len(alone)} working with nobody), "
                 f"{g.number_of_edges()} links ({projects} in projects under way)")


__all__ = ["NOTHING_YET", "by_key", "cluster_graph", "draw_budget", "draw_clusters",
           "draw_groups", "draw_network", "draw_projects", "series", "years_of"]
