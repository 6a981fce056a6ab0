"""Load scenario files: safe TOML parsing, ``base`` inheritance, precise errors.

A scenario file may name a ``base`` scenario and override only what differs::

    base = "baseline"            # a file beside this one, or an embedded scenario
    name = "no_evaluation"
    [policy.evaluation]
    enabled = false

Tables merge key by key; arrays (``[[clusters]]``, ``[[world.sectors]]``, lists) replace the
base's array whole.  Every problem in the merged document is reported at once as
``file: dotted.key.path: message (got value)``.  Files are only ever read with :mod:`tomllib`:
nothing is unpickled or evaluated.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import math
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario import Scenario, cross_check

MAX_FILE_BYTES = 2_000_000  # a scenario is a few kB; refuse anything absurdly large unread
BASELINE = "baseline"


class ScenarioError(ValueError):
    """A scenario (or experiment) file was refused; ``errors`` lists every problem."""

    def __init__(self, source: str, errors: list[str]):
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  {e}" for e in errors)
        super().__init__(f"{source}: {len(errors)} error(s)\n{lines}")


def embedded_path(name: str) -> Path:
    """Path of a scenario shipped inside the installed package (``scenarios/<name>.toml``)."""
    return Path(str(resources.files("scenarios").joinpath(f"{name}.toml")))


def read_toml(path: Path) -> dict[str, Any]:
    """Read one TOML file, refusing huge, unreadable or malformed files with a clear message."""
    src = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError(src, [f"cannot read the file: {exc.strerror or exc}"]) from None
    if size > MAX_FILE_BYTES:
        raise ScenarioError(src, [f"file is {size} bytes; a scenario must be under "
                                  f"{MAX_FILE_BYTES} bytes"])
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(src, [f"not UTF-8 text: {exc}"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"TOML syntax error: {exc}"
        lineno = getattr(exc, "lineno", None)
        if lineno is None:
            m = re.search(r"at line (\d+)", str(exc))
            lineno = int(m.group(1)) if m else None
        lines = text.splitlines()
        if lineno and 0 < lineno <= len(lines):
            msg += f": {lines[lineno - 1].strip()!r}"
        raise ScenarioError(src, [msg]) from None


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into a copy of ``base``: tables recursively, everything else replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve_base(ref: Any, child: Path) -> Path | str:
    """Find the file a ``base`` names; return an error message instead when it cannot."""
    if not isinstance(ref, str) or not ref:
        return f"base: expected the name or path of a scenario (a non-empty string), got {ref!r}"
    cands = []
    p = Path(ref)
    if p.suffix == ".toml":
        cands.append(p if p.is_absolute() else child.parent / p)
    else:
        cands.append(child.parent / f"{ref}.toml")
        cands.append(embedded_path(ref))
    for c in cands:
        if c.is_file():
            return c.resolve()
    looked = ", ".join(str(c) for c in cands)
    return f"base: no scenario {ref!r} (looked for {looked})"


def load_document(path: str | Path, _stack: tuple[tuple[Path, Path], ...] = ()
                  ) -> dict[str, Any]:
    """Return the merged TOML document of ``path`` after following its ``base`` chain."""
    path = Path(path)
    resolved = path.resolve()
    if any(r == resolved for r, _ in _stack):
        chain = " -> ".join(str(p) for _, p in (*_stack, (resolved, path)))
        raise ScenarioError(str(_stack[0][1]), [f"base: the chain of bases is a cycle: {chain}"])
    data = read_toml(path)
    if "base" not in data:
        return data
    ref = data.pop("base")
    base_path = _resolve_base(ref, path)
    if isinstance(base_path, str):
        raise ScenarioError(str(_stack[0][1] if _stack else path), [base_path])
    base = load_document(base_path, (*_stack, (resolved, path)))
    merged = deep_merge(base, data)
    if "name" not in data:
        # a variant that does not name itself is named after its file, never after its base
        merged["name"] = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem) or "variant"
    return merged


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _model_at(loc: tuple[Any, ...], root: type[BaseModel] = Scenario) -> type[BaseModel] | None:
    """The schema block that a location points into (for 'did you mean' hints)."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        model = args[0] if args and isinstance(args[0], type) else ann
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def format_errors(exc: ValidationError, root: type[BaseModel] = Scenario) -> list[str]:
    """Turn pydantic's errors into 'dotted.path: message (got value)' lines (``root`` is the
    schema validated, for 'did you mean' hints)."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = _loc(loc)
        value = err.get("input")
        kind = err["type"]
        if kind == "extra_forbidden":
            parent = _model_at(loc[:-1], root)
            allowed = sorted(parent.model_fields) if parent else []
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            msg = "unknown key"
            if hint:
                msg += f"; did you mean {hint[0]!r}?"
            if allowed:
                msg += f" (allowed here: {', '.join(allowed)})"
            out.append(f"{path}: {msg}")
            continue
        if kind == "missing":
            out.append(f"{path}: required key is missing")
            continue
        msg = err["msg"]
        if kind == "value_error":
            # a check of a whole table may report several problems, each naming its key
            for part in msg.removeprefix("Value error, ").split("; "):
                key, sep, rest = part.partition(": ")
                if sep and re.fullmatch(r"[a-z_*]+(\[\d+\])?", key):
                    out.append(f"{path + '.' if path != '(top level)' else ''}{key}: {rest}")
                else:
                    out.append(f"{path}: {part}")
            continue
        if isinstance(value, float) and not math.isfinite(value):
            msg = f"{msg} (NaN and infinity are refused)"
        if isinstance(value, dict) and kind == "value_error":
            out.append(f"{path}: {msg}")
        elif isinstance(value, dict):
            out.append(f"{path}: {msg} (got a table: {_show(value)})")
        else:
            out.append(f"{path}: {msg} (got {_show(value)})")
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b[2].c`` in a nested document (for sweep overrides); create tables as needed.

    Raises ``ValueError`` for a malformed path or one that does not fit the document.
    """
    parts: list[str | int] = []
    for chunk in dotted.split("."):
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)", chunk)
        if not m:
            raise ValueError(f"malformed path {dotted!r}")
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    node: Any = doc
    for part, nxt in itertools.pairwise(parts):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise ValueError(f"no element [{part}] in {dotted!r}")
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ValueError(f"{part!r} is not a table in {dotted!r}")
            node = node.setdefault(part, [] if isinstance(nxt, int) else {})
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ValueError(f"no element [{last}] in {dotted!r}")
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ValueError(f"{last!r} is not a table key in {dotted!r}")


