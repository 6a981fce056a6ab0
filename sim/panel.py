"""The model-side writer of the firm panel (issue 15, section 1): one row per actor and year,
with the columns of :data:`sim.evaluation.panel.PANEL_COLUMNS`, and the run's project table
(:data:`sim.evaluation.truth.PROJECT_COLUMNS`, :data:`~sim.evaluation.truth.MEMBER_COLUMNS`).

Opt-in (``ClusterModel(..., panel=True)``, scenario ``run.panel = true`` or ``clustersim run
--panel``): a run without it allocates nothing of this module and calls none of it.  The
writer only *reads* the model's state, after each quarter's step (``ClusterModel.step``'s
last line), so a run's results are the same with the panel on or off.  It keeps, in its own
struct-of-arrays table (:class:`PanelState`, one row per actor row, grown with the actors),
what the state does not hold: the year each actor joined its current cluster and pole, the
year's grants by instrument, the year's completed projects and the innovation count at the
start of the year.  Every pass is NumPy or a compiled kernel over the arrays; nothing runs
Python per actor.

Attribution of the public money to firm rows (the panel's ``grant_*_eur``):

* R&D, training and investment grants of a pole project: the project's grant, split evenly
  over its local members, in the quarter it starts (the year it is funded);
* export promotion (AWEX): each selected pole's spending of the quarter
  (``Poles.export_spend``), split evenly over the pole's living participants at the end of the
  quarter;
* assets and holdings: each pole's share of the quarter's spending (its share of export
  promotion, the programmes' common key) goes to the pole-assets companies that the programme
  created for that pole in the quarter; a pole's share that created none waits for its next
  ones (holdings invest in the firms they create); what waits at the end is
  ``unattributed_eur["assets"]``;
* the tender subsidy of an agreement signed by a cluster, split evenly over the cluster's
  living members at the end of the quarter.

A dead actor's row has every flow at 0 (the panel's convention), so money paid during the
year to an actor that exits before 31 December is in the run's ledger but not in the panel:
:meth:`PanelWriter.spend` reports both.  The actor id is the actor's row in the state: rows
are allocated in order and never reused, so the initial population has the same ids in every
variant of a seed, and an entrant's id counts the actors created before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numba import njit

from sim.state.codes import ASSETS, INVESTMENT, LARGE, POLE_ASSETS, SELECTED, SME, TRAINING
from sim.state.columns import Column, Table

if TYPE_CHECKING:
    from sim.model import ClusterModel

# instruments in the order of sim.evaluation.panel.GRANT_INSTRUMENTS
G_RD, G_TRAINING, G_INVESTMENT, G_EXPORT, G_ASSETS, G_TENDER = range(6)
N_GRANTS = 6

PANEL_STATE_COLUMNS = (
    Column("cluster_seen", np.int16, -1, doc="cluster at the end of the last quarter"),
    Column("cluster_since", np.int16, -1, doc="year it joined its current cluster (-1: none)"),
    Column("pole_seen", np.int16, -1, doc="pole at the end of the last quarter"),
    Column("pole_since", np.int16, -1, doc="year it joined its current pole (-1: none)"),
    Column("innovations_start", np.int32, doc="cumulative innovations on 1 January"),
    Column("rd_private_start", np.float64, doc="cumulative own R&D money on 1 January [EUR]"),
    Column("completed", np.int16, width="kinds", doc="projects ended this year: cluster "
                                                      "partnerships, pole projects"),
    Column("grants", np.float64, width="grants", doc="public money received this year by "
                                                     "instrument [EUR]"),
)


class PanelState(Table):
    """The panel writer's per-actor columns (:data:`PANEL_STATE_COLUMNS`), grown with the
    actors."""

    COLUMNS = PANEL_STATE_COLUMNS

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity, {"kinds": 2, "grants": N_GRANTS})

    def ensure(self, rows: int) -> None:
        """Room for ``rows`` rows (doubling)."""
        if rows > self.cap:
            self.reallocate(max(rows, 2 * self.cap))


@njit(cache=True)
def track_membership(cluster, pole, alive, n, year, c_seen, c_since, p_seen, p_since):
    """Update the joining years of rows ``< n`` from the memberships at the end of a quarter:
    a changed cluster (pole) starts a new spell in ``year``; none gives -1."""
    for i in range(n):
        c = cluster[i] if alive[i] else -1
        if c != c_seen[i]:
            c_since[i] = year if c >= 0 else -1
            c_seen[i] = c
        p = pole[i] if alive[i] else -1
        if p != p_seen[i]:
            p_since[i] = year if p >= 0 else -1
            p_seen[i] = p


@njit(cache=True)
def new_projects(active, start, step, slot_pid, next_pid, members, size, slot_members,
                 call, fund, grants, out):
    """Register the projects started at ``step`` (active slots with ``start == step``): give
    each the next project id (``slot_pid``), copy its members (``slot_members``), and credit
    each local member with an even share of a pole project's grants (``fund``: R&D, training,
    investment per slot).  ``out[k]`` = slot of the k-th new project; returns k."""
    k = 0
    width = members.shape[1]
    for q in range(active.shape[0]):
        if not active[q] or start[q] != step:
            continue
        slot_pid[q] = next_pid + k
        s = size[q]
        for m in range(width):
            slot_members[q, m] = members[q, m]
        if call[q] >= 0 and s > 0:
            for g in range(3):
                share = fund[g][q] / s
                if share != 0.0:
                    for m in range(s):
                        grants[members[q, m], g] += share
        out[k] = q
        k += 1
    return k


@njit(cache=True)
def end_projects(slots, slot_pid, slot_members, is_pole, completed, pids):
    """Book the projects resolved this quarter (their ``slots``): one completed project of its
    kind for each member, the project's id in ``pids``; the slots forget them."""
    for k in range(slots.shape[0]):
        q = slots[k]
        pids[k] = slot_pid[q]
        kind = 1 if is_pole[k] else 0
        for m in range(slot_members.shape[1]):
            j = slot_members[q, m]
            if j >= 0:
                completed[j, kind] += 1
            slot_members[q, m] = -1
        slot_pid[q] = -1


