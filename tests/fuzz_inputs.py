"""A generated bad-input corpus: the shipped scenario, design and targets files, mutated.

Each example takes one shipped file (``scenarios/*.toml``, ``experiments/*.toml``,
``calibration/targets/*.toml``), applies one to three mutations at any level of its document
(a key deleted, misspelt or added; a value retyped, out of range, NaN or infinite, huge, in
unicode, very long or nested very deep; a bad ``base``; an element repeated), writes it as TOML
in a copy of the repository's layout (so relative references still resolve) and loads it with
the project's loader for its kind.  Every outcome must be one of:

* **accepted and valid**: the loaded object validates again from its own dump, and its checks
  across keys find nothing;
* **refused clearly**: a ``ScenarioError`` naming the file, every line of the form
  ``key.path: message`` (bounded in length), at least one of them naming a mutated key path or
  a key the mutated one is checked against; and ``clustersim`` given the file (``run``,
  ``sweep`` or ``validate --targets``) exits with status 2, one message, no traceback, and
  writes nothing to its ``--out`` folder;

anything else (another exception, a refusal that names no mutated key, a traceback, a file
written) is a failure.  ``tests/test_fuzz_inputs.py`` runs a seeded few hundred examples
through hypothesis; the audit is a command::

    python -m tests.fuzz_inputs --examples 5000 --seed 1

which prints the counts (tried, refused clearly, accepted valid, anything else) and writes
every failing example to ``--keep`` (default ``fuzz-failures/``) to replay.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KINDS = {"scenario": "scenarios", "design": "experiments", "targets": "targets"}


# ------------------------------------------------------------------------------ choices
class Chooser:
    """Where the mutations get their choices: a seeded NumPy generator (the audit) or
    hypothesis' ``data`` (the test, which can then shrink a failing example)."""

    def __init__(self, rng: np.random.Generator | None = None, data: Any = None) -> None:
        self.rng, self.data = rng, data

    def integer(self, lo: int, hi: int) -> int:
        """An integer from ``lo`` to ``hi`` (both included)."""
        if self.data is not None:
            from hypothesis import strategies as st

            return self.data.draw(st.integers(lo, hi))
        return int(self.rng.integers(lo, hi + 1))

    def pick(self, items: Sequence[Any]) -> Any:
        """One of ``items``."""
        return items[self.integer(0, len(items) - 1)]


# ------------------------------------------------------------------------------ TOML writer
@dataclass(frozen=True)
class Raw:
    """Text written as it is (a value nested too deep for a recursive writer)."""

    text: str


def _string(s: str) -> str:
    out = json.dumps(s, ensure_ascii=False)  # escapes ", \\ and the C0 controls as TOML does
    return out.replace("\x7f", "\\u007f")


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _string(k)


def _value(v: Any) -> str:
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def dumps(doc: dict[str, Any]) -> str:
    """A document as TOML: one ``key = value`` line per top-level key, inline tables below."""
    return "".join(f"{_key(str(k))} = {_value(v)}\n" for k, v in doc.items())


# ------------------------------------------------------------------------------ mutations
Path_ = tuple[str | int, ...]


def dotted(path: Path_) -> str:
    """('a', 0, 'b') -> 'a[0].b' (the loader's notation, keys cut to 60 characters)."""
    out = ""
    for p in path:
        key = str(p) if len(str(p)) <= 60 else str(p)[:57] + "..."
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + key
    return out


