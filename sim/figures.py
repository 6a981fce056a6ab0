"""Figures in one house style for papers: the style, the run overview and the validation figure.

The figures of stored experiments (comparisons, sweeps, sensitivity indices) are drawn in the
same style by :mod:`sim.experiment.figures`.  Each ``*_figure`` function writes PDF, SVG and
PNG and returns the paths; the matching ``draw_*`` function returns the matplotlib figure
without writing anything (the tests check it with :func:`check_figure`).

Journal sizes: a figure is one column (3.5 in) or two columns (7.2 in) wide, at most 9 in tall,
with no text under 7 pt at that size (it is saved at that size: no ``bbox_inches="tight"``).
Names and units come from the indicator catalogue (:func:`label_of`, :func:`unit_of`); euros
are shown in kEUR or MEUR by magnitude and shares in percent (:func:`display_unit`), and every
axis is labelled "quantity (unit)".  Fonts are DejaVu Sans (shipped with matplotlib, so the
three formats look the same on every machine), embedded as TrueType (Type 42) in the PDF and
drawn as paths in the SVG; the PNG has 300 dpi.  Timestamps and ids are fixed, so the same data
gives byte-identical files.

matplotlib is imported inside the functions that draw, never at import time: ``clustersim``
commands that draw nothing do not pay for it.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.results import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend

    from sim.targets import Target

SINGLE = 3.5  # in, one journal column
DOUBLE = 7.2  # in, two columns
MAX_HEIGHT = 9.0  # in, a page less its caption
MIN_PT = 7.0  # smallest text at print size
FORMATS_ALL = ("pdf", "svg", "png")
# Okabe & Ito (2008) colour-blind-safe palette, yellow last (faint on white)
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
             "#F0E442")
DASHES = ("-", "--", ":", "-.")  # second cue for grey-scale print
OBSERVED = {"color": "black", "marker": "D", "ms": 3.2, "ls": "none", "capsize": 1.8,
            "elinewidth": 0.8, "capthick": 0.8, "zorder": 5}
CI_ALPHA = 0.3  # opacity of the band of the mean's 95% interval
SPREAD_LW = 0.5  # width of the lines bounding the replications' 2.5-97.5% range
CI_LABEL = "95% interval of the mean"
SPREAD_LABEL = "2.5-97.5% of replications"
OBSERVED_LABEL = "observed (seed) ± tolerance"

# Short names of the levers of the shipped designs; any other lever gets its humanised name.
LEVER_LABELS = {
    "policy.animation.subsidy_eur_per_year": "Animation subsidy",
    "policy.animation.taper_per_year": "Subsidy taper",
    "policy.evaluation.period_years": "Evaluation period",
    "policy.evaluation.min_members": "Evaluation: least members",
    "policy.evaluation.min_involvement": "Evaluation: least involvement",
    "behaviour.membership.benefit_base": "Membership benefit, base",
    "behaviour.membership.benefit_activity": "Membership benefit of projects",
    "behaviour.partnering.cooperation_slope": "Sector rule: cooperation slope",
    "behaviour.membership.leave_rate": "Members' reconsideration rate",
    "behaviour.partnering.initiate_rate": "Project initiation rate",
    "behaviour.partnering.accept_threshold": "Partner acceptance threshold",
    "behaviour.partnering.discovery_base": "Partner discovery, base",
    "behaviour.projects.success_base": "Project success, base",
    "behaviour.projects.spinoff_prob": "Spin-off probability",
}
COUNT_UNITS = {"clusters", "members", "actors", "projects", "products", "firms", "agreements",
                "poles", "proposals"}
_UNIT_SUFFIXES = ("_eur_per_year", "_per_year", "_meur", "_eur", "_years", "_prob", "_rate")


def label_of(name: str) -> str:
    """Short human name of an indicator (the catalogue's ``label`` when it has one)."""
    from sim.indicators import BY_NAME

    label = getattr(BY_NAME.get(name), "label", None)
    return label or humanise(name)


def unit_of(name: str) -> str:
    """The catalogue's unit of an indicator (as recorded: EUR, not scaled)."""
    from sim.indicators import BY_NAME

    ind = BY_NAME.get(name)
    return ind.unit if ind is not None else ""


def humanise(name: str) -> str:
    """``food_processing`` -> ``Food processing``."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def variant_label(name: str) -> str:
    """A scenario or variant name as a reader sees it."""
    return humanise(name)


def display_unit(unit: str, values) -> tuple[float, str]:
    """Factor and unit to show ``values`` recorded in ``unit``: euros in kEUR or MEUR by
    magnitude (of the largest absolute value), shares in percent, anything else as it is."""
    v = np.asarray(values, float)
    big = float(np.nanmax(np.abs(v))) if v.size and np.isfinite(v).any() else 0.0
    if unit.startswith("EUR"):
        if big >= 1e6:
            return 1e-6, "M" + unit
        if big >= 1e3:
            return 1e-3, "k" + unit
        return 1.0, unit
    if unit == "share":
        return 100.0, "%"
    return 1.0, unit


def axis_label(unit: str, quantity: str | None = None) -> str:
    """"quantity (unit)": the quantity is "Number" for counts, "Value" for money, "Share" for
    percentages, "Labour" for FTE unless given."""
    if quantity is None:
        if unit in COUNT_UNITS:
            quantity = "Number"
        elif "EUR" in unit:
            quantity = "Value"
        elif unit == "%":
            quantity = "Share"
        elif unit == "FTE":
            quantity = "Labour"
        else:
            quantity = "Value"
    return f"{quantity} ({unit})" if unit else quantity


def lever_label(path: str) -> str:
    """Short human name of a lever (a dotted parameter path of the scenario schema)."""
    if path in LEVER_LABELS:
        return LEVER_LABELS[path]
    last = path.rsplit(".", 1)[-1]
    for suffix in _UNIT_SUFFIXES:
        if last.endswith(suffix) and len(last) > len(suffix):
            last = last[: -len(suffix)]
            break
    return humanise(last)


@lru_cache(maxsize=1)
def _bounds() -> dict[str, dict]:
    from sim.scenario import parameter_bounds

    return parameter_bounds()


def lever_unit(path: str) -> str:
    """The schema's unit of a lever."""
    return _bounds().get(path, {}).get("unit", "")


def where_label(where: str) -> str:
    """``cluster=food_processing,cohort=2001`` -> ``food processing, 2001 cohort``."""
    parts = []
    for item in filter(None, str(where).split(",")):
        key, _, value = item.partition("=")
        if key == "cohort":
            parts.append(f"{value} cohort")
        elif key == "call":
            parts.append(f"call {value}")
        else:
            parts.append(value.replace("_", " "))
    return ", ".join(parts)


# --- drawing ---------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def rc() -> dict:
    """matplotlib settings of the house style."""
    from matplotlib import cycler

    return {
        "font.family": "DejaVu Sans", "font.size": MIN_PT, "axes.titlesize": 7.5,
        "axes.titleweight": "bold", "axes.titlelocation": "left", "axes.titlepad": 3.0,
        "axes.labelsize": MIN_PT, "xtick.labelsize": MIN_PT, "ytick.labelsize": MIN_PT,
        "legend.fontsize": MIN_PT, "legend.title_fontsize": MIN_PT, "figure.titlesize": 8,
        "figure.labelsize": MIN_PT,
        "axes.linewidth": 0.6, "xtick.major.width": 0.6, "ytick.major.width": 0.6,
        "xtick.minor.width": 0.4, "ytick.minor.width": 0.4,
        "xtick.major.size": 2.5, "ytick.major.size": 2.5, "xtick.major.pad": 2.0,
        "ytick.major.pad": 2.0, "axes.labelpad": 2.5,
        "lines.linewidth": 1.2, "lines.markersize": 3.5, "patch.linewidth": 0.5,
        "axes.spines.top": False, "axes.spines.right": False,
        "axes.grid": True, "axes.grid.axis": "y", "grid.color": "0.9", "grid.linewidth": 0.5,
        "axes.axisbelow": True,
        "axes.formatter.useoffset": False, "axes.formatter.limits": (-5, 7),
        "axes.unicode_minus": True,
        "axes.prop_cycle": cycler(color=OKABE_ITO),
        "legend.frameon": False, "legend.handlelength": 1.8, "legend.handletextpad": 0.5,
        "legend.borderaxespad": 0.3, "legend.borderpad": 0.2, "legend.labelspacing": 0.3,
        "legend.columnspacing": 1.2,
        "image.cmap": "viridis",
        "figure.dpi": 100, "savefig.dpi": 300, "savefig.facecolor": "white",
        "figure.constrained_layout.h_pad": 0.03, "figure.constrained_layout.w_pad": 0.03,
        "pdf.fonttype": 42, "ps.fonttype": 42,  # TrueType, embedded
        "svg.fonttype": "path", "svg.hashsalt": "clustersim",
    }


def style():
    """Context manager applying :func:`rc` (draw and save inside it)."""
    from matplotlib import rc_context

    return rc_context(rc())


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """An empty figure of the house style with constrained layout (or none) and an Agg canvas
    (no pyplot: no global state, nothing to close).  Call inside :func:`style`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, min(height, MAX_HEIGHT)), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _grid_params(fig: Figure, nrows: int, ncols: int, left: float, right: float, top: float,
                 bottom: float, wgap: float, hgap: float) -> dict:
    w, h = fig.get_size_inches()
    pw = (w - left - right - (ncols - 1) * wgap) / ncols
    ph = (h - top - bottom - (nrows - 1) * hgap) / nrows
    return {"left": left / w, "right": 1 - right / w, "top": 1 - top / h,
            "bottom": bottom / h, "wspace": wgap / pw, "hspace": hgap / ph}


def fixed_grid(fig: Figure, nrows: int, ncols: int, *, right: float, top: float,
               bottom: float, hgap: float, **kw):
    """Panels on a grid with margins and gaps in inches, for figures whose decorations are
    known in advance: no layout engine to run (it costs more than a draw).  The left margin
    and the gaps between columns are set by :func:`fit_grid` once the panels are drawn."""
    axes = fig.subplots(nrows, ncols, gridspec_kw=_grid_params(
        fig, nrows, ncols, 0.5, right, top, bottom, 0.56, hgap), **kw)
    fig._house_grid = (nrows, ncols, right, top, bottom, hgap)
    return axes


def _ytick_chars(ax: Axes) -> int:
    """Characters of the widest y tick label, formatted as drawing will (nothing rendered)."""
    lo, hi = sorted(ax.get_ylim())
    locs = [v for v in ax.yaxis.get_major_locator().tick_values(lo, hi)
            if lo - 1e-9 * abs(hi - lo) <= v <= hi + 1e-9 * abs(hi - lo)]
    fmt = ax.yaxis.get_major_formatter()
    fmt.set_locs(locs)
    return max((len(fmt(v, i)) for i, v in enumerate(locs)), default=1)


def fit_grid(fig: Figure, axes) -> None:
    """Left margin and column gaps of a :func:`fixed_grid` wide enough for the widest y tick
    labels (and the y label beside them)."""
    nrows, ncols, right, top, bottom, hgap = fig._house_grid
    chars = max(_ytick_chars(ax) for ax in np.ravel(axes) if ax.get_visible())
    left = 0.27 + 0.058 * chars  # y label, pads, ticks and the labels' characters
    axes.flat[0].get_gridspec().update(**_grid_params(
        fig, nrows, ncols, left, right, top, bottom, left + 0.06, hgap))
    for ax in np.ravel(axes):  # GridSpec.update moves the axes of pyplot's figures only
        ax.set_position(ax.get_subplotspec().get_position(fig))


def width_for(columns: int) -> float:
    """One journal column for a single column of panels, two otherwise."""
    return SINGLE if columns <= 1 else DOUBLE


def add_caption(fig: Figure, text: str) -> int:
    """The run's provenance under the panels, wrapped to the figure's width, at 7 pt; return
    its number of lines."""
    chars = int(fig.get_figwidth() * 72 / (MIN_PT * 0.56))
    lines = textwrap.wrap(text, chars)
    fig.supxlabel("\n".join(lines), fontsize=MIN_PT, color="0.3", gid="caption")
    return len(lines)


def year_axis(ax: Axes, years) -> None:
    """Integer year ticks over the simulated years, as many as the panel's width holds."""
    from matplotlib.ticker import MaxNLocator

    years = list(years)
    if years:
        ax.set_xlim(min(years) - 0.4, max(years) + 0.4)
    inches = ax.get_position().width * ax.figure.get_figwidth()
    nbins = max(2, min(6, int(inches / 0.4)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=nbins, min_n_ticks=2))


def value_axis(ax: Axes, unit: str) -> None:
    """Integer ticks for counts, from zero and at least to one."""
    if unit in COUNT_UNITS:
        from matplotlib.ticker import MaxNLocator

        lo, hi = ax.get_ylim()
        hi = max(hi, 1.0)
        negative = lo < 0 and ax.dataLim.y0 < 0
        ax.set_ylim(lo if negative else -0.025 * hi, hi)  # a line at zero stays off the axis

        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True, steps=[1, 2, 5, 10],
                                                     min_n_ticks=2))


