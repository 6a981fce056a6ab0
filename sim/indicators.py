"""The declared catalogue of outputs, the yearly flow counters and the tidy recorder.

Every indicator has a stable name, a one-line definition, a unit and the breakdowns it is
reported by.  Values are recorded at the end of each calendar year as tidy rows
``(indicator, year, by, key, value)``: ``by`` is ``"total"`` (key ``""``) or one of ``cluster``,
``pole``, ``call``, ``actor_type``, ``instrument``, ``group`` (members / non_members), with
``key`` the cluster, pole, call number, actor type, instrument or group (``cohort``: the
clusters launched in the year ``key``); a breakdown by two
dimensions joins them with ``/`` (``by = "actor_type/call"``, ``key = "sme/2"``).  Stocks are measured
on 31 December; flows add up over the year.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.kernels.bookkeeping import year_values
from sim.scenario import INSTRUMENTS
from sim.state import ACTOR_TYPE_NAMES

if TYPE_CHECKING:
    from sim.model import ClusterModel


@dataclass(frozen=True)
class Indicator:
    """A declared output."""

    name: str
    definition: str
    unit: str
    by: tuple[str, ...] = ("total",)


CATALOGUE: tuple[Indicator, ...] = (
    Indicator("clusters_active", "Clusters active on 31 December.", "clusters"),
    Indicator("clusters_created", "Clusters launched during the year.", "clusters"),
    Indicator("clusters_dropped", "Clusters dropped by the Region's evaluation during the year.", "clusters",
              ("total", "cluster")),
    Indicator("clusters_absorbed", "Clusters absorbed into a competitiveness pole during the year.", "clusters"),
    Indicator("members_total", "Members of active clusters (all actor types) on 31 December.", "members",
              ("total", "cluster", "actor_type", "cohort")),
    Indicator("members_enterprises", "Companies (SMEs and large firms) among the members.", "members",
              ("total", "cluster", "cohort")),
    Indicator("members_enterprise_share", "Share of companies among the members.", "share"),
    Indicator("members_rd", "Universities and research centres among the members.", "members"),
    Indicator("member_joins", "Actors joining a cluster during the year.", "actors", ("total", "cluster")),
    Indicator("member_leaves", "Actors leaving a cluster by their own decision during the year.", "actors",
              ("total", "cluster")),
    Indicator("partnerships_active", "Cluster partnerships under way on 31 December (pole projects excluded).",
              "projects", ("total", "cluster")),
    Indicator("partnerships_launched", "Cluster partnerships launched during the year.", "projects",
              ("total", "cluster")),
    Indicator("partnerships_launched_cumulative", "Cluster partnerships launched since the start.", "projects"),
    Indicator("partnership_members_involved", "Distinct living actors in cluster partnerships under way on "
              "31 December.", "actors"),
    Indicator("pole_projects_active", "Funded pole projects under way on 31 December.", "projects",
              ("total", "pole")),
    Indicator("partnership_size_mean", "Mean local members of the partnerships launched during the year.", "actors"),
    Indicator("projects_completed", "Projects that ended during the year.", "projects"),
    Indicator("projects_succeeded", "Projects that ended in success during the year.", "projects"),
    Indicator("innovations", "New products launched by companies out of successful projects during the year.",
              "products"),
    Indicator("new_enterprises", "New enterprises created out of partnerships, research centres and pole "
              "assets during the year.", "firms"),
    Indicator("new_enterprises_partnership", "New enterprises created out of partnerships during the year.", "firms"),
    Indicator("new_enterprises_research", "Spin-offs of universities and research centres during the year.", "firms"),
    Indicator("firm_entries", "Other new firms entering during the year.", "firms"),
    Indicator("firm_exits", "Companies exiting during the year.", "firms"),
    Indicator("firms_alive", "Companies in business on 31 December.", "firms"),
    Indicator("cross_cluster_partnerships_launched", "Partnerships launched during the year with members of two "
              "or more Walloon clusters.", "projects"),
    Indicator("foreign_partnerships_launched", "Partnerships launched during the year with a foreign partner.",
              "projects"),
    Indicator("intercluster_partnerships_active", "Agreements of Walloon clusters with foreign clusters in force "
              "on 31 December.", "agreements", ("total", "cluster")),
    Indicator("intercluster_partnerships_signed", "Agreements with foreign clusters signed during the year.",
              "agreements"),
    Indicator("animation_subsidy_eur", "The Region's animation subsidy paid during the year.", "EUR",
              ("total", "cluster")),
    Indicator("member_fees_eur", "Member fees collected for animation during the year.", "EUR"),
    Indicator("animator_effort_fte", "Animator effort (full-time equivalents) in the last quarter of the year.",
              "FTE", ("total", "cluster")),
    Indicator("tender_subsidy_eur", "The Region's subsidy for international tenders paid during the year.", "EUR"),
    Indicator("poles_selected", "Competitiveness poles selected (cumulative).", "poles"),
    Indicator("pole_members", "Actors taking part in a selected pole on 31 December.", "actors", ("total", "pole")),
    Indicator("pole_proposals_submitted", "Proposals submitted to the poles' calls during the year.", "proposals",
              ("total", "pole", "call")),
    Indicator("pole_proposals_labelled", "Proposals labelled by the jury during the year.", "proposals",
              ("total", "pole", "call")),
    Indicator("pole_projects_funded", "Labelled proposals funded during the year.", "projects",
              ("total", "pole", "call")),
    Indicator("pole_consortium_size_mean", "Mean local members of the labelled consortia.", "actors", ("call",)),
    Indicator("pole_consortium_partners", "Partners of labelled consortia by actor type (sme, large_firm, "
              "university, research_centre, training_centre).", "actors",
              ("actor_type", "call", "actor_type/call")),
    Indicator("pole_consortium_foreign", "Foreign partners in labelled consortia.", "actors", ("call",)),
    Indicator("pole_funding_eur", "Pole budget committed or spent during the year, by instrument.", "EUR",
              ("total", "instrument")),
    Indicator("pole_budget_left_eur", "Pole budget left on 31 December, by instrument.", "EUR",
              ("total", "instrument")),
    Indicator("employment", "Employment of companies on 31 December, members and non-members.", "FTE",
              ("total", "group")),
    Indicator("value_added", "Value added of companies (annual rate on 31 December).", "EUR/year",
              ("total", "group")),
    Indicator("productivity", "Value added per employee (ratio of the sums).", "EUR/FTE/year", ("total", "group")),
    Indicator("exports", "Exports of companies (annual rate on 31 December).", "EUR/year", ("total", "group")),
    Indicator("exporters_share", "Share of exporters among companies.", "share", ("total", "group")),
)
BY_NAME = {ind.name: ind for ind in CATALOGUE}


class Counters:
    """Flows of the current year, reset on 1 January."""

    def __init__(self, n_clusters: int, n_poles: int, n_calls: int) -> None:
        self.n_clusters, self.n_poles, self.n_calls = n_clusters, n_poles, n_calls
        # calls happen once: their counters are not reset
        self.proposals = np.zeros((n_poles, n_calls), np.int64)
        self.labelled = np.zeros((n_poles, n_calls), np.int64)
        self.funded = np.zeros((n_poles, n_calls), np.int64)
        self.consortium_types = np.zeros((n_calls, 5), np.int64)
        self.consortium_size = np.zeros(n_calls, np.int64)
        self.consortium_foreign = np.zeros(n_calls, np.int64)
        self.launched_total = 0
        self.reset()

    def reset(self) -> None:
        """Zero the yearly flows."""
        c = self.n_clusters
        self.clusters_created = self.clusters_dropped = self.clusters_absorbed = 0
        self.flows = np.zeros((c, 2), np.int64)  # joins, leaves
        self.launched = np.zeros(c, np.int64)
        self.launched_members = np.zeros(c, np.int64)
        self.cross = self.foreign = 0
        self.completed = self.succeeded = self.innovations = 0
        self.new_partnership = self.new_research = self.new_assets = self.entries = 0
        self.economy = np.zeros(3, np.int64)  # exits, export entries, export exits
        self.animation_subsidy = np.zeros(c)
        self.fees = np.zeros(c)
        self.agreements_signed = 0
        self.tender_subsidy = 0.0
        self.funding = np.zeros(5)
        self.calls_this_year = np.zeros(self.n_calls, bool)


class _Strings:
    """The indicator, breakdown and key strings seen in this process, numbered in order of
    first sight, and their pandas array (what ``pd.DataFrame`` makes of a list of them, so the
    columns keep the dtype that pandas version gives string columns): a frame's string columns
    are picked from it by code, instead of converting thousands of Python strings per run."""

    def __init__(self) -> None:
        self.code: dict[str, int] = {}
        self._array = None

    def codes(self, strings: list[str]) -> np.ndarray:
        """The codes (int64) of ``strings``, numbering the new ones."""
        code = self.code
        for s in strings:
            if s not in code:
                code[s] = len(code)
                self._array = None
        return np.fromiter(map(code.__getitem__, strings), np.int64, len(strings))

    def pick(self, codes: np.ndarray):
        """The strings of ``codes`` as a pandas array."""
        if self._array is None:
            self._array = pd.Series(list(self.code)).array
        return self._array.take(codes)


_STRINGS = _Strings()
_LAYOUT_CODES: dict[int, tuple[tuple, tuple[np.ndarray, ...]]] = {}


def _layout_codes(layout: tuple[list[str], list[str], list[str]]) -> tuple[np.ndarray, ...]:
    """The codes of a layout's three string columns, cached on the layout object (the cache
    holds the layout, so its ``id`` cannot be reused while the entry lives)."""
    hit = _LAYOUT_CODES.get(id(layout))
    if hit is not None and hit[0] is layout:
        return hit[1]
    codes = tuple(_STRINGS.codes(column) for column in layout)
    if len(_LAYOUT_CODES) >= 256:
        _LAYOUT_CODES.clear()
    _LAYOUT_CODES[id(layout)] = (layout, codes)
    return codes


class Recorder:
    """Collects the tidy yearly rows of one run.

    Rows are kept as blocks (the codes of their indicators, breakdowns and keys, their year,
    their values) and joined into columns by :meth:`frame`.  A year's block of
    :func:`year_layout` rows shares its codes with every other year and run of the same
    layout, so recording a year copies its values only.
    """

    COLUMNS = ("indicator", "year", "by", "key", "value")

    def __init__(self) -> None:
        self.blocks: list[tuple[tuple[np.ndarray, ...], int, np.ndarray]] = []

    def add(self, name: str, year: int, value: float, by: str = "total", key: str = "") -> None:
        """Record one value."""
        codes = tuple(_STRINGS.codes([s]) for s in (name, by, key))
        self.blocks.append((codes, year, np.array([float(value)])))

    def add_many(self, name: str, year: int, by: str, keys, values) -> None:
        """Record one value per key."""
        keys = list(map(str, keys))
        values = np.array(values, dtype=np.float64)
        if len(keys) != len(values):
            raise ValueError(f"{name}: {len(keys)} keys for {len(values)} values")
        k = len(keys)
        codes = (_STRINGS.codes([name] * k), _STRINGS.codes([by] * k), _STRINGS.codes(keys))
        self.blocks.append((codes, year, values))

    def add_rows(self, layout: tuple[list[str], list[str], list[str]], year: int,
                 values: np.ndarray) -> None:
        """Record one year's rows: ``layout`` holds their indicators, breakdowns and keys (its
        codes are cached on it: the caller must not change it); ``values`` is copied."""
        values = np.array(values, dtype=np.float64)
        if len(layout[0]) != len(values):
            raise ValueError(f"{len(layout[0])} rows for {len(values)} values")
        self.blocks.append((_layout_codes(layout), year, values))

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with columns indicator, year, by, key, value."""
        sizes = [len(values) for _, _, values in self.blocks]
        if not sum(sizes):
            return pd.DataFrame([], columns=list(self.COLUMNS))

        def strings(col: int):
            return _STRINGS.pick(np.concatenate([codes[col] for codes, _, _ in self.blocks]))

        return pd.DataFrame({
            "indicator": strings(0),
            "year": np.repeat(np.array([year for _, year, _ in self.blocks], np.int64), sizes),
            "by": strings(1),
            "key": strings(2),
            "value": np.concatenate([values for _, _, values in self.blocks]),
        })


