"""Bad scenario files are refused with precise messages; good ones and overrides load.

Every file in ``tests/data/bad_scenarios/`` holds one defect (``several_errors.toml`` holds eight).
Each case below lists the errors the loader must report: every tuple of substrings has to
occur together in one entry of ``ScenarioError.errors`` (dotted path, what was expected, the
value given), and there must be exactly that many entries.  ``str(error)`` must start with the
file's path.

The tests at the end pin problems found in the loader's first version (checks across blocks
merged, lost or mis-addressed; duplicate keys not named; overrides through a list crashing;
cycle messages with resolved paths), fixed since.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from sim.loader import ScenarioError, embedded_path, load_scenario, set_path
from sim.scenario import Scenario

DATA = (Path(__file__).parent / "data").resolve()  # the cycle message shows resolved paths
BAD = DATA / "bad_scenarios"
GOOD_VARIANT = DATA / "no_evaluation.toml"

# Substrings common to the messages.
LE1 = "Input should be less than or equal to 1"
GE0 = "Input should be greater than or equal to 0"
FINITE = "Input should be a finite number (NaN and infinity are refused)"
NUMBER = "Input should be a valid number"
INTEGER = "Input should be a valid integer"
UNKNOWN = "unknown key"

# (file, [tuple of substrings expected together in one error, ...], exact?)
# exact: exactly one error entry per tuple.  Not exact (two rows only, both pinned by xfails
# below): at least these errors, possibly merged into one entry.
CASES: list[tuple[str, list[tuple[str, ...]], bool]] = [
    # --- typos at every nesting level -----------------------------------------------------
    ("typo_top_level.toml",
     [("nmae: ", UNKNOWN, "did you mean 'name'?", "allowed here: behaviour, calibration, clusters")], True),
    ("typo_policy.toml",
     [("policy.evalution: ", UNKNOWN, "did you mean 'evaluation'?",
       "allowed here: animation, evaluation, international, poles")], True),
    ("typo_policy_animation.toml",
     [("policy.animation.taper_per_yaer: ", UNKNOWN, "did you mean 'taper_per_year'?",
       "taper_floor, taper_per_year")], True),
    ("typo_policy_poles.toml",
     [("policy.poles.budget_rd_meru: ", UNKNOWN, "did you mean 'budget_rd_meur'?")], True),
    ("typo_poles_call.toml",
     [("policy.poles.calls[0].quater: ", UNKNOWN, "did you mean 'quarter'?",
       "allowed here: quarter, year")], True),
    ("typo_behaviour_partnering.toml",
     [("behaviour.partnering.candidats: ", UNKNOWN, "did you mean 'candidates'?")], True),
    ("typo_world_sector.toml",
     [("world.sectors[0].firmz: ", UNKNOWN, "did you mean 'firms'?",
       "knowledge_intensity")], True),
    ("typo_cluster.toml",
     [("clusters[0].founderz: ", UNKNOWN, "did you mean 'founders'?",
       "allowed here: founders, launch_quarter, launch_year, name, sectors")], True),
    # --- out of bounds ----------------------------------------------------------------------
    ("negative_budget.toml",
     [("policy.poles.budget_rd_meur: ", GE0, "(got -5.0)")], True),
    ("probability_above_one.toml",
     [("behaviour.partnering.discovery_base: ", LE1, "(got 1.5)")], True),
    ("probability_below_zero.toml",
     [("behaviour.projects.innovation_prob: ", GE0, "(got -0.1)")], True),
    # --- NaN and infinity -------------------------------------------------------------------
    ("nan_value.toml",
     [("policy.animation.taper_floor: ", FINITE, "(got nan)")], True),
    ("inf_value.toml",
     [("world.productivity_mean: ", FINITE, "(got inf)")], True),
    ("neg_inf_for_int.toml",
     [("time.start_year: ", INTEGER, "(NaN and infinity are refused)", "(got -inf)")], True),
    # --- wrong types (strict: nothing is coerced) -------------------------------------------
    ("string_for_number.toml",
     [("policy.animation.subsidy_eur_per_year: ", NUMBER, "(got '150000')")], True),
    ("list_for_scalar.toml",
     [("policy.poles.budget_rd_meur: ", NUMBER, "(got [120.0])")], True),
    ("float_for_int.toml",
     [("policy.evaluation.period_years: ", INTEGER, "(got 3.0)")], True),
    ("table_for_number.toml",
     [("policy.poles.budget_training_meur: ", NUMBER, "(got a table: {'value': 55.0})")], True),
    ("bool_for_int.toml",
     [("clusters[0].founders: ", INTEGER, "(got True)")], True),
    ("scalar_for_table.toml",
     [("policy: ", "Input should be a valid dictionary or instance of Policy", "(got 5)")], True),
    # --- base resolution --------------------------------------------------------------------
    ("missing_base.toml",
     [("base: ", "no scenario 'does_not_exist'", "looked for",
       str(BAD / "does_not_exist.toml"), str(embedded_path("does_not_exist")))], True),
    ("base_not_a_string.toml",
     [("base: ", "expected the name or path of a scenario (a non-empty string)", "got 5")], True),
    ("cycle_a.toml",
     [("base: ", "the chain of bases is a cycle",
       f"{BAD / 'cycle_a.toml'} -> {BAD / 'cycle_b.toml'} -> {BAD / 'cycle_a.toml'}")], True),
    ("cycle_b.toml",
     [("base: ", "the chain of bases is a cycle",
       f"{BAD / 'cycle_b.toml'} -> {BAD / 'cycle_a.toml'} -> {BAD / 'cycle_b.toml'}")], True),
    ("self_base.toml",
     [("base: ", "the chain of bases is a cycle",
       f"{BAD / 'self_base.toml'} -> {BAD / 'self_base.toml'}")], True),
    # --- empty, incomplete or unparsable files ----------------------------------------------
    ("empty.toml",
     [("the file is empty", "`name`", "`[world]`", "`base`")], True),
    ("no_world.toml",
     [("world: ", "required key is missing")], True),
    ("syntax_error.toml",
     [("TOML syntax error: ", "Expected ']' at the end of a table declaration",
       "line 4, column 18")], True),
    ("duplicate_key.toml",
     [("TOML syntax error: ", "Cannot overwrite a value", "line 6", "'period_years = 4'")], True),
    ("duplicate_table.toml",
     [("TOML syntax error: ", "Cannot declare ('policy', 'evaluation') twice", "line 7")], True),
    # --- cross-field checks -----------------------------------------------------------------
    ("unknown_sector.toml",
     [("clusters[0].sectors[0]: ", "unknown sector 'biotech'",
       "expected one of ['aeronautics', 'automotive',")], True),
    ("effort_shares.toml",
     [("policy.animation.effort_*: ", "the six effort shares must add up to 1",
       "they add up to 1.1")], True),
    ("end_before_start.toml",
     [("time.end_year: ", "2003 is before start_year (2005)")], True),
    ("durations_inverted.toml",
     [("behaviour.projects.duration_max: ", "14 is below duration_min (20)")], True),
    # --- several errors at once: all eight must be reported together -------------------------
    ("several_errors.toml",
     [("nmae: ", UNKNOWN, "did you mean 'name'?"),
      ("time.end_year: ", "2003 is before start_year (2005)"),
      ("world.productivity_mean: ", FINITE, "(got nan)"),
      ("behaviour.partnering.discovery_base: ", LE1, "(got 1.5)"),
      ("policy.animation.effort_*: ", "effort shares must add up to 1", "they add up to 1.1"),
      ("policy.evaluation.period_years: ", INTEGER, "(got 3.0)"),
      ("policy.international.tender_subsidy_eur: ", NUMBER, "(got '24000')"),
      ("policy.poles.budget_rd_meur: ", GE0, "(got -5.0)")], True),
    ("field_and_cross_errors.toml",
     [("policy.poles.budget_rd_meur: ", GE0, "(got -5.0)"),
      ("clusters[0].sectors[0]: ", "unknown sector 'biotech'")], True),
    ("two_unknown_sectors.toml",
     [("clusters[0].sectors[0]: ", "unknown sector 'biotech'"),
      ("clusters[0].sectors[1]: ", "unknown sector 'nano'")], True),
    # --- issue 13: each of these crashed, hung or was silently accepted; exact messages in
    # EXACT below ----------------------------------------------------------------------------
    ("name_list.toml", [("clusters[0].name: ",)], True),
    ("sector_name_table.toml", [("world.sectors[0].name: ",)], True),
    ("calibration_too_long.toml", [("calibration: ",)], True),
    ("calibration_empty.toml", [("calibration: ",)], True),
    ("calibration_not_a_name.toml", [("calibration: ",)], True),
    ("deep_arrays.toml", [("policy.poles.x: ",)], True),
    ("deep_tables.toml", [("y: ",)], True),
    ("deep_twenty.toml", [("world.z[0]",)], True),
    ("province_weights_overflow.toml", [("world.province_weights: ",)], True),
    ("scale_no_actor.toml", [("run.scale: ",)], True),
    ("launch_before_start.toml", [(f"clusters[{i}].launch_year: ",) for i in range(4)], True),
    ("base_misspelt.toml", [("base: ",)], True),
    ("a_design.toml", [("(top level): ",)], True),
]

# The whole error lines of the issue-13 cases (``{BAD}`` and ``{EMBEDDED}`` are the folders of
# the corpus and of the embedded scenarios).
EXACT: dict[str, list[str]] = {
    "name_list.toml": ["clusters[0].name: Input should be a valid string (got ['x'])"],
    "sector_name_table.toml": [
        "world.sectors[0].name: Input should be a valid string (got a table: {'a': 1})"],
    "calibration_too_long.toml": [
        "calibration: String should have at most 1000 characters (got '" + "a" * 76 + "...)"],
    "calibration_empty.toml": [
        'calibration: expected the name of a calibrated-parameters file shipped in '
        'calibration/ (such as "calibrated") or a path ending in .toml, got an empty string, '
        "which would drop the calibrated parameters (leave the key out to use the schema's "
        "defaults)"],
    "calibration_not_a_name.toml": [
        "calibration: expected the name of a file shipped in calibration/ (letters, digits, "
        "'_', '-', '.') or a path ending in .toml (got '../../etc/passwd')"],
    "deep_arrays.toml": [
        "policy.poles.x: arrays or tables nested more than 16 levels deep (line 4)"],
    "deep_tables.toml": ["y: arrays or tables nested more than 16 levels deep (line 3)"],
    "deep_twenty.toml": [
        "world.z" + "[0]" * 15 + ": arrays or tables nested more than 16 levels deep"],
    "province_weights_overflow.toml": [
        "world.province_weights: the weights add up to more than the largest number ([1e+308, "
        "1e+308, 1e+308, 1e+308, 1e+308]); give shares or weights of a reasonable size, such as "
        "[0.37, 0.30, 0.07, 0.13, 0.13]"],
    "scale_no_actor.toml": [
        "run.scale: 0.0001 leaves no actor (the largest population, 500, rounds to 0 at this "
        "scale)"],
    "launch_before_start.toml": [
        f"clusters[{i}].launch_year: 2001 is before the first simulated year (time.start_year = "
        "2002): the cluster would never launch" for i in range(4)],
    "base_misspelt.toml": [
        "base: no scenario 'baselin'; did you mean 'baseline'? (looked for "
        "{BAD}/baselin.toml, {EMBEDDED}/baselin.toml)"],
    "a_design.toml": [
        "(top level): this is a design file (it has 'kind'), not a scenario file; use it with "
        "`clustersim sweep FILE` (or `sensitivity`)"],
}


def exact(lines: list[str]) -> list[str]:
    embedded = str(embedded_path("baseline").parent)
    return [x.replace("{BAD}", str(BAD)).replace("{EMBEDDED}", embedded) for x in lines]


def refusal(path: Path, **kw: Any) -> ScenarioError:
    """Load ``path`` expecting a refusal; return the error."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kw)
    return info.value


