"""Command line of clustersim, an agent-based model of the Walloon cluster policy (2001-) and
the competitiveness poles (2006).

``clustersim run`` with no argument runs the embedded baseline (Wallonia 2001-2012), prints the
key indicators by year next to the seed's observed figures, and writes the tidy results
(Parquet), a manifest and a figure to an output folder.

Errors are caught in one place (:func:`main`), which prints one clear line per problem (the
file, the key path, the value and what was expected) and exits with the same status for the
same kind of error whatever the command (:data:`EXIT_CODES`); ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import errno
import sys
import time
import traceback
import warnings
from pathlib import Path

import pandas as pd

from sim.loader import (
    EXIT_INPUT,
    ScenarioError,
    ScenarioWarning,
    embedded_path,
    load_scenario,
    scenario_hash,
)

EXIT_RUNS_FAILED = 1  # some runs raised (stored with their tracebacks)
EXIT_SYSTEM = 3  # the system refused: a folder read-only or full, a store in use, no scheduler
EXIT_INTERNAL = 70  # a bug of clustersim (EX_SOFTWARE)
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_CODES = {0: "done", EXIT_RUNS_FAILED: "some runs failed", EXIT_INPUT: "input refused",
              EXIT_SYSTEM: "the system refused", EXIT_INTERNAL: "internal error",
              EXIT_INTERRUPTED: "interrupted"}
MAX_SEED = 2**63 - 1  # the schema's bound of a root seed (stored as int64)
MAX_JOBS = 256
# commands that run the model (the first of them in a new environment compiles its kernels)
RUNS_THE_MODEL = {"run", "compare", "sweep", "sensitivity", "validate", "calibrate", "evaluate"}

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


def scenario_ref(text: str) -> Path:
    """The scenario a command-line argument names: a file, or an embedded scenario's name
    (``baseline``, ``no_evaluation``: a name without ``.toml`` that is no file here)."""
    p = Path(text)
    if p.suffix != ".toml" and not p.exists() and p.name == text:
        from sim.loader import embedded_names

        if text in embedded_names():
            return embedded_path(text)
    return p


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario and write its results."""
    from sim.figures import run_overview
    from sim.results import manifest, run_one, write_json, write_parquet
    from sim.targets import load_targets

    path = scenario_ref(args.scenario) if args.scenario else embedded_path("baseline")
    sc = load_scenario(path)
    seed = sc.run.seed if args.seed is None else args.seed
    out = Path(args.out) / f"{sc.name}-seed{seed}-rep{args.replication}"
    out.mkdir(parents=True, exist_ok=True)  # a folder that cannot be written fails before the run
    t0 = time.perf_counter()
    # a run already computed (same resolved scenario, seed, replication and model) is read
    # from the shared run cache: neither the model nor Numba's kernels are loaded
    df, facts = run_one(sc, seed, replication=args.replication,
                        cache=False if args.no_cache else None)
    elapsed = time.perf_counter() - t0
    columns = facts.pop("decision_columns")
    targets = load_targets()
    table = summary_table(df, targets)
    write_parquet(df, out / "indicators.parquet")
    writer = facts.pop("panel", None)  # run.panel = true: the firm panel and project table
    write_json(manifest(sc, seed, [args.replication], facts, str(path)), out / "manifest.json")
    table.to_csv(out / "summary.csv")
    pd.DataFrame(facts["decisions"], columns=columns).to_csv(
        out / "decisions.csv", index=False)
    panel_files = [p.name for p in writer.write(out)] if writer is not None else []
    caption = f"Scenario {sc.name}, root seed {seed}, replication {args.replication} (one run)."
    # at a terminal the figure is drawn by a process of its own (sim.figure_job): the command
    # returns when its tables are written, the figure follows (the same file, written whole)
    background = not args.no_figure and (
        args.figure == "background" or (args.figure == "auto" and _is_terminal(sys.stdout)))
    if args.no_figure:
        figs = []
    elif background:
        from sim.figure_job import start

        start(out / "indicators.parquet", out / "overview", caption, args.figure_formats,
              sc.run.scale == 1.0)
        figs = [(out / "overview").with_suffix(f".{ext}") for ext in args.figure_formats]
    else:
        figs = run_overview(df, targets if sc.run.scale == 1.0 else [], out / "overview",
                            caption, formats=args.figure_formats)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(f"Scenario {sc.name} ({path}), seed {seed}, replication {args.replication}: "
              f"{sc.time.start_year}-{sc.time.end_year}, {sc.n_quarters} quarters, "
              + (f"read from the run cache in {elapsed:.2f} s (computed in "
                 f"{facts['wall_seconds']:.2f} s; --no-cache runs it again)"
                 if facts.get("cached") else f"{elapsed:.2f} s"))
        print("Key indicators on 31 December ([observed] = the seed's figure):")
        print(table.to_string())
    drops = [f"{e['cluster']} ({e['year']})" for e in facts["evaluations"] if e["dropped"]]
    print(f"Clusters dropped by the Region's evaluation: {', '.join(drops) or 'none'}")
    print(f"Results written to {out}/: indicators.parquet (tidy: scenario, replication, seed, "
          f"indicator, year, by, key, value), manifest.json, summary.csv, decisions.csv (the "
          f"Region's decisions and their reasons)"
          + "".join(", " + f for f in panel_files)
          + (", " + ", ".join(p.name for p in figs) if figs else "")
          + (" (the figure is being drawn in the background: ready in a few seconds; "
             "--figure foreground waits for it)" if background else ""))
    return 0


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def cmd_check(args: argparse.Namespace) -> int:
    """Validate scenario files without running them."""
    status = 0
    for f in args.files:
        try:
            sc = load_scenario(scenario_ref(f))
        except ScenarioError as exc:
            print(exc, file=sys.stderr)
            status = exc.exit_code
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
    from sim.experiment.runner import dask_executor, run_design

    executor = client = None
    if getattr(args, "scheduler", None):
        executor, client = dask_executor(args.scheduler)
    try:
        outcome = run_design(design, args.out, workers=args.jobs, executor=executor,
                             folder=folder, progress=not args.quiet,
                             retry_failed=args.retry_failed,
                             cache=False if getattr(args, "no_cache", False) else None)
    finally:
        if client is not None:
            client.close()
    if outcome.failed:
        print(f"{outcome.failed} run(s) failed: their tracebacks are in "
              f"{outcome.store.root}/runs.parquet (column error); fix the cause and re-run with "
              f"--retry-failed ({outcome.total} runs in all)", file=sys.stderr)
    with outcome.store.lock():  # the report writes its tables and figures into the store
        tables = report(outcome.store)
    if "compare" in tables:
        print(format_compare(tables["compare"]))
    if "sensitivity" in tables:
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(tables["sensitivity"].round(4).to_string(index=False))
    elif "sweep" in tables:
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(tables["sweep"].drop(columns="variant").round(4).to_string(index=False))
    from_cache = f" ({outcome.cached} read from the run cache)" if outcome.cached else ""
    print(f"{outcome.total} runs: {outcome.ran} run now{from_cache}, {outcome.skipped} already "
          f"stored, "
          f"{outcome.failed} failed; {outcome.wall_seconds:.1f} s.  Store, tables and figures: "
          f"{outcome.store.root}/")
    return 1 if outcome.failed else 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare scenarios over replications with common random numbers."""
    from sim.experiment.design import validate_design

    names = [Path(f).stem for f in args.scenarios]
    # a file by its absolute path; an embedded scenario's name as it is (the design resolves it)
    refs = [f if Path(f).suffix != ".toml" and not Path(f).exists() else str(Path(f).absolute())
            for f in args.scenarios]
    try:
        years = [int(y) for y in _csv(args.years)] or [2004, 2006, 2009, 2012]
    except ValueError:
        raise ScenarioError("command line", [f"--years: expected comma-separated years "
                                             f"(got {args.years!r})"]) from None
    doc = {"name": args.name or "compare-" + "-vs-".join(names)[:60], "kind": "compare",
           "scenarios": refs,
           "replications": args.reps, "seed": args.seed,
           "indicators": _csv(args.indicators) or list(DEFAULT_COMPARE_INDICATORS),
           "years": years}
    design = validate_design(doc, "command line", Path.cwd())
    if args.parameter_draws:  # each variant also with the replication's parameter draw
        return _compare_with_draws(design, args)
    return _execute(design, args)


def _compare_with_draws(design, args) -> int:
    from sim.experiment.design import variants
    from sim.experiment.draws import add_draws, compare_with_draws, format_side_by_side
    from sim.experiment.runner import run_design

    vs = variants(design, Path.cwd())
    outcome = run_design(design, args.out, workers=args.jobs, progress=not args.quiet,
                         retry_failed=args.retry_failed,
                         resolved=add_draws(vs, args.parameter_draws, design.seed))
    table = compare_with_draws(outcome.store, vs[0][0], design.indicators, design.years)
    print(format_side_by_side(table))
    print(f"{outcome.total} runs ({design.replications} replications per variant, "
          f"{args.parameter_draws} with parameter draws): {outcome.ran} run now, "
          f"{outcome.failed} failed; {outcome.wall_seconds:.1f} s.  Table: "
          f"{outcome.store.root}/compare_parameters.csv")
    return 1 if outcome.failed else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """A policy scenario against its counterfactual twin: true effects, additionality, costs
    and the evaluator's estimators (sim.evaluation.evaluate)."""
    from sim.evaluation.evaluate import (
        EvaluationDesign,
        format_summary,
        load_evaluation,
        run_evaluation,
    )
    from sim.loader import read_toml, validation_errors

    path = Path(args.scenario)
    doc = read_toml(path) if path.suffix == ".toml" else {}
    if doc.get("kind") == "evaluation":
        design, folder = load_evaluation(path)
    else:  # a scenario (file or embedded name): a design made from the command line
        design, folder = None, Path.cwd()
    base = design.model_dump() if design is not None else {
        "name": "evaluate-" + path.stem, "kind": "evaluation", "scenario": str(args.scenario)}
    given = {"counterfactual": args.counterfactual, "replications": args.reps,
             "seed": args.seed, "treatment": args.treatment,
             "parameter_draws": args.parameter_draws}
    doc = {**base, **{k: v for k, v in given.items() if v is not None}}
    if args.name:
        doc["name"] = args.name
    problems = validation_errors(doc, EvaluationDesign)
    if problems:
        raise ScenarioError("command line", problems)
    design = EvaluationDesign.model_validate(doc)
    res = run_evaluation(design, folder, args.out, workers=args.jobs, progress=not args.quiet)
    with pd.option_context("display.width", 250):
        print(format_summary(res.tables, design.treatment))
    print(f"{design.replications} replications of {design.scenario} and its twin "
          f"({design.counterfactual}); runs {res.run_seconds:.1f} s, in all "
          f"{res.wall_seconds:.1f} s.  Panels: {res.folder}/runs/; tables and figure: "
          f"{res.folder}/tables/")
    return 1 if res.failed else 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep or sensitivity design file."""
    return _execute(args.design, args)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Run a sensitivity design file (refusing designs of another kind)."""
    from sim.experiment.design import load_design

    design, folder = load_design(args.design, kinds=("sensitivity",))
    return _execute(design, args, folder)


