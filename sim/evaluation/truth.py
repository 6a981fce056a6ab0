"""The true effects of a policy, from a run and its counterfactual twin, and the scoring of the
evaluator's estimators against them.

A policy run and its twin (the same world and seeds with the policy switched off, or any other
variant) each write a firm panel (:mod:`sim.evaluation.panel`) and, for additionality, a
project table (:data:`PROJECT_COLUMNS`) with its membership (:data:`MEMBER_COLUMNS`).  Only a
simulation has the twin: the same firms' outcomes without the policy.  From the pair:

* :func:`true_effects` – the average effect on the treated (the treatment groups of the
  policy run) and on the untreated (spillovers, competition), overall, by year and by event
  time, for employment, value added, productivity, exports, innovations and survival;
* :func:`aggregate_effects` – totals of the whole economy by year, new firms included;
* :func:`additionality` – supported projects and innovations that would not have happened
  without the support, against those that would (deadweight);
* :func:`cost_per_outcome` – public EUR per job, innovation, new firm, EUR of exports or of
  value added, for the whole policy and by instrument for its beneficiaries;
* over replications, :func:`summarise` (intervals), :func:`summarise_costs` and
  :func:`score` (each estimator's bias, RMSE and the coverage of its interval).

Conventions.  The actors compared are the *common actors*: present in both panels with the
same identity (type, sector, province, origin, birth year) and born no later than
``born_before`` (default: the panels' first year, i.e. the initial population, whose ids are
stable across variants by construction; entrants' ids depend on the run's history).  A dead
actor's stocks are 0, so an effect on employment includes the effect on survival;
productivity is compared where both runs have employment.  Treatment is absorbing from the
cohort year and fixed by the policy run.  All outputs are tidy DataFrames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.evaluation.panel import (
    COMPANY_TYPES,
    GRANT_COLUMNS,
    GRANT_INSTRUMENTS,
    NEVER,
    OUTCOME_UNITS,
    TREATMENTS,
    Column,
    PanelError,
    add_derived,
    treatment_cohorts,
)

TRUTH_OUTCOMES = ("employment", "value_added", "productivity", "exports", "innovations",
                  "alive", "private_rd_eur")
IDENTITY = ("actor_type", "sector", "province", "origin", "birth_year")

PROJECT_COLUMNS: tuple[Column, ...] = (
    Column("project_id", "int", "int64", "id", "Identifier of the project within its run.",
           minimum=0),
    Column("kind", "category", "category", "-", "Cluster partnership or pole project.",
           ("cluster", "pole")),
    Column("start_year", "int", "int16", "year", "Year the project started."),
    Column("end_year", "int", "int16", "year", "Year it ended, -1 while under way.",
           minimum=-1),
    Column("supported", "bool", "bool", "-", "It received public support: a pole project "
           "labelled and funded, or a partnership brokered or funded under the cluster "
           "policy (the writer states which in its docs)."),
    Column("succeeded", "bool", "bool", "-", "It ended with success (False while under "
           "way)."),
    Column("innovations", "int", "int32", "products", "New products it gave its members.",
           minimum=0),
    *(Column(f"grant_{k}_eur", "float", "float64", "EUR", f"Public money of the '{k}' "
             f"instrument granted to the project.", minimum=0.0) for k in GRANT_INSTRUMENTS),
)
MEMBER_COLUMNS: tuple[Column, ...] = (
    Column("project_id", "int", "int64", "id", "The project."),
    Column("actor_id", "int", "int64", "id", "A local member of it (panel's actor_id)."),
)


# ---------------------------------------------------------------------------------------
# pairing a run with its twin

def firms(panel: pd.DataFrame, actor_types: Sequence[str] = COMPANY_TYPES) -> pd.DataFrame:
    """The panel's rows of the given actor types (default: companies, SMEs and large)."""
    return panel[panel["actor_type"].isin(actor_types).to_numpy()]


