"""The actors: companies (SMEs and large firms), universities, research centres and training
centres, as one struct-of-arrays table.

Arrays are over-allocated and grown by doubling; an actor's row never changes (an exited firm
keeps its row with ``alive = False``), so Mesa handles and ties stay valid.  Adding an actor
attribute is one line of :data:`ACTOR_COLUMNS` (and the process that uses it).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.state.codes import TIES
from sim.state.columns import Column, Table
from sim.state.views import define_view

ACTOR_COLUMNS = (
    Column("alive", np.bool_, False, doc="in business (False for an exited company)"),
    Column("atype", np.int8, doc="actor type (codes.ACTOR_TYPES)"),
    Column("sector", np.int16, doc="sector (index into world.sectors)"),
    Column("province", np.int8, doc="province (codes.PROVINCES)"),
    Column("cluster", np.int16, -1, doc="cluster it belongs to (-1: none)"),
    Column("pole", np.int16, -1, doc="competitiveness pole it takes part in (-1: none)"),
    Column("employment", np.float64, doc="employment [FTE] (0 for institutions)"),
    Column("value_added", np.float64, doc="value added [EUR/year] (exports are value_added x "
                                          "export_share for exporters)"),
    Column("exporter", np.bool_, False, doc="exports"),
    Column("capability", np.float64, doc="expertise level (the jury's quality; grows with "
                                         "success)"),
    Column("taste", np.float32, doc="persistent taste for cooperation (standard normal)"),
    Column("knowledge", np.float32, width="dims", doc="unit-norm non-negative technology "
                                                      "profile (world.knowledge_dims)"),
    Column("stage", np.float32, doc="position on the value chain (0 upstream .. 1 downstream)"),
    Column("load", np.int16, doc="projects under way and pending proposals"),
    Column("capacity", np.int16, doc="most concurrent projects"),
    Column("born", np.int32, -1, doc="step of birth (-1: the initial population)"),
    Column("origin", np.int8, doc="how it came to be (codes.ORIGINS)"),
    Column("last_project", np.int32, -1, doc="last step it started a project (-1: never)"),
    Column("innovations", np.int32, doc="new products launched, cumulative"),
    Column("rd_private", np.float64, doc="own R&D money spent in joint projects, cumulative "
                                         "[EUR] (companies)"),
    Column("projects_done", np.int16, doc="projects it took part in that ended (companies)"),
    Column("projects_won", np.int16, doc="of which ended in success: with projects_done, "
                                          "the company's success record"),
    # the firm in its market (sim.processes.economy; 0 until the economy first sees it)
    Column("market_weight", np.float64, doc="demand weight in its sector's market (0: not yet "
                                            "in the market)"),
    Column("sales", np.float64, doc="sales [EUR/year]"),
    Column("sales_per_fte", np.float64, doc="sales per FTE without process innovations, at "
                                            "the start's prices [EUR/FTE/year; times the "
                                            "sector's progress factor today]"),
    Column("wage", np.float64, doc="wage per FTE [EUR/FTE/year at the start; times the "
                                   "sector's progress factor today]"),
    Column("quality", np.float64, doc="product innovations, in log demand"),
    Column("efficiency", np.float64, doc="process innovations, in log labour per unit of output "
                                             "saved"),
    Column("pending_quality", np.float64, doc="product innovations not yet on the market"),
    Column("pending_efficiency", np.float64, doc="process innovations not yet in use"),
    Column("foreign_partners", np.int16, doc="completed projects with a foreign partner"),
    Column("exit_clock", np.float64, doc="integrated exit hazard left before the firm exits "
                                         "(a keyed exponential draw, less each quarter's hazard)"),
    Column("export_clock", np.float64, doc="integrated hazard left before the firm's next "
                                           "export entry or exit"),
    Column("margin", np.float32, doc="(value added - wage bill) / value added of the last "
                                       "quarter (set by the economy; the firm's health, which "
                                       "selection into clusters and by the poles' jury reads)"),
    Column("export_share", np.float64, doc="exports as a share of value added (0 for a "
                                           "non-exporter; set by the economy)"),
    Column("export_spells", np.int16, doc="export entries and exits so far (the index of the "
                                          "next export clock's draw)"),
    Column("draw_id", np.int64, -1, doc="the company's identity in the keyed draws "
                                        "(sim.kernels.keyed; -1: not yet in the market)"),
    Column("tie_partner", np.int32, -1, width="ties", doc="remembered partners (-1: empty "
                                                          "slot)"),
    Column("tie_trust", np.float32, width="ties", doc="trust in each remembered partner "
                                                      "[0, 1]"),
)

ActorsView = define_view(__name__, "ActorsView", tuple(c.name for c in ACTOR_COLUMNS),
                         "The actors' arrays as one kernel argument (fields: ACTOR_COLUMNS).")


@njit(cache=True)
def _actors_view(*arrays):
    return ActorsView(*arrays)


class Actors(Table):
    """The actors' arrays (one attribute per :data:`ACTOR_COLUMNS` entry) and ``n``, the rows
    in use.

    Parameters
    ----------
    capacity : int
        Rows to allocate (all dead).
    dims : int
        Knowledge dimensions (width of ``knowledge``).
    """

    COLUMNS = ACTOR_COLUMNS
    make_view = staticmethod(_actors_view)

    def __init__(self, capacity: int, dims: int) -> None:
        super().__init__(capacity, {"dims": dims, "ties": TIES})
        self.n = 0

    def ensure(self, rows: int) -> None:
        """Make room for ``rows`` rows in all (doubling the capacity at least)."""
        if rows > self.cap:
            self.reallocate(max(rows, 2 * self.cap))

    def add(self, **cols: np.ndarray) -> np.ndarray:
        """Append living actors given column arrays of equal length; return their rows."""
        k = len(next(iter(cols.values())))
        self.ensure(self.n + k)
        rows = slice(self.n, self.n + k)
        for name, values in cols.items():
            getattr(self, name)[rows] = values
        self.alive[rows] = True
        self.n += k
        return np.arange(rows.start, rows.stop)
