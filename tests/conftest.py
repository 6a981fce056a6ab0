"""The quick subset: ``pytest -m "not slow"`` leaves out the tests marked slow here and in the
test files.

Whole files of end-to-end tests are slow: the command line's, the experiment engine's (process
pools, Dask, killed workers), the validation's and the calibration's run designs and spawn
processes, seconds each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SLOW_FILES = {"test_calibration.py", "test_cli.py", "test_experiments_backends.py",
              "test_experiments_failures.py", "test_experiments_report.py",
              "test_validation.py"}


# The longest files first, so that pytest-xdist's workers (``--dist loadscope``: a file to a
# worker) end together, the longest first as in LPT scheduling: seconds of tests per file,
# measured 2026-12-06 (``pytest -n 2 --dist loadscope --durations=0``, idle 2-core VM).  A file
# not listed runs after these, in the usual order.  ``--no-loadscope-reorder``
# (pyproject.toml, addopts) keeps this order: xdist would otherwise order files by their number
# of tests.  A stale figure costs only balance, never a result.
LONGEST_FIRST = {"test_evaluation_estimators.py": 39, "test_calibration.py": 44,
                 "test_experiments_backends.py": 35, "test_store_integrity.py": 24,
                 "test_levers.py": 23, "test_evaluate.py": 21, "test_fuzz_inputs.py": 17,
                 "test_figures.py": 16, "test_cache.py": 14, "test_cli.py": 12,
                 "test_machine_independence.py": 11, "test_identity.py": 11,
                 "test_cli_friction.py": 9, "test_experiments_failures.py": 9,
                 "test_tutorial.py": 8, "test_validation.py": 8}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
    order = {item: i for i, item in enumerate(items)}
    items.sort(key=lambda item: (-LONGEST_FIRST.get(item.path.name, 0), order[item]))


@pytest.fixture(autouse=True)
def _no_run_cache(monkeypatch) -> None:
    """Tests run without the shared run cache (~/.cache/clustersim) unless they ask for one
    (tests/test_cache.py), so that every run a test makes is computed."""
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
