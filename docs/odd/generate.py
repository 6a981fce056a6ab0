"""Generate the ODD's parameter, scenario-list, schedule and indicator tables from the code, and
the README's indicator table.

    python docs/odd/generate.py docs/odd/ODD.template.md docs/ODD.md
    python docs/odd/generate.py --readme README.md
"""
from __future__ import annotations

import sys

from pydantic import BaseModel

from sim.indicators.table import markdown_table as indicator_table
from sim.loader import load_scenario
from sim.rules import markdown_table as rules_table
from sim.scenario import (
    Call,
    ClusterSpec,
    Evaluation,
    Poles,
    Scenario,
    Sector,
    World,
    parameter_bounds,
)
from sim.schedule import markdown_table as schedule_table


# ---------------------------------------------------------------- all numeric parameters
def exclusive_lower(model: type[BaseModel], prefix: str = "") -> set[str]:
    out = set()
    for name, f in model.model_fields.items():
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out |= exclusive_lower(ann, f"{prefix}{name}.")
            continue
        if any(getattr(m, "gt", None) is not None for m in f.metadata):
            out.add(prefix + name)
    return out

PARAMS = dict(parameter_bounds())
GT = exclusive_lower(Scenario)
for model, prefix in ((Sector, "world.sectors[*]."), (ClusterSpec, "clusters[*]."),
                      (Call, "policy.poles.calls[*].")):
    PARAMS.update(parameter_bounds(model, prefix))
    GT |= exclusive_lower(model, prefix)

# ---------------------------------------------------------------- where each one is used
SECTION = {}
def assign(section, *paths):
    for p in paths:
        assert p in PARAMS, p
        assert p not in SECTION, p
        SECTION[p] = section

assign("time", "time.start_year", "time.end_year")
assign("init", "run.seed", "run.scale", "world.knowledge_dims", "world.sector_profile_spread",
       "world.sme_employment_mean", "world.large_employment_mean", "world.productivity_mean",
       "world.productivity_sd")
assign("sector", *[p for p in PARAMS if p.startswith("world.sectors[*].")])
assign("launch", *[p for p in PARAMS if p.startswith(("clusters[*].", "behaviour.creation."))])
assign("selection", "policy.poles.selection_year", "policy.poles.selection_quarter",
       "policy.poles.min_companies", "policy.poles.min_rd_actors",
       "policy.poles.min_training_actors", "policy.poles.min_provinces",
       "policy.poles.min_innovation")
assign("animation", *[p for p in PARAMS if p.startswith("policy.animation.")])
assign("international", "policy.international.tender_subsidy_eur",
       "policy.international.tender_subsidy_start_year",
       "behaviour.international.agreement_rate", "behaviour.international.tender_effect",
       "behaviour.international.agreement_years")
assign("membership", *[p for p in PARAMS if p.startswith("behaviour.membership.")])
assign("partnering", *[p for p in PARAMS if p.startswith("behaviour.partnering.")])
assign("call", "policy.poles.calls[*].year", "policy.poles.calls[*].quarter",
       "policy.poles.budget_start_year", "policy.poles.budget_end_year",
       "policy.poles.budget_rd_meur", "policy.poles.budget_training_meur",
       "policy.poles.budget_investment_meur", "behaviour.poles.proposal_rate",
       "policy.poles.max_consortium", "behaviour.poles.consortium_growth",
       "behaviour.poles.rd_slot_prob", "behaviour.poles.foreign_prob",
       "policy.poles.label_threshold", "behaviour.poles.jury_noise", "behaviour.poles.jury_selection",
       "policy.poles.rd_request_meur", "policy.poles.training_request_meur",
       "policy.poles.investment_request_meur", "policy.poles.rd_aid_rate")
assign("projects", *[p for p in PARAMS if p.startswith("behaviour.projects.")
                     and p not in ("behaviour.projects.academic_spinoff_rate",
                                   "behaviour.projects.trust_decay")],
       "behaviour.poles.training_gain", "behaviour.poles.investment_gain",
       "behaviour.innovation.quality_gain", "behaviour.innovation.grant_reference_meur")
assign("programmes", "policy.poles.budget_export_meur", "policy.poles.budget_assets_meur",
       "policy.poles.assets_firms_per_meur", "behaviour.innovation.programme_reference_keur",
       "world.market.export_package_keur", "world.market.export_package_effect")
assign("economy", "world.va_noise", "world.employment_elasticity", "world.exit_rate",
       "world.export_entry_rate", "world.export_exit_rate", "world.export_intensity",
       "behaviour.international.promotion_export_effect", "behaviour.poles.export_spend_effect",
       "behaviour.projects.trust_decay",
       *[p for p in PARAMS if p.startswith("world.market.")
         and p not in ("world.market.export_package_keur", "world.market.export_package_effect")],
       "behaviour.innovation.lag_quarters")
