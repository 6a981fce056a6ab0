"""Validation: run a scenario over replications and set every target of a file against it.

Any targets file of the form of ``calibration/targets/*.toml`` works (catalogue indicators, any
year of the run, ``where`` selectors).  For each target the table gives the observed value, the
simulated mean with its 95% t-interval, the 2.5-97.5% range of the replications, and whether
the mean lies within the target's tolerance.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiment.analysis import t_interval
from sim.experiment.runner import local_pool, prime_kernels, run_batch
from sim.figures import fit_figure
from sim.loader import embedded_path, load_scenario, scenario_hash
from sim.results import atomic_write_bytes
from sim.targets import Target, check_against, default_targets_path, load_targets, lookup


def simulate(scenario_path: Path | None, reps: int, seed: int, workers: int = 2,
             overrides: dict | None = None, batch: int = 5,
             progress: bool = False) -> pd.DataFrame:
    """Tidy indicators of ``reps`` replications of a scenario (replication r seeded with
    ``SeedSequence(seed, spawn_key=(r,))``), run in batches on a local pool (with a progress
    bar on standard error when ``progress``)."""
    sc = load_scenario(scenario_path, overrides=overrides)
    doc, digest = sc.model_dump(mode="json"), scenario_hash(sc)
    tasks = [(sc.name, doc, digest, seed, r) for r in range(reps)]
    batches = [tasks[i:i + batch] for i in range(0, len(tasks), batch)]
    if workers > 1:
        prime_kernels()
    ex = local_pool(workers)
    frames, failures = [], []
    bar = None
    if progress:
        from sim.progress import progress_bar

        bar = progress_bar(reps, unit="run", desc="validate", file=sys.stderr)
    try:
        for records, series in ex.map(run_batch, batches):
            failures += [r for r in records if r["status"] != "ok"]
            if series:
                frames.append(pd.read_parquet(io.BytesIO(series)))
            if bar is not None:
                bar.update(len(records))
    finally:
        if bar is not None:
            bar.close()
        ex.shutdown()
    if failures:
        raise RuntimeError(f"{len(failures)} replication(s) failed; first error:\n"
                           f"{failures[0]['error']}")
    return pd.concat(frames, ignore_index=True)


def fit_table(series: pd.DataFrame, targets: list[Target]) -> pd.DataFrame:
    """Observed against simulated for every target."""
    rows = []
    for t in targets:
        v = lookup(series, t).to_numpy(float)
        if not len(v):  # scenario_problems refuses such targets before anything runs
            raise RuntimeError(f"target {t.label} matches no row of the simulated indicators")
        mean, lo, hi = t_interval(v) if len(v) else (np.nan, np.nan, np.nan)
        rows.append({
            "target": t.label, "indicator": t.indicator, "year": t.year,
            "where": ",".join(f"{k}={w}" for k, w in sorted(t.where.items())),
            "observed": t.value, "tolerance": t.tolerance, "n": len(v), "simulated_mean": mean,
            "ci_low": lo, "ci_high": hi,
            "range_low": np.percentile(v, 2.5) if len(v) else np.nan,
            "range_high": np.percentile(v, 97.5) if len(v) else np.nan,
            "within_tolerance": bool(len(v) and abs(mean - t.value) <= t.tolerance + 1e-12),
            "source": t.source,
        })
    return pd.DataFrame(rows)




def validate(targets_path: str | Path | None, scenario_path: str | Path | None, reps: int,
             seed: int, out: str | Path, workers: int = 2,
             progress: bool = False) -> tuple[pd.DataFrame, Path]:
    """Run the scenario, compare it with every target, write the table and the figure."""
    scenario_path = Path(scenario_path) if scenario_path else embedded_path("baseline")
    targets = load_targets(targets_path)
    sc = load_scenario(scenario_path)
    check_against(targets, sc, str(targets_path or default_targets_path()))
    name = Path(targets_path).stem if targets_path else "wallonia_2004_2006"
    folder = Path(out) / f"validate-{sc.name}-{name}"
    folder.mkdir(parents=True, exist_ok=True)  # a folder that cannot be written fails at once
    series = simulate(scenario_path, reps, seed, workers, progress=progress)
    table = fit_table(series, targets)
    atomic_write_bytes(folder / "fit.csv", table.to_csv(index=False).encode())
    fit_figure(table, folder / "fit", f"Scenario {sc.name} against the targets of {name}: "
               f"{reps} replications, root seed {seed}; {int(table['within_tolerance'].sum())} "
               f"of {len(table)} targets within tolerance (a tolerance of zero is drawn as 0.5).")
    return table, folder
