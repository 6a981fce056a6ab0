"""ClusterModel: the Mesa model of the Walloon clusters and competitiveness poles.

One step is one quarter.  :meth:`ClusterModel.step` is the ODD's schedule (docs/ODD.md,
section 3), one named sub-step per line; each sub-step is a short function in
:mod:`sim.policy` (the Region) or :mod:`sim.processes` (the actors) around a Numba kernel.

Randomness: the run's :class:`numpy.random.SeedSequence` is ``SeedSequence(seed,
spawn_key=(replication,))``.  It spawns one independent stream per process (the table
``STREAMS``), so that a policy change that alters one process's number of draws does not shift
the draws of the others (which keeps common random numbers effective): xoshiro256** states for
the processes drawn in kernels (``ClusterModel.streams``: membership, partnering, pole
proposals, project outcomes, economy, entry, partnership and academic spin-offs, project
durations, pole-assets firms) and NumPy Generators for those drawn in Python
(``ClusterModel.gen``: initial population, cluster launches, international agreements, the
pole jury, the number of pole-assets firms, Mesa's own ``rng`` / ``random``).
"""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np
import pandas as pd

from sim import policy, processes
from sim.agents import ACTOR_CLASSES, Animator, Region
from sim.indicators import Counters, Recorder, record_year
from sim.institutions import Agreements, Clusters, Poles, step_of
from sim.kernels.bookkeeping import company_totals, store_projects
from sim.kernels.consortia import partnering_params
from sim.kernels.demography import firm_params
from sim.kernels.rng import new_state
from sim.loader import load_scenario
from sim.scenario import Scenario
from sim.state import MAX_CONSORTIUM, Projects, consortium_buffers
from sim.world import CAPABILITY_SIGMA, SME_SIGMA, FirmTables, build_population

KERNEL, NUMPY = "kernel", "numpy"
# The run's random streams: child i of the run's SeedSequence seeds stream i of this table,
# a xoshiro256** state for the kernels (``ClusterModel.streams``) or a NumPy Generator for
# draws made in Python (``ClusterModel.gen``).  The order is fixed: a new stream goes at the
# end, so that the existing ones keep their seeds; changing a stream's kind changes only it.
STREAMS = (
    ("membership", KERNEL), ("partnering", KERNEL), ("poles", KERNEL), ("projects", KERNEL),
    ("economy", KERNEL), ("init", NUMPY), ("entry", KERNEL), ("spinoff", KERNEL),
    ("research", KERNEL), ("durations", KERNEL), ("launch", NUMPY), ("international", NUMPY),
    ("jury", NUMPY), ("assets", NUMPY), ("mesa", NUMPY), ("assets_firms", KERNEL),
)


def run_seed_sequence(seed: int, replication: int = 0) -> np.random.SeedSequence:
    """The SeedSequence of replication ``replication`` of a run with root ``seed``.

    The key holds the replication only, not the scenario: replication r of every policy
    variant starts from the same world and the same streams (common random numbers).
    """
    return np.random.SeedSequence(int(seed), spawn_key=(int(replication),))