def cmd_figures(args: argparse.Namespace) -> int:
    """Redraw the tables and figures of a stored experiment."""
    from sim.experiment.report import report
    from sim.experiment.store import Store

    store = Store(Path(args.store))
    if not (store.root / "manifest.json").exists():
        print(f"{store.root}: not an experiment store (no manifest.json)", file=sys.stderr)
        return EXIT_INPUT
    with store.lock():
        store.verify()
        report(store)
    print(f"figures and tables redrawn in {store.root}/")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Set a scenario against every target of a targets file."""
    from sim.validation import validate

    _cache_off(args)
    scenario = scenario_ref(args.scenario) if args.scenario else None
    table, folder = validate(args.targets, scenario, args.reps, args.seed, args.out,
                             workers=args.jobs, progress=not args.quiet)

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


def _cache_off(args: argparse.Namespace) -> None:
    """``--no-cache``: turn the run cache off for this process and its workers (run_batch
    reads the environment in every worker, forked or spawned)."""
    if getattr(args, "no_cache", False):
        import os

        from sim.experiment.cache import OFF_ENV
        os.environ[OFF_ENV] = "1"


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Estimate behavioural parameters by the simulated method of moments (resumes)."""
    from calibration.smm import main_calibrate

    _cache_off(args)
    return main_calibrate(args.config, workers=args.jobs, scheduler=args.scheduler,
                          progress=not args.quiet, write=args.write, install=args.install)


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Run what is missing of a paper's designs; write its tables, figures and manifest."""
    from sim.experiment.runner import dask_executor
    from sim.reproduce import reproduce

    executor = client = None
    if args.scheduler:
        executor, client = dask_executor(args.scheduler)
    try:
        man = reproduce(args.paper, args.out, workers=args.jobs, executor=executor,
                        progress=not args.quiet)
    finally:
        if client is not None:
            client.close()
    return 1 if any(d["failed"] for d in man["designs"]) else 0


