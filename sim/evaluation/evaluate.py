"""``clustersim evaluate``: a policy run against its counterfactual twin, over replications,
through the experiment engine (issue 15, sections 2 and 3).

The scenario and its twin are the two variants of one comparison design
(:func:`sim.experiment.runner.run_design` with the variants resolved here): keyed seeds,
common random numbers (replication r of both starts from the same world and streams), the
resumable store.  Both write the firm panel (``run.panel``), stored beside each run
(``runs/<variant>/<replication>/``).  Each replication is then evaluated once and cached
(``evaluation/<settings>/<replication>/``): the true effects (:func:`~sim.evaluation.truth.
true_effects`), the economy's totals, additionality and deadweight, the cost per outcome and
the estimators on the policy run's panel.  Over the replications the tables are written as
CSV with a figure:

============================  =============================================================
``true_effects.csv``          effect on the treated and the untreated, overall, by year and by
                              event time, mean with a 95% t-interval over replications and
                              the central 95% of the replications
``aggregate_effects.csv``     the economy's totals (new firms included), policy - twin
``additionality.csv``         additional participations and innovations, additionality and
                              deadweight shares
``cost_per_outcome.csv``      public EUR per job, innovation, new firm, EUR of exports and of
                              value added, whole policy and by instrument, bootstrap interval
``estimators.csv``            each estimator: mean estimate, true effect, bias, RMSE,
                              coverage of its 95% interval over replications
``estimators.png`` (.pdf)     the estimates and intervals against the true effect
============================  =============================================================

The default counterfactual (``"none"``) is the same world with no cluster policy (no
clusters: no animation, membership or cluster partnerships) and no competitiveness poles;
any scenario file can be named instead.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.evaluation.panel import GRANT_INSTRUMENTS, TREATMENTS
from sim.evaluation.truth import TRUTH_OUTCOMES

EVAL_OUTCOMES = ("employment", "value_added", "productivity", "exports", "innovations")
TRUTH_TREATMENTS = ("cluster", "pole", "funded")


class EvaluationDesign(BaseModel):
    """An evaluation design file (``kind = "evaluation"``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1, max_length=80)
    description: str = Field("", max_length=4000)
    kind: Literal["evaluation"]
    scenario: str = Field(description="the policy scenario (file relative to the design, or "
                                      "an embedded name)")
    counterfactual: str = Field("none", description="'none' (no cluster policy, no poles) or "
                                                   "a scenario file or embedded name")
    treatment: str = Field("cluster", description="treatment group the estimators evaluate")
    replications: int = Field(100, ge=1, le=100_000)
    seed: int = Field(20010101, ge=0, le=2**63 - 1)
    outcomes: list[str] = Field(default_factory=lambda: list(EVAL_OUTCOMES), min_length=1)
    estimators: list[str] | None = None
    parameter_draws: int = Field(0, ge=0, le=100_000)

    @field_validator("name")
    @classmethod
    def _plain(cls, v: str) -> str:
        from sim.loader import plain_name

        return plain_name(v)

    @field_validator("treatment")
    @classmethod
    def _treatment(cls, v: str) -> str:
        if v not in TREATMENTS:
            raise ValueError(f"unknown treatment {v!r}; known: {', '.join(TREATMENTS)}")
        return v

    @field_validator("outcomes")
    @classmethod
    def _outcomes(cls, v: list[str]) -> list[str]:
        bad = [o for o in v if o not in TRUTH_OUTCOMES]
        if bad:
            raise ValueError(f"unknown outcome(s) {bad}; known: {', '.join(TRUTH_OUTCOMES)}")
        return v

    @field_validator("estimators")
    @classmethod
    def _estimators(cls, v: list[str] | None) -> list[str] | None:
        from sim.evaluation import estimators as est

        bad = [e for e in (v or []) if e not in est.REGISTRY]
        if bad:
            raise ValueError(f"unknown estimator(s) {bad}; registered: "
                             f"{', '.join(est.REGISTRY)}")
        return v


