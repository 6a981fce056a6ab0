"""``clustersim reproduce PAPER.toml`` (sim/reproduce.py) on a tiny paper file: the designs run
once (a rerun reuses the stored runs), the tables in CSV and LaTeX, the figures, the manifest;
bad paper files are refused with every problem at once."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.loader import ScenarioError
from sim.reproduce import latex_escape, load_paper, to_latex

ROOT = Path(__file__).resolve().parents[1]


def _tiny(folder: Path) -> Path:
    (folder / "short.toml").write_text('base = "baseline"\nname = "short"\n[time]\n'
                                       'end_year = 2003\n')
    (folder / "short_noeval.toml").write_text('base = "no_evaluation"\nname = "short_noeval"\n'
                                              '[time]\nend_year = 2003\n')
    (folder / "cmp.toml").write_text('''name = "cmp"
kind = "compare"
scenarios = ["short.toml", "short_noeval.toml"]
replications = 50
seed = 11
indicators = ["clusters_active", "members_total"]
years = [2002, 2003]
''')
    (folder / "grid.toml").write_text('''name = "grid"
kind = "sweep"
base = "short.toml"
replications = 2
seed = 12
indicators = ["members_total"]
years = [2003]
[sampler]
method = "grid"
[[lever]]
path = "behaviour.partnering.initiate_rate"
values = [0.004, 0.01]
''')
    paper = folder / "paper.toml"
    paper.write_text('''name = "tiny"
title = "A tiny paper"
[[design]]
file = "cmp.toml"
replications = 3          # instead of the design's 50
[[design]]
file = "grid.toml"
[[table]]
name = "t1"
design = "cmp"
table = "compare"
indicators = ["members_total"]
years = [2003]
caption = "Members & clusters: 100% of runs"
[[table]]
name = "t2"
design = "grid"
table = "sweep"
[[figure]]
name = "f1"
design = "cmp"
figure = "compare"
''')
    return paper


@pytest.mark.slow
def test_reproduce_a_tiny_paper_then_resume(tmp_path, capsys):
    paper = _tiny(tmp_path)
    out = tmp_path / "brief"
    assert main(["reproduce", str(paper), "--out", str(out), "-j", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "cmp: 6 runs (6 run now" in text and "grid: 4 runs (4 run now" in text
    for name in ("t1.csv", "t1.tex", "t2.csv", "t2.tex", "f1.pdf", "f1.svg", "f1.png",
                 "manifest.json"):
        assert (out / name).is_file(), name
    t1 = pd.read_csv(out / "t1.csv")
    assert set(t1["indicator"]) == {"members_total"} and set(t1["year"]) == {2003}
    assert set(t1["variant"]) == {"short", "short_noeval"} and set(t1["n"]) == {3}
    tex = (out / "t1.tex").read_text()
    assert r"\begin{tabular}" in tex and r"Members \& clusters: 100\% of runs" in tex
    assert "Short noeval" in tex and "Cluster members" in tex  # labels, not names
    man = json.loads((out / "manifest.json").read_text())
    assert man["paper"] == "tiny" and len(man["model_fingerprint"]) >= 12
    assert {d["name"]: (d["seed"], d["replications"], d["runs"]) for d in man["designs"]} == {
        "cmp": (11, 3, 6), "grid": (12, 2, 4)}
    assert "numpy" in man["versions"] and "git" in man
    assert set(man["files"]) == {"t1.csv", "t1.tex", "t2.csv", "t2.tex", "f1.pdf", "f1.svg",
                                 "f1.png"}
    before = (out / "t1.csv").read_text()
    # a rerun runs nothing and writes the same tables
    assert main(["reproduce", str(paper), "--out", str(out), "-j", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "cmp: 6 runs (0 run now, 6 already stored" in text
    assert "grid: 4 runs (0 run now, 4 already stored" in text
    assert (out / "t1.csv").read_text() == before


def test_bad_paper_files_are_refused_with_every_problem(tmp_path):
    paper = _tiny(tmp_path)
    text = paper.read_text().replace('design = "cmp"\ntable = "compare"',
                                     'design = "cpm"\ntable = "compare"')
    text = text.replace('table = "sweep"', 'table = "compare"').replace(
        'figure = "compare"', 'figure = "sweep"') + "\ncolour = 1\n"
    paper.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_paper(paper)
    msg = str(err.value)
    assert "colour: unknown key" in msg
    paper.write_text(text.replace("\ncolour = 1\n", "\n"))
    with pytest.raises(ScenarioError) as err:
        load_paper(paper)
    msg = str(err.value)
    assert "table[0].design: no design named 'cpm'" in msg and "did you mean 'cmp'" in msg
    assert "table[1]: design 'grid' is a sweep design; it has no compare table" in msg
    assert "figure[0]: design 'cmp' is a compare design; it has no sweep figure" in msg


def test_cli_refuses_a_bad_paper_with_status_2(tmp_path, capsys):
    paper = tmp_path / "p.toml"
    paper.write_text('name = "p"\n[[design]]\nfile = "missing.toml"\n')
    assert main(["reproduce", str(paper), "--out", str(tmp_path / "o")]) == 2
    assert "missing.toml" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_latex_escapes_and_aligns():
    assert latex_escape("a_b & 5% $x$ #1") == r"a\_b \& 5\% \$x\$ \#1"
    tex = to_latex(pd.DataFrame({"name": ["x_1"], "value": [1234.5], "share": [0.12345]}),
                   "Cap", "lab")
    assert r"\begin{tabular}{lrr}" in tex and r"x\_1 & 1,234 & 0.1235 \\" in tex
    assert r"\label{tab:lab}" in tex


def test_the_policy_brief_loads_every_shipped_design():
    study = load_paper(ROOT / "papers" / "policy_brief.toml")
    # every shipped design of the engine's kinds (compare, sweep, sensitivity); the evaluation
    # designs (kind "evaluation", experiments/evaluate_*.toml) run with `clustersim evaluate`
    docs = [tomllib.loads(p.read_text()) for p in (ROOT / "experiments").glob("*.toml")]
    shipped = {d["name"] for d in docs if d.get("kind") != "evaluation"}
    assert set(study.designs) == shipped
    doc = tomllib.loads((ROOT / "papers" / "policy_brief.toml").read_text())
    assert {t["design"] for t in doc["table"]} == shipped
    assert {f["design"] for f in doc["figure"]} == shipped
    runs = sum(len(d.scenarios) * d.replications if d.kind == "compare" else 0
               for d, _ in study.designs.values())
    assert runs <= 500  # the comparisons stay small enough for minutes (about 0.1 s a run)
