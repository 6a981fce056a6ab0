"""Thin Mesa agents: identity, inspection and visualisation handles over the arrays.

The state of an actor lives in :class:`sim.state.actors.Actors`; an agent keeps only its
``index`` and exposes the arrays through read-only properties, so there is one source of truth.
Agents take no part in the step: the hot path runs in kernels over all actors at once.
:class:`Handles` keeps one agent per living actor when the model asks for them.
"""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.state.codes import (
    ACTOR_TYPES,
    CLUSTER_STATUSES,
    INSTRUMENTS,
    LARGE,
    RESEARCH_CENTRE,
    SME,
    TASKS,
    TRAINING_CENTRE,
    UNIVERSITY,
)

if TYPE_CHECKING:
    from sim.model import ClusterModel


class _IdsByModel(weakref.WeakKeyDictionary):
    """Per-model counters of agent ids that do not keep the model alive.

    mesa 3.3 keeps them in ``Agent._ids``, a class-level ``defaultdict`` keyed by the model,
    which holds every model ever built (about 1.4 MB per baseline replication, never freed, in a
    long-lived worker).  Looking the counter up here instead lets finished models be collected.
    """

    def __getitem__(self, model):
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


class Handle(mesa.Agent):
    """Base of the model's agents (mesa.Agent with model-weak id counters)."""

    _ids = _IdsByModel()


class Actor(Handle):
    """Handle of one actor row (a company, university, research or training centre)."""

    model: ClusterModel

    def __init__(self, model: ClusterModel, index: int) -> None:
        super().__init__(model)
        self.index = int(index)

    @property
    def actor_type(self) -> str:
        """One of ``sme``, ``large_firm``, ``university``, ``research_centre``, ``training_centre``."""
        return ACTOR_TYPES[self.model.actors.atype[self.index]]

    @property
    def sector(self) -> str:
        """Sector name."""
        return self.model.sc.world.sectors[self.model.actors.sector[self.index]].name

    @property
    def cluster(self) -> str | None:
        """Name of the cluster it belongs to, or None."""
        c = self.model.actors.cluster[self.index]
        return self.model.clusters.names[c] if c >= 0 else None

    @property
    def alive(self) -> bool:
        """Whether the actor is still in business."""
        return bool(self.model.actors.alive[self.index])

    @property
    def employment(self) -> float:
        """Employment [FTE] (0 for institutions)."""
        return float(self.model.actors.employment[self.index])

    @property
    def value_added(self) -> float:
        """Value added [EUR/year] (0 for institutions)."""
        return float(self.model.actors.value_added[self.index])

    @property
    def productivity(self) -> float:
        """Labour productivity [EUR/FTE/year]: value added per FTE (0 without employment)."""
        emp = self.employment
        return self.value_added / emp if emp > 0 else 0.0

    @property
    def pole(self) -> str | None:
        """Name of the competitiveness pole it takes part in, or None."""
        p = self.model.actors.pole[self.index]
        return self.model.poles.names[p] if p >= 0 else None

    @property
    def projects(self) -> list[int]:
        """Slots of the projects under way it is a member of (cluster partnerships and pole
        projects: ``model.projects``)."""
        p = self.model.projects
        rows = np.flatnonzero(p.active[: p.cap] & (p.members[: p.cap] == self.index).any(axis=1))
        return rows.tolist()

    @property
    def exporter(self) -> bool:
        """Whether it exports."""
        return bool(self.model.actors.exporter[self.index])

    @property
    def partners(self) -> list[int]:
        """Indices of remembered partners with positive trust."""
        a = self.model.actors
        row = a.tie_partner[self.index]
        return [int(j) for j, t in zip(row, a.tie_trust[self.index], strict=True)
                if j >= 0 and t > 0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} #{self.index} {self.actor_type} {self.sector}>"


class Company(Actor):
    """An SME or large firm."""


class University(Actor):
    """A university department."""


class ResearchCentre(Actor):
    """A research centre."""


class TrainingCentre(Actor):
    """A training centre or other support body."""


ACTOR_CLASSES = {SME: Company, LARGE: Company, UNIVERSITY: University,
                 RESEARCH_CENTRE: ResearchCentre, TRAINING_CENTRE: TrainingCentre}


class Animator(Handle):
    """The animator of one cluster: its funding and effort by task (see
    sim.processes.animation)."""

    model: ClusterModel

    def __init__(self, model: ClusterModel, cluster: int) -> None:
        super().__init__(model)
        self.cluster = int(cluster)

    @property
    def name(self) -> str:
        """The cluster's name."""
        return self.model.clusters.names[self.cluster]

    @property
    def status(self) -> str:
        """The cluster's status."""
        return CLUSTER_STATUSES[self.model.clusters.status[self.cluster]]

    @property
    def effort(self) -> dict[str, float]:
        """Full-time-equivalent effort by task this quarter."""
        return dict(zip(TASKS, self.model.clusters.effort[self.cluster].tolist(), strict=True))

    @property
    def members(self) -> int:
        """Members of the cluster now."""
        a = self.model.actors
        return int(np.count_nonzero(a.cluster[: a.n] == self.cluster))


class Region(Handle):
    """The Walloon Region: the funder and evaluator (its processes are the launches, the
    poles' selection, calls and programmes, the animation funding, the tender subsidy and the
    evaluation, in sim.processes)."""

    model: ClusterModel

    @property
    def pole_budget_left(self) -> dict[str, float]:
        """EUR left per pole instrument."""
        return dict(zip(INSTRUMENTS, self.model.poles.remaining.tolist(), strict=True))


class Handles:
    """The Mesa agents of the actors, one per living actor row, when ``on``; nothing
    otherwise (batch runs: the dynamics do not depend on them)."""

    def __init__(self, model: ClusterModel, on: bool) -> None:
        self.model = model
        self.on = on
        self._handle: dict[int, mesa.Agent] = {}
        self._handled = np.zeros(0, bool)  # rows that have a Mesa handle
        if on:
            self.add(np.arange(model.actors.n))

    def add(self, rows: np.ndarray) -> None:
        """Create the agents of new actor rows."""
        if not self.on:
            return
        atype = self.model.actors.atype
        for i in rows:
            self._handle[int(i)] = ACTOR_CLASSES[atype[i]](self.model, int(i))
        cap = self.model.actors.cap
        if self._handled.shape[0] < cap:
            grown = np.zeros(cap, bool)
            grown[: self._handled.shape[0]] = self._handled
            self._handled = grown
        self._handled[rows] = True

    def prune(self) -> None:
        """Remove the agents of actors that exited."""
        if not self.on:
            return
        a = self.model.actors
        dead = np.flatnonzero(self._handled[: a.n] & ~a.alive[: a.n])
        for i in dead:
            self._handle.pop(int(i)).remove()
        self._handled[dead] = False

    def get(self, index: int) -> mesa.Agent | None:
        """The agent of actor ``index`` (None if it exited or handles are off)."""
        return self._handle.get(int(index))