def match_errors(errors: list[str], expected: list[tuple[str, ...]],
                 distinct: bool = True) -> None:
    """Each tuple of substrings must occur together in one entry of ``errors``.

    With ``distinct`` every tuple needs an entry of its own; without, entries may be shared
    (the loader merges some problems into one entry today).
    """
    left = list(errors)
    for parts in expected:
        hits = [e for e in left if all(p in e for p in parts)]
        assert hits, f"no error contains all of {parts!r}; errors were:\n" + "\n".join(errors)
        if distinct:
            left.remove(hits[0])


# ------------------------------------------------------------------------------ the corpus
def test_corpus_matches_the_table():
    files = {p.name for p in BAD.glob("*.toml")}
    assert files == {c[0] for c in CASES}, "every bad file needs a row in CASES and vice versa"
    assert len(files) >= 18
    # A baseline.toml beside the variants would shadow the embedded baseline they extend.
    assert not (BAD / "baseline.toml").exists()
    assert not (DATA / "baseline.toml").exists()


@pytest.mark.parametrize(("name", "expected", "exact"), CASES, ids=[c[0] for c in CASES])
def test_bad_scenario_is_refused_precisely(name: str, expected: list[tuple[str, ...]],
                                           exact: bool):
    path = BAD / name
    err = refusal(path)
    text = str(err)
    assert isinstance(err, ValueError)
    assert err.source == str(path)
    assert text.startswith(f"{path}: {len(err.errors)} error(s)\n"), text
    assert name in text
    for line in err.errors:
        assert f"  {line}" in text
    if exact:
        assert len(err.errors) == len(expected), "\n".join(err.errors)
    match_errors(err.errors, expected, distinct=exact)


