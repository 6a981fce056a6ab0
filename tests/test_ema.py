"""The EMA Workbench adapter (sim/ema.py): parameters from the schema's bounds, outcomes from the
catalogue, runs that match ``clustersim sweep`` for the same points and seeds."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim import ema  # imports the workbench only when a model is built
from sim.loader import ScenarioError
from sim.scenario import parameter_bounds


@pytest.fixture(scope="module", autouse=True)
def ema_workbench():
    """The workbench, imported when this module's tests run, not when pytest collects them
    (its import walks every loaded module's frames: seconds on each pytest-xdist worker)."""
    return pytest.importorskip("ema_workbench")

SHORT = """base = "baseline"
name = "short"
[time]
end_year = 2003
"""


@pytest.fixture
def short(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(SHORT)
    return path


def test_parameters_come_from_the_schema_bounds(ema_workbench):
    model = ema.ema_model(["behaviour.partnering.initiate_rate",
                           "behaviour.partnering.candidates"],
                          ["policy.evaluation.min_involvement"],
                          [("members_total", 2006)])
    bounds = parameter_bounds()
    by_name = {p.name: p for p in (*model.uncertainties, *model.levers)}
    rate = by_name["partnering__initiate_rate"]
    assert (rate.lower_bound, rate.upper_bound) == (
        bounds["behaviour.partnering.initiate_rate"]["lower"],
        bounds["behaviour.partnering.initiate_rate"]["upper"])
    assert isinstance(by_name["partnering__candidates"], ema_workbench.IntegerParameter)
    assert [p.name for p in model.levers] == ["evaluation__min_involvement"]
    assert [o.name for o in model.outcomes] == ["members_total_2006"]
    assert ema.schema_path("evaluation__min_involvement", "policy") == (
        "policy.evaluation.min_involvement")


def test_narrower_ranges_are_checked_against_the_schema():
    model = ema.ema_model({"behaviour.partnering.initiate_rate": (0.003, 0.012)})
    p = model.uncertainties[0]
    assert (p.lower_bound, p.upper_bound) == (0.003, 0.012)
    with pytest.raises(ScenarioError) as err:
        ema.ema_model({"behaviour.partnering.initiate_rate": (0.0, 2.0),
                       "behaviour.partnering.initiate_rat": None},
                      ["behaviour.membership.noise"], [("members_totl", 2006),
                                                       ("members_total", 2030)])
    text = str(err.value)
    assert "leaves the schema's bounds [0.0, 1.0]" in text
    assert "did you mean 'behaviour.partnering.initiate_rate'" in text
    assert "behaviour.membership.noise: not a numeric parameter of [policy]" in text
    assert "no indicator 'members_totl'" in text and "members_total@2030 lies outside" in text


@pytest.mark.slow
def test_outcomes_match_clustersim_sweep_for_the_same_points_and_seeds(short, tmp_path):
    """A grid sweep run by the project's engine and the EMA function at the same points give
    the same outcomes (the mean of the same replications, seed for seed)."""
    from sim.experiment import load_store, run_design

    design = tmp_path / "grid.toml"
    design.write_text(f"""name = "grid"
kind = "sweep"
base = "{short}"
replications = 3
seed = 77
indicators = ["members_total"]
years = [2003]
[sampler]
method = "grid"
[[lever]]
path = "behaviour.partnering.initiate_rate"
values = [0.004, 0.01]
[[lever]]
path = "policy.evaluation.min_members"
values = [20]
""")
    outcome = run_design(design, out=tmp_path / "out", workers=1, progress=False)
    _, series, _ = load_store(outcome.store.root)
    variants = pd.read_parquet(outcome.store.root / "variants.parquet")
    model = ema.ema_model(["behaviour.partnering.initiate_rate"], ["policy.evaluation.min_members"],
                          [("members_total", 2003), ("partnerships_launched_cumulative", 2003)],
                          base=short, replications=3, seed=77)
    fn = model.function
    for rate in (0.004, 0.01):
        got = fn(partnering__initiate_rate=rate, evaluation__min_members=20)
        key = variants.loc[[json.loads(x)["behaviour.partnering.initiate_rate"] == rate
                            for x in variants["settings"]], "variant"]
        rows = series[(series["variant"] == key.iloc[0]) & (series["by"] == "total")
                      & (series["year"] == 2003)]
        for ind in ("members_total", "partnerships_launched_cumulative"):
            v = rows[rows["indicator"] == ind].sort_values("replication")["value"]
            assert len(v) == 3
            assert got[f"{ind}_2003"] == pytest.approx(v.mean(), rel=0, abs=0)
        # the EMA function's own series are the store's, run for run
        mine = fn.series({"behaviour.partnering.initiate_rate": rate,
                          "policy.evaluation.min_members": 20})
        theirs = series[series["variant"] == key.iloc[0]].drop(columns="variant")
        pd.testing.assert_frame_equal(
            mine.drop(columns="variant").reset_index(drop=True),
            theirs.reset_index(drop=True), check_dtype=False)


def test_perform_experiments_is_seeded(short):
    model = ema.ema_model({"behaviour.partnering.initiate_rate": (0.003, 0.012)},
                          {"policy.evaluation.min_members": (10, 60)},
                          [("members_total", 2003)], base=short, replications=1, seed=5)
    x1, y1 = ema.perform(model, 3, 2, seed=4)
    x2, y2 = ema.perform(model, 3, 2, seed=4)
    assert len(x1) == 6 and list(y1) == ["members_total_2003"]
    assert set(x1["evaluation__min_members"]) <= set(range(10, 61))
    assert x1["partnering__initiate_rate"].between(0.003, 0.012).all()
    cols = ema.parameter_columns(model)
    pd.testing.assert_frame_equal(x1[cols], x2[cols])
    assert (y1["members_total_2003"] == y2["members_total_2003"]).all()
    # each experiment's outcome is the function's at its settings
    row = x1.iloc[0]
    again = model.function(**{c: row[c] for c in cols})
    assert again["members_total_2003"] == y1["members_total_2003"][0]


@pytest.mark.slow
def test_the_shipped_discovery_example_runs(tmp_path, capsys):
    import importlib.util

    from tests.test_cli import ROOT

    spec = importlib.util.spec_from_file_location("ema_discovery",
                                                  ROOT / "experiments" / "ema_discovery.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    found = mod.discover(6, 2, 1, None, 20010101, tmp_path)
    out = capsys.readouterr().out
    assert "12 experiments" in out and "PRIM peeling trajectory" in out and "Box " in out
    assert found["box"] is not None and len(found["limits"]) >= 1
    for name in ("experiments.csv", "peeling_trajectory.csv", "box.csv", "prim.png", "prim.pdf"):
        assert (tmp_path / name).is_file(), name
