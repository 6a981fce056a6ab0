"""The code's shape: module graph (modules, import edges, layers, cycles), function sizes and
argument counts, and what importing the light modules loads.

Reads the source with :mod:`ast` (nothing is imported but in the last part, which imports
each light module in a fresh interpreter and lists the heavy packages it loaded)::

    python -m benchmarks.codegraph                 # the figures
    python -m benchmarks.codegraph --json out.json # and all of them as JSON
    python -m benchmarks.codegraph --modules       # and the graph, module by module

An import edge is a module of the packages importing another, directly: at module level
(``import``/``from`` outside functions and outside ``if TYPE_CHECKING``) or lazily (inside a
function).  Importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``: an edge to a
submodule counts an edge to each of its packages too, as Python runs them.  Cycles are the
strongly connected components of more than one module; layers are the longest-path levels of
the module-level graph (layer 0 imports nothing of the packages).

Functions: every ``def`` (methods and nested ones included).  Size is the lines from ``def``
to the last line of the body, the docstring left out; arguments are all parameters but
``self``/``cls`` (``*args`` and ``**kwargs`` count one each).  Kernels are the functions
decorated with Numba's ``njit``/``jit``.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "calibration")
LIGHT = ("sim", "sim.scenario", "sim.loader", "sim.results", "sim.indicators", "sim.targets",
         "sim.cli")
HEAVY = ("mesa", "numba", "pandas", "pydantic", "calibration", "sim.model")


def module_name(path: Path) -> str:
    """Dotted module name of a source file under ROOT."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    """Every module of the packages, by name."""
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            out[module_name(f)] = f
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports(tree: ast.Module, name: str, is_pkg: bool, known: set[str]):
    """(target, kind) for every import of the packages' modules; kind is ``module``, ``lazy``
    or ``typing``."""
    out = []

    def resolve(node, kind):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append((alias.name, kind))
            return
        base = node.module or ""
        if node.level:
            pkg = name.split(".") if is_pkg else name.split(".")[:-1]
            pkg = pkg[: len(pkg) - node.level + 1]
            base = ".".join(pkg + ([node.module] if node.module else []))
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            out.append((sub if sub in known else base, kind))

    def walk(nodes, kind):
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                resolve(node, kind)
            elif isinstance(node, ast.If) and _is_type_checking(node):
                walk(node.body, "typing")
                walk(node.orelse, kind)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        resolve(inner, "lazy")
            elif isinstance(node, ast.ClassDef):
                walk(node.body, kind)
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                walk(ast.iter_child_nodes(node), kind)

    walk(tree.body, "module")
    return [(t, k) for t, k in out if t.split(".")[0] in PACKAGES and t != name]


def with_parents(target: str, known: set[str]) -> list[str]:
    """The module and the packages Python runs to import it."""
    parts = target.split(".")
    return [m for m in (".".join(parts[:i]) for i in range(1, len(parts) + 1)) if m in known]


def sccs(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, ())))))
                elif nxt in on:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def layers(nodes: list[str], edges: dict[str, set[str]]) -> dict[str, int]:
    """Longest-path level of each module in the graph of its components."""
    comps = sccs(nodes, edges)
    comp_of = {m: i for i, c in enumerate(comps) for m in c}
    level: dict[int, int] = {}
    for i, comp in enumerate(comps):  # Tarjan emits components in reverse topological order
        deps = {comp_of[t] for m in comp for t in edges.get(m, ()) if comp_of[t] != i}
        level[i] = 1 + max((level[d] for d in deps), default=-1)
    return {m: level[comp_of[m]] for m in nodes}


def graph() -> dict:
    """Modules, edges, cycles and layers of the packages."""
    src = sources()
    known = set(src)
    module_edges: dict[str, set[str]] = {m: set() for m in src}
    all_edges: dict[str, set[str]] = {m: set() for m in src}
    direct = {"module": 0, "lazy": 0, "typing": 0}
    for name, path in src.items():
        tree = ast.parse(path.read_text())
        seen = set()
        for target, kind in imports(tree, name, path.name == "__init__.py", known):
            if (target, kind) in seen or target not in known:
                continue
            seen.add((target, kind))
            direct[kind] += 1
            for t in with_parents(target, known):
                if t == name or name.startswith(t + "."):
                    continue  # a package's own __init__ runs before its modules anyway
                all_edges[name].add(t)
                if kind == "module":
                    module_edges[name].add(t)
    nodes = sorted(src)
    cyc_module = [c for c in sccs(nodes, module_edges) if len(c) > 1]
    cyc_all = [c for c in sccs(nodes, all_edges) if len(c) > 1]
    lv = layers(nodes, module_edges)
    return {
        "modules": len(nodes),
        "edges_direct": direct,
        "edges_module_level": sum(len(v) for v in module_edges.values()),
        "edges_all": sum(len(v) for v in all_edges.values()),
        "cycles_module_level": cyc_module,
        "cycles_with_lazy_and_typing": cyc_all,
        "layers": 1 + max(lv.values()),
        "layer_of": lv,
        "imports": {m: sorted(module_edges[m]) for m in nodes},
        "lines": {m: len(src[m].read_text().splitlines()) for m in nodes},
    }


def is_kernel(fn: ast.FunctionDef) -> bool:
    """Whether a function's source is decorated with ``njit``/``jit`` (plain or called)."""
    for d in fn.decorator_list:
        f = d.func if isinstance(d, ast.Call) else d
        nm = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        if nm in ("njit", "jit"):
            return True
    return False


