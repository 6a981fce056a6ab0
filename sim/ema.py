"""clustersim as an EMA Workbench model (exploratory modelling, scenario discovery).

:func:`ema_model` returns an ``ema_workbench.Model`` (a function model) whose

* **uncertainties** are behavioural parameters (``behaviour.*``) and whose **levers** are policy
  parameters (``policy.*``), each declared from the scenario schema's bounds
  (:func:`sim.scenario.parameter_bounds`: the one source of truth, as for sweep designs); a
  narrower range may be asked for, and a range outside the schema's bounds is refused;
* **outcomes** are indicators of the catalogue (:mod:`sim.indicators`) in given years: the
  mean over the replications of the indicator's total on 31 December (or its flow over the
  year), named ``<indicator>_<year>``;
* **runs** go through the project's own seeded engine (:func:`sim.experiment.runner.run_batch`,
  which ``clustersim sweep`` runs): replication r of every experiment is seeded with
  ``SeedSequence(seed, spawn_key=(r,))`` (common random numbers), so an experiment's outcomes
  equal those of ``clustersim sweep`` for the same lever settings, root seed and replications.

EMA Workbench calls a sample of the uncertainties a "scenario" and one of the levers a
"policy"; the adapter's ``base`` is a clustersim scenario (file or embedded name) that every
experiment starts from.  Parameter names in EMA are the dotted paths with the top section
dropped and dots as double underscores (``behaviour.partnering.initiate_rate`` ->
``partnering__initiate_rate``), since EMA passes them as keyword arguments.

``ema_workbench`` is the optional extra ``ema`` (``pip install -e ".[ema]"``); this module
imports it only when a model is built.  Example: ``experiments/ema_discovery.py``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.loader import ScenarioError, embedded_names, embedded_path, load_scenario, scenario_hash

UNCERTAINTY_SECTION = "behaviour"
LEVER_SECTION = "policy"
DEFAULT_OUTCOMES = (("members_total", 2012), ("clusters_active", 2012),
                    ("partnerships_launched_cumulative", 2012), ("new_enterprises", 2012))


def ema_name(path: str) -> str:
    """The EMA parameter name of a dotted schema path (``policy.animation.taper_per_year`` ->
    ``animation__taper_per_year``)."""
    return path.split(".", 1)[1].replace(".", "__")


def schema_path(name: str, section: str) -> str:
    """The dotted schema path of an EMA parameter name of ``section``."""
    return f"{section}.{name.replace('__', '.')}"


def outcome_name(indicator: str, year: int) -> str:
    """The EMA outcome name of an indicator's total in a year."""
    return f"{indicator}_{year}"


def _base_path(base: str | Path | None) -> Path:
    if base is None:
        return embedded_path("baseline")
    p = Path(base)
    if p.suffix != ".toml" and not p.exists() and str(base) in embedded_names():
        return embedded_path(str(base))
    return p


@dataclass(frozen=True)
class Range:
    """One uncertainty or lever: its schema path, bounds and type."""

    path: str
    lower: float
    upper: float
    is_int: bool


def ranges(paths: Iterable[str] | Mapping[str, tuple[float, float] | None], section: str
           ) -> list[Range]:
    """The ranges of parameters of one section of the schema, from its bounds.

    ``paths`` lists dotted paths, or maps each to ``(lower, upper)`` (within the schema's
    bounds) or None (the schema's bounds).  Every problem is reported at once.
    """
    out, problems = _ranges(paths, section)
    if problems:
        raise ScenarioError("EMA model", problems)
    return out


