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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.institutions import ACTIVE, DROPPED, SELECTED
from sim.kernels.bookkeeping import cluster_counts, fabric_totals, involved_actors
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


class Recorder:
    """Collects the tidy yearly rows of one run (kept column by column)."""

    COLUMNS = ("indicator", "year", "by", "key", "value")

    def __init__(self) -> None:
        self.columns: tuple[list, ...] = ([], [], [], [], [])

    def add(self, name: str, year: int, value: float, by: str = "total", key: str = "") -> None:
        """Record one value."""
        ind, yr, by_, key_, val = self.columns
        ind.append(name)
        yr.append(year)
        by_.append(by)
        key_.append(key)
        val.append(float(value))

    def add_many(self, name: str, year: int, by: str, keys, values) -> None:
        """Record one value per key."""
        keys = list(map(str, keys))
        values = np.asarray(values, dtype=np.float64).tolist()
        if len(keys) != len(values):
            raise ValueError(f"{name}: {len(keys)} keys for {len(values)} values")
        k = len(keys)
        ind, yr, by_, key_, val = self.columns
        ind.extend([name] * k)
        yr.extend([year] * k)
        by_.extend([by] * k)
        key_.extend(keys)
        val.extend(values)

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with columns indicator, year, by, key, value."""
        ind, yr, by, key, val = self.columns
        if not ind:
            return pd.DataFrame([], columns=list(self.COLUMNS))
        return pd.DataFrame({"indicator": ind, "year": np.array(yr, np.int64), "by": by,
                             "key": key, "value": np.array(val, np.float64)})


def record_year(m: ClusterModel) -> None:
    """Record every indicator of the catalogue for the year that ends now."""
    r, y, a, cl, c, po = m.recorder, m.year, m.actors, m.clusters, m.counters, m.poles
    n = a.n
    alive = a.alive[:n]
    names = cl.names
    n_c = len(names)
    by_cluster_type = cluster_counts(n, a.atype, a.cluster, n_c)
    # rows members, non-members, all companies; columns employment, VA, exports, exporters, firms
    fabric = fabric_totals(n, a.alive, a.atype, a.cluster, a.employment, a.value_added,
                           a.exporter, m.sc.world.export_intensity)

    r.add("clusters_active", y, int((cl.status == ACTIVE).sum()))
    r.add("clusters_created", y, c.clusters_created)
    r.add("clusters_dropped", y, c.clusters_dropped)
    dropped_now = (cl.status == DROPPED) & (cl.status_step > m.t - 4)
    r.add_many("clusters_dropped", y, "cluster", names, dropped_now.astype(int))
    r.add("clusters_absorbed", y, c.clusters_absorbed)
    by_cluster = by_cluster_type.sum(axis=1)
    by_type = by_cluster_type.sum(axis=0)
    ent = int(by_type[:2].sum())
    total = int(by_cluster.sum())
    r.add("members_total", y, total)
    r.add_many("members_total", y, "cluster", names, by_cluster)
    r.add_many("members_total", y, "actor_type", ACTOR_TYPE_NAMES, by_type)
    r.add("members_enterprises", y, ent)
    ent_by_cluster = by_cluster_type[:, :2].sum(axis=1)
    r.add_many("members_enterprises", y, "cluster", names, ent_by_cluster)
    cohort = m.sc.time.start_year + cl.launch_step // 4
    years = np.unique(cohort)
    r.add_many("members_total", y, "cohort", years,
               [by_cluster[cohort == k].sum() for k in years])
    r.add_many("members_enterprises", y, "cohort", years,
               [ent_by_cluster[cohort == k].sum() for k in years])
    r.add("members_enterprise_share", y, ent / total if total else 0.0)
    r.add("members_rd", y, int(by_type[2:4].sum()))
    r.add("member_joins", y, int(c.flows[:, 0].sum()))
    r.add_many("member_joins", y, "cluster", names, c.flows[:, 0])
    r.add("member_leaves", y, int(c.flows[:, 1].sum()))
    r.add_many("member_leaves", y, "cluster", names, c.flows[:, 1])

    p = m.projects
    act = p.active & (p.call < 0)
    r.add("partnerships_active", y, int(act.sum()))
    pc = p.cluster[act]
    r.add_many("partnerships_active", y, "cluster", names, np.bincount(pc[pc >= 0], minlength=n_c))
    pole_act = p.active & (p.call >= 0)
    r.add("pole_projects_active", y, int(pole_act.sum()))
    r.add_many("pole_projects_active", y, "pole", po.names,
               np.bincount(p.pole[pole_act], minlength=len(po.names)))
    r.add("partnerships_launched", y, int(c.launched.sum()))
    r.add_many("partnerships_launched", y, "cluster", names, c.launched)
    c.launched_total += int(c.launched.sum())
    r.add("partnerships_launched_cumulative", y, c.launched_total)
    r.add("partnership_members_involved", y,
          involved_actors(p.active, p.call, p.members, a.alive, n))
    r.add("partnership_size_mean", y,
          c.launched_members.sum() / c.launched.sum() if c.launched.sum() else 0.0)
    r.add("projects_completed", y, c.completed)
    r.add("projects_succeeded", y, c.succeeded)
    r.add("innovations", y, c.innovations)
    r.add("new_enterprises", y, c.new_partnership + c.new_research + c.new_assets)
    r.add("new_enterprises_partnership", y, c.new_partnership)
    r.add("new_enterprises_research", y, c.new_research)
    r.add("firm_entries", y, c.entries)
    r.add("firm_exits", y, int(c.economy[0]))
    r.add("firms_alive", y, int(fabric[2, 4]))
    r.add("cross_cluster_partnerships_launched", y, c.cross)
    r.add("foreign_partnerships_launched", y, c.foreign)
    agr = m.agreements.active_counts(n_c, m.t)
    r.add("intercluster_partnerships_active", y, int(agr.sum()))
    r.add_many("intercluster_partnerships_active", y, "cluster", names, agr)
    r.add("intercluster_partnerships_signed", y, c.agreements_signed)
    r.add("animation_subsidy_eur", y, c.animation_subsidy.sum())
    r.add_many("animation_subsidy_eur", y, "cluster", names, c.animation_subsidy)
    r.add("member_fees_eur", y, c.fees.sum())
    fte = cl.effort.sum(axis=1)
    r.add("animator_effort_fte", y, fte.sum())
    r.add_many("animator_effort_fte", y, "cluster", names, fte)
    r.add("tender_subsidy_eur", y, c.tender_subsidy)

    selected = po.status == SELECTED
    r.add("poles_selected", y, int(selected.sum()))
    pole_of = a.pole[:n][alive]
    pm = np.bincount(pole_of[pole_of >= 0], minlength=len(po.names))
    r.add("pole_members", y, int(pm.sum()))
    r.add_many("pole_members", y, "pole", po.names, pm)
    calls = np.flatnonzero(c.calls_this_year)
    for name, arr in (("pole_proposals_submitted", c.proposals),
                      ("pole_proposals_labelled", c.labelled), ("pole_projects_funded", c.funded)):
        r.add(name, y, int(arr[:, calls].sum()))
        r.add_many(name, y, "pole", po.names, arr[:, calls].sum(axis=1))
        r.add_many(name, y, "call", calls + 1, arr[:, calls].sum(axis=0))
    for k in calls:
        lab = c.labelled[:, k].sum()
        r.add("pole_consortium_size_mean", y, c.consortium_size[k] / lab if lab else 0.0,
              "call", str(k + 1))
        r.add("pole_consortium_foreign", y, c.consortium_foreign[k], "call", str(k + 1))
        r.add("pole_consortium_partners", y, c.consortium_types[k].sum(), "call", str(k + 1))
        r.add_many("pole_consortium_partners", y, "actor_type/call",
                   [f"{t}/{k + 1}" for t in ACTOR_TYPE_NAMES], c.consortium_types[k])
    r.add_many("pole_consortium_partners", y, "actor_type", ACTOR_TYPE_NAMES,
               c.consortium_types[calls].sum(axis=0))
    r.add("pole_funding_eur", y, c.funding.sum())
    r.add_many("pole_funding_eur", y, "instrument", INSTRUMENTS, c.funding)
    r.add("pole_budget_left_eur", y, po.remaining.sum())
    r.add_many("pole_budget_left_eur", y, "instrument", INSTRUMENTS, po.remaining)

    for group, (e, v, exp_, exporters, firms) in zip(("members", "non_members", "all"),
                                                     fabric.tolist(), strict=True):
        by, key = ("total", "") if group == "all" else ("group", group)
        r.add("employment", y, e, by, key)
        r.add("value_added", y, v, by, key)
        r.add("productivity", y, v / e if e else 0.0, by, key)
        r.add("exports", y, exp_, by, key)
        r.add("exporters_share", y, exporters / firms if firms else 0.0, by, key)
