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


LOGGERS = """
import inspect, json, sys
QUICK = sys.argv[1] == "quick"
from sim._imports import quick_mesa_loggers
if QUICK:
    assert quick_mesa_loggers()
else:
    calls = []
    stack = inspect.stack
    inspect.stack = lambda *a: calls.append(1) or stack(*a)
import mesa
from mesa import mesa_logging
assert sys.meta_path[0].__class__.__name__ != "_PatchOnLoad"  # the hook has left
if QUICK:
    assert mesa_logging.create_module_logger.__name__ == "create_module_logger"
    assert mesa_logging.create_module_logger.__code__.co_filename.endswith("_imports.py")
else:
    assert calls  # Mesa did call inspect.stack() (what the hook saves)
print(json.dumps(sorted((k, v.name) for k, v in mesa_logging._module_loggers.items())))
"""


@pytest.mark.slow  # imports Mesa in fresh interpreters (seconds under load)
def test_quick_mesa_loggers_name_the_same_loggers():
    """With the hook, Mesa's module loggers are the same (names and logger names) as Mesa's
    own lookup by inspect.stack() gives."""
    got = {}
    for how in ("quick", "plain"):
        out = subprocess.run([sys.executable, "-c", LOGGERS, how], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        got[how] = out.stdout.strip()
    assert got["quick"] == got["plain"] and "mesa.model" in got["plain"], got


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
