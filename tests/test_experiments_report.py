"""Reports of stored experiments: ``clustersim figures`` redraws without running anything,
``load_store`` returns the tables, and sweeps and sensitivity analyses work end to end.

Designs: tests/data/designs/small_compare.toml, lhs_sweep.toml (4 points x 2 replications) and
tiny_morris.toml (2 levers, 2 trajectories: 6 points x 2 replications), all on 2001-2004.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiment import load_store
from sim.experiment.runner import FAILURE_ENV

DESIGNS = Path(__file__).resolve().parent / "data" / "designs"
FIGURE_EXTS = ("png", "pdf", "svg")


def clustersim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "clustersim"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **(env or {})})


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def compare_store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert main(["sweep", str(DESIGNS / "small_compare.toml"), "--out", str(out), "-j", "1",
                 "--quiet"]) == 0
    return out / "small_compare"


def test_compare_store_has_its_tables_and_figures(compare_store: Path):
    table = pd.read_csv(compare_store / "compare.csv")
    assert set(table["variant"]) == {"short", "short_halved"}
    assert set(table["indicator"]) == {"members_total", "productivity"}
    assert set(table["year"]) == {2003, 2004}
    assert (table["n"] == 4).all()
    diffs = table[table["variant"] == "short_halved"]
    assert diffs[["diff", "diff_low", "diff_high", "sd_ratio"]].notna().all().all()
    assert (diffs["diff_low"] <= diffs["diff"]).all() and (diffs["diff"] <= diffs["diff_high"]).all()
    for ext in FIGURE_EXTS:
        assert (compare_store / f"compare.{ext}").stat().st_size > 1000


def test_load_store_returns_the_dataframes(compare_store: Path):
    runs, series, manifest = load_store(compare_store)
    assert isinstance(runs, pd.DataFrame) and isinstance(series, pd.DataFrame)
    assert list(runs.columns) == ["variant", "replication", "seed", "spawn_key", "status",
                                  "error", "wall_seconds"]
    assert len(runs) == 8 and (runs["status"] == "ok").all() and (runs["seed"] == 4242).all()
    assert {"variant", "replication", "seed", "indicator", "year", "by", "key",
            "value"} <= set(series.columns)
    assert set(series["year"]) == {2001, 2002, 2003, 2004}
    assert manifest["design"]["name"] == "small_compare" and manifest["root_seed"] == 4242
    assert set(manifest["variants"]) == {"short", "short_halved"}
    assert manifest["design_file"] == str(DESIGNS / "small_compare.toml")


def test_figures_command_redraws_without_running(compare_store: Path):
    """The redraw happens in another process with every run set to fail: nothing is run (the
    data files keep their bytes and modification times), and the figures and the table come
    out byte-identical to the first drawing."""
    before = snapshot(compare_store)
    drawn = [f"compare.{ext}" for ext in FIGURE_EXTS] + ["compare.csv"]
    for name in drawn:
        (compare_store / name).unlink()
    every_run = ",".join(f"{v}/{r}" for v in ("short", "short_halved") for r in range(4))
    proc = clustersim("figures", str(compare_store), env={FAILURE_ENV: every_run})
    assert proc.returncode == 0, proc.stderr
    assert f"figures and tables redrawn in {compare_store}/" in proc.stdout
    after = snapshot(compare_store)
    assert set(after) == set(before), "no file appears (no parts, no new store)"
    for name, (data, mtime) in before.items():
        assert after[name][0] == data, f"{name} differs from the first drawing"
        if name not in drawn:
            assert after[name][1] == mtime, f"{name} was rewritten"


def test_figures_command_refuses_a_folder_that_is_not_a_store(tmp_path: Path, capsys):
    assert main(["figures", str(tmp_path)]) == 2
    assert "not an experiment store (no manifest.json)" in capsys.readouterr().err


def test_lhs_sweep_end_to_end(tmp_path: Path, capsys):
    rc = main(["sweep", str(DESIGNS / "lhs_sweep.toml"), "--out", str(tmp_path), "-j", "1",
               "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "8 runs: 8 run now, 0 already stored, 0 failed" in out
    root = tmp_path / "lhs_sweep"
    table = pd.read_csv(root / "sweep.csv")
    sub, per = "policy.animation.subsidy_eur_per_year", "policy.evaluation.period_years"
    assert list(table.columns) == ["variant", sub, per, "indicator", "year", "n", "mean",
                                   "ci_low", "ci_high"]
    assert len(table) == 4 * 2  # 4 points x 2 indicators x 1 year
    assert (table["n"] == 2).all() and (table["year"] == 2004).all()
    assert table[sub].between(50000, 300000).all() and table[sub].nunique() == 4
    assert table[per].between(2, 4).all()
    assert np.array_equal(table[per], table[per].round())  # an integer parameter stays integer
    assert ((table["ci_low"] <= table["mean"]) & (table["mean"] <= table["ci_high"])).all()
    variants = pd.read_parquet(root / "variants.parquet")
    assert len(variants) == 4
    for s in variants["settings"]:
        assert set(json.loads(s)) == {sub, per}
    for ext in FIGURE_EXTS:
        assert (root / f"sweep.{ext}").stat().st_size > 1000


def test_morris_sensitivity_end_to_end(tmp_path: Path, capsys):
    rc = main(["sensitivity", str(DESIGNS / "tiny_morris.toml"), "--out", str(tmp_path),
               "-j", "1", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "12 runs: 12 run now, 0 already stored, 0 failed" in out
    assert "mu_star" in out
    root = tmp_path / "tiny_morris"
    idx = pd.read_csv(root / "sensitivity.csv")
    assert list(idx.columns) == ["indicator", "year", "parameter", "mu_star", "mu_star_conf",
                                 "sigma", "mu"]
    assert list(idx["parameter"]) == ["behaviour.membership.leave_rate",
                                      "behaviour.partnering.initiate_rate"]
    assert (idx["indicator"] == "members_total").all() and (idx["year"] == 2004).all()
    assert np.isfinite(idx[["mu_star", "mu_star_conf", "sigma", "mu"]].to_numpy()).all()
    assert (idx["mu_star"] >= idx["mu"].abs() - 1e-9).all()  # mu* = mean |EE| >= |mean EE|
    assert len(pd.read_csv(root / "sweep.csv")) == 6
    for stem in ("sensitivity", "sweep"):
        for ext in FIGURE_EXTS:
            assert (root / f"{stem}.{ext}").stat().st_size > 1000