def target_points(targets, name: str, years) -> list[tuple[int, float, float]]:
    """(year, value, tolerance) of the total targets of indicator ``name`` within ``years``."""
    span = set(int(y) for y in years)
    return [(t.year, t.value, t.tolerance) for t in targets or ()
            if t.indicator == name and not t.where and t.year in span]


def observed(ax: Axes, points: list[tuple[int, float, float]], factor: float = 1.0) -> None:
    """The seed's observed figures ``(year, value, tolerance)`` with their tolerance bars."""
    if points:
        x, y, tol = (np.array(v, float) for v in zip(*points, strict=True))
        ax.errorbar(x, y * factor, yerr=tol * factor, label=OBSERVED_LABEL, **OBSERVED)


def band_handles(colour: str = "0.45", ci: bool = True, spread: bool = True,
                 obs: bool = False) -> tuple[list, list[str]]:
    """Legend entries explaining the bands (and the observed figures)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles, labels = [], []
    if ci:
        handles.append(Patch(facecolor=colour, alpha=CI_ALPHA, lw=0))
        labels.append(CI_LABEL)
    if spread:
        handles.append(Line2D([], [], color=colour, lw=SPREAD_LW * 1.4))
        labels.append(SPREAD_LABEL)
    if obs:
        handles.append(Line2D([], [], color="black", marker="D", ms=3.2, ls="none"))
        labels.append(OBSERVED_LABEL)
    return handles, labels


def summary(wide) -> dict[str, np.ndarray]:
    """Per row (year) of ``wide`` (columns: replications): mean, 95% t-interval of the mean and
    2.5-97.5% percentiles of the replications (NaN intervals for fewer than two)."""
    from scipy.special import stdtrit  # Student-t quantile; lighter than scipy.stats

    v = np.asarray(wide, float)
    n = np.sum(~np.isnan(v), axis=1)
    mean = np.nanmean(v, axis=1)
    out = {"mean": mean, "n": n}
    if v.shape[1] >= 2:
        sd = np.nanstd(v, axis=1, ddof=1)
        half = stdtrit(np.maximum(n - 1, 1), 0.975) * sd / np.sqrt(np.maximum(n, 1))
        half = np.where(n >= 2, half, np.nan)
        out.update(ci_low=mean - half, ci_high=mean + half,
                   q_low=np.nanpercentile(v, 2.5, axis=1),
                   q_high=np.nanpercentile(v, 97.5, axis=1))
    return out


def bands(ax: Axes, x, s: dict, colour: str, label: str | None, ls: str = "-",
          factor: float = 1.0) -> None:
    """Mean line with the mean's 95% interval (a band) and the replications' 2.5-97.5% range
    (thin lines at its edges: two scenarios' ranges stay apart where they overlap)."""
    if "q_low" in s:
        for edge in ("q_low", "q_high"):
            ax.plot(x, s[edge] * factor, color=colour, lw=SPREAD_LW, alpha=0.8)
        ax.fill_between(x, s["ci_low"] * factor, s["ci_high"] * factor, color=colour,
                        alpha=CI_ALPHA, lw=0)
    ax.plot(x, s["mean"] * factor, color=colour, ls=ls, label=label)


# --- legends ----------------------------------------------------------

_LOCS = ("upper left", "upper right", "lower right", "lower left", "upper center",
         "lower center", "center left", "center right")


def _renderer(fig: Figure):
    return fig.canvas.get_renderer()


def _data_hits(ax: Axes, bbox) -> int:
    """How many of the axes' data artists (lines, markers, bands, error bars, points) reach
    into ``bbox`` (display coordinates)."""
    from matplotlib.collections import LineCollection, PathCollection

    hits = 0
    for line in ax.lines:
        if not line.get_visible():
            continue
        path = line.get_transform().transform_path(line.get_path())
        if line.get_linestyle() not in ("None", "none", "", " ") and len(path.vertices) > 1:
            if path.intersects_bbox(bbox, filled=False):
                hits += 1
                continue
        if line.get_marker() not in (None, "None", "none", "", " "):
            pad = line.get_markersize() * ax.figure.dpi / 72 / 2
            if bbox.padded(pad).count_contains(path.vertices):
                hits += 1
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):
            pts = coll.get_offset_transform().transform(coll.get_offsets())
            if bbox.padded(2.0).count_contains(pts):
                hits += 1
            continue
        filled = not isinstance(coll, LineCollection)
        tr = coll.get_transform()
        if any(tr.transform_path(p).intersects_bbox(bbox, filled=filled)
               for p in coll.get_paths()):
            hits += 1
    return hits


