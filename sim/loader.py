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
import json
import math
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario import Scenario

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
        raise ScenarioError(src, [f"TOML syntax error: {exc}"]) from None


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


def load_document(path: str | Path, _stack: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Return the merged TOML document of ``path`` after following its ``base`` chain."""
    path = Path(path)
    resolved = path.resolve()
    if resolved in _stack:
        chain = " -> ".join(str(p) for p in (*_stack, resolved))
        raise ScenarioError(str(_stack[0]), [f"base: the chain of bases is a cycle: {chain}"])
    data = read_toml(path)
    if "base" not in data:
        return data
    ref = data.pop("base")
    base_path = _resolve_base(ref, path)
    if isinstance(base_path, str):
        raise ScenarioError(str(path), [base_path])
    base = load_document(base_path, (*_stack, resolved))
    merged = deep_merge(base, data)
    # A variant that does not rename itself would silently share the base's name (and seeds).
    merged.setdefault("name", path.stem)
    if "name" not in data:
        merged["name"] = path.stem
    return merged


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The schema block that a location points into (for 'did you mean' hints)."""
    model: Any = Scenario
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


def format_errors(exc: ValidationError) -> list[str]:
    """Turn pydantic's errors into 'dotted.path: message (got value)' lines."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = _loc(loc)
        value = err.get("input")
        kind = err["type"]
        if kind == "extra_forbidden":
            parent = _model_at(loc[:-1])
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
            msg = msg.removeprefix("Value error, ")
        shown = _show(value)
        if isinstance(value, float) and not math.isfinite(value):
            msg = f"{msg} (NaN and infinity are refused)"
        out.append(f"{path}: {msg} (got {shown})")
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b[2].c`` in a nested document (for sweep overrides); create tables as needed."""
    parts: list[str | int] = []
    for chunk in dotted.split("."):
        name, _, rest = chunk.partition("[")
        if name:
            parts.append(name)
        while rest:
            idx, _, rest = rest.partition("]")
            parts.append(int(idx))
            rest = rest.removeprefix("[")
    node: Any = doc
    for part in parts[:-1]:
        if isinstance(part, int):
            node = node[part]
        else:
            node = node.setdefault(part, {})
    node[parts[-1]] = value


def validate_document(doc: dict[str, Any], source: str) -> Scenario:
    """Validate a merged document against the schema, raising every error at once."""
    if not doc:
        raise ScenarioError(source, ["the file is empty: a scenario needs at least `name` and "
                                     "`[world]` (or a `base` to inherit them from)"])
    try:
        return Scenario.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError(source, format_errors(exc)) from None


def load_scenario(path: str | Path | None = None,
                  overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario file (the embedded baseline when ``path`` is None).

    ``overrides`` maps dotted paths (``"policy.animation.subsidy_eur_per_year"``) to values
    applied after inheritance and before validation.
    """
    path = embedded_path(BASELINE) if path is None else Path(path)
    doc = load_document(path)
    for key, value in (overrides or {}).items():
        try:
            set_path(doc, key, value)
        except (KeyError, IndexError, TypeError, ValueError):
            raise ScenarioError(str(path), [f"{key}: cannot override this path"]) from None
    return validate_document(doc, str(path))


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario (canonical JSON), identifying it in manifests."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()
