"""Experiments: policy comparisons, sweeps and sensitivity analyses over many replications.

From Python::

    from sim.experiment import run_design, load_store
    outcome = run_design("experiments/evaluation_policy.toml", out="experiments/output", workers=2)
    runs, series, manifest = load_store(outcome.store.root)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# imported on first use (PEP 562): ``clustersim run`` reads the run cache
# (sim.experiment.cache) without loading the experiment engine (about 0.15 s of imports)
_EXPORTS = {"Design": "design", "load_design": "design", "Outcome": "runner",
            "dask_executor": "runner", "run_design": "runner", "Store": "store",
            "load_store": "store"}
__all__ = ["Design", "Outcome", "Store", "dask_executor", "load_design", "load_store",
           "run_design"]

if TYPE_CHECKING:  # pragma: no cover
    from sim.experiment.design import Design, load_design
    from sim.experiment.runner import Outcome, dask_executor, run_design
    from sim.experiment.store import Store, load_store


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