def legend_hits(ax: Axes, legend: Legend | None = None) -> int:
    """Data artists of ``ax`` under its legend (0: the legend sits on empty space)."""
    legend = legend or ax.get_legend()
    if legend is None or not legend.get_visible():
        return 0
    box = legend.get_window_extent(_renderer(ax.figure)).padded(1.0)
    return _data_hits(ax, box)


def settle_legends(fig: Figure) -> bool:
    """Move every axes legend to where it covers no data: the first free one of the usual
    places, else the top with the y range raised until the data clear it.  Call when the
    figure is complete: it lays the figure out (once, or twice if raised ranges widened tick
    labels) and fixes that layout, which saving then keeps.  Return whether tick labels got
    wider."""
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
    widened = False
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None or not legend_hits(ax, leg):
            continue
        for loc in _LOCS:
            leg.set_loc(loc)
            if not legend_hits(ax, leg):
                break
        else:
            widened |= _headroom(ax, leg)
    if widened and engine is not None:
        engine.execute(fig)
    fig.set_layout_engine(None)  # no engine: saving does not draw twice
    return widened


def _tick_chars(ax: Axes) -> int:
    return max((len(t.get_text()) for t in ax.yaxis.get_ticklabels()), default=0)


def _headroom(ax: Axes, leg: Legend) -> bool:
    """Legend at the top; raise the top of the y range until no data sits under it.  Return
    whether the tick labels got wider (the layout must then be run again)."""
    best = min(("upper left", "upper right"), key=lambda loc: (leg.set_loc(loc),
                                                                legend_hits(ax, leg))[1])
    leg.set_loc(best)
    r = _renderer(ax.figure)
    lo, hi = ax.get_ylim()
    top = ax.dataLim.y1 if np.isfinite(ax.dataLim.y1) else hi
    chars = _tick_chars(ax)
    for _ in range(4):
        frac = leg.get_window_extent(r).height / max(ax.get_window_extent(r).height, 1.0)
        free = max(1.0 - frac - 0.06, 0.3)
        ax.set_ylim(lo, lo + (top - lo) / free)
        if not legend_hits(ax, leg):
            break
        top = ax.get_ylim()[1]
    return _tick_chars(ax) > chars


