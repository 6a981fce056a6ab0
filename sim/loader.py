"""Load scenario files: safe reading, ``base`` inheritance, precise errors.

A scenario file may name a ``base`` scenario and override only what differs::

    base = "baseline"            # a file beside this one, or an embedded scenario
    name = "no_evaluation"
    [policy.evaluation]
    enabled = false

Tables merge key by key; arrays (``[[clusters]]``, ``[[world.sectors]]``, lists) replace the
base's array whole.  Every problem in the merged document is reported at once as
``file: dotted.key.path: message (got value)``.

Every file a user gives (scenario, base, calibrated parameters, design, targets, calibration
configuration) is read by :func:`read_user_file`: only a regular file (not a directory, FIFO,
device or symlink loop), at most :data:`MAX_FILE_BYTES`, parsed with :mod:`tomllib` (nothing is
unpickled or evaluated), nested at most :data:`MAX_DEPTH` levels; a chain of bases is at most
:data:`MAX_BASES` files long.  A TOML syntax error quotes the offending line only of the file
the user named, never of a file reached through it (a base may be a link to any file).

The checks of a whole document (:func:`validation_errors`) serve every strict schema of the
project: scenarios here, designs (:mod:`sim.experiment.design`), targets (:mod:`sim.targets`)
and calibration configurations (:mod:`calibration.smm`), so they all report every error at once
with the same paths and "did you mean" hints.
"""

from __future__ import annotations

import copy
import difflib
import errno
import hashlib
import itertools
import json
import math
import os
import re
import stat
import tomllib
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario import (
    MOVED_KEYS,
    REMOVED_KEYS,
    Scenario,
    calibration_problem,
    calibration_refs,
    cross_check,
)

MAX_FILE_BYTES = 2_000_000  # a scenario is a few kB; refuse anything absurdly large unread
MAX_DEPTH = 16  # nesting of tables and arrays; the schemas' deepest path has 5 levels
MAX_BASES = 32  # files in a chain of bases (the shipped variants use one)
MAX_REF = 1000  # characters of a file reference (base, calibration), as the schema's bound
BASELINE = "baseline"
EXIT_INPUT = 2  # exit status of a refused input, whatever the command (sim.cli)


MAX_ERRORS = 50  # problems listed by one refusal; the rest are counted


class ScenarioError(ValueError):
    """A scenario (or experiment) file was refused; ``errors`` lists every problem (the first
    :data:`MAX_ERRORS`, then how many more)."""

    exit_code = EXIT_INPUT

    def __init__(self, source: str, errors: list[str]):
        if len(errors) > MAX_ERRORS:
            errors = [*errors[:MAX_ERRORS], f"... and {len(errors) - MAX_ERRORS} more error(s)"]
        self.source = source
        self.errors = errors
        lines = "\n".join(f"  {e}" for e in errors)
        super().__init__(f"{source}: {len(errors)} error(s)\n{lines}")


class ScenarioWarning(UserWarning):
    """A scenario that loads but may not mean what its author wants (printed before a run)."""


def embedded_path(name: str) -> Path:
    """Path of a scenario shipped inside the installed package (``scenarios/<name>.toml``)."""
    return Path(str(resources.files("scenarios").joinpath(f"{name}.toml")))


def embedded_names() -> list[str]:
    """Names of the scenarios shipped inside the package."""
    folder = Path(str(resources.files("scenarios")))
    return sorted(p.stem for p in folder.glob("*.toml"))


