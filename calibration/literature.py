"""Literature moments: the evaluation literature's stylised effects, measured on the simulated
firm panel the literature's way and set side by side with the published ranges (issue 16,
"Calibration of the structure"; ``shared/reference/evaluation.md``).

A calibration configuration may list them::

    [[literature]]
    name = "innovation likelihood of pole participants"
    estimator = "twfe"                  # a registered estimator (sim/evaluation/estimators.py)
    outcome = "innovator"               # a panel outcome, or one of LITERATURE_OUTCOMES
    treatment = "pole"                  # a group of sim.evaluation.panel.TREATMENTS
    scale = 100                         # share -> percentage points
    unit = "percentage points"
    low = 4.6
    high = 5.7
    source = "Falck, Heblich & Kipar 2010, RSUE 40(6):574-582 (Bavarian cluster initiative)"
    note = "..."                        # optional: how the published finding was read
    last_year = 2012                    # optional: the panel's years up to this one

    [literature_settings]               # optional
    replications = 4
    end_year = 2012                     # the runs' last year (default: the scenario's)

These are other regions' figures (Bavaria, France): they are *ranges* for plausibility, not
Walloon data, and they are reported beside the fit, not matched: each moment needs a run to the
panel's last year with the firm panel written and a regression per replication, which is tens of
times the cost of a candidate's moments (the report prints the measured cost), so they are not in
the objective.

Measurement.  At the estimate, ``literature_settings.replications`` runs (replications 0..L-1 of
the calibration's root seed: the estimation's first histories, run on to ``end_year``) write the
firm panel (:mod:`sim.panel`); on each, every moment's estimator is applied to its outcome and
treatment (the evaluator's view: the policy run's panel, alive actor-years only), times
``scale``.  Reported: the mean over the runs (the simulated value), the 2.5-97.5 percentiles of
the runs' estimates (what one evaluator of one history could find), the mean of the method's own
standard error, the published range and whether the simulated mean lies in it.  The results are
cached in ``<output>/<name>/literature/`` keyed by the scenario at the estimate, the seed, the
replications, the moments and the model's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.loader import show, suggestion

# outcomes defined here from the panel's columns (besides the panel's own and derived ones)
LITERATURE_OUTCOMES = {
    "innovator": "1 if the firm introduced at least one new product during the year, else 0 "
                 "(the likelihood of being an innovator; scale = 100 for percentage points)",
    "log_productivity": "log of value added per FTE (NaN where either is 0)",
    "log_value_added": "log of value added (NaN where 0)",
    "log_employment": "log of employment (NaN where 0)",
    "log_exports": "log of exports (NaN for a non-exporter)",
}


def _panel_outcomes() -> list[str]:
    from sim.evaluation.panel import OUTCOME_UNITS

    return sorted({*OUTCOME_UNITS, *LITERATURE_OUTCOMES})


def _estimators() -> list[str]:
    from sim.evaluation.estimators import REGISTRY

    return list(REGISTRY)


def _treatments() -> list[str]:
    from sim.evaluation.panel import TREATMENTS

    return list(TREATMENTS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class LiteratureSpec(_Strict):
    """One published effect, measured the literature's way on the simulated panel."""

    name: str = Field(min_length=1, max_length=200)
    estimator: str = Field(min_length=1, max_length=80)
    outcome: str = Field(min_length=1, max_length=80)
    treatment: str = Field(min_length=1, max_length=80)
    low: float
    high: float
    source: str = Field(min_length=1, max_length=1000)
    scale: float = Field(1.0, gt=0.0, le=1e9, description="multiplies the estimate (100: "
                                                           "share to percentage points)")
    unit: str = Field("", max_length=80)
    note: str = Field("", max_length=2000)
    last_year: int | None = Field(None, ge=1990, le=2100,
                                  description="use the panel's years up to this one")

    @model_validator(mode="after")
    def _check(self) -> LiteratureSpec:
        problems = []
        for key, value, known, what in (
                ("estimator", self.estimator, _estimators(),
                 "a registered estimator of sim/evaluation/estimators.py"),
                ("outcome", self.outcome, _panel_outcomes(),
                 "a panel outcome (sim.evaluation.panel.OUTCOME_UNITS) or one of "
                 "calibration.literature.LITERATURE_OUTCOMES"),
                ("treatment", self.treatment, _treatments(),
                 "a treatment group of sim.evaluation.panel.TREATMENTS")):
            if value not in known:
                hint = suggestion(value, known).replace(";", ",")
                problems.append(f"{key}: {show(value)} is not {what}{hint} (expected one of "
                                f"{', '.join(known)})")
        if self.high < self.low:
            problems.append(f"high: {self.high} must be at least low ({self.low})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def label(self) -> str:
        """``name`` (estimator, outcome, treatment)."""
        return f"{self.name} ({self.estimator}, {self.outcome}, {self.treatment})"


class LiteratureSettings(_Strict):
    """How the literature moments are measured."""

    replications: int = Field(4, ge=1, le=10_000,
                              description="runs at the estimate (replications 0..L-1)")
    end_year: int | None = Field(None, ge=1990, le=2100,
                                 description="the runs' last year (default: the scenario's "
                                             "own, not the calibration's end_year)")


def add_outcomes(panel: pd.DataFrame) -> pd.DataFrame:
    """The panel with the derived outcomes and :data:`LITERATURE_OUTCOMES` (a copy)."""
    from sim.evaluation.panel import add_derived

    p = add_derived(panel)
    with np.errstate(divide="ignore", invalid="ignore"):
        p["innovator"] = (p["innovations"].to_numpy() > 0).astype(float)
        for name, col in (("log_productivity", "productivity"),
                          ("log_value_added", "value_added"),
                          ("log_employment", "employment"), ("log_exports", "exports")):
            v = p[col].to_numpy(dtype=float)
            p[name] = np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), np.nan)
    return p