def nodes(doc: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every location in a document (not the root), depth first."""
    out: list[Path_] = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) \
        if isinstance(doc, list) else ()
    for k, v in items:
        out.append((*prefix, k))
        out += nodes(v, (*prefix, k))
    return out


def get(doc: Any, path: Path_) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def put(doc: Any, path: Path_, value: Any) -> None:
    get(doc, path[:-1])[path[-1]] = value


OTHER_TYPES: list[Any] = ["text", 42, 4.2, True, [1, 2], {"a": 1}, [], {}, [{"x": 1}], -7]
NUMBERS: list[Any] = [-1, -1e9, 1e9, 1e18, 2**63, 2**70, -(2**70), 0, -0.0, 1e-300, 1e308,
                      -1e308, 3, 0.5, 2**31, 123456789012]
NONFINITE = [math.nan, math.inf, -math.inf]
UNICODE = ["名字", "é", "ünïcödé", "\U0001f600", "مرحبا", "a\u200db", "e\u0301", "\u0000",
           "tab\there", "new\nline", "\x7f", "Ω" * 50, " ", ""]
BAD_BASES = ["nope", "baselin", "", 5, "SELF", "DIR", "LOOP", "FIFO", "x" * 1000,
             "y" * 300 + ".toml", "../" * 12 + "etc/hostname.toml", "/dev/zero", ["baseline"],
             "baseline.toml", "no_evaluation", "a\u0000b.toml"]


@dataclass
class Mutation:
    """One mutation: what it did and the key paths it touched."""

    kind: str
    paths: list[str]
    detail: str = ""


def _misspell(c: Chooser, key: str) -> str:
    if not key:
        return "x"
    how = c.integer(0, 4)
    i = c.integer(0, len(key) - 1)
    if how == 0 and len(key) > 1:
        return key[:i] + key[i + 1:]
    if how == 1:
        return key[:i] + key[i] + key[i:]
    if how == 2 and len(key) > 1:
        j = min(i + 1, len(key) - 1)
        chars = list(key)
        chars[i], chars[j] = chars[j], chars[i]
        fresh = "".join(chars)
        return fresh if fresh != key else key + "_"
    if how == 3:
        return key.upper() if key.upper() != key else key + "s"
    return key + c.pick(["s", "_x", "2", "é"])


def _nest(c: Chooser, depth: int) -> Any:
    """A value nested ``depth`` levels deep (as raw text when deeper than the writer goes)."""
    inner = c.pick(["1", '"x"', "{}", "[]"])
    if c.integer(0, 1):
        return Raw("[" * depth + inner + "]" * depth)
    return Raw("{ a = " * depth + inner + " }" * depth)


def mutate(c: Chooser, doc: dict[str, Any]) -> Mutation:
    """Apply one mutation to ``doc`` in place."""
    locations = nodes(doc)
    kind = c.pick(["delete", "misspell", "retype", "range", "nonfinite", "huge", "unicode",
                   "long", "deep", "base", "unknown", "repeat"])
    if not locations:
        kind = "unknown"
    if kind == "base":
        ref = c.pick(BAD_BASES)
        doc["base"] = copy.deepcopy(ref)
        return Mutation("base", ["base"], repr(ref)[:80])
    if kind == "unknown":
        tables = [()] + [p for p in locations if isinstance(get(doc, p), dict)]
        where = c.pick(tables)
        key = c.pick(["extra", "nmae", "sampler_", "valeu", "é", "x" * 300])
        get(doc, where)[key] = copy.deepcopy(c.pick(OTHER_TYPES))
        return Mutation("unknown", [dotted((*where, key))])
    path = c.pick(locations)
    here = dotted(path)
    value = get(doc, path)
    if kind in ("range", "nonfinite", "unicode"):  # prefer a leaf of the fitting type
        want = (str,) if kind == "unicode" else (int, float)
        leaves = [p for p in locations if isinstance(get(doc, p), want)
                  and not isinstance(get(doc, p), bool)]
        if leaves:
            path = c.pick(leaves)
            here, value = dotted(path), get(doc, path)
    if kind == "delete":
        parent = get(doc, path[:-1])
        del parent[path[-1]]
        return Mutation("delete", [here])
    if kind == "misspell":
        keyed = [p for p in locations if isinstance(p[-1], str)]
        if not keyed:
            return mutate(c, doc)
        path = c.pick(keyed)
        parent, old = get(doc, path[:-1]), path[-1]
        new = _misspell(c, old)
        if new in parent:
            new += "_"
        parent[new] = parent.pop(old)
        return Mutation("misspell", [dotted(path), dotted((*path[:-1], new))], f"{old}->{new}")
    if kind == "retype":
        choices = [v for v in OTHER_TYPES if type(v) is not type(value)]
        put(doc, path, copy.deepcopy(c.pick(choices)))  # never share a pool's value
    elif kind == "range":
        put(doc, path, c.pick(NUMBERS))
    elif kind == "nonfinite":
        put(doc, path, c.pick(NONFINITE))
    elif kind == "huge":
        small = len(repr(value)) < 200
        put(doc, path, c.pick([list(range(100_000)), "x" * 1_000_000,
                               [copy.deepcopy(value) for _ in range(5_000 if small else 2)],
                               {f"k{i}": i for i in range(5_000)}, "z" * 2_100_000]))
    elif kind == "unicode":
        put(doc, path, c.pick(UNICODE) if not isinstance(value, str) or not value
            else value[: c.integer(0, len(value))] + c.pick(UNICODE))
    elif kind == "long":
        put(doc, path, c.pick(["a" * 5_000, "ab" * 40_000, "b" * 81, "c" * 1001]))
    elif kind == "deep":
        put(doc, path, _nest(c, c.pick([17, 40, 400, 1000])))
    elif kind == "repeat":
        lists = [p for p in locations if isinstance(get(doc, p), list) and get(doc, p)]
        if not lists:
            return mutate(c, doc)
        path = c.pick(lists)
        here, value = dotted(path), get(doc, path)
        value.append(value[c.integer(0, len(value) - 1)])
    return Mutation(kind, [here])


# ------------------------------------------------------------------------------ workspace
@dataclass
class Workspace:
    """A copy of the repository's input layout in which mutated files are written."""

    root: Path
    sources: dict[str, list[Path]] = field(default_factory=dict)

    @classmethod
    def make(cls, root: Path) -> Workspace:
        import os

        (root / "scenarios").mkdir(parents=True)
        for f in (ROOT / "scenarios").glob("*.toml"):
            shutil.copy(f, root / "scenarios" / f.name)
        for sub in ("experiments", "targets", "out"):
            (root / sub).mkdir()
        (root / "scenarios" / "DIR.toml").mkdir()
        os.symlink(root / "scenarios" / "LOOP.toml", root / "scenarios" / "LOOP.toml")
        os.mkfifo(root / "scenarios" / "FIFO.toml")
        for name in ("DIR", "LOOP", "FIFO"):  # the same names beside designs and targets
            for sub in ("experiments", "targets"):
                os.symlink(root / "scenarios" / f"{name}.toml", root / sub / f"{name}.toml")
        return cls(root, {
            "scenario": sorted((ROOT / "scenarios").glob("*.toml")),
            "design": sorted(p for p in (ROOT / "experiments").glob("*.toml")  # not the
                             if 'kind = "evaluation"' not in p.read_text()),  # evaluations
            "targets": sorted((ROOT / "calibration" / "targets").glob("*.toml")),
        })


# ------------------------------------------------------------------------------ one example
@dataclass
class Outcome:
    """What one example gave."""

    verdict: str  # "refused clearly", "accepted valid" or "anything else"
    kind: str
    source: str
    mutations: list[Mutation]
    message: str = ""
    text: str = ""


LINE = re.compile(r"^(?P<path>[^:\n]{1,400}?): (?P<msg>.+)$", re.S)
FILE_LEVEL = ("cannot read the file", "not a regular file", "TOML syntax error", "not UTF-8",
              "file is larger", "the file is empty")
# keys checked against each other: an error at one may come from a mutation of another
FAMILIES = [
    ("world", "clusters", "policy.poles.candidates", "run", "time", "calibration"),
    ("time", "clusters", "policy.poles", "policy.international"),
    ("policy.animation",), ("behaviour.projects",), ("policy.poles",),
    ("kind", "lever", "scenarios", "base", "sampler", "years", "indicators"),
    ("base", "scenarios", "years", "name"),
    ("base", "world", "name"),  # a variant without its base lacks the base's blocks
]


def _top(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def related(error_path: str, mutated: str) -> bool:
    """Whether an error at ``error_path`` can be the loader's answer to a mutation at
    ``mutated``: the same place, an ancestor or descendant, or keys checked together."""
    e, m = error_path.strip(), mutated
    if e == m or e.startswith((m + ".", m + "[")) or m.startswith((e + ".", e + "[")):
        return True
    if re.sub(r"\[\d+\]", "", e) == re.sub(r"\[\d+\]", "", m):
        return True
    if _top(e) == _top(m) and _top(e) in ("target", "lever", "clusters", "scenarios",
                                          "world", "policy", "behaviour", "time", "run"):
        return True
    return any(any(e.startswith(f) for f in fam) and any(m.startswith(f) for f in fam)
               for fam in FAMILIES)


def _load(kind: str, path: Path):
    from sim.experiment.design import load_design
    from sim.loader import load_scenario
    from sim.targets import load_targets

    return {"scenario": load_scenario, "design": load_design, "targets": load_targets}[kind](path)


def _valid(kind: str, obj: Any) -> str:
    """'' when a loaded object is valid, else why not."""
    from sim.scenario import Scenario, cross_check

    if kind == "scenario":
        again = Scenario.model_validate(obj.model_dump())
        problems = cross_check(again.model_dump())
        return "; ".join(problems)
    if kind == "design":
        from sim.experiment.design import Design, design_checks, points

        design, _ = obj
        Design.model_validate(design.model_dump())
        problems = design_checks(design.model_dump())
        if design.kind != "compare":
            pts = points(design)
            if not pts:
                problems.append("no design point")
        return "; ".join(problems)
    from sim.loader import load_scenario
    from sim.targets import scenario_problems

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scenario_problems(obj, load_scenario())
    return ""


def _cli(kind: str, path: Path, out: Path) -> tuple[int, str]:
    from sim.cli import main

    argv = {"scenario": ["run", str(path), "--no-figure"], "design": ["sweep", str(path)],
            "targets": ["validate", "--targets", str(path)]}[kind] + ["--out", str(out)]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()


def example(c: Chooser, ws: Workspace, n: int) -> Outcome:
    """Draw one mutated file, load it, judge the outcome."""
    import tomllib

    from sim.loader import ScenarioError, ScenarioWarning

    kind = c.pick(sorted(ws.sources))
    source = c.pick(ws.sources[kind])
    doc = tomllib.loads(source.read_text())
    muts = [mutate(c, doc) for _ in range(c.integer(1, 3))]
    folder = ws.root / KINDS[kind]
    path = folder / f"fuzz{n}.toml"
    for m in muts:
        if m.kind == "base" and doc.get("base") == "SELF":
            doc["base"] = path.name
    text = dumps(doc)
    path.write_text(text, encoding="utf-8")
    out = ws.root / "out" / f"o{n}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScenarioWarning)
            try:
                obj = _load(kind, path)
            except ScenarioError as exc:
                return _judge_refusal(kind, source, muts, exc, path, out, text)
            except Exception as exc:  # anything but a clear refusal is a defect
                return Outcome("anything else", kind, source.name, muts,
                               f"{type(exc).__name__}: {exc}"[:2000], text)
            try:
                why = _valid(kind, obj)
            except Exception as exc:  # accepted, then unusable: a defect
                why = f"{type(exc).__name__}: {exc}"[:2000]
            if why:
                return Outcome("anything else", kind, source.name, muts,
                               f"accepted but invalid: {why}", text)
            return Outcome("accepted valid", kind, source.name, muts)
    finally:
        path.unlink(missing_ok=True)
        shutil.rmtree(out, ignore_errors=True)


def _judge_refusal(kind, source, muts, exc, path, out, text) -> Outcome:
    bad = ""
    paths = []
    if exc.source != str(path):
        bad = f"refusal names {exc.source!r}, not the file"
    for line in exc.errors:
        m = LINE.match(line)
        if line.startswith((*FILE_LEVEL, "... and ")) and len(line) <= 2000:
            continue
        if m is None or len(line) > 2000:
            bad = bad or f"not a 'key.path: message' line of a sane length: {line[:300]!r}"
            continue
        paths.append(m.group("path"))
    mutated = [p for mut in muts for p in mut.paths]
    file_level = all(line.startswith(FILE_LEVEL) for line in exc.errors)
    if not bad and not file_level and not any(
            related(p, q) or (p == "(top level)" and ("." not in q and "[" not in q))
            or (p in ("base", "calibration") and q in ("base", "calibration"))
            for p in paths for q in mutated):
        bad = f"no error names a mutated key ({mutated}): {exc.errors[:3]}"
    if not bad:
        code, err = _cli(kind, path, out)
        if code != 2 or "Traceback" in err or "internal error" in err:
            bad = f"clustersim exited {code}: {err[-500:]}"
        elif out.exists():
            bad = f"clustersim wrote into --out: {sorted(p.name for p in out.rglob('*'))}"
    if bad:
        return Outcome("anything else", kind, source.name, muts, bad, text)
    return Outcome("refused clearly", kind, source.name, muts, exc.errors[0][:200])


# ------------------------------------------------------------------------------ the audit
def run(examples: int, seed: int, keep: Path | None, progress: bool = True
        ) -> dict[str, int]:
    """Try ``examples`` mutated files (seeded); print and return the counts."""
    counts = {"tried": 0, "refused clearly": 0, "accepted valid": 0, "anything else": 0}
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-inputs-") as tmp:
        ws = Workspace.make(Path(tmp) / "ws")
        for n in range(examples):
            got = example(Chooser(rng=rng), ws, n)
            counts["tried"] += 1
            counts[got.verdict] += 1
            if got.verdict == "anything else":
                print(f"example {n} ({got.kind} {got.source}, "
                      f"{[(m.kind, m.paths) for m in got.mutations]}): {got.message[:500]}",
                      file=sys.stderr)
                if keep is not None:
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / f"example{n}-{got.kind}.toml").write_text(got.text)
            if progress and (n + 1) % 500 == 0:
                print(f"  {n + 1} examples, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    width = max(map(len, counts))
    for k, v in counts.items():
        print(f"{k:{width}s}  {v}")
    print(f"{'seconds':{width}s}  {time.perf_counter() - t0:.1f}")
    return counts


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.fuzz_inputs``: the long run of the generated corpus, for audits."""
    p = argparse.ArgumentParser(prog="python -m tests.fuzz_inputs", description=__doc__
                                .split("\n\n")[0])
    p.add_argument("--examples", type=int, default=5000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", type=Path, default=Path("fuzz-failures"),
                   help="folder for the failing examples (default fuzz-failures/)")
    args = p.parse_args(argv)
    counts = run(args.examples, args.seed, args.keep)
    return 1 if counts["anything else"] else 0


def check(outcome: Outcome) -> None:
    """Assert an outcome is one of the two allowed (for the property test)."""
    assert outcome.verdict in ("refused clearly", "accepted valid"), (
        f"{outcome.kind} {outcome.source} with {outcome.mutations}: {outcome.message}\n"
        f"--- the file ---\n{outcome.text[:3000]}")


Judge = Callable[[Outcome], None]

if __name__ == "__main__":
    sys.exit(main())
