"""What the user waits for in ``clustersim run`` (issue 19): a run already in the shared run
cache is read back, not run again, with the same files; the figure drawn in a process of its
own is the same file as the one drawn in the command."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.cli import main
from sim.experiment.cache import RunCache, unpack_facts

SAME = ("indicators.parquet", "summary.csv", "decisions.csv")


def run(out: Path, *extra: str) -> Path:
    assert main(["run", "--seed", "7", "--out", str(out), "--no-figure", *extra]) == 0
    (folder,) = out.iterdir()
    return folder


def test_a_second_run_is_read_from_the_run_cache_with_the_same_files(tmp_path, cache_dir,
                                                                     capsys):
    first = run(tmp_path / "a")
    assert "read from the run cache" not in capsys.readouterr().out
    (entry,) = RunCache.open(cache_dir).entries()
    assert unpack_facts(entry.record)["decisions"]  # the facts `run` prints and writes
    second = run(tmp_path / "b")
    assert "read from the run cache" in capsys.readouterr().out
    off = run(tmp_path / "c", "--no-cache")
    assert "read from the run cache" not in capsys.readouterr().out
    for name in SAME:
        assert (first / name).read_bytes() == (second / name).read_bytes() == \
            (off / name).read_bytes(), name
    m1, m2 = (json.loads((f / "manifest.json").read_text())["run"] for f in (first, second))
    assert m2.pop("cached") == entry.key and "cached" not in m1
    for m in (m1, m2):
        m.pop("wall_seconds")
    assert m1 == m2


def test_run_completes_a_cache_entry_a_batch_wrote_without_facts(tmp_path, cache_dir, capsys):
    first = run(tmp_path / "a")
    (entry,) = RunCache.open(cache_dir).entries()
    rec_path = cache_dir / "runs" / entry.key[:2] / f"{entry.key}.json"
    rec = json.loads(rec_path.read_text())
    del rec["facts"]  # as an entry written before the facts were kept
    rec_path.write_text(json.dumps(rec))
    second = run(tmp_path / "b")
    assert "read from the run cache" not in capsys.readouterr().out  # run again ...
    assert "facts" in json.loads(rec_path.read_text())  # ... and the entry completed
    third = run(tmp_path / "c")
    assert "read from the run cache" in capsys.readouterr().out
    for name in SAME:
        assert (first / name).read_bytes() == (second / name).read_bytes() == \
            (third / name).read_bytes()


@pytest.mark.slow  # draws the figure twice (seconds)
def test_the_figure_drawn_in_the_background_is_the_same_file(tmp_path, capsys):
    assert main(["run", "--seed", "7", "--out", str(tmp_path / "fg"), "--figure",
                 "foreground"]) == 0
    assert "background" not in capsys.readouterr().out
    assert main(["run", "--seed", "7", "--out", str(tmp_path / "bg"), "--figure",
                 "background"]) == 0
    assert "drawn in the background" in capsys.readouterr().out
    (fg,), (bg,) = (tmp_path / "fg").iterdir(), (tmp_path / "bg").iterdir()
    deadline = time.monotonic() + 120
    while not (bg / "overview.png").exists() and time.monotonic() < deadline:
        assert not (bg / "overview.error.txt").exists(), (bg / "overview.error.txt").read_text()
        time.sleep(0.2)
    assert (bg / "overview.png").read_bytes() == (fg / "overview.png").read_bytes()


def test_a_figure_job_that_fails_says_why(tmp_path):
    spec = {"indicators": str(tmp_path / "missing.parquet"), "stem": str(tmp_path / "overview"),
            "caption": "x", "formats": ["png"], "targets": False}
    done = subprocess.run([sys.executable, "-m", "sim.figure_job", json.dumps(spec)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and not done.stderr
    assert "could not be drawn" in (tmp_path / "overview.error.txt").read_text()
    assert not (tmp_path / "overview.png").exists()


@pytest.mark.slow  # compiles a kernel with np.dot in a fresh process (seconds)
def test_scipy_linalg_placeholder_loads_only_blas_for_numba_and_in_full_on_use():
    code = """
import sys
from sim._imports import defer_scipy_linalg
assert defer_scipy_linalg()
import numpy as np
from numba import njit
@njit
def dot(a, b):
    return np.dot(a, b)
a = np.arange(4.0).reshape(2, 2)
assert (dot(a, a) == a @ a).all()
assert type(sys.modules["scipy.linalg"]).__name__ == "_Deferred", "imported in full"
assert "scipy.linalg.cython_blas" in sys.modules
from scipy.linalg import solve
import scipy.linalg
assert type(sys.modules["scipy.linalg"]).__name__ == "module"
assert scipy.linalg.cython_blas is sys.modules["scipy.linalg.cython_blas"]
assert np.allclose(solve(a + np.eye(2), [1.0, 2.0]), np.linalg.solve(a + np.eye(2), [1.0, 2.0]))
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