def fig_legend(fig: Figure, handles: list, labels: list[str]) -> None:
    """One legend above the panels, as many entries a row as the width holds, read row by
    row."""
    if not handles:
        return
    em = MIN_PT
    widths = [(1.8 + 0.5) * em + 0.56 * em * len(lab) for lab in labels]
    room = fig.get_figwidth() * 72 - 2 * em
    ncol = 1
    for n in range(len(labels), 0, -1):
        cols = [max(widths[c::n]) for c in range(n)]
        if sum(cols) + 1.2 * em * (n - 1) <= room:
            ncol = n
            break
    rows = math.ceil(len(labels) / ncol)
    # matplotlib fills a legend column by column: reorder so that it reads row by row
    order = [r * ncol + c for c in range(ncol) for r in range(rows) if r * ncol + c < len(labels)]
    fig.legend([handles[i] for i in order], [labels[i] for i in order],
               loc="outside upper center", ncol=ncol)


def wrap(text: str, inches: float, title: bool = False) -> str:
    """``text`` wrapped to about ``inches`` at 7 pt (at the bold 7.5 pt of titles)."""
    em = 7.5 * 0.62 if title else MIN_PT * 0.56
    return textwrap.fill(text, max(12, int(inches * 72 / em)))


def wrap_label(name: str, unit: str, inches: float) -> str:
    """"name (unit)" on one line if it fits in ``inches``, else the unit on a line of its own."""
    one = f"{name} ({unit})" if unit else name
    if len(one) * MIN_PT * 0.56 <= inches * 72 or not unit:
        return wrap(one, inches)
    return f"{wrap(name, inches)}\n({unit})"