def functions() -> list[dict]:
    """Every function of the packages: module, name, size, arguments, kernel or not."""
    out = []
    for name, path in sources().items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            a = node.args
            params = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
            n_args = len([p for p in params if p not in ("self", "cls")])
            n_args += (a.vararg is not None) + (a.kwarg is not None)
            body = node.body
            first = body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                doc = first.end_lineno - first.lineno + 1
            else:
                doc = 0
            size = node.end_lineno - node.lineno + 1 - doc
            out.append({"module": name, "name": node.name, "lines": size, "args": n_args,
                        "kernel": is_kernel(node)})
    return out


def stats(values: list[int]) -> dict:
    """Median, 90th percentile and maximum."""
    v = np.array(values)
    return {"n": len(v), "median": float(np.median(v)), "p90": float(np.percentile(v, 90)),
            "max": int(v.max())}


def heavy_imports() -> dict[str, list[str]]:
    """The heavy packages each light module loads, each in a fresh interpreter."""
    out = {}
    for mod in LIGHT:
        code = (f"import sys, {mod}; print(' '.join(m for m in {HEAVY!r} "
                "if m in sys.modules))")
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True, check=False)
        out[mod] = r.stdout.split() if r.returncode == 0 else [f"error: {r.stderr[-200:]}"]
    return out


def report(light: bool = True) -> dict:
    """All the figures."""
    g = graph()
    fns = functions()
    kernels = [f for f in fns if f["kernel"]]
    result = {
        "graph": g,
        "functions": {"lines": stats([f["lines"] for f in fns]),
                      "args": stats([f["args"] for f in fns])},
        "kernels": {"lines": stats([f["lines"] for f in kernels]),
                    "args": stats([f["args"] for f in kernels]),
                    "over_ten_args": sorted((f"{f['module']}.{f['name']}", f["args"])
                                            for f in kernels if f["args"] > 10)},
        "largest_functions": sorted(((f["lines"], f"{f['module']}.{f['name']}") for f in fns),
                                    reverse=True)[:10],
    }
    if light:
        result["heavy_imports"] = heavy_imports()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write every figure to this file")
    ap.add_argument("--modules", action="store_true", help="print the graph module by module")
    args = ap.parse_args(argv)
    r = report()
    g = r["graph"]
    print(f"modules {g['modules']}; import edges: module-level {g['edges_module_level']}, "
          f"with lazy and typing-only {g['edges_all']} (direct statements: "
          f"{g['edges_direct']}); layers {g['layers']}")
    print(f"cycles (module level): {len(g['cycles_module_level'])} "
          f"{g['cycles_module_level']}")
    print(f"cycles (with lazy and typing-only imports): "
          f"{len(g['cycles_with_lazy_and_typing'])} {g['cycles_with_lazy_and_typing']}")
    for kind in ("functions", "kernels"):
        s = r[kind]
        print(f"{kind}: {s['lines']['n']}; lines median {s['lines']['median']:g}, p90 "
              f"{s['lines']['p90']:g}, max {s['lines']['max']}; arguments median "
              f"{s['args']['median']:g}, p90 {s['args']['p90']:g}, max {s['args']['max']}")
    over = r["kernels"]["over_ten_args"]
    print(f"kernels over ten arguments: {len(over)} "
          + ", ".join(f"{n} ({k})" for n, k in over))
    print("largest functions: " + ", ".join(f"{n} ({k})" for k, n in r["largest_functions"]))
    for mod, loaded in r["heavy_imports"].items():
        print(f"import {mod}: loads {', '.join(loaded) or 'none of ' + '/'.join(HEAVY)}")
    if args.modules:
        for m in sorted(g["layer_of"], key=lambda m: (g["layer_of"][m], m)):
            print(f"  L{g['layer_of'][m]} {m} ({g['lines'][m]} lines) -> "
                  + ", ".join(g["imports"][m]))
    if args.json:
        args.json.write_text(json.dumps(r, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
