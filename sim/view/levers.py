"""The policy levers of the view and the model it (re)builds from them.

Each :class:`Lever` is a control of the page bound to one dotted path of the scenario schema
(``sim.scenario``): its label, unit and range as shown (euros in kEUR or MEUR), clipped to the
schema's bounds (:func:`sim.scenario.parameter_bounds`, one source of truth).  The starting
value of every control is the viewed scenario's own.  :class:`ViewModel` is a
:class:`~sim.model.ClusterModel` whose keyword arguments are the levers, which is what Mesa's
SolaraViz passes when *Reset* rebuilds the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.loader import load_scenario
from sim.model import ClusterModel
from sim.scenario import Scenario, parameter_bounds
from sim.view.serve import scenario_path


@dataclass(frozen=True)
class Lever:
    """A control of the view: keyword ``name`` sets scenario path ``path`` to the shown value
    times ``scale``; ``lo``-``hi`` is the shown range (``step`` apart), ``kind`` one of
    ``float``, ``int`` or ``bool``."""

    name: str
    path: str
    label: str
    lo: float = 0.0
    hi: float = 1.0
    step: float = 1.0
    scale: float = 1.0
    kind: str = "float"

    def shown(self, sc: Scenario) -> Any:
        """The control's value for scenario ``sc`` (its value at ``path``, in shown units)."""
        node: Any = sc
        for part in self.path.split("."):
            node = getattr(node, part)
        if self.kind == "bool":
            return bool(node)
        value = node / self.scale
        return round(value) if self.kind == "int" else float(value)

    def value(self, shown: Any) -> Any:
        """The scenario value of a shown value."""
        if self.kind == "bool":
            return bool(shown)
        if self.kind == "int":
            return round(float(shown) * self.scale)
        return float(shown) * self.scale

    def bounds(self, sc: Scenario) -> tuple[float, float]:
        """The shown range: ``lo``-``hi`` widened to hold the scenario's value, within the
        schema's bounds."""
        schema = parameter_bounds().get(self.path, {})
        lo, hi = self.lo, self.hi
        if schema.get("lower") is not None:
            lo = max(lo, schema["lower"] / self.scale)
        if schema.get("upper") is not None:
            hi = min(hi, schema["upper"] / self.scale)
        now = self.shown(sc)
        return min(lo, now), max(hi, now)

    def grid_step(self, sc: Scenario) -> float:
        """The slider's step: ``step``, or a tenth of it (a hundredth...) when the scenario's
        value is not on the grid from the range's start (a calibrated 38 on a grid of 5), since
        a slider moves its value to the grid, which Reset would then pass to the model."""
        value, lo = self.shown(sc), self.bounds(sc)[0]
        step = self.step
        while True:
            k = (value - lo) / step
            if abs(k - round(k)) < 1e-9 * max(1.0, abs(k)):
                return step
            if self.kind == "int" and step <= 1:
                return 1
            step = max(1, step // 10) if self.kind == "int" else step / 10
            if step < 1e-9:
                return step


# Ranges: around the shipped scenarios' values (scenarios/*.toml), e.g. the animation
# subsidy 75-300 kEUR/year (halved, doubled), the pole budget by instrument 10-180 MEUR.
LEVERS: tuple[Lever, ...] = (
    Lever("animation_subsidy_keur", "policy.animation.subsidy_eur_per_year",
          "Animation subsidy, kEUR/yr", 0, 600, 10, 1e3),
    Lever("animation_taper", "policy.animation.taper_per_year",
          "Subsidy taper, /yr", 0, 0.3, 0.01),
    Lever("evaluation_enabled", "policy.evaluation.enabled", "Evaluation of clusters",
          kind="bool"),
    Lever("evaluation_period_years", "policy.evaluation.period_years",
          "Evaluation every, yr", 1, 6, 1, kind="int"),
    Lever("evaluation_min_members", "policy.evaluation.min_members",
          "Least members", 0, 150, 5, kind="int"),
    Lever("evaluation_min_involvement", "policy.evaluation.min_involvement",
          "Least involvement", 0, 0.5, 0.01),
    Lever("tender_subsidy_keur", "policy.international.tender_subsidy_eur",
          "Tender subsidy, kEUR", 0, 120, 2, 1e3),
    Lever("poles_enabled", "policy.poles.enabled", "Competitiveness poles", kind="bool"),
    Lever("pole_budget_rd_meur", "policy.poles.budget_rd_meur",
          "Poles R&D, MEUR", 0, 300, 5),
    Lever("pole_budget_training_meur", "policy.poles.budget_training_meur",
          "Poles training, MEUR", 0, 150, 5),
    Lever("pole_budget_investment_meur", "policy.poles.budget_investment_meur",
          "Poles investment, MEUR", 0, 150, 5),
    Lever("pole_budget_export_meur", "policy.poles.budget_export_meur",
          "Poles export, MEUR", 0, 50, 1),
    Lever("pole_budget_assets_meur", "policy.poles.budget_assets_meur",
          "Poles assets, MEUR", 0, 150, 5),
)
LEVER = {lever.name: lever for lever in LEVERS}
MAX_REPLICATION = 49


def overrides_of(levers: dict[str, Any]) -> dict[str, Any]:
    """The scenario overrides (dotted path -> value) of lever values in shown units."""
    unknown = sorted(set(levers) - set(LEVER))
    if unknown:
        raise TypeError(f"unknown lever(s) {unknown}; the levers are {sorted(LEVER)}")
    return {LEVER[name].path: LEVER[name].value(v) for name, v in levers.items()}


class ViewModel(ClusterModel):
    """The model of the view: ``scenario`` (a file or a shipped scenario's name) with the
    levers of :data:`LEVERS` given as keywords in shown units, replication ``replication`` of
    the scenario's seed.  Mesa agents (handles) are on, so that a user can inspect them."""

    def __init__(self, scenario: str | None = None, replication: int = 0,
                 **kwargs: Any) -> None:  # named so for SolaraViz's check of the parameters
        self.levers = dict(kwargs)
        super().__init__(scenario_path(scenario), replication=int(replication),
                         overrides=overrides_of(self.levers))


def model_params(scenario: str | Path | None) -> dict[str, Any]:
    """SolaraViz's ``model_params``: the scenario (fixed), the replication and every lever, each
    starting at the scenario's value."""
    from mesa.visualization import Slider

    path = scenario_path(scenario)
    sc = load_scenario(path)
    params: dict[str, Any] = {
        "scenario": str(path),
        "replication": Slider("Replication", 0, 0, MAX_REPLICATION, 1),
    }
    for lever in LEVERS:
        if lever.kind == "bool":
            params[lever.name] = {"type": "Checkbox", "value": lever.shown(sc),
                                  "label": lever.label}
            continue
        lo, hi = lever.bounds(sc)
        if lever.kind == "int":
            params[lever.name] = Slider(lever.label, lever.shown(sc), int(lo), int(hi),
                                        int(lever.grid_step(sc)), dtype=int)
        else:
            params[lever.name] = Slider(lever.label, lever.shown(sc), float(lo), float(hi),
                                        float(lever.grid_step(sc)), dtype=float)
    return params


def initial_model(scenario: str | Path | None) -> ViewModel:
    """The model the page opens with: the scenario as it is, replication 0."""
    return ViewModel(str(scenario_path(scenario)))


__all__ = ["LEVER", "LEVERS", "Lever", "ViewModel", "initial_model", "model_params",
           "overrides_of", "scenario_path"]