# --- saving and checking ---------------------------------------------------------------------

def save(fig: Figure, stem: Path, title: str, formats: tuple[str, ...] = FORMATS_ALL
         ) -> list[Path]:
    """Write ``fig`` as ``stem.pdf``, ``.svg`` and ``.png`` (300 dpi), at its own size, with
    fixed metadata; return the paths."""
    meta = {"pdf": {"Title": title, "CreationDate": None, "Producer": "clustersim"},
            "svg": {"Title": title, "Date": None},
            "png": {"Title": title, "Software": "clustersim"}}
    paths = []
    with style():
        engine = fig.get_layout_engine()
        if engine is not None:  # laid out once, then no engine: saving draws each file once
            engine.execute(fig)
            fig.set_layout_engine(None)
        for ext in formats:
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, metadata=meta[ext])
            path = Path(stem).with_suffix(f".{ext}")
            atomic_write_bytes(path, buf.getvalue())
            paths.append(path)
    return paths


_UNIT_RE = re.compile(r"\S.*\([^()]+\)$", re.DOTALL)
_UNITLESS_OK = {"Year"}


def _is_number(text: str) -> bool:
    try:
        float(text.replace("\u2212", "-").replace(",", "").replace("%", ""))
    except ValueError:
        return False
    return True


def _undrawn_ticklabels(fig: Figure) -> set[int]:
    """Ids of the tick labels matplotlib keeps but does not draw (outside the axis' range)."""
    out = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            eps = 1e-6 * (hi - lo)
            for tick in axis.majorTicks + axis.minorTicks:
                loc = tick.get_loc()
                if loc is None or not lo - eps <= loc <= hi + eps:
                    out.update((id(tick.label1), id(tick.label2)))
    return out