def common_actors(policy: pd.DataFrame, twin: pd.DataFrame, born_before: int | None = None
                  ) -> pd.Index:
    """Actors present in both panels, born no later than ``born_before`` (default: the
    initial population, ``origin == "initial"``; entrants born in the first year are left out
    with the later ones, since an entrant's id depends on the run's history).

    Raises
    ------
    PanelError
        When such an actor differs between the two panels in its identity (type, sector,
        province, origin, birth year): the twin is not a twin of this run.
    """
    cutoff = int(policy["year"].min()) if born_before is None else born_before

    def identity(df: pd.DataFrame) -> pd.DataFrame:  # identity columns are constant per actor
        first = df.loc[~df["actor_id"].duplicated().to_numpy(), ["actor_id", *IDENTITY]]
        return first.set_index("actor_id")

    a, b = identity(policy), identity(twin)
    ids = a.index.intersection(b.index)
    if born_before is None:
        ids = ids[((a["birth_year"].reindex(ids) <= cutoff)
                   & (a["origin"].reindex(ids).astype(str) == "initial")).to_numpy()]
    else:
        ids = ids[(a["birth_year"].reindex(ids) <= cutoff).to_numpy()]
    a, b = a.reindex(ids), b.reindex(ids)
    errors = []
    for col in IDENTITY:
        diff = a[col].astype(str).to_numpy() != b[col].astype(str).to_numpy()
        if diff.any():
            errors.append(f"{col}: {int(diff.sum())} actor(s) differ between the run and its "
                          f"twin (e.g. actor {int(ids[diff][0])})")
    if errors:
        raise PanelError(errors, "twin")
    return ids


def _paired(policy: pd.DataFrame, twin: pd.DataFrame, outcomes: Sequence[str],
            ids: pd.Index) -> pd.DataFrame:
    """Rows of the common actors matched on (actor_id, year): ``<outcome>_p``, ``<outcome>_t``
    and the difference ``d_<outcome>``."""
    keep = ["actor_id", "year", *outcomes]
    p = add_derived(policy)
    t = add_derived(twin)
    p = p.loc[p["actor_id"].isin(ids), keep]
    t = t.loc[t["actor_id"].isin(ids), keep]
    m = p.merge(t, on=["actor_id", "year"], suffixes=("_p", "_t"), how="inner",
                validate="one_to_one")
    for o in outcomes:
        m[f"d_{o}"] = m[f"{o}_p"].astype(float) - m[f"{o}_t"].astype(float)
    return m


# ---------------------------------------------------------------------------------------
# true effects on the treated and the untreated