def cmd_view(args: argparse.Namespace) -> int:
    """Serve the interactive view (Mesa's SolaraViz) on 127.0.0.1, offline."""
    try:
        from sim.view.serve import missing_assets, scenario_path, serve
    except ImportError as exc:  # the view extra is not installed
        raise ScenarioError("clustersim view", [
            f"needs the `view` extra ({exc.name} is missing): pip install -e \".[view]\""]
        ) from None
    missing = missing_assets()
    if missing:
        raise ScenarioError("clustersim view", [
            f"Solara's page assets are not installed ({', '.join(missing)}): install the "
            "`view` extra, which brings solara-assets, so the page works offline"])
    path = scenario_path(args.scenario)
    if not path.is_file():
        raise ScenarioError(str(args.scenario), ["no such scenario file or shipped scenario"])
    serve(path, args.port)  # replaces this process
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    """List or prune the shared run cache."""
    import datetime as dt

    from sim.experiment.cache import RunCache, human_size, parse_age, parse_size
    from sim.results import model_fingerprint

    cache = RunCache.open(args.dir)
    if args.action == "list":
        entries = cache.entries()
        if not entries:
            print(f"run cache {cache.root}: empty")
            return 0
        here = model_fingerprint()
        groups: dict[tuple, list] = {}
        for e in entries:
            r = e.record
            groups.setdefault((r.get("scenario_name"), r.get("scenario_hash", "")[:12],
                               r.get("seed"), r.get("model")), []).append(e)
        rows = []
        for (name, digest, seed, model), es in groups.items():
            reps = sorted(int(e.record.get("replication", -1)) for e in es)
            last = dt.datetime.fromtimestamp(max(e.used for e in es), dt.UTC)
            rows.append({"scenario": name, "hash": digest, "seed": seed, "runs": len(es),
                         "replications": f"{reps[0]}-{reps[-1]}",
                         "model": model + (" (this one)" if model == here else ""),
                         "size": human_size(sum(e.bytes for e in es)),
                         "last used": last.strftime("%Y-%m-%d %H:%M")})
        with pd.option_context("display.width", 250, "display.max_colwidth", 40):
            print(pd.DataFrame(rows).to_string(index=False))
        print(f"run cache {cache.root}: {len(entries)} runs, "
              f"{human_size(sum(e.bytes for e in entries))} (clustersim cache prune "
              "--older-than 30d / --max-size 1G / --other-models to free space)")
        return 0
    try:
        age = parse_age(args.older_than) if args.older_than else None
        size = parse_size(args.max_size) if args.max_size else None
    except ValueError as exc:
        raise ScenarioError("command line", [f"cache prune: {exc}"]) from None
    if age is None and size is None and not args.other_models:
        raise ScenarioError("command line", ["cache prune: say what to remove: --older-than "
                                             "AGE, --max-size SIZE and/or --other-models"])
    if not cache.root.exists():
        print(f"run cache {cache.root}: empty")
        return 0
    n, freed = cache.prune(older_than=age, max_size=size,
                           other_models=model_fingerprint() if args.other_models else None)
    left = cache.entries()
    print(f"run cache {cache.root}: {n} runs removed, {human_size(freed)} freed; {len(left)} "
          f"runs ({human_size(sum(e.bytes for e in left))}) left")
    return 0