class ClusterModel(mesa.Model):
    """Agent-based model of the Walloon cluster policy (2001-) and competitiveness poles.

    Parameters
    ----------
    scenario : Scenario, path or None
        The scenario (the embedded baseline when None).
    seed : int, optional
        Root seed; defaults to ``scenario.run.seed``.
    replication : int
        Replication index, part of the run's seed key.
    handles : bool
        Create a thin Mesa agent for every actor (for inspection and visualisation).  Batch
        runs switch it off: the dynamics do not depend on it.
    """

    def __init__(self, scenario: Scenario | str | Path | None = None, *, seed: int | None = None,
                 replication: int = 0, handles: bool = True) -> None:
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.sc = sc
        self.seed = sc.run.seed if seed is None else int(seed)
        self.replication = int(replication)
        self.seed_sequence = run_seed_sequence(self.seed, self.replication)
        children = self.seed_sequence.spawn(len(STREAMS))
        self.streams = {name: new_state(ss) for (name, kind), ss in zip(STREAMS, children,
                                                                        strict=True)
                        if kind == KERNEL}
        self.gen = {name: np.random.default_rng(ss)
                    for (name, kind), ss in zip(STREAMS, children, strict=True)
                    if kind == NUMPY}
        super().__init__(rng=self.gen["mesa"])
        self.random.seed(int(self.gen["mesa"].integers(2**63)))

        w = sc.world
        self.sector_coop = np.array([s.cooperation for s in w.sectors])
        self.sector_ki = np.array([s.knowledge_intensity for s in w.sectors])
        self.sector_growth = np.array([s.growth for s in w.sectors])
        self.partnering_params = partnering_params(sc.behaviour.partnering)
        # the fabric's census taken by the economy step for the demography (sim.processes)
        self.census_per_sector = np.zeros(len(w.sectors), np.int64)
        self.census_research = np.empty(0, np.int64)
        self.census: tuple = (-1, None, None)
        self.firm_tables = FirmTables.from_scenario(sc)
        self.actors, self.centroids = build_population(sc, self.gen["init"], self.firm_tables)
        self.productivity_start = self.mean_productivity()
        self.firm_params = firm_params(w, SME_SIGMA, CAPABILITY_SIGMA, self.productivity_start)
        self.projects = Projects.empty(max(64, self.actors.n // 4), MAX_CONSORTIUM)
        self.clusters = Clusters.from_scenario(sc)
        self.poles = Poles.from_scenario(sc)
        self.agreements = Agreements([], [])
        self.counters = Counters(len(self.clusters.names), len(self.poles.names),
                                 len(sc.policy.poles.calls))
        self.recorder = Recorder()
        self.evaluations: list[tuple[int, str, int, float, bool]] = []
        self.t = 0
        self.n_quarters = sc.n_quarters
        # consortium buffers (one row per member company that could lead a consortium; the
        # partnership kernel asks for more when members outgrow them)
        self._buffers: tuple[np.ndarray, ...] | None = consortium_buffers(
            max(64, self.actors.n // 4), sc.behaviour.partnering.max_consortium)
        self.effort_shares: np.ndarray | None = None  # the animators' task shares (policy)
        self.outcome_buffers: tuple[np.ndarray, ...] | None = None  # of resolve_projects
        # steps at which a cluster is due to launch and a pole call closes (to skip the others)
        self.launch_steps = frozenset(self.clusters.launch_step.tolist())
        self.call_steps = frozenset(self.poles.call_steps.tolist())
        # the poles' selection quarter and budget period (first and last step; empty when the
        # poles are disabled)
        pp = sc.policy.poles
        self.selection_step = (step_of(sc, pp.selection_year, pp.selection_quarter)
                               if pp.enabled else -1)
        self.budget_steps = ((step_of(sc, pp.budget_start_year, 1),
                              step_of(sc, pp.budget_end_year, 4)) if pp.enabled else (0, -1))
        self.expected_assets_firms = np.zeros(len(self.poles.names))  # of pole_programmes

        self.handles = handles
        self._handle: dict[int, mesa.Agent] = {}
        self._handled = np.zeros(0, bool)  # rows that have a Mesa handle
        if handles:
            self.on_new_actors(np.arange(self.actors.n))
        self.animators = [Animator(self, c) for c in range(len(self.clusters.names))]
        self.region = Region(self)

    # ------------------------------------------------------------------ calendar
    @property
    def year(self) -> int:
        """Calendar year of the current step."""
        return self.sc.time.start_year + self.t // 4

    @property
    def quarter(self) -> int:
        """Quarter (1-4) of the current step."""
        return self.t % 4 + 1

    # ------------------------------------------------------------------ the schedule
    def step(self) -> None:
        """Advance one quarter (the ODD's process overview, in order)."""
        quarter = self.t % 4 + 1
        if quarter == 1:
            self.counters.reset()                # 0. a new year: yearly flows start at zero
        policy.launch_clusters(self)             # 1. clusters due this quarter start
        policy.select_poles(self)                # 2. selection of the competitiveness poles
        policy.fund_animation(self)              # 3. animation subsidy, fees, animator effort
        policy.internationalise(self)            # 4. agreements with foreign clusters
        processes.membership(self)               # 5. actors join and leave clusters
        processes.partnering(self)               # 6. partner search, partnerships launched
        policy.pole_call(self)                   # 7. pole call: proposals, jury, funding
        processes.projects(self)                 # 8. project outcomes, ties, spin-offs
        policy.pole_programmes(self)             # 9. export promotion, assets and holdings
        processes.economy(self)                  # 10. value added, exports, exits
        processes.demography(self)               # 11. entry and academic spin-offs
        if quarter == 4:
            policy.evaluate_clusters(self)       # 12. the Region's evaluation (year end)
            record_year(self)                    # 13. indicators of the year
        self.after_step()
        self.t += 1
        if self.t >= self.n_quarters:
            self.running = False

    def run(self) -> pd.DataFrame:
        """Run to the end of the scenario; return the tidy indicator table."""
        while self.running:
            self.step()
        return self.results()

    def results(self) -> pd.DataFrame:
        """The tidy indicator rows recorded so far."""
        return self.recorder.frame()

    # ------------------------------------------------------------------ helpers
    def buffers(self, rows: int, width: int) -> tuple[np.ndarray, ...]:
        """Output buffers of the consortium kernel with at least ``rows`` rows."""
        self._buffers = consortium_buffers(rows, width, self._buffers)
        return self._buffers

    def commit_projects(self, buf, k: int, *, cluster: np.ndarray, pole: int | np.ndarray,
                        call: int) -> np.ndarray:
        """Store ``k`` consortia from kernel buffers as projects starting now (``cluster`` one
        per consortium, ``pole`` one per consortium or the same for all)."""
        members, size, match, _group, foreign, cross, has_rd, has_tr = buf
        p = self.projects
        p.reserve(k)
        slots = p.take(k)
        bp = self.sc.behaviour.projects
        if np.isscalar(pole):
            pole = np.full(k, pole, np.int16)
        store_projects(
            slots, self.t, bp.duration_min, bp.duration_max, self.streams["durations"],
            cluster, pole, call, members, size, match, foreign, cross, has_rd, has_tr,
            p.active, p.start, p.end, p.cluster, p.pole, p.call, p.size, p.members, p.match,
            p.has_rd, p.has_training, p.foreign, p.cross, p.fund_rd, p.fund_training,
            p.fund_investment,
        )
        return slots

    def mean_productivity(self) -> float:
        """Value added per employee of the living companies [EUR/FTE/year]."""
        a = self.actors
        emp, va = company_totals(a.n, a.alive, a.atype, a.employment, a.value_added)
        return va / emp if emp > 0 else 0.0

    def on_new_actors(self, idx: np.ndarray) -> None:
        """Create Mesa handles for new actor rows (when handles are on)."""
        if not self.handles:
            return
        atype = self.actors.atype
        for i in idx:
            self._handle[int(i)] = ACTOR_CLASSES[atype[i]](self, int(i))
        if self._handled.shape[0] < self.actors.cap:
            grown = np.zeros(self.actors.cap, bool)
            grown[: self._handled.shape[0]] = self._handled
            self._handled = grown
        self._handled[idx] = True

    def after_step(self) -> None:
        """Remove the Mesa handles of actors that exited this quarter."""
        if not self.handles:
            return
        n = self.actors.n
        dead = np.flatnonzero(self._handled[:n] & ~self.actors.alive[:n])
        for i in dead:
            self._handle.pop(int(i)).remove()
        self._handled[dead] = False

    def actor(self, index: int) -> mesa.Agent | None:
        """The Mesa handle of actor ``index`` (None if it exited or handles are off)."""
        return self._handle.get(int(index))