def _ranges(paths, section: str) -> tuple[list[Range], list[str]]:
    from sim.scenario import parameter_bounds

    bounds = parameter_bounds()
    asked = dict(paths) if isinstance(paths, Mapping) else dict.fromkeys(paths)
    out, problems = [], []
    for path, rng in asked.items():
        b = bounds.get(path)
        if not path.startswith(section + ".") or b is None:
            near = [p for p in bounds if p.startswith(section + ".")]
            from sim.loader import suggestion

            problems.append(f"{path}: not a numeric parameter of [{section}]"
                            f"{suggestion(path, near)}")
            continue
        lo, hi = (b["lower"], b["upper"]) if rng is None else rng
        if lo is None or hi is None:
            problems.append(f"{path}: the schema has no bound on one side; give (lower, upper)")
            continue
        if not (b["lower"] is None or lo >= b["lower"]) or not (b["upper"] is None
                                                               or hi <= b["upper"]):
            problems.append(f"{path}: range ({lo}, {hi}) leaves the schema's bounds "
                            f"[{b['lower']}, {b['upper']}]")
            continue
        if b["lower_open"] and lo <= b["lower"]:
            problems.append(f"{path}: the schema's lower bound {b['lower']} is excluded; "
                            "give a range above it")
            continue
        if not lo < hi:
            problems.append(f"{path}: expected lower < upper (got {lo}, {hi})")
            continue
        is_int = b["type"] == "int"
        out.append(Range(path, int(lo) if is_int else float(lo),
                         int(hi) if is_int else float(hi), is_int))
    return out, problems


@dataclass
class ClusterSimFunction:
    """The function EMA calls for one experiment: run the replications, return the outcomes.

    Picklable (a module-level class of plain data), so EMA's multiprocessing evaluator can send
    it to its workers.
    """

    base: str
    uncertainties: tuple[Range, ...]
    levers: tuple[Range, ...]
    outcomes: tuple[tuple[str, int], ...]
    replications: int = 5
    seed: int = 20010101
    _names: dict[str, Range] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._names = {ema_name(r.path): r for r in (*self.uncertainties, *self.levers)}
        if len(self._names) != len(self.uncertainties) + len(self.levers):
            raise ScenarioError("EMA model", ["two parameters share one EMA name"])

    def settings(self, **values: Any) -> dict[str, int | float]:
        """Scenario overrides (dotted path -> value) of EMA's keyword arguments."""
        out: dict[str, int | float] = {}
        for name, value in values.items():
            r = self._names[name]
            out[r.path] = round(value) if r.is_int else float(value)
        return out

    def series(self, settings: Mapping[str, int | float]) -> pd.DataFrame:
        """The tidy indicators of every replication of one lever setting (as a sweep stores
        them: columns variant, replication, seed, then the run's table)."""
        from sim.experiment.runner import run_batch

        sc = load_scenario(Path(self.base), overrides=dict(settings))
        doc, digest = sc.model_dump(mode="json"), scenario_hash(sc)
        records, blob = run_batch([(sc.name, doc, digest, self.seed, r)
                                   for r in range(self.replications)])
        failed = [r for r in records if r["status"] != "ok"]
        if failed:
            raise RuntimeError(f"{len(failed)} replication(s) failed; first error:\n"
                               f"{failed[0]['error']}")
        return pd.read_parquet(io.BytesIO(blob))

    def __call__(self, **values: Any) -> dict[str, float]:
        df = self.series(self.settings(**values))
        total = df[df["by"] == "total"]
        out = {}
        for indicator, year in self.outcomes:
            v = total[(total["indicator"] == indicator) & (total["year"] == year)]["value"]
            out[outcome_name(indicator, year)] = float(v.mean()) if len(v) else float("nan")
        return out


def _ema_parameter(r: Range):
    from ema_workbench import IntegerParameter, RealParameter

    cls = IntegerParameter if r.is_int else RealParameter
    return cls(ema_name(r.path), r.lower, r.upper)