# ------------------------------------------------------------------------------ arguments
class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and the exit status of refused input)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print one line and exit with :data:`EXIT_INPUT`."""
        self.exit(EXIT_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _int_in(lo: int, hi: int, why: str = ""):
    """An argparse type: an integer from ``lo`` to ``hi``."""
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"expected an integer from {lo} to {hi}{why} (got {text!r})")
        return value
    return parse


def _formats(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated figure formats (png, pdf, svg)."""
    from sim.figures import FORMATS_ALL

    got = tuple(dict.fromkeys(_csv(text.lower())))
    bad = [f for f in got if f not in FORMATS_ALL]
    if not got or bad:
        raise argparse.ArgumentTypeError(f"expected formats among {', '.join(FORMATS_ALL)}, "
                                         f"comma-separated (got {text!r})")
    return got


SEED = _int_in(0, MAX_SEED, " (a root seed)")
REPLICATION = _int_in(0, 2**32 - 1, " (a replication index)")
JOBS = _int_in(1, MAX_JOBS, " (worker processes)")


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-j", "--jobs", type=JOBS, default=2, help="local worker processes (default 2)")
    p.add_argument("--scheduler", help="run on a Dask scheduler at this address "
                   "(tcp://host:port or tls://host:port; see the README, section Dask)")
    p.add_argument("--out", default="experiments/output",
                   help="folder of stores (default experiments/output)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--retry-failed", action="store_true",
                   help="run again the runs stored as failed (after fixing their cause)")
    p.add_argument("--no-cache", action="store_true",
                   help="neither read nor write the shared run cache (clustersim cache list)")


