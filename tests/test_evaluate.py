"""`clustersim evaluate`: a twin identical to its scenario gives effects of exactly zero; a
policy with a zero budget spends nothing; the command writes its tables and figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.evaluation.evaluate import EvaluationDesign, run_evaluation

pytestmark = pytest.mark.slow  # model runs, then estimators in a spawned worker

SMALL = """base = "baseline"
name = "{name}"
[run]
scale = 0.3
"""

ZERO = """
[policy.animation]
subsidy_eur_per_year = 0.0
[policy.international]
tender_subsidy_eur = 0.0
[policy.poles]
budget_rd_meur = 0.0
budget_training_meur = 0.0
budget_investment_meur = 0.0
budget_export_meur = 0.0
budget_assets_meur = 0.0
"""


def _design(tmp_path, policy: str, counterfactual: str, **kw) -> EvaluationDesign:
    return EvaluationDesign.model_validate({
        "name": "t", "kind": "evaluation", "scenario": policy,
        "counterfactual": counterfactual, "replications": 2, "seed": 11,
        "outcomes": ["employment", "innovations"], "estimators": ["naive", "twfe"], **kw})


def test_identical_twin_gives_zero_effects(tmp_path):
    (tmp_path / "small.toml").write_text(SMALL.format(name="small"))
    (tmp_path / "same.toml").write_text(SMALL.format(name="same"))
    res = run_evaluation(_design(tmp_path, "small.toml", "same.toml"), tmp_path,
                         tmp_path / "out", workers=1, progress=False, figure=False)
    t = res.tables["true_effects"]
    assert len(t) and (t["mean"] == 0.0).all() and (t["sd"].fillna(0.0) == 0.0).all()
    assert (res.tables["aggregate_effects"]["mean"] == 0.0).all()
    c = res.tables["cost_per_outcome"]
    assert (c["spend_eur"] == 0.0).all() and (c["cost_eur_per_unit"] == 0.0).all()
    a = res.tables["additionality"]
    assert (a.loc[a["measure"] == "additional", "mean"] == 0.0).all()
    s = res.tables["estimators"]
    assert (s["mean_truth"] == 0.0).all() and set(s["estimator"]) == {"naive", "twfe"}


def test_zero_budget_spends_nothing(tmp_path):
    (tmp_path / "zero.toml").write_text(SMALL.format(name="zero") + ZERO)
    res = run_evaluation(_design(tmp_path, "zero.toml", "none"), tmp_path, tmp_path / "out",
                         workers=1, progress=False, figure=False)
    c = res.tables["cost_per_outcome"]
    assert (c["spend_eur"] == 0.0).all()
    assert (c["cost_eur_per_unit"] == 0.0).all() and (c["note"] == "no spending").all()
    # the panels of both variants are in the store, one folder per run
    runs = sorted(p.parent.parent.name for p in (res.folder / "runs").glob("*/*/panel.parquet"))
    assert runs == ["zero", "zero", "zero_no_policy", "zero_no_policy"]


def test_evaluate_command_writes_tables_and_figure(tmp_path, capsys):
    (tmp_path / "small.toml").write_text(SMALL.format(name="small"))
    design = tmp_path / "ev.toml"
    design.write_text('name = "ev"\nkind = "evaluation"\nscenario = "small.toml"\n'
                      'replications = 2\noutcomes = ["employment"]\n'
                      'estimators = ["naive", "twfe"]\n')
    assert main(["evaluate", str(design), "--out", str(tmp_path / "out"), "-j", "1",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Estimators against the true effect" in out
    tables = tmp_path / "out" / "ev" / "tables"
    for name in ("true_effects", "aggregate_effects", "additionality", "cost_per_outcome",
                 "estimators"):
        df = pd.read_csv(tables / f"{name}.csv")
        assert len(df), name
    assert (tables / "estimators.png").exists()
    est = pd.read_csv(tables / "estimators.csv")
    assert np.isfinite(est["bias"]).all()
    # resuming: nothing runs again, the same tables come back
    assert main(["evaluate", str(design), "--out", str(tmp_path / "out"), "-j", "1",
                 "--quiet"]) == 0
    pd.testing.assert_frame_equal(est, pd.read_csv(tables / "estimators.csv"))


def test_bad_evaluation_design_is_refused(tmp_path, capsys):
    design = tmp_path / "ev.toml"
    design.write_text('name = "ev"\nkind = "evaluation"\nscenario = "baseline"\n'
                      'treatment = "members"\nreplicas = 3\n')
    assert main(["evaluate", str(design), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "treatment" in err and "replicas" in err


def test_parameter_draws_are_shared_and_reported_side_by_side(tmp_path):
    from sim.experiment.draws import draw_parameters, uncertainty_of
    from sim.loader import load_scenario

    sc = load_scenario(None)
    unc = uncertainty_of(sc)
    a, b = draw_parameters(unc, 3, 0), draw_parameters(unc, 3, 0)
    assert a == b and a != draw_parameters(unc, 3, 1)  # keyed by (seed, replication)
    assert set(a) == set(unc) and isinstance(a["policy.evaluation.min_members"], int)
    (tmp_path / "small.toml").write_text(SMALL.format(name="small"))
    res = run_evaluation(_design(tmp_path, "small.toml", "none", parameter_draws=2,
                                 estimators=["naive"], outcomes=["employment"]),
                         tmp_path, tmp_path / "out", workers=1, progress=False, figure=False)
    iv = res.tables["intervals"]
    assert {"mean_noise", "ci_low_params", "n_params"} <= set(iv.columns)
    assert (iv.loc[iv["table"] == "true_effect", "n_params"] == 2).all()
    runs = pd.read_parquet(res.folder / "runs.parquet")
    assert set(runs["variant"]) == {"small", "small_no_policy", "small+params",
                                    "small_no_policy+params"}


def test_compare_with_parameter_draws(tmp_path, capsys):
    (tmp_path / "a.toml").write_text(SMALL.format(name="a"))
    (tmp_path / "b.toml").write_text(SMALL.format(name="b") + "[policy.poles]\nenabled = false\n")
    assert main(["compare", str(tmp_path / "a.toml"), str(tmp_path / "b.toml"), "--reps", "3",
                 "--parameter-draws", "3", "--out", str(tmp_path / "out"), "-j", "1",
                 "--quiet", "--indicators", "members_total", "--years", "2012"]) == 0
    out = capsys.readouterr().out
    assert "with parameter uncertainty" in out
    t = pd.read_csv(next((tmp_path / "out").glob("*/compare_parameters.csv")))
    assert list(t["variant"]) == ["a", "b"] and t["diff_params"].notna().iloc[1]
