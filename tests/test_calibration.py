"""Calibration by the simulated method of moments (calibration/smm.py, `clustersim calibrate`).

The tests calibrate a small world (the baseline run to 2006, about 13 ms a run; at
``run.scale = 0.4`` its partnership counts were too few for the targets to pin the initiation
rate, so the identification check passed or failed by the luck of the streams) on targets
simulated from the model itself, so they are fast (about 35 s in all) and deterministic: every
seed is fixed (targets: root seed 777, 40 replications; calibration: root seed 20010101, R = 8
replications, differential evolution seed 1 with 80 candidates, since 40 stopped short of the
minimum on the market economy of issue 16, a profile point of benefit_base fitting 2.2 better;
bootstrap seed 2 with 12 resamples).  The small world reads its own calibrated-parameters file,
so the tests do not depend on what ``calibration/calibrated.toml`` holds.
"""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibration import smm
from sim.cli import main
from sim.experiment.runner import run_batch
from sim.loader import ScenarioError, load_scenario, scenario_hash

ROOT = Path(__file__).resolve().parents[1]
TRUE = {"behaviour.membership.benefit_base": -2.0, "behaviour.partnering.initiate_rate": 0.008}
# (indicator, year, where, relative tolerance)
TARGETS = [
    ("members_total", 2004, {}, 0.10),
    ("members_total", 2006, {}, 0.10),
    ("members_enterprises", 2006, {}, 0.10),
    ("members_enterprises", 2003, {"cohort": 2001}, 0.15),
    ("partnerships_launched_cumulative", 2004, {}, 0.20),
    ("partnerships_launched_cumulative", 2006, {}, 0.10),
    ("partnerships_active", 2006, {}, 0.10),
    ("partnership_members_involved", 2006, {}, 0.10),
]
CONFIG = """
name = "tiny"
scenario = "tiny.toml"
targets = "targets.toml"
replications = 8
seed = 20010101
end_year = 2006
write = "calibrated_tiny.toml"

[[parameter]]
path = "behaviour.membership.benefit_base"
lower = -3.0
upper = -1.0
start = -2.3

[[parameter]]
path = "behaviour.partnering.initiate_rate"
lower = 0.003
upper = 0.013
start = 0.006

[optimizer]
method = "differential_evolution"
population = 8
max_evaluations = 80
seed = 1
local_evaluations = 12

[uncertainty]
method = "bootstrap"
resamples = 12
local_evaluations = 4
seed = 2
"""


