"""The institutions: clusters, candidate poles and intercluster agreements (a few dozen rows:
plain NumPy, handed to kernels as views)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.state.codes import ACTIVE, N_INSTRUMENTS, N_TASKS
from sim.state.views import define_view

if TYPE_CHECKING:
    from sim.scenario import Scenario

CLUSTER_FIELDS = ("active", "status", "status_step", "launch_step", "last_eval_step", "sectors",
                  "sector_clusters", "effort", "subsidy", "fee_sme", "fee_large",
                  "launched_recent", "pole")
POLE_FIELDS = ("status", "sectors", "sector_pole", "call_steps", "budget", "remaining",
               "export_spend")

ClustersView = define_view(__name__, "ClustersView", CLUSTER_FIELDS,
                           "The clusters' arrays as one kernel argument (read-only status).")
PolesView = define_view(__name__, "PolesView", POLE_FIELDS,
                        "The candidate poles' arrays as one kernel argument.")


@njit(cache=True)
def _clusters_view(*arrays):
    return ClustersView(*arrays)


@njit(cache=True)
def _poles_view(*arrays):
    return PolesView(*arrays)


def step_of(sc: Scenario, year: int, quarter: int) -> int:
    """Quarterly step index of (year, quarter); step 0 is the first quarter of start_year."""
    return 4 * (year - sc.time.start_year) + quarter - 1


@dataclass
class Clusters:
    """Arrays over the scenario's clusters (index = order in the scenario)."""

    names: tuple[str, ...]
    sectors: np.ndarray  # bool (C, S): the sectors it recruits in
    launch_step: np.ndarray  # int64
    founders: np.ndarray  # int64
    status: np.ndarray  # int8, codes.CLUSTER_STATUSES (read-only: change it with set_status)
    status_step: np.ndarray  # int64, step of the last status change
    last_eval_step: np.ndarray  # int64, step since which involvement is measured
    effort: np.ndarray  # float64 (C, N_TASKS) animator FTE by task this quarter
    subsidy: np.ndarray  # float64 EUR/year granted at this quarter's rate
    fee_sme: np.ndarray  # float64 EUR/year
    fee_large: np.ndarray
    launched_recent: np.ndarray  # int64 (C, 4) members involved in launches, last 4 quarters
    sector_clusters: np.ndarray  # int32 (S, k) clusters recruiting in each sector, -1 padded
    pole: np.ndarray  # int64, pole that absorbed the cluster (-1)
    launch_step_set: frozenset[int] = frozenset()  # the steps at which a cluster launches

    @classmethod
    def from_scenario(cls, sc: Scenario) -> Clusters:
        """Build the table; every cluster starts planned."""
        sec_names = [s.name for s in sc.world.sectors]
        n_c, n_s = len(sc.clusters), len(sec_names)
        mask = np.zeros((n_c, n_s), bool)
        for c, spec in enumerate(sc.clusters):
            mask[c, [sec_names.index(s) for s in spec.sectors]] = True
        k = max(1, int(mask.sum(axis=0).max(initial=0)))
        sector_clusters = np.full((n_s, k), -1, np.int32)
        for s in range(n_s):
            cl = np.flatnonzero(mask[:, s])
            sector_clusters[s, : len(cl)] = cl
        return cls(
            names=tuple(c.name for c in sc.clusters), sectors=mask,
            launch_step=np.array([step_of(sc, c.launch_year, c.launch_quarter)
                                  for c in sc.clusters], np.int64),
            founders=np.array([c.founders for c in sc.clusters], np.int64),
            status=np.zeros(n_c, np.int8), status_step=np.full(n_c, -1, np.int64),
            last_eval_step=np.zeros(n_c, np.int64), effort=np.zeros((n_c, N_TASKS)),
            subsidy=np.zeros(n_c), fee_sme=np.zeros(n_c), fee_large=np.zeros(n_c),
            launched_recent=np.zeros((n_c, 4), np.int64), sector_clusters=sector_clusters,
            pole=np.full(n_c, -1, np.int64),
            launch_step_set=frozenset(step_of(sc, c.launch_year, c.launch_quarter)
                                      for c in sc.clusters),
        )

    def __post_init__(self) -> None:
        # ``status`` is read-only, changed through set_status, which keeps ``active`` (read every
        # quarter by several steps) up to date instead of comparing the statuses each time
        self._status = np.array(self.status, np.int8)
        self._active = self._status == ACTIVE
        self.status = self._status.view()
        self.status.flags.writeable = False
        self._active_view = self._active.view()
        self._active_view.flags.writeable = False
        self.view = _clusters_view(*(getattr(self, f) for f in CLUSTER_FIELDS))

    @property
    def active(self) -> np.ndarray:
        """Bool mask of active clusters (read-only)."""
        return self._active_view

    def set_status(self, c: int, status: int, step: int) -> None:
        """Cluster ``c`` takes ``status`` (PLANNED, ACTIVE, DROPPED, ABSORBED) at ``step``."""
        self._status[c] = status
        self._active[c] = status == ACTIVE
        self.status_step[c] = step