def true_effects(policy: pd.DataFrame, twin: pd.DataFrame,
                 treatments: Sequence[str] = ("cluster",),
                 outcomes: Sequence[str] = TRUTH_OUTCOMES, *,
                 born_before: int | None = None, alive_only: bool = False,
                 actor_types: Sequence[str] = COMPANY_TYPES) -> pd.DataFrame:
    """True average effects of the policy, from a run and its twin.

    Parameters
    ----------
    policy, twin : pandas.DataFrame
        Validated panels of the policy run and of its counterfactual twin.
    treatments : sequence of str
        Treatment groups (:data:`sim.evaluation.panel.TREATMENTS`), read from the policy run.
    outcomes : sequence of str
        Panel columns or derived outcomes (``productivity``); ``alive`` gives survival.
    born_before : int, optional
        See :func:`common_actors`.
    alive_only : bool
        Compare only actor-years alive in both runs (the sample an evaluator sees when
        firms die in neither); default False, where a dead firm counts with zeros.
    actor_types : sequence of str
        Actor types evaluated (default companies).

    Returns
    -------
    pandas.DataFrame
        Columns ``treatment, group, outcome, unit, scope, period, effect, n_obs,
        n_actors``.  ``group`` is ``treated`` (effect on the treated in their treated
        years) or ``untreated`` (actors never treated, from the first cohort's year on);
        ``scope`` is ``overall`` (``period`` = -1), ``year`` or ``event_time`` (treated
        only, event time 0 = the year of joining).
    """
    policy, twin = firms(policy, actor_types), firms(twin, actor_types)
    ids = common_actors(policy, twin, born_before)
    m = _paired(policy, twin, outcomes, ids)
    if alive_only:
        both = m["alive_p"].astype(bool) & m["alive_t"].astype(bool) if "alive" in outcomes \
            else None
        if both is None:
            pa = policy.set_index(["actor_id", "year"])["alive"]
            ta = twin.set_index(["actor_id", "year"])["alive"]
            key = pd.MultiIndex.from_frame(m[["actor_id", "year"]])
            both = pa.reindex(key).to_numpy() & ta.reindex(key).to_numpy()
        m = m[np.asarray(both)]
    cohorts = treatment_cohorts(policy, tuple(treatments))
    rows = []
    for tr in treatments:
        g = cohorts[tr].reindex(m["actor_id"]).fillna(NEVER).to_numpy()
        year = m["year"].to_numpy()
        treated = (g > NEVER) & (year >= g)
        start = int(g[g > NEVER].min()) if (g > NEVER).any() else int(year.max()) + 1
        untreated = (g == NEVER) & (year >= start)
        for o in outcomes:
            d = m[f"d_{o}"].to_numpy()
            ok = np.isfinite(d)
            unit = OUTCOME_UNITS.get(o, "")
            for group, mask in (("treated", treated), ("untreated", untreated)):
                sel = mask & ok
                ids_sel = m["actor_id"].to_numpy()[sel]
                rows.append((tr, group, o, unit, "overall", -1,
                             float(d[sel].mean()) if sel.any() else np.nan, int(sel.sum()),
                             len(np.unique(ids_sel))))
                if sel.any():  # one row per (actor, year): actors in a year = rows
                    by = pd.Series(d[sel]).groupby(year[sel]).agg(["mean", "size"])
                    rows += [(tr, group, o, unit, "year", int(k), float(v["mean"]),
                              int(v["size"]), int(v["size"])) for k, v in by.iterrows()]
            sel = treated & ok
            if sel.any():
                by = pd.Series(d[sel]).groupby(year[sel] - g[sel]).agg(["mean", "size"])
                rows += [(tr, "treated", o, unit, "event_time", int(k), float(v["mean"]),
                          int(v["size"]), int(v["size"])) for k, v in by.iterrows()]
    return pd.DataFrame(rows, columns=["treatment", "group", "outcome", "unit", "scope",
                                       "period", "effect", "n_obs", "n_actors"])


def true_att(truth: pd.DataFrame) -> pd.DataFrame:
    """The overall effects on the treated from :func:`true_effects`: columns ``treatment,
    outcome, true_effect`` (what :func:`score` compares the estimators with)."""
    t = truth[(truth["group"] == "treated") & (truth["scope"] == "overall")]
    return t[["treatment", "outcome", "effect"]].rename(columns={"effect": "true_effect"}
                                                        ).reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# economy-wide effects (entrants included: ids need not match)

AGGREGATES = ("employment", "value_added", "exports", "innovations", "firms_alive",
              "new_firms", "grants_eur", "private_rd_eur")


def _totals(panel: pd.DataFrame) -> pd.DataFrame:
    p = add_derived(panel)
    born = (p["birth_year"] == p["year"]) & (p["origin"].astype(str) != "initial")
    g = pd.DataFrame({
        "year": p["year"].to_numpy(),
        "employment": p["employment"].to_numpy(float),
        "value_added": p["value_added"].to_numpy(float),
        "exports": p["exports"].to_numpy(float),
        "innovations": p["innovations"].to_numpy(float),
        "firms_alive": p["alive"].to_numpy(float),
        "new_firms": born.to_numpy(float),
        "grants_eur": p["grants_eur"].to_numpy(float),
        "private_rd_eur": p["private_rd_eur"].to_numpy(float),
    }).groupby("year").sum()
    return g


def aggregate_effects(policy: pd.DataFrame, twin: pd.DataFrame,
                      actor_types: Sequence[str] = COMPANY_TYPES) -> pd.DataFrame:
    """Totals by year in the run and its twin and their difference (the policy's effect on
    the economy, new firms and spillovers included).

    Returns
    -------
    pandas.DataFrame
        Columns ``year, outcome, policy, twin, effect`` for :data:`AGGREGATES`
        (``new_firms``: companies born in the year, the initial population excluded).
    """
    a = _totals(firms(policy, actor_types))
    b = _totals(firms(twin, actor_types))
    years = a.index.union(b.index)
    a, b = a.reindex(years, fill_value=0.0), b.reindex(years, fill_value=0.0)
    out = []
    for o in AGGREGATES:
        out.append(pd.DataFrame({"year": a.index.to_numpy(), "outcome": o,
                                 "policy": a[o].to_numpy(), "twin": b[o].to_numpy(),
                                 "effect": (a[o] - b[o]).to_numpy()}))
    return pd.concat(out, ignore_index=True)


