"""Figures of stored experiments: comparisons, sweeps and sensitivity indices."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import figures as st

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sim.targets import Target

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
MAX_DIFF_COLUMNS = 3  # beyond, the differences of all variants share one column


# --- comparison ------------------------------------------------------------------------------

def draw_compare(series: pd.DataFrame, reference: str, indicators: list[str], caption: str,
                 order: list[str] | None = None, targets: list[Target] | None = None
                 ) -> Figure:
    """One row per indicator: each scenario's mean path with the 2.5-97.5% range of the
    replications and the 95% interval of the mean (and the seed's figures with their
    tolerance), then the paired difference of each variant from the reference (replication r
    of every scenario shares its random streams), one panel per variant."""
    d = series[(series["by"] == "total") & series["indicator"].isin(indicators)]
    present = set(d["variant"])
    variants = [v for v in (order or dict.fromkeys(d["variant"])) if v in present]
    others = [v for v in variants if v != reference] if reference in present else []
    indicators = [i for i in indicators if i in set(d["indicator"])]
    years = sorted(d["year"].unique())
    ndiff = 0 if not others else (len(others) if len(others) <= MAX_DIFF_COLUMNS else 1)
    ncols = 1 + ndiff
    colour = {v: st.OKABE_ITO[k % len(st.OKABE_ITO)] for k, v in enumerate(variants)}
    # beyond the palette's eight colours the dashes shift, so no two scenarios look alike
    dash = {v: st.DASHES[(k + k // len(st.OKABE_ITO)) % len(st.DASHES)]
            for k, v in enumerate(variants)}
    with st.style():
        fig = st.new_figure(st.width_for(ncols), 0.9 + 1.45 * max(len(indicators), 1))
        axes = fig.subplots(max(len(indicators), 1), ncols, sharex=True, squeeze=False)
        for row in axes:  # the differences of a row share their range (set before drawing)
            for ax in row[2:]:
                ax.sharey(row[1])
                ax.tick_params(labelleft=False)
        panel_in = fig.get_figwidth() / ncols
        row_in = fig.get_figheight() / max(len(indicators), 1) - 0.45  # less title and ticks
        for i, ind in enumerate(indicators):
            di = d[d["indicator"] == ind]
            wide = di.pivot_table(index="year", columns=["variant", "replication"],
                                  values="value").reindex(years)
            factor, shown = st.display_unit(st.unit_of(ind), di["value"])
            ax = axes[i, 0]
            for v in variants:
                s = st.summary(wide[v])
                if len(variants) > 2:  # the ranges of many scenarios would hide their means
                    s = {k: x for k, x in s.items() if not k.startswith("q_")}
                st.bands(ax, years, s, colour[v], st.variant_label(v), dash[v], factor)
            st.observed(ax, st.target_points(targets, ind, years), factor)
            ax.set_title(st.wrap(st.label_of(ind), panel_in, True))
            ax.set_ylabel(_fit_label(st.axis_label(shown), row_in))
            st.value_axis(ax, shown)
            for c in range(ndiff):
                ax = axes[i, 1 + c]
                shown_here = others if ndiff == 1 and len(others) > 1 else [others[c]]
                for v in shown_here:
                    sd = st.summary(wide[v] - wide[reference])
                    if len(shown_here) > 2:  # as on the left: the means, not the ranges
                        sd = {k: x for k, x in sd.items() if not k.startswith("q_")}
                    st.bands(ax, years, sd, colour[v], None, dash[v], factor)
                ax.axhline(0, color="black", lw=0.6, zorder=1)
                title = (f"{st.variant_label(others[c])} \u2212 {reference}"
                         if ndiff > 1 or len(others) == 1 else f"Difference from {reference}")
                ax.set_title(st.wrap(title, panel_in, True))
                if c == 0:
                    ax.set_ylabel(_fit_label(st.axis_label(shown, "Difference"), row_in))
        for ax in axes.flat:
            st.year_axis(ax, years)
        for ax in axes[-1]:
            ax.set_xlabel("Year")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        lines = [(h, lab) for h, lab in zip(handles, labels, strict=True)
                 if lab != st.OBSERVED_LABEL]
        reps = int(d.groupby("variant")["replication"].nunique().min()) if len(d) else 0
        extra = st.band_handles(ci=reps > 1, spread=reps > 1, obs=any(
            st.target_points(targets, ind, years) for ind in indicators))
        st.fig_legend(fig, [h for h, _ in lines] + extra[0], [lab for _, lab in lines] + extra[1])
        st.add_caption(fig, caption)
    return fig


def _fit_label(label: str, inches: float) -> str:
    """An axis label "quantity (unit)" with its unit on a second line when one line would be
    longer than the panel's height (the labels of neighbouring rows would meet)."""
    if len(label) * st.MIN_PT * 0.56 <= inches * 72 or " (" not in label:
        return label
    name, _, unit = label.partition(" (")
    return f"{name}\n({unit}"