# ------------------------------------------------------------------------------ reading
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def read_user_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a file a user gave, or a :class:`ScenarioError` saying why not.

    Only a regular file is read (a directory, FIFO, device, socket or symlink loop is refused
    without reading: a FIFO or ``/dev/zero`` would block or never end), and at most ``limit``
    bytes of it (whatever its size claims).  Opening is non-blocking, so a FIFO cannot hang it.
    """
    src = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        hint = _near_file(Path(path)) if exc.errno == errno.ENOENT else ""
        raise ScenarioError(src, [f"cannot read the file: {exc.strerror or exc}{hint}"]
                            ) from None
    except ValueError as exc:  # an embedded NUL character
        raise ScenarioError(src, [f"cannot read the file: {exc}"]) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ScenarioError(src, [f"not a regular file ({_kind(mode)}): expected a TOML "
                                      "file"])
        chunks, size = [], 0
        while size <= limit:
            try:
                chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            except OSError as exc:
                raise ScenarioError(src, [f"cannot read the file: {exc.strerror or exc}"]
                                    ) from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise ScenarioError(src, [f"file is larger than {limit} bytes; a TOML file of "
                                      "this tool is a few kB"])
        return b"".join(chunks)
    finally:
        os.close(fd)


def _near_file(path: Path) -> str:
    """'; did you mean ...?' naming a TOML file beside a missing one, if one is close."""
    try:
        names = sorted(f.name for f in path.parent.glob("*.toml")) if path.parent.is_dir() else []
    except (OSError, ValueError):
        names = []
    hint = difflib.get_close_matches(path.name, names, n=1, cutoff=0.75)
    return f"; did you mean {hint[0]!r}?" if hint else ""


def read_toml(path: Path, *, echo: bool = True, limit: int = MAX_FILE_BYTES) -> dict[str, Any]:
    """Read one TOML file the user gave, refusing unreadable, huge, malformed or too deeply
    nested files with a clear message.

    ``echo``: a syntax error quotes the offending line (only for a file the user named: a
    file reached through it, a base or a calibration file, may be a link to any file).
    """
    src = str(path)
    data = read_user_file(path, limit)
    digest = hashlib.sha256(data).digest()
    if digest in _PARSED:
        _PARSED.move_to_end(digest)
        return _copy_doc(_PARSED[digest])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(src, [f"not UTF-8 text: {exc}"]) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"TOML syntax error: {exc}"
        lineno = getattr(exc, "lineno", None)
        if lineno is None:
            m = re.search(r"at line (\d+)", str(exc))
            lineno = int(m.group(1)) if m else None
        lines = text.splitlines()
        if echo and lineno and 0 < lineno <= len(lines):
            msg += f": {_show(lines[lineno - 1].strip())}"
        raise ScenarioError(src, [msg]) from None
    except RecursionError:
        raise ScenarioError(src, [_deep_text(text)]) from None
    deep = _too_deep(doc)
    if deep is not None:
        raise ScenarioError(src, [f"{deep}: arrays or tables nested more than {MAX_DEPTH} "
                                  "levels deep"])
    _PARSED[digest] = doc
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return _copy_doc(doc)


# Documents already parsed, by the SHA-256 of their bytes (least recently used first): a
# process that loads many scenarios (a sweep's variants, a calibration's candidates, the input
# fuzzer) reads the same bases and calibration files again and again, and tomllib parses about
# 1 MB/s (10 ms for baseline.toml or calibrated.toml).  Keyed by content, so an edited file is
# parsed again; only documents that passed every check are kept; each caller gets its own copy.
_PARSED: OrderedDict[bytes, dict[str, Any]] = OrderedDict()
_PARSED_MAX = 64


def _copy_doc(node: Any) -> Any:
    """A copy of a parsed TOML document (its tables and arrays; the scalars are immutable)."""
    if isinstance(node, dict):
        return {k: _copy_doc(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy_doc(v) for v in node]
    return node


def _too_deep(doc: Any, limit: int = MAX_DEPTH) -> str | None:
    """The path of the first place nested deeper than ``limit`` levels (iteratively: no
    recursion, whatever the depth), or None."""
    stack: list[tuple[Any, str, int]] = [(doc, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > limit:
            return path
        if isinstance(node, dict):
            stack += [(v, f"{path}.{_key(k)}" if path else _key(k), depth + 1)
                      for k, v in reversed(node.items())]
        elif isinstance(node, list):
            stack += [(v, f"{path}[{i}]", depth + 1) for i, v in reversed(list(enumerate(node)))]
    return None


def _deep_text(text: str) -> str:
    """The error for TOML nested too deeply for :mod:`tomllib` to parse: the line and key where
    the nesting passes :data:`MAX_DEPTH` (found by a scan that skips strings and comments)."""
    depth, table, key, line, value = 0, "", "", 1, False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            if depth == 0:
                value = False
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                if c == '"' and text[j] == "\\":
                    j += 1
                line += text[j] == "\n"
                j += 1
            i = j + len(quote)
            continue
        elif not value and depth == 0 and c == "[":
            j = text.find("\n", i)
            table = text[i:n if j < 0 else j].strip("[] \t\r")
            i = n if j < 0 else j
            continue
        elif not value and c == "=":
            start = text.rfind("\n", 0, i) + 1
            key, value = text[start:i].strip(), True
        elif value and c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                where = ".".join(x for x in (table, key) if x)
                return (f"{_clip(where) or '(top level)'}: arrays or tables nested more than "
                        f"{MAX_DEPTH} levels deep (line {line})")
        elif value and c in "]}":
            depth -= 1
        i += 1
    return f"(top level): arrays or tables nested more than {MAX_DEPTH} levels deep"


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


def _key(k: Any) -> str:
    return _clip(str(k))


# ------------------------------------------------------------------------------ file kinds
# keys that only one kind of file has: to say "this is a design, not a scenario"
_KIND_KEYS = {"design": ("kind", "lever", "sampler"), "targets": ("target",),
              "calibration configuration": ("parameter", "optimizer", "uncertainty")}
_SCENARIO_KEYS = ("world", "clusters", "behaviour", "policy", "time", "run", "calibration")
_COMMANDS = {"scenario": "`clustersim run FILE` or `clustersim check FILE`",
             "design": "`clustersim sweep FILE` (or `sensitivity`)",
             "targets": "`clustersim validate --targets FILE`",
             "calibration configuration": "`clustersim calibrate FILE`"}


def kind_of(doc: Mapping[str, Any]) -> str | None:
    """Which kind of file a document looks like (None when it shows no distinctive key)."""
    for kind, keys in _KIND_KEYS.items():
        if any(k in doc for k in keys):
            return kind
    if any(k in doc for k in _SCENARIO_KEYS):
        return "scenario"
    return None


def wrong_kind(doc: Mapping[str, Any], expected: str, source: str) -> None:
    """Refuse a document that is plainly another kind of file than ``expected``."""
    kind = kind_of(doc)
    if kind is not None and kind != expected:
        keys = [k for k in _KIND_KEYS.get(kind, _SCENARIO_KEYS) if k in doc]
        raise ScenarioError(source, [f"(top level): this is a {kind} file (it has "
                                     f"{', '.join(map(repr, keys))}), not a {expected} file; "
                                     f"use it with {_COMMANDS[kind]}"])


# ------------------------------------------------------------------------------ names
def plain_name(value: str) -> str:
    """Check a name that becomes a file or folder name: a single plain path component.

    Raises ``ValueError`` (for a pydantic validator) for ``.``, ``..``, hidden names, path
    separators and the like, so that every file the tool writes lies inside the folder the user
    named.
    """
    if (not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", value) or value in (".", "..")
            or len(value) > 80):
        raise ValueError(f"expected a plain file name (it names a folder of the output): "
                         f"letters, digits, '_', '-' and '.', not starting with '.' or '-', at "
                         f"most 80 characters (got {_show(value)})")
    return value


def relative_inside(folder: Path, ref: str, key: str) -> Path | str:
    """``folder / ref`` when ``ref`` is a relative path that stays inside ``folder`` (links
    resolved), else the error message for ``key``."""
    p = Path(ref)
    if "\0" in ref or p.is_absolute() or ".." in p.parts or not p.parts:
        return (f"{key}: expected a path relative to the configuration's folder, inside it "
                f"(no absolute path, no '..'), got {_show(ref)}")
    target = folder / p
    try:
        inside = target.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        return (f"{key}: {_show(ref)} leads outside the configuration's folder {folder} "
                "(through a link); write inside it")
    return target


# ------------------------------------------------------------------------------ bases
def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``over`` into a copy of ``base``: tables recursively, everything else replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def ref_problem(ref: Any, key: str, what: str) -> str | None:
    """Why a file reference (``base``, ``calibration``) is unusable as such, or None."""
    if not isinstance(ref, str) or not ref:
        return f"{key}: expected the name or path of {what} (a non-empty string), got {_show(ref)}"
    if len(ref) > MAX_REF or "\0" in ref:
        return (f"{key}: expected the name or path of {what}, at most {MAX_REF} characters and "
                f"no NUL character (got {_show(ref)}, {len(ref)} characters)")
    return None


def suggestion(word: str, names: list[str]) -> str:
    """'; did you mean 'x'?' for the closest of ``names`` to ``word``, or ''."""
    hint = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f"; did you mean {hint[0]!r}?" if hint else ""


def _resolve_base(ref: Any, child: Path) -> Path | str:
    """Find the file a ``base`` names; return an error message instead when it cannot."""
    problem = ref_problem(ref, "base", "a scenario")
    if problem:
        return problem
    p = Path(ref)
    cands = []
    if p.suffix == ".toml":
        cands.append(p if p.is_absolute() else child.parent / p)
    else:
        cands.append(child.parent / f"{ref}.toml")
        if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", ref):
            cands.append(embedded_path(ref))
    for c in cands:
        try:
            if c.exists() or c.is_symlink():
                return c
        except OSError:
            return c  # read_user_file says why it cannot be read
    looked = ", ".join(str(c) for c in cands)
    folder = cands[0].parent
    try:
        near = sorted(f.name if p.suffix == ".toml" else f.stem
                      for f in folder.glob("*.toml")) if folder.is_dir() else []
    except OSError:
        near = []
    names = near if p.suffix == ".toml" else sorted({*near, *embedded_names()})
    return f"base: no scenario {_show(ref)}{suggestion(p.name if p.suffix == '.toml' else ref, names)} " \
           f"(looked for {looked})"


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: reading it has already refused it
        return path.absolute()


def load_document(path: str | Path, expect: str | None = "scenario") -> dict[str, Any]:
    """Return the merged TOML document of ``path`` after following its ``base`` chain.

    The chain is followed in a loop (no recursion): at most :data:`MAX_BASES` files, no cycle.
    A problem with a ``base`` is reported against the file the user named.  A file that is
    plainly another kind than ``expect`` (a design given as a scenario...) is refused before
    its ``base`` is followed.
    """
    first = Path(path)
    chain: list[tuple[Path, Path, dict[str, Any]]] = []  # (resolved, as reached, document)
    current = first
    while True:
        if chain:
            try:
                doc = read_toml(current, echo=False)
            except ScenarioError as exc:  # reported against the file the user named
                raise ScenarioError(str(first), [f"base: {current}: {e}" for e in exc.errors]
                                    ) from None
        else:
            doc = read_toml(current)
        if not chain and expect is not None:
            wrong_kind(doc, expect, str(first))
        resolved = _resolved(current)
        if any(r == resolved for r, _, _ in chain):
            cycle = " -> ".join(str(p) for _, p, _ in chain) + f" -> {resolved}"
            raise ScenarioError(str(first), [f"base: the chain of bases is a cycle: {cycle}"])
        chain.append((resolved, resolved if chain else first, doc))
        if "base" not in doc:
            break
        if len(chain) > MAX_BASES:
            raise ScenarioError(str(first), [f"base: the chain of bases is longer than "
                                             f"{MAX_BASES} files (a variant names its base, "
                                             "which may name its own, and so on)"])
        base = _resolve_base(doc["base"], current)
        if isinstance(base, str):
            where = "" if len(chain) == 1 else f" (in {current})"
            raise ScenarioError(str(first), [base + where])
        current = base
    merged = chain[-1][2]
    for _, reached, doc in reversed(chain[:-1]):
        doc = dict(doc)
        doc.pop("base")
        merged = deep_merge(merged, doc)
        if "name" not in doc:
            # a variant that does not name itself is named after its file, never after its base
            merged["name"] = re.sub(r"[^A-Za-z0-9_.-]", "_", reached.stem) or "variant"
    if len(chain) == 1:
        merged = dict(merged)
        merged.pop("base", None)
    return merged


# ------------------------------------------------------------------------------ errors
def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _key(part)
    return out or "(top level)"


def _models_in(ann: Any) -> list[type[BaseModel]]:
    """The schema blocks an annotation can hold (through Optional, lists and unions)."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    out = []
    for arg in getattr(ann, "__args__", ()) or ():
        out += _models_in(arg)
    return out


