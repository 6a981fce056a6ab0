"""A run that raises is stored as a failure with its traceback; the others complete.

Failures are injected with the test hook ``CLUSTERSIM_FAIL_RUNS="variant/replication,..."``
(sim/experiment/runner.py).  Design: tests/data/designs/failing_compare.toml (variants ``short``
and ``short_halved``, 3 replications each, batches of 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiment import load_store, run_design
from sim.experiment.runner import FAILURE_ENV

DESIGNS = Path(__file__).resolve().parent / "data" / "designs"
DESIGN = DESIGNS / "failing_compare.toml"
KEYS = {(v, r) for v in ("short", "short_halved") for r in range(3)}


def clustersim(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
               ) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "clustersim"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def check_failed_store(root: Path, failed: set[tuple[str, int]]) -> None:
    runs, series, _ = load_store(root)
    raw = pd.read_parquet(root / "runs.parquet")
    assert len(raw) == len(KEYS) and not raw.duplicated(["variant", "replication"]).any()
    assert set(zip(runs["variant"], runs["replication"], strict=True)) == KEYS
    for _, row in runs.iterrows():
        key = (row["variant"], int(row["replication"]))
        if key in failed:
            assert row["status"] == "failed"
            assert row["error"].startswith("Traceback (most recent call last):")
            assert f"RuntimeError: injected failure of run {key[0]}/{key[1]}" in row["error"]
            assert row["seed"] == 31 and row["spawn_key"] == f"[{key[1]}]"
        else:
            assert row["status"] == "ok" and row["error"] == ""
    with_series = set(zip(series["variant"], series["replication"], strict=True))
    assert with_series == KEYS - failed, "failed runs have no series rows; the others all do"
    assert series["value"].notna().any()


def test_failed_run_is_recorded_with_its_traceback(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(FAILURE_ENV, "short_halved/1")
    outcome = run_design(DESIGN, out=tmp_path, progress=False)
    assert (outcome.total, outcome.ran, outcome.skipped, outcome.failed) == (6, 6, 0, 1)
    check_failed_store(outcome.store.root, {("short_halved", 1)})


def test_cli_reports_failures_and_exits_non_zero_with_a_pool(tmp_path: Path):
    """Two failures in different batches, local pool of 2 workers (the hook reaches them)."""
    proc = clustersim("sweep", str(DESIGN), "--out", str(tmp_path), "-j", "2", "--quiet",
                      env={FAILURE_ENV: "short/0,short_halved/2"})
    assert proc.returncode == 1, proc.stderr
    assert "6 runs: 6 run now, 0 already stored, 2 failed" in proc.stdout
    assert "2 run(s) failed: their tracebacks are in" in proc.stderr
    assert "column error" in proc.stderr
    root = tmp_path / "failing_compare"
    check_failed_store(root, {("short", 0), ("short_halved", 2)})
    assert (root / "compare.csv").exists()
    # resume: a stored failure counts as stored (sim/experiment/store.py done_keys); nothing is
    # run again and nothing is duplicated
    again = clustersim("sweep", str(DESIGN), "--out", str(tmp_path), "-j", "1", "--quiet")
    assert again.returncode == 1
    assert "6 runs: 0 run now, 6 already stored, 2 failed" in again.stdout
    check_failed_store(root, {("short", 0), ("short_halved", 2)})


@pytest.mark.parametrize("failing", [
    "short/0,short/1,short/2",
    "short/0,short/1,short/2,short_halved/0,short_halved/1,short_halved/2",
], ids=["whole-reference", "every-run"])
def test_cli_reports_failures_when_a_whole_variant_fails(failing: str, tmp_path: Path, capsys,
                                                          monkeypatch):
    monkeypatch.setenv(FAILURE_ENV, failing)
    rc = main(["sweep", str(DESIGN), "--out", str(tmp_path), "-j", "1", "--quiet"])
    n = len(failing.split(","))
    assert rc == 1
    assert f"{n} run(s) failed" in capsys.readouterr().err
