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

:func:`defer_scipy_linalg` does the same for ``scipy.linalg``, with its submodules importable
on their own: Numba's start-up (its first kernel loaded from the cache) imports
``scipy.linalg.cython_blas`` only to check that BLAS is there, and the package's ``__init__``
around it costs 0.3-0.4 s of CPU that a run does not use.

:func:`quick_mesa_loggers` has Mesa's module loggers name their module from the caller's frame
instead of ``inspect.stack()`` (0.2 s).

The command line calls all three (:func:`sim.cli.main`); ``import sim`` from Python does not.

:func:`announce_compile` says, before a command that runs the model, that the kernels are
compiled once when Numba's cache of them is missing (the first run in a new environment takes
about half a minute of CPU, silent otherwise).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
import types
from pathlib import Path

MESA_EXTRAS = ("discrete_space", "experimental", "space")


class _Deferred(types.ModuleType):
    """A placeholder module: the first attribute it lacks imports the real module."""

    def __getattr__(self, attr: str):
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
            real = importlib.import_module(name)  # runs the module in full
            for key, value in vars(self).items():  # submodules imported through the
                if isinstance(value, types.ModuleType) and not hasattr(real, key):
                    setattr(real, key, value)  # placeholder stay attributes of the package
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, real)
        else:
            real = sys.modules.get(name) or importlib.import_module(name)
        return getattr(real, attr)


def _defer(name: str, locations: list[str], submodules: bool = False) -> bool:
    """Register ``name`` (found in ``locations``) as a placeholder; whether it was.  With
    ``submodules`` (a package), a submodule imports without running the package's
    ``__init__``; otherwise importing one imports the package in full."""
    if name in sys.modules:
        return False
    found = importlib.machinery.PathFinder.find_spec(name, locations)
    if found is None or not found.origin:
        return False
    module = _Deferred(name)
    # read without importing by inspect.stack() (mesa.mesa_logging calls it at import)
    module.__file__ = found.origin
    if submodules and found.submodule_search_locations is not None:
        module.__path__ = list(found.submodule_search_locations)
    sys.modules[name] = module
    return True


def defer_scipy_linalg() -> bool:
    """Register ``scipy.linalg`` as a placeholder (whether it was): Numba's start-up imports
    ``scipy.linalg.cython_blas`` (to check that BLAS is there), which runs ``scipy.linalg``'s
    ``__init__`` and through it ``scipy._lib``'s array-API layer: 0.3-0.4 s of CPU that a run
    does not use (measured: 0.30-0.39 s against 0.004-0.008 s for the BLAS module alone).
    The placeholder imports the real package the first time one of its attributes is read."""
    if "scipy.linalg" in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec("scipy")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    return _defer("scipy.linalg", list(spec.submodule_search_locations), submodules=True)


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
        if _defer(name, list(spec.submodule_search_locations)):
            done.append(name)
    return done


def _caller_module_logger(original):
    """Mesa's ``create_module_logger`` with the caller's module read from its frame's globals
    (the name ``inspect.getmodule`` finds for it) instead of ``inspect.stack()``."""

    def create_module_logger(name: str | None = None):
        if name is None:
            name = sys._getframe(1).f_globals.get("__name__")
        return original(name)

    create_module_logger.__doc__ = original.__doc__
    return create_module_logger


class _PatchOnLoad(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds module ``name`` as the standard finder does; runs ``patch(module)`` right after
    the module's own code, before anything imports from it; then leaves ``sys.meta_path``."""

    def __init__(self, name: str, patch) -> None:
        self.name, self.patch, self.loader = name, patch, None

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        self.loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        self.loader.exec_module(module)
        self.patch(module)


def quick_mesa_loggers() -> bool:
    """Before Mesa is imported: have ``mesa.mesa_logging.create_module_logger`` (called at
    import by ``mesa.agent`` and ``mesa.model``) name the caller's module from the caller's
    frame.  Mesa finds it with ``inspect.stack()``, which reads the source of every frame of
    the import stack, frozen ones included: 0.2 s of a command's start-up (cProfile of
    ``clustersim run``, 2026-12-06).  The loggers and their names are the same.  Whether the
    hook was installed (not when Mesa is already imported)."""
    if "mesa" in sys.modules or "mesa.mesa_logging" in sys.modules:
        return False

    def patch(module) -> None:
        original = getattr(module, "create_module_logger", None)
        if callable(original):
            module.create_module_logger = _caller_module_logger(original)

    sys.meta_path.insert(0, _PatchOnLoad("mesa.mesa_logging", patch))
    return True


# ------------------------------------------------------------------------------ first run
COMPILE_NOTE = ("first run in this environment: compiling the model's kernels once "
                "({n} modules; about 25-40 s of CPU, measured 37 s on a 2-core VM; a minute or "
                "more on a busy machine); later runs load them from Numba's cache in about a "
                "second")


# a decorator of a kernel with its own cache file (inlined helpers have none)
_CACHED_KERNEL = re.compile(r"^@(?:numba\.)?njit\((?![^)\n]*inline)[^)\n]*cache=True", re.M)


def _numba_cache_dir(source: Path) -> Path:
    """Where Numba keeps the cache of ``source``'s kernels (``__pycache__`` beside it, or
    under ``$NUMBA_CACHE_DIR`` as numba.core.caching names it)."""
    user = os.environ.get("NUMBA_CACHE_DIR")
    if not user:
        return source.parent / "__pycache__"
    sub = os.path.dirname(os.path.abspath(source))
    return Path(user) / "_".join([os.path.split(sub)[-1],
                                  hashlib.sha1(sub.encode()).hexdigest()])


# modules whose kernels only opt-in runs call (the firm panel, run.panel): a plain run never
# compiles them, so their missing cache must not announce a compilation
OPT_IN = frozenset({"panel.py"})


def uncompiled_kernel_modules() -> list[str]:
    """The model's modules with cached kernels (``cache=True``) that have no Numba cache yet
    (a fresh checkout, a new environment, an empty ``NUMBA_CACHE_DIR``): a few milliseconds of
    file system reads, without importing Numba.  Modules of opt-in outputs (:data:`OPT_IN`)
    are left out."""
    root = Path(__file__).resolve().parent
    missing = []
    for src in sorted(root.rglob("*.py")):
        if "__pycache__" in src.parts or src.relative_to(root).as_posix() in OPT_IN:
            continue
        try:
            if not _CACHED_KERNEL.search(src.read_text(encoding="utf-8", errors="replace")):
                continue
            cached = any(_numba_cache_dir(src).glob(f"{src.stem}.*.nbi"))
        except OSError:
            continue
        if not cached:
            missing.append(src.relative_to(root).as_posix())
    return missing


QUIET_ENV = "CLUSTERSIM_NO_COMPILE_NOTE"  # set (to anything but "") to leave the note out


def announce_compile(stream=None) -> bool:
    """Print :data:`COMPILE_NOTE` (to stderr) when kernels will be compiled; return whether.
    ``$CLUSTERSIM_NO_COMPILE_NOTE`` leaves it out (the tests set it: which kernels a test
    compiles first depends on the order the tests run in)."""
    if os.environ.get(QUIET_ENV):
        return False
    missing = uncompiled_kernel_modules()
    if missing:
        print(COMPILE_NOTE.format(n=len(missing)), file=stream or sys.stderr, flush=True)
    return bool(missing)