def _walk(loc: tuple[Any, ...], root: type[BaseModel] = Scenario
          ) -> tuple[tuple[Any, ...], type[BaseModel] | None]:
    """The location without the tags pydantic adds inside a tagged union (a rule block's
    ``rule`` name: ``consequence.probation.review_years`` is the key
    ``consequence.review_years``), and the schema block it points into."""
    model: Any = root
    out: list[Any] = []
    pending: list[type[BaseModel]] = []  # the members of a tagged union just entered
    for part in loc:
        if isinstance(part, int):
            out.append(part)
            continue
        if pending:
            tagged = [m for m in pending if "rule" in m.model_fields
                      and part in getattr(m.model_fields["rule"].annotation, "__args__", ())]
            pending = []
            if tagged:
                model = tagged[0]
                continue
        out.append(part)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            model = None
            continue
        field = model.model_fields.get(part)
        if field is None:
            model = None
            continue
        found = _models_in(field.annotation)
        model = found[0] if len(found) == 1 else None
        if len(found) > 1:
            pending = found
    return tuple(out), model


def _model_at(loc: tuple[Any, ...], root: type[BaseModel] = Scenario) -> type[BaseModel] | None:
    """The schema block that a location points into (for 'did you mean' hints)."""
    return _walk(loc, root)[1]


