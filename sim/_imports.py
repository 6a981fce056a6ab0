"""Start-up of a command: load Mesa without the parts the model does not use.

``import mesa`` (3.3-3.5) imports ``mesa.discrete_space``, ``mesa.experimental`` and
``mesa.space`` eagerly, which pull ``scipy.spatial`` (KD-trees for Voronoi grids and continuous
space) and ``networkx``: about 0.8 s of CPU of a ``clustersim run`` that needs only
``mesa.Model`` and ``mesa.Agent`` (measured with ``time.process_time`` after pandas is loaded;
``python -X importtime`` shows the tree).  :func:`defer_mesa_extras` registers those three
subpackages as placeholders: each is imported, in full, the first time one of its attributes
is read (or one of its submodules is imported), and then replaces its placeholder, so code that
uses them works unchanged.  (:class:`importlib.util.LazyLoader` does not do here: Python 3.11's
import statement reads the module's ``__spec__``, which makes a lazy module load at once.)

The command line calls it (:func:`sim.cli.main`); ``import sim`` from Python does not.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types

MESA_EXTRAS = ("discrete_space", "experimental", "space")


class _Deferred(types.ModuleType):
    """A placeholder module: the first attribute it lacks imports the real module."""

    def __getattr__(self, attr: str):
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
            real = importlib.import_module(name)  # runs the module in full
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, real)
        else:
            real = sys.modules.get(name) or importlib.import_module(name)
        return getattr(real, attr)


def defer_mesa_extras() -> list[str]:
    """Register Mesa's heavy subpackages as placeholders before Mesa is imported; return the
    names registered (none when Mesa is already imported or not installed)."""
    if "mesa" in sys.modules:
        return []
    try:
        spec = importlib.util.find_spec("mesa")  # a top-level spec: mesa is not imported
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    done = []
    for sub in MESA_EXTRAS:
        name = f"mesa.{sub}"
        if name in sys.modules:
            continue
        found = importlib.machinery.PathFinder.find_spec(
            name, list(spec.submodule_search_locations))
        if found is None or not found.origin:
            continue
        module = _Deferred(name)
        # read without importing by inspect.stack() (mesa.mesa_logging calls it at import)
        module.__file__ = found.origin
        sys.modules[name] = module
        done.append(name)
    return done
