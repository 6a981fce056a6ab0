"""``clustersim reproduce PAPER.toml``: a study's designs, tables and figures in one command.

A paper file lists the designs of a study (design files, with an optional smaller number of
replications), and the tables and figures made from them::

    name = "policy_brief"
    title = "Evaluating and funding the Walloon clusters"
    [[design]]
    file = "../experiments/evaluation_policy.toml"   # relative to the paper file
    replications = 20                                # optional: instead of the design's
    [[table]]
    name = "evaluation"              # file names: evaluation.csv, evaluation.tex
    design = "evaluation_policy"     # a design's name
    table = "compare"                # compare, sweep or sensitivity (the design's report)
    indicators = ["members_total"]   # optional: only these rows
    years = [2012]                   # optional
    caption = "..."
    [[figure]]
    name = "evaluation"              # evaluation.pdf, .svg, .png
    design = "evaluation_policy"
    figure = "compare"               # compare, sweep or sensitivity

One command runs what is missing: each design runs into ``<out>/stores/<design name>/`` through
the sweep engine, which resumes (a run already stored is never run again, a store of another
model's fingerprint is refused), then the tables (CSV and LaTeX) and figures (PDF, SVG, PNG)
are written into ``<out>/`` with ``manifest.json``: the paper file and its hash, every design
with its root seed, sampler seed, replications and runs, the package versions, the git commit,
the model's fingerprint, and the SHA-256 of every file written.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.loader import ScenarioError, plain_name, read_toml, validation_errors

# what the report of a design of each kind has (sim.experiment.report)
HAS = {"compare": ("compare",), "sweep": ("sweep",), "sensitivity": ("sweep", "sensitivity")}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class PaperDesign(_Strict):
    """One design of the study."""

    file: str = Field(min_length=1, max_length=1000, description="design file (relative to "
                      "the paper file)")
    replications: int | None = Field(None, ge=2, le=1_000_000,
                                     description="replications instead of the design's")


class PaperTable(_Strict):
    """One table: rows of a design's report."""

    name: str = Field(min_length=1, max_length=80)
    design: str = Field(min_length=1, max_length=80)
    table: Literal["compare", "sweep", "sensitivity"]
    indicators: list[str] | None = Field(None, max_length=200)
    years: list[int] | None = Field(None, max_length=200)
    caption: str = Field("", max_length=4000)

    _name = field_validator("name")(classmethod(lambda cls, v: plain_name(v)))


class PaperFigure(_Strict):
    """One figure: a design's report figure, copied under the paper's name for it."""

    name: str = Field(min_length=1, max_length=80)
    design: str = Field(min_length=1, max_length=80)
    figure: Literal["compare", "sweep", "sensitivity"]
    caption: str = Field("", max_length=4000)

    _name = field_validator("name")(classmethod(lambda cls, v: plain_name(v)))


class Paper(_Strict):
    """A paper file."""

    name: str = Field(min_length=1, max_length=80)
    title: str = Field("", max_length=400)
    description: str = Field("", max_length=4000)
    design: list[PaperDesign] = Field(min_length=1, max_length=64)
    table: list[PaperTable] = Field(default_factory=list, max_length=256)
    figure: list[PaperFigure] = Field(default_factory=list, max_length=256)

    _name = field_validator("name")(classmethod(lambda cls, v: plain_name(v)))


@dataclass
class Study:
    """A loaded paper: the file, its designs (validated, by name) and their folders."""

    paper: Paper
    source: Path
    designs: dict[str, tuple[Any, Path]]  # name -> (Design, folder of the design file)