DESCRIPTION = ("clustersim: an agent-based model of the Walloon cluster policy (2001-) and\n"
               "the competitiveness poles of the 2006 Marshall Plan.")
EPILOG = """examples:
  clustersim run                                   the embedded baseline, Wallonia 2001-2012
  clustersim compare baseline no_evaluation --reps 50
  clustersim sweep experiments/animation_sweep.toml -j 2
  clustersim reproduce papers/policy_brief.toml

Scenarios given to run, check and compare are TOML files or the names of the embedded
scenarios (baseline, no_evaluation, ...).  `clustersim COMMAND --help` shows a command's
arguments; exit status: 0 done, 1 some runs failed, 2 input refused, 3 the system refused,
70 internal error, 130 interrupted."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``clustersim``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the traceback of an error")
    p = _Parser(prog="clustersim", description=DESCRIPTION, epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="print the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")

    def add(name: str, **kw) -> argparse.ArgumentParser:
        kw.setdefault("description", kw.get("help", "").capitalize() + ".")
        return sub.add_parser(name, parents=[common], **kw)

    r = add("run", help="run a scenario (the embedded baseline by default)")
    r.add_argument("scenario", nargs="?", help="scenario TOML file or embedded scenario name "
                   "(default: the embedded baseline)")
    r.add_argument("--seed", type=SEED, help="root seed (default: the scenario's run.seed)")
    r.add_argument("--replication", type=REPLICATION, default=0,
                   help="replication index (default 0)")
    r.add_argument("--out", default="results", help="output folder (default: ./results)")
    r.add_argument("--no-figure", action="store_true", help="skip the figure")
    r.add_argument("--figure-formats", type=_formats, default=("png",), metavar="FORMATS",
                   help="comma-separated formats of the figure: png, pdf, svg (default png; "
                   "the same figure in each)")
    r.add_argument("--figure", choices=("auto", "foreground", "background"), default="auto",
                   help="draw the figure in this process (foreground) or in a process of its "
                   "own after the command returns (background); auto (the default): in the "
                   "background when the output is a terminal")
    r.add_argument("--no-cache", action="store_true",
                   help="run the model even if the shared run cache holds this run, and do "
                   "not store it there (clustersim cache list)")
    r.set_defaults(func=cmd_run)
    c = add("check", help="validate scenario files without running them")
    c.add_argument("files", nargs="+", metavar="SCENARIO",
                   help="scenario TOML files (or embedded scenario names) to check, e.g. "
                   "scenarios/*.toml; each is reported as OK or with every error at once")
    c.set_defaults(func=cmd_check)
    i = add("indicators", help="list the indicator catalogue")
    i.set_defaults(func=cmd_indicators)
    cp = add("compare", help="compare scenarios over replications (common random numbers), "
             "with intervals and paired differences")
    cp.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                    help="scenario TOML files or embedded scenario names (baseline, "
                    "no_evaluation, ...); the first is the reference")
    cp.add_argument("--reps", type=_int_in(1, 1_000_000), default=50,
                    help="replications per scenario (default 50)")
    cp.add_argument("--seed", type=SEED, default=20010101, help="root seed (default 20010101)")
    cp.add_argument("--indicators", help="comma-separated indicator names (default: "
                    f"{', '.join(DEFAULT_COMPARE_INDICATORS)}; the names: clustersim indicators)")
    cp.add_argument("--years", help="comma-separated years (default 2004,2006,2009,2012)")
    cp.add_argument("--name", help="store name (default compare-<a>-vs-<b>)")
    cp.add_argument("--parameter-draws", type=_int_in(0, 100_000), default=0,
                    help="also run K replications of each scenario with parameters drawn from "
                    "the calibration's bootstrap (shared across the scenarios), and show both "
                    "intervals")
    _run_options(cp)
    cp.set_defaults(func=cmd_compare)
    ev = add("evaluate", help="evaluate a policy against its counterfactual twin: firm "
             "panels, true effects, additionality, costs, and the estimators' bias, RMSE and "
             "coverage")
    ev.add_argument("scenario", help="policy scenario (file or embedded name) or an "
                    "evaluation design file (kind = \"evaluation\")")
    ev.add_argument("--counterfactual", help="twin: 'none' (no cluster policy, no poles; the "
                    "default) or a scenario file")
    ev.add_argument("--reps", type=_int_in(1, 100_000), help="replications (default 100)")
    ev.add_argument("--seed", type=SEED, help="root seed (default 20010101)")
    ev.add_argument("--treatment", help="treatment group of the estimators (default cluster)")
    ev.add_argument("--parameter-draws", type=_int_in(0, 100_000), help="draw each "
                    "replication's parameters from the calibration's bootstrap")
    ev.add_argument("--name", help="store name (default evaluate-<scenario>)")
    ev.add_argument("-j", "--jobs", type=JOBS, default=2, help="local worker processes (default 2)")
    ev.add_argument("--out", default="experiments/output",
                    help="folder of stores (default experiments/output)")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=cmd_evaluate)
    sw = add("sweep", help="run a design file (compare, sweep or sensitivity); re-running "
             "resumes")
    sw.add_argument("design", metavar="DESIGN",
                    help="design TOML file of kind compare, sweep or sensitivity, e.g. "
                    "experiments/animation_sweep.toml; its store is <--out>/<design name>/")
    _run_options(sw)
    sw.set_defaults(func=cmd_sweep)
    se = add("sensitivity", help="run a sensitivity design (Morris or Sobol) and print its "
             "indices")
    se.add_argument("design", metavar="DESIGN",
                    help="design TOML file of kind sensitivity, e.g. "
                    "experiments/sensitivity_behaviour.toml")
    _run_options(se)
    se.set_defaults(func=cmd_sensitivity)
    va = add("validate", help="set a scenario (the calibrated baseline by default) against "
             "every target of a targets file")
    va.add_argument("--targets", help="targets file (default: the seed's 2001-2006 figures, "
                    "calibration/targets/wallonia_2004_2006.toml)")
    va.add_argument("--scenario", help="scenario file or embedded scenario name (default: the "
                    "embedded baseline)")
    va.add_argument("--reps", type=_int_in(2, 1_000_000, " (a 95% interval needs two)"),
                    default=50, help="replications (default 50)")
    va.add_argument("--seed", type=SEED, default=20010101, help="root seed (default 20010101)")
    va.add_argument("-j", "--jobs", type=JOBS, default=2,
                    help="local worker processes (default 2)")
    va.add_argument("--out", default="calibration/output",
                    help="output folder (default calibration/output)")
    va.add_argument("--quiet", action="store_true", help="no progress bar")
    va.add_argument("--no-cache", action="store_true",
                    help="neither read nor write the shared run cache")
    va.set_defaults(func=cmd_validate)
    ca = add("calibrate", help="estimate behavioural parameters against the targets "
             "(simulated method of moments); re-running resumes")
    ca.add_argument("config", metavar="CONFIG",
                    help="calibration file, e.g. calibration/quick.toml or "
                    "calibration/wallonia.toml")
    ca.add_argument("-j", "--jobs", type=JOBS, default=2, help="local worker processes (default 2)")
    ca.add_argument("--scheduler", help="run on a Dask scheduler at this address "
                    "(tcp://host:port or tls://host:port; see the README, section Dask)")
    ca.add_argument("--install", action="store_true",
                    help="also replace the config's `write` file (calibration/calibrated.toml "
                    "for wallonia.toml, which the baseline reads) with the estimates; without "
                    "it they go only to the output folder, <output>/<name>/calibrated.toml")
    ca.add_argument("--write", help="write the estimates to this file instead (a path of your "
                    "own; implies nothing about the tracked calibration/calibrated.toml)")
    ca.add_argument("--quiet", action="store_true", help="no progress bar")
    ca.add_argument("--no-cache", action="store_true",
                    help="neither read nor write the shared run cache")
    ca.set_defaults(func=cmd_calibrate)
    rp = add("reproduce", help="run a paper file's designs (what is missing: resumes) and "
             "write its tables (CSV, LaTeX), figures and manifest into one folder")
    rp.add_argument("paper", metavar="PAPER",
                    help="paper TOML file listing designs, tables and figures, e.g. "
                    "papers/policy_brief.toml")
    rp.add_argument("--out", help="output folder (default: output/<paper name>/ beside the "
                    "paper file; the designs' stores go to its stores/)")
    rp.add_argument("-j", "--jobs", type=JOBS, default=2, help="local worker processes (default 2)")
    rp.add_argument("--scheduler", help="run on a Dask scheduler at this address "
                    "(tcp://host:port or tls://host:port; see the README, section Dask)")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.set_defaults(func=cmd_reproduce)
    fg = add("figures", help="redraw the figures and tables of a stored experiment")
    fg.add_argument("store", metavar="STORE",
                    help="store folder of an experiment, e.g. "
                    "experiments/output/animation_sweep (where sweep or compare wrote it)")
    fg.set_defaults(func=cmd_figures)

    vw = add("view", help="serve the interactive view in the browser (Mesa's SolaraViz) on "
             "127.0.0.1; needs the `view` extra")
    vw.add_argument("scenario", nargs="?", help="scenario TOML file or the name of a shipped "
                    "scenario (default: the embedded baseline)")
    vw.add_argument("--port", type=_int_in(1, 65535, " (a TCP port)"), default=8765,
                    help="port on 127.0.0.1 (default 8765)")
    vw.set_defaults(func=cmd_view)
    ch = add("cache", help="list or prune the shared run cache of computed runs "
             "($CLUSTERSIM_CACHE, default ~/.cache/clustersim)")
    ch.add_argument("action", choices=("list", "prune"),
                    help="list: the cached runs by scenario, seed and model; prune: remove "
                    "runs (say which with the options below)")
    ch.add_argument("--older-than", metavar="AGE",
                    help="prune: remove runs last used more than AGE ago (30d, 12h, 90m, 2w)")
    ch.add_argument("--max-size", metavar="SIZE",
                    help="prune: then remove the least recently used until SIZE is left "
                    "(500M, 2G)")
    ch.add_argument("--other-models", action="store_true",
                    help="prune: remove the runs of other versions of the model (they are "
                    "never read by this one)")
    ch.add_argument("--dir", help="cache folder (default $CLUSTERSIM_CACHE or "
                    "~/.cache/clustersim)")
    ch.set_defaults(func=cmd_cache)
    return p


# ------------------------------------------------------------------------------ errors
_SYSTEM_HINTS = {errno.EROFS: "choose a writable --out", errno.ENOSPC: "free some space or "
                 "choose another --out", errno.EDQUOT: "free some space or choose another --out",
                 errno.EACCES: "check the folder's permissions or choose another --out",
                 errno.EPERM: "check the folder's permissions or choose another --out"}


def describe(exc: BaseException) -> tuple[str, int]:
    """The message and exit status of an error that ended a command."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    code = getattr(exc, "exit_code", None)
    if isinstance(code, int):
        return str(exc), code
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else "clustersim"
        cause = exc.strerror or str(exc)
        hint = _SYSTEM_HINTS.get(exc.errno or 0)
        return f"{where}: {cause}{'; ' + hint if hint else ''}", EXIT_SYSTEM
    if isinstance(exc, MemoryError):
        return "clustersim: out of memory (try fewer workers, -j)", EXIT_SYSTEM
    return (f"clustersim: internal error ({type(exc).__name__}: {exc}); this is a bug of "
            "clustersim: please report it with the output of the same command run with "
            "--debug", EXIT_INTERNAL)


