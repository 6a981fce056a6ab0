"""True effects from a run and its twin, additionality, cost per outcome, and the scores of
estimators against the truth (sim/evaluation/truth.py), on constructed panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.evaluation import truth as T
from sim.evaluation.panel import NEVER, PanelError, validate_panel
from sim.evaluation.synthetic import SyntheticDesign, effect_path, synthetic_pair

PATH = [1.0, 2.0, 3.5]


@pytest.fixture(scope="module")
def pair():
    d = SyntheticDesign(n_firms=200, effects={"employment": PATH, "innovations": 0.5,
                                              "value_added": 8e4, "exports": 2e4})
    return synthetic_pair(d, seed=2026)


def test_twin_identical_to_its_run_gives_exactly_zero(pair):
    p = pair.policy
    tr = T.true_effects(p, p.copy(), ("cluster", "funded", "funded_rd"))
    assert len(tr) > 0 and (tr["effect"] == 0.0).all()
    assert (T.aggregate_effects(p, p.copy())["effect"] == 0.0).all()
    cost = T.cost_per_outcome(p, p.copy())
    assert (cost["spend_eur"] == 0.0).all() and (cost["cost_eur_per_unit"] == 0.0).all()
    # the score of a perfect estimator is exact: zero bias and RMSE, full coverage
    att = T.true_att(tr).assign(replication=0)
    est = att.rename(columns={"true_effect": "effect"}).assign(
        estimator="oracle", se=0.0, ci_low=lambda d: d["effect"], ci_high=lambda d: d["effect"])
    s = T.score(est, att)
    assert (s["bias"] == 0.0).all() and (s["rmse"] == 0.0).all() and (s["coverage"] == 1).all()


def test_truth_recovers_the_planted_effect(pair):
    tr = T.true_effects(pair.policy, pair.twin)
    emp = tr[(tr["outcome"] == "employment") & (tr["treatment"] == "cluster")]
    ev = emp[emp["scope"] == "event_time"].set_index("period")["effect"]
    np.testing.assert_allclose(ev.to_numpy(), effect_path(PATH, ev.index.to_numpy()),
                               rtol=0, atol=1e-9)
    # overall ATT = path averaged over treated actor-years, computed independently
    g = pair.cohorts
    rows = pair.policy[["actor_id", "year"]].assign(g=lambda d: g.reindex(d["actor_id"]).values)
    e = (rows["year"] - rows["g"])[(rows["g"] > 0) & (rows["year"] >= rows["g"])]
    overall = emp[(emp["scope"] == "overall") & (emp["group"] == "treated")]["effect"].item()
    assert overall == pytest.approx(effect_path(PATH, e.to_numpy()).mean(), abs=1e-9)
    # the untreated are untouched in this design (no spillovers)
    assert (tr.loc[tr["group"] == "untreated", "effect"] == 0.0).all()
    # coupled Poisson innovations: the truth is the realised extra count, mean near 0.5
    inn = tr[(tr["outcome"] == "innovations") & (tr["scope"] == "overall")
             & (tr["group"] == "treated")]
    assert inn["effect"].item() == pytest.approx(0.5, abs=0.06)
    surv = tr[(tr["outcome"] == "alive")]
    assert (surv["effect"] == 0.0).all()


def test_a_dead_firm_counts_with_zeros(pair):
    tw = pair.twin.copy()
    first_treated = int(pair.cohorts[pair.cohorts > 0].index[0])
    g = int(pair.cohorts[first_treated])
    dead = (tw["actor_id"] == first_treated) & (tw["year"] >= g)
    # in the twin this treated firm dies when it would have joined
    for col in ("employment", "value_added", "exports", "innovations"):
        tw.loc[dead, col] = 0
    tw.loc[dead, "alive"] = False
    tw = validate_panel(tw)
    base = T.true_effects(pair.policy, pair.twin, outcomes=("employment", "alive"))
    new = T.true_effects(pair.policy, tw, outcomes=("employment", "alive"))

    def pick(df, o, scope="overall"):
        return df[(df["outcome"] == o) & (df["scope"] == scope) & (df["group"] == "treated")]

    n = pick(new, "alive")["n_obs"].item()
    added = pair.policy.loc[dead.to_numpy(), "employment"].sum() - 0.0
    lost_effect = (pair.policy.loc[dead.to_numpy(), "employment"].to_numpy()
                   - pair.twin.loc[dead.to_numpy(), "employment"].to_numpy()).sum()
    assert pick(new, "employment")["effect"].item() == pytest.approx(
        pick(base, "employment")["effect"].item() + (added - lost_effect) / n, rel=1e-12)
    assert pick(new, "alive")["effect"].item() == pytest.approx(dead.sum() / n, rel=1e-12)
    alive_only = T.true_effects(pair.policy, tw, outcomes=("employment",), alive_only=True)
    assert pick(alive_only, "employment")["n_obs"].item() == n - dead.sum()


def test_effect_on_the_untreated_from_the_policy_start(pair):
    """Spillovers: never-treated firms employ 1 FTE less in the twin in every year; their
    effect counts from the first cohort's year (the policy's start) on."""
    tw = pair.twin.copy()
    never = tw["actor_id"].isin(pair.cohorts.index[pair.cohorts == NEVER]).to_numpy()
    tw.loc[never, "employment"] -= 1.0
    tr = T.true_effects(pair.policy, validate_panel(tw), outcomes=("employment",))
    u = tr[tr["group"] == "untreated"]
    start = int(pair.cohorts[pair.cohorts > NEVER].min())
    n_never = int((pair.cohorts == NEVER).sum())
    overall = u[u["scope"] == "overall"].iloc[0]
    assert overall["effect"] == pytest.approx(1.0, abs=1e-9)
    assert overall["n_obs"] == n_never * (2012 - start + 1) and overall["n_actors"] == n_never
    years = u[u["scope"] == "year"]
    assert years["period"].min() == start and (years["n_actors"] == n_never).all()
    # the treated are untouched
    t = tr[(tr["group"] == "treated") & (tr["scope"] == "event_time")].set_index("period")
    np.testing.assert_allclose(t["effect"].to_numpy(), effect_path(PATH, t.index.to_numpy()))


def test_a_twin_with_other_firms_is_refused(pair):
    tw = pair.twin.copy()
    tw.loc[tw["actor_id"] == 3, "sector"] = tw.loc[tw["actor_id"] == 3, "sector"] + 1
    with pytest.raises(PanelError, match="sector: 1 actor"):
        T.true_effects(pair.policy, tw)


def test_cost_per_outcome_with_zero_spend_is_zero_spend(pair):
    p = pair.policy.copy()
    p["grant_rd_eur"] = 0.0  # the effect stays, nothing is paid
    cost = T.cost_per_outcome(p, pair.twin)
    assert (cost["spend_eur"] == 0.0).all()
    assert (cost["cost_eur_per_unit"] == 0.0).all()
    assert (cost.loc[cost["scope"] == "economy", "effect"] > 0).any()
    s = T.summarise_costs(pd.concat([cost.assign(replication=r) for r in range(3)]))
    assert (s["cost_eur_per_unit"] == 0).all() and (s["ci_low"] == 0).all() \
        and (s["ci_high"] == 0).all()


def test_cost_per_outcome_values(pair):
    cost = T.cost_per_outcome(pair.policy, pair.twin, other_spend={"animation": 1e6})
    spend = pair.policy["grant_rd_eur"].sum()
    last = pair.policy[pair.policy["year"] == pair.policy["year"].max()]
    jobs = last["employment"].sum() - pair.twin.loc[last.index, "employment"].sum()
    eco = cost[(cost["scope"] == "economy")].set_index("outcome")
    assert eco.loc["jobs", "spend_eur"] == pytest.approx(spend + 1e6)
    assert eco.loc["jobs", "cost_eur_per_unit"] == pytest.approx((spend + 1e6) / jobs)
    assert np.isnan(eco.loc["new_firms", "cost_eur_per_unit"])  # no new firm: no cost figure
    rd = cost[(cost["scope"] == "beneficiaries") & (cost["instrument"] == "rd")].set_index(
        "outcome")
    assert rd.loc["jobs", "cost_eur_per_unit"] == pytest.approx(spend / jobs)
    inn = pair.policy["innovations"].sum() - pair.twin["innovations"].sum()
    assert rd.loc["innovations", "cost_eur_per_unit"] == pytest.approx(spend / inn)
    tr = cost[(cost["scope"] == "beneficiaries") & (cost["instrument"] == "training")]
    assert (tr["cost_eur_per_unit"] == 0.0).all()


def test_aggregate_effects_count_new_firms(pair):
    p = pair.policy
    extra = p[p["actor_id"] == 0].copy()
    extra = extra[extra["year"] >= 2007].assign(actor_id=10_000, birth_year=np.int16(2007))
    extra["origin"] = pd.Categorical(["partnership_spinoff"] * len(extra),
                                     categories=p["origin"].cat.categories)
    with_entrant = validate_panel(pd.concat([p, extra], ignore_index=True))
    agg = T.aggregate_effects(with_entrant, p).set_index(["outcome", "year"])["effect"]
    assert agg[("new_firms", 2007)] == 1 and agg.loc["new_firms"].sum() == 1
    assert agg[("firms_alive", 2012)] == 1
    # the entrant has no twin: the firm-level truth ignores it (born after the start)
    a = T.true_effects(with_entrant, pair.twin)
    b = T.true_effects(p, pair.twin)
    pd.testing.assert_frame_equal(a, b)


def _projects(rows):
    pr = pd.DataFrame(rows, columns=["project_id", "kind", "supported", "innovations", "members"])
    members = pr[["project_id", "members"]].explode("members").rename(
        columns={"members": "actor_id"}).astype({"actor_id": np.int64})
    return T.RunProjects(pr.drop(columns="members"), members)


def test_additionality_and_deadweight(pair):
    # policy run: actors 0, 1 in a supported pole project (3 innovations), actor 0 also in
    # an unsupported cluster partnership; twin: actor 0 does one project anyway
    run = _projects([(1, "pole", True, 3, [0, 1]), (2, "cluster", False, 0, [0, 5])])
    twin = _projects([(7, "cluster", False, 1, [0])])
    a = T.additionality(pair.policy, pair.twin, run, twin).set_index(["kind", "quantity"])
    row = a.loc[("all", "project_participations")]
    assert (row["n_beneficiaries"], row["supported"], row["with_policy"],
            row["without_policy"]) == (2, 2, 3, 1)
    assert row["additionality_share"] == pytest.approx(1.0)  # (3 - 1) / 2
    assert row["deadweight_share"] == pytest.approx(0.0)
    pole = a.loc[("pole", "project_participations")]
    assert (pole["with_policy"], pole["without_policy"]) == (2, 0)
    inn = a.loc[("all", "innovations")]
    i1 = pair.policy.loc[pair.policy["actor_id"].isin([0, 1]), "innovations"].sum()
    i0 = pair.twin.loc[pair.twin["actor_id"].isin([0, 1]), "innovations"].sum()
    # the project's 3 innovations are counted once (each member credited with its share)
    assert inn["supported"] == 3 and inn["additional"] == i1 - i0
    assert inn["deadweight_share"] == pytest.approx(1 - (i1 - i0) / 3)
    # the same projects with and without the policy: every supported one is deadweight
    same = T.additionality(pair.policy, pair.policy, run, run).set_index(["kind", "quantity"])
    assert same.loc[("all", "project_participations"), "deadweight_share"] == 1.0
    assert np.isnan(same.loc[("cluster", "project_participations"), "additionality_share"])


def test_input_additionality_of_the_rd_grants(pair):
    """Own R&D money per EUR of R&D grant of the pole beneficiaries: (P1 - P0) / S, with a
    crowding out (a negative share) when the twin's beneficiaries spent more of their own."""
    run = _projects([(1, "pole", True, 3, [0, 1]), (2, "cluster", False, 0, [0, 5])])
    twin = _projects([(7, "cluster", False, 1, [0])])
    policy, no = pair.policy.copy(), pair.twin.copy()
    year = int(policy["year"].min())
    first = (policy["year"] == year) & policy["actor_id"].isin([0, 1])
    policy.loc[policy["actor_id"].isin([0, 1]), "grant_rd_eur"] = 0.0
    policy.loc[first, "grant_rd_eur"] = 1e6
    policy.loc[first, "private_rd_eur"] = 5e5          # 1 MEUR of own R&D with 2 MEUR of grants
    no.loc[(no["year"] == year) & (no["actor_id"] == 0), "private_rd_eur"] = 2e5
    a = T.additionality(policy, no, run, twin).set_index(["kind", "quantity"])
    for kind in ("pole", "all"):
        row = a.loc[(kind, "private_rd_eur")]
        assert (row["supported"], row["with_policy"], row["without_policy"]) == (2e6, 1e6, 2e5)
        assert row["additionality_share"] == pytest.approx(0.4)  # (1.0 - 0.2) / 2.0
        assert np.isnan(row["deadweight_share"])
    assert ("cluster", "private_rd_eur") not in a.index
    no.loc[(no["year"] == year) & (no["actor_id"] == 0), "private_rd_eur"] = 3e6
    crowded = T.additionality(policy, no, run, twin).set_index(["kind", "quantity"])
    assert crowded.loc[("pole", "private_rd_eur"), "additionality_share"] == pytest.approx(-1.0)