@lru_cache(maxsize=64)
def year_layout(names: tuple[str, ...], poles: tuple[str, ...], years: tuple[int, ...],
                calls: tuple[int, ...]) -> tuple[list[str], list[str], list[str]]:
    """Indicator, breakdown and key of each row that :func:`record_year` records in a year,
    in order, for clusters ``names``, poles ``poles``, cohorts ``years`` and the calls held
    that year (0-based); the values come from :func:`sim.kernels.bookkeeping.year_values`."""
    ind: list[str] = []
    by_: list[str] = []
    key_: list[str] = []

    def one(name, by="total", key=""):
        ind.append(name)
        by_.append(by)
        key_.append(key)

    def many(name, by, keys):
        for k in keys:
            one(name, by, str(k))

    one("clusters_active")
    one("clusters_created")
    one("clusters_dropped")
    many("clusters_dropped", "cluster", names)
    one("clusters_absorbed")
    one("members_total")
    many("members_total", "cluster", names)
    many("members_total", "actor_type", ACTOR_TYPE_NAMES)
    one("members_enterprises")
    many("members_enterprises", "cluster", names)
    many("members_total", "cohort", years)
    many("members_enterprises", "cohort", years)
    one("members_enterprise_share")
    one("members_rd")
    one("member_joins")
    many("member_joins", "cluster", names)
    one("member_leaves")
    many("member_leaves", "cluster", names)
    one("partnerships_active")
    many("partnerships_active", "cluster", names)
    one("pole_projects_active")
    many("pole_projects_active", "pole", poles)
    one("partnerships_launched")
    many("partnerships_launched", "cluster", names)
    for name in ("partnerships_launched_cumulative", "partnership_members_involved",
                 "partnership_size_mean", "projects_completed", "projects_succeeded",
                 "innovations", "new_enterprises", "new_enterprises_partnership",
                 "new_enterprises_research", "firm_entries", "firm_exits", "firms_alive",
                 "cross_cluster_partnerships_launched", "foreign_partnerships_launched",
                 "intercluster_partnerships_active"):
        one(name)
    many("intercluster_partnerships_active", "cluster", names)
    one("intercluster_partnerships_signed")
    one("animation_subsidy_eur")
    many("animation_subsidy_eur", "cluster", names)
    one("member_fees_eur")
    one("animator_effort_fte")
    many("animator_effort_fte", "cluster", names)
    one("tender_subsidy_eur")
    one("poles_selected")
    one("pole_members")
    many("pole_members", "pole", poles)
    for name in ("pole_proposals_submitted", "pole_proposals_labelled", "pole_projects_funded"):
        one(name)
        many(name, "pole", poles)
        many(name, "call", [k + 1 for k in calls])
    for k in calls:
        one("pole_consortium_size_mean", "call", str(k + 1))
        one("pole_consortium_foreign", "call", str(k + 1))
        one("pole_consortium_partners", "call", str(k + 1))
        many("pole_consortium_partners", "actor_type/call",
             [f"{t}/{k + 1}" for t in ACTOR_TYPE_NAMES])
    many("pole_consortium_partners", "actor_type", ACTOR_TYPE_NAMES)
    one("pole_funding_eur")
    many("pole_funding_eur", "instrument", INSTRUMENTS)
    one("pole_budget_left_eur")
    many("pole_budget_left_eur", "instrument", INSTRUMENTS)
    for group in ("members", "non_members", "all"):
        by, key = ("total", "") if group == "all" else ("group", group)
        for name in ("employment", "value_added", "productivity", "exports", "exporters_share"):
            one(name, by, key)
    return ind, by_, key_