def format_errors(exc: ValidationError, root: type[BaseModel] = Scenario, *,
                  skip_top_checks: bool = False) -> list[str]:
    """Turn pydantic's errors into 'dotted.path: message (got value)' lines (``root`` is the
    schema validated, for 'did you mean' hints).  ``skip_top_checks`` leaves out the problems
    of the schema's own check of the whole document (reported from the raw document instead,
    see :func:`validation_errors`)."""
    out = []
    for err in exc.errors(include_url=False):
        raw = tuple(err["loc"])
        loc = _walk(raw, root)[0]
        path = _loc(loc)
        value = err.get("input")
        kind = err["type"]
        if kind == "extra_forbidden":
            moved = MOVED_KEYS.get(path) if root is Scenario else None
            removed = REMOVED_KEYS.get(path) if root is Scenario else None
            if removed:
                out.append(f"{path}: this key was removed: {removed}")
                continue
            if moved:
                out.append(f"{path}: this key has moved to {moved} (a behavioural response, "
                           "not a lever of the Region: issue 16); write it there")
                continue
            parent = _model_at(raw[:-1], root)
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
        if kind == "union_tag_invalid":  # a rule block's unknown name: the tag, cut to size
            ctx = err.get("ctx", {})
            tag_key = str(ctx.get("discriminator", "rule")).strip("'")
            key = f"{path + '.' if path != '(top level)' else ''}{tag_key}"
            out.append(f"{key}: unknown name {_show(ctx.get('tag'))} (expected "
                       f"one of {ctx.get('expected_tags')})")
            continue
        if kind == "value_error":
            if skip_top_checks and not loc:
                continue
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
        if isinstance(value, dict):
            out.append(f"{path}: {msg} (got a table: {_show(value)})")
        else:
            out.append(f"{path}: {msg} (got {_show(value)})")
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


