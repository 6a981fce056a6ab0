"""Start-up of a command (sim/_imports.py, issue 19): Mesa's unused parts are loaded only when
used, and the first run in a new environment says that the kernels compile once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sim._imports import COMPILE_NOTE, announce_compile, uncompiled_kernel_modules

DEFERRED = """
import sys
from sim._imports import defer_mesa_extras
assert defer_mesa_extras() == ["mesa.discrete_space", "mesa.experimental", "mesa.space"]
import mesa
assert mesa.Model and mesa.Agent
heavy = [m for m in ("scipy.spatial", "networkx") if m in sys.modules]
assert not heavy, heavy
from mesa.discrete_space import OrthogonalMooreGrid  # loaded on use, in full
import mesa.space
assert mesa.space.ContinuousSpace and mesa.experimental.devs and OrthogonalMooreGrid
assert type(sys.modules["mesa.space"]).__name__ == "module"
print("ok")
"""


@pytest.mark.slow  # imports Mesa in a fresh interpreter (seconds under load)
def test_mesa_extras_load_only_when_used():
    out = subprocess.run([sys.executable, "-c", DEFERRED], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_an_empty_numba_cache_is_announced(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CLUSTERSIM_NO_COMPILE_NOTE", raising=False)  # set for the other tests
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    missing = uncompiled_kernel_modules()
    assert "kernels/rng.py" in missing and "processes/economy.py" in missing
    assert "kernels/predicates.py" not in missing  # inlined helpers have no cache of their own
    assert announce_compile()
    err = capsys.readouterr().err
    assert err.strip() == COMPILE_NOTE.format(n=len(missing))
    assert "compiling the model's kernels once" in err
