"""The house style of the figures, checked on figures drawn from real (short) runs.

Every kind of figure (run overview, comparison, two-lever and three-lever sweeps, Morris,
Sobol, validation) is drawn from runs of ``tests/data/designs`` (2001-2004) and must pass
:func:`sim.figures.check_figure` (journal width, text of at least 7 pt inside the figure, no
snake_case, a unit on every numeric axis, no offset notation, no legend over the data, no
overlapping panels); its files must have that size, 300 dpi, TrueType (Type 42) fonts in the
PDF and text as paths in the SVG.  The checker itself is shown the faults the figures had
before (a 13 x 4.7 in figure with 6 pt text, snake_case legends, no units, offset notation,
a legend over the lines, Type 3 fonts) and must report each of them.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import figures as F
from sim.cli import main
from sim.experiment import figures as E
from sim.experiment.analysis import sweep_table
from sim.experiment.store import Store
from sim.indicators import BY_NAME, CATALOGUE
from sim.loader import load_scenario
from sim.results import run_one
from sim.targets import load_targets
from sim.validation import fit_table

DESIGNS = Path(__file__).resolve().parent / "data" / "designs"


# --- reading the files (independently of the code that writes them) --------------------------

def png_facts(path: Path) -> tuple[int, int, float]:
    """Width and height in pixels and dots per inch of a PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    pos, dpi = 8, float("nan")
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        if kind == b"pHYs":
            x, _, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            dpi = x * 0.0254 if unit == 1 else float("nan")
        pos += 12 + length
    return width, height, dpi


def pdf_facts(path: Path) -> dict:
    """Fonts and page size of a PDF written by matplotlib (its font objects are plain text)."""
    data = path.read_bytes()
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    return {"type3": b"/Type3" in data, "truetype": b"/FontFile2" in data,
            "cid_truetype": b"/CIDFontType2" in data or b"/TrueType" in data,
            "page_pt": (float(box.group(1)), float(box.group(2)))}


def svg_facts(path: Path) -> dict:
    text = path.read_text()
    m = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"[^>]*\sheight="([\d.]+)pt"', text)
    return {"size_pt": (float(m.group(1)), float(m.group(2))), "text_elements": "<text" in text}


def file_problems(paths: list[Path], size_in: tuple[float, float]) -> list[str]:
    """What is wrong with the PDF, SVG and PNG of a figure of ``size_in`` inches."""
    out = []
    by_ext = {p.suffix: p for p in paths}
    if set(by_ext) != {".pdf", ".svg", ".png"}:
        out.append(f"formats {sorted(by_ext)}")
    w, h = size_in
    if ".png" in by_ext:
        pw, ph, dpi = png_facts(by_ext[".png"])
        if abs(pw - w * 300) > 1 or abs(ph - h * 300) > 1 or abs(dpi - 300) > 0.5:
            out.append(f"png {pw}x{ph} px at {dpi:.1f} dpi for {w}x{h} in at 300 dpi")
    if ".pdf" in by_ext:
        pdf = pdf_facts(by_ext[".pdf"])
        if pdf["type3"] or not (pdf["truetype"] and pdf["cid_truetype"]):
            out.append(f"pdf fonts are not embedded TrueType (Type 42): {pdf}")
        if max(abs(a - b * 72) for a, b in zip(pdf["page_pt"], size_in, strict=True)) > 0.5:
            out.append(f"pdf page {pdf['page_pt']} pt for {w}x{h} in")
    if ".svg" in by_ext:
        svg = svg_facts(by_ext[".svg"])
        if max(abs(a - b * 72) for a, b in zip(svg["size_pt"], size_in, strict=True)) > 0.5:
            out.append(f"svg {svg['size_pt']} pt for {w}x{h} in")
        if svg["text_elements"]:
            out.append("svg has <text> elements: its look depends on the reader's fonts")
    return out