def _world(folder: Path) -> Path:
    """A small scenario reading its own calibrated-parameters file; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fixed.toml").write_text(
        '[parameters]\n"behaviour.partnering.accept_threshold" = 0.6\n')
    path = folder / "tiny.toml"
    path.write_text(f'base = "{ROOT / "scenarios" / "baseline.toml"}"\nname = "tiny"\n'
                    'calibration = "fixed.toml"\n[time]\nend_year = 2006\n')
    return path


def _simulated_targets(scenario: Path, out: Path) -> None:
    """Targets = the means of 40 runs (root seed 777) of the small world at TRUE."""
    sc = load_scenario(scenario, overrides=TRUE)
    tasks = [("t", sc.model_dump(mode="json"), scenario_hash(sc), 777, r) for r in range(40)]
    _, blob = run_batch(tasks)
    df = pd.read_parquet(io.BytesIO(blob))
    lines = []
    for ind, year, where, rel in TARGETS:
        by = "/".join(sorted(where)) or "total"
        key = "/".join(str(where[k]) for k in sorted(where))
        v = df[(df.indicator == ind) & (df.year == year) & (df.by == by) & (df.key == key)]
        assert len(v) == 40
        w = ("where = { " + ", ".join(f"{k} = {json.dumps(x)}" for k, x in where.items())
             + " }\n") if where else ""
        lines.append(f'[[target]]\nindicator = "{ind}"\nyear = {year}\n'
                     f'value = {round(float(v["value"].mean()), 1)}\nrel_tolerance = {rel}\n'
                     f'source = "simulated at known parameters"\n{w}')
    out.write_text("\n".join(lines))


def _setup(folder: Path) -> Path:
    scenario = _world(folder)
    _simulated_targets(scenario, folder / "targets.toml")
    cfg = folder / "tiny_calibration.toml"
    cfg.write_text(CONFIG)
    return cfg


@pytest.fixture(scope="module")
def fresh(tiny_calibration) -> tuple[Path, smm.Result]:
    """One uninterrupted calibration of the small world (sequential), run once per session
    (tests/conftest.py)."""
    return tiny_calibration


def test_parameters_are_recovered_within_the_reported_uncertainty(fresh):
    """Targets simulated at known values of two parameters: the calibration finds them
    again, each true value lies in its bootstrap 95% interval and within two standard errors of
    the estimate, their bootstrap intervals are much narrower than the search range, and
    benefit_base is reported identified (initiate_rate's Jacobian interval is wide since the
    market economy, issue 16)."""
    _, res = fresh
    for spec in res.problem.params:
        u = res.uncertainty[spec.path]
        true = TRUE[spec.path]
        assert u["lower"] <= true <= u["upper"], (spec.path, u, true)
        assert abs(res.estimates[spec.path] - true) <= 2 * u["se"], (spec.path, u, true)
        if spec.path == "behaviour.membership.benefit_base":
            assert u["identified"], (spec.path, u)
        else:  # on the market economy (issue 16) initiate_rate's one-step Jacobian interval is
            # wider than its range (measured 2026-12-02: reported "confounded"); its bootstrap
            # interval, checked next, stays under half the range
            assert u["identified"] or "confounded" in u["reason"], (spec.path, u)
        assert (u["upper"] - u["lower"]) < 0.5 * spec.span
        assert np.isfinite(u["se_jacobian"]) and u["se_jacobian"] > 0
    assert res.objective < res.objective_start
    assert len(res.fit) == len(TARGETS)
    assert res.fit["within"].all()  # the model fits its own figures
    assert res.computed == res.evaluations  # nothing was cached before


def test_overidentification_and_profiles_are_reported(fresh):
    """J at the estimate against 100 pseudo-observed data sets (fresh replications at the
    estimate), each re-optimised (never above its J at the estimate); the targets are means of
    40 runs of the model itself, so the model is right and the p-value is not small.  No point
    of a parameter's profile fits much better than the estimate (one that fits better at all is
    flagged), J rises by more than 1 at both ends of each range (the targets pin both down);
    the profiles are written as a table and a PNG, and the report and the
    calibrated-parameters file state J, its weighting and its p-value."""
    cfg, res = fresh
    j = res.jtest
    assert j.statistic == res.objective and j.moments == len(TARGETS) and j.parameters == 2
    assert len(j.draws) == 100 and np.all(j.draws <= j.draws_at_estimate + 1e-9)
    assert 0.05 < j.p_value <= 1 and 0 < j.p_value_at_estimate <= 1
    prof = res.profiles
    for spec in res.problem.params:
        s = prof[prof["parameter"] == spec.path].sort_values("value")
        assert len(s) in (11, 12) and s["at_estimate"].sum() == 1
        assert s["value"].iloc[0] == spec.lower and s["value"].iloc[-1] == spec.upper
        # no grid point fits much better than the estimate (measured 2026-12-02: one grid
        # point of initiate_rate is 0.0045 below it, which the report flags)
        assert s["rise"].min() > -smm.PROFILE_FLAT, s
        assert s["rise"].iloc[0] > 1 and s["rise"].iloc[-1] > 1, s
    out = cfg.parent / "output" / "tiny"
    assert (out / "profiles.png").read_bytes()[:4] == b"\x89PNG"
    assert len(pd.read_csv(out / "profiles.csv")) == len(prof)
    assert len(pd.read_csv(out / "j_draws.csv")) == 100
    text = (out / "report.txt").read_text()
    assert f"Overidentification: J = {res.objective:.4g}" in text
    assert "not the optimal weighting, so J is not chi-square" in text
    assert "simulated p-value" in text and "Profiles of the objective" in text
    assert ("A grid point fits better than the estimate" in text) == bool(
        (prof["rise"] < -1e-12).any())
    doc = tomllib.loads((cfg.parent / "calibrated_tiny.toml").read_text())
    assert doc["overidentification"]["p_value"] == pytest.approx(j.p_value, rel=1e-3)
    assert "not the optimal weighting" in doc["overidentification"]["weighting"]


# evaluations the resumed calibration computes: it resumes from a store holding all but the
# uninterrupted run's last RESUMED evaluations
RESUMED = 15


def test_resume_recomputes_nothing_and_equals_an_uninterrupted_run(fresh, tmp_path, monkeypatch):
    """Interrupted after 15 stored evaluations: the store holds the uninterrupted sequential
    run's first 15 (same keys, same moments) and no calibrated file.  Resumed, with two worker
    processes, from the store an interruption RESUMED evaluations before the end leaves (the
    uninterrupted run's evaluations but its last RESUMED): no stored evaluation is run again,
    only the missing ones are, and the result equals the uninterrupted run's; a third run is
    answered from the store alone.  (Until 2026-12-06 the resumed run started from the 15:
    the same code paths at the cost of a whole second calibration, 25 s of the suite.)"""
    done, ref = fresh
    cfg = _setup(tmp_path / "resumed")
    original = smm.Evaluator._save
    saved: list[str] = []

    def crash_after_15(self, key, *args, **kwargs):
        original(self, key, *args, **kwargs)
        saved.append(key)
        if len(saved) == 15:
            raise KeyboardInterrupt

    monkeypatch.setattr(smm.Evaluator, "_save", crash_after_15)
    with pytest.raises(KeyboardInterrupt):
        smm.calibrate(cfg, workers=1, progress=False)
    monkeypatch.setattr(smm.Evaluator, "_save", original)
    evaluations = Path("output") / "tiny" / "evaluations"
    cache, ref_cache = cfg.parent / evaluations, done.parent / evaluations
    assert len(list(cache.glob("*.json"))) == 15
    assert not (tmp_path / "resumed" / "calibrated_tiny.toml").exists()
    assert saved == ref.computed_keys[:15]

    def moments(folder: Path, key: str) -> list:
        return json.loads((folder / f"{key}.json").read_text())["moments"]

    assert all(moments(cache, k) == moments(ref_cache, k) for k in saved)

    stored = ref.computed_keys[:-RESUMED]
    for key in stored[15:]:
        shutil.copy(ref_cache / f"{key}.json", cache)
    res = smm.calibrate(cfg, workers=2, progress=False)
    assert not set(stored) & set(res.computed_keys)
    assert sorted(res.computed_keys) == sorted(ref.computed_keys[-RESUMED:])
    assert len(list(cache.glob("*.json"))) == ref.computed
    assert res.summary() == ref.summary()
    # and a third run is answered from the cache alone
    again = smm.calibrate(cfg, workers=1, progress=False)
    assert again.computed == 0 and again.summary() == ref.summary()


def test_written_file_is_read_by_a_scenario(fresh, tmp_path):
    """The calibrated-parameters file: [meta], [parameters] (estimates and the values held
    fixed), [uncertainty."path"] and [[fit]]; a scenario whose `calibration` names it runs with
    the estimates."""
    cfg, res = fresh
    written = cfg.parent / "calibrated_tiny.toml"
    doc = tomllib.loads(written.read_text())
    meta = doc["meta"]
    for key in ("config", "targets", "seed", "replications", "objective", "method",
                "uncertainty", "git_commit", "date", "run_seconds", "versions"):
        assert key in meta, key
    assert meta["seed"] == 20010101 and meta["replications"] == 8
    assert meta["objective"] == pytest.approx(res.objective, rel=1e-3)
    assert doc["parameters"]["behaviour.partnering.accept_threshold"] == 0.6  # held fixed
    assert set(doc["uncertainty"]) == set(TRUE)
    for u in doc["uncertainty"].values():
        assert isinstance(u["identified"], bool) and u["se"] > 0 and u["lower"] <= u["upper"]
    assert len(doc["fit"]) == len(TARGETS)

    copy = tmp_path / "elsewhere" / "my_calibration.toml"
    copy.parent.mkdir()
    copy.write_text(written.read_text())
    scen = tmp_path / "uses_it.toml"
    scen.write_text(f'base = "{ROOT / "scenarios" / "baseline.toml"}"\nname = "uses_it"\n'
                    'calibration = "elsewhere/my_calibration.toml"\n')
    sc = load_scenario(scen)
    assert sc.behaviour.membership.benefit_base == res.estimates[
        "behaviour.membership.benefit_base"]
    assert sc.behaviour.partnering.initiate_rate == res.estimates[
        "behaviour.partnering.initiate_rate"]
    # a key the scenario sets itself still wins over the calibration
    scen.write_text(scen.read_text() + "[behaviour.membership]\nbenefit_base = -2.5\n")
    assert load_scenario(scen).behaviour.membership.benefit_base == -2.5


def test_cli_calibrate_reports_from_the_cache(fresh, tmp_path, capsys):
    """`clustersim calibrate` on a finished calibration: everything from the cache, the
    report printed, the file written where --write says."""
    cfg, res = fresh
    out = tmp_path / "cli.toml"
    assert main(["calibrate", str(cfg), "-j", "1", "--quiet", "--write", str(out)]) == 0
    text = capsys.readouterr().out
    assert "0 run now" in text and f"Objective J = {res.objective:.4g}" in text
    assert "Fit at the estimate" in text and "members_total@2004" in text
    assert tomllib.loads(out.read_text())["parameters"] == {
        **res.estimates, "behaviour.partnering.accept_threshold": 0.6}


def test_write_held_false_writes_the_estimates_only(fresh, tmp_path):
    """A file meant to be layered after another in a scenario's `calibration` list carries
    the estimates alone: the values held fixed stay with the file they came from."""
    _cfg, res = fresh
    config = res.problem.config.model_copy(update={"write_held": False})
    layered = dataclasses.replace(res, problem=dataclasses.replace(res.problem, config=config))
    layered.meta = res.meta
    out = tmp_path / "layer.toml"
    smm.write_calibrated(layered, out)
    assert tomllib.loads(out.read_text())["parameters"] == res.estimates
    assert res.held  # what was left out


def test_shipped_configurations_load():
    for name in ("wallonia", "quick", "creation"):
        prob = smm.load_config(ROOT / "calibration" / f"{name}.toml")
        assert prob.config.name == name
    assert smm.load_config(ROOT / "calibration" / "wallonia.toml").write_path == (
        ROOT / "calibration" / "calibrated.toml")
    # the creation process is layered on the baseline's estimates: its file holds its own
    # three parameters only, and the bottom-up scenarios read both files in that order
    creation = smm.load_config(ROOT / "calibration" / "creation.toml")
    assert creation.calibration_files == [ROOT / "calibration" / "calibrated.toml",
                                          ROOT / "calibration" / "calibrated_creation.toml"]
    written = tomllib.loads(creation.write_path.read_text())["parameters"]
    assert sorted(written) == sorted(p.path for p in creation.params)
    for name in ("clusters_bottom_up", "clusters_bottom_up_until_2004",
                 "clusters_bottom_up_replay"):
        sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
        assert sc.behaviour.creation.min_founders == written["behaviour.creation.min_founders"]
        assert sc.behaviour.membership.benefit_base == load_scenario(
            None).behaviour.membership.benefit_base


GOOD = CONFIG.replace('scenario = "tiny.toml"', f'scenario = "{ROOT}/scenarios/baseline.toml"'
                      ).replace('targets = "targets.toml"',
                                f'targets = "{ROOT}/calibration/targets/wallonia_2004_2006.toml"'
                                ).replace("end_year = 2004", "end_year = 2006")
P0 = 'path = "behaviour.membership.benefit_base"\nlower = -3.0\nupper = -1.0\nstart = -2.3'
# (edit of the good config, fragments that one error line must contain)
BAD = {
    "unknown_key": (("replications = 8", "replication = 8"),
                    ["replication: unknown key", "did you mean 'replications'?"]),
    "bad_type": (("replications = 8", 'replications = "8"'),
                 ["replications: Input should be a valid integer", "(got '8')"]),
    "too_few_replications": (("replications = 8", "replications = 1"),
                             ["replications: Input should be greater than or equal to 2"]),
    "not_a_parameter": (("behaviour.membership.benefit_base", "behaviour.membership.benefit"),
                        ["parameter[0].path: 'behaviour.membership.benefit' is not a numeric "
                         "parameter of the scenario schema"]),
    "not_to_be_calibrated": ((P0, 'path = "policy.animation.subsidy_eur_per_year"\n'
                              'lower = 1.0\nupper = 2.0'),
                             ["parameter[0].path: 'policy.animation.subsidy_eur_per_year' is "
                              "not a parameter to be calibrated"]),
    "outside_schema": (("lower = -3.0", "lower = -20.0"),
                       ["parameter[0].lower: -20.0 is outside the schema's bounds (must be at "
                        "least -10.0)"]),
    "inverted": (("lower = -3.0\nupper = -1.0", "lower = -1.0\nupper = -3.0"),
                 ["parameter[0].upper: -3.0 must be above lower (-1.0)"]),
    "start_outside": (("start = -2.3", "start = -4.0"),
                      ["parameter[0].start: -4.0 is outside [lower, upper] = [-3.0, -1.0]"]),
    "integer_bounds": ((P0, 'path = "policy.evaluation.min_members"\nlower = 10.5\nupper = 60'),
                       ["parameter[0].lower: policy.evaluation.min_members is an integer",
                        "whole numbers (got 10.5)"]),
    "twice": (("behaviour.partnering.initiate_rate", "behaviour.membership.benefit_base"),
              ["parameter: a parameter is listed twice: "
               "['behaviour.membership.benefit_base']"]),
    "no_parameter": (("[[parameter]]", "[[parametr]]"),
                     ["parameter: required key is missing"]),
    "method": (('method = "differential_evolution"', 'method = "bfgs"'),
               ["optimizer.method: Input should be 'differential_evolution' or "
                "'nelder-mead'"]),
    "uncertainty_method": (('method = "bootstrap"', 'method = "abc"'),
                           ["uncertainty.method: Input should be 'bootstrap'"]),
    "missing_scenario": ((f'{ROOT}/scenarios/baseline.toml', f"{ROOT}/scenarios/nope.toml"),
                         ["scenario: ", "nope.toml: cannot read the file"]),
    "missing_targets": (("wallonia_2004_2006.toml", "nope.toml"),
                        ["targets: ", "nope.toml: cannot read the file"]),
    "years_outside": (("end_year = 2006", "end_year = 2003"),
                      ["targets: ", "@2004) is outside the simulated years 2001-2003 (see "
                       "end_year)"]),
    "write_not_toml": (('write = "calibrated_tiny.toml"', 'write = "out.txt"'),
                       ["write: expected a path ending in .toml (got 'out.txt')"]),
    # issue 13: every file a calibration writes lies inside the configuration's folder
    "write_absolute": (('write = "calibrated_tiny.toml"', 'write = "/tmp/calibrated.toml"'),
                       ["write: expected a path relative to the configuration's folder, inside "
                        "it (no absolute path, no '..'), got '/tmp/calibrated.toml'"]),
    "write_up": (('write = "calibrated_tiny.toml"', 'write = "../../calibrated.toml"'),
                 ["write: expected a path relative to the configuration's folder, inside it "
                  "(no absolute path, no '..'), got '../../calibrated.toml'"]),
    "output_up": (('write = "calibrated_tiny.toml"',
                   'write = "calibrated_tiny.toml"\noutput = "../elsewhere"'),
                  ["output: expected a path relative to the configuration's folder, inside it "
                   "(no absolute path, no '..'), got '../elsewhere'"]),
    "name_dotdot": (('name = "tiny"', 'name = ".."'),
                    ["name: expected a plain file name (it names a folder of the output): "
                     "letters, digits, '_', '-' and '.', not starting with '.' or '-', at most "
                     "80 characters (got '..')"]),
    "parameter_typo": (("behaviour.membership.benefit_base", "behaviour.membership.benefit_bse"),
                       ["parameter[0].path: 'behaviour.membership.benefit_bse' is not a numeric "
                        "parameter of the scenario schema, did you mean "
                        "'behaviour.membership.benefit_base'?"]),
}


def test_a_calibration_cannot_write_through_a_link_out_of_its_folder(tmp_path, capsys):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "link").symlink_to(tmp_path)
    f = tmp_path / "cfg" / "linked.toml"
    f.write_text(GOOD.replace('write = "calibrated_tiny.toml"', 'write = "link/evil.toml"'))
    with pytest.raises(ScenarioError) as info:
        smm.load_config(f)
    assert info.value.errors == [f"write: 'link/evil.toml' leads outside the configuration's "
                                 f"folder {tmp_path / 'cfg'} (through a link); write inside it"]


def test_the_good_configuration_loads(tmp_path):
    f = tmp_path / "good.toml"
    f.write_text(GOOD)
    assert smm.load_config(f).config.name == "tiny"


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_configuration_is_refused_with_a_precise_message(case, tmp_path, capsys):
    (old, new), fragments = BAD[case]
    assert old in GOOD, case
    f = tmp_path / f"{case}.toml"
    f.write_text(GOOD.replace(old, new))
    with pytest.raises(ScenarioError) as info:
        smm.load_config(f)
    assert info.value.source == str(f)
    assert any(all(frag in e for frag in fragments) for e in info.value.errors), (
        info.value.errors)
    # the command says the same, exits with status 2 and starts nothing
    assert main(["calibrate", str(f), "-j", "1", "--quiet"]) == 2
    assert fragments[0] in capsys.readouterr().err
    assert not (tmp_path / "output").exists()


def test_empty_configuration_is_refused(tmp_path):
    f = tmp_path / "empty.toml"
    f.write_text("")
    with pytest.raises(ScenarioError, match="the file is empty"):
        smm.load_config(f)


def test_cache_keys_change_with_the_model(fresh, monkeypatch):
    """An evaluation cached by another version of the model (its code, NumPy or Numba) is not
    reused: the model's fingerprint is part of every cache key."""
    _, res = fresh
    ev = smm.Evaluator(res.problem, smm.SequentialExecutor())
    values = dict(res.estimates)
    key_now, _ = ev.key_of(values, ev.reps())
    assert key_now in res.computed_keys or (ev.folder / f"{key_now}.json").exists()
    monkeypatch.setattr(smm, "model_fingerprint", lambda: "another-model")
    other = smm.Evaluator(res.problem, smm.SequentialExecutor())
    key_other, _ = other.key_of(values, other.reps())
    assert key_other != key_now
    assert other._load(key_other) is None


def test_calibrate_installs_only_when_asked(tiny_calibration, tmp_path, capsys):
    """`calibrate` without --install writes the calibrated file to the output folder only;
    with it, to the file the configuration's `write` names too (the command line's friction
    list, issue 18).  The small world in a new folder, with the evaluations of the session's
    calibration of it copied in (tests/conftest.py), so that neither command recomputes them
    (checked)."""
    done, _ = tiny_calibration
    cfg = _setup(tmp_path)
    evaluations = Path("output") / "tiny" / "evaluations"
    shutil.copytree(done.parent / evaluations, cfg.parent / evaluations)
    doc = tomllib.loads(cfg.read_text())
    installed = cfg.parent / doc.get("write", "calibrated.toml")
    output = cfg.parent / doc.get("output", "output") / doc["name"] / "calibrated.toml"
    assert main(["calibrate", str(cfg), "-j", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert output.is_file() and not installed.exists()
    assert "--install" in text and "unchanged" in text and "0 run now" in text
    assert main(["calibrate", str(cfg), "-j", "1", "--quiet", "--install"]) == 0
    assert "0 run now" in capsys.readouterr().out  # from the cache
    assert (tomllib.loads(installed.read_text())["parameters"]
            == tomllib.loads(output.read_text())["parameters"])
