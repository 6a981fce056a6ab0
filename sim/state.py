"""Struct-of-arrays state of the model: one 1-D array per attribute, "entry i is actor i".

Actors are the companies (SMEs and large firms), universities, research centres and training
centres.  Arrays are over-allocated and grown by doubling; an actor's index never changes (an
exited firm keeps its slot with ``alive = False``), so Mesa handles and ties stay valid.
Projects live in a second store with a free list; finished projects free their slot.

This module holds data and the few Python-level operations that add rows; all per-step work
over actors is in :mod:`sim.kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

SME, LARGE, UNIVERSITY, RESEARCH_CENTRE, TRAINING_CENTRE = 0, 1, 2, 3, 4
ACTOR_TYPE_NAMES = ("sme", "large_firm", "university", "research_centre", "training_centre")
# origin of an actor
INITIAL, ENTRY, SPINOFF_PARTNERSHIP, SPINOFF_RESEARCH, POLE_ASSETS = 0, 1, 2, 3, 4
ORIGIN_NAMES = ("initial", "entry", "partnership_spinoff", "research_spinoff", "pole_assets")
TIES = 8  # remembered partners per actor (Neuländtner 2020 keeps 9; 8 int32 = half a cache line)
MAX_CONSORTIUM = 64  # hard upper bound of a consortium's local members (schema caps lower)


@dataclass
class Actors:
    """Per-actor arrays. Units: employment [FTE], value_added [EUR/year] (exports are
    ``value_added * export_intensity`` for exporters)."""

    n: int
    alive: np.ndarray
    atype: np.ndarray  # int8, ACTOR_TYPE_NAMES
    sector: np.ndarray  # int16
    province: np.ndarray  # int8, scenario.PROVINCES
    cluster: np.ndarray  # int16, -1 = not a member
    pole: np.ndarray  # int16, -1 = not in a pole
    employment: np.ndarray  # float64
    value_added: np.ndarray  # float64
    exporter: np.ndarray  # bool
    capability: np.ndarray  # float64, expertise level (jury quality; grows with success)
    taste: np.ndarray  # float32, persistent taste for cooperation (standard normal)
    knowledge: np.ndarray  # float32 (cap, D), unit-norm non-negative technology profile
    stage: np.ndarray  # float32, position on the value chain (0 upstream .. 1 downstream)
    load: np.ndarray  # int16, current projects and pending proposals
    capacity: np.ndarray  # int16, most concurrent projects
    born: np.ndarray  # int32, step of birth (-1 for the initial population)
    origin: np.ndarray  # int8, ORIGIN_NAMES
    last_project: np.ndarray  # int32, last step it started a project (-1 never)
    innovations: np.ndarray  # int32, cumulative new products
    tie_partner: np.ndarray  # int32 (cap, TIES), -1 empty
    tie_trust: np.ndarray  # float32 (cap, TIES)

    @classmethod
    def empty(cls, capacity: int, dims: int) -> Actors:
        """Allocate ``capacity`` rows, all dead."""
        z = np.zeros
        return cls(
            n=0, alive=z(capacity, np.bool_), atype=z(capacity, np.int8),
            sector=z(capacity, np.int16), province=z(capacity, np.int8),
            cluster=np.full(capacity, -1, np.int16), pole=np.full(capacity, -1, np.int16),
            employment=z(capacity), value_added=z(capacity), exporter=z(capacity, np.bool_),
            capability=z(capacity), taste=z(capacity, np.float32), knowledge=z((capacity, dims), np.float32),
            stage=z(capacity, np.float32), load=z(capacity, np.int16),
            capacity=z(capacity, np.int16), born=np.full(capacity, -1, np.int32),
            origin=z(capacity, np.int8), last_project=np.full(capacity, -1, np.int32),
            innovations=z(capacity, np.int32),
            tie_partner=np.full((capacity, TIES), -1, np.int32),
            tie_trust=z((capacity, TIES), np.float32),
        )

    @property
    def cap(self) -> int:
        """Allocated rows."""
        return self.alive.shape[0]

    def _grow(self, need: int) -> None:
        new_cap = max(need, 2 * self.cap)
        for f in fields(self):
            if f.name == "n":
                continue
            old = getattr(self, f.name)
            fill = -1 if f.name in ("cluster", "pole", "born", "last_project", "tie_partner") else 0
            new = np.full((new_cap, *old.shape[1:]), fill, old.dtype)
            new[: old.shape[0]] = old
            setattr(self, f.name, new)

    def add(self, **cols: np.ndarray) -> np.ndarray:
        """Append actors given column arrays of equal length; return their indices."""
        k = len(next(iter(cols.values())))
        if self.n + k > self.cap:
            self._grow(self.n + k)
        rows = slice(self.n, self.n + k)
        for name, values in cols.items():
            getattr(self, name)[rows] = values
        self.alive[rows] = True
        self.n += k
        return np.arange(rows.start, rows.stop)

    def nbytes_per_actor(self) -> float:
        """Bytes of state per allocated actor row."""
        total = sum(getattr(self, f.name).nbytes for f in fields(self) if f.name != "n")
        return total / max(self.cap, 1)


def consortium_buffers(rows: int, width: int,
                       old: tuple[np.ndarray, ...] | None = None) -> tuple[np.ndarray, ...]:
    """Output buffers of :func:`sim.kernels.consortia.form_consortia` with at least ``rows``
    rows of ``width`` members (``old`` is returned when it is large enough): members, size,
    match, group, foreign, cross, has_rd, has_training."""
    if old is not None and old[0].shape[0] >= rows and old[0].shape[1] >= width:
        return old
    # grow by half at least, so that a slowly rising need does not reallocate every step
    r = max(rows, 64, 0 if old is None else old[0].shape[0] * 3 // 2)
    wd = max(width, 0 if old is None else old[0].shape[1])
    return (np.full((r, wd), -1, np.int32), np.zeros(r, np.int16), np.zeros(r, np.float32),
            np.zeros(r, np.int32), np.zeros(r, np.int8), np.zeros(r, np.bool_),
            np.zeros(r, np.bool_), np.zeros(r, np.bool_))


@dataclass
class Projects:
    """Per-project arrays (partnerships and pole projects), with a free list of slots."""

    active: np.ndarray  # bool
    start: np.ndarray  # int32 step
    end: np.ndarray  # int32 step of completion
    cluster: np.ndarray  # int16 lead's cluster (-1 for a pole project without one)
    pole: np.ndarray  # int16 (-1 for a cluster partnership)
    call: np.ndarray  # int16 call number (-1 for a cluster partnership)
    size: np.ndarray  # int16 local members
    members: np.ndarray  # int32 (cap, MAX_CONSORTIUM), -1 padded
    match: np.ndarray  # float32 the initiator's mean match with the partners it recruited
    has_rd: np.ndarray  # bool: a university or research centre takes part
    has_training: np.ndarray  # bool
    foreign: np.ndarray  # int8 foreign partners
    cross: np.ndarray  # bool: members from two or more Walloon clusters
    fund_rd: np.ndarray  # float64 EUR granted
    fund_training: np.ndarray
    fund_investment: np.ndarray
    free: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # free slots (stack)
    n_free: int = 0

    @classmethod
    def empty(cls, capacity: int, width: int) -> Projects:
        """Allocate ``capacity`` inactive project slots of ``width`` members."""
        z = np.zeros
        p = cls(
            active=z(capacity, np.bool_), start=z(capacity, np.int32), end=z(capacity, np.int32),
            cluster=np.full(capacity, -1, np.int16), pole=np.full(capacity, -1, np.int16),
            call=np.full(capacity, -1, np.int16), size=z(capacity, np.int16),
            members=np.full((capacity, width), -1, np.int32), match=z(capacity, np.float32),
            has_rd=z(capacity, np.bool_), has_training=z(capacity, np.bool_),
            foreign=z(capacity, np.int8), cross=z(capacity, np.bool_),
            fund_rd=z(capacity), fund_training=z(capacity), fund_investment=z(capacity),
        )
        p.free = np.arange(capacity - 1, -1, -1, dtype=np.int32)
        p.n_free = capacity
        return p

    @property
    def cap(self) -> int:
        """Allocated slots."""
        return self.active.shape[0]

    def reserve(self, k: int) -> None:
        """Make sure at least ``k`` slots are free (grows by doubling)."""
        if self.n_free >= k:
            return
        old_cap = self.cap
        new_cap = max(2 * old_cap, old_cap + k - self.n_free)
        for f in fields(self):
            if f.name in ("free", "n_free"):
                continue
            old = getattr(self, f.name)
            fill = -1 if f.name in ("cluster", "pole", "call", "members") else 0
            new = np.full((new_cap, *old.shape[1:]), fill, old.dtype)
            new[:old_cap] = old
            setattr(self, f.name, new)
        added = np.arange(new_cap - 1, old_cap - 1, -1, dtype=np.int32)
        free = np.empty(new_cap, np.int32)
        # the old free slots stay on top of the stack, so the order of slot reuse is unchanged
        free[: len(added) + self.n_free] = np.concatenate([added, self.free[: self.n_free]])
        self.free = free
        self.n_free += len(added)

    def take(self, k: int) -> np.ndarray:
        """Pop ``k`` free slots (call :meth:`reserve` first), the top of the stack first."""
        slots = self.free[self.n_free - k: self.n_free][::-1].copy()
        self.n_free -= k
        return slots