def check_figure(fig: Figure) -> list[str]:
    """Problems of a drawn figure against the house style (empty: none).

    Checked: a journal width (3.5 or 7.2 in) and at most 9 in of height; no visible text under
    7 pt nor running off the figure; no snake_case in any text but the provenance caption; every axis with numeric tick
    labels labelled "quantity (unit)" (or "Year"); no offset or scientific notation on any
    axis; no axes legend over the data.
    """
    from matplotlib.text import Text

    with style():
        fig.draw_without_rendering()
    out = []
    w, h = fig.get_size_inches()
    if min(abs(w - SINGLE), abs(w - DOUBLE)) > 0.05:
        out.append(f"width {w:.2f} in is not a journal width ({SINGLE} or {DOUBLE} in)")
    if h > MAX_HEIGHT + 1e-9:
        out.append(f"height {h:.2f} in is above {MAX_HEIGHT} in")
    r = _renderer(fig)
    frame = fig.bbox.padded(1.0)
    undrawn = _undrawn_ticklabels(fig)
    for t in fig.findobj(Text):
        text = t.get_text().strip()
        if not (t.get_visible() and text) or id(t) in undrawn:
            continue
        box = t.get_window_extent(r)
        if not (frame.x0 <= box.x0 and box.x1 <= frame.x1
                                   and frame.y0 <= box.y0 and box.y1 <= frame.y1):
            out.append(f"text {text[:40]!r} runs off the figure")
        if t.get_fontsize() < MIN_PT - 1e-9:
            out.append(f"text {text[:40]!r} at {t.get_fontsize():.1f} pt (< {MIN_PT} pt)")
        if t.get_gid() != "caption" and re.search(r"[a-z0-9]_[a-z0-9]", text):
            out.append(f"snake_case in text {text[:60]!r}")
    for k, ax in enumerate(fig.axes):
        if not (ax.get_visible() and ax.axison):
            continue
        name = ax.get_title(loc="left") or ax.get_title() or ax.get_label() or f"axes {k}"
        for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            ticks = [t.get_text() for t in axis.get_ticklabels()
                     if t.get_visible() and t.get_text().strip()]
            if axis.get_offset_text().get_text().strip():
                out.append(f"{name}: offset notation {axis.get_offset_text().get_text()!r} "
                           f"on the {which} axis")
            if not ticks or not all(map(_is_number, ticks)):
                continue  # no tick labels shown, or categories
            label = axis.get_label_text().strip()
            if not (_UNIT_RE.match(label) or label in _UNITLESS_OK):
                out.append(f"{name}: {which} axis label {label!r} has no unit")
        if ax.get_legend() is not None and legend_hits(ax):
            out.append(f"{name}: the legend covers {legend_hits(ax)} data artist(s)")
    out += _overlaps(fig, r)
    return out


def _overlaps(fig: Figure, r) -> list[str]:
    """Panels whose decorations (tick labels, axis labels, titles) run into each other, or
    into a figure legend or the caption."""
    from matplotlib.transforms import Bbox

    boxes = []
    for k, ax in enumerate(fig.axes):
        if ax.get_visible():
            name = ax.get_title(loc="left") or ax.get_title() or ax.get_label() or f"axes {k}"
            boxes.append((name, ax.get_tightbbox(r)))
    for leg in fig.legends:
        boxes.append(("figure legend", leg.get_window_extent(r)))
    sup = getattr(fig, "_supxlabel", None)
    if sup is not None and sup.get_text():
        boxes.append(("caption", sup.get_window_extent(r)))
    out = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            inter = Bbox.intersection(box_a, box_b)
            if inter is not None and inter.width > 1.5 and inter.height > 1.5:
                out.append(f"{a!r} and {b!r} overlap")
    return out