def load_evaluation(path: str | Path) -> tuple[EvaluationDesign, Path]:
    """Read and validate an evaluation design (all errors at once); returns it and its
    folder."""
    from sim.loader import ScenarioError, read_toml, validation_errors

    path = Path(path)
    doc = read_toml(path)
    problems = validation_errors(doc, EvaluationDesign)
    if problems:
        raise ScenarioError(str(path), problems)
    return EvaluationDesign.model_validate(doc), path.resolve().parent


def _load(ref: str, folder: Path):
    from sim.experiment.design import resolve
    from sim.loader import ScenarioError, load_scenario

    p = resolve(folder, ref)
    if isinstance(p, str):
        raise ScenarioError(ref, [p])
    return load_scenario(p)


def with_panel(sc, name: str | None = None):
    """The scenario with ``run.panel = true`` (and renamed)."""
    from sim.scenario import Scenario

    doc = sc.model_dump(mode="json")
    doc["run"]["panel"] = True
    if name is not None:
        doc["name"] = name
    return Scenario.model_validate(doc)


def no_policy(sc):
    """The counterfactual ``none``: the same world without the cluster policy (no clusters)
    and without the competitiveness poles."""
    from sim.scenario import Scenario

    doc = sc.model_dump(mode="json")
    doc["clusters"] = []
    doc["policy"]["poles"]["enabled"] = False
    doc["name"] = f"{sc.name}_no_policy"[:80]
    doc["description"] = f"{sc.name} without the cluster policy and the poles (twin)"
    return Scenario.model_validate(doc)


def twin_scenarios(design: EvaluationDesign, folder: Path):
    """(policy, twin) scenarios with the panel on."""
    policy = _load(design.scenario, folder)
    twin = no_policy(policy) if design.counterfactual == "none" else _load(
        design.counterfactual, folder)
    if twin.name == policy.name:
        twin = with_panel(twin, f"{twin.name}_twin")
    if (twin.time.start_year, twin.time.end_year) != (policy.time.start_year,
                                                      policy.time.end_year):
        from sim.loader import ScenarioError

        raise ScenarioError("counterfactual", [
            f"the twin runs {twin.time.start_year}-{twin.time.end_year}, the scenario "
            f"{policy.time.start_year}-{policy.time.end_year}: a twin covers the same years"])
    return with_panel(policy), with_panel(twin)


# ------------------------------------------------------------------------------ one replication
def _read(store_root: Path, variant: str, rep: int):
    from sim.evaluation.panel import validate_panel
    from sim.evaluation.truth import RunProjects
    from sim.panel import read_run

    folder = store_root / "runs" / variant / f"{rep:06d}"
    panel, projects, members, spend = read_run(folder)
    return validate_panel(panel, str(folder)), RunProjects(projects, members), spend


