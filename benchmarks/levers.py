"""Lever liveness: every ``policy.*`` lever of the scenario schema, perturbed one at a time with
paired replications, and its effect on each outcome (issue 16).

Run from the repository root::

    python -m benchmarks.levers                 # 20 paired replications, 2001-2012 (~3 min)
    python -m benchmarks.levers --reps 4        # the small configuration the slow test runs
    python -m benchmarks.levers --markdown      # the table as Markdown (for the closing note)

Design.  The base is the baseline scenario with its calibrated parameters; each lever is set
to its base value x0.5 and x2 (clipped to the schema's bounds), or moved by a documented step
where scaling is meaningless (years, quarters, small counts, a zero threshold; see
:func:`changes`).  The six animator effort shares must add up to 1: the perturbed share is
scaled and the other five are rescaled to keep the sum (so "effort_x x2" is "more of x, less
of everything else").  Replication r of every variant uses the streams of replication r of the
base (common random numbers: :func:`sim.model.run_seed_sequence`), so the effect of a change
is the mean of the paired differences and its t-value ``mean / (sd / sqrt(R))``.

A lever is *live* when at least one outcome of at least one replication differs from the base
(the model is deterministic given its streams, so a lever that cannot act gives bit-identical
runs); the slow test ``tests/test_levers.py`` checks that every lever is live, except those in
:data:`INERT`, each with its reason.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from sim.loader import load_scenario
from sim.model import ClusterModel
from sim.scenario import parameter_bounds
from sim.state.params import lookup

# outcome name -> (indicator, how it is read from the run: the last year's value, the sum over
# the run, or "sum*OTHER": the sum over the run of the indicator times indicator OTHER); a
# ratio outcome names its numerator and then its denominator, each read so
OUTCOMES = {
    "members": ("members_total", "last"),
    "clusters": ("clusters_active", "last"),
    "cl_partnerships": ("partnerships_launched", "sum"),
    "innovations": ("innovations", "sum"),
    "agreements": ("intercluster_partnerships_active", "sum"),
    "pole_projects": ("pole_projects_funded", "sum"),
    "firms": ("firms_alive", "last"),
    "employment": ("employment", "last"),
    "value_added": ("value_added", "last"),
    "exports": ("exports", "last"),
    # the direct channels of the animator's tasks (issue 16): the six effort shares add up to
    # one, so their totals above are trade-offs; each ratio isolates one task's own channel
    # partnership effort -> initiation rate of a member: cluster partnerships per member-year
    "partnerships_per_member": ("partnerships_launched", "sum", "members_total", "sum"),
    # "knowing each other" -> discovery of candidates: actors per cluster partnership launched
    "partnership_size": ("partnership_size_mean", "sum*partnerships_launched",
                         "partnerships_launched", "sum"),
    # mapping -> cross-cluster search: share of cluster partnerships with another cluster's member
    "cross_share": ("cross_cluster_partnerships_launched", "sum", "partnerships_launched", "sum"),
    # benchmarking -> success of cluster projects: share of projects (all kinds) that succeed
    "success_share": ("projects_succeeded", "sum", "projects_completed", "sum"),
    # promotion -> agreements signed per active cluster-year
    "agreements_per_cluster": ("intercluster_partnerships_signed", "sum", "clusters_active",
                               "sum"),
}
EFFORTS = ("effort_know_each_other", "effort_mapping", "effort_recruiting",
           "effort_partnerships", "effort_benchmarking", "effort_promotion")
# levers that cannot move any outcome of the baseline, and why (documented, not removed)
INERT: dict[str, str] = {
    "policy.poles.min_companies": "critical mass of the pole selection (criterion 3): every "
    "candidate pole of the baseline has far more than 30 engaged companies (cluster members or "
    "past partners, outside the clusters too since issue 16), so 7 or 30 never binds; only a "
    "much larger threshold would (measured 2026-12-02, 20 paired replications: no outcome "
    "moves)",
    "policy.poles.min_training_actors": "criterion 1's training centres: each candidate pole's "
    "sectors hold 8 to 31 training centres in the baseline, so 0 or 2 never binds; it binds "
    "from about 9 (measured 2026-12-02, 20 paired replications: no outcome moves)",
    "policy.poles.min_provinces": "criterion 4 (activities across Wallonia): at the selection "
    "quarter every candidate pole of the baseline has engaged companies (92 to 301 of them) in "
    "all five provinces, so 1 or 5 never binds (measured 2026-12-03, seeds 0-2, "
    "sim.processes.selection.selection_counts: 5 provinces for each of the five poles); it "
    "was live at 8bcac9a, before companies partnered outside clusters (the lever test passed "
    "there)",
    "policy.rules.pole_evaluation.first_year": "the poles' evaluation (issue 17) is off in the "
    "baseline (policy.rules.pole_evaluation.enabled = false): its calendar acts only in a "
    "scenario that turns it on, such as one with label withdrawal",
    "policy.rules.pole_evaluation.period_years": "as policy.rules.pole_evaluation.first_year: "
    "the poles' evaluation is off in the baseline",
}


@dataclass(frozen=True)
class Change:
    """One perturbation of one lever: its label and the overrides that make it."""

    lever: str
    label: str
    overrides: dict


def policy_levers(sc) -> dict[str, dict]:
    """The numeric ``policy.*`` parameters of the schema, with the scenario's values."""
    out = {}
    for path, b in parameter_bounds().items():
        if path.startswith("policy."):
            out[path] = dict(b, value=lookup(sc, path))
    return out