# ---------------------------------------------------------------------------------------
# additionality and deadweight

@dataclass(frozen=True)
class RunProjects:
    """A run's projects (:data:`PROJECT_COLUMNS`) and their local members
    (:data:`MEMBER_COLUMNS`)."""

    projects: pd.DataFrame
    members: pd.DataFrame


def additionality(policy: pd.DataFrame, twin: pd.DataFrame, policy_projects: RunProjects,
                  twin_projects: RunProjects, *, born_before: int | None = None,
                  actor_types: Sequence[str] = COMPANY_TYPES) -> pd.DataFrame:
    """Additionality and deadweight of supported projects and innovations.

    The beneficiaries ``B`` are the common actors that take part in at least one supported
    project of the policy run (of the given kind).  With ``S`` the supported project
    participations of ``B`` in the policy run, ``P1`` all their project participations there
    and ``P0`` their participations in the twin (what they do without the support):
    additional participations ``P1 - P0``, additionality share ``(P1 - P0) / S``, deadweight
    share ``1 - (P1 - P0) / S`` (supported participations that replace ones that would have
    happened anyway; crowding out of unsupported projects counts against additionality).
    Innovations alike, with ``S`` the innovations of supported projects credited to ``B``
    (each local member of a project is credited with an equal share of the project's
    innovations, so a project's innovations are counted once) and ``P1``,
    ``P0`` the panel's innovations of ``B`` in each run.  Shares are not clipped: below 0
    the support crowded out more than it added, above 1 it also raised unsupported activity.
    Own R&D money (``private_rd_eur``, pole and all kinds: input additionality), with ``S``
    the R&D grants of ``B`` and ``P1``, ``P0`` their own R&D money in each run: its
    ``additionality_share`` is the extra own R&D per EUR of R&D grant (above 0 the grants
    draw in private money, below 0 they crowd it out; Bellégo & Dortet-Bernadet 2013 found no
    crowding out), its deadweight share is not defined (NaN).

    Returns
    -------
    pandas.DataFrame
        Columns ``kind, quantity, n_beneficiaries, supported, with_policy, without_policy,
        additional, additionality_share, deadweight_share``; ``kind`` is ``cluster``,
        ``pole`` or ``all``, ``quantity`` is ``project_participations``, ``innovations`` or
        ``private_rd_eur``.
    """
    policy, twin = firms(policy, actor_types), firms(twin, actor_types)
    ids = common_actors(policy, twin, born_before)

    def part(rp: RunProjects) -> pd.DataFrame:
        m = rp.members.merge(rp.projects[["project_id", "kind", "supported", "innovations"]],
                             on="project_id", how="left", validate="many_to_one")
        size = m.groupby("project_id")["actor_id"].transform("size").to_numpy(float)
        m["credit"] = m["innovations"].to_numpy(float) / np.maximum(size, 1.0)
        return m[m["actor_id"].isin(ids)]

    p1, p0 = part(policy_projects), part(twin_projects)
    inn_p = policy[policy["actor_id"].isin(ids)].groupby("actor_id")["innovations"].sum()
    inn_t = twin[twin["actor_id"].isin(ids)].groupby("actor_id")["innovations"].sum()
    rows = []
    for kind in ("cluster", "pole", "all"):
        k1 = p1 if kind == "all" else p1[p1["kind"].astype(str) == kind]
        k0 = p0 if kind == "all" else p0[p0["kind"].astype(str) == kind]
        sup = k1[k1["supported"].astype(bool)]
        ben = pd.Index(np.unique(sup["actor_id"].to_numpy()))
        s = len(sup)
        w1 = int(k1["actor_id"].isin(ben).sum())
        w0 = int(k0["actor_id"].isin(ben).sum())
        rows.append(_add_row(kind, "project_participations", len(ben), s, w1, w0))
        si = float(sup["credit"].sum())
        i1 = float(inn_p.reindex(ben).fillna(0).sum())
        i0 = float(inn_t.reindex(ben).fillna(0).sum())
        rows.append(_add_row(kind, "innovations", len(ben), si, i1, i0))
        if kind != "cluster":  # input additionality: own R&D money per EUR of R&D grant
            grant = float(policy.loc[policy["actor_id"].isin(ben), "grant_rd_eur"].sum())
            r1 = float(policy.loc[policy["actor_id"].isin(ben), "private_rd_eur"].sum())
            r0 = float(twin.loc[twin["actor_id"].isin(ben), "private_rd_eur"].sum())
            row = _add_row(kind, "private_rd_eur", len(ben), grant, r1, r0)
            rows.append((*row[:-1], np.nan))
    return pd.DataFrame(rows, columns=["kind", "quantity", "n_beneficiaries", "supported",
                                       "with_policy", "without_policy", "additional",
                                       "additionality_share", "deadweight_share"])