def compare_figure(series: pd.DataFrame, reference: str, indicators: list[str], stem: Path,
                   caption: str, order: list[str] | None = None,
                   targets: list[Target] | None = None) -> list[Path]:
    """Draw :func:`draw_compare` and save it as ``stem`` (PDF, SVG, PNG); return the paths."""
    return st.save(draw_compare(series, reference, indicators, caption, order, targets),
                   stem, caption)


# --- sweeps ----------------------------------------------------------------------------------

def _lever_axis(path: str, values, inches: float) -> tuple[float, str]:
    """Factor and axis label (wrapped to ``inches``) of a lever."""
    factor, unit = st.display_unit(st.lever_unit(path), values)
    if unit == "%" and st.lever_unit(path) == "share":
        factor, unit = 1.0, "share"  # a lever keeps the schema's unit
    return factor, st.wrap_label(st.lever_label(path), unit, inches)


def draw_sweep(table: pd.DataFrame, levers: list[str], caption: str) -> Figure:
    """A sweep's indicators in its last year over its levers: the mean over the replications
    of each design point, as a line with the 95% interval of the mean for one lever, as a map
    for two (filled contours interpolated linearly between the design points, shown as dots;
    cells for a full grid), as scatter panels lever by lever for more."""
    inds = list(dict.fromkeys(table["indicator"]))
    year = int(table["year"].max())
    t = table[table["year"] == year]
    if len(levers) >= 3:
        return _sweep_scatter(t, inds, levers, year, caption)
    ncols = min(3, len(inds))
    nrows = math.ceil(len(inds) / ncols)
    width = st.width_for(ncols)
    panel_h = 2.35 if len(levers) == 2 else 1.9
    with st.style():
        fig = st.new_figure(width, 0.45 + panel_h * nrows)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, ind in zip(axes.flat, inds, strict=False):
            ti = t[t["indicator"] == ind]
            factor, shown = st.display_unit(st.unit_of(ind), ti["mean"])
            ax.set_title(st.wrap(f"{st.label_of(ind)}, {year}", width / ncols * 0.72, True))
            if len(levers) == 1:
                _sweep_line(ax, ti, levers[0], factor, shown)
            else:
                _sweep_map(fig, ax, ti, levers, factor, shown, width / ncols)
        for ax in list(axes.flat)[len(inds):]:
            ax.set_visible(False)
        if len(levers) == 2:
            caption += (" Colours: the mean over the replications of each design point (dots), "
                        "interpolated linearly between them; white: outside the design.")
        st.add_caption(fig, caption)
    return fig


def _sweep_line(ax: Axes, ti: pd.DataFrame, lever: str, factor: float, shown: str) -> None:
    ti = ti.sort_values(lever)
    fx, xlabel = _lever_axis(lever, ti[lever], 3.0)
    x = ti[lever].to_numpy() * fx
    ax.fill_between(x, ti["ci_low"] * factor, ti["ci_high"] * factor, color=st.OKABE_ITO[0],
                    alpha=st.CI_ALPHA, lw=0, label=st.CI_LABEL)
    ax.plot(x, ti["mean"] * factor, "o-", color=st.OKABE_ITO[0], ms=2.5, label="mean")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(st.axis_label(shown))
    ax.legend(loc="best")