@dataclass
class Agreements:
    """Intercluster agreements with foreign clusters (cluster, expiry step).

    Change them through :meth:`sign` and :meth:`end`: the counts per cluster are kept until
    the next signature, end or expiry (they are read every quarter and change a few times a
    year).
    """

    cluster: list[int]
    expiry: list[int]
    _counts: np.ndarray | None = field(default=None, repr=False, compare=False)
    _valid: tuple[int, int] = field(default=(0, -1), repr=False, compare=False)

    def sign(self, cluster: int, expiry: int) -> None:
        """A new agreement of ``cluster``, active until step ``expiry`` (excluded)."""
        self.cluster.append(cluster)
        self.expiry.append(expiry)
        self._counts = None

    def end(self, cluster: int, step: int) -> None:
        """End the agreements of a cluster that stops (dropped or absorbed) at ``step``."""
        for k, c in enumerate(self.cluster):
            if c == cluster and self.expiry[k] > step:
                self.expiry[k] = step
        self._counts = None

    def active_counts(self, n_clusters: int, step: int) -> np.ndarray:
        """Active agreements per cluster at ``step`` (int64; shared until the next change, so
        callers must not write to it)."""
        lo, hi = self._valid
        if self._counts is None or not lo <= step < hi or len(self._counts) != n_clusters:
            c = np.asarray(self.cluster, np.int64)
            e = np.asarray(self.expiry, np.int64)
            self._counts = np.bincount(c[e > step], minlength=n_clusters)
            later = e[e > step]  # the counts hold from step until the next expiry
            self._valid = (step, int(later.min()) if len(later) else 2**62)
        return self._counts


@dataclass
class Poles:
    """Arrays over the candidate poles, their calls and the budget."""

    names: tuple[str, ...]
    sectors: np.ndarray  # bool (P, S)
    sector_pole: np.ndarray  # int64 (S,), pole of each sector (-1)
    status: np.ndarray  # int8, codes.POLE_STATUSES
    call_steps: np.ndarray  # int64, deadline step of each call
    budget: np.ndarray  # float64 (N_INSTRUMENTS,) EUR granted per instrument over the period
    remaining: np.ndarray  # float64 (N_INSTRUMENTS,) EUR left
    export_spend: np.ndarray  # float64 (P,) MEUR of export promotion this quarter
    selection_step: int = -1  # the poles' selection quarter (-1: no poles)
    budget_steps: tuple[int, int] = (0, -1)  # first and last step of the budget period
    call_step_set: frozenset[int] = frozenset()  # the calls' deadlines

    @classmethod
    def from_scenario(cls, sc: Scenario) -> Poles:
        """Build the table from ``policy.poles``."""
        pp = sc.policy.poles
        sec_names = [s.name for s in sc.world.sectors]
        n_p = len(pp.candidates)
        mask = np.zeros((n_p, len(sec_names)), bool)
        sector_pole = np.full(len(sec_names), -1, np.int64)
        for p, cand in enumerate(pp.candidates):
            for s in cand.sectors:
                si = sec_names.index(s)
                mask[p, si] = True
                if sector_pole[si] < 0:
                    sector_pole[si] = p
        budget = 1e6 * np.array([pp.budget_rd_meur, pp.budget_training_meur,
                                 pp.budget_investment_meur, pp.budget_export_meur,
                                 pp.budget_assets_meur])
        assert budget.shape == (N_INSTRUMENTS,)
        if not pp.enabled:
            budget[:] = 0.0
        return cls(
            names=tuple(c.name for c in pp.candidates), sectors=mask, sector_pole=sector_pole,
            status=np.zeros(n_p, np.int8),
            call_steps=np.array([step_of(sc, c.year, c.quarter) for c in pp.calls], np.int64),
            budget=budget, remaining=budget.copy(), export_spend=np.zeros(n_p),
            selection_step=(step_of(sc, pp.selection_year, pp.selection_quarter)
                            if pp.enabled else -1),
            budget_steps=((step_of(sc, pp.budget_start_year, 1),
                           step_of(sc, pp.budget_end_year, 4)) if pp.enabled else (0, -1)),
            call_step_set=frozenset(step_of(sc, c.year, c.quarter) for c in pp.calls),
        )

    def in_budget_period(self, step: int) -> bool:
        """Whether ``step`` lies in the poles' budget period."""
        lo, hi = self.budget_steps
        return lo <= step <= hi

    def __post_init__(self) -> None:
        self.view = _poles_view(*(getattr(self, f) for f in POLE_FIELDS))
