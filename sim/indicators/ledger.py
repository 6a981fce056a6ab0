"""The ledger: every quantity of the indicators' table (:data:`sim.indicators.table.QUANTITIES`)
as a named float64 array, all in one buffer (counts are exact in float64 up to 2**53).

The processes add to the flows (``m.ledger.joins``, or a kernel through ``m.ledger.view``);
the year-end census writes the stocks; the yearly rows are then read from the buffer by their
plan (:mod:`sim.indicators.layout`).  Scalars are 0-d arrays, added to with
:meth:`Ledger.add`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.indicators.layout import buffer_layout
from sim.indicators.table import QUANTITIES
from sim.state.views import define_view

LedgerView = define_view(__name__, "LedgerView", tuple(q.name for q in QUANTITIES),
                         "The ledger's quantities as one kernel argument.")


@njit(cache=True)
def _ledger_view(*arrays):
    return LedgerView(*arrays)


class Ledger:
    """The year's quantities of a run with ``n_clusters`` clusters, ``n_poles`` poles and
    ``n_calls`` calls: each one an attribute (a view into :attr:`buffer`), written in place.

    Add to a scalar flow with :meth:`add` (``ledger.add("exits", k)``), to an array by
    indexing it (``ledger.joins[c] += 1``); an attribute cannot be rebound.
    """

    def __init__(self, n_clusters: int, n_poles: int, n_calls: int) -> None:
        where, size, reset_end = buffer_layout(n_clusters, n_poles, n_calls)
        buffer = np.zeros(size)
        put = super().__setattr__
        for name, (o, shape) in where.items():
            put(name, buffer[o: o + int(np.prod(shape, dtype=np.int64))].reshape(shape))
        put("sizes", (n_clusters, n_poles, n_calls))
        put("buffer", buffer)
        put("_scalar", {name: o for name, (o, shape) in where.items() if shape == ()})
        put("_reset_end", reset_end)
        put("view", _ledger_view(*(getattr(self, q.name) for q in QUANTITIES)))

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"the ledger's {name!r} is written in place (ledger.add for a "
                             "scalar, an index for an array)")

    def add(self, name: str, value: float) -> None:
        """Add ``value`` to the scalar quantity ``name``."""
        self.buffer[self._scalar[name]] += value

    def new_year(self) -> None:
        """Zero the yearly flows (1 January)."""
        self.buffer[: self._reset_end] = 0.0
