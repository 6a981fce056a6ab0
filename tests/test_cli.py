"""The command line end to end, as an economist uses it (through the installed entry point)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "data" / "bad_scenarios"


def clustersim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "clustersim"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    """`clustersim run` with no argument, from a directory outside the repository."""
    cwd = tmp_path_factory.mktemp("elsewhere")
    proc = clustersim("run", cwd=cwd)
    return cwd, proc


def test_run_without_argument_runs_the_embedded_baseline(baseline_run):
    cwd, proc = baseline_run
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Scenario baseline" in out
    assert "[790]" in out and "[594]" in out  # the seed's figures beside the simulated ones
    assert "Results written to" in out
    folder = cwd / "results" / "baseline-seed20010101-rep0"
    df = pd.read_parquet(folder / "indicators.parquet")
    assert list(df.columns) == ["scenario", "replication", "seed", "indicator", "year", "by",
                                "key", "value"]
    assert set(df.year) == set(range(2001, 2013))
    man = json.loads((folder / "manifest.json").read_text())
    for key in ("scenario_hash", "seed", "versions", "git", "resolved_scenario", "replications"):
        assert key in man
    assert man["seed"] == 20010101 and man["versions"]["numba"]
    assert (folder / "overview.png").stat().st_size > 1000  # PNG by default (issue 19)
    assert not (folder / "overview.pdf").exists() and not (folder / "overview.svg").exists()
    decisions = pd.read_csv(folder / "decisions.csv")  # the rulebook's decisions and reasons
    assert {"year", "name", "decision", "reason"} <= set(decisions.columns)
    assert set(decisions[decisions.year == 2004].query("object == 'cluster'").decision) \
        <= {"renewed", "dropped"}


def test_run_is_reproducible_to_the_byte(baseline_run, tmp_path):
    cwd, _ = baseline_run
    proc = clustersim("run", "--out", str(tmp_path), "--figure-formats", "svg,png,pdf", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    a = cwd / "results" / "baseline-seed20010101-rep0"
    b = tmp_path / "baseline-seed20010101-rep0"
    # the PNG of the default run is the PNG drawn with the other formats: the same figure
    for name in ("indicators.parquet", "overview.png", "summary.csv", "decisions.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for ext in ("pdf", "svg"):
        assert (b / f"overview.{ext}").stat().st_size > 1000
    bad = clustersim("run", "--figure-formats", "gif", "--no-figure", cwd=tmp_path)
    assert bad.returncode == 2 and "expected formats among" in bad.stderr


def test_run_a_variant_with_seed_and_out(tmp_path):
    proc = clustersim("run", str(ROOT / "scenarios" / "no_evaluation.toml"), "--seed", "7",
                      "--out", str(tmp_path / "res"), "--no-figure", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    df = pd.read_parquet(tmp_path / "res" / "no_evaluation-seed7-rep0" / "indicators.parquet")
    assert (df[(df.indicator == "clusters_dropped") & (df.by == "total")]["value"] == 0).all()
    assert "Clusters dropped by the Region's evaluation: none" in proc.stdout


def test_check_accepts_good_and_refuses_bad_files(tmp_path):
    good = clustersim("check", str(ROOT / "scenarios" / "baseline.toml"), cwd=tmp_path)
    assert good.returncode == 0 and "OK" in good.stdout
    bad = clustersim("check", str(BAD / "probability_above_one.toml"), cwd=tmp_path)
    assert bad.returncode == 2  # the exit status of refused input, as from `run`
    assert "probability_above_one.toml" in bad.stderr
    assert "behaviour.partnering" in bad.stderr and "less than or equal to 1" in bad.stderr


def test_run_refuses_a_bad_file_before_running(tmp_path):
    proc = clustersim("run", str(BAD / "several_errors.toml"), "--out", str(tmp_path / "r"),
                      cwd=tmp_path)
    assert proc.returncode == 2
    assert "several_errors.toml" in proc.stderr and "error(s)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


def test_indicators_lists_the_catalogue(tmp_path):
    proc = clustersim("indicators", cwd=tmp_path)
    assert proc.returncode == 0
    assert "members_total" in proc.stdout and "pole_budget_left_eur" in proc.stdout
