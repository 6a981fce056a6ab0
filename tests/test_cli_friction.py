"""The command line's friction list of issue 18 (section 6): help texts, embedded scenario names,
progress bars in logs, ``validate --quiet``, the two-command set-up (``calibrate --install`` is
tested in tests/test_calibration.py)."""

from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import pytest

from sim import cli
from sim.progress import LineProgress, progress_bar

ROOT = Path(__file__).resolve().parents[1]


def _subparsers(parser):
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


def test_top_level_help_lists_every_subcommand_without_raw_markup():
    parser = cli.build_parser()
    text = parser.format_help()
    assert "``" not in text
    for name in _subparsers(parser):
        assert re.search(rf"^\s+{name}\s+\S", text, re.M), f"{name} missing from --help"


def test_every_positional_argument_is_documented():
    for name, sub in _subparsers(cli.build_parser()).items():
        for action in sub._actions:
            if not action.option_strings:
                assert action.help and len(action.help) > 20, (name, action.dest)
        assert "``" not in sub.format_help()
    subs = _subparsers(cli.build_parser())
    assert "experiments/animation_sweep.toml" in subs["sweep"].format_help()
    assert "experiments/output/" in subs["figures"].format_help()
    assert "scenarios/*.toml" in subs["check"].format_help()


def test_compare_help_names_the_default_indicators():
    text = " ".join(_subparsers(cli.build_parser())["compare"].format_help().split())
    for name in cli.DEFAULT_COMPARE_INDICATORS:
        assert name in text.replace(" ", "")