show = _show  # a value as messages quote it: its repr, cut to 80 characters


def validation_errors(doc: Mapping[str, Any], schema: type[BaseModel],
                      checks: Callable[[Any], list[str]] | None = None) -> list[str]:
    """Every problem of a document against a strict schema, or [] when it is valid.

    Field errors (with 'did you mean' hints for unknown keys) and the ``checks`` across keys
    come at once, in that order.  ``checks`` (the function the schema's own top-level check
    calls) run on the raw document, tolerant of wrong types, so that they are reported together
    with the field errors, not only once every field is right.
    """
    try:
        schema.model_validate(doc)
        return []
    except ValidationError as exc:
        errors = format_errors(exc, schema, skip_top_checks=checks is not None)
    if checks is not None:
        errors += checks(doc)
    return list(dict.fromkeys(errors))


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
    """Validate a merged scenario document against the schema, raising every error at once.

    Field errors and the checks across blocks (unknown sectors, repeated names...) are reported
    together; errors on a path set by an override say so.
    """
    if not doc:
        raise ScenarioError(source, ["the file is empty: a scenario needs at least `name` and "
                                     "`[world]` (or a `base` to inherit them from)"])
    errors = validation_errors(doc, Scenario, cross_check)
    if errors:
        raise ScenarioError(source, [_mark_override(e, overridden) for e in errors])
    return Scenario.model_validate(doc)


def _mark_override(error: str, overridden: tuple[str, ...]) -> str:
    path = error.split(":", 1)[0]
    for key in overridden:
        if path == key or path.startswith(key + ".") or path.startswith(key + "["):
            return f"{error} [value set by the override {key!r}]"
    return error


# ------------------------------------------------------------------------------ calibration
def calibrated_path(ref: str, scenario_path: Path) -> Path:
    """The calibrated-parameters file a scenario's ``calibration`` key names."""
    if ref.endswith(".toml"):
        p = Path(ref)
        return p if p.is_absolute() else scenario_path.parent / p
    return Path(str(resources.files("calibration").joinpath(f"{ref}.toml")))


def read_calibrated(path: Path, source: str) -> dict[str, Any]:
    """The ``[parameters]`` table (dotted path -> value) of a calibrated-parameters file."""
    try:
        doc = read_toml(path, echo=False)
    except ScenarioError as exc:
        if exc.errors[0].startswith(("cannot read the file", "not a regular file")):
            raise ScenarioError(source, [f"calibration: no calibrated-parameters file "
                                         f"{_clip(str(path), 200)} ({exc.errors[0]})"]) from None
        raise
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


