"""clustersim: an agent-based model of the Walloon cluster policy and competitiveness poles.

The names below are loaded on first use (PEP 562), so that ``import sim.scenario`` or
``import sim.loader`` reads the schema without loading Mesa, Numba or the model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.loader import ScenarioError, load_scenario
    from sim.model import ClusterModel, run_seed_sequence
    from sim.scenario import Scenario

__all__ = ["ClusterModel", "Scenario", "ScenarioError", "load_scenario", "run_seed_sequence"]
__version__ = "0.1.0"

_HOME = {"ClusterModel": "sim.model", "run_seed_sequence": "sim.model",
         "Scenario": "sim.scenario", "ScenarioError": "sim.loader",
         "load_scenario": "sim.loader"}


def __getattr__(name: str):
    """Import a public name from its module on first access."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