def validate_document(doc: dict[str, Any], source: str,
                      overridden: tuple[str, ...] = ()) -> Scenario:
    """Validate a merged document against the schema, raising every error at once.

    Field errors and the checks across blocks (unknown sectors, repeated names...) are reported
    together; errors on a path set by an override say so.
    """
    if not doc:
        raise ScenarioError(source, ["the file is empty: a scenario needs at least `name` and "
                                     "`[world]` (or a `base` to inherit them from)"])
    try:
        return Scenario.model_validate(doc)
    except ValidationError as exc:
        errors = [e for e in format_errors(exc) if not e.startswith("(top level): ")]
        errors += cross_check(doc)
        errors = [_mark_override(e, overridden) for e in errors]
        raise ScenarioError(source, errors) from None


def _mark_override(error: str, overridden: tuple[str, ...]) -> str:
    path = error.split(":", 1)[0]
    for key in overridden:
        if path == key or path.startswith(key + ".") or path.startswith(key + "["):
            return f"{error} [value set by the override {key!r}]"
    return error


def calibrated_path(ref: str, scenario_path: Path) -> Path:
    """The calibrated-parameters file a scenario's ``calibration`` key names."""
    if ref.endswith(".toml"):
        p = Path(ref)
        return p if p.is_absolute() else scenario_path.parent / p
    return Path(str(resources.files("calibration").joinpath(f"{ref}.toml")))


def read_calibrated(path: Path, source: str) -> dict[str, Any]:
    """The ``[parameters]`` table (dotted path -> value) of a calibrated-parameters file."""
    if not path.is_file():
        raise ScenarioError(source, [f"calibration: no calibrated-parameters file {path}"])
    doc = read_toml(path)
    params = doc.get("parameters")
    if not isinstance(params, dict):
        raise ScenarioError(str(path), ["parameters: a calibrated-parameters file needs a "
                                        "[parameters] table of dotted paths and values"])
    return params


def _has_path(doc: dict[str, Any], dotted: str) -> bool:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def apply_calibration(doc: dict[str, Any], path: Path) -> None:
    """Give the parameters of the document's ``calibration`` file to every key the scenario
    does not set itself."""
    ref = doc.get("calibration")
    if not isinstance(ref, str) or not ref:
        return
    cal = calibrated_path(ref, path)
    for key, value in read_calibrated(cal, str(path)).items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+", key):
            raise ScenarioError(str(cal), [f"parameters.{key}: expected a dotted parameter path "
                                           "such as behaviour.partnering.initiate_rate"])
        if _has_path(doc, key):
            continue
        try:
            set_path(doc, key, value)
        except ValueError:
            continue  # the scenario set a parent to something else: validation reports it


def load_scenario(path: str | Path | None = None,
                  overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario file (the embedded baseline when ``path`` is None).

    ``overrides`` maps dotted paths (``"policy.animation.subsidy_eur_per_year"``) to values
    applied after inheritance and before validation.
    """
    path = embedded_path(BASELINE) if path is None else Path(path)
    doc = load_document(path)
    apply_calibration(doc, path)
    problems = []
    for key, value in (overrides or {}).items():
        try:
            set_path(doc, key, value)
        except ValueError as exc:
            problems.append(f"{key}: cannot override this path ({exc})")
    if problems:
        raise ScenarioError(str(path), problems)
    return validate_document(doc, str(path), tuple(overrides or ()))


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario (canonical JSON), identifying it in manifests."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()