# --- the run overview ------------------------------------------------------------------------

# (title, quantity on the y axis, indicators): every panel holds one unit
PANELS = (
    ("Clusters", "Number", ("clusters_active", "clusters_dropped")),
    ("Members", "Number", ("members_total", "members_enterprises", "members_rd")),
    ("Actors in projects", "Number", ("partnership_members_involved", "pole_members")),
    ("Cluster partnerships", "Number", ("partnerships_launched_cumulative",
                                        "partnerships_active", "partnerships_launched")),
    ("Pole projects", "Number", ("pole_projects_active", "pole_projects_funded")),
    ("Pole calls", "Number", ("pole_proposals_submitted", "pole_proposals_labelled")),
    ("New enterprises", "Number", ("new_enterprises", "new_enterprises_partnership")),
    ("International", "Number", ("intercluster_partnerships_active",
                                 "intercluster_partnerships_signed")),
    ("Pole budget", "Value", ("pole_budget_left_eur", "pole_funding_eur")),
)


def draw_overview(results: pd.DataFrame, targets: list[Target], caption: str) -> Figure:
    """Key indicators by year, three by three panels of one unit each: the mean over the
    replications (with the 2.5-97.5% range of the replications and the 95% interval of the
    mean when there are several) and the seed's observed figures with their tolerance bars."""
    tot = results[results["by"] == "total"]
    years = sorted(tot["year"].unique())
    reps = int(tot["replication"].nunique()) if "replication" in tot else 1
    # one array per indicator: years x replications
    wide = tot.pivot_table(index="year", columns=["indicator", "replication"] if reps > 1
                           else "indicator", values="value").reindex(years)
    with style():
        fig = new_figure(DOUBLE, 6.3, layout=None)
        chars = int(DOUBLE * 72 / (MIN_PT * 0.56))
        lines = len(textwrap.wrap(caption, chars))
        # margins (in) fitted to the decorations: a legend row and titles on top, 5-character
        # tick labels and an axis label on the left, year labels and the caption below
        axes = fixed_grid(fig, 3, 3, right=0.14, top=0.44, hgap=0.27,
                          bottom=0.4 + 0.125 * lines, sharex=True)
        for k, (ax, (title, quantity, names)) in enumerate(zip(axes.flat, PANELS, strict=True)):
            names = [n for n in names if n in wide.columns.get_level_values(0)]
            unit = unit_of(names[0]) if names else ""
            values = wide[names].to_numpy() if names else np.zeros(0)
            factor, shown = display_unit(unit, values)
            for j, name in enumerate(names):
                v = wide[name].to_numpy().reshape(len(years), -1)
                s = summary(v)
                bands(ax, years, s, OKABE_ITO[j], label_of(name),
                         DASHES[j % len(DASHES)], factor)
                observed(ax, target_points(targets, name, years), factor)
            ax.set_title(f"({'abcdefghi'[k]}) {title}")
            ax.set_ylabel(axis_label(shown, quantity))
            ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
            value_axis(ax, shown)
            year_axis(ax, years)
            handles, labels = ax.get_legend_handles_labels()
            keep = [(h, lab) for h, lab in zip(handles, labels, strict=True)
                    if lab != OBSERVED_LABEL]
            ax.legend(*zip(*keep, strict=True), loc="best")
        for ax in axes[-1]:
            ax.set_xlabel("Year")
        shown = any(target_points(targets, n, years) for _, _, names in PANELS for n in names)
        handles, labels = band_handles(ci=reps > 1, spread=reps > 1, obs=shown)
        if labels:
            fig.legend(handles, labels, loc="upper center", ncol=len(labels),
                       bbox_to_anchor=(0.5, 1.0), borderaxespad=0.2)
        add_caption(fig, caption)
        fit_grid(fig, axes)
        if settle_legends(fig):
            fit_grid(fig, axes)
    return fig


def run_overview(results: pd.DataFrame, targets: list[Target], stem: Path, caption: str,
                 formats: tuple[str, ...] = FORMATS_ALL) -> list[Path]:
    """Draw :func:`draw_overview` and save it as ``stem`` in ``formats``; return the paths."""
    return save(draw_overview(results, targets, caption), stem, caption, formats)