@pytest.mark.parametrize("name", sorted(EXACT))
def test_issue_13_cases_give_their_exact_messages(name: str):
    assert refusal(BAD / name).errors == exact(EXACT[name])


def test_several_errors_are_all_reported_together():
    err = refusal(BAD / "several_errors.toml")
    assert len(err.errors) == 8
    assert "8 error(s)" in str(err)
    paths = sorted(e.split(": ", 1)[0] for e in err.errors)
    assert paths == sorted(["time.end_year", "world.productivity_mean",
                            "behaviour.partnering.discovery_base", "policy.animation.effort_*",
                            "policy.evaluation.period_years",
                     "policy.international.tender_subsidy_eur", "policy.poles.budget_rd_meur",
                     "nmae"])


def test_unreadable_file_is_refused():
    path = BAD / "no_such_file.toml"
    err = refusal(path)
    assert str(err).startswith(str(path))
    assert err.errors[0].startswith("cannot read the file")


# ------------------------------------------------------------------------- good scenarios
def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': [{'c': 1}]}} -> {'a.b[0].c': 1}."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: obj}


def differences(a: Scenario, b: Scenario) -> dict[str, tuple[Any, Any]]:
    fa, fb = flatten(a.model_dump()), flatten(b.model_dump())
    return {k: (fa.get(k), fb.get(k)) for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k)}