def assert_paper_grade(fig, tmp_path: Path, stem: str) -> list[Path]:
    """The figure passes the checker, and its three files have its size, dpi and fonts."""
    problems = F.check_figure(fig)
    assert problems == [], problems
    size = tuple(fig.get_size_inches())
    paths = F.save(fig, tmp_path / stem, stem)
    assert file_problems(paths, size) == []
    return paths


# --- data from real runs ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def short_runs() -> pd.DataFrame:
    """Three replications of the baseline cut to 2001-2004."""
    sc = load_scenario(DESIGNS / "short.toml")
    return pd.concat([run_one(sc, 4242, r)[0] for r in range(3)], ignore_index=True)


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    """Stores of small designs, run and reported by the command line (which draws their
    figures too)."""
    out = tmp_path_factory.mktemp("stores")
    roots = {}
    for command, name in (("sweep", "small_compare"), ("sweep", "lhs_sweep"),
                          ("sweep", "lhs_three_levers"), ("sensitivity", "tiny_morris"),
                          ("sensitivity", "tiny_sobol")):
        assert main([command, str(DESIGNS / f"{name}.toml"), "--out", str(out), "-j", "1",
                     "--quiet"]) == 0
        roots[name] = out / name
    return roots


def _sweep(root: Path) -> tuple[pd.DataFrame, list[str]]:
    store = Store(root)
    design = store.manifest()["design"]
    table = sweep_table(store.load_series(), store.load_variants(), design["indicators"],
                        design["years"])
    return table, [lv["path"] for lv in design["lever"]]


# --- the figures -----------------------------------------------------------------------------

