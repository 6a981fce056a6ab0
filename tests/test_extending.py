"""The worked example of docs/extending.md runs: its process module, its one line of the
schedule, its quantity and its indicator, taken from the document's blocks, make a model whose
yearly table has the new indicator, equal to a recount of what the process did.

The example runs in a process of its own (``tests/extending_example.py``) with its own Numba
cache directory under ``.pytest_cache``: the kernels compiled for the changed ledger stay out
of the repository's cache (a first run compiles the model there, about 30 s; later runs load
it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_worked_example_runs_and_its_indicator_is_its_recount(tmp_path):
    cache = ROOT / ".pytest_cache" / "numba-extending"
    cache.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "extending_example.py"),
                          str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600, check=True)
    r = json.loads(out.stdout.splitlines()[-1])
    assert len(r["rows"]) == 12 * (1 + r["clusters"])  # every year: the total and each cluster
    assert sum(r["rows"].values()) > 0
    assert r["rows"] == {key: r["recount"].get(key, 0.0) for key in r["rows"]}
    assert r["last_of_each_year"] == ["smes_mentored"]  # the catalogue's order
    assert r["plain_rows"] == 0  # the model without the process: the flow stays empty
    assert r["capability"][0] > r["capability"][1]  # the process acts on the state