def load_paper(path: str | Path) -> Study:
    """Read and check a paper file and every design it names; all problems at once."""
    from sim.experiment.design import validate_design

    path = Path(path)
    doc = read_toml(path)
    if not doc:
        raise ScenarioError(str(path), ["the file is empty: a paper needs `name` and at least "
                                        "one [[design]]"])
    problems = validation_errors(doc, Paper)
    if problems:
        raise ScenarioError(str(path), problems)
    paper = Paper.model_validate(doc)
    designs: dict[str, tuple[Any, Path]] = {}
    for i, d in enumerate(paper.design):
        f = Path(d.file) if Path(d.file).is_absolute() else path.parent / d.file
        try:
            ddoc = read_toml(f)
        except ScenarioError as exc:
            problems += [f"design[{i}].file: {d.file}: {e}" for e in exc.errors]
            continue
        if d.replications is not None:
            ddoc["replications"] = d.replications
        try:
            design = validate_design(ddoc, str(f), f.parent)
        except ScenarioError as exc:
            problems += [f"design[{i}]: {f}: {e}" for e in exc.errors]
            continue
        if design.name in designs:
            problems.append(f"design[{i}]: a second design named {design.name!r}")
            continue
        designs[design.name] = (design, f.parent)
    names = sorted(designs)
    from sim.loader import suggestion

    for key, items in (("table", paper.table), ("figure", paper.figure)):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.name in seen:
                problems.append(f"{key}[{i}].name: {item.name!r} is used twice")
            seen.add(item.name)
            if item.design not in designs:
                if len(designs) == len(paper.design):  # else already reported
                    problems.append(f"{key}[{i}].design: no design named {item.design!r} in "
                                    f"this paper{suggestion(item.design, names)} (designs: "
                                    f"{', '.join(names)})")
                continue
            kind = designs[item.design][0].kind
            wanted = item.table if key == "table" else item.figure
            if wanted not in HAS[kind]:
                problems.append(f"{key}[{i}]: design {item.design!r} is a {kind} design; it has "
                                f"no {wanted} {key}")
    if problems:
        raise ScenarioError(str(path), problems)
    return Study(paper, path, designs)


# ------------------------------------------------------------------------------ LaTeX
_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Text safe inside a LaTeX table cell."""
    return "".join(_LATEX_ESCAPES.get(c, c) for c in str(text))


def _cell(v: Any) -> str:
    if isinstance(v, float):
        if pd.isna(v):
            return ""
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return latex_escape(v)


HEADERS = {"indicator": "Indicator", "year": "Year", "variant": "Variant", "n": "Runs",
           "mean": "Mean", "ci_low": "95\\% CI low", "ci_high": "95\\% CI high",
           "diff": "Difference", "diff_low": "Diff. low", "diff_high": "Diff. high",
           "sd_ratio": "SE ratio", "parameter": "Parameter", "mu_star": "$\\mu^*$",
           "mu_star_conf": "$\\mu^*$ 95\\% CI", "sigma": "$\\sigma$", "mu": "$\\mu$",
           "S1": "$S_1$", "S1_conf": "$S_1$ 95\\% CI", "ST": "$S_T$",
           "ST_conf": "$S_T$ 95\\% CI"}


def readable(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A report table as a reader sees it: indicators, variants and levers by their labels
    (sim.figures), the sweep's variant keys left out, LaTeX headers."""
    from sim.figures import label_of, lever_label, variant_label

    t = df.copy()
    if "indicator" in t:
        t["indicator"] = t["indicator"].map(label_of)
    if "parameter" in t:
        t["parameter"] = t["parameter"].map(lever_label)
    if "variant" in t:
        if t["variant"].astype(str).str.fullmatch(r"\d{5}-p[0-9a-f]{12}").all():
            t = t.drop(columns="variant")  # a sweep's point keys: the lever columns say it
        else:
            t["variant"] = t["variant"].map(variant_label)
    heads = [HEADERS.get(c) or latex_escape(lever_label(c) if "." in c else c)
             for c in t.columns]
    return t, heads