assign("demography", "world.entry_rate", "behaviour.projects.academic_spinoff_rate")
assign("evaluation", *[p for p in PARAMS if p.startswith("policy.evaluation.")])
assign("rules", *[p for p in PARAMS if p.startswith("policy.rules.")])
missing = sorted(set(PARAMS) - set(SECTION))
assert not missing, missing

def num(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        if v == 2**63 - 1:
            return "2^63 − 1"
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    if v == int(v) and abs(v) >= 1000:
        return f"{int(v):,}"
    return f"{v:g}"

def bounds(path, d) -> str:
    lo, hi = d["lower"], d["upper"]
    left = "(" if path in GT else "["
    return f"{left}{num(lo)}, {num(hi)}]"

def esc(s: str) -> str:
    return s.replace("|", "\\|")

def param_table(section: str) -> str:
    rows = ["| parameter (dotted path) | default | unit | bounds | source | meaning (field doc) |",
            "|---|---|---|---|---|---|"]
    for p, d in PARAMS.items():
        if SECTION[p] != section:
            continue
        dflt = str(d['default']) if p == "run.seed" else num(d['default'])
        rows.append(f"| `{p}` | {dflt} | {esc(d['unit']) or '–'} | {bounds(p, d)} | "
                    f"{esc(d['source'])} | {esc(d['doc'])} |")
    return "\n".join(rows)

# ---------------------------------------------------------------- switches and lists
def switch_table() -> str:
    rows = ["| setting (dotted path) | type | default | source | meaning |", "|---|---|---|---|---|"]
    items = [
        ("world.province_weights", World), ("policy.evaluation.enabled", Evaluation),
        ("policy.evaluation.fail_when", Evaluation), ("policy.poles.enabled", Poles),
        ("policy.poles.absorb_clusters", Poles), ("policy.poles.candidates", Poles),
        ("policy.poles.calls", Poles),
    ]
    for path, model in items:
        f = model.model_fields[path.rsplit(".", 1)[1]]
        import typing
        args = typing.get_args(f.annotation)
        if typing.get_origin(f.annotation) is typing.Literal:
            ann = " | ".join(f'"{a}"' for a in args)
        else:
            ann = getattr(f.annotation, "__name__", None) or str(f.annotation)
        if ann == "list" and args:
            ann = f"list of {getattr(args[0], '__name__', args[0])}"
        default = f.get_default(call_default_factory=True)
        dshow = "[]" if default == [] else (str(default).lower() if isinstance(default, bool)
                                              else repr(default).replace("'", '"'))
        src = (f.json_schema_extra or {}).get("source", "")
        rows.append(f"| `{path}` | {esc(ann)} | {esc(dshow)} | {esc(src)} | {esc(f.description or '')} |")
    return "\n".join(rows)

# ---------------------------------------------------------------- the baseline's lists
BASE = load_scenario(None)

def sectors_table() -> str:
    cols = ["firms", "large_share", "cooperation", "knowledge_intensity", "export_share", "growth",
            "universities", "research_centres", "training_centres"]
    rows = ["| sector | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    tot = {c: 0 for c in ("firms", "universities", "research_centres", "training_centres")}
    from sim.world import sector_cooperation

    for s in BASE.world.sectors:
        # cooperation: the sector rule's value at the baseline's slope (no sector sets its own)
        rows.append(f"| `{s.name}` | " + " | ".join(
            num(round(sector_cooperation(BASE, s), 3)) if c == "cooperation"
            else num(getattr(s, c)) for c in cols) + " |")
        for c in tot:
            tot[c] += getattr(s, c)
    rows.append("| **total** | " + " | ".join(f"**{tot[c]:,}**" if c in tot else "" for c in cols) + " |")
    return "\n".join(rows)

def clusters_table() -> str:
    rows = ["| # | cluster | recruits in sectors | launch | founders |", "|---:|---|---|---|---:|"]
    for i, c in enumerate(BASE.clusters):
        rows.append(f"| {i} | `{c.name}` | {', '.join(c.sectors)} | {c.launch_year}Q{c.launch_quarter} | {c.founders} |")
    return "\n".join(rows)

def poles_table() -> str:
    rows = ["| # | candidate pole | sectors |", "|---:|---|---|"]
    for i, p in enumerate(BASE.policy.poles.candidates):
        rows.append(f"| {i} | `{p.name}` | {', '.join(p.sectors)} |")
    return "\n".join(rows)

def calls_table() -> str:
    st = BASE.time.start_year
    rows = ["| call (reported as) | deadline | step t |", "|---:|---|---:|"]
    for i, c in enumerate(BASE.policy.poles.calls):
        rows.append(f"| {i + 1} | {c.year}Q{c.quarter} | {4 * (c.year - st) + c.quarter - 1} |")
    return "\n".join(rows)

TABLES = {f"PARAMS:{s}": (lambda s=s: param_table(s)) for s in set(SECTION.values())}
TABLES.update({"SWITCHES": switch_table, "SECTORS": sectors_table, "CLUSTERS": clusters_table,
               "POLES": poles_table, "CALLS": calls_table, "INDICATORS": indicator_table,
               "SCHEDULE": schedule_table, "RULES": rules_table})

README_START, README_END = "<!-- INDICATORS (generated: docs/odd/generate.py) -->", "<!-- /INDICATORS -->"


def readme(text: str) -> str:
    """The README with its indicator table regenerated between the two markers."""
    head, _, rest = text.partition(README_START)
    _, _, tail = rest.partition(README_END)
    assert rest, "README markers missing"
    return f"{head}{README_START}\n{indicator_table()}\n{README_END}{tail}"

def fill(template: str) -> str:
    import re
    used = set()
    def rep(m):
        used.add(m.group(1))
        return TABLES[m.group(1)]()
    out = re.sub(r"<!-- TABLE (\S+) -->", rep, template)
    unused = set(TABLES) - used
    assert not unused, f"tables not placed: {unused}"
    return out

# ---------------------------------------------------------------- patterns over 20 seeds
def pattern_table() -> str:
    import numpy as np

    from sim.model import ClusterModel
    from sim.targets import load_targets, lookup
    targets = load_targets()
    sims = {t.label: [] for t in targets}
    drops = {}
    for seed in range(20):
        m = ClusterModel(seed=seed, handles=False)
        df = m.run()
        for t in targets:
            v = lookup(df, t)
            sims[t.label].append(float(v.iloc[0]) if len(v) else np.nan)
        for y, c, _, _, d in m.evaluations:
            if d and y == 2004:
                drops[c] = drops.get(c, 0) + 1
    rows = ["| target (indicator@year) | seed's figure | tolerance | simulated mean [min, max] | runs within tolerance |",
            "|---|---:|---:|---|---:|"]
    for t in targets:
        x = np.array(sims[t.label])
        ok = int((np.abs(x - t.value) <= t.tolerance + 1e-9).sum())
        tol = (f"± {num(t.abs_tolerance)}" if t.abs_tolerance is not None
               else f"± {t.rel_tolerance:.0%}")
        fmt = ((lambda v: f"{v:.2f}") if abs(t.value) < 1 or t.tolerance <= 0.5
               else (lambda v: f"{v:,.1f}"))
        rows.append(f"| `{t.label}` | {num(t.value)} | {tol} | {fmt(x.mean())} [{fmt(x.min())}, {fmt(x.max())}] | {ok}/20 |")
    d = ", ".join(f"{c} {n}/20" for c, n in sorted(drops.items(), key=lambda kv: -kv[1]))
    never = [c for c in ("wood", "food_processing", "aeronautics", "automotive") if c not in drops]
    rows.append("")
    rows.append(f"Clusters dropped by the 2004 evaluation over the same 20 runs: {d}"
                + (f"; never dropped in 2004: {', '.join(never)}." if never else "."))
    return "\n".join(rows)

TABLES["PATTERNS"] = pattern_table


def panel_table() -> str:
    from sim.evaluation.panel import columns_markdown
    return columns_markdown()


TABLES["PANEL"] = panel_table
PANEL_START, PANEL_END = "<!-- PANEL (generated: docs/odd/generate.py) -->", "<!-- /PANEL -->"
_readme_indicators = readme


def readme(text: str) -> str:
    text = _readme_indicators(text)
    head, _, rest = text.partition(PANEL_START)
    _, _, tail = rest.partition(PANEL_END)
    if not rest:
        return text
    return f"{head}{PANEL_START}\n{panel_table()}\n{PANEL_END}{tail}"


if __name__ == "__main__":
    if sys.argv[1] == "--readme":
        path = sys.argv[2]
        text = readme(open(path).read())
        open(path, "w").write(text)
        sys.exit(0)
    print(f"{len(PARAMS)} numeric parameters ({len(parameter_bounds())} from parameter_bounds() "
          f"of Scenario + list-item fields)", file=sys.stderr)
    src, dst = sys.argv[1], sys.argv[2]
    text = fill(open(src).read())
    open(dst, "w").write(text)