def test_summarise_intervals():
    df = pd.DataFrame({"k": ["a"] * 5 + ["b"] * 4, "v": [1, 2, 3, 4, 10, 0, 0, 1, 1.0]})
    s = T.summarise(df, "v", ["k"]).set_index("k")
    x = np.array([1, 2, 3, 4, 10.0])
    half = stats.t.ppf(0.975, 4) * x.std(ddof=1) / np.sqrt(5)
    assert s.loc["a", "ci_low"] == pytest.approx(x.mean() - half)
    assert s.loc["a", "q_high"] == pytest.approx(np.quantile(x, 0.975))
    assert s.loc["b", "mean"] == 0.5 and s.loc["b", "n"] == 4


def test_score_by_hand():
    truth = pd.DataFrame({"replication": [0, 1, 2, 3], "treatment": "cluster",
                          "outcome": "employment", "true_effect": [1.0, 2.0, 3.0, 4.0]})
    est = pd.DataFrame({"replication": [0, 1, 2, 3], "treatment": "cluster",
                        "outcome": "employment", "estimator": "x",
                        "effect": [1.5, 2.5, np.nan, 3.0], "se": 0.1,
                        "ci_low": [0.9, 2.6, np.nan, 2.0], "ci_high": [1.8, 3.0, np.nan, 5.0]})
    s = T.score(est, truth).iloc[0]
    err = np.array([0.5, 0.5, -1.0])
    assert s["n_reps"] == 3 and s["failures"] == 1
    assert s["bias"] == pytest.approx(err.mean())
    assert s["rmse"] == pytest.approx(np.sqrt((err ** 2).mean()))
    assert s["coverage"] == pytest.approx(2 / 3)  # rep 1 misses: 2 is not in [2.6, 3]
    with pytest.raises(KeyError, match="no true effect"):
        T.score(est.assign(outcome="exports"), truth)


def test_treated_group_is_fixed_by_the_policy_run(pair):
    # the twin has no members at all; the treated are the policy run's members
    assert (pair.twin["cluster"] == -1).all()
    tr = T.true_effects(pair.policy, pair.twin, ("cluster",), ("employment",))
    n = tr[(tr["scope"] == "overall") & (tr["group"] == "treated")]["n_actors"].item()
    assert n == int((pair.cohorts > NEVER).sum())