@lru_cache(maxsize=64)
def cohorts(start_year: int, launch_steps: tuple[int, ...]) -> tuple[tuple[int, ...], np.ndarray]:
    """The cohorts of clusters launched at steps ``launch_steps`` of a run that starts in
    ``start_year``: their launch years in order, and the index of each cluster's among them
    (int64, read-only: shared by every call with the same arguments).  Cached: the launch
    steps are the same every year, and ``np.unique`` cost a fifth of :func:`record_year`."""
    years, idx = np.unique(start_year + np.array(launch_steps, np.int64) // 4,
                           return_inverse=True)
    idx.flags.writeable = False
    return tuple(years.tolist()), idx


def record_year(m: ClusterModel) -> None:
    """Record every indicator of the catalogue for the year that ends now.

    The values of all rows come from one kernel pass (:func:`year_values`); their indicator,
    breakdown and key from :func:`year_layout`, the same for every year with the same calls.
    """
    a, cl, c, po, p = m.actors, m.clusters, m.counters, m.poles, m.projects
    n_c = len(cl.names)
    years, cohort_idx = cohorts(m.sc.time.start_year, tuple(cl.launch_step.tolist()))
    calls = np.flatnonzero(c.calls_this_year)
    c.launched_total += int(c.launched.sum())
    counts = np.array([c.clusters_created, c.clusters_dropped, c.clusters_absorbed,
                       c.launched_total, c.completed, c.succeeded, c.innovations,
                       c.new_partnership, c.new_research, c.new_assets, c.entries,
                       c.economy[0], c.cross, c.foreign, c.agreements_signed], np.int64)
    values = year_values(
        a.n, a.alive, a.atype, a.cluster, a.pole, a.employment, a.value_added, a.exporter,
        m.sc.world.export_intensity, cl.status, cl.status_step, m.t, cohort_idx, len(years),
        c.flows, c.launched, c.launched_members, m.agreements.active_counts(n_c, m.t),
        c.animation_subsidy, c.fees, cl.effort, p.active, p.call, p.cluster, p.pole,
        p.members, po.status, calls, c.proposals, c.labelled, c.funded, c.consortium_size,
        c.consortium_foreign, c.consortium_types, c.funding, po.remaining, counts,
        float(c.tender_subsidy),
    )
    layout = year_layout(cl.names, po.names, years, tuple(calls.tolist()))
    m.recorder.add_rows(layout, m.year, values)