def test_compare_accepts_embedded_scenario_names(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(cli, "_execute", lambda design, args, folder=None: seen.setdefault(
        "design", design) and 0)
    monkeypatch.chdir(tmp_path)  # no file named baseline here
    assert cli.main(["compare", "baseline", "no_evaluation", "--reps", "2"]) == 0
    design = seen["design"]
    assert design.scenarios == ["baseline", "no_evaluation"]
    assert design.name == "compare-baseline-vs-no_evaluation"
    # a file still goes by its absolute path
    f = ROOT / "scenarios" / "animation_halved.toml"
    seen.clear()
    assert cli.main(["compare", "baseline", str(f), "--reps", "2"]) == 0
    assert seen["design"].scenarios[1] == str(f)


def test_compare_refuses_an_unknown_name_with_a_suggestion(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["compare", "baseline", "no_evaluaton", "--reps", "2"]) == 2
    err = capsys.readouterr().err
    assert "no_evaluaton" in err and "did you mean 'no_evaluation'" in err


def test_scenario_ref_prefers_a_file_and_knows_embedded_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.scenario_ref("baseline").name == "baseline.toml"
    assert cli.scenario_ref("baseline").is_file()
    assert cli.scenario_ref("nope") == Path("nope")
    (tmp_path / "baseline").write_text("")
    assert cli.scenario_ref("baseline") == Path("baseline")


def test_check_accepts_an_embedded_name(capsys):
    assert cli.main(["check", "no_evaluation"]) == 0
    assert "scenario 'no_evaluation'" in capsys.readouterr().out


# ------------------------------------------------------------------------------ progress
def test_line_progress_prints_each_update_once():
    out = io.StringIO()
    bar = LineProgress(10, unit="run", desc="runs", file=out, mininterval=0)
    for _ in range(5):
        bar.set_postfix(failed=0, refresh=True)  # tqdm redrew here: the state printed twice
        bar.update(2)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 5 == len(set(lines))
    assert lines[0].startswith("runs: 2/10 run (20%), failed=0, ")
    assert lines[-1].startswith("runs: 10/10 run (100%)")
    assert "\r" not in out.getvalue()


def test_line_progress_is_throttled_but_always_shows_the_end():
    out = io.StringIO()
    bar = LineProgress(100, unit="run", desc="runs", file=out, mininterval=3600)
    for _ in range(100):
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == ["runs: 1/100 run (1%)",
                                                     "runs: 100/100 run (100%)"]


def test_progress_bar_is_tqdm_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    from tqdm import tqdm

    bar = progress_bar(3, unit="run", desc="runs", file=Tty())
    assert isinstance(bar, tqdm)
    bar.close()
    assert isinstance(progress_bar(3, file=io.StringIO()), LineProgress)


def test_runner_and_calibration_set_their_fields_without_a_redraw():
    """tqdm's set_postfix redraws unless refresh=False: with update() that drew every state
    twice in a log."""
    for path in ("sim/experiment/runner.py", "calibration/smm.py"):
        text = (ROOT / path).read_text()
        for call in re.findall(r"set_postfix\((.*?)\)\s*(?:#|\n)", text, re.S):
            assert "refresh=False" in call, (path, call)
        assert "tqdm(" not in text, path  # bars come from sim.progress


def test_validate_has_quiet():
    va = _subparsers(cli.build_parser())["validate"]
    assert va.parse_args(["--quiet"]).quiet is True
    assert va.parse_args([]).quiet is False


@pytest.mark.slow
def test_validate_prints_progress_lines_once(tmp_path):
    exe = ROOT / ".venv" / "bin" / "clustersim"
    cmd = [str(exe)] if exe.exists() else ["clustersim"]
    proc = subprocess.run([*cmd, "validate", "--reps", "4", "-j", "1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.startswith("validate:")]
    assert lines and lines[-1].startswith("validate: 4/4 run (100%)")
    assert len({x.rsplit(",", 1)[0] for x in lines}) == len(lines)
    quiet = subprocess.run([*cmd, "validate", "--reps", "2", "-j", "1", "--quiet", "--out",
                            str(tmp_path)], capture_output=True, text=True, timeout=600,
                           cwd=tmp_path)
    assert quiet.returncode == 0 and "validate:" not in quiet.stderr


# ------------------------------------------------------------------------------ calibrate
# (calibrate --install is tested in tests/test_calibration.py, beside the session's small
# calibration it reuses: one xdist worker computes it once)
def test_wallonia_calibration_installs_the_tracked_file_only_with_the_flag():
    text = _subparsers(cli.build_parser())["calibrate"].format_help()
    assert "--install" in text and "calibration/calibrated.toml" in " ".join(text.split())


# ------------------------------------------------------------------------------ set-up
def _make_dry(target: str, tmp_path: Path) -> str:
    """``make -n TARGET`` as a user would type it: without the variables of a ``make`` this
    suite may run under (``make test PYTEST_ARGS=...`` passes them down in MAKEFLAGS)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "PYTEST_ARGS",
                        "ARGS", "VENV")}
    proc = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT), target,
                           f"VENV={tmp_path}/venv"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.skipif(subprocess.run(["which", "make"], capture_output=True).returncode != 0,
                    reason="no make")
def test_make_run_creates_the_environment_installs_and_runs(tmp_path):
    out = _make_dry("run", tmp_path)
    steps = out.splitlines()
    assert steps[0] == f"python3 -m venv {tmp_path}/venv"
    assert f'{tmp_path}/venv/bin/pip install -e ".[dev]"' in steps
    assert steps[-1].strip() == f"{tmp_path}/venv/bin/clustersim run"
    test = _make_dry("test", tmp_path).splitlines()
    assert test[-1].strip() == f"{tmp_path}/venv/bin/pytest -n auto --dist loadscope"


def test_ci_calls_the_two_make_commands():
    lines = [x for x in (ROOT / ".ci" / "run").read_text().splitlines()
             if x and not x.startswith("#")]
    assert "make run" in lines and "make test" in lines
    assert lines.index("make run") < lines.index("make test")
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert 'pip install -e ".[dev]"' in readme  # the explicit commands stay


def test_readme_quotes_one_time_for_the_quick_calibration():
    """The README quoted "about 20 s" and "about 10 s" for the same command."""
    readme = (ROOT / "README.md").read_text()
    quick = (ROOT / "calibration" / "quick.toml").read_text()
    said = set(re.findall(r"quick\.toml`?\s+#[^\n]*?about (\d+ s)", readme))
    said |= set(re.findall(r"about (\d+ s) on two cores", quick))
    assert len(said) == 1, said


def test_readme_names_every_breakdown_of_the_catalogue():
    """The README's indicator table is generated (tests/test_docs.py); its prose lists the
    breakdowns too."""
    from sim.indicators import CATALOGUE

    readme = (ROOT / "README.md").read_text()
    prose = readme[readme.index("## Indicators"):readme.index("<!-- INDICATORS")]
    for ind in CATALOGUE:
        for by in ind.by:
            assert f"`{by}`" in prose or all(f"`{d}`" in prose for d in by.split("/")), by