@pytest.fixture(scope="module")
def baseline() -> Scenario:
    return load_scenario()


def test_embedded_baseline_loads(baseline: Scenario):
    assert isinstance(baseline, Scenario)
    assert baseline.name == "baseline"
    assert (baseline.time.start_year, baseline.time.end_year) == (2001, 2012)
    assert baseline.n_quarters == 48
    assert len(baseline.world.sectors) == 12
    assert len(baseline.clusters) == 12
    assert len(baseline.policy.poles.candidates) == 5
    assert baseline.policy.evaluation.enabled is True
    assert load_scenario(embedded_path("baseline")) == baseline


def test_good_variant_differs_from_baseline_only_where_it_says(baseline: Scenario):
    variant = load_scenario(GOOD_VARIANT)
    assert differences(baseline, variant) == {
        "name": ("baseline", "no_evaluation"),
        "policy.evaluation.enabled": (True, False),
    }


def test_set_path_nested_and_list_index():
    doc: dict[str, Any] = {"world": {"sectors": [{"firms": 1}, {"firms": 2}]}}
    set_path(doc, "world.sectors[1].firms", 9)
    set_path(doc, "policy.animation.taper_per_year", 0.2)  # creates the missing tables
    set_path(doc, "world.province_weights", [1.0] * 5)
    assert doc == {"world": {"sectors": [{"firms": 1}, {"firms": 9}],
                             "province_weights": [1.0] * 5},
                   "policy": {"animation": {"taper_per_year": 0.2}}}
    grid: dict[str, Any] = {"a": [[0, 0], [0, 0]]}
    set_path(grid, "a[1][0]", 5)
    assert grid == {"a": [[0, 0], [5, 0]]}


def test_override_nested_key(baseline: Scenario):
    s = load_scenario(overrides={"policy.animation.taper_per_year": 0.2})
    old = baseline.policy.animation.taper_per_year
    assert old != 0.2
    assert differences(baseline, s) == {"policy.animation.taper_per_year": (old, 0.2)}


def test_override_list_index(baseline: Scenario):
    s = load_scenario(overrides={"world.sectors[0].firms": 7, "clusters[11].founders": 5})
    assert differences(baseline, s) == {
        "world.sectors[0].firms": (baseline.world.sectors[0].firms, 7),
        "clusters[11].founders": (baseline.clusters[11].founders, 5),
    }
    assert load_scenario() == baseline  # overrides never leak into later loads


def test_override_applies_on_top_of_a_variant():
    s = load_scenario(GOOD_VARIANT, overrides={"world.sectors[2].firms": 3,
                                              "policy.evaluation.period_years": 4})
    assert s.name == "no_evaluation"
    assert s.policy.evaluation.enabled is False
    assert s.policy.evaluation.period_years == 4
    assert s.world.sectors[2].firms == 3


OVERRIDE_REFUSALS = [
    ("world.sectors[0].firms", -1, ("world.sectors[0].firms: ", GE0, "(got -1)")),
    ("behaviour.partnering.discovery_base", 1.5,
     ("behaviour.partnering.discovery_base: ", LE1, "(got 1.5)")),
    ("policy.poles.budget_rd_meur", math.nan, ("policy.poles.budget_rd_meur: ", FINITE, "(got nan)")),
    ("policy.evaluation.period_years", "3", ("policy.evaluation.period_years: ", INTEGER, "(got '3')")),
    ("world.sectors[3].large_share", 2.0, ("world.sectors[3].large_share: ", LE1, "(got 2.0)")),
    ("policy.animaton.taper_per_year", 0.1,
     ("policy.animaton: ", UNKNOWN, "did you mean 'animation'?")),
    ("world.sectors[99].firms", 1, ("world.sectors[99].firms: cannot override this path",)),
    ("world.sectors[x].firms", 1, ("world.sectors[x].firms: cannot override this path",)),
    ("name.first", "x", ("name.first: cannot override this path",)),
    # issue 16: behavioural responses left the Region's levers; the old key names the new place
    ("policy.international.tender_effect", 2.0,
     ("policy.international.tender_effect: this key has moved to "
      "behaviour.international.tender_effect",)),
    ("policy.poles.proposal_rate", 0.1,
     ("policy.poles.proposal_rate: this key has moved to behaviour.poles.proposal_rate",)),
]


@pytest.mark.parametrize(("key", "value", "expected"), OVERRIDE_REFUSALS,
                         ids=[o[0] for o in OVERRIDE_REFUSALS])
