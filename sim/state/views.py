"""Views: a bundle of arrays handed to kernels as one argument (a Numba ``structref``).

A view holds references to the arrays of a struct-of-arrays table (the actors, the projects,
the clusters, ...), not copies: a kernel that writes ``a.load[i]`` writes the table's array.
Passing a view costs the same whatever its number of fields: less than its arrays as separate
arguments, more than one or two of them, and much less than a namedtuple (docs/performance.md,
"Views").  It works with ``cache=True`` and between compiled functions.

Rule for kernels: read the fields a kernel uses into local names at its top (``alive =
a.alive``) and use those.  Inside a loop that writes to an array, Numba cannot tell that the
write leaves the view's fields alone, and reloads them at every iteration: writing through
``a.load[i]`` in a loop took several times as long as through a local ``load``.  Pass helpers
called in hot loops scalars, not arrays: arrays passed to a compiled function, even an inlined
one, are reference-counted at every call (docs/performance.md).

A kernel that reads one or two columns of a table takes them as arrays instead: the view would
cost more to pass than the arrays.  A view is rebuilt when its table reallocates its arrays
(the actors and projects grow).
"""

from __future__ import annotations

import sys

from numba.core import types
from numba.experimental import structref


def define_view(module: str, name: str, fields: tuple[str, ...], doc: str) -> type:
    """Define a view class.

    Parameters
    ----------
    module : str
        The defining module's ``__name__``: its Numba type is registered there as
        ``<name>Type``, where Numba's cache finds it when it loads compiled kernels.
    name : str
        The class's name.
    fields : tuple of str
        The fields (arrays), in the order the constructor takes them.
    doc : str
        The class's docstring.

    Returns
    -------
    type
        The proxy class, which kernels read like an object with the fields as attributes.
        Build views with a ``@njit(cache=True)`` constructor (``return View(*arrays)``): the
        proxy's own constructor compiles anew in every process.
    """
    typ = structref.register(type(f"{name}Type", (types.StructRef,), {
        "__module__": module, "__qualname__": f"{name}Type",
        "__doc__": f"Numba type of :class:`{name}`."}))
    proxy = type(name, (structref.StructRefProxy,), {
        "__module__": module, "__qualname__": name, "__doc__": doc, "__slots__": ()})
    structref.define_proxy(proxy, typ, list(fields))
    setattr(sys.modules[module], f"{name}Type", typ)
    return proxy