@njit(cache=True)
def spread_over(group_of, alive, n, amount, grants, g):
    """Add ``amount[c]`` split evenly over the living rows ``< n`` with ``group_of == c`` to
    ``grants[:, g]``; returns what found nobody (per group)."""
    count = np.zeros(amount.shape[0], np.int64)
    for i in range(n):
        c = group_of[i]
        if c >= 0 and alive[i]:
            count[c] += 1
    left = amount.copy()
    for i in range(n):
        c = group_of[i]
        if c >= 0 and alive[i] and amount[c] != 0.0:
            grants[i, g] += amount[c] / count[c]
            left[c] = 0.0
    return left


@njit(cache=True)
def projects_now(active, call, members, alive, n):
    """Projects under way per living actor: (rows ``< n``, 2) int16, cluster partnerships then
    pole projects."""
    out = np.zeros((n, 2), np.int16)
    for q in range(active.shape[0]):
        if not active[q]:
            continue
        kind = 1 if call[q] >= 0 else 0
        for m in range(members.shape[1]):
            j = members[q, m]
            if j >= 0 and j < n and alive[j]:
                out[j, kind] += 1
    return out


class PanelWriter:
    """Collects the panel of a run, quarter by quarter (:meth:`quarter`), one year at a time.

    Parameters
    ----------
    m : ClusterModel
        The model, at its start.
    """

    def __init__(self, m: ClusterModel) -> None:
        self.start_year = m.sc.time.start_year
        self.state = PanelState(max(64, m.actors.cap))
        self.slot_pid = np.full(m.projects.cap, -1, np.int64)
        self.slot_members = np.full(m.projects.members.shape, -1, np.int32)
        self.slot_kind = np.zeros(m.projects.cap, np.bool_)  # a pole project's slot
        self.next_pid = 0
        self.years: list[dict[str, np.ndarray]] = []
        self.projects: list[dict[str, np.ndarray]] = []  # chunks, one per quarter with news
        self.ended: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.members: list[tuple[np.ndarray, np.ndarray]] = []
        self.n_agreements = 0
        self.pending_assets = np.zeros(len(m.poles.names))
        self.assets_left = float(m.poles.remaining[ASSETS])
        # the ledger's training and investment funding seen so far this year (its flows
        # restart each year): what exceeds the projects' grants are the residual programmes
        self.programmes_seen = np.zeros(2)
        self.completed_seen = 0.0
        self.tender_seen = 0.0
        self.ledger_grants = np.zeros(N_GRANTS)  # what the ledger says was paid, for spend()
        self.animation = 0.0  # the animation subsidy paid to the cluster organisations [EUR]

    # ------------------------------------------------------------------ each quarter
    def quarter(self, m: ClusterModel) -> None:
        """Read the quarter that has just run (called at the end of ``ClusterModel.step``)."""
        a, p, po, led = m.actors, m.projects, m.poles, m.ledger
        st = self.state
        st.ensure(a.n)
        if self.slot_pid.shape[0] < p.cap:  # the projects' table grew
            grow = p.cap - self.slot_pid.shape[0]
            self.slot_pid = np.concatenate([self.slot_pid, np.full(grow, -1, np.int64)])
            self.slot_members = np.concatenate(
                [self.slot_members, np.full((grow, self.slot_members.shape[1]), -1, np.int32)])
            self.slot_kind = np.concatenate([self.slot_kind, np.zeros(grow, np.bool_)])
        t, year, n = m.t, m.year, a.n
        if m.quarter == 1:
            self.completed_seen = self.tender_seen = 0.0  # the ledger's flows restarted
            self.programmes_seen[:] = 0.0
        granted = self.ledger_grants[[G_TRAINING, G_INVESTMENT]].copy()
        # projects resolved this quarter: their number is the ledger's `completed` increase,
        # their outcomes the rows the projects process left in its scratch buffer
        done = round(float(led.completed) - self.completed_seen)
        self.completed_seen = float(led.completed)
        if done:
            out = m.scratch["outcomes"][:done]
            slots = out["slot"].astype(np.int64)
            is_pole = self.slot_kind[slots]
            pids = np.empty(done, np.int64)
            end_projects(slots, self.slot_pid, self.slot_members, is_pole, st.completed, pids)
            self.ended.append((pids, np.full(done, year, np.int16), out["success"].copy(),
                               out["innovations"].astype(np.int32)))
        # projects started this quarter (after the resolutions: a slot freed this quarter is
        # taken again at the earliest next quarter)
        buf = np.empty(p.cap, np.int64)
        k = new_projects(p.active, p.start, t, self.slot_pid, self.next_pid, p.members, p.size,
                         self.slot_members, p.call, (p.fund_rd, p.fund_training,
                                                     p.fund_investment), st.grants, buf)
        if k:
            slots = buf[:k]
            self._register(m, slots, year)
        # residual training and investment programmes (sim.processes.programmes): the ledger's
        # funding of the quarter beyond the grants of the projects registered above, spread
        # evenly over the living companies of the selected poles, as the programmes spend it
        funding = np.array([led.pole_funding[TRAINING], led.pole_funding[INVESTMENT]], float)
        residual = (funding - self.programmes_seen) \
            - (self.ledger_grants[[G_TRAINING, G_INVESTMENT]] - granted)
        self.programmes_seen = funding
        if (residual > 1e-6).any():
            selected = po.status == SELECTED
            pole_n = a.pole[:n]
            reached = (a.alive[:n] & ((a.atype[:n] == SME) | (a.atype[:n] == LARGE))
                       & (pole_n >= 0) & selected[np.maximum(pole_n, 0)])
            group = np.where(reached, 0, -1).astype(np.int16)
            for g, amount in ((G_TRAINING, residual[0]), (G_INVESTMENT, residual[1])):
                if amount > 1e-6:
                    self.ledger_grants[g] += amount
                    spread_over(group, a.alive, n, np.array([amount]), st.grants, g)
        # export promotion and assets and holdings
        spend = po.export_spend * 1e6
        total_export = float(spend.sum())
        if total_export > 0:
            self.ledger_grants[G_EXPORT] += total_export
            spread_over(a.pole, a.alive, n, spend, st.grants, G_EXPORT)
        assets = self.assets_left - float(po.remaining[ASSETS])
        self.assets_left = float(po.remaining[ASSETS])
        if assets > 0:
            self.ledger_grants[G_ASSETS] += assets
            sel = (po.status == SELECTED).astype(float)
            share = spend / total_export if total_export > 0 else sel / max(sel.sum(), 1.0)
            self.pending_assets += share * assets
            born_now = np.zeros(n, np.int16) - 1
            new = (a.origin[:n] == POLE_ASSETS) & (a.born[:n] == t)
            born_now[new] = a.pole[:n][new]
            self.pending_assets = spread_over(born_now, a.alive, n, self.pending_assets,
                                              st.grants, G_ASSETS)
        # tender subsidy of the agreements signed this quarter
        paid = float(led.tender_subsidy) - self.tender_seen
        self.tender_seen = float(led.tender_subsidy)
        signed = m.agreements.cluster[self.n_agreements:]
        self.n_agreements = len(m.agreements.cluster)
        if paid > 0 and signed:
            self.ledger_grants[G_TENDER] += paid
            per = np.bincount(np.asarray(signed, np.int64), minlength=len(m.clusters.names))
            amount = per * (paid / len(signed))
            spread_over(a.cluster, a.alive, n, amount, st.grants, G_TENDER)
        track_membership(a.cluster, a.pole, a.alive, n, year, st.cluster_seen,
                         st.cluster_since, st.pole_seen, st.pole_since)
        if m.quarter == 4:
            self._year_end(m)

    def _register(self, m: ClusterModel, slots: np.ndarray, year: int) -> None:
        p = m.projects
        k = len(slots)
        self.slot_kind[slots] = p.call[slots] >= 0
        pids = np.arange(self.next_pid, self.next_pid + k, dtype=np.int64)
        self.next_pid += k
        pole = p.call[slots] >= 0
        fund = np.stack([p.fund_rd[slots], p.fund_training[slots], p.fund_investment[slots]])
        self.ledger_grants[[G_RD, G_TRAINING, G_INVESTMENT]] += fund.sum(axis=1)
        self.projects.append({
            "project_id": pids, "pole": pole, "start_year": np.full(k, year, np.int16),
            # a cluster partnership is supported when brokered in a cluster (its lead's);
            # a pole project always is (only funded proposals start)
            "supported": pole | (p.cluster[slots] >= 0),
            "grant_rd_eur": fund[0], "grant_training_eur": fund[1],
            "grant_investment_eur": fund[2]})
        mem = p.members[slots]
        ok = mem >= 0
        self.members.append((np.repeat(pids, ok.sum(axis=1)), mem[ok].astype(np.int64)))

    def _year_end(self, m: ClusterModel) -> None:
        a, p, st = m.actors, m.projects, self.state
        n = a.n
        alive = a.alive[:n].copy()
        live = alive.astype(np.int8)
        born = a.born[:n]
        company = (a.atype[:n] == SME) | (a.atype[:n] == LARGE)
        under_way = projects_now(p.active, p.call, p.members, a.alive, n)
        exporter = a.exporter[:n] & alive
        va = np.where(alive, a.value_added[:n], 0.0)
        exports = np.where(exporter, va * a.export_share[:n], 0.0)  # as the indicators
        cluster = np.where(alive, a.cluster[:n], -1).astype(np.int16)
        pole = np.where(alive, a.pole[:n], -1).astype(np.int16)
        year = np.full(n, m.year, np.int16)
        self.years.append({
            "year": year,
            "actor_id": np.arange(n, dtype=np.int64),
            "actor_type": a.atype[:n].copy(),
            "sector": a.sector[:n].astype(np.int16),
            "province": a.province[:n].copy(),
            "origin": a.origin[:n].copy(),
            "birth_year": np.where(born < 0, self.start_year,
                                   self.start_year + born // 4).astype(np.int16),
            "alive": alive,
            "cluster": cluster,
            "cluster_since": np.where(cluster >= 0, st.cluster_since[:n], -1).astype(np.int16),
            "pole": pole,
            "pole_since": np.where(pole >= 0, st.pole_since[:n], -1).astype(np.int16),
            "projects_active_cluster": under_way[:, 0],
            "projects_active_pole": under_way[:, 1],
            "projects_completed_cluster": st.completed[:n, 0] * live,
            "projects_completed_pole": st.completed[:n, 1] * live,
            **{f"grant_{k}_eur": st.grants[:n, g] * live for g, k in enumerate(
                ("rd", "training", "investment", "export", "assets", "tender"))},
            "innovations": ((a.innovations[:n] - st.innovations_start[:n]) * live).astype(
                np.int32),
            "private_rd_eur": (a.rd_private[:n] - st.rd_private_start[:n]) * live,
            "employment": np.where(alive & company, a.employment[:n], 0.0),
            "value_added": va,
            "exports": exports,
            "exporter": exporter,
        })
        self.animation += float(m.ledger.animation_subsidy.sum())
        st.grants[:] = 0.0
        st.completed[:] = 0
        st.innovations_start[:n] = a.innovations[:n]
        st.rd_private_start[:n] = a.rd_private[:n]

    # ------------------------------------------------------------------ outputs
    def frame(self) -> pd.DataFrame:
        """The panel so far (validated by :func:`sim.evaluation.panel.panel_from_arrays`)."""
        from sim.evaluation.panel import panel_from_arrays

        if not self.years:
            raise ValueError("the panel is empty: no year has ended yet")
        cols = {k: np.concatenate([y[k] for y in self.years]) for k in self.years[0]}
        years = cols.pop("year")
        return panel_from_arrays(years, cols)

    def project_tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The run's projects (:data:`sim.evaluation.truth.PROJECT_COLUMNS`) and their local
        members (:data:`~sim.evaluation.truth.MEMBER_COLUMNS`)."""
        n = self.next_pid
        cols = {k: np.concatenate([c[k] for c in self.projects]) if self.projects else
                np.zeros(0) for k in ("project_id", "pole", "start_year", "supported",
                                      "grant_rd_eur", "grant_training_eur",
                                      "grant_investment_eur")}
        end = np.full(n, -1, np.int16)
        ok = np.zeros(n, np.bool_)
        innov = np.zeros(n, np.int32)
        for pids, yr, success, inn in self.ended:
            keep = pids >= 0
            end[pids[keep]] = yr[keep]
            ok[pids[keep]] = success[keep]
            innov[pids[keep]] = inn[keep]
        projects = pd.DataFrame({
            "project_id": cols["project_id"].astype(np.int64),
            "kind": pd.Categorical.from_codes(cols["pole"].astype(np.int8),
                                              categories=["cluster", "pole"]),
            "start_year": cols["start_year"].astype(np.int16),
            "end_year": end, "supported": cols["supported"].astype(bool),
            "succeeded": ok, "innovations": innov,
            "grant_rd_eur": cols["grant_rd_eur"].astype(float),
            "grant_training_eur": cols["grant_training_eur"].astype(float),
            "grant_investment_eur": cols["grant_investment_eur"].astype(float),
            "grant_export_eur": np.zeros(n), "grant_assets_eur": np.zeros(n),
            "grant_tender_eur": np.zeros(n)})
        if self.members:
            pid = np.concatenate([x for x, _ in self.members])
            aid = np.concatenate([y for _, y in self.members])
        else:
            pid = aid = np.zeros(0, np.int64)
        return projects, pd.DataFrame({"project_id": pid, "actor_id": aid})

    def spend(self) -> dict[str, float]:
        """Public money of the run by instrument (EUR): what the programmes paid
        (``paid_<instrument>``), and what no firm row of the panel holds
        (``unattributed_<instrument>``: assets waiting for a firm, money of an actor that
        exited during the year, a pole or cluster without a living member), and the animation
        subsidy of the cluster organisations (``paid_animation``)."""
        from sim.evaluation.panel import GRANT_COLUMNS, GRANT_INSTRUMENTS

        out = {}
        panel_sum = {c: 0.0 for c in GRANT_COLUMNS}
        for y in self.years:
            for c in GRANT_COLUMNS:
                panel_sum[c] += float(y[c].sum())
        for g, (k, c) in enumerate(zip(GRANT_INSTRUMENTS, GRANT_COLUMNS, strict=True)):
            out[f"paid_{k}"] = float(self.ledger_grants[g])
            out[f"unattributed_{k}"] = max(float(self.ledger_grants[g]) - panel_sum[c], 0.0)
        out["paid_animation"] = self.animation  # pays the cluster organisations, no firm row
        return out

    def files(self) -> dict[str, bytes]:
        """The panel, the project table, its members and the spending as file contents
        (``panel.parquet``, ``projects.parquet``, ``project_members.parquet``,
        ``spend.json``)."""
        import io
        import json

        out = {}
        projects, members = self.project_tables()
        for name, df in (("panel.parquet", self.frame()), ("projects.parquet", projects),
                         ("project_members.parquet", members)):
            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            out[name] = buf.getvalue()
        out["spend.json"] = (json.dumps(self.spend(), indent=1, sort_keys=True) + "\n").encode()
        return out

    def write(self, folder) -> list:
        """Write :meth:`files` into ``folder``; return the paths."""
        from pathlib import Path

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, data in self.files().items():
            (folder / name).write_bytes(data)
            paths.append(folder / name)
        return paths


def read_run(folder) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Read what :meth:`PanelWriter.write` wrote: (panel, projects, members, spend)."""
    import json
    from pathlib import Path

    folder = Path(folder)
    return (pd.read_parquet(folder / "panel.parquet"),
            pd.read_parquet(folder / "projects.parquet"),
            pd.read_parquet(folder / "project_members.parquet"),
            json.loads((folder / "spend.json").read_text()))