def ema_model(uncertainties: Sequence[str] | Mapping[str, tuple[float, float] | None] = (),
              levers: Sequence[str] | Mapping[str, tuple[float, float] | None] = (),
              outcomes: Sequence[tuple[str, int]] = DEFAULT_OUTCOMES, *,
              base: str | Path | None = None, replications: int = 5, seed: int = 20010101,
              name: str = "clustersim"):
    """An ``ema_workbench.Model`` over clustersim (see the module's description).

    ``uncertainties``: ``behaviour.*`` paths (or a map to narrower ranges); ``levers``:
    ``policy.*`` paths likewise; ``outcomes``: (indicator, year) pairs of the catalogue;
    ``base``: the clustersim scenario (file or embedded name, default the baseline).
    """
    from ema_workbench import Model, ScalarOutcome

    from sim.indicators import BY_NAME

    unc, problems = _ranges(uncertainties, UNCERTAINTY_SECTION)
    lev, more = _ranges(levers, LEVER_SECTION)
    problems += more
    base_path = _base_path(base)
    sc = load_scenario(base_path)  # refuses a bad base before anything runs
    problems += [f"outcomes: no indicator {ind!r} in the catalogue" for ind, _ in outcomes
                 if ind not in BY_NAME]
    problems += [f"outcomes: {ind}@{year} lies outside the run {sc.time.start_year}-"
                 f"{sc.time.end_year}" for ind, year in outcomes
                 if not sc.time.start_year <= year <= sc.time.end_year]
    if replications < 1:
        problems.append(f"replications: expected at least 1 (got {replications})")
    if problems:
        raise ScenarioError("EMA model", problems)
    fn = ClusterSimFunction(str(base_path), tuple(unc), tuple(lev),
                            tuple((i, int(y)) for i, y in outcomes), replications, seed)
    model = Model(name, function=fn)
    model.uncertainties = [_ema_parameter(r) for r in unc]
    model.levers = [_ema_parameter(r) for r in lev]
    model.outcomes = [ScalarOutcome(outcome_name(i, y)) for i, y in outcomes]
    return model


def latin_hypercube(params: Sequence, n: int, seed: int) -> list[dict[str, int | float]]:
    """``n`` points of a seeded Latin hypercube over EMA parameters (integers uniform over
    their levels), drawn from the experiment's own generator (never NumPy's global one)."""
    from ema_workbench import IntegerParameter
    from scipy.stats import qmc

    if not params or n <= 0:
        return []
    u = qmc.LatinHypercube(d=len(params), seed=seed).random(n)
    rows = []
    for row in u:
        pt: dict[str, int | float] = {}
        for p, x in zip(params, row, strict=True):
            lo, hi = p.lower_bound, p.upper_bound
            if isinstance(p, IntegerParameter):
                pt[p.name] = int(min(hi, lo + int(x * (hi - lo + 1))))
            else:
                pt[p.name] = float(lo + x * (hi - lo))
        rows.append(pt)
    return rows


def _points(rows: list[dict], kind: str) -> list:
    import ema_workbench

    if hasattr(ema_workbench, "Sample"):  # EMA 3: one class for both
        return [ema_workbench.Sample(**r) for r in rows]
    cls = ema_workbench.Scenario if kind == "scenario" else ema_workbench.Policy
    return [cls(**r) for r in rows]


def perform(model, scenarios: int, policies: int = 0, *, seed: int = 1, evaluator=None):
    """``ema_workbench.perform_experiments`` over seeded Latin hypercube samples of the
    uncertainties (``scenarios`` points, seed ``seed``) and of the levers (``policies``
    points, seed ``seed + 1``), crossed: the same experiments on EMA 2.x and 3.x.

    Returns EMA's ``(experiments, outcomes)``.
    """
    from ema_workbench import perform_experiments

    unc = latin_hypercube(list(model.uncertainties), scenarios, seed)
    lev = latin_hypercube(list(model.levers), policies, seed + 1)
    kw: dict[str, Any] = {"scenarios": _points(unc, "scenario") if unc else scenarios}
    kw["policies"] = _points(lev, "policy") if lev else policies
    return perform_experiments(model, evaluator=evaluator, **kw)


def parameter_columns(model) -> list[str]:
    """The experiments' columns of the model's uncertainties and levers (PRIM's inputs)."""
    return [p.name for p in (*model.uncertainties, *model.levers)]


__all__ = ["DEFAULT_OUTCOMES", "ClusterSimFunction", "Range", "ema_model", "ema_name",
           "latin_hypercube", "outcome_name", "parameter_columns", "perform", "ranges",
           "schema_path"]
