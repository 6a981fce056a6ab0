"""The tutorial (docs/tutorial.py, a Jupytext percent script) runs as shipped, so it never goes
stale: every cell executes, and the files it says it writes are there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.py"


def test_tutorial_is_a_percent_format_script():
    text = TUTORIAL.read_text()
    assert "format_name: percent" in text
    assert text.count("# %% [markdown]") >= 5 and text.count("\n# %%\n") >= 5
    compile(text, str(TUTORIAL), "exec")


@pytest.mark.slow
def test_tutorial_runs_from_a_fresh_folder(tmp_path):
    env = {**os.environ, "CLUSTERSIM_TUTORIAL_OUT": str(tmp_path / "out"), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(TUTORIAL)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    assert "members in 2012, no evaluation minus baseline" in proc.stdout
    series = pd.read_parquet(out / "experiments" / "compare-baseline-vs-no_evaluation"
                             / "series.parquet")
    assert set(series["variant"]) == {"baseline", "no_evaluation"}
    assert series["replication"].nunique() == 10
    for ext in ("pdf", "svg", "png"):
        assert (out / f"members_with_and_without_evaluation.{ext}").stat().st_size > 1000