def _add_row(kind, quantity, n_ben, supported, with_p, without_p):
    add = with_p - without_p
    share = add / supported if supported > 0 else np.nan
    return (kind, quantity, n_ben, supported, with_p, without_p, add, share,
            1.0 - share if supported > 0 else np.nan)


# ---------------------------------------------------------------------------------------
# cost per outcome

COST_OUTCOMES = {  # outcome -> (unit of the effect, how it is counted)
    "jobs": ("FTE", "employment difference in the last year"),
    "innovations": ("products", "innovations, summed over the years"),
    "new_firms": ("firms", "companies born, summed over the years"),
    "exports": ("EUR", "exports, summed over the years (annual rates x 1 year)"),
    "value_added": ("EUR", "value added, summed over the years"),
}


def _cost(spend: float, effect: float) -> tuple[float, str]:
    if spend == 0:
        return 0.0, "no spending"
    if not np.isfinite(effect) or effect <= 0:
        return np.nan, "no positive effect"
    return spend / effect, ""


def cost_per_outcome(policy: pd.DataFrame, twin: pd.DataFrame, *,
                     other_spend: Mapping[str, float] | None = None,
                     last_year: int | None = None, born_before: int | None = None,
                     actor_types: Sequence[str] = COMPANY_TYPES) -> pd.DataFrame:
    """Public EUR per unit of outcome, for the whole policy and by instrument.

    Spending is the extra public money of the policy run over its twin up to ``last_year``
    (default the last year): the panels' grants by instrument, plus ``other_spend`` (EUR by
    instrument name, e.g. ``{"animation": ...}``: money that pays no firm row, such as the
    animation subsidy of the cluster organisations).

    * ``scope = "economy"``, ``instrument = "all"``: total spending per unit of the effect on
      the whole economy (:func:`aggregate_effects`: jobs in the last year, innovations, new
      firms, exports and value added summed over the years);
    * ``scope = "beneficiaries"``, one row per grant instrument: that instrument's spending
      per unit of the true effect on the common actors it funded (a firm funded by two
      instruments counts for both; new firms are not defined there).

    A cost is 0 when nothing was spent, NaN (``note``) when the effect is not positive.

    Returns
    -------
    pandas.DataFrame
        Columns ``scope, instrument, outcome, unit, spend_eur, effect, cost_eur_per_unit,
        note``.
    """
    policy, twin = firms(policy, actor_types), firms(twin, actor_types)
    end = int(policy["year"].max()) if last_year is None else last_year
    policy = policy[policy["year"] <= end]
    twin = twin[twin["year"] <= end]
    spend = {k: float(policy[c].sum() - twin[c].sum())
             for k, c in zip(GRANT_INSTRUMENTS, GRANT_COLUMNS, strict=True)}
    extra = dict(other_spend or {})
    total = sum(spend.values()) + sum(extra.values())
    agg = aggregate_effects(policy, twin, actor_types=actor_types).set_index(
        ["outcome", "year"])["effect"]
    eco = {"jobs": float(agg.loc[("employment", end)]) if ("employment", end) in agg.index
           else 0.0,
           "innovations": float(agg.loc["innovations"].sum()),
           "new_firms": float(agg.loc["new_firms"].sum()),
           "exports": float(agg.loc["exports"].sum()),
           "value_added": float(agg.loc["value_added"].sum())}
    rows = []
    for o, (unit, _) in COST_OUTCOMES.items():
        c, note = _cost(total, eco[o])
        rows.append(("economy", "all", o, unit, total, eco[o], c, note))
    ids = common_actors(policy, twin, born_before)
    m = _paired(policy, twin, ("employment", "innovations", "exports", "value_added"), ids)
    funded = treatment_cohorts(policy, tuple(f"funded_{k}" for k in GRANT_INSTRUMENTS))
    for k in GRANT_INSTRUMENTS:
        ben = funded.index[(funded[f"funded_{k}"] > NEVER).to_numpy()]
        mb = m[m["actor_id"].isin(ben)]
        eff = {"jobs": float(mb.loc[mb["year"] == end, "d_employment"].sum()),
               "innovations": float(mb["d_innovations"].sum()),
               "exports": float(mb["d_exports"].sum()),
               "value_added": float(mb["d_value_added"].sum())}
        for o, (unit, _) in COST_OUTCOMES.items():
            if o == "new_firms":
                continue
            c, note = _cost(spend[k], eff[o])
            rows.append(("beneficiaries", k, o, unit, spend[k], eff[o], c, note))
    return pd.DataFrame(rows, columns=["scope", "instrument", "outcome", "unit", "spend_eur",
                                       "effect", "cost_eur_per_unit", "note"])