def _sweep_map(fig: Figure, ax: Axes, ti: pd.DataFrame, levers: list[str], factor: float,
               shown: str, panel_width: float) -> None:
    from matplotlib.ticker import MaxNLocator
    from matplotlib.tri import Triangulation

    fx, xlabel = _lever_axis(levers[0], ti[levers[0]], panel_width * 0.75)
    fy, ylabel = _lever_axis(levers[1], ti[levers[1]], 1.7)
    pts = ti.groupby([levers[0], levers[1]], as_index=False)["mean"].mean()  # repeated points
    x, y = pts[levers[0]].to_numpy() * fx, pts[levers[1]].to_numpy() * fy
    z = pts["mean"].to_numpy() * factor
    xs, ys = np.unique(x), np.unique(y)
    count = shown in st.COUNT_UNITS
    levels = MaxNLocator(nbins=8, integer=count).tick_values(np.nanmin(z), np.nanmax(z))
    mappable = None
    if len(xs) >= 2 and len(ys) >= 2 and len(xs) * len(ys) == len(x):
        grid = pts.assign(_x=x, _y=y).pivot_table(index="_y", columns="_x", values="mean")
        mappable = ax.pcolormesh(_edges(xs), _edges(ys), grid.to_numpy() * factor,
                                 shading="flat")
    elif len(x) >= 3:
        try:  # triangles of the unit square's points: the levers' units do not skew them
            span = [np.ptp(v) or 1.0 for v in (x, y)]
            tri = Triangulation(x, y, Triangulation((x - x.min()) / span[0],
                                                    (y - y.min()) / span[1]).triangles)
            if len(levels) < 3 or np.nanmin(z) == np.nanmax(z):
                raise ValueError("flat surface")
            mappable = ax.tricontourf(tri, z, levels=levels)
        except (RuntimeError, ValueError):
            mappable = None
    if mappable is None:
        mappable = ax.scatter(x, y, c=z, s=14)
    ax.plot(x, y, "o", ms=2.2, mfc="white", mec="black", mew=0.4, ls="none",
            label="design points")
    cb = fig.colorbar(mappable, ax=ax, shrink=0.95, aspect=22, pad=0.02)
    cb.set_label(st.axis_label(shown))
    cb.ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=count))
    cb.outline.set_linewidth(0.5)
    ax.grid(False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for v, setter in ((x, ax.set_xlim), (y, ax.set_ylim)):
        pad = 0.04 * (np.ptp(v) or 1.0)
        setter(v.min() - pad, v.max() + pad)


def _edges(v: np.ndarray) -> np.ndarray:
    """Cell edges around sorted centres ``v``."""
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def _sweep_scatter(t: pd.DataFrame, inds: list[str], levers: list[str], year: int,
                   caption: str) -> Figure:
    """A row of panels per indicator, one per lever: the mean of each design point against the
    lever (with the 95% interval of the mean when the points are few)."""
    ncols = min(len(levers), 4)
    rows_per = math.ceil(len(levers) / ncols)
    with st.style():
        fig = st.new_figure(st.DOUBLE, 0.5 + 1.6 * len(inds) * rows_per)
        rows = fig.subfigures(len(inds), 1, squeeze=False)[:, 0]
        for sub, ind in zip(rows, inds, strict=True):
            ti = t[t["indicator"] == ind]
            factor, shown = st.display_unit(st.unit_of(ind), ti["mean"])
            sub.suptitle(f"{st.label_of(ind)}, {year}", x=0.01, ha="left", fontsize=7.5,
                         fontweight="bold")
            axes = sub.subplots(rows_per, ncols, squeeze=False, sharey=True)
            for j, lv in enumerate(levers):
                ax = axes[j // ncols, j % ncols]
                fx, xlabel = _lever_axis(lv, ti[lv], st.DOUBLE / ncols * 0.95)
                x = ti[lv].to_numpy() * fx
                m = ti["mean"].to_numpy() * factor
                if len(x) <= 60:
                    ax.errorbar(x, m, yerr=[m - ti["ci_low"] * factor,
                                            ti["ci_high"] * factor - m],
                                fmt="o", ms=2.2, color=st.OKABE_ITO[0],
                                ecolor=st.OKABE_ITO[5], elinewidth=0.6)
                else:  # many points: their intervals would hide them
                    ax.plot(x, m, "o", ms=1.8, color=st.OKABE_ITO[0], alpha=0.6, mew=0)
                ax.set_xlabel(xlabel)
                if j % ncols == 0:
                    ax.set_ylabel(st.axis_label(shown))
                    st.value_axis(ax, shown)
            for ax in axes.flat[len(levers):]:
                ax.set_visible(False)
        many = len(t) > 60 * len(inds)
        st.add_caption(fig, caption + " Dots: the mean over the replications of each design "
                       "point" + ("." if many else ", with its 95% interval."))
    return fig


def sweep_figure(table: pd.DataFrame, levers: list[str], stem: Path, caption: str
                 ) -> list[Path]:
    """Draw :func:`draw_sweep` and save it as ``stem`` (PDF, SVG, PNG); return the paths."""
    return st.save(draw_sweep(table, levers, caption), stem, caption)


# --- sensitivity -----------------------------------------------------------------------------

def _panels(idx: pd.DataFrame) -> tuple[list, int, int]:
    """(indicator, year) groups laid out with indicators across and years down."""
    groups = list(idx.groupby(["indicator", "year"], sort=False))
    inds = list(dict.fromkeys(idx["indicator"]))
    years = list(dict.fromkeys(idx["year"]))
    if len(inds) <= 4 and len(inds) * len(years) == len(groups):
        return groups, len(years), len(inds)
    ncols = min(4, len(groups))
    return groups, math.ceil(len(groups) / ncols), ncols


def draw_morris(idx: pd.DataFrame, caption: str) -> Figure:
    """Morris screening: sigma against mu* of every lever, one panel per indicator and year,
    with the bootstrap 95% interval of mu*; levers above the line sigma = mu* act non-linearly
    or through interactions."""
    from matplotlib.lines import Line2D

    groups, nrows, ncols = _panels(idx)
    params = list(dict.fromkeys(idx["parameter"]))
    with st.style():
        fig = st.new_figure(st.width_for(ncols), 1.2 + 1.85 * nrows)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, ((ind, year), g) in zip(axes.flat, groups, strict=False):
            factor, shown = st.display_unit(st.unit_of(ind), g["mu_star"])
            if shown == "%":
                shown = "percentage points"
            g = g.set_index("parameter")
            top = 0.0
            for k, p in enumerate(params):
                if p not in g.index:
                    continue
                r = g.loc[p]
                ax.errorbar(r["mu_star"] * factor, r["sigma"] * factor,
                            xerr=r["mu_star_conf"] * factor, marker=MARKERS[k % len(MARKERS)],
                            color=st.OKABE_ITO[k % len(st.OKABE_ITO)], ms=3.6, ls="none",
                            mec="0.15", mew=0.4, elinewidth=0.6, capsize=1.2,
                            label=st.lever_label(p))
                top = max(top, (r["mu_star"] + r["mu_star_conf"]) * factor,
                          r["sigma"] * factor)
            top = top * 1.08 or 1.0
            ax.plot([0, top], [0, top], color="0.55", lw=0.7, ls=":", zorder=1)
            ax.set_xlim(0, top)
            ax.set_ylim(0, top)
            ax.set_title(st.wrap(f"{st.label_of(ind)}, {year}", st.DOUBLE / ncols, True))
            ax.set_xlabel(f"\u03bc* ({shown})")
            ax.set_ylabel(f"\u03c3 ({shown})")
            ax.grid(True, axis="both")
        for ax in list(axes.flat)[len(groups):]:
            ax.set_visible(False)
        handles, labels = [], []
        for k, p in enumerate(params):
            handles.append(Line2D([], [], marker=MARKERS[k % len(MARKERS)], ls="none", ms=3.6,
                                  color=st.OKABE_ITO[k % len(st.OKABE_ITO)], mec="0.15",
                                  mew=0.4))
            labels.append(st.lever_label(p))
        handles.append(Line2D([], [], color="0.55", lw=0.7, ls=":"))
        labels.append("\u03c3 = \u03bc*")
        st.fig_legend(fig, handles, labels)
        st.add_caption(fig, caption + " \u03bc*: mean absolute elementary effect, \u03c3: their "
                       "standard deviation, in the indicator's unit; bars: 95% interval of "
                       "\u03bc*. Above the line \u03c3 = \u03bc* a lever acts non-linearly or "
                       "through interactions.")
    return fig


def draw_sobol(idx: pd.DataFrame, caption: str) -> Figure:
    """Sobol indices: first-order S1 and total-order ST of every lever with their bootstrap
    95% intervals, one panel per indicator and year."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    groups, nrows, ncols = _panels(idx)
    ncols = min(ncols, 2)
    nrows = math.ceil(len(groups) / ncols)
    params = list(dict.fromkeys(idx["parameter"]))
    y = np.arange(len(params))[::-1].astype(float)
    err = {"elinewidth": 0.7, "capsize": 1.5, "ecolor": "black"}
    with st.style():
        fig = st.new_figure(st.width_for(ncols), 0.9 + nrows * (0.45 + 0.32 * len(params)))
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for k, (ax, ((ind, year), g)) in enumerate(zip(axes.flat, groups, strict=False)):
            g = g.set_index("parameter").reindex(params)
            ax.barh(y + 0.19, g["S1"], 0.36, xerr=g["S1_conf"], color=st.OKABE_ITO[0],
                    error_kw=err)
            ax.barh(y - 0.19, g["ST"], 0.36, xerr=g["ST_conf"], color=st.OKABE_ITO[1],
                    error_kw=err)
            ax.axvline(0, color="black", lw=0.6)
            ax.set_yticks(y, [st.lever_label(p) for p in params] if k % ncols == 0
                          else [""] * len(params))
            ax.tick_params(axis="y", length=0)
            ax.set_title(st.wrap(f"{st.label_of(ind)}, {year}", st.DOUBLE / ncols, True))
            ax.set_xlabel("Sobol index (share of variance)")
            ax.grid(True, axis="x")
            ax.grid(False, axis="y")
        lo = min(0.0, float(np.nanmin(idx[["S1", "ST"]].to_numpy()
                                     - idx[["S1_conf", "ST_conf"]].to_numpy())))
        hi = max(1.0, float(np.nanmax(idx[["S1", "ST"]].to_numpy()
                                     + idx[["S1_conf", "ST_conf"]].to_numpy())))
        for ax in list(axes.flat)[:len(groups)]:
            ax.set_xlim(lo - 0.02, hi + 0.02)
            # the end ticks of panels side by side (e.g. 1.00 and -0.50) meet otherwise
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        for ax in list(axes.flat)[len(groups):]:
            ax.set_visible(False)
        from matplotlib.lines import Line2D

        st.fig_legend(fig, [Patch(color=st.OKABE_ITO[0]), Patch(color=st.OKABE_ITO[1]),
                         Line2D([], [], color="black", lw=0.7, marker="|", ms=4)],
                   ["first order S1", "total order ST", "bootstrap 95% interval"])
        st.add_caption(fig, caption)
    return fig


def sensitivity_figure(idx: pd.DataFrame, method: str, stem: Path, caption: str
                       ) -> list[Path]:
    """Draw :func:`draw_morris` or :func:`draw_sobol` (by ``method``) and save it as ``stem``
    (PDF, SVG, PNG); return the paths."""
    fig = draw_morris(idx, caption) if method == "morris" else draw_sobol(idx, caption)
    return st.save(fig, stem, caption)
