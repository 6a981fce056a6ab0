"""The layers of the package: the schema and the loader read without Mesa or Numba, writing a
file does not import the model, the kernels do not import the schema, the command line does
not import the calibration until asked (each in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("mesa", "numba", "pydantic", "calibration", "sim.model")


def loaded(module: str) -> set[str]:
    code = (f"import sys, {module}; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(("module", "allowed"), [
    ("sim", set()),
    ("sim.scenario", {"pydantic"}),
    ("sim.loader", {"pydantic"}),
    ("sim.results", {"pydantic"}),
    ("sim.indicators", set()),
    ("sim.state.codes", set()),
    ("sim.kernels.consortia", {"numba"}),
    ("sim.processes.membership", {"numba"}),
    ("sim.cli", {"pydantic"}),
])
def test_importing_loads_only_its_layer(module, allowed):
    assert loaded(module) <= allowed, (module, loaded(module))

