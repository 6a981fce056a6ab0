"""Experiments: policy comparisons, sweeps and sensitivity analyses over many replications.

From Python::

    from sim.experiment import run_design, load_store
    outcome = run_design("experiments/evaluation_policy.toml", out="experiments/output", workers=2)
    runs, series, manifest = load_store(outcome.store.root)
"""

from sim.experiment.design import Design, load_design
from sim.experiment.runner import Outcome, dask_executor, run_design
from sim.experiment.store import Store, load_store

__all__ = ["Design", "Outcome", "Store", "dask_executor", "load_design", "load_store",
           "run_design"]