def _clip(x, b):
    lo, hi = b["lower"], b["upper"]
    if lo is not None:
        x = max(x, lo if not b["lower_open"] else lo + 1e-9)
    if hi is not None:
        x = min(x, hi)
    return x


def changes(sc) -> list[Change]:
    """The perturbations of every lever (see the module's docstring)."""
    out = []
    for path, b in policy_levers(sc).items():
        v, name = b["value"], path.rsplit(".", 1)[1]
        if name in EFFORTS:
            shares = {e: lookup(sc, "policy.animation." + e) for e in EFFORTS}
            for f in (0.5, 2.0):
                new = min(0.95, shares[name] * f)
                rest = sum(s for e, s in shares.items() if e != name)
                ov = {f"policy.animation.{e}": (new if e == name else s * (1 - new) / rest)
                      for e, s in shares.items()}
                out.append(Change(path, f"x{f:g}", ov))
            continue
        if (name.endswith("_year") and not name.endswith("per_year")) \
                or name.endswith("_quarter"):
            for d in (-1, 1):  # a date: one year (quarter) earlier and later
                out.append(Change(path, f"{d:+d}", {path: int(_clip(v + d, b))}))
            continue
        if b["type"] == "int":
            lo, hi = max(math.floor(v * 0.5), 0), int(v * 2) if v > 0 else 2
            if lo == v:
                lo = v - 1 if v > 0 else v
            vals = sorted({int(_clip(lo, b)), int(_clip(hi, b))} - {v})
            for x in vals:
                out.append(Change(path, f"={x}", {path: x}))
            continue
        if v == 0:
            # a zero threshold: a step to a value that can bind (documented)
            step = {"policy.poles.min_innovation": (10.0, 50.0)}.get(path, (0.1, 1.0))
            for x in step:
                out.append(Change(path, f"={x:g}", {path: float(_clip(x, b))}))
            continue
        for f in (0.5, 2.0):
            x = float(_clip(v * f, b))
            if x != v:
                out.append(Change(path, f"x{f:g}", {path: x}))
    return out


def _read(t, ind: str, how: str, last: int) -> float:
    """Indicator ``ind`` of the run's totals ``t`` read as ``how`` (see :data:`OUTCOMES`)."""
    s = t[t.indicator == ind].set_index("year").value
    if how == "last":
        return float(s.get(last, 0.0))
    if how == "sum":
        return float(s.sum())
    if how.startswith("sum*"):
        w = t[t.indicator == how[4:]].set_index("year").value
        return float((s * w.reindex(s.index, fill_value=0.0)).sum())
    raise ValueError(f"outcome reading {how!r}: expected 'last', 'sum' or 'sum*INDICATOR'")


def outcomes(df) -> dict[str, float]:
    """The outcomes of one run (``df``: its tidy indicator table); a ratio whose denominator
    is 0 is 0."""
    t = df[df.by == "total"]
    last = int(t.year.max())
    out = {}
    for key, spec in OUTCOMES.items():
        num = _read(t, spec[0], spec[1], last)
        if len(spec) == 4:
            den = _read(t, spec[2], spec[3], last)
            num = num / den if den else 0.0
        out[key] = num
    return out


def run_variant(overrides: dict, reps: int, end_year: int | None,
                scenario: str | None = None) -> np.ndarray:
    """Outcomes (reps, len(OUTCOMES)) of the baseline (or of ``scenario``) with
    ``overrides``."""
    ov = dict(overrides)
    if end_year is not None:
        ov["time.end_year"] = end_year
    sc = load_scenario(scenario, overrides=ov)
    rows = []
    for r in range(reps):
        m = ClusterModel(sc, replication=r, handles=False)
        rows.append(list(outcomes(m.run()).values()))
    return np.array(rows)


