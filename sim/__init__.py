"""clustersim: an agent-based model of the Walloon cluster policy and competitiveness poles."""

from sim.loader import ScenarioError, load_scenario
from sim.model import ClusterModel, run_seed_sequence
from sim.scenario import Scenario

__all__ = ["ClusterModel", "Scenario", "ScenarioError", "load_scenario", "run_seed_sequence"]
__version__ = "0.1.0"