def calibration_files(doc: dict[str, Any], path: Path) -> list[Path]:
    """The calibrated-parameters files the document's ``calibration`` key names, in order
    (none when the key is absent or unusable: the schema's checks report it)."""
    ref = doc.get("calibration")
    if ref is None or calibration_problem(ref) or any(len(r) > MAX_REF
                                                     for r in calibration_refs(ref)):
        return []
    return [calibrated_path(r, path) for r in calibration_refs(ref)]


def apply_calibration(doc: dict[str, Any], path: Path) -> None:
    """Give the parameters of the document's ``calibration`` files to every key the scenario
    does not set itself; of two files that set a key, the later one's value is used.  A
    ``calibration`` value that cannot name its files is left to the schema's checks
    (:func:`sim.scenario.cross_check`) to report with the other errors; a
    calibrated-parameters file that cannot be used raises :class:`ScenarioError`."""
    merged: dict[str, Any] = {}
    for cal in calibration_files(doc, path):
        for key, value in read_calibrated(cal, str(path)).items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+", key):
                raise ScenarioError(str(cal), [f"parameters.{_key(key)}: expected a dotted "
                                               "parameter path such as "
                                               "behaviour.partnering.initiate_rate"])
            merged[key] = value
    for key, value in merged.items():
        if _has_path(doc, key):
            continue
        try:
            set_path(doc, key, value)
        except ValueError:
            continue  # the scenario set a parent to something else: validation reports it


# ------------------------------------------------------------------------------ scenarios
def load_scenario(path: str | Path | None = None,
                  overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario file (the embedded baseline when ``path`` is None).

    ``overrides`` maps dotted paths (``"policy.animation.subsidy_eur_per_year"``) to values
    applied after inheritance and before validation.  What loads but may not mean what its
    author wants (:func:`scenario_warnings`) is issued as a :class:`ScenarioWarning`.
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
        raise ScenarioError(str(path), problems + [
            _mark_override(e, tuple(overrides or ()))
            for e in (validation_errors(doc, Scenario, cross_check) if doc else [])])
    sc = validate_document(doc, str(path), tuple(overrides or ()))
    for text in scenario_warnings(sc):
        warnings.warn(ScenarioWarning(f"{path}: {text}"), stacklevel=2)
    return sc


def _when(year: int, quarter: int) -> str:
    return f"{year}Q{quarter}"


def _listed(items: list[str], n: int = 4) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def scenario_warnings(sc: Scenario) -> list[str]:
    """What a valid scenario says that cannot happen in its run, but that its author may mean
    (a run cut short, a policy switched off by its dates): ``dotted.path: message`` each, one
    line per kind of problem."""
    out = []
    first, last = sc.time.start_year, sc.time.end_year
    late = [f"clusters[{i}] {c.name!r} ({_when(c.launch_year, c.launch_quarter)})"
            for i, c in enumerate(sc.clusters) if c.launch_year > last]
    if late:
        out.append(f"clusters: {len(late)} cluster(s) launch after the last simulated year "
                   f"({last}) and never launch in this run: {_listed(late)}")
    firms = {s.name: s.firms for s in sc.world.sectors}
    for i, c in enumerate(sc.clusters):
        pool = sum(firms[s] for s in set(c.sectors))
        if c.founders > pool:
            out.append(f"clusters[{i}].founders: {c.founders} founders, more than the {pool} "
                       f"companies of the cluster's sectors ({', '.join(sorted(set(c.sectors)))}):"
                       " the cluster starts with every free company of its sectors")
    pp = sc.policy.poles
    if not pp.enabled:
        return out
    selection = (pp.selection_year, pp.selection_quarter)
    if not first <= pp.selection_year <= last:
        out.append(f"policy.poles.selection_year: the poles are selected in {_when(*selection)}, "
                   f"outside the simulated years ({first}-{last}): no pole is selected in this "
                   "run")
        return out
    calls = [(i, (c.year, c.quarter)) for i, c in enumerate(pp.calls)]
    after = [f"calls[{i}] ({_when(*w)})" for i, w in calls if w[0] > last]
    before = [f"calls[{i}] ({_when(*w)})" for i, w in calls if w[0] <= last and w < selection]
    if after:
        out.append(f"policy.poles.calls: {len(after)} call(s) close after the last simulated "
                   f"year ({last}) and never close in this run: {_listed(after)}")
    if before:
        out.append(f"policy.poles.calls: {len(before)} call(s) close before the poles are "
                   f"selected ({_when(*selection)}), so no pole can answer them: "
                   f"{_listed(before)}")
    return out


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario (canonical JSON), identifying it in manifests."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()