def to_latex(df: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table (no dependency beyond pandas; needs ``\\usepackage{booktabs}``):
    human labels, numbers right-aligned."""
    df, heads = readable(df)
    align = "".join("r" if pd.api.types.is_numeric_dtype(df[c]) else "l" for c in df.columns)
    lines = [r"% clustersim reproduce; needs \usepackage{booktabs}",
             r"\begin{table}[htbp]", r"\centering", r"\small",
             rf"\caption{{{latex_escape(caption)}}}", rf"\label{{tab:{label}}}",
             rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(heads) + r" \\", r"\midrule"]
    for row in df.itertuples(index=False):
        lines.append(" & ".join(_cell(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ running
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _select(table: pd.DataFrame, spec: PaperTable) -> pd.DataFrame:
    t = table
    if spec.indicators and "indicator" in t:
        t = t[t["indicator"].isin(spec.indicators)]
    if spec.years and "year" in t:
        t = t[t["year"].isin(spec.years)]
    return t.reset_index(drop=True)


def reproduce(paper: str | Path, out: str | Path | None = None, *, workers: int = 2,
              executor=None, progress: bool = True) -> dict[str, Any]:
    """Run what is missing of a paper's designs and write its tables, figures and manifest.

    ``out`` defaults to ``output/<paper name>/`` beside the paper file.  Returns the
    manifest (a dict, also written as ``<out>/manifest.json``).
    """
    from sim.experiment.report import report
    from sim.experiment.runner import run_design
    from sim.results import git_commit, model_fingerprint, versions, write_json

    study = load_paper(paper)
    p = study.paper
    folder = Path(out) if out is not None else study.source.parent / "output" / p.name
    stores = folder / "stores"
    folder.mkdir(parents=True, exist_ok=True)
    designs_meta, tables = [], {}
    for name, (design, dfolder) in study.designs.items():
        outcome = run_design(design, stores, workers=workers, executor=executor, folder=dfolder,
                             progress=progress)
        with outcome.store.lock():
            tables[name] = (report(outcome.store), outcome.store.root)
        designs_meta.append({
            "name": name, "kind": design.kind, "replications": design.replications,
            "seed": design.seed, "sampler": design.sampler.model_dump(mode="json")
            if design.kind != "compare" else None,
            "runs": outcome.total, "ran_now": outcome.ran, "already_stored": outcome.skipped,
            "failed": outcome.failed, "store": str(outcome.store.root.relative_to(folder)),
        })
        print(f"{name}: {outcome.total} runs ({outcome.ran} run now, {outcome.skipped} already "
              f"stored, {outcome.failed} failed)")
    written: list[Path] = []
    for spec in p.table:
        full, _ = tables[spec.design]
        t = _select(full[spec.table], spec)
        csv, tex = folder / f"{spec.name}.csv", folder / f"{spec.name}.tex"
        _write(csv, t.to_csv(index=False))
        caption = spec.caption or f"{spec.table.capitalize()} table of design {spec.design}."
        _write(tex, to_latex(t, caption, spec.name))
        written += [csv, tex]
    for spec in p.figure:
        _, root = tables[spec.design]
        found = sorted(root.glob(f"{spec.figure}.*"))
        found = [f for f in found if f.suffix in (".pdf", ".svg", ".png")]
        if not found:
            raise ScenarioError(str(study.source), [
                f"figure {spec.name!r}: design {spec.design!r} drew no {spec.figure} figure "
                f"(its report draws none for this design)"])
        for f in found:
            dest = folder / f"{spec.name}{f.suffix}"
            shutil.copyfile(f, dest)
            written.append(dest)
    manifest = {
        "paper": p.name, "title": p.title, "source": str(study.source),
        "paper_sha256": _sha256(study.source),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": sys.argv, "versions": versions(), "git": git_commit(),
        "model_fingerprint": model_fingerprint(),
        "seed_scheme": "numpy SeedSequence(seed, spawn_key=(replication,)) for replication r "
                       "of every variant of a design (common random numbers)",
        "designs": designs_meta,
        "tables": [s.model_dump(mode="json") for s in p.table],
        "figures": [s.model_dump(mode="json") for s in p.figure],
        "files": {f.name: _sha256(f) for f in written},
    }
    write_json(manifest, folder / "manifest.json")
    print(f"{len(p.table)} table(s) (CSV and LaTeX) and {len(p.figure)} figure(s) (PDF, SVG, "
          f"PNG) of {p.name} written to {folder}/ with manifest.json")
    return manifest


def _write(path: Path, text: str) -> None:
    from sim.results import atomic_write_bytes

    atomic_write_bytes(path, text.encode())


__all__ = ["Paper", "Study", "latex_escape", "load_paper", "reproduce", "to_latex"]
