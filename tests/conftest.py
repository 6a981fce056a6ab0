"""The quick subset: ``pytest -m "not slow"`` leaves out the tests marked slow here and in the
test files.

Whole files of end-to-end tests are slow: the command line's, the experiment engine's (process
pools, Dask, killed workers), the validation's and the calibration's run designs and spawn
processes, seconds each.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SLOW_FILES = {"test_calibration.py", "test_cli.py", "test_experiments_backends.py",
              "test_experiments_failures.py", "test_experiments_report.py",
              "test_validation.py"}


# The longest files first, so that pytest-xdist's workers (``--dist loadscope``: a file to a
# worker) end together, the longest first as in LPT scheduling: seconds of tests per file,
# measured 2026-12-06 (``pytest -n 2 --dist loadscope --durations=0``, 2-core VM).  A file
# not listed runs after these, in the usual order.  ``--no-loadscope-reorder``
# (pyproject.toml, addopts) keeps this order: xdist would otherwise order files by their number
# of tests.  A stale figure costs only balance, never a result.
LONGEST_FIRST = {"test_calibration.py": 45, "test_evaluation_estimators.py": 26,
                 "test_experiments_backends.py": 33, "test_store_integrity.py": 23,
                 "test_levers.py": 19, "test_evaluate.py": 19, "test_figures.py": 17,
                 "test_cli.py": 10, "test_identity.py": 10, "test_machine_independence.py": 10,
                 "test_cache.py": 9, "test_fuzz_inputs.py": 8, "test_cli_friction.py": 8,
                 "test_tutorial.py": 7, "test_experiments_failures.py": 7,
                 "test_experiments_report.py": 6}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
    order = {item: i for i, item in enumerate(items)}
    items.sort(key=lambda item: (-LONGEST_FIRST.get(item.path.name, 0), order[item]))


def pytest_configure(config) -> None:
    """The whole session, fixtures of every scope included, runs without the shared run
    cache (~/.cache/clustersim): every run a test makes is computed, and nothing is written to
    the user's cache.  (Until 2026-12-06 only a function-scoped fixture set it, so module and
    session fixtures, set up before it, such as the session's small calibration, wrote their
    runs there and read an earlier session's: 10,471 files, and the calibration's fixture took
    8 s or 42 s depending on what an earlier session had left.)  A test that needs a cache
    asks for one (:func:`cache_dir`)."""
    os.environ["CLUSTERSIM_NO_CACHE"] = "1"


@pytest.fixture(autouse=True)
def _no_run_cache(monkeypatch) -> None:
    """Each test starts without the run cache, whatever a test before it did to the
    environment (see :func:`pytest_configure`)."""
    monkeypatch.setenv("CLUSTERSIM_NO_CACHE", "1")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch) -> Path:
    """A run cache of the test's own (tests/test_cache.py, tests/test_run_wait.py): the
    shared one switched back on, in a fresh folder."""
    root = tmp_path / "cache"
    monkeypatch.delenv("CLUSTERSIM_NO_CACHE", raising=False)
    monkeypatch.setenv("CLUSTERSIM_CACHE", str(root))
    return root


@pytest.fixture(autouse=True)
def _no_compile_note(monkeypatch) -> None:
    """No "first run: compiling the kernels" line in the messages the tests read: which
    kernels are compiled first depends on the order the tests run in (tests/test_startup.py
    tests the line itself)."""
    monkeypatch.setenv("CLUSTERSIM_NO_COMPILE_NOTE", "1")


@pytest.fixture(scope="session")
def tiny_calibration(tmp_path_factory):
    """One uninterrupted sequential calibration of tests/test_calibration.py's small world
    (its configuration, targets and seeds), run once and shared by the calibration's tests and
    by ``calibrate --install``'s test (in the same file, so that one xdist worker computes it
    once), which reuses its evaluations.
    Returns (configuration path, calibration/smm.Result)."""
    from calibration import smm
    from tests.test_calibration import _setup

    cfg = _setup(tmp_path_factory.mktemp("fresh"))
    return cfg, smm.calibrate(cfg, workers=1, progress=False)
