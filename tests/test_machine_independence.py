"""Same seed, same bytes on every x86-64 processor: NumPy picks some float64 loops at run time
by the processor's vector extensions (``np.exp`` and ``np.log`` have an AVX-512 implementation
of their own, which differs from the C library's in the last bit for some inputs), so the model
must not reach them (``sim/kernels/libm.py``).  Here the same runs are made in two processes,
one with every vector extension NumPy can dispatch to and one with them switched off
(``NPY_DISABLE_CPU_FEATURES``), and their digests (every indicator, every state array) must be
equal.  On a processor with nothing above NumPy's baseline there is nothing to compare."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.codegraph import is_kernel

ROOT = Path(__file__).resolve().parents[1]

# a pilot's drop, the poles' jury and grants, the bottom-up launches: the baseline and two
# variants that take other paths through the Python-level code of the model
SCENARIOS = ("baseline", "animation_competitive", "clusters_bottom_up")

CHILD = """
import json, sys
from benchmarks.identity import frame_digests, state_digests
from sim.loader import load_scenario
from sim.model import ClusterModel
out = {}
for name in sys.argv[1:]:
    m = ClusterModel(load_scenario(f"scenarios/{name}.toml"), seed=1, handles=False)
    df = m.run()
    out[name] = {"frame": frame_digests(df), "state": state_digests(m)}
print(json.dumps(out))
"""


def dispatched_features() -> list[str]:
    """The vector extensions above NumPy's baseline that this processor has and NumPy may
    dispatch to."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    return [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]


def child_env(disable: list[str]) -> dict[str, str]:
    """This process's environment with NumPy's dispatch to ``disable`` switched off."""
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    if disable:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disable)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def digests(disable: list[str]) -> dict:
    env = child_env(disable)
    out = subprocess.run([sys.executable, "-c", CHILD, *SCENARIOS], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # two processes, three whole runs each
def test_results_do_not_depend_on_the_vector_extensions():
    features = dispatched_features()
    if not features:
        pytest.skip("this processor has no vector extension above NumPy's baseline")
    on, off = digests([]), digests(features)
    diff = [f"{name} {part} {key}" for name in SCENARIOS for part in ("frame", "state")
            for key in on[name][part] if on[name][part][key] != off[name][part].get(key)]
    assert not diff, f"with {features} switched off: " + ", ".join(diff[:20])


def cli_run(out: Path, disable: list[str]) -> dict[str, bytes]:
    subprocess.run([sys.executable, "-m", "sim.cli", "run", "--seed", "5", "--no-cache",
                    "--figure", "foreground", "--out", str(out)], cwd=ROOT, env=child_env(disable),
                   capture_output=True, text=True, timeout=600, check=True)
    (folder,) = out.iterdir()
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != "manifest.json"}


@pytest.mark.slow  # two whole `clustersim run` processes
def test_the_main_job_writes_the_same_files_whatever_the_vector_extensions(tmp_path):
    """`clustersim run`'s tables and figure, byte for byte (the manifest records the folder and
    the time, so it is left out)."""
    features = dispatched_features()
    if not features:
        pytest.skip("this processor has no vector extension above NumPy's baseline")
    on, off = cli_run(tmp_path / "on", []), cli_run(tmp_path / "off", features)
    assert set(on) == set(off) and {"indicators.parquet", "overview.png"} <= set(on)
    assert [name for name in on if on[name] != off[name]] == []


# NumPy's vector-dispatched transcendental ufuncs (float64 loops that differ by processor)
DISPATCHED = {"exp", "log", "log1p", "expm1", "exp2", "log2", "log10", "power", "float_power",
              "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh",
              "tanh", "arcsinh", "arccosh", "arctanh", "cbrt"}


def python_level_calls(path: Path) -> list[str]:
    """``np.<dispatched ufunc>(...)`` calls in ``path`` outside Numba-compiled functions."""
    found = []

    def visit(node, in_kernel: bool) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_kernel = in_kernel or is_kernel(node)  # Numba's np.exp is the C library's
        if (not in_kernel and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in DISPATCHED and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("np", "numpy")):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: np.{node.func.attr}")
        for child in ast.iter_child_nodes(node):
            visit(child, in_kernel)

    visit(ast.parse(path.read_text()), False)
    return found


def test_the_model_s_python_code_calls_no_dispatched_ufunc():
    """The model's Python-level code (every module the model fingerprint covers) calls the C
    library's exp and log (sim.kernels.libm, math) rather than NumPy's dispatched ufuncs,
    which the processor's vector extensions change: a static guard that holds on any host,
    beside the two run comparisons above that need an AVX-512 one."""
    from sim.results import NOT_MODEL

    files = [p for p in sorted((ROOT / "sim").rglob("*.py"))
             if not set(p.relative_to(ROOT / "sim").parts) & NOT_MODEL]
    assert len(files) > 30
    hits = [h for p in files for h in python_level_calls(p)]
    assert hits == [], hits