def evaluate_replication(store_root: str, policy: str, twin: str, rep: int,
                         settings: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Every table of one replication (each with a ``replication`` column)."""
    import warnings

    from sim.evaluation.truth import (
        additionality,
        aggregate_effects,
        cost_per_outcome,
        evaluate_pair,
        true_att,
        true_effects,
    )

    root = Path(store_root)
    p, pp, sp = _read(root, policy, rep)
    t, tp, st = _read(root, twin, rep)
    treatment = settings["treatment"]
    outcomes = tuple(settings["outcomes"])
    truth = true_effects(p, t, TRUTH_TREATMENTS, TRUTH_OUTCOMES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimates, truth_t = evaluate_pair(p, t, outcomes, treatment,
                                           settings["estimators"])
    att = true_att(truth_t)
    def to_institutions(panel: pd.DataFrame) -> float:  # grants to research and training
        inst = ~panel["actor_type"].isin(["sme", "large_firm"]).to_numpy()  # actors' rows
        return float(panel.loc[inst, [f"grant_{k}_eur" for k in GRANT_INSTRUMENTS]].sum().sum())

    # public money that pays no company row: the animation subsidy, the grants of the
    # universities and research and training centres, and what no living actor's row holds
    other = {"animation": sp["paid_animation"] - st["paid_animation"],
             "institutions": to_institutions(p) - to_institutions(t),
             "unattributed": sum(sp[f"unattributed_{k}"] - st[f"unattributed_{k}"]
                                 for k in GRANT_INSTRUMENTS)}
    out = {"truth": truth, "estimates": estimates, "true_att": att,
           "aggregate": aggregate_effects(p, t),
           "additionality": additionality(p, t, pp, tp),
           "costs": cost_per_outcome(p, t, other_spend=other),
           "spend": pd.DataFrame([{"variant": v, **s} for v, s in ((policy, sp), (twin, st))])}
    for df in out.values():
        df.insert(0, "replication", rep)
    return out


def _cached(folder: Path, tables: tuple[str, ...]) -> dict[str, pd.DataFrame] | None:
    if not (folder / "done").exists():
        return None
    return {k: pd.read_parquet(folder / f"{k}.parquet") for k in tables}


def _save(folder: Path, out: dict[str, pd.DataFrame]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k, df in out.items():
        df.to_parquet(folder / f"{k}.parquet", index=False)
    (folder / "done").write_text("ok\n")


TABLES = ("truth", "estimates", "true_att", "aggregate", "additionality", "costs", "spend")


ANALYSIS_VERSION = 2  # part of the cache key: bump when the analysis of a replication changes


def evaluation_pool(workers: int):
    """Processes for the per-replication analysis, each with single-threaded BLAS: the
    estimators' dense algebra on many small problems runs several times faster on one thread
    per process than with OpenBLAS's threads fighting over the cores.  The workers are
    spawned (a fresh interpreter reads the environment when NumPy loads)."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor

    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    return ProcessPoolExecutor(max_workers=max(1, workers), mp_context=mp.get_context("spawn"))


def _evaluate_job(args):
    root, policy, twin, rep, settings = args
    return rep, evaluate_replication(root, policy, twin, rep, settings)


# ------------------------------------------------------------------------------ the whole
@dataclass
class EvaluationResult:
    """What :func:`run_evaluation` produced."""

    folder: Path
    tables: dict[str, pd.DataFrame]
    files: list[Path] = field(default_factory=list)
    wall_seconds: float = 0.0
    run_seconds: float = 0.0
    failed: int = 0


def run_evaluation(design: EvaluationDesign, folder: Path, out: str | Path, *, workers: int = 1,
                   progress: bool = True, figure: bool = True) -> EvaluationResult:
    """Run the scenario and its twin (resuming), evaluate every replication, write the
    tables and the figure into the store's ``tables`` folder."""
    from sim.evaluation import estimators as est
    from sim.experiment.design import Design
    from sim.experiment.runner import run_design

    t0 = time.perf_counter()
    policy, twin = twin_scenarios(design, folder)
    cmp = Design.model_validate({
        "name": design.name, "description": design.description, "kind": "compare",
        "scenarios": [design.scenario, design.counterfactual if design.counterfactual !=
                      "none" else f"{design.scenario} without the policy"],
        "replications": design.replications, "seed": design.seed,
        "indicators": ["employment", "members_total"]})
    resolved = [(policy.name, policy, {}), (twin.name, twin, {})]
    if design.parameter_draws:
        from sim.experiment.draws import add_draws

        resolved = add_draws(resolved, design.parameter_draws, design.seed)
    outcome = run_design(cmp, out, workers=workers, folder=folder, progress=progress,
                         resolved=resolved)
    run_seconds = time.perf_counter() - t0
    store = outcome.store
    runs = store.load_runs()
    settings = {"treatment": design.treatment, "outcomes": list(design.outcomes),
                "estimators": list(design.estimators or est.DEFAULT_SET),
                "version": ANALYSIS_VERSION}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    sets = [("", policy.name, twin.name)]
    if design.parameter_draws:
        from sim.experiment.draws import SUFFIX

        sets.append((SUFFIX, policy.name + SUFFIX, twin.name + SUFFIX))
    tables: dict[str, pd.DataFrame] = {}
    files: list[Path] = []
    for suffix, pkey, tkey in sets:
        sel = runs[(runs["status"] == "ok") & runs["variant"].isin([pkey, tkey])]
        ok = sel.groupby("replication")["variant"].nunique()
        reps = sorted(int(r) for r in ok.index[ok == 2])
        combined = _evaluate_all(store.root, pkey, tkey, reps, settings,
                                 store.root / "evaluation" / (key + suffix), workers, progress)
        if not combined:
            continue
        t = summarise_evaluation(combined)
        name = "" if not suffix else "_parameters"
        files += write_tables({k + name: v for k, v in t.items()}, combined,
                              store.root / "tables", design, figure=figure and not suffix,
                              suffix=name)
        tables.update({k + name: v for k, v in t.items()})
    if design.parameter_draws and "true_effects_parameters" in tables:
        side = intervals_side_by_side(tables)
        tables["intervals"] = side
        path = store.root / "tables" / "intervals.csv"
        side.to_csv(path, index=False)
        files.append(path)
    return EvaluationResult(store.root, tables, files, time.perf_counter() - t0, run_seconds,
                            outcome.failed)


def _evaluate_all(root: Path, pkey: str, tkey: str, reps: list[int], settings: dict,
                  cache: Path, workers: int, progress: bool) -> dict[str, pd.DataFrame]:
    """The per-replication tables of the pairs (pkey, tkey), from the cache or computed."""
    results: dict[int, dict[str, pd.DataFrame]] = {}
    todo = []
    for r in reps:
        got = _cached(cache / f"{r:06d}", TABLES)
        if got is None:
            todo.append((str(root), pkey, tkey, r, settings))
        else:
            results[r] = got
    if todo:
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(reps), initial=len(results), unit="rep",
                       desc=f"evaluation {pkey}", dynamic_ncols=True, file=sys.stderr)
        ex = evaluation_pool(workers)
        try:
            futs = [ex.submit(_evaluate_job, job) for job in todo]
            for f in as_completed(futs):
                r, res = f.result()
                _save(cache / f"{r:06d}", res)
                results[r] = res
                if bar is not None:
                    bar.update(1)
        finally:
            ex.shutdown(wait=True, cancel_futures=True)
            if bar is not None:
                bar.close()
    return {k: pd.concat([results[r][k] for r in sorted(results)], ignore_index=True)
            for k in TABLES} if results else {}