def _warning_printer(seen: set[str]):
    """A ``warnings.showwarning`` that prints each scenario warning once, as one line."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, ScenarioWarning):
            return default(message, category, filename, lineno, file, line)
        text = str(message)
        if text not in seen:
            seen.add(text)
            print(f"warning: {text}", file=sys.stderr)
        return None
    return show


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``clustersim`` command: every error ends here as one clear message
    (and its traceback with ``--debug``) and the exit status of its kind (:data:`EXIT_CODES`)."""
    from sim._imports import defer_mesa_extras, defer_scipy_linalg, quick_mesa_loggers

    defer_mesa_extras()  # Mesa's grids, spaces and experimental parts only if used (0.6 s)
    defer_scipy_linalg()  # only its BLAS module for Numba's start-up (0.3 s)
    quick_mesa_loggers()  # Mesa's loggers without inspect.stack() (0.2 s)
    args = build_parser().parse_args(argv)
    if args.command in RUNS_THE_MODEL:
        from sim._imports import announce_compile

        announce_compile()  # the first run in a new environment compiles the kernels
    with warnings.catch_warnings():
        warnings.simplefilter("always", ScenarioWarning)
        warnings.showwarning = _warning_printer(set())
        try:
            return args.func(args)
        except SystemExit:
            raise
        except BaseException as exc:  # the one place that reports errors
            if getattr(args, "debug", False):
                traceback.print_exception(exc, file=sys.stderr)
            message, code = describe(exc)
            print(message, file=sys.stderr)
            return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
