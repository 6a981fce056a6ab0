"""Experiment designs that are wrong are refused with precise messages before anything runs.

Each bad design in ``tests/data/designs/bad_*.toml`` is checked twice: through
:func:`sim.experiment.load_design` (the list of errors) and through ``clustersim sweep`` (exit
status 2, the message on stderr, and no store folder created).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import main
from sim.experiment import load_design
from sim.loader import ScenarioError

DESIGNS = Path(__file__).resolve().parent / "data" / "designs"

# file -> one tuple of fragments per expected error (each error must contain all its fragments)
BAD = {
    "bad_unknown_key.toml": [("replicatons: unknown key", "did you mean 'replications'?")],
    "bad_unknown_lever_key.toml": [("lever[0].uper: unknown key", "did you mean 'upper'?")],
    "bad_unknown_indicator.toml": [("indicators[1]: unknown indicator 'members_totl'",)],
    "bad_lever_path.toml": [("lever[0].path: 'policy.animation.subsidy'",
                             "is not a numeric parameter of the scenario schema")],
    "bad_lever_bounds.toml": [("lever[0].upper: 1.5 is outside the schema's bounds (must be at most 1.0)",)],
    "bad_lever_values_bounds.toml": [("lever[0].", "0.0 is outside the schema's bounds (must be at least 1)")],
    "bad_compare_one.toml": [("scenarios: a comparison needs at least two scenarios",)],
    "bad_sweep_no_lever.toml": [("lever: a sweep needs at least one lever",)],
    "bad_sensitivity_grid.toml": [("sampler.method: a sensitivity analysis samples with sobol "
                                   "or morris",)],
    "bad_missing_scenario.toml": [("scenarios[1]: ", "does_not_exist.toml: cannot read the file",
                                   "No such file")],
    "bad_missing_base.toml": [("base: ", "does_not_exist.toml: cannot read the file")],
    "bad_invalid_scenario.toml": [("scenarios[1]: ", "invalid_scenario.toml: "
                                   "behaviour.membership.leave_rate: Input should be less than "
                                   "or equal to 1 (got 1.5)",)],
    "bad_nan.toml": [("lever[0].lower: Input should be a finite number",
                      "NaN and infinity are refused")],
    "bad_type.toml": [("replications: Input should be a valid integer", "(got '30')")],
    # issue 13
    "bad_int_lever_grid.toml": [(
        "lever[0]: a grid of 4 levels from 1 to 3 falls between whole numbers (1.667), and "
        "policy.evaluation.period_years is an integer parameter; give its values "
        "(values = [...])",)],
    "bad_name_dotdot.toml": [(
        "name: expected a plain file name (it names a folder of the output): letters, digits, "
        "'_', '-' and '.', not starting with '.' or '-', at most 80 characters (got '..')",)],
    "bad_name_dot.toml": [(
        "name: expected a plain file name (it names a folder of the output): letters, digits, "
        "'_', '-' and '.', not starting with '.' or '-', at most 80 characters (got '.')",)],
    "bad_base_misspelt.toml": [("base: no embedded scenario 'baselin'; did you mean "
                                "'baseline'? (embedded: animation_competitive,",)],
}

# several errors of one file, all reported in one go (exact lines)
SEVERAL = {
    "bad_int_lever_values.toml": [
        "lever[0].values[0]: 2.5 is not a whole number, and policy.evaluation.period_years is "
        "an integer parameter (it would run as 2)",
        "lever[0].values[1]: 3.7 is not a whole number, and policy.evaluation.period_years is "
        "an integer parameter (it would run as 4)"],
    "bad_two_typos.toml": [
        "indicators[0]: unknown indicator 'members_totl'; did you mean 'members_total'? (see "
        "`clustersim indicators`)",
        "lever[0].path: 'policy.animation.subsidy_eur_per_yer' is not a numeric parameter of the "
        "scenario schema; did you mean 'policy.animation.subsidy_eur_per_year'? (see "
        "sim.scenario.parameter_bounds())"],
}


def refuse(name: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_design(DESIGNS / name)
    return info.value


def test_every_bad_design_file_is_in_the_table():
    listed = set(BAD) | set(SEVERAL) | {"bad_several.toml", "bad_years_outside_horizon.toml",
                                        "bad_exclusive_bound.toml"}
    assert {p.name for p in DESIGNS.glob("bad_*.toml")} == listed


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_design_is_refused_with_precise_errors(name: str):
    exc = refuse(name)
    assert exc.source == str(DESIGNS / name)
    expected = BAD[name]
    assert len(exc.errors) == len(expected), exc.errors
    for error, fragments in zip(exc.errors, expected, strict=True):
        for frag in fragments:
            assert frag in error, (frag, error)


@pytest.mark.parametrize("name", sorted(BAD))
def test_cli_refuses_bad_design_before_anything_runs(name: str, tmp_path: Path, capsys):
    out = tmp_path / "out"
    rc = main(["sweep", str(DESIGNS / name), "--out", str(out), "-j", "1", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{DESIGNS / name}: 1 error(s)" in err
    for frag in BAD[name][0]:
        assert frag in err
    assert "Traceback" not in err
    assert not out.exists(), "a refused design must not create a store"


def test_cli_sensitivity_command_refuses_bad_design_too(tmp_path: Path, capsys):
    out = tmp_path / "out"
    rc = main(["sensitivity", str(DESIGNS / "bad_sensitivity_grid.toml"), "--out", str(out),
               "--quiet"])
    assert rc == 2
    assert "sampler.method" in capsys.readouterr().err
    assert not out.exists()


def test_empty_design_file_is_refused(tmp_path: Path):
    p = tmp_path / "empty.toml"
    p.write_text("# nothing\n")
    with pytest.raises(ScenarioError) as info:
        load_design(p)
    assert info.value.source == str(p)
    assert "the file is empty" in info.value.errors[0]


def test_good_designs_of_the_repository_load():
    root = Path(__file__).resolve().parents[1]
    from sim.evaluation.evaluate import load_evaluation

    for p in sorted((root / "experiments").glob("*.toml")):
        evaluation = 'kind = "evaluation"' in p.read_text()  # clustersim evaluate's designs
        design, folder = (load_evaluation if evaluation else load_design)(p)
        assert design.name == p.stem and folder == p.parent


def test_several_design_problems_are_separate_errors():
    exc = refuse("bad_several.toml")
    assert exc.errors == ["base: a sweep needs a base scenario",
                          "lever: a sweep needs at least one lever"]


def test_years_outside_the_scenarios_horizon_are_refused():
    exc = refuse("bad_years_outside_horizon.toml")
    assert any(e.startswith("years") and "2012" in e for e in exc.errors), exc.errors


def test_lever_range_touching_an_exclusive_bound_is_refused_by_the_design():
    exc = refuse("bad_exclusive_bound.toml")
    assert exc.source == str(DESIGNS / "bad_exclusive_bound.toml")
    assert any(e.startswith("lever[0].lower") for e in exc.errors), exc.errors


def test_grid_values_outside_bounds_name_the_values_key():
    exc = refuse("bad_lever_values_bounds.toml")
    assert exc.errors[0].startswith("lever[0].values"), exc.errors


def test_cli_compare_refuses_a_single_scenario_cleanly(tmp_path: Path, capsys):
    out = tmp_path / "out"
    rc = main(["compare", str(DESIGNS / "short.toml"), "--reps", "2", "--out", str(out),
               "-j", "1", "--quiet"])
    assert rc == 2
    assert "scenarios: a comparison needs at least two scenarios" in capsys.readouterr().err
    assert not out.exists()


def test_cli_compare_refuses_an_unknown_indicator_cleanly(tmp_path: Path, capsys):
    out = tmp_path / "out"
    rc = main(["compare", str(DESIGNS / "short.toml"), str(DESIGNS / "short_halved.toml"),
               "--indicators", "nope", "--reps", "2", "--out", str(out), "-j", "1", "--quiet"])
    assert rc == 2
    assert "indicators[0]: unknown indicator 'nope'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("name", sorted(SEVERAL))
def test_every_problem_of_a_design_is_reported_at_once(name: str):
    assert refuse(name).errors == SEVERAL[name]


@pytest.mark.parametrize("name", ["bad_name_dot.toml", "bad_name_dotdot.toml"])
def test_a_design_named_dot_or_dotdot_writes_nothing_anywhere(name: str, tmp_path: Path,
                                                              capsys):
    """``name = ".."`` wrote the store into the parent of --out, whose consolidation then
    deleted files there; now nothing is written, and the neighbours are untouched."""
    out = tmp_path / "out"
    out.mkdir()
    mine = {tmp_path / "parts" / "mine.parquet": b"not the store's",
            tmp_path / ".hidden.tmp": b"mine", out / "keep.txt": b"mine"}
    for f, data in mine.items():
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(data)
    before = sorted(p for p in tmp_path.rglob("*"))
    assert main(["sweep", str(DESIGNS / name), "--out", str(out), "-j", "1", "--quiet"]) == 2
    assert "name: expected a plain file name" in capsys.readouterr().err
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert all(f.read_bytes() == data for f, data in mine.items())


def test_a_scenario_given_as_a_design_says_what_it_is(tmp_path: Path, capsys):
    path = DESIGNS / "short.toml"
    assert main(["sweep", str(path), "--out", str(tmp_path), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"{path}: 1 error(s)\n  (top level): this is a scenario file (it has 'time'), not a "
        "design file; use it with `clustersim run FILE` or `clustersim check FILE`\n")