# ---------------------------------------------------------------------------------------
# over replications

def summarise(df: pd.DataFrame, value: str, by: Sequence[str], level: float = 0.95
              ) -> pd.DataFrame:
    """Mean of ``value`` over replications with a t-interval of the mean (``ci_low``,
    ``ci_high``) and the central ``level`` range of the replications (``q_low``,
    ``q_high``), by the ``by`` columns."""
    a = (1.0 - level) / 2.0
    g = df.groupby(list(by), observed=True)[value]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    half = stats.t.ppf(1 - a, np.maximum(out["n"] - 1, 1)) * out["sd"] / np.sqrt(out["n"])
    out["ci_low"] = out["mean"] - half.where(out["n"] > 1)
    out["ci_high"] = out["mean"] + half.where(out["n"] > 1)
    q = g.quantile([a, 1 - a]).unstack()
    q.columns = ["q_low", "q_high"]
    return out.merge(q.reset_index(), on=list(by))


def summarise_costs(costs: pd.DataFrame, *, seed: int = 0, n_boot: int = 2000,
                    level: float = 0.95) -> pd.DataFrame:
    """Cost per outcome over replications: the ratio of mean spending to mean effect, with a
    percentile bootstrap interval over replications (resampled with a Generator from
    ``SeedSequence(seed)``).  ``costs`` is :func:`cost_per_outcome`'s output with a
    ``replication`` column."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    a = (1.0 - level) / 2.0
    rows = []
    for key, grp in costs.groupby(["scope", "instrument", "outcome"], sort=False):
        s = grp["spend_eur"].to_numpy(float)
        e = grp["effect"].to_numpy(float)
        c, note = _cost(s.mean(), e.mean())
        lo = hi = np.nan
        if note == "no spending":
            lo = hi = 0.0
        elif len(s) > 1 and np.isfinite(c):
            idx = rng.integers(0, len(s), (n_boot, len(s)))
            ms, me = s[idx].mean(axis=1), e[idx].mean(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(me > 0, ms / me, np.inf)
            lo, hi = np.quantile(r, [a, 1 - a])
        rows.append((*key, grp["unit"].iloc[0], len(s), s.mean(), e.mean(), c, lo, hi, note))
    return pd.DataFrame(rows, columns=["scope", "instrument", "outcome", "unit", "n",
                                       "spend_eur", "effect", "cost_eur_per_unit", "ci_low",
                                       "ci_high", "note"])


def score(estimates: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Each estimator's bias, RMSE and interval coverage against the true effect.

    Parameters
    ----------
    estimates : pandas.DataFrame
        One row per replication, estimator, outcome and treatment: columns ``replication,
        estimator, outcome, treatment, effect, ci_low, ci_high`` (and ``se``), as
        :func:`sim.evaluation.estimators.run_estimators` gives with a ``replication``
        column added.  Failed estimates (NaN) are counted in ``failures``.
    truth : pandas.DataFrame
        Columns ``replication, treatment, outcome, true_effect`` (:func:`true_att` of each
        replication).

    Returns
    -------
    pandas.DataFrame
        By ``estimator, outcome, treatment``: ``n_reps``, ``failures``, ``mean_estimate``,
        ``mean_truth``, ``bias`` (mean of estimate - truth) and its Monte Carlo standard
        error ``bias_mcse``, ``rmse``, ``coverage`` (share of replications whose interval
        holds that replication's truth) and its binomial ``coverage_mcse``, ``mean_se``
        (the reported standard error) and ``sd_error`` (the actual spread of
        estimate - truth).
    """
    key = ["replication", "treatment", "outcome"]
    m = estimates.merge(truth[[*key, "true_effect"]], on=key, how="left", validate="many_to_one")
    if m["true_effect"].isna().any():
        missing = m.loc[m["true_effect"].isna(), key].drop_duplicates().head(3)
        raise KeyError(f"no true effect for {missing.to_dict('records')}")
    rows = []
    for (est, out, tr), g in m.groupby(["estimator", "outcome", "treatment"], sort=False):
        ok = g["effect"].notna().to_numpy()
        e = g["effect"].to_numpy(float)[ok]
        t = g["true_effect"].to_numpy(float)[ok]
        err = e - t
        n = len(err)
        cover = ((g["ci_low"].to_numpy(float)[ok] <= t) & (t <= g["ci_high"].to_numpy(float)[ok]))
        cov = float(cover.mean()) if n else np.nan
        rows.append((est, out, tr, n, int((~ok).sum()),
                     float(e.mean()) if n else np.nan, float(t.mean()) if n else np.nan,
                     float(err.mean()) if n else np.nan,
                     float(err.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
                     float(np.sqrt(np.mean(err ** 2))) if n else np.nan,
                     cov, float(np.sqrt(cov * (1 - cov) / n)) if n else np.nan,
                     float(g["se"].to_numpy(float)[ok].mean()) if "se" in g and n else np.nan,
                     float(err.std(ddof=1)) if n > 1 else np.nan))
    return pd.DataFrame(rows, columns=["estimator", "outcome", "treatment", "n_reps",
                                       "failures", "mean_estimate", "mean_truth", "bias",
                                       "bias_mcse", "rmse", "coverage", "coverage_mcse",
                                       "mean_se", "sd_error"])


def evaluate_pair(policy: pd.DataFrame, twin: pd.DataFrame, outcomes: Sequence[str],
                  treatment: str = "cluster", estimators: Sequence[str] | None = None, *,
                  born_before: int | None = None, evaluator_sample: str = "common",
                  actor_types: Sequence[str] = COMPANY_TYPES
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One replication: the estimators on the policy panel and the true effects.

    ``evaluator_sample="common"`` gives the estimators the common actors only (the population
    the truth is defined on); ``"all"`` gives them every actor of the run, entrants included
    (an evaluator's register), at the price of comparing slightly different populations.

    Returns
    -------
    (estimates, truth) : tuple of pandas.DataFrame
        :func:`sim.evaluation.estimators.run_estimators`'s table and :func:`true_effects`'s.
    """
    from sim.evaluation import estimators as est

    if treatment not in TREATMENTS:
        raise KeyError(f"unknown treatment {treatment!r}; known: {', '.join(TREATMENTS)}")
    truth = true_effects(policy, twin, (treatment,), outcomes, born_before=born_before,
                         actor_types=actor_types)
    sample = firms(policy, actor_types)
    if evaluator_sample == "common":
        ids = common_actors(sample, firms(twin, actor_types), born_before)
        sample = sample[sample["actor_id"].isin(ids)]
    elif evaluator_sample != "all":
        raise ValueError(f"evaluator_sample {evaluator_sample!r}: expected 'common' or 'all'")
    names = tuple(estimators) if estimators is not None else est.DEFAULT_SET
    return est.run_estimators(sample, tuple(outcomes), treatment, names), truth
