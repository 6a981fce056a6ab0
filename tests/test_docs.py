"""Documentation cannot drift: every parameter and indicator appears in the ODD, the README's
and the ODD's indicator tables and the ODD's process table are the ones the code generates,
every actor attribute is described, and every numeric parameter names its source."""

from __future__ import annotations

from pathlib import Path

from sim.indicators.table import CATALOGUE, markdown_table
from sim.scenario import parameter_bounds
from sim.schedule import markdown_table as schedule_table
from sim.schedule import substeps
from sim.state.actors import ACTOR_COLUMNS
from sim.state.projects import PROJECT_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
ODD = (ROOT / "docs" / "ODD.md").read_text()
README = (ROOT / "README.md").read_text()
SOURCES = ("seed", "assumption", "to be calibrated", "literature", "SKIN", "NEMO", "INFSO",
           "Tomasello", "Cowan", "performance.md", "Neuländtner")


def test_every_parameter_has_a_source_and_is_in_the_odd():
    params = parameter_bounds()
    assert len(params) > 100
    for path, meta in params.items():
        assert any(s in meta["source"] for s in SOURCES), (path, meta["source"])
        assert f"`{path}`" in ODD, f"{path} is missing from docs/ODD.md (regenerate it)"


def test_the_indicator_tables_are_the_catalogue():
    """The README's and the ODD's tables are the catalogue's (``python docs/odd/generate.py``
    regenerates both); every indicator has a label, a unit and a definition."""
    table = markdown_table()
    assert table in README, "README.md's indicator table is stale: docs/odd/generate.py --readme"
    assert table in ODD, "docs/ODD.md's indicator table is stale: regenerate it"
    for ind in CATALOGUE:
        assert ind.label and ind.unit and ind.definition.endswith("."), ind.name


def test_the_odd_process_table_is_the_schedule():
    """Section 3's table is generated from ``ClusterModel.step``: the sub-steps in the order the
    code runs them, the kernels each calls and the streams it draws from."""
    overview = ODD[ODD.index("## 3"): ODD.index("## 4")]
    assert schedule_table() in overview, "docs/ODD.md's process table is stale: regenerate it"
    numbers = [s.number for s in substeps()]
    assert numbers == list(range(14)), numbers
    assert [s.quarter for s in substeps()].count(4) == 2  # evaluation and indicators, Q4


def test_every_state_column_is_described():
    """Every actor attribute is a row of the ODD's actors table, every project attribute is
    named in its projects section."""
    actors = ODD[ODD.index("### 2.1 Actors"): ODD.index("### 2.2")]
    for col in ACTOR_COLUMNS:
        assert f"| `{col.name}` |" in actors, col.name
    projects = ODD[ODD.index("### 2.7 Projects"): ODD.index("### 2.8")]
    for col in PROJECT_COLUMNS:
        assert f"`{col.name}`" in projects, col.name


def test_the_panel_columns_are_documented():
    """The firm panel's columns table (sim.evaluation.panel) is in the README and the ODD."""
    from sim.evaluation.panel import columns_markdown

    assert columns_markdown() in README, "README.md's panel table is stale: generate.py --readme"
    assert columns_markdown() in ODD, "docs/ODD.md's panel table is stale: regenerate it"
