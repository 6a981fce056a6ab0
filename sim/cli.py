"""Command line: ``clustersim run | check | indicators | compare | sweep | sensitivity | figures``.

``clustersim run`` with no argument runs the embedded baseline (Wallonia 2001-2012), prints the
key indicators by year next to the seed's observed figures, and writes the tidy results
(Parquet), a manifest and a figure to an output folder.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from sim.loader import ScenarioError, embedded_path, load_scenario, scenario_hash

SUMMARY_ROWS = (
    ("clusters_active", "total", ""),
    ("clusters_dropped", "total", ""),
    ("members_total", "total", ""),
    ("members_enterprises", "total", ""),
    ("members_enterprise_share", "total", ""),
    ("members_rd", "total", ""),
    ("partnerships_active", "total", ""),
    ("partnerships_launched", "total", ""),
    ("partnerships_launched_cumulative", "total", ""),
    ("partnership_members_involved", "total", ""),
    ("new_enterprises", "total", ""),
    ("new_enterprises_partnership", "total", ""),
    ("intercluster_partnerships_active", "total", ""),
    ("poles_selected", "total", ""),
    ("pole_projects_funded", "total", ""),
    ("pole_budget_left_eur", "total", ""),
    ("productivity", "group", "members"),
    ("productivity", "group", "non_members"),
    ("exporters_share", "group", "members"),
    ("exporters_share", "group", "non_members"),
)


def _fmt(v: float) -> str:
    if pd.isna(v):
        return ""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e4:
        return f"{v / 1e3:.0f}k"
    if a != int(a) and a < 10:
        return f"{v:.2f}"
    return f"{v:.0f}"


def summary_table(results: pd.DataFrame, targets) -> pd.DataFrame:
    """Key indicators (rows) by year (columns); a cell with a seed figure reads 'sim [obs]'."""
    obs = {(t.indicator, t.year): t.value for t in targets if not t.where}
    years = sorted(results["year"].unique())
    table = {}
    for name, by, key in SUMMARY_ROWS:
        d = results[(results["indicator"] == name) & (results["by"] == by)
                    & (results["key"] == key)].groupby("year")["value"].mean()
        label = name if by == "total" else f"{name}[{key}]"
        row = {}
        for y in years:
            cell = _fmt(d.get(y, float("nan")))
            if (name, y) in obs and by == "total":
                cell += f" [{_fmt(obs[(name, y)])}]"
            row[y] = cell
        table[label] = row
    return pd.DataFrame.from_dict(table, orient="index", columns=years)


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario and write its results."""
    from sim.figures import run_overview
    from sim.results import manifest, run_one, write_json, write_parquet
    from sim.targets import load_targets

    path = Path(args.scenario) if args.scenario else embedded_path("baseline")
    sc = load_scenario(path)
    seed = sc.run.seed if args.seed is None else args.seed
    t0 = time.perf_counter()
    df, facts = run_one(sc, seed, replication=args.replication)
    elapsed = time.perf_counter() - t0
    targets = load_targets()
    table = summary_table(df, targets)
    out = Path(args.out) / f"{sc.name}-seed{seed}-rep{args.replication}"
    write_parquet(df, out / "indicators.parquet")
    write_json(manifest(sc, seed, [args.replication], facts, str(path)), out / "manifest.json")
    table.to_csv(out / "summary.csv")
    figs = [] if args.no_figure else run_overview(
        df, targets if sc.run.scale == 1.0 else [], out / "overview",
        f"Scenario {sc.name}, root seed {seed}, replication {args.replication} (one run).")
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(f"Scenario {sc.name} ({path}), seed {seed}, replication {args.replication}: "
              f"{sc.time.start_year}-{sc.time.end_year}, {sc.n_quarters} quarters, "
              f"{elapsed:.2f} s")
        print("Key indicators on 31 December ([observed] = the seed's figure):")
        print(table.to_string())
    drops = [f"{e['cluster']} ({e['year']})" for e in facts["evaluations"] if e["dropped"]]
    print(f"Clusters dropped by the Region's evaluation: {', '.join(drops) or 'none'}")
    print(f"Results written to {out}/: indicators.parquet (tidy: scenario, replication, seed, "
          f"indicator, year, by, key, value), manifest.json, summary.csv"
          + (", " + ", ".join(p.name for p in figs) if figs else ""))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Validate scenario files without running them."""
    status = 0
    for f in args.files:
        try:
            sc = load_scenario(f)
        except ScenarioError as exc:
            print(exc, file=sys.stderr)
            status = 1
            continue
        print(f"{f}: OK (scenario {sc.name!r}, {len(sc.clusters)} clusters, "
              f"{len(sc.world.sectors)} sectors, {sc.n_quarters} quarters, "
              f"hash {scenario_hash(sc)[:12]})")
    return status


def cmd_indicators(args: argparse.Namespace) -> int:
    """Print the indicator catalogue."""
    from sim.indicators import CATALOGUE

    for ind in CATALOGUE:
        print(f"{ind.name:36s} [{ind.unit}] by {', '.join(ind.by)}\n    {ind.definition}")
    return 0


DEFAULT_COMPARE_INDICATORS = ("clusters_active", "members_total",
                              "partnerships_launched_cumulative", "new_enterprises",
                              "intercluster_partnerships_active")


def _csv(text: str | None) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()] if text else []


def _execute(design, args, folder=None) -> int:
    """Run a design (resuming), print its report, return the exit status."""
    from sim.experiment.report import format_compare, report
    from sim.experiment.runner import StoreMismatch, dask_executor, run_design

    executor = client = None
    if getattr(args, "scheduler", None):
        executor, client = dask_executor(args.scheduler)
    try:
        outcome = run_design(design, args.out, workers=args.jobs, executor=executor,
                             folder=folder, progress=not args.quiet,
                             retry_failed=args.retry_failed)
    except KeyboardInterrupt:
        return 130
    except StoreMismatch as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        if client is not None:
            client.close()
    if outcome.failed:
        print(f"{outcome.failed} run(s) failed: their tracebacks are in "
              f"{outcome.store.root}/runs.parquet (column error); fix the cause and re-run with "
              f"--retry-failed ({outcome.total} runs in all)", file=sys.stderr)
    tables = report(outcome.store)
    if "compare" in tables:
        print(format_compare(tables["compare"]))
    if "sensitivity" in tables:
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(tables["sensitivity"].round(4).to_string(index=False))
    elif "sweep" in tables:
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(tables["sweep"].drop(columns="variant").round(4).to_string(index=False))
    print(f"{outcome.total} runs: {outcome.ran} run now, {outcome.skipped} already stored, "
          f"{outcome.failed} failed; {outcome.wall_seconds:.1f} s.  Store, tables and figures: "
          f"{outcome.store.root}/")
    return 1 if outcome.failed else 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare scenarios over replications with common random numbers."""
    from sim.experiment.design import validate_design

    names = [Path(f).stem for f in args.scenarios]
    try:
        years = [int(y) for y in _csv(args.years)] or [2004, 2006, 2009, 2012]
    except ValueError:
        raise ScenarioError("command line", [f"--years: expected comma-separated years "
                                             f"(got {args.years!r})"]) from None
    doc = {"name": args.name or "compare-" + "-vs-".join(names)[:60], "kind": "compare",
           "scenarios": [str(Path(f).resolve()) for f in args.scenarios],
           "replications": args.reps, "seed": args.seed,
           "indicators": _csv(args.indicators) or list(DEFAULT_COMPARE_INDICATORS),
           "years": years}
    design = validate_design(doc, "command line", Path.cwd())
    return _execute(design, args)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep or sensitivity design file."""
    return _execute(args.design, args)


def cmd_figures(args: argparse.Namespace) -> int:
    """Redraw the tables and figures of a stored experiment."""
    from sim.experiment.report import report
    from sim.experiment.store import Store

    store = Store(Path(args.store))
    if not (store.root / "manifest.json").exists():
        print(f"{store.root}: not an experiment store (no manifest.json)", file=sys.stderr)
        return 2
    report(store)
    print(f"figures and tables redrawn in {store.root}/")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Set a scenario against every target of a targets file."""
    from sim.validation import validate

    table, folder = validate(args.targets, args.scenario, args.reps, args.seed, args.out,
                             workers=args.jobs)

    def f(x: float) -> str:
        return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"

    shown = pd.DataFrame({
        "target": table["target"], "observed": table["observed"].map(f),
        "simulated mean [95% CI]": [f"{f(m)} [{f(lo)}, {f(hi)}]" for m, lo, hi in
                                    zip(table["simulated_mean"], table["ci_low"],
                                        table["ci_high"], strict=True)],
        "2.5-97.5% of runs": [f"{f(lo)} - {f(hi)}" for lo, hi in
                              zip(table["range_low"], table["range_high"], strict=True)],
        "tolerance": table["tolerance"].map(f),
        "within": table["within_tolerance"].map({True: "yes", False: "NO"}),
    })
    with pd.option_context("display.width", 250, "display.max_colwidth", 60):
        print(shown.to_string(index=False))
    ok = int(table["within_tolerance"].sum())
    print(f"{ok} of {len(table)} targets within tolerance ({args.reps} replications, seed "
          f"{args.seed}).  Table and figure: {folder}/")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Estimate behavioural parameters by the simulated method of moments (resumes)."""
    from calibration.smm import main_calibrate

    return main_calibrate(args.config, workers=args.jobs, scheduler=args.scheduler,
                          progress=not args.quiet, write=args.write)


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-j", "--jobs", type=int, default=2, help="local worker processes (default 2)")
    p.add_argument("--scheduler", help="run on a Dask cluster at this address (tcp://host:port)")
    p.add_argument("--out", default="experiments/output",
                   help="folder of stores (default experiments/output)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--retry-failed", action="store_true",
                   help="run again the runs stored as failed (after fixing their cause)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``clustersim``."""
    p = argparse.ArgumentParser(prog="clustersim", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a scenario (the embedded baseline by default)")
    r.add_argument("scenario", nargs="?", help="scenario TOML file")
    r.add_argument("--seed", type=int, help="root seed (default: the scenario's run.seed)")
    r.add_argument("--replication", type=int, default=0, help="replication index (default 0)")
    r.add_argument("--out", default="results", help="output folder (default: ./results)")
    r.add_argument("--no-figure", action="store_true", help="skip the figure")
    r.set_defaults(func=cmd_run)
    c = sub.add_parser("check", help="validate scenario files without running them")
    c.add_argument("files", nargs="+")
    c.set_defaults(func=cmd_check)
    i = sub.add_parser("indicators", help="list the indicator catalogue")
    i.set_defaults(func=cmd_indicators)
    cp = sub.add_parser("compare", help="compare scenarios over replications (common random "
                        "numbers), with intervals and paired differences")
    cp.add_argument("scenarios", nargs="+", help="scenario files; the first is the reference")
    cp.add_argument("--reps", type=int, default=50, help="replications per scenario (default 50)")
    cp.add_argument("--seed", type=int, default=20010101, help="root seed")
    cp.add_argument("--indicators", help="comma-separated indicator names")
    cp.add_argument("--years", help="comma-separated years (default 2004,2006,2009,2012)")
    cp.add_argument("--name", help="store name (default compare-<a>-vs-<b>)")
    _run_options(cp)
    cp.set_defaults(func=cmd_compare)
    sw = sub.add_parser("sweep", help="run a design file (compare, sweep or sensitivity); "
                        "re-running resumes")
    sw.add_argument("design")
    _run_options(sw)
    sw.set_defaults(func=cmd_sweep)
    se = sub.add_parser("sensitivity", help="run a sensitivity design (Morris or Sobol) and "
                        "print its indices")
    se.add_argument("design")
    _run_options(se)
    se.set_defaults(func=cmd_sweep)
    va = sub.add_parser("validate", help="set a scenario (the calibrated baseline by default) "
                        "against every target of a targets file")
    va.add_argument("--targets", help="targets file (default: the seed's 2001-2006 figures, "
                    "calibration/targets/wallonia_2004_2006.toml)")
    va.add_argument("--scenario", help="scenario file (default: the embedded baseline)")
    va.add_argument("--reps", type=int, default=50, help="replications (default 50)")
    va.add_argument("--seed", type=int, default=20010101, help="root seed")
    va.add_argument("-j", "--jobs", type=int, default=2, help="local worker processes")
    va.add_argument("--out", default="calibration/output", help="output folder")
    va.set_defaults(func=cmd_validate)
    ca = sub.add_parser("calibrate", help="estimate behavioural parameters against the "
                        "targets (simulated method of moments); re-running resumes")
    ca.add_argument("config", help="calibration file, e.g. calibration/wallonia.toml")
    ca.add_argument("-j", "--jobs", type=int, default=2, help="local worker processes (default 2)")
    ca.add_argument("--scheduler", help="run on a Dask cluster at this address (tcp://host:port)")
    ca.add_argument("--write", help="calibrated-parameters file to write (default: the config's "
                    "`write`, calibration/calibrated.toml for wallonia.toml)")
    ca.add_argument("--quiet", action="store_true", help="no progress bar")
    ca.set_defaults(func=cmd_calibrate)
    fg = sub.add_parser("figures", help="redraw the figures and tables of a stored experiment")
    fg.add_argument("store")
    fg.set_defaults(func=cmd_figures)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``clustersim`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