# --- the validation figure ---------------------------------------------------------------------

def target_label(row) -> str:
    """``Member companies (2001 cohort), 2003``."""
    where = where_label(row.get("where", "") if not pd.isna(row.get("where", "")) else "")
    return f"{label_of(row['indicator'])}{f' ({where})' if where else ''}, {row['year']}"


def _fmt_row(r) -> tuple[str, str]:
    """Observed and "simulated mean [95% interval]" of a fit row, in the indicator's unit
    (shares in percent), with as many decimals as the observed value's size asks."""
    unit = unit_of(r["indicator"])
    factor, shown = display_unit(unit, [r["observed"]])
    obs = r["observed"] * factor
    digits = 0 if abs(obs) >= 100 else 1
    unit_text = "%" if shown == "%" else (f" {shown}" if "EUR" in shown else "")

    def f(v: float, d: int = digits) -> str:
        if not np.isfinite(v):
            return "-"
        text = f"{v * factor:,.{d}f}"
        return text.lstrip("-") if float(text.replace(",", "")) == 0 else text  # no "-0.0"

    observed_text = f(r["observed"], 0 if float(obs).is_integer() else digits)
    return (observed_text + unit_text,
            f"{f(r['simulated_mean'])} [{f(r['ci_low'])}, {f(r['ci_high'])}]{unit_text}")


def draw_fit(table: pd.DataFrame, caption: str) -> Figure:
    """Simulated minus observed, in units of each target's tolerance (a tolerance of zero counts
    as 0.5, for counts that must match exactly): the mean with its 95% interval and the range
    of the replications; the grey band is "within tolerance".  Beside it, the observed value
    and the simulated mean with its interval, in the indicator's unit."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    scale = np.where(table["tolerance"] > 0, table["tolerance"], 0.5)
    obs = table["observed"].to_numpy(float)
    z = (table["simulated_mean"].to_numpy(float) - obs) / scale
    lo_r, hi_r = (table["range_low"] - obs) / scale, (table["range_high"] - obs) / scale
    lo_c, hi_c = (table["ci_low"] - obs) / scale, (table["ci_high"] - obs) / scale
    n = len(table)
    y = np.arange(n)[::-1].astype(float)
    labels = [target_label(r) for _, r in table.iterrows()]
    with style():
        fig = new_figure(DOUBLE, 1.25 + 0.17 * n)
        ax, tx = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [2.0, 1.0]})
        ax.axvspan(-1, 1, color="0.9", lw=0, zorder=0)
        ax.axvline(0, color="black", lw=0.6, zorder=1)
        ax.hlines(y, lo_r, hi_r, color=OKABE_ITO[5], lw=1.0)
        ax.hlines(y, lo_c, hi_c, color=OKABE_ITO[0], lw=2.6)
        ax.plot(z, y, "o", color=OKABE_ITO[0], ms=3.2)
        ax.set_yticks(y, labels)
        ax.tick_params(axis="y", length=0)
        ax.grid(False)
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_xlabel("Simulated \u2212 observed (tolerances)")
        reach = np.nanmax(np.abs(np.concatenate([lo_r, hi_r, [1.0]])))
        ax.set_xlim(-1.1 * reach, 1.1 * reach)
        tx.axis("off")
        tx.set_xlim(0, 1)
        tx.text(0.24, n - 0.35, "observed", ha="right", va="bottom", fontweight="bold")
        tx.text(0.31, n - 0.35, "simulated [95%]", ha="left", va="bottom", fontweight="bold")
        for yi, (_, r) in zip(y, table.iterrows(), strict=True):
            obs_text, sim_text = _fmt_row(r)
            tx.text(0.24, yi, obs_text, ha="right", va="center")
            tx.text(0.31, yi, sim_text, ha="left", va="center")
        fig_legend(fig, [Line2D([], [], color=OKABE_ITO[0], marker="o", ms=3.2, ls="none"),
                         Line2D([], [], color=OKABE_ITO[0], lw=2.6),
                         Line2D([], [], color=OKABE_ITO[5], lw=1.0),
                         Patch(facecolor="0.9", lw=0)],
                   ["simulated mean", CI_LABEL, SPREAD_LABEL, "within tolerance"])
        add_caption(fig, caption)
    return fig


def fit_figure(table: pd.DataFrame, stem: Path, caption: str) -> list[Path]:
    """Draw :func:`draw_fit` and save it as ``stem`` (PDF, SVG, PNG); return the paths."""
    return save(draw_fit(table, caption), stem, caption)