def test_importing_the_figures_does_not_import_matplotlib():
    code = ("import sys, sim.cli, sim.figures, sim.experiment.report, sim.validation; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_every_indicator_has_a_human_label_and_a_unit():
    names = [ind.name for ind in CATALOGUE]
    labels = [F.label_of(name) for name in names]
    for name, label in zip(names, labels, strict=True):
        assert label == BY_NAME[name].label, "figures take the catalogue's label"
        assert label and "_" not in label and label[0].isupper(), (name, label)
        assert F.unit_of(name), name
    assert len(set(labels)) == len(labels), "two indicators share a label"


def test_euros_are_shown_in_keur_or_meur_and_shares_in_percent():
    assert F.display_unit("EUR", [2.8e8, 4.1e7]) == (1e-6, "MEUR")
    assert F.display_unit("EUR/FTE/year", [70_656.3]) == (1e-3, "kEUR/FTE/year")
    assert F.display_unit("EUR", [-5.0e6]) == (1e-6, "MEUR")
    assert F.display_unit("EUR", [850.0]) == (1.0, "EUR")
    assert F.display_unit("share", [0.82]) == (100.0, "%")
    assert F.display_unit("members", [790]) == (1.0, "members")
    assert F.axis_label("MEUR") == "Value (MEUR)"
    assert F.axis_label("clusters") == "Number (clusters)"


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_run_overview_one_run(short_runs, tmp_path):
    one = short_runs[short_runs["replication"] == 0]
    fig = F.draw_overview(one, load_targets(), "Scenario short, root seed 4242, one run.")
    assert tuple(fig.get_size_inches()) == (F.DOUBLE, 6.3)
    assert_paper_grade(fig, tmp_path, "overview")


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_run_overview_bands_targets_and_one_unit_per_panel(short_runs, tmp_path):
    targets = load_targets()
    fig = F.draw_overview(short_runs, targets, "Scenario short, 3 replications.")
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [F.CI_LABEL, F.SPREAD_LABEL, F.OBSERVED_LABEL]
    for _, _, names in F.PANELS:  # never projects with actors on one axis
        assert len({F.unit_of(n) for n in names}) == 1, names
    # every total target of a drawn indicator in 2001-2004 is drawn with its tolerance bar
    drawn = [n for _, _, names in F.PANELS for n in names]
    expected = [t for t in targets if t.indicator in drawn and not t.where and t.year <= 2004]
    bars = [c for ax in fig.axes for c in ax.containers
            if c.get_label() == F.OBSERVED_LABEL]
    assert sum(len(c.lines[0].get_xdata()) for c in bars) == len(expected) > 0
    assert all(c.has_yerr for c in bars)
    assert_paper_grade(fig, tmp_path, "overview")


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_compare_figure(stores, tmp_path):
    store = Store(stores["small_compare"])
    series, variants = store.load_series(), list(store.load_variants()["variant"])
    fig = E.draw_compare(series, "short", ["members_total", "productivity"], "caption",
                         order=variants, targets=load_targets())
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles.count("Short halved \u2212 short") == 2  # difference panels named by variant
    assert "Labour productivity" in titles and "Cluster members" in titles
    ylabels = [ax.get_ylabel() for ax in fig.axes]
    assert "Value (kEUR/FTE/year)" in ylabels and "Difference (kEUR/FTE/year)" in ylabels
    assert fig.get_figwidth() == F.DOUBLE
    assert_paper_grade(fig, tmp_path, "compare")


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_two_lever_sweep_is_a_map(stores, tmp_path):
    from matplotlib.collections import QuadMesh
    from matplotlib.contour import ContourSet

    table, levers = _sweep(stores["lhs_sweep"])
    fig = E.draw_sweep(table, levers, "caption")
    panels = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert len(panels) == 2
    for ax in panels:
        assert any(isinstance(c, ContourSet | QuadMesh) for c in ax.collections)
        assert ax.get_xlabel().startswith("Animation subsidy")
        assert "kEUR/year/cluster" in ax.get_xlabel()
    assert_paper_grade(fig, tmp_path, "sweep")


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_sweep_of_three_levers(stores, tmp_path):
    table, levers = _sweep(stores["lhs_three_levers"])
    fig = E.draw_sweep(table, levers, "caption")
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2 * 3
    assert "Value (MEUR)" in [ax.get_ylabel() for ax in fig.axes]  # euros in MEUR
    assert_paper_grade(fig, tmp_path, "sweep3")


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_morris_is_a_mu_star_sigma_plot(stores, tmp_path):
    idx = pd.read_csv(stores["tiny_morris"] / "sensitivity.csv")
    fig = E.draw_morris(idx, "caption")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "\u03bc* (members)" and ax.get_ylabel() == "\u03c3 (members)"
    points = [c for c in ax.containers if c.has_xerr]  # mu* with its interval, per lever
    assert len(points) == len(idx)
    x = sorted(float(c.lines[0].get_xdata()[0]) for c in points)
    assert np.allclose(x, sorted(idx["mu_star"]))
    assert_paper_grade(fig, tmp_path, "morris")


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_sobol_indices_have_intervals(stores, tmp_path):
    idx = pd.read_csv(stores["tiny_sobol"] / "sensitivity.csv")
    assert {"S1_conf", "ST_conf"} <= set(idx.columns)
    fig = E.draw_sobol(idx, "caption")
    for ax in [a for a in fig.axes if a.get_visible()]:
        bars = [c for c in ax.containers if c.__class__.__name__ == "BarContainer"]
        assert len(bars) == 2 and all(b.errorbar is not None for b in bars)
    assert fig.get_figwidth() == F.DOUBLE
    assert_paper_grade(fig, tmp_path, "sobol")


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_fit_figure(short_runs, tmp_path):
    targets = [t for t in load_targets() if t.year <= 2004]
    table = fit_table(short_runs, targets)
    fig = F.draw_fit(table, "caption")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "Member companies (2001 cohort), 2003" in labels
    assert "Clusters dropped (food processing), 2004" in labels
    assert_paper_grade(fig, tmp_path, "fit")


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_the_commands_write_the_three_formats(stores):
    for name, stems in (("small_compare", ["compare"]), ("lhs_sweep", ["sweep"]),
                        ("tiny_morris", ["sweep", "sensitivity"]),
                        ("tiny_sobol", ["sweep", "sensitivity"])):
        for stem in stems:
            paths = [stores[name] / f"{stem}.{ext}" for ext in ("pdf", "svg", "png")]
            w, h, _ = png_facts(paths[2])
            assert file_problems(paths, (w / 300, h / 300)) == []
            assert round(w / 300, 2) in (F.SINGLE, F.DOUBLE)


# --- the checker sees what was wrong ---------------------------------------------------------

def test_the_checker_reports_the_old_faults(tmp_path):
    """A figure made the old way: 13 x 4.7 in, 6 pt text, snake_case names, no units, euros
    with an offset, a legend over the lines; and a PDF with Type 3 fonts."""
    from matplotlib import rc_context

    with F.style():
        fig = F.new_figure(13.0, 4.7)
        a, b = fig.subplots(1, 2)
        years = np.arange(2001, 2013)
        a.plot(years, 2.8e8 + 1e4 * np.arange(12), label="pole_budget_left_eur")
        a.ticklabel_format(useOffset=True, axis="y")
        b.plot(years, np.linspace(0, 10, 12), label="clusters_active")
        b.plot(years, np.linspace(10, 0, 12), label="clusters_dropped")
        b.legend(loc="center", fontsize=6)
        a.set_title("members_total")
        b.set_xlabel("year")
    problems = "\n".join(F.check_figure(fig))
    assert "width 13.00 in is not a journal width" in problems
    assert "at 6.0 pt" in problems
    assert "snake_case in text 'members_total'" in problems
    assert "snake_case in text 'clusters_active'" in problems
    assert "y axis label '' has no unit" in problems
    assert "x axis label 'year' has no unit" in problems
    assert "offset notation" in problems
    assert "the legend covers" in problems
    with rc_context({"pdf.fonttype": 3}):
        fig.savefig(tmp_path / "type3.pdf")
    assert pdf_facts(tmp_path / "type3.pdf")["type3"]
    assert any("Type 42" in p for p in file_problems([tmp_path / "type3.pdf"], (13.0, 4.7)))


def test_the_checker_reports_text_off_the_figure_and_overlapping_panels():
    with F.style():
        fig = F.new_figure(F.SINGLE, 2.0, layout=None)
        a, b = fig.subplots(1, 2, gridspec_kw={"wspace": 0.0, "left": 0.02, "right": 0.98})
        for ax in (a, b):
            ax.plot([0, 1], [0, 1000])
            ax.set_ylabel("Number (members)")
            ax.set_xlabel("Share (%)")
    problems = "\n".join(F.check_figure(fig))
    assert "runs off the figure" in problems
    assert "overlap" in problems


def test_the_fixed_grid_makes_room_for_wide_tick_labels():
    """The overview's grid is laid out without a layout engine: its left margin and column
    gaps must grow with the widest tick labels (here 7 characters), which the default does not
    hold."""
    def draw(fit: bool):
        with F.style():
            fig = F.new_figure(F.DOUBLE, 2.0, layout=None)
            axes = F.fixed_grid(fig, 1, 3, right=0.14, top=0.3, bottom=0.4, hgap=0.27)
            for ax in axes:
                ax.plot([2001, 2012], [0, 1_234_567])
                ax.set_ylabel("Number (actors)")
                ax.set_xlabel("Year")
            if fit:
                F.fit_grid(fig, axes)
        return F.check_figure(fig)

    assert any("overlap" in p or "runs off" in p for p in draw(fit=False))
    assert draw(fit=True) == []


def test_fit_rows_never_print_a_negative_zero():
    """An interval bound that rounds to zero prints as 0.0, not -0.0 (a mean of 0.15 with a
    t-interval from -0.02 was shown as "0.1 [-0.0, 0.3]")."""
    row = {"indicator": "clusters_dropped", "observed": 0.0, "simulated_mean": 0.15,
           "ci_low": -0.0215, "ci_high": 0.321}
    assert F._fmt_row(row) == ("0", "0.1 [0.0, 0.3]")
    row["ci_low"] = -0.2
    assert F._fmt_row(row)[1] == "0.1 [-0.2, 0.3]"