def test_override_with_bad_value_is_refused(key: str, value: Any, expected: tuple[str, ...]):
    err = refusal(GOOD_VARIANT, overrides={key: value})
    assert str(err).startswith(str(GOOD_VARIANT))
    assert len(err.errors) == 1
    match_errors(err.errors, [expected])


# -------------------------------------------------- problems of the first loader, fixed
def test_cross_check_error_uses_the_loaders_path_format():
    err = refusal(BAD / "unknown_sector.toml")
    assert len(err.errors) == 1
    assert err.errors[0].startswith("clusters[0].sectors[0]: unknown sector 'biotech'"), err.errors
    assert "'description'" not in err.errors[0]  # no dump of the whole document


def test_cross_check_errors_are_reported_with_field_errors():
    err = refusal(BAD / "field_and_cross_errors.toml")
    match_errors(err.errors, [("policy.poles.budget_rd_meur: ", GE0, "(got -5.0)"),
                              ("clusters", "sectors", "unknown sector 'biotech'")])
    assert len(err.errors) == 2


def test_each_cross_check_problem_is_its_own_error():
    err = refusal(BAD / "two_unknown_sectors.toml")
    assert len(err.errors) == 2, err.errors


def test_duplicate_key_message_names_the_key():
    err = refusal(BAD / "duplicate_key.toml")
    assert "period_years" in err.errors[0], err.errors


def test_override_through_a_list_without_index_is_refused_cleanly():
    err = refusal(GOOD_VARIANT, overrides={"world.sectors.name.x": 1})
    assert err.errors == ["world.sectors.name.x: cannot override this path "
                          "('name' is not a table in 'world.sectors.name.x')"]