def measure_panel(panel: pd.DataFrame, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every moment's estimate on one run's panel: effect and se (times ``scale``) or the
    estimator's error message."""
    from sim.evaluation import estimators as est

    p = add_outcomes(panel)
    out = []
    for s in specs:
        sub = p if s.get("last_year") is None else p[p["year"] <= s["last_year"]]
        t0 = time.perf_counter()
        try:
            e = est.get(s["estimator"]).estimate(sub, s["outcome"], s["treatment"])
            out.append({"effect": e.effect * s["scale"], "se": e.se * s["scale"], "error": "",
                        "seconds": time.perf_counter() - t0})
        except (est.EstimationError, ValueError, np.linalg.LinAlgError) as exc:
            out.append({"effect": math.nan, "se": math.nan,
                        "error": f"{type(exc).__name__}: {exc}",
                        "seconds": time.perf_counter() - t0})
    return out


_WARM = False  # whether this process has run the estimators once


def literature_batch(tasks: list[tuple[dict, str, int, int, list[dict]]]) -> list[dict]:
    """Run (scenario document, its hash, root seed, replication, moments) with the firm panel
    written and measure the moments on it (a worker's task; pure)."""
    import traceback

    from sim.experiment.runner import _scenario
    from sim.model import ClusterModel

    out = []
    for doc, digest, seed, rep, specs in tasks:
        t0 = time.perf_counter()
        rec: dict[str, Any] = {"replication": rep, "status": "ok", "error": ""}
        try:
            model = ClusterModel(_scenario(doc, digest), seed=seed, replication=rep,
                                 handles=False, panel=True)
            model.run()
            t1 = time.perf_counter()
            rec["run_seconds"] = t1 - t0
            panel = model.panel_frame()
            global _WARM
            if not _WARM:  # the process's first regressions compile pyfixest's kernels (about
                # 9 s, once per process): done once untimed, so the cost is the steady one
                measure_panel(panel, specs)
                _WARM = True
                rec["warmup_seconds"] = time.perf_counter() - t1
                t1 = time.perf_counter()
            rec["moments"] = measure_panel(panel, specs)
            rec["estimate_seconds"] = time.perf_counter() - t1
        except Exception:  # a failed run is reported, never turned into NaN silently
            rec["status"] = "failed"
            rec["error"] = traceback.format_exc()
        out.append(rec)
    return out


def scenario_document(problem: Any, values: dict[str, int | float],
                      end_year: int | None) -> Any:
    """The resolved scenario at ``values`` for the literature runs: the calibration's
    parameters, the panel on, and the scenario's own last year (or ``end_year``), not the
    calibration's truncation."""
    import copy

    from sim.loader import set_path, validate_document

    doc = copy.deepcopy(problem.base_doc)
    over: dict[str, Any] = {}
    for p in problem.params:
        v = values[p.path]
        over[p.path] = int(v) if p.is_int else float(v)
    over["run.panel"] = True
    if end_year is not None:
        over["time.end_year"] = end_year
    for k, v in over.items():
        set_path(doc, k, v)
    return validate_document(doc, str(problem.scenario_path), tuple(over))


def measure(problem: Any, values: dict[str, int | float], executor: Executor,
            workers: int = 1) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The literature moments at ``values`` (cached): the side-by-side table and the cost."""
    from sim.loader import scenario_hash
    from sim.results import atomic_write_bytes, model_fingerprint

    cfg = problem.config
    specs = [s.model_dump(mode="json") for s in cfg.literature]
    if not specs:
        return pd.DataFrame(), {}
    settings = cfg.literature_settings
    sc = scenario_document(problem, values, settings.end_year)
    doc, digest = sc.model_dump(mode="json"), scenario_hash(sc)
    reps = list(range(settings.replications))
    key = hashlib.sha256(json.dumps({"scenario": digest, "seed": cfg.seed, "replications": reps,
                                     "moments": specs, "model": model_fingerprint()},
                                    sort_keys=True).encode()).hexdigest()[:24]
    f = problem.cache_dir / "literature" / f"{key}.json"
    if f.exists():
        records = json.loads(f.read_text())["records"]
        cached = True
    else:
        size = max(1, math.ceil(len(reps) / (2 * max(1, workers))))
        batches = [[(doc, digest, cfg.seed, r, specs) for r in reps[i:i + size]]
                   for i in range(0, len(reps), size)]
        futures = [executor.submit(literature_batch, b) for b in batches]
        records = [rec for fut in futures for rec in fut.result()]
        failed = [r for r in records if r["status"] != "ok"]
        if failed:
            from calibration.smm import CalibrationError

            raise CalibrationError(f"{len(failed)} literature run(s) failed; the first, "
                                   f"replication {failed[0]['replication']}:\n"
                                   f"{failed[0]['error']}")
        atomic_write_bytes(f, (json.dumps({"key": key, "parameters": values,
                                           "scenario_hash": digest, "moments": specs,
                                           "records": records}, sort_keys=True)
                               + "\n").encode())
        cached = False
    rows = []
    for i, s in enumerate(cfg.literature):
        eff = np.array([r["moments"][i]["effect"] for r in records], float)
        se = np.array([r["moments"][i]["se"] for r in records], float)
        errors = [r["moments"][i]["error"] for r in records if r["moments"][i]["error"]]
        ok = np.isfinite(eff)
        mean = float(eff[ok].mean()) if ok.any() else math.nan
        lo, hi = (np.percentile(eff[ok], [2.5, 97.5]) if ok.any() else (math.nan, math.nan))
        rows.append({"moment": s.name, "estimator": s.estimator, "outcome": s.outcome,
                     "treatment": s.treatment, "unit": s.unit, "simulated": mean,
                     "lower": float(lo), "upper": float(hi),
                     "method_se": float(se[ok].mean()) if ok.any() else math.nan,
                     "low": s.low, "high": s.high,
                     "within": bool(ok.any() and s.low <= mean <= s.high),
                     "runs": int(ok.sum()), "errors": "; ".join(dict.fromkeys(errors)),
                     "source": s.source})
    cost = {"replications": len(reps), "cached": cached,
            "run_seconds": float(sum(r["run_seconds"] for r in records)),
            "estimate_seconds": float(sum(r["estimate_seconds"] for r in records)),
            "warmup_seconds": float(sum(r.get("warmup_seconds", 0.0) for r in records)),
            "warmed_workers": sum("warmup_seconds" in r for r in records),
            "end_year": sc.time.end_year}
    cost["seconds_per_replication"] = (cost["run_seconds"] + cost["estimate_seconds"]) / max(
        1, len(reps))
    return pd.DataFrame(rows), cost


__all__ = ["LITERATURE_OUTCOMES", "LiteratureSettings", "LiteratureSpec", "add_outcomes",
           "literature_batch", "measure", "measure_panel"]