def intervals_side_by_side(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The overall true effects and the whole policy's costs with both intervals: over the
    replications at the calibrated parameters (model noise only) and over those with a
    parameter draw each (noise and parameter uncertainty)."""
    keys = ["treatment", "group", "outcome", "unit"]
    cols = ["n", "mean", "ci_low", "ci_high", "q_low", "q_high"]
    a, b = (tables[k] for k in ("true_effects", "true_effects_parameters"))
    a = a[a["scope"] == "overall"][keys + cols]
    b = b[b["scope"] == "overall"][keys + cols]
    t = a.merge(b, on=keys, suffixes=("_noise", "_params"))
    t.insert(0, "table", "true_effect")
    ckeys = ["scope", "instrument", "outcome", "unit"]
    ccols = ["n", "cost_eur_per_unit", "ci_low", "ci_high"]
    c = tables["cost_per_outcome"][ckeys + ccols].merge(
        tables["cost_per_outcome_parameters"][ckeys + ccols], on=ckeys,
        suffixes=("_noise", "_params"))
    c = c[c["scope"] == "economy"].rename(columns={"scope": "group", "instrument": "treatment",
                                                   "cost_eur_per_unit_noise": "mean_noise",
                                                   "cost_eur_per_unit_params": "mean_params"})
    c.insert(0, "table", "cost_per_outcome")
    return pd.concat([t, c], ignore_index=True)


def summarise_evaluation(c: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables over replications from the per-replication ones."""
    from sim.evaluation.truth import score, summarise, summarise_costs

    truth = summarise(c["truth"], "effect", ["treatment", "group", "outcome", "unit", "scope",
                                             "period"])
    agg = summarise(c["aggregate"], "effect", ["outcome", "year"])
    add = c["additionality"]
    adds = []
    for col in ("supported", "with_policy", "without_policy", "additional",
                "additionality_share", "deadweight_share"):
        s = summarise(add.dropna(subset=[col]), col, ["kind", "quantity"])
        s.insert(2, "measure", col)
        adds.append(s)
    costs = summarise_costs(c["costs"])
    est = c["estimates"]
    scores = score(est, c["true_att"])
    return {"true_effects": truth, "aggregate_effects": agg,
            "additionality": pd.concat(adds, ignore_index=True), "cost_per_outcome": costs,
            "estimators": scores}


def write_tables(tables: dict[str, pd.DataFrame], combined: dict[str, pd.DataFrame],
                 folder: Path, design: EvaluationDesign, figure: bool = True,
                 suffix: str = "") -> list[Path]:
    """Write the CSV tables (and the per-replication estimates) and the figure."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, df in tables.items():
        path = folder / f"{name}.csv"
        df.to_csv(path, index=False)
        files.append(path)
    if combined:
        path = folder / f"estimates_by_replication{suffix}.csv"
        combined["estimates"].to_csv(path, index=False)
        files.append(path)
    if figure and combined:
        from sim.evaluation.report import figure_estimates

        files += figure_estimates(
            combined["estimates"], combined["true_att"], folder / "estimators",
            f"{design.name}: estimators against the true effect on the treated "
            f"({design.treatment})")
    return files


def format_summary(tables: dict[str, pd.DataFrame], treatment: str) -> str:
    """A plain-text digest of the tables for the terminal."""
    from sim.evaluation.report import format_scores

    lines = []
    t = tables.get("true_effects")
    if t is not None and len(t):
        sel = t[(t["scope"] == "overall") & (t["treatment"] == treatment)]
        lines.append(f"True effects over the treated years ({treatment}; mean over "
                     "replications [95% CI]):")
        for _, r in sel.iterrows():
            lines.append(f"  {r['group']:9s} {r['outcome']:12s} {r['mean']:12.4g} "
                         f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}] {r['unit']}")
    a = tables.get("additionality")
    if a is not None and len(a):
        sel = a[a["measure"].isin(["additionality_share", "deadweight_share"])]
        lines.append("Additionality and deadweight (share of supported; own R&D: extra own "
                     "R&D per EUR of R&D grant, below 0 crowding out; mean [95% CI]):")
        for _, r in sel.iterrows():
            if not np.isfinite(r["mean"]):  # e.g. the deadweight of own R&D money
                continue
            lines.append(f"  {r['kind']:8s} {r['quantity']:22s} {r['measure']:20s} "
                         f"{r['mean']:8.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
    c = tables.get("cost_per_outcome")
    if c is not None and len(c):
        sel = c[c["scope"] == "economy"]
        lines.append("Cost per outcome, whole policy (EUR per unit [95% bootstrap CI]):")
        for _, r in sel.iterrows():
            lines.append(f"  {r['outcome']:12s} spend {r['spend_eur']:12.4g} effect "
                         f"{r['effect']:12.4g} cost {r['cost_eur_per_unit']:12.4g} "
                         f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}] {r['note']}")
    iv = tables.get("intervals")
    if iv is not None and len(iv):
        sel = iv[(iv["table"] == "cost_per_outcome") | ((iv["treatment"] == treatment)
                                                        & (iv["group"] == "treated"))]
        lines.append("Both intervals (95%): model noise only | with parameter uncertainty:")
        for _, r in sel.iterrows():
            lines.append(f"  {r['table']:16s} {r['outcome']:12s} {r['mean_noise']:11.4g} "
                         f"[{r['ci_low_noise']:.4g}, {r['ci_high_noise']:.4g}] | "
                         f"{r['mean_params']:11.4g} [{r['ci_low_params']:.4g}, "
                         f"{r['ci_high_params']:.4g}]")
    s = tables.get("estimators")
    if s is not None and len(s):
        lines.append("Estimators against the true effect on the treated:")
        lines.append(format_scores(s, fmt="plain"))
    return "\n".join(lines)
