"""clustersim validate: any targets file of the documented form, on any scenario."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.loader import ScenarioError
from sim.targets import load_targets
from sim.validation import fit_table, simulate

ROOT = Path(__file__).resolve().parents[1]

OWN = """
[[target]]
indicator = "members_total"
year = 2010
value = 700
rel_tolerance = 0.5
source = "a later year"

[[target]]
indicator = "members_total"
year = 2008
value = 60
abs_tolerance = 60
where = { cluster = "aeronautics" }
source = "a cluster"

[[target]]
indicator = "members_total"
year = 2008
value = 400
rel_tolerance = 1.0
where = { actor_type = "sme" }
source = "an actor type"

[[target]]
indicator = "pole_members"
year = 2009
value = 100
rel_tolerance = 1.0
where = { pole = "aerospace" }
source = "a pole"

[[target]]
indicator = "pole_proposals_submitted"
year = 2007
value = 20
rel_tolerance = 1.0
where = { call = 2 }
source = "a call"

[[target]]
indicator = "pole_consortium_partners"
year = 2007
value = 10
rel_tolerance = 1.0
where = { actor_type = "university", call = 2 }
source = "two selectors"
"""


def clustersim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "clustersim"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_validate_the_shipped_targets(tmp_path):
    proc = clustersim("validate", "--reps", "6", "--out", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "members_total@2006" in proc.stdout and "790" in proc.stdout
    assert "of 19 targets within tolerance (6 replications" in proc.stdout
    fit = pd.read_csv(tmp_path / "validate-baseline-wallonia_2004_2006" / "fit.csv")
    assert len(fit) == 19 and (fit["n"] == 6).all()
    assert (tmp_path / "validate-baseline-wallonia_2004_2006" / "fit.png").exists()


def test_own_targets_with_later_years_and_selectors(tmp_path):
    path = tmp_path / "own.toml"
    path.write_text(OWN)
    targets = load_targets(path)
    series = simulate(None, reps=3, seed=1, workers=1)
    table = fit_table(series, targets)
    assert (table["n"] == 3).all(), table[["target", "n"]]  # every selector found its rows
    assert table.loc[0, "within_tolerance"]
    # the selector picks the cluster's own value, not the total
    aero = series[(series.indicator == "members_total") & (series.year == 2008)
                  & (series.by == "cluster") & (series.key == "aeronautics")]["value"].mean()
    assert table.loc[1, "simulated_mean"] == pytest.approx(aero)


@pytest.mark.parametrize("text, expected", [
    ('indicator = "members_totl"\nyear = 2006\nvalue = 1\nrel_tolerance = 0.1\nsource = "x"',
     "unknown indicator 'members_totl'"),
    ('indicator = "members_total"\nyear = 2006\nvalue = 1\nsource = "x"',
     "give exactly one of rel_tolerance and abs_tolerance"),
    ('indicator = "members_total"\nyear = 2006\nvalue = nan\nabs_tolerance = 1\nsource = "x"',
     "target[0].value"),
    ('indicator = "clusters_active"\nyear = 2006\nvalue = 1\nabs_tolerance = 1\nsource = "x"\n'
     'where = { cluster = "wood" }', "is not reported by 'cluster'"),
    ('indicator = "members_total"\nyear = 2006\nvalue = 1\nabs_tolerance = 1\nsource = "x"\n'
     'where = { region = "x" }', "unknown where key"),
])
def test_bad_targets_are_refused(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text("[[target]]\n" + text + "\n")
    with pytest.raises(ScenarioError) as info:
        load_targets(path)
    assert str(info.value).startswith(str(path))
    assert expected in str(info.value)


def test_targets_outside_the_run_are_refused_before_running(tmp_path):
    path = tmp_path / "late.toml"
    path.write_text('[[target]]\nindicator = "members_total"\nyear = 2020\nvalue = 1\n'
                    'abs_tolerance = 1\nsource = "x"\n')
    proc = clustersim("validate", "--targets", str(path), "--reps", "2", "--out",
                      str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "year 2020 is outside the run (2001-2012)" in proc.stderr
    assert not (tmp_path / "o").exists()


# issue 13: a target whose `where` names what the scenario does not have printed nan
WHERE_CASES = {
    'where = { cluster = "atlantis" }':
        "target[0] (members_total[cluster=atlantis]@2006): where.cluster = 'atlantis': the "
        "scenario has no such cluster (its clusters: aeronautics, automotive, wood, "
        "food_processing, space, clinical_research, ceramics, transport_logistics, "
        "waste_management, nutrition, eco_building, ict)",
    'where = { cluster = "aeronautic" }':
        "target[0] (members_total[cluster=aeronautic]@2006): where.cluster = 'aeronautic': the "
        "scenario has no such cluster; did you mean 'aeronautics'? (its clusters: aeronautics, "
        "automotive, wood, food_processing, space, clinical_research, ceramics, "
        "transport_logistics, waste_management, nutrition, eco_building, ict)",
    'where = { cohort = 2002 }':
        "target[0] (members_total[cohort=2002]@2006): where.cohort = 2002: the scenario has no "
        "such cohort (its cohorts (launch years within the run): 2001, 2003, 2004)",
}


@pytest.mark.parametrize("where", sorted(WHERE_CASES))
def test_a_target_the_scenario_cannot_give_is_refused_before_running(where, tmp_path, capsys):
    from sim.cli import main

    path = tmp_path / "where.toml"
    path.write_text('[[target]]\nindicator = "members_total"\nyear = 2006\nvalue = 1\n'
                    f'abs_tolerance = 1\nsource = "x"\n{where}\n')
    code = main(["validate", "--targets", str(path), "--reps", "2", "--out", str(tmp_path / "o")])
    assert code == 2
    assert capsys.readouterr().err == f"{path}: 1 error(s)\n  {WHERE_CASES[where]}\n"
    assert not (tmp_path / "o").exists()


def test_targets_of_unknown_poles_and_calls_are_refused():
    from sim.loader import load_scenario
    from sim.targets import Target, scenario_problems

    def target(indicator: str, year: int, **where) -> Target:
        return Target(indicator=indicator, year=year, value=1.0, abs_tolerance=1.0, source="x",
                      where=where)

    sc = load_scenario()
    assert scenario_problems([target("pole_members", 2008, pole="aerospac"),
                              target("pole_projects_funded", 2006, call=3),
                              target("pole_projects_funded", 2007, call=9),
                              target("pole_projects_funded", 2007, call=3)], sc) == [
        "target[0] (pole_members[pole=aerospac]@2008): where.pole = 'aerospac': the scenario "
        "has no such pole; did you mean 'aerospace'? (its poles: life_sciences, agro_food, "
        "mechanical_engineering, transport_logistics, aerospace)",
        "target[1] (pole_projects_funded[call=3]@2006): where.call = 3: call 3 closes in 2007, "
        "so it has no figures for 2006",
        "target[2] (pole_projects_funded[call=9]@2007): where.call = 9: the scenario has 6 pole "
        "call(s), numbered from 1"]
