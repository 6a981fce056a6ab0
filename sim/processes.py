"""The firms' processes of one quarter, each a short function around a kernel.

Order inside :meth:`sim.model.ClusterModel.step` is the ODD's schedule.  Functions here
prepare per-cluster arrays (a dozen rows, plain NumPy), call one ``@njit`` kernel over all
actors, and book the results; there is no Python loop over actors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.institutions import KNOW, MAPPING, PARTNERSHIPS, PROMOTION, RECRUITING
from sim.kernels.bookkeeping import commit_partnerships, fabric_census, membership_inputs
from sim.kernels.consortia import cluster_partnering
from sim.kernels.demography import demography_step, spawn_smes
from sim.kernels.economy import economy_step
from sim.kernels.membership import membership_step
from sim.kernels.projects import resolve_projects
from sim.state import (
    ENTRY,
    POLE_ASSETS,
    SPINOFF_PARTNERSHIP,
    SPINOFF_RESEARCH,
)

if TYPE_CHECKING:
    from sim.model import ClusterModel


def membership(m: ClusterModel) -> None:
    """Companies, universities, research and training centres join or leave clusters."""
    a, cl, b = m.actors, m.clusters, m.sc.behaviour.membership
    # members of each cluster, the share of the companies of its sectors already in (pull),
    # members involved in last year's launches per member (activity): the census the animation
    # funding took this quarter (sub-step 3), or a fresh one
    members, pull, activity = cl.members, cl.pull, cl.activity
    if cl.census_step != m.t:
        membership_inputs(a.n, a.alive, a.atype, a.sector, a.cluster, cl.sectors,
                          cl.launched_recent, members, pull, activity, cl.n_sme, cl.n_large)
        cl.census_step = m.t
    membership_step(
        a.n, a.alive, a.atype, a.sector, a.taste, a.cluster, cl.sector_clusters, cl.active,
        cl.effort[:, RECRUITING], pull, activity, cl.fee_sme, cl.fee_large, members,
        m.sector_coop, m.sector_ki, b.awareness_base, b.awareness_recruit, b.benefit_base,
        b.benefit_knowledge, b.benefit_pull, b.benefit_activity, b.benefit_taste,
        b.cost_weight, b.noise,
        b.leave_rate, b.rd_join_rate, m.streams["membership"], m.counters.flows,
    )
    cl.census_step = -1  # members joined and left: the census is out of date


def partnering(m: ClusterModel) -> None:
    """Members search partners and launch partnerships (the hot path, one compiled call)."""
    a, cl, pp = m.actors, m.clusters, m.sc.behaviour.partnering
    n_c = len(cl.names)
    effort = cl.effort
    agreements = m.agreements.active_counts(n_c, m.t)
    rows = 0
    while True:
        buf = m.buffers(rows, pp.max_consortium)
        k = cluster_partnering(
            a.n, m.partnering_params, cl.active, effort[:, PARTNERSHIPS], effort[:, KNOW],
            effort[:, MAPPING], agreements, m.sector_coop, a.alive, a.atype, a.sector,
            a.province, a.load, a.capacity, a.knowledge, a.stage, a.cluster, a.tie_partner,
            a.tie_trust, a.last_project, m.t, pp.candidates, pp.max_refusals,
            pp.max_consortium, m.streams["partnering"], *buf,
        )
        if k >= 0:
            break
        rows = -k  # more member companies than buffer rows: grow them, call again
    if k == 0:
        cl.launched_recent[:, m.t % 4] = 0
        return
    p, bp, c = m.projects, m.sc.behaviour.projects, m.counters
    p.reserve(k)
    n_cross, n_foreign = commit_partnerships(
        k, m.t, bp.duration_min, bp.duration_max, m.streams["durations"], *buf, p.free,
        p.n_free, p.active, p.start, p.end, p.cluster, p.pole, p.call, p.size, p.members,
        p.match, p.has_rd, p.has_training, p.foreign, p.cross, p.fund_rd, p.fund_training,
        p.fund_investment, c.launched, c.launched_members, cl.launched_recent, m.t % 4,
    )
    p.n_free -= k
    c.cross += n_cross
    c.foreign += n_foreign


def projects(m: ClusterModel) -> None:
    """Projects ending this quarter succeed or fail; effects, ties and spin-offs (one compiled
    call resolves them, tallies them and frees their slots)."""
    a, p, bp = m.actors, m.projects, m.sc.behaviour.projects
    poles = m.sc.policy.poles
    bench = m.clusters.effort[:, 4]
    bufs = m.outcome_buffers
    if bufs is None or bufs[0].shape[0] < p.cap:  # outputs of resolve_projects, reused
        cap = p.cap
        bufs = m.outcome_buffers = (np.empty(cap, np.int32), np.empty(cap, np.bool_),
                                    np.empty(cap, np.bool_), np.empty(cap, np.int64),
                                    np.empty(cap, np.int32), np.empty(cap, np.int16))
    k, n_success, n_innov, n_spin = resolve_projects(
        m.t, p.active, p.end, p.members, p.size, p.match, p.has_rd, p.foreign, p.cluster,
        p.fund_rd, p.fund_training, p.fund_investment, p.free, p.n_free,
        a.alive, a.atype, a.load, a.value_added, a.exporter, a.knowledge, a.capability,
        a.innovations, a.tie_partner, a.tie_trust, bench,
        bp.success_base, bp.success_match, bp.success_research, bp.success_benchmark,
        bp.success_funded, bp.productivity_gain, poles.training_gain, poles.investment_gain,
        bp.innovation_prob, bp.export_gain, bp.learning, bp.spinoff_prob,
        bp.spinoff_prob_research, bp.trust_gain, bp.trust_loss, m.streams["projects"], *bufs,
    )
    if k == 0:
        return
    p.n_free += k
    c = m.counters
    c.completed += k
    c.succeeded += n_success
    c.innovations += n_innov
    if n_spin:
        leads = bufs[4][:n_spin]
        new = spawn_companies(m, a.sector[leads], SPINOFF_PARTNERSHIP, like=leads)
        # a partnership spin-off joins its parent's cluster when that cluster is active
        parent = bufs[5][:n_spin]
        ok = (parent >= 0) & (m.clusters.active[np.maximum(parent, 0)])
        a.cluster[new[ok]] = parent[ok]
        c.new_partnership += len(new)


def economy(m: ClusterModel) -> None:
    """Value added, employment, exports and exits of companies; trust decay (and, in the same
    pass, the census of the fabric that the demography reads next)."""
    a, w = m.actors, m.sc.world
    if m.census_research.shape[0] < a.n:
        m.census_research = np.empty(a.cap, np.int64)
    k = economy_step(
        a.n, a.alive, a.atype, a.sector, a.cluster, a.pole, a.employment, a.value_added,
        a.exporter, m.sector_growth, w.va_noise, w.employment_elasticity, w.exit_rate,
        w.export_entry_rate, w.export_exit_rate, m.clusters.effort[:, PROMOTION],
        m.sc.policy.international.promotion_export_effect, m.poles.export_spend,
        m.sc.policy.poles.export_spend_effect, a.tie_trust, m.sc.behaviour.projects.trust_decay,
        m.streams["economy"], m.counters.economy, m.census_per_sector, m.census_research,
    )
    m.census = (m.t, m.census_per_sector, m.census_research[:k])


def demography(m: ClusterModel) -> None:
    """Entry of new firms and academic spin-offs from universities and research centres (one
    compiled call: :func:`sim.kernels.demography.demography_step`)."""
    a, w, t = m.actors, m.sc.world, m.firm_tables
    # living companies per sector; living universities and research centres (entrants are
    # companies, so the latter are the same after entry)
    if m.census[0] == m.t:  # taken by this quarter's economy step, right before
        _, per_sector, research = m.census
    else:
        per_sector, research = fabric_census(a.n, a.alive, a.atype, a.sector, len(w.sectors))
    n0 = a.n
    while True:
        entries, spinoffs = demography_step(
            n0, a.cap, per_sector, research, w.entry_rate,
            m.sc.behaviour.projects.academic_spinoff_rate, m.streams["entry"],
            m.streams["research"], m.firm_params, m.centroids, t.province_cdf, t.export_share,
            t.capacity, m.t, ENTRY, SPINOFF_RESEARCH, a.alive, a.atype, a.sector, a.province,
            a.employment, a.value_added, a.exporter, a.capability, a.taste, a.knowledge,
            a.stage, a.capacity, a.born, a.origin,
        )
        if entries >= 0:
            break
        a._grow(-entries)  # more new firms than free rows: grow, draw the same again
    if entries or spinoffs:
        a.n = n0 + entries + spinoffs
        m.counters.entries += entries
        m.counters.new_research += spinoffs
        m.on_new_actors(np.arange(n0, a.n))


SPAWN_STREAM = {SPINOFF_PARTNERSHIP: "spinoff", POLE_ASSETS: "assets_firms"}


def spawn_companies(m: ClusterModel, sector: np.ndarray, origin: int,
                    like: np.ndarray | None = None) -> np.ndarray:
    """Create new SMEs of the given sectors (partnership spin-offs and pole-assets firms); a
    spin-off copies its parent's (``like``) technology profile and province.

    The attributes are drawn by :func:`sim.kernels.demography.spawn_smes` from the origin's
    own kernel stream, so that a variant which changes, say, the number of pole-assets firms
    does not shift the draws of the partnership spin-offs.
    """
    a, t = m.actors, m.firm_tables
    sector = np.asarray(sector, np.int64)
    k = len(sector)
    if a.n + k > a.cap:
        a._grow(a.n + k)
    n0 = a.n
    has_like = like is not None
    spawn_smes(
        m.streams[SPAWN_STREAM[origin]], n0, sector,
        np.asarray(like, np.int64) if has_like else _NO_ROWS, has_like, m.firm_params,
        m.centroids, t.province_cdf, t.export_share, t.capacity, m.t, origin, a.alive, a.atype,
        a.sector, a.province, a.employment, a.value_added, a.exporter, a.capability, a.taste,
        a.knowledge, a.stage, a.capacity, a.born, a.origin,
    )
    a.n = n0 + k
    idx = np.arange(n0, n0 + k)
    m.on_new_actors(idx)
    return idx


_NO_ROWS = np.zeros(0, np.int64)
