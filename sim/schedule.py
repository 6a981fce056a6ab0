"""The schedule as data, read from the code: the sub-steps of :meth:`ClusterModel.step` in
order, each with the process function it calls, the compiled kernels that function calls and
the random streams it draws from.

The ODD's process table (docs/ODD.md, section 3) is generated from it and the tests check it
against the document, so the table cannot drift from the code; the performance suite times
the sub-steps it lists.  Reading the step uses :mod:`ast` on ``sim/model.py``: a sub-step is a
line ``<module>.<function>(self, ...)`` with a comment ``# <number>. <summary>``, inside ``if
self.quarter == q`` when it runs in one quarter only.
"""

from __future__ import annotations

import ast
import dis
import importlib
import inspect
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MODEL = Path(__file__).resolve().parent / "model.py"


@dataclass(frozen=True)
class SubStep:
    """One line of the schedule."""

    number: int
    summary: str  # the line's comment
    module: str  # e.g. "sim.processes.membership"
    function: str  # e.g. "membership"
    quarter: int | None  # the quarter it runs in (None: every quarter)

    @property
    def target(self):
        """The function the line calls."""
        return getattr(importlib.import_module(self.module), self.function)


def _step_source() -> tuple[ast.FunctionDef, list[str], dict[str, str]]:
    source = MODEL.read_text()
    tree = ast.parse(source)
    modules = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ClusterModel")
    step = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "step")
    return step, source.splitlines(), modules


@lru_cache(maxsize=1)
def substeps() -> tuple[SubStep, ...]:
    """The sub-steps of ``ClusterModel.step``, in the order it runs them."""
    step, lines, modules = _step_source()
    out = []

    def visit(body, quarter):
        """Collect the sub-steps of ``body`` (inside ``if self.quarter == quarter``)."""
        for node in body:
            if isinstance(node, ast.If):
                t = node.test
                q = (t.comparators[0].value if isinstance(t, ast.Compare)
                     and isinstance(t.left, ast.Attribute) and t.left.attr == "quarter"
                     else quarter)
                visit(node.body, q)
                continue
            call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
            if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
                continue
            comment = lines[node.lineno - 1].partition("#")[2].strip()
            number, dot, summary = comment.partition(". ")
            if not dot or not number.isdigit():
                continue
            owner = call.func.value
            if isinstance(owner, ast.Name):  # <module>.<function>(self, ...)
                module, function = modules[owner.id], call.func.attr
            else:  # self.<attribute>.<method>(): the model's own state
                module, function = "sim.indicators.ledger", "Ledger." + call.func.attr
            out.append(SubStep(int(number), summary, module, function, quarter))

    visit(step.body, None)
    return tuple(out)


def _globals_loaded(code) -> list[str]:
    """The global names a code object (and the code nested in it) loads, in order."""
    out = []
    for ins in dis.get_instructions(code):
        if ins.opname == "LOAD_GLOBAL":
            out.append(ins.argval)
    for const in code.co_consts:  # nested functions and comprehensions
        if inspect.iscode(const):
            out += _globals_loaded(const)
    return out


def _reached(fn, seen: set) -> list:
    """``fn`` and the Python functions of ``sim`` it calls, depth first."""
    if fn in seen:
        return []
    seen.add(fn)
    out = [fn]
    for name in _globals_loaded(fn.__code__):
        value = fn.__globals__.get(name)
        if (inspect.isfunction(value) and value.__module__.startswith("sim.")
                and not _is_kernel(value)):
            out += _reached(value, seen)
    return out


def _is_kernel(value) -> bool:
    from numba.core.registry import CPUDispatcher

    return isinstance(value, CPUDispatcher)


def kernels(sub: SubStep) -> list[str]:
    """The compiled kernels the sub-step calls from Python (``module.kernel``, the module
    relative to ``sim``), in the order the code calls them."""
    if sub.function.startswith("Ledger."):
        return []
    out = []
    for fn in _reached(sub.target, set()):
        for name in _globals_loaded(fn.__code__):
            value = fn.__globals__.get(name)
            if _is_kernel(value) and not name.startswith("_"):
                out.append(f"{value.py_func.__module__.removeprefix('sim.')}.{name}")
    return list(dict.fromkeys(out))


@lru_cache(maxsize=1)
def kernel_calls() -> tuple[tuple[str, str], ...]:
    """(module, name) of every compiled kernel that the model's Python code calls: the
    schedule's processes and the functions they reach, and the model's own construction.
    A timer that wraps these module attributes wraps every call from Python to a kernel and
    none between kernels (which Numba resolves at compile time)."""
    import sim.model

    fns = [fn for sub in substeps() if not sub.function.startswith("Ledger.")
           for fn in _reached(sub.target, set())]
    fns += [f for f in vars(sim.model.ClusterModel).values() if inspect.isfunction(f)]
    out = []
    for fn in fns:
        for name in _globals_loaded(fn.__code__):
            if _is_kernel(fn.__globals__.get(name)):
                out.append((fn.__module__, name))
    return tuple(dict.fromkeys(out))


def streams(sub: SubStep) -> list[str]:
    """The random streams the sub-step draws from: ``m.streams["x"]`` and ``m.gen["x"]`` in the
    functions it reaches, and the origin's stream of the companies it creates
    (:data:`sim.world.SPAWN_STREAM`)."""
    if sub.function.startswith("Ledger."):
        return []
    from sim.world import SPAWN_STREAM

    out = []
    for fn in _reached(sub.target, set()):
        if fn.__name__ == "spawn_companies":
            continue
        tree = ast.parse(inspect.getsource(fn).lstrip())
        nodes = sorted((n for n in ast.walk(tree) if hasattr(n, "lineno")),
                       key=lambda n: (n.lineno, n.col_offset))
        for node in nodes:
            if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                    and node.value.attr in ("streams", "gen")
                    and isinstance(node.slice, ast.Constant)):
                out.append(node.slice.value)
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "spawn_companies" and len(node.args) >= 3
                    and isinstance(node.args[2], ast.Name)):
                out.append(SPAWN_STREAM[fn.__globals__[node.args[2].id]])
    return list(dict.fromkeys(out))


def summary(sub: SubStep) -> str:
    """The first sentence of the sub-step's function's docstring."""
    if sub.function.startswith("Ledger."):
        from sim.indicators.ledger import Ledger

        doc = getattr(Ledger, sub.function.split(".")[1]).__doc__
    else:
        doc = sub.target.__doc__
    text = " ".join((doc or "").split())
    return text.split(". ")[0].rstrip(".") + "."


def markdown_table() -> str:
    """The schedule as the ODD's process table (docs/ODD.md, section 3)."""
    rows = ["| # | sub-step | function (module) | kernels (compiled calls) | random stream(s) "
            "| what it does |", "|---:|---|---|---|---|---|"]
    for sub in substeps():
        module = sub.module.removeprefix("sim.")
        where = (f"`{sub.function}` (`sim.{module}`)" if sub.function.startswith("Ledger.")
                 else f"`{module.rsplit('.', 1)[-1]}.{sub.function}` (`sim.{module}`)")
        kern = ", ".join(f"`{k}`" for k in kernels(sub)) or "–"
        strm = ", ".join(streams(sub)) or "–"
        when = f"**Q{sub.quarter} only**: " if sub.quarter else ""
        rows.append(f"| {sub.number} | {sub.summary} | {where} | {kern} | {strm} | "
                    f"{when}{summary(sub)} |")
    return "\n".join(rows)
