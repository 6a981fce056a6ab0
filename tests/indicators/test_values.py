"""Every indicator, by value: each row of a run's yearly table against a plain recount from the
model's state, taken by watching the sub-steps of the schedule (snapshots before and after
each), not from the ledger or the census the indicators are computed from.

A row the recount does not know fails (a new indicator needs its recount here), and so does
any value that differs: a swapped pair of quantities, a breakdown miscounted, a flow booked in
the wrong year.  The runs are small and declared: the baseline (clusters dropped in 2004, five
poles, six calls) and a variant in which the poles absorb the clusters they cover.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from sim import ClusterModel, load_scenario
from sim.indicators import compute
from sim.processes import (
    animation,
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
from sim.state.codes import (
    ABSORBED,
    ACTIVE,
    ACTOR_TYPES,
    ASSETS,
    DROPPED,
    ENTRY,
    EXPORT,
    INSTRUMENTS,
    INVESTMENT,
    LARGE,
    NOT_SELECTED,
    PLANNED,
    POLE_ASSETS,
    RESEARCH_CENTRE,
    SELECTED,
    SME,
    SPINOFF_PARTNERSHIP,
    SPINOFF_RESEARCH,
    TRAINING,
    UNIVERSITY,
)

RUNS = [("baseline", {}, 3), ("absorbing", {"policy.poles.absorb_clusters": True}, 2),
        ("rules", {"policy.rules.evaluation.consequence": {"rule": "probation"},
                   "policy.rules.pole_evaluation": {"enabled": True, "first_year": 2008,
                                                    "criteria": [{"indicator": "members",
                                                                  "min": 120.0}]}}, 1)]
RULE_CLUSTER_FLOWS = ("clusters_evaluated", "clusters_on_probation", "clusters_subsidy_cut",
                      "clusters_renewed_conditionally")
RULE_POLE_FLOWS = ("poles_label_withdrawn", "poles_on_probation")


class Recount:
    """Tallies of one run, year by year, from snapshots of the state around each sub-step."""

    def __init__(self, m: ClusterModel) -> None:
        self.m = m
        self.rows: dict[tuple[str, int, str, str], float] = {}
        self.flow = defaultdict(float)  # (name, year, by, key) -> value
        self.launched_total = 0

    # ------------------------------------------------------------------ helpers
    def add(self, name: str, value: float, by: str = "total", key: str = "") -> None:
        self.flow[(name, self.m.year, by, key)] += value

    def companies(self) -> np.ndarray:
        a = self.m.actors
        return a.alive[: a.n] & np.isin(a.atype[: a.n], (SME, LARGE))

    def wrap(self, monkeypatch, module, name, before, after) -> None:
        original = getattr(module, name)

        def watched(*args, **kwargs):
            seen = before()
            out = original(*args, **kwargs)
            after(seen)
            return out

        monkeypatch.setattr(module, name, watched)

    # ------------------------------------------------------------------ the sub-steps
    def install(self, mp) -> None:
        m = self.m
        cl, po, a, p = m.clusters, m.poles, m.actors, m.projects
        names = cl.names

        def status_change(frm, to, name, by_cluster=False):
            def after(before):
                for c in np.flatnonzero((before == frm if frm is not None else True)
                                        & (cl.status == to) & (before != to)):
                    self.add(name, 1)
                    if by_cluster:
                        self.add(name, 1, "cluster", names[c])
            return lambda: cl.status.copy(), after

        self.wrap(mp, launch, "launch_clusters", *status_change(PLANNED, ACTIVE,
                                                                "clusters_created",
                                                                by_cluster=True))
        self.wrap(mp, selection, "select_poles", *status_change(ACTIVE, ABSORBED,
                                                                "clusters_absorbed"))
        self.wrap(mp, evaluation, "evaluate_clusters",
                  *status_change(ACTIVE, DROPPED, "clusters_dropped", by_cluster=True))

        def animation_before():
            n = a.n
            mine = a.cluster[:n]
            return {t: np.bincount(mine[(mine >= 0) & (a.atype[:n] == t)],
                                   minlength=len(names)) for t in (SME, LARGE)}

        def animation_after(counts):
            for c, name in enumerate(names):
                self.add("animation_subsidy_eur", cl.subsidy[c] / 4.0, "cluster", name)
                self.add("animation_subsidy_eur", cl.subsidy[c] / 4.0)
                self.add("member_fees_eur", (counts[SME][c] * cl.fee_sme[c]
                                             + counts[LARGE][c] * cl.fee_large[c]) / 4.0)

        self.wrap(mp, animation, "fund_animation", animation_before, animation_after)

        def signed_after(before):
            k = len(m.agreements.cluster) - before
            it = m.sc.policy.international
            self.add("intercluster_partnerships_signed", k)
            subsidy = it.tender_subsidy_eur if m.year >= it.tender_subsidy_start_year else 0.0
            self.add("tender_subsidy_eur", k * subsidy)

        self.wrap(mp, internationalisation, "internationalise",
                  lambda: len(m.agreements.cluster), signed_after)

        def membership_after(before):
            after = a.cluster[: len(before)]
            for c, name in enumerate(names):
                joins = int(((before == -1) & (after == c)).sum())
                leaves = int(((before == c) & (after == -1)).sum())
                for ind, v in (("member_joins", joins), ("member_leaves", leaves)):
                    self.add(ind, v)
                    self.add(ind, v, "cluster", name)

        self.wrap(mp, membership, "membership", lambda: a.cluster[: a.n].copy(),
                  membership_after)

        def partnering_after(_):
            started = p.active & (p.start == m.t) & (p.call < 0)
            # outside the clusters: no cluster (the cooperation without the policy)
            self.add("partnerships_outside_launched", int((started & (p.cluster < 0)).sum()))
            new = np.flatnonzero(started & (p.cluster >= 0))
            self.add("partnerships_launched", len(new))
            self.launched_total += len(new)
            self.add("_launched_members", float(p.size[new].sum()))
            for s in new:
                self.add("partnerships_launched", 1, "cluster", names[p.cluster[s]])
            self.add("cross_cluster_partnerships_launched", int(p.cross[new].sum()))
            self.add("foreign_partnerships_launched", int((p.foreign[new] > 0).sum()))

        self.wrap(mp, partnering, "partnering", lambda: None, partnering_after)

        # the pole call: the jury's inputs and verdicts, recomputed from its documented rule
        jury = pole_call.judge_and_fund

        def watched_jury(k, cons, actors, draws, rec, po_view, led, call, step, calls_left):
            b = m.consortia
            j = rec[0]  # a NumPy record: its fields by name
            z = draws[0]
            call_key = str(call + 1)
            for i in range(k):
                team = b.members[i, : b.size[i]]
                score = (0.5 * a.capability[team].mean() + np.float32(0.3) * b.match[i]
                         + (0.2 if b.has_rd[i] else 0.0) + (0.1 if b.has_training[i] else 0.0)
                         + (0.2 if b.foreign[i] > 0 else 0.0) + j["noise"] * z[i])
                # the jury's tilt towards healthy companies (behaviour.poles.jury_selection)
                co = team[np.isin(a.atype[team], (SME, LARGE))]
                if len(co):
                    health = np.where(a.market_weight[co] > 0, (a.margin[co].astype(float)
                                      - (1 - m.sc.world.market.labour_share)) / 0.023, 0.0)
                    score = score + m.sc.behaviour.poles.jury_selection * health.mean()
                pole = po.names[b.group[i]]
                for by, key in (("total", ""), ("pole", pole), ("call", call_key)):
                    self.add("pole_proposals_submitted", 1, by, key)
                eligible = b.foreign[i] > 0 or not m.sc.policy.poles.require_foreign
                if score >= j["threshold"] and eligible:
                    for by, key in (("total", ""), ("pole", pole), ("call", call_key)):
                        self.add("pole_proposals_labelled", 1, by, key)
                    self.add("_labelled_size", float(b.size[i]), "call", call_key)
                    self.add("pole_consortium_foreign", float(b.foreign[i]), "call", call_key)
                    for t in a.atype[team]:
                        name = ACTOR_TYPES[t]
                        self.add("pole_consortium_partners", 1, "call", call_key)
                        self.add("pole_consortium_partners", 1, "actor_type", name)
                        self.add("pole_consortium_partners", 1, "actor_type/call",
                                 f"{name}/{call_key}")
            return jury(k, cons, actors, draws, rec, po_view, led, call, step, calls_left)

        mp.setattr(pole_call, "judge_and_fund", watched_jury)

        def call_after(_):
            new = np.flatnonzero(p.active & (p.start == m.t) & (p.call >= 0))
            for s in new:
                for by, key in (("total", ""), ("pole", po.names[p.pole[s]]),
                                ("call", str(p.call[s] + 1))):
                    self.add("pole_projects_funded", 1, by, key)
                for name, grant in (("rd", p.fund_rd[s]), ("training", p.fund_training[s]),
                                    ("investment", p.fund_investment[s])):
                    self.add("pole_funding_eur", grant, "instrument", name)
                    self.add("pole_funding_eur", grant)

        self.wrap(mp, pole_call, "pole_call", lambda: None, call_after)

        def projects_before():
            # the quarter's own R&D money of the funded pole projects under way, from the
            # projects' table (each living company's even share of the quarter's part)
            pole_rd = 0.0
            for q in np.flatnonzero(p.active & (p.start <= m.t) & (m.t < p.end)
                                    & (p.fund_rd > 0)):
                rows_q = p.members[q, : p.size[q]]
                company = np.isin(a.atype[rows_q], (SME, LARGE))
                pole_rd += (p.rd_private[q] / (p.end[q] - p.start[q]) / company.sum()
                            * (company & a.alive[rows_q]).sum())
            return (int(p.active.sum()), int(a.innovations[: a.n].sum()),
                    float(a.rd_private[: a.n].sum()), pole_rd)

        def projects_after(before):
            done = before[0] - int(p.active.sum())
            self.add("projects_completed", done)
            self.add("projects_succeeded", int(m.scratch["outcomes"]["success"][:done].sum())
                     if done else 0)
            self.add("innovations", int(a.innovations[: a.n].sum()) - before[1])
            self.add("private_rd_eur", float(a.rd_private[: a.n].sum()) - before[2])
            self.add("private_rd_pole_eur", before[3])

        self.wrap(mp, projects, "projects", projects_before, projects_after)

        def programmes_after(before):
            # export promotion and assets every quarter of the budget period; training and
            # investment left by the last call (sim.processes.programmes' unspent-money rule)
            for code in (TRAINING, INVESTMENT, EXPORT, ASSETS):
                spent = before[code] - po.remaining[code]
                self.add("pole_funding_eur", spent, "instrument", INSTRUMENTS[code])
                self.add("pole_funding_eur", spent)

        self.wrap(mp, programmes, "pole_programmes", lambda: po.remaining.copy(),
                  programmes_after)

        self.wrap(mp, economy, "economy", lambda: self.companies(),
                  lambda before: self.add("firm_exits", int(
                      (before & ~self.companies()[: len(before)]).sum())))

        # the rulebook's decisions (sim/rules/): from the evaluation record, the decisions'
        # table and the poles' statuses; the poles' money from its documented rule
        def rules_before():
            return len(m.evaluations), len(m.rulebook.decisions), po.status.copy()

        def rules_after(before):
            n_eval, n_dec, pole_status = before
            for _, name, *_ in m.evaluations[n_eval:]:
                self.add("clusters_evaluated", 1)
                self.add("clusters_evaluated", 1, "cluster", name)
            kinds = {("cluster", "probation"): "clusters_on_probation",
                     ("cluster", "subsidy_cut"): "clusters_subsidy_cut",
                     ("cluster", "conditional_renewal"): "clusters_renewed_conditionally",
                     ("pole", "probation"): "poles_on_probation"}
            for d in m.rulebook.decisions[n_dec:]:
                ind = kinds.get((d["object"], d["decision"]))
                if ind:
                    self.add(ind, 1)
                    self.add(ind, 1, d["object"], d["name"])
            for k in np.flatnonzero((pole_status == SELECTED) & (po.status == NOT_SELECTED)):
                self.add("poles_label_withdrawn", 1)
                self.add("poles_label_withdrawn", 1, "pole", po.names[k])
            pp = m.sc.policy.poles
            assert m.sc.policy.rules.pole_money.rule == "carry_over"  # the runs' rule
            if pp.enabled and pp.budget_start_year <= m.year <= pp.budget_end_year:
                years = pp.budget_end_year - pp.budget_start_year + 1
                left = pp.budget_end_year - m.year
                for code, name in enumerate(INSTRUMENTS):
                    if left == 0:
                        ind, v = "pole_funds_lapsed_eur", po.remaining[code]
                    else:
                        ind = "pole_funds_carried_eur"
                        v = max(po.remaining[code] - po.budget[code] * left / years, 0.0)
                    self.add(ind, v)
                    self.add(ind, v, "instrument", name)

        self.wrap(mp, evaluation, "evaluate_clusters", rules_before, rules_after)

        def recognition_after(n_dec):
            for d in m.rulebook.decisions[n_dec:]:
                if d["process"] == "recognition":
                    self.add("cluster_applications", 1)
                    self.add("clusters_recognised", d["decision"] == "recognised")

        self.wrap(mp, launch, "launch_clusters", lambda: len(m.rulebook.decisions),
                  recognition_after)

        self.wrap(mp, compute, "record_year", self.year_end, lambda _: None)

    # ------------------------------------------------------------------ 31 December
    def year_end(self) -> None:
        m, year = self.m, self.m.year
        a, p, cl, po = m.actors, m.projects, m.clusters, m.poles
        n = a.n
        rows = self.rows

        def put(name, value, by="total", key=""):
            rows[(name, year, by, key)] = float(value)

        for (name, y, by, key), v in list(self.flow.items()):
            if y == year and not name.startswith("_"):
                put(name, v, by, key)
        # flows that had no event this year are zero
        for name in ("clusters_created", "clusters_absorbed", "clusters_dropped",
                     "member_joins", "member_leaves", "partnerships_launched",
                     "partnerships_outside_launched", "cross_cluster_partnerships_launched", "foreign_partnerships_launched",
                     "projects_completed", "projects_succeeded", "innovations", "firm_exits",
                     "private_rd_eur", "private_rd_pole_eur", "intercluster_partnerships_signed", "tender_subsidy_eur",
                     "animation_subsidy_eur", "member_fees_eur", "pole_funding_eur",
                     *RULE_CLUSTER_FLOWS, *RULE_POLE_FLOWS, "pole_funds_lapsed_eur",
                     "pole_funds_carried_eur", "cluster_applications", "clusters_recognised",
                     "pole_proposals_over_firm_cap"):
            rows.setdefault((name, year, "total", ""), 0.0)
        for name in cl.names:
            for ind in ("clusters_created", "clusters_dropped", "member_joins", "member_leaves",
                        "partnerships_launched", "animation_subsidy_eur", *RULE_CLUSTER_FLOWS):
                rows.setdefault((ind, year, "cluster", name), 0.0)
        for name in po.names:
            for ind in RULE_POLE_FLOWS:
                rows.setdefault((ind, year, "pole", name), 0.0)
        for code in INSTRUMENTS:
            for ind in ("pole_funding_eur", "pole_funds_lapsed_eur", "pole_funds_carried_eur",
                        "pole_funds_reallocated_eur"):
                rows.setdefault((ind, year, "instrument", code), 0.0)
        launched = self.flow[("partnerships_launched", year, "total", "")]
        put("partnerships_launched_cumulative", self.launched_total)
        size = self.flow[("_launched_members", year, "total", "")]
        put("partnership_size_mean", size / launched if launched else 0.0)
        calls = sorted({int(key) for (name, y, by, key) in self.flow
                        if y == year and by == "call"})
        for k in calls:
            key = str(k)
            lab = self.flow[("pole_proposals_labelled", year, "call", key)]
            put("pole_consortium_size_mean",
                self.flow[("_labelled_size", year, "call", key)] / lab if lab else 0.0,
                "call", key)
            for ind in ("pole_proposals_labelled", "pole_projects_funded",
                        "pole_consortium_foreign", "pole_consortium_partners"):
                rows.setdefault((ind, year, "call", key), 0.0)
            for t in ACTOR_TYPES:
                rows.setdefault(("pole_consortium_partners", year, "actor_type/call",
                                 f"{t}/{key}"), 0.0)
        for ind in ("pole_proposals_submitted", "pole_proposals_labelled",
                    "pole_projects_funded"):  # every year, over the year's calls (none: 0)
            rows.setdefault((ind, year, "total", ""), 0.0)
            for pole in po.names:
                rows.setdefault((ind, year, "pole", pole), 0.0)
        for t in ACTOR_TYPES:  # every year, over the year's calls (none: 0)
            rows.setdefault(("pole_consortium_partners", year, "actor_type", t), 0.0)
        # new companies by origin: their rows' birth step and origin
        born_now = (a.born[:n] >= 0) & (m.sc.time.start_year + a.born[:n] // 4 == year)
        origin = a.origin[:n]
        for name, codes in (("new_enterprises", (SPINOFF_PARTNERSHIP, SPINOFF_RESEARCH,
                                                 POLE_ASSETS)),
                            ("new_enterprises_partnership", (SPINOFF_PARTNERSHIP,)),
                            ("new_enterprises_research", (SPINOFF_RESEARCH,)),
                            ("firm_entries", (ENTRY,))):
            put(name, (born_now & np.isin(origin, codes)).sum())
        # the stocks
        put("clusters_active", (cl.status == ACTIVE).sum())
        mine, kind = a.cluster[:n], a.atype[:n]
        member = mine >= 0
        company = np.isin(kind, (SME, LARGE))
        launch_year = m.sc.time.start_year + cl.launch_step // 4
        put("members_total", member.sum())
        put("members_enterprises", (member & company).sum())
        put("members_enterprise_share", (member & company).sum() / member.sum()
            if member.sum() else 0.0)
        put("members_rd", (member & np.isin(kind, (UNIVERSITY, RESEARCH_CENTRE))).sum())
        for c, name in enumerate(cl.names):
            put("members_total", (mine == c).sum(), "cluster", name)
            put("members_enterprises", ((mine == c) & company).sum(), "cluster", name)
        for t, name in enumerate(ACTOR_TYPES):
            put("members_total", (member & (kind == t)).sum(), "actor_type", name)
        for y in np.unique(launch_year):
            inside = np.isin(mine, np.flatnonzero(launch_year == y))
            put("members_total", inside.sum(), "cohort", str(y))
            put("members_enterprises", (inside & company).sum(), "cohort", str(y))
        cluster_partnership = p.active & (p.call < 0) & (p.cluster >= 0)
        put("partnerships_active", cluster_partnership.sum())
        put("partnerships_outside_active", (p.active & (p.call < 0) & (p.cluster < 0)).sum())
        for c, name in enumerate(cl.names):
            put("partnerships_active", (cluster_partnership & (p.cluster == c)).sum(),
                "cluster", name)
        team = p.members[cluster_partnership]
        involved = np.unique(team[team >= 0])
        put("partnership_members_involved", a.alive[involved].sum())
        pole_project = p.active & (p.call >= 0)
        put("pole_projects_active", pole_project.sum())
        put("poles_selected", (po.status == SELECTED).sum())
        living = a.alive[:n]
        put("pole_members", (living & (a.pole[:n] >= 0)).sum())
        for k, name in enumerate(po.names):
            put("pole_projects_active", (pole_project & (p.pole == k)).sum(), "pole", name)
            put("pole_members", (living & (a.pole[:n] == k)).sum(), "pole", name)
        expiry = np.array(m.agreements.expiry, int)
        owner = np.array(m.agreements.cluster, int)
        put("intercluster_partnerships_active", (expiry > m.t).sum())
        for c, name in enumerate(cl.names):
            put("intercluster_partnerships_active", ((expiry > m.t) & (owner == c)).sum(),
                "cluster", name)
        effort = cl.effort.sum(axis=1)
        put("animator_effort_fte", effort.sum())
        for c, name in enumerate(cl.names):
            put("animator_effort_fte", effort[c], "cluster", name)
        put("pole_budget_left_eur", po.remaining.sum())
        for code, name in enumerate(INSTRUMENTS):
            put("pole_budget_left_eur", po.remaining[code], "instrument", name)
        alive_company = living & company
        exports = a.value_added[:n] * a.exporter[:n] * a.export_share[:n]
        for by, key, rows_ in (("group", "members", alive_company & member),
                               ("group", "non_members", alive_company & ~member),
                               ("total", "", alive_company)):
            emp, va = a.employment[:n][rows_].sum(), a.value_added[:n][rows_].sum()
            put("employment", emp, by, key)
            put("value_added", va, by, key)
            put("productivity", va / emp if emp else 0.0, by, key)
            put("exports", exports[rows_].sum(), by, key)
            put("exporters_share", (rows_ & a.exporter[:n]).sum() / rows_.sum()
                if rows_.sum() else 0.0, by, key)
        put("firms_alive", alive_company.sum())


@pytest.mark.parametrize(("label", "overrides", "seed"), RUNS)
def test_every_indicator_equals_its_recount(label, overrides, seed, monkeypatch):
    m = ClusterModel(load_scenario(None, overrides=overrides), seed=seed, handles=False)
    recount = Recount(m)
    recount.install(monkeypatch)
    df = m.run()
    got = {(i, int(y), b, k): v for i, y, b, k, v in
           zip(df.indicator, df.year, df.by, df.key, df.value, strict=True)}
    missing = sorted(set(got) - set(recount.rows))
    assert not missing, f"{len(missing)} rows without a recount, e.g. {missing[:5]}"
    extra = sorted(set(recount.rows) - set(got))
    assert not extra, f"{len(extra)} recounted rows the run did not record, e.g. {extra[:5]}"
    wrong = [(key, got[key], want) for key, want in recount.rows.items()
             if not np.isclose(got[key], want, rtol=1e-9, atol=1e-6)]
    assert not wrong, f"{len(wrong)} rows differ, e.g. (row, recorded, recount) {wrong[:5]}"
    # the run exercises what the recount checks
    totals = df[df.by == "total"].groupby("indicator")["value"].sum()
    events = ["member_joins", "member_leaves", "partnerships_launched", "projects_succeeded",
              "innovations", "firm_exits", "firm_entries", "new_enterprises_research",
              "new_enterprises_partnership", "pole_projects_funded",
              "intercluster_partnerships_signed", "cross_cluster_partnerships_launched"]
    events.append({"baseline": "clusters_dropped", "absorbing": "clusters_absorbed",
                   "rules": "clusters_on_probation"}[label])
    if label == "rules":
        events.append("poles_label_withdrawn")
    assert (totals[events] > 0).all(), totals[events]
