"""ClusterModel: the Mesa model of the Walloon clusters and competitiveness poles.

One step is one quarter.  :meth:`ClusterModel.step` is the ODD's schedule (docs/ODD.md,
section 3), one named sub-step per line; each sub-step is a process of :mod:`sim.processes`
(its orchestration and its own Numba kernels).  The model holds the run's streams and state;
the step counter is Mesa's (``steps``).

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

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.agents import Animator, Handles, Region
from sim.indicators import compute
from sim.indicators.collector import IndicatorCollector
from sim.indicators.ledger import Ledger
from sim.indicators.recorder import Recorder
from sim.kernels.consortia import Consortia
from sim.kernels.rng import new_state
from sim.kernels.sums import company_totals
from sim.loader import ScenarioError, load_scenario, set_path, validate_document
from sim.processes import (
    animation,
    demography,
    economy,
    evaluation,
    internationalisation,
    launch,
    membership,
    partnering,
    pole_call,
    programmes,
    projects,
    selection,
)
from sim.rules.state import RuleState
from sim.scenario import Scenario
from sim.state.institutions import Agreements, Clusters, Poles
from sim.state.projects import Projects
from sim.world import FirmTables, build_population, new_firms, sector_table

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


def _scenario(scenario: Scenario | str | Path | None,
              overrides: Mapping[str, Any] | None) -> Scenario:
    """The scenario of a model: ``scenario`` (a file, or the embedded baseline when None)
    with ``overrides`` applied."""
    if not isinstance(scenario, Scenario):
        return load_scenario(scenario, overrides)
    if not overrides:
        return scenario
    doc = scenario.model_dump(mode="python")
    problems = []
    for key, value in overrides.items():
        try:
            set_path(doc, key, value)
        except ValueError as exc:
            problems.append(f"{key}: cannot override this path ({exc})")
    if problems:
        raise ScenarioError(scenario.name, problems)
    return validate_document(doc, scenario.name, tuple(overrides))


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
    overrides : mapping, optional
        Dotted scenario paths to values (``{"policy.animation.subsidy_eur_per_year": 1e5}``),
        applied and validated as :func:`sim.loader.load_scenario` does: what
        ``mesa.batch_run(ClusterModel, parameters={"overrides": [...]})`` varies.
    panel : bool, optional
        Write the firm panel (:mod:`sim.panel`; read it with :meth:`panel_frame`); defaults
        to ``scenario.run.panel``.  The dynamics do not depend on it either.

    Attributes
    ----------
    datacollector : sim.indicators.collector.IndicatorCollector
        Mesa's DataCollector of the indicator catalogue's totals (for ``mesa.batch_run`` and
        SolaraViz); it reads the yearly record and adds nothing to the step.
    """

    def __init__(self, scenario: Scenario | str | Path | None = None, *, seed: int | None = None,
                 replication: int = 0, handles: bool = True,
                 overrides: Mapping[str, Any] | None = None, panel: bool | None = None
                 ) -> None:
        sc = _scenario(scenario, overrides)
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

        # the state
        self.sectors = sector_table(sc)
        tables = FirmTables.from_scenario(sc)
        self.actors, centroids = build_population(sc, self.gen["init"], tables)
        emp, va = company_totals(self.actors.view, self.actors.n)
        self.firms = new_firms(sc, centroids, tables, va / emp if emp > 0 else 0.0)
        self.projects = Projects(max(64, self.actors.n // 4))
        self.clusters = Clusters.from_scenario(sc)
        self.poles = Poles.from_scenario(sc)
        self.agreements = Agreements([], [])
        self.markets = economy.new_markets(len(self.sectors))  # set up by the first quarter
        # the outputs: the year's quantities, the recorded rows, the evaluations' verdicts
        self.ledger = Ledger(len(self.clusters.names), len(self.poles.names),
                             len(sc.policy.poles.calls))
        self.recorder = Recorder()
        self.evaluations: list[tuple[int, str, int, float, bool]] = []
        self.rulebook = RuleState.new(sc, len(self.clusters.names), len(self.poles.names))
        # per-run constants of the processes (sim.state.params.Params.of) and their work
        # buffers, reused from quarter to quarter (they hold nothing between two calls)
        self.constants: dict = {}
        self.scratch: dict[str, np.ndarray] = {}
        self.consortia = Consortia(max(64, self.actors.n // 4),
                                   sc.behaviour.partnering.max_consortium)
        self.n_quarters = sc.n_quarters

        self.handles = Handles(self, handles)
        self.animators = [Animator(self, c) for c in range(len(self.clusters.names))]
        self.region = Region(self)
        self.datacollector = IndicatorCollector(self)
        self.panel = None  # the firm panel's writer (opt-in; it only reads the state)
        if sc.run.panel if panel is None else panel:
            from sim.panel import PanelWriter

            self.panel = PanelWriter(self)

    # ------------------------------------------------------------------ calendar
    @property
    def t(self) -> int:
        """Index of the quarter under way (0: the first quarter of ``time.start_year``):
        Mesa's step counter, which counts the step that runs, minus one."""
        return self.steps - 1

    @property
    def year(self) -> int:
        """Calendar year of the quarter under way."""
        return self.sc.time.start_year + self.t // 4

    @property
    def quarter(self) -> int:
        """Quarter (1-4) under way."""
        return self.t % 4 + 1

    # ------------------------------------------------------------------ the schedule
    def step(self) -> None:
        """Advance one quarter (the ODD's process overview, in order); after the last quarter
        (``running`` False) a call does nothing."""
        if not self.running:
            self.steps -= 1  # Mesa's wrapper has counted the call: the model stays where it is
            return
        if self.quarter == 1:
            self.ledger.new_year()                     # 0. a new year: the flows start at zero
        launch.launch_clusters(self)                   # 1. clusters due this quarter start
        selection.select_poles(self)                   # 2. selection of the competitiveness poles
        census = animation.fund_animation(self)        # 3. animation subsidy, fees, effort
        internationalisation.internationalise(self)    # 4. agreements with foreign clusters
        membership.membership(self, census)            # 5. actors join and leave clusters
        partnering.partnering(self)                    # 6. partner search, partnerships launched
        pole_call.pole_call(self)                      # 7. pole call: proposals, jury, funding
        projects.projects(self)                        # 8. project outcomes, ties, spin-offs
        programmes.pole_programmes(self)               # 9. export promotion, assets and holdings
        fabric = economy.economy(self)                 # 10. value added, exports, exits
        demography.demography(self, fabric)            # 11. entry and academic spin-offs
        if self.quarter == 4:
            evaluation.evaluate_clusters(self)         # 12. the Region's evaluation (year end)
            compute.record_year(self)                  # 13. indicators of the year
        if self.panel is not None:
            self.panel.quarter(self)                   # (the firm panel reads the quarter)
        self.handles.prune()
        if self.steps >= self.n_quarters:
            self.running = False

    def run(self) -> pd.DataFrame:
        """Run to the end of the scenario; return the tidy indicator table."""
        while self.running:
            self.step()
        return self.results()

    def results(self) -> pd.DataFrame:
        """The tidy indicator rows recorded so far."""
        return self.recorder.frame()

    def panel_frame(self) -> pd.DataFrame:
        """The firm panel of the years ended so far (:mod:`sim.evaluation.panel`'s schema);
        the model must have been made with ``panel=True``."""
        if self.panel is None:
            raise ValueError("this run writes no panel: make it with ClusterModel(..., "
                             "panel=True) or set run.panel = true in the scenario")
        return self.panel.frame()

    def actor(self, index: int) -> mesa.Agent | None:
        """The Mesa handle of actor ``index`` (None if it exited or handles are off)."""
        return self.handles.get(index)