def test_cycle_error_names_the_path_as_given(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(DATA)
    err = refusal(Path("bad_scenarios/cycle_a.toml"))
    assert err.source == "bad_scenarios/cycle_a.toml"


# ------------------------------------------------- issue 13: files that are not plain TOML
LOOP_MSG = "cannot read the file: Too many levels of symbolic links"


def _in_time(fn, seconds: float = 10.0):
    """Call ``fn`` in a thread; fail (instead of hanging the suite) when it does not return."""
    import threading

    out: dict[str, Any] = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as exc:  # the refusal under test
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still reading after {seconds} s (a FIFO or /dev/zero hangs it)"
    return out


def _loaders():
    from calibration.smm import load_config
    from sim.experiment.design import load_design
    from sim.targets import load_targets

    return {"scenario": load_scenario, "design": load_design, "targets": load_targets,
            "calibration": load_config}


@pytest.fixture()
def odd_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Paths that are not regular TOML files, with the exact error each must give."""
    import os

    (tmp_path / "folder.toml").mkdir()
    os.symlink(tmp_path / "loop_b.toml", tmp_path / "loop_a.toml")
    os.symlink(tmp_path / "loop_a.toml", tmp_path / "loop_b.toml")
    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "huge.toml").write_bytes(b"# " + b"x" * 2_000_000 + b"\n")
    return {
        "directory": (tmp_path / "folder.toml",
                      "not a regular file (a directory): expected a TOML file"),
        "symlink loop": (tmp_path / "loop_a.toml", LOOP_MSG),
        "FIFO": (tmp_path / "fifo.toml",
                 "not a regular file (a FIFO (named pipe)): expected a TOML file"),
        "/dev/zero": (Path("/dev/zero"),
                      "not a regular file (a character device): expected a TOML file"),
        "huge": (tmp_path / "huge.toml",
                 "file is larger than 2000000 bytes; a TOML file of this tool is a few kB"),
    }


@pytest.mark.parametrize("loader", ["scenario", "design", "targets", "calibration"])
@pytest.mark.parametrize("kind", ["directory", "symlink loop", "FIFO", "/dev/zero", "huge"])
def test_a_file_that_is_not_a_regular_toml_file_is_refused_at_once(odd_files, loader, kind):
    path, message = odd_files[kind]
    got = _in_time(lambda: _loaders()[loader](path))
    err = got.get("error")
    assert isinstance(err, ScenarioError), got
    assert err.source == str(path) and err.errors == [message]


@pytest.mark.parametrize("kind", ["directory", "symlink loop", "FIFO", "/dev/zero"])
def test_a_base_that_is_not_a_regular_file_is_refused(odd_files, tmp_path: Path, kind):
    target, message = odd_files[kind]
    variant = tmp_path / "variant.toml"
    variant.write_text(f'base = "{target}"\n' if target.suffix == ".toml"
                       else f'base = "{target}.toml"\n')
    if target.suffix != ".toml":  # /dev/zero: reached through a link named .toml
        import os
        os.symlink(target, tmp_path / "zero.toml")
        variant.write_text('base = "zero.toml"\n')
        target = tmp_path / "zero.toml"
    got = _in_time(lambda: load_scenario(variant))
    err = got.get("error")
    assert isinstance(err, ScenarioError), got
    assert err.source == str(variant)
    assert err.errors == [f"base: {target}: {message}"]


def test_a_base_linked_to_a_system_file_does_not_print_its_contents(tmp_path: Path):
    import os

    secret = tmp_path / "shadow"
    secret.write_text("root:SECRET-HASH:19000:0:99999:7:::\n")
    os.symlink(secret, tmp_path / "system.toml")
    variant = tmp_path / "variant.toml"
    variant.write_text('base = "system.toml"\n')
    err = refusal(variant)
    assert err.errors == [f"base: {tmp_path / 'system.toml'}: TOML syntax error: Expected '=' "
                          "after a key in a key/value pair (at line 1, column 5)"]
    assert "SECRET" not in str(err)
    # the file the user named itself does show its offending line
    own = tmp_path / "own.toml"
    own.write_text("root:SECRET-HASH\n")
    assert refusal(own).errors == ["TOML syntax error: Expected '=' after a key in a key/value "
                                   "pair (at line 1, column 5): 'root:SECRET-HASH'"]


def test_a_chain_of_two_thousand_bases_is_refused_without_recursion(tmp_path: Path):
    for i in range(2000):
        (tmp_path / f"b{i}.toml").write_text(f'base = "b{i + 1}"\n' if i < 1999
                                             else 'base = "baseline"\n')
    err = refusal(tmp_path / "b0.toml")
    assert err.errors == ["base: the chain of bases is longer than 32 files (a variant names its "
                          "base, which may name its own, and so on)"]


def test_a_missing_file_suggests_a_near_name(tmp_path: Path):
    (tmp_path / "baseline_2006.toml").write_text('base = "baseline"\n')
    err = refusal(tmp_path / "baseline_2060.toml")
    assert err.errors == ["cannot read the file: No such file or directory; did you mean "
                          "'baseline_2006.toml'?"]


def test_a_calibration_name_the_system_cannot_open_is_one_clear_error(tmp_path: Path):
    variant = tmp_path / "variant.toml"
    name = "a" * 300 + ".toml"
    variant.write_text(f'base = "baseline"\ncalibration = "{name}"\n')
    err = refusal(variant)
    shown = str(tmp_path / name)
    shown = shown if len(shown) <= 200 else shown[:197] + "..."
    assert err.errors == [f"calibration: no calibrated-parameters file {shown} (cannot read the "
                          "file: File name too long)"]


def test_a_scenario_without_any_actor_is_refused(tmp_path: Path):
    over = {f"world.sectors[{i}].{k}": 0 for i in range(12)
            for k in ("firms", "universities", "research_centres", "training_centres")}
    err = refusal(embedded_path("baseline"), overrides=over)
    assert err.errors == ["world.sectors: every population (firms, universities, research and "
                          "training centres) is 0: the scenario has no actor"]


# ------------------------------------------------- issue 13: warnings printed before a run
WARN = DATA / "warn_scenarios"
WARNINGS = {
    "launch_after_end.toml": [
        "clusters: 5 cluster(s) launch after the last simulated year (2003) and never launch in "
        "this run: clusters[7] 'transport_logistics' (2004Q1), clusters[8] 'waste_management' "
        "(2004Q1), clusters[9] 'nutrition' (2004Q1), clusters[10] 'eco_building' (2004Q1) and 1 "
        "more"],
    "calls_before_selection.toml": [
        "policy.poles.calls: 1 call(s) close before the poles are selected (2007Q1), so no pole "
        "can answer them: calls[0] (2006Q4)"],
    "calls_after_end.toml": [
        "policy.poles.calls: 5 call(s) close after the last simulated year (2006) and never "
        "close in this run: calls[1] (2007Q2), calls[2] (2007Q4), calls[3] (2008Q2), calls[4] "
        "(2008Q4) and 1 more"],
    "founders_more_than_firms.toml": [
        "clusters[0].founders: 20 founders, more than the 10 companies of the cluster's sectors "
        "(aeronautics): the cluster starts with every free company of its sectors"],
}


def test_every_warning_file_is_in_the_table():
    assert {p.name for p in WARN.glob("*.toml")} == set(WARNINGS)


@pytest.mark.parametrize("name", sorted(WARNINGS))
def test_what_a_user_may_mean_loads_with_a_warning(name: str):
    from sim.loader import ScenarioWarning

    with pytest.warns(ScenarioWarning) as record:
        load_scenario(WARN / name)
    got = [str(w.message) for w in record if issubclass(w.category, ScenarioWarning)]
    assert got == [f"{WARN / name}: {text}" for text in WARNINGS[name]]


def test_the_shipped_scenarios_load_without_a_warning():
    import warnings

    from sim.loader import ScenarioWarning

    root = Path(__file__).resolve().parents[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        for p in sorted((root / "scenarios").glob("*.toml")):
            load_scenario(p)


# ------------------------------------------------- issue 13: the command line, one line each
def cli(argv: list[str], capsys) -> tuple[int, str]:
    """Run ``clustersim`` in this process: (exit status, stderr)."""
    from sim.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's refusals
        code = exc.code
    return code, capsys.readouterr().err


DESIGNS = DATA / "designs"
COMPARE = DESIGNS / "small_compare.toml"

# (command line, exit status, the exact last line of stderr); {out} is a fresh folder
CLI_CASES = [
    (["validate", "--reps", "0"], 2,
     "clustersim validate: argument --reps: expected an integer from 2 to 1000000 (a 95% "
     "interval needs two) (got '0') (see clustersim validate --help)"),
    (["compare", "a.toml", "b.toml", "--reps", "0"], 2,
     "clustersim compare: argument --reps: expected an integer from 1 to 1000000 (got '0') "
     "(see clustersim compare --help)"),
    (["run", "--seed", "-1"], 2,
     "clustersim run: argument --seed: expected an integer from 0 to 9223372036854775807 (a "
     "root seed) (got '-1') (see clustersim run --help)"),
    (["run", "--replication", "-1"], 2,
     "clustersim run: argument --replication: expected an integer from 0 to 4294967295 (a "
     "replication index) (got '-1') (see clustersim run --help)"),
    (["run", "--seed", str(2**70)], 2,
     "clustersim run: argument --seed: expected an integer from 0 to 9223372036854775807 (a "
     f"root seed) (got '{2**70}') (see clustersim run --help)"),
    (["run", "--seed", "2**70"], 2,
     "clustersim run: argument --seed: expected an integer from 0 to 9223372036854775807 (a "
     "root seed) (got '2**70') (see clustersim run --help)"),
    (["sweep", str(COMPARE), "-j", "0"], 2,
     "clustersim sweep: argument -j/--jobs: expected an integer from 1 to 256 (worker "
     "processes) (got '0') (see clustersim sweep --help)"),
    (["sweep", str(COMPARE), "-j", "-5"], 2,
     "clustersim sweep: argument -j/--jobs: expected an integer from 1 to 256 (worker "
     "processes) (got '-5') (see clustersim sweep --help)"),
    (["sensitivity", str(COMPARE), "--out", "{out}"], 2,
     "  kind: this command runs designs of kind 'sensitivity'; this one is 'compare': run it "
     f"with `clustersim sweep {COMPARE}`"),
    (["check", str(COMPARE)], 2,
     "  (top level): this is a design file (it has 'kind'), not a scenario file; use it with "
     "`clustersim sweep FILE` (or `sensitivity`)"),
    (["run", str(BAD / "probability_above_one.toml"), "--out", "{out}"], 2,
     "  behaviour.partnering.discovery_base: Input should be less than or equal to 1 (got 1.5)"),
    (["check", str(BAD / "probability_above_one.toml")], 2,
     "  behaviour.partnering.discovery_base: Input should be less than or equal to 1 (got 1.5)"),
    (["check", "/dev/zero"], 2, "  not a regular file (a character device): expected a TOML file"),
    (["run", "/dev/zero", "--out", "{out}"], 2,
     "  not a regular file (a character device): expected a TOML file"),
    (["sweep", "/dev/zero", "--out", "{out}"], 2,
     "  not a regular file (a character device): expected a TOML file"),
    (["validate", "--targets", "/dev/zero", "--out", "{out}"], 2,
     "  not a regular file (a character device): expected a TOML file"),
    (["calibrate", "/dev/zero"], 2,
     "  not a regular file (a character device): expected a TOML file"),
    (["figures", "{out}"], 2, "{out}: not an experiment store (no manifest.json)"),
    (["sweep", str(COMPARE), "--scheduler", "nowhere", "--out", "{out}"], 3,
     "--scheduler 'nowhere': expected the address of a Dask scheduler, tcp://host:port (or "
     "tls://host:port)"),
]


@pytest.mark.parametrize(("argv", "code", "last"), CLI_CASES,
                         ids=[" ".join(c[0][:3]) for c in CLI_CASES])
def test_the_command_line_gives_one_clear_line_and_the_same_status(argv, code, last,
                                                                   tmp_path, capsys):
    out = tmp_path / "out"
    argv = [a.replace("{out}", str(out)) for a in argv]
    got, err = cli(argv, capsys)
    assert got == code, err
    assert err.splitlines()[-1] == last.replace("{out}", str(out)), err
    assert "Traceback" not in err
    assert not out.exists() or argv[0] == "figures"


def test_a_scheduler_where_nothing_listens_fails_fast(tmp_path, capsys):
    import socket
    import time

    with socket.socket() as s:  # a port of this machine where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    code, err = cli(["sweep", str(COMPARE), "--scheduler", f"tcp://127.0.0.1:{port}",
                     "--out", str(tmp_path / "out")], capsys)
    assert time.monotonic() - t0 < 10
    assert code == 3
    assert err.splitlines()[-1] == (
        f"--scheduler tcp://127.0.0.1:{port}: no Dask scheduler answers there (Connection "
        "refused); start one bound to this machine only with `dask scheduler --host "
        "127.0.0.1` (README, section Dask), or leave out --scheduler to run on local processes")
    assert not (tmp_path / "out").exists()


def test_an_internal_error_is_one_line_and_its_traceback_only_with_debug(monkeypatch, capsys):
    import sim.cli

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr(sim.cli, "cmd_indicators", broken)
    code, err = cli(["indicators"], capsys)
    assert code == 70
    assert err == ("clustersim: internal error (KeyError: 'boom'); this is a bug of clustersim: "
                   "please report it with the output of the same command run with --debug\n")
    for argv in (["--debug", "indicators"], ["indicators", "--debug"]):
        code, err = cli(argv, capsys)
        assert code == 70
        assert err.startswith("Traceback (most recent call last):") and "KeyError: 'boom'" in err


def test_scenario_warnings_are_printed_once_before_the_run(tmp_path, capsys):
    code, err = cli(["check", str(WARN / "calls_before_selection.toml"),
                     str(WARN / "calls_before_selection.toml")], capsys)
    assert code == 0
    line = (f"warning: {WARN / 'calls_before_selection.toml'}: "
            + WARNINGS["calls_before_selection.toml"][0])
    assert err.splitlines() == [line]


# ----------------------------------------------- calibration files layered in a list (issue 17)
@pytest.mark.parametrize(("value", "expected"), [
    ("[]", "calibration: expected the name of a calibrated-parameters file or a non-empty list "
           "of them, got an empty list (leave the key out to use the schema's defaults)"),
    ('["calibrated", 3]', "calibration[1]: expected the name or path of a calibrated-parameters "
                          "file (a string), got 3"),
    ('["calibrated", "../../etc/passwd"]',
     "calibration[1]: expected the name of a file shipped in calibration/ (letters, digits, "
     "'_', '-', '.') or a path ending in .toml (got '../../etc/passwd')"),
    ('["calibrated", "calibrated"]', "calibration: a file is listed twice"),
])
def test_a_bad_calibration_list_is_refused_item_by_item(tmp_path: Path, value: str,
                                                         expected: str):
    variant = tmp_path / "variant.toml"
    variant.write_text(f'base = "baseline"\ncalibration = {value}\n')
    err = refusal(variant)
    assert expected in err.errors, err.errors


def test_calibration_files_in_a_list_layer_in_order(tmp_path: Path):
    """A later file's value of a key wins over an earlier one's; the scenario's own keys win
    over both; keys only the first sets come from it."""
    (tmp_path / "one.toml").write_text("[parameters]\n\"behaviour.creation.min_founders\" = 7\n"
                                       "\"behaviour.creation.subsidy_weight\" = 2.0\n")
    (tmp_path / "two.toml").write_text("[parameters]\n\"behaviour.creation.min_founders\" = 9\n")
    variant = tmp_path / "variant.toml"
    variant.write_text('base = "baseline"\ncalibration = ["calibrated", "one.toml", "two.toml"]\n')
    sc = load_scenario(variant)
    base = load_scenario(None)
    assert sc.behaviour.creation.min_founders == 9
    assert sc.behaviour.creation.subsidy_weight == 2.0
    assert sc.behaviour.membership == base.behaviour.membership  # from calibrated.toml
    variant.write_text('base = "baseline"\ncalibration = ["one.toml", "two.toml"]\n'
                       '[behaviour.creation]\nmin_founders = 3\n')
    assert load_scenario(variant).behaviour.creation.min_founders == 3


def test_the_creation_keys_of_the_old_recognition_rule_name_their_new_place(tmp_path: Path):
    variant = tmp_path / "old.toml"
    variant.write_text('base = "baseline"\n[policy.rules]\nrecognition = { rule = "bottom_up", '
                       'min_founders = 12, benefit_threshold = 0.6 }\n')
    err = refusal(variant)
    match_errors(err.errors, [
        ("policy.rules.recognition.min_founders: this key has moved to "
         "behaviour.creation.min_founders",),
        ("policy.rules.recognition.benefit_threshold: this key has moved to "
         "behaviour.creation.benefit_threshold",)])


@pytest.mark.parametrize(("value", "expected"), [
    ("3", "calibration: expected the name or path of a calibrated-parameters file, or a list "
          "of them (got 3)"),
    ('["a", {x = 1}]', "calibration[1]: expected the name or path of a calibrated-parameters "
                       "file (a string), got {'x': 1}"),
])
def test_a_calibration_of_a_wrong_type_is_one_error_with_one_path(tmp_path: Path, value: str,
                                                                  expected: str):
    variant = tmp_path / "variant.toml"
    variant.write_text(f'base = "baseline"\ncalibration = {value}\n')
    assert refusal(variant).errors == [expected]