def lever_table(reps: int = 20, end_year: int | None = None, only: str | None = None,
                progress: bool = True,
                keys: Collection[tuple[str, str]] | None = None) -> list[dict]:
    """Every change's effect: one dict per change with the lever, the change, whether it is
    live, and per outcome the mean paired difference (relative to the base mean) and t.
    ``only``: the levers whose path contains this text; ``keys``: only these (lever path,
    change label) pairs (such as the keys of :data:`EXPECTED`)."""
    base_sc = load_scenario(None)
    todo = [c for c in changes(base_sc) if (only is None or only in c.lever)
            and (keys is None or (c.lever, c.label) in keys)]
    if keys is not None:
        unknown = set(keys) - {(c.lever, c.label) for c in changes(base_sc)}
        if unknown:
            raise ValueError(f"keys: no such change: {sorted(unknown)}")
    base = run_variant({}, reps, end_year)
    rows = []
    t0 = time.perf_counter()
    for i, ch in enumerate(todo):
        try:
            var = run_variant(ch.overrides, reps, end_year)
        except Exception as exc:  # a change the schema refuses (e.g. years out of order)
            rows.append(dict(lever=ch.lever, change=ch.label, error=str(exc).splitlines()[-1]))
            continue
        d = var - base
        mean = d.mean(axis=0)
        sd = d.std(axis=0, ddof=1) if reps > 1 else np.zeros(d.shape[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(sd > 0, mean / (sd / np.sqrt(reps)), np.where(mean != 0, np.inf, 0.0))
            rel = np.where(base.mean(axis=0) != 0, mean / np.abs(base.mean(axis=0)), 0.0)
        rows.append(dict(lever=ch.lever, change=ch.label, live=bool(np.any(d != 0)),
                         effects={k: (float(rel[j]), float(t[j]))
                                  for j, k in enumerate(OUTCOMES)}))
        if progress:
            print(f"  [{i + 1}/{len(todo)}] {ch.lever} {ch.label} "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return rows


def compare_scenarios(paths: list[str], reps: int = 20,
                      end_year: int | None = None) -> list[dict]:
    """Each scenario against the baseline, paired (replication r of both shares its streams),
    in the rows :func:`format_table` prints (the scenario's name as the lever)."""
    base = run_variant({}, reps, end_year)
    rows = []
    for path in paths:
        var = run_variant({}, reps, end_year, scenario=path)
        d = var - base
        mean = d.mean(axis=0)
        sd = d.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(sd > 0, mean / (sd / np.sqrt(reps)), np.where(mean != 0, np.inf, 0.0))
            rel = np.where(base.mean(axis=0) != 0, mean / np.abs(base.mean(axis=0)), 0.0)
        rows.append(dict(lever=load_scenario(path).name, change="vs baseline",
                         live=bool(np.any(d != 0)),
                         effects={k: (float(rel[j]), float(t[j]))
                                  for j, k in enumerate(OUTCOMES)}))
    return rows


def format_table(rows: list[dict], markdown: bool = False) -> str:
    """The table: lever, change, live, then per outcome 'effect % (t)'."""
    head = ["lever", "change", "live", *OUTCOMES]
    lines = []
    for r in rows:
        if "error" in r:
            cells = [r["lever"].removeprefix("policy."), r["change"], "refused: " + r["error"]]
            cells += [""] * len(OUTCOMES)
        else:
            cells = [r["lever"].removeprefix("policy."), r["change"],
                     "yes" if r["live"] else "NO"]
            for k in OUTCOMES:
                e, t = r["effects"][k]
                cells.append("0" if e == 0 and t == 0 else f"{100 * e:+.1f}% ({t:+.1f})")
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(c) + " |" for c in lines]
        return "\n".join(out)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*c) for c in lines])


def _spec(v: tuple) -> str:
    """An outcome's reading in words, for the table's header."""
    return f"{v[0]}:{v[1]}" + (f"/{v[2]}:{v[3]}" if len(v) == 4 else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=20, help="paired replications (default 20)")
    ap.add_argument("--end-year", type=int, default=None, help="last simulated year")
    ap.add_argument("--only", default=None, help="levers whose path contains this text")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--compare", nargs="+", metavar="SCENARIO",
                    help="instead: these scenario files against the baseline, paired")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.compare:
        rows = compare_scenarios(args.compare, args.reps, args.end_year)
        print(f"Scenarios against the baseline, {args.reps} paired replications (effect % "
              f"of the baseline mean, paired t)")
        print(format_table(rows, args.markdown))
        return 0
    rows = lever_table(args.reps, args.end_year, args.only)
    print(f"Lever liveness: baseline (calibrated), {args.reps} paired replications; effect = "
          f"mean paired difference / base mean, (t) = paired t-value; outcomes: 'last' year "
          f"or sum over the run ({', '.join(f'{k}={_spec(v)}' for k, v in OUTCOMES.items())})")
    print(format_table(rows, args.markdown))
    dead = [f"{r['lever']} {r['change']}" for r in rows if not r.get("live", True)]
    print(f"\n{len(rows)} changes of {len({r['lever'] for r in rows})} levers; "
          f"not live: {', '.join(dead) or 'none'}; {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
