"""The projects (cluster partnerships and funded pole projects) as one struct-of-arrays table,
with a free list of slots: a finished project frees its slot for the next one.

Adding a project attribute is one line of :data:`PROJECT_COLUMNS` (and the process that uses
it).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.state.codes import MAX_CONSORTIUM
from sim.state.columns import Column, Table
from sim.state.views import define_view

PROJECT_COLUMNS = (
    Column("active", np.bool_, False, doc="under way"),
    Column("start", np.int32, doc="step it started"),
    Column("end", np.int32, doc="step it ends (its outcome is drawn then)"),
    Column("cluster", np.int16, -1, doc="the lead's cluster (-1: a pole project without one)"),
    Column("pole", np.int16, -1, doc="pole of a pole project (-1: a cluster partnership)"),
    Column("call", np.int16, -1, doc="call of a pole project (-1: a cluster partnership)"),
    Column("size", np.int16, doc="local members"),
    Column("members", np.int32, -1, width="members", doc="the members' rows (-1 padded)"),
    Column("match", np.float32, doc="the initiator's mean match with the partners it recruited"),
    Column("has_rd", np.bool_, False, doc="a university or research centre takes part"),
    Column("has_training", np.bool_, False, doc="a training centre takes part"),
    Column("foreign", np.int8, doc="foreign partners"),
    Column("cross", np.bool_, False, doc="members from two or more Walloon clusters"),
    Column("fund_rd", np.float64, doc="R&D grant [EUR]"),
    Column("fund_training", np.float64, doc="training grant [EUR]"),
    Column("fund_investment", np.float64, doc="investment grant [EUR]"),
    Column("rd_private", np.float64, doc="the companies' own R&D money over the project's life "
                                         "[EUR]: their match of a pole project's R&D grant, "
                                         "or their own budget of an unfunded partnership"),
)

ProjectsView = define_view(
    __name__, "ProjectsView", (*(c.name for c in PROJECT_COLUMNS), "free"),
    "The projects' arrays and the free list (``free``) as one kernel argument.")


@njit(cache=True)
def _projects_view(*arrays):
    return ProjectsView(*arrays)


class Projects(Table):
    """The projects' arrays (one attribute per :data:`PROJECT_COLUMNS` entry) and the free
    list: ``free[:n_free]`` is a stack of free slots, its top last.

    Parameters
    ----------
    capacity : int
        Slots to allocate (all free).
    width : int
        Most members of a project (width of ``members``).
    """

    COLUMNS = PROJECT_COLUMNS
    EXTRA_VIEW_FIELDS = ("free",)
    make_view = staticmethod(_projects_view)

    def __init__(self, capacity: int, width: int = MAX_CONSORTIUM) -> None:
        super().__init__(capacity, {"members": width})
        self.free = np.arange(capacity - 1, -1, -1, dtype=np.int32)
        self.n_free = capacity

    def reserve(self, k: int) -> None:
        """Make sure at least ``k`` slots are free (grows by doubling)."""
        if self.n_free >= k:
            return
        old_cap = self.cap
        self.reallocate(max(2 * old_cap, old_cap + k - self.n_free))
        added = np.arange(self.cap - 1, old_cap - 1, -1, dtype=np.int32)
        free = np.empty(self.cap, np.int32)
        # the old free slots stay on top of the stack, so the order of slot reuse is unchanged
        free[: len(added) + self.n_free] = np.concatenate([added, self.free[: self.n_free]])
        self.free = free
        self.n_free += len(added)

    def take(self, k: int) -> np.ndarray:
        """Pop ``k`` free slots (call :meth:`reserve` first), the top of the stack first."""
        slots = self.free[self.n_free - k: self.n_free][::-1].copy()
        self.n_free -= k
        return slots
