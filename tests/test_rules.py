"""The Region's rulebook (:mod:`sim.rules`): each rule on small hand-built states gives its
documented decision; metamorphic relations; the schema refuses unknown rules and keys; the
defaults are the baseline's rules."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from sim.loader import ScenarioError, load_scenario
from sim.rules import evaluation as ev
from sim.rules import funding as fu
from sim.rules import registry
from sim.rules.schema import (
    All,
    Any_,
    ByScore,
    CarryOver,
    Common,
    ConditionalRenewal,
    Criterion,
    Drop,
    Envelope,
    KOfN,
    Lapse,
    LaunchYears,
    LinearFloor,
    MatchedFees,
    PerCluster,
    PerMember,
    Probation,
    Reallocate,
    Stepwise,
    SubsidyCut,
    Sunset,
    Weighted,
    Withdraw,
)
from sim.scenario import Scenario

CRIT = [Criterion(indicator="members", min=40.0), Criterion(indicator="involvement", min=0.1),
        Criterion(indicator="partnerships_launched", min=3.0, weight=2.0)]


def test_every_rule_of_the_schema_has_its_function():
    """The names the schema accepts are the functions' names, kind by kind."""
    import typing

    from sim.rules import schema

    def tags(annotation):
        union = typing.get_args(annotation)[0]
        return {typing.get_args(m.model_fields["rule"].annotation)[0]
                for m in typing.get_args(union)}

    reg = registry()
    assert tags(schema.Combine) == set(reg["combine"])
    assert tags(schema.Consequence) | tags(schema.PoleConsequence) == set(reg["consequence"])
    assert tags(schema.Calendar) == set(reg["calendar"])
    assert tags(schema.Subsidy) == set(reg["subsidy"])
    assert tags(schema.Taper) == set(reg["taper"])
    assert tags(schema.PoleMoney) == set(reg["pole_money"])
    assert tags(schema.Recognition) == set(reg["recognition"])
    for kind in reg.values():
        for fn in kind.values():
            assert fn.__doc__, fn


# ------------------------------------------------------------------------------ combination
@pytest.mark.parametrize("values, want", [
    ([50, 0.2, 4], dict(all=True, any=True, k2=True, w=True)),
    ([30, 0.2, 4], dict(all=False, any=True, k2=True, w=True)),    # score (0.75+1+2)/4
    ([30, 0.05, 4], dict(all=False, any=True, k2=False, w=False)),  # score (0.75+.5+2)/4
    ([30, 0.05, 0], dict(all=False, any=False, k2=False, w=False)),
])
def test_combination_rules(values, want):
    assert ev.passes(values, CRIT, All())[0] is want["all"]
    assert ev.passes(values, CRIT, Any_(rule="any"))[0] is want["any"]
    assert ev.passes(values, CRIT, KOfN(rule="k_of_n", k=2))[0] is want["k2"]
    assert ev.passes(values, CRIT, Weighted(rule="weighted", pass_score=0.85))[0] is want["w"]


def test_weighted_score_by_hand():
    assert ev.score([30, 0.05, 6], CRIT) == pytest.approx((0.75 + 0.5 + 2 * 1.0) / 4)
    assert ev.score([0, 0, 0], CRIT) == 0.0
    assert ev.score([-5, 1, 3], CRIT) == pytest.approx(3 / 4)


def test_a_threshold_of_zero_drops_nothing_under_every_combination_rule():
    """Metamorphic: with every threshold at 0, every cluster passes, whatever its values and
    whatever the combination, and no consequence drops it."""
    g = np.random.default_rng(3)
    zero = [Criterion(indicator=i, min=0.0, weight=float(w)) for i, w in
            zip(("members", "involvement", "new_enterprises", "member_growth"), (1, 0, 3, 2),
                strict=True)]
    rules = [All(), Any_(rule="any"), Weighted(rule="weighted", pass_score=1.0)] + [
        KOfN(rule="k_of_n", k=k) for k in range(1, 5)]
    for _ in range(200):
        values = list(g.choice([0.0, 1e-9, 3.0, 1e6], size=4) * g.choice([0, 1], size=4))
        for rule in rules:
            passed, score = ev.passes(values, zero, rule)
            assert passed, (values, rule)
            assert score == 1.0
            for cons in (Drop(), Probation(rule="probation"), SubsidyCut(rule="subsidy_cut"),
                         ConditionalRenewal(rule="conditional_renewal")):
                assert ev.consequence(passed, ev.Record(), cons, 2004) != ev.DROPPED


# ------------------------------------------------------------------------------ consequences
def test_drop():
    assert ev.consequence(False, ev.Record(), Drop(), 2004) == ev.DROPPED
    assert ev.consequence(True, ev.Record(), Drop(), 2004) == ev.RENEWED


def test_probation_then_review():
    r = ev.Record()
    rule = Probation(rule="probation", review_years=1)
    assert ev.consequence(False, r, rule, 2004) == ev.PROBATION and r.probation_until == 2005
    assert ev.consequence(True, r, rule, 2005) == ev.RENEWED and r.probation_until == -1
    assert ev.consequence(False, r, rule, 2007) == ev.PROBATION
    assert ev.consequence(False, r, rule, 2008) == ev.DROPPED


def test_subsidy_cut_cumulates_restores_and_drops_after():
    r = ev.Record()
    rule = SubsidyCut(rule="subsidy_cut", cut=0.5, drop_after=3)
    assert ev.consequence(False, r, rule, 2004) == ev.CUT and r.subsidy_factor == 0.5
    assert ev.consequence(False, r, rule, 2007) == ev.CUT and r.subsidy_factor == 0.25
    assert ev.consequence(True, r, rule, 2010) == ev.RESTORED and r.subsidy_factor == 1.0
    for y in (2013, 2016):
        ev.consequence(False, r, rule, y)
    assert ev.consequence(False, r, rule, 2019) == ev.DROPPED
    keep = ev.Record()
    no_restore = SubsidyCut(rule="subsidy_cut", cut=0.5, restore=False)
    ev.consequence(False, keep, no_restore, 2004)
    assert ev.consequence(True, keep, no_restore, 2007) == ev.RENEWED
    assert keep.subsidy_factor == 0.5


def test_conditional_renewal():
    r = ev.Record()
    rule = ConditionalRenewal(rule="conditional_renewal", cut=0.3, review_years=2)
    assert ev.consequence(False, r, rule, 2004) == ev.CONDITIONAL
    assert r.subsidy_factor == pytest.approx(0.7) and r.probation_until == 2006
    assert ev.consequence(True, r, rule, 2006) == ev.RESTORED and r.subsidy_factor == 1.0
    ev.consequence(False, r, rule, 2009)
    assert ev.consequence(False, r, rule, 2011) == ev.DROPPED


def test_withdraw():
    assert ev.consequence(False, ev.Record(), Withdraw(), 2009) == ev.WITHDRAWN


# -------------------------------------------------------------------------------- calendars
def test_calendars():
    base = LaunchYears()
    assert [y for y in range(2001, 2013) if ev.due(y, 0, 2001, 0, base, 3)] == [2004, 2007,
                                                                              2010]
    assert [y for y in range(2001, 2013) if ev.due(y, 0, 2003, 0, base, 3)] == [2006, 2009,
                                                                              2012]
    common = Common(rule="common", first_year=2004, period_years=3, min_age_years=1)
    assert [y for y in range(2001, 2013) if ev.due(y, 0, 2003, 0, common, 3)] == [2004, 2007,
                                                                                2010]
    assert not ev.due(2004, 0, 2004, 0, common, 3)  # launched this year: too young
    per = PerCluster(rule="per_cluster", period_years=3)
    # launched in Q3 2001 (step 2): first evaluated at the end of 2004 (step 15), 13 quarters on
    assert next(t for t in range(3, 48, 4) if ev.due(0, t, 2001, 2, per, 3)) == 15
    # evaluated at the end of 2005 (a probation's review): the next in 2008 (step 31)
    assert next(t for t in range(23, 48, 4) if ev.due(0, t, 2001, 19, per, 3)) == 31


# ---------------------------------------------------------------------------------- funding
ANIM = SimpleNamespace(taper_per_year=0.05, taper_floor=0.5, subsidy_eur_per_year=150_000.0,
                       fee_cap_sme_eur=1_500.0, fee_cap_large_eur=6_000.0)
YEARS = np.arange(13)


def test_tapers():
    np.testing.assert_allclose(fu.linear_floor(YEARS, LinearFloor(), ANIM)[[0, 4, 10, 12]],
                               [1.0, 0.8, 0.5, 0.5])
    step = fu.stepwise(YEARS, Stepwise(rule="stepwise", step=0.2, period_years=3, floor=0.5),
                       ANIM)
    np.testing.assert_allclose(step[[0, 2, 3, 5, 6, 9, 12]], [1, 1, 0.8, 0.8, 0.6, 0.5, 0.5])
    sun = fu.sunset(YEARS, Sunset(rule="sunset", years=9), ANIM)
    assert sun[8] == pytest.approx(0.6) and (sun[9:] == 0).all()


CENSUS = np.zeros(3, [("members", np.int64), ("n_sme", np.int64), ("n_large", np.int64)])
CENSUS["members"], CENSUS["n_sme"], CENSUS["n_large"] = [60, 200, 10], [50, 150, 8], [5, 30, 0]
ACTIVE = np.array([True, True, False])
RATE = np.array([1.0, 0.5, 1.0])


def test_subsidy_rules():
    np.testing.assert_allclose(fu.flat(RATE, ACTIVE, CENSUS, None, None, ANIM),
                               [150_000, 75_000, 0])
    pm = PerMember(rule="per_member", eur_per_member=2_500.0, max_eur=300_000.0)
    np.testing.assert_allclose(fu.per_member(RATE, ACTIVE, CENSUS, None, pm, ANIM),
                               [150_000, 150_000, 0])  # 200 members capped at 300 k, half rate
    mf = MatchedFees(rule="matched_fees", ratio=2.0, max_eur=300_000.0)
    np.testing.assert_allclose(fu.matched_fees(RATE, ACTIVE, CENSUS, None, mf, ANIM),
                               [2 * (50 * 1500 + 5 * 6000), 0.5 * 300_000, 0])
    bs = ByScore(rule="by_score", min_share=0.25)
    np.testing.assert_allclose(fu.by_score(RATE, ACTIVE, CENSUS, np.array([0.5, 0.1, 1.0]),
                                           bs, ANIM), [75_000, 0.5 * 150_000 * 0.25, 0])


def test_a_competitive_envelope_hands_out_exactly_its_total():
    g = np.random.default_rng(5)
    for _ in range(200):
        n = int(g.integers(1, 15))
        active = g.random(n) < 0.7
        score = g.random(n) * (g.random(n) < 0.8)
        rate = g.uniform(0.0, 1.0, n)
        total = float(g.uniform(0, 1e7))
        got = fu.envelope(rate, active, None, score, Envelope(rule="envelope",
                                                               total_eur=total), ANIM)
        assert (got[~active] == 0).all() and (got >= 0).all()
        if active.any():
            assert got.sum() == pytest.approx(total, rel=1e-12)
        else:
            assert got.sum() == 0


def _spend_a_period(rule, seed: int, years: int = 4):
    """A budget period by hand: each year spends a random share of what is left at most its
    tranche ... or more; the rule at each year end but the last, where what is left lapses."""
    g = np.random.default_rng(seed)
    budget = g.uniform(1e6, 1e8, 5)
    remaining = budget.copy()
    spent = np.zeros(5)
    lapsed = np.zeros(5)
    for y in range(years):
        spend = remaining * g.uniform(0, 0.9, 5)
        remaining -= spend
        spent += spend
        if y == years - 1:
            lapsed += remaining
            break
        out_lapsed, carried, moved = fu.POLE_MONEY[rule.rule](remaining, budget,
                                                              years - 1 - y, years, rule)
        assert (remaining >= 0).all() and (carried >= 0).all()
        assert moved.sum() == pytest.approx(0.0, abs=1e-6)
        lapsed += out_lapsed
    return budget, spent, lapsed


@pytest.mark.parametrize("rule", [CarryOver(), Lapse(rule="lapse"),
                                  Reallocate(rule="reallocate")])
def test_pole_money_is_spent_or_lapses_never_twice(rule):
    """Metamorphic: over a budget period, what is spent plus what lapses is the budget, under
    every rule for unspent money (carried money is spent later or lapses at the end)."""
    for seed in range(30):
        budget, spent, lapsed = _spend_a_period(rule, seed)
        assert (spent + lapsed).sum() == pytest.approx(budget.sum(), rel=1e-12)
        if rule.rule != "reallocate":
            np.testing.assert_allclose(spent + lapsed, budget, rtol=1e-12)


def test_lapse_keeps_the_tranches_of_the_years_left():
    budget = np.full(5, 40.0)
    remaining = np.array([35.0, 10.0, 40.0, 0.0, 30.0])
    lapsed, _, _ = fu.lapse(remaining, budget, 2, 4, Lapse(rule="lapse"))
    np.testing.assert_allclose(remaining, [20, 10, 20, 0, 20])
    np.testing.assert_allclose(lapsed, [15, 0, 20, 0, 10])


def test_reallocate_moves_to_the_grant_instrument_that_spent_most():
    budget = np.full(5, 40.0)
    remaining = np.array([35.0, 10.0, 40.0, 30.0, 30.0])  # training spent most
    _, _, moved = fu.reallocate(remaining, budget, 2, 4, Reallocate(rule="reallocate"))
    np.testing.assert_allclose(moved, [-15, 35, -20, 0, 0])
    np.testing.assert_allclose(remaining, [20, 45, 20, 30, 30])


# ----------------------------------------------------------------------------------- schema
def _scenario(tmp_path, text: str):
    f = tmp_path / "v.toml"
    f.write_text('base = "baseline"\nname = "v"\n' + text)
    return load_scenario(f)


def test_unknown_rules_and_keys_are_refused(tmp_path):
    with pytest.raises(ScenarioError) as e:
        _scenario(tmp_path, '[policy.rules.evaluation]\ncombine = { rule = "most" }\n'
                            'consequence = { rule = "probation", review_year = 1 }\n'
                            '[policy.rules.animation]\nsubsidy = { rule = "flat", eur = 1.0 }\n')
    errors = e.value.errors
    assert any(x.startswith("policy.rules.evaluation.combine.rule: unknown name 'most' "
                            "(expected one of ") and "k_of_n" in x
               for x in errors), errors  # the expected names
    # the key's own path (no union tag in it), with the rule's keys as the hint
    assert ("policy.rules.evaluation.consequence.review_year: unknown key; did you mean "
            "'review_years'? (allowed here: review_years, rule)") in errors, errors
    assert any(x.startswith("policy.rules.animation.subsidy.eur: unknown key")
               for x in errors), errors
    # a name of the wrong type, however long, is quoted cut to size (found by the input fuzzer)
    with pytest.raises(ScenarioError) as e:
        huge = ", ".join(map(str, range(600)))
        _scenario(tmp_path, f"[policy.rules.animation]\nsubsidy = {{ rule = [{huge}] }}\n")
    line, = e.value.errors
    assert line.startswith("policy.rules.animation.subsidy.rule: unknown name '[0, 1, 2")
    assert len(line) < 250 and "'envelope'" in line, line


def test_k_of_n_cannot_ask_more_than_the_criteria(tmp_path):
    with pytest.raises(ScenarioError, match="k = 3 is more than the 2 criteria"):
        _scenario(tmp_path, '[policy.rules.evaluation]\ncombine = { rule = "k_of_n", k = 3 }\n'
                            'criteria = [{ indicator = "members", min = 1.0 },'
                            ' { indicator = "involvement", min = 0.1 }]\n')


def test_schedule_refuses_unknown_fixed_and_out_of_bounds_levers(tmp_path):
    with pytest.raises(ScenarioError) as e:
        _scenario(tmp_path, '[[policy.schedule]]\nyear = 2008\nset = { '
                            '"animation.subsidy" = 1.0, "poles.budget_rd_meur" = 2.0 }\n')
    assert "unknown lever policy.animation.subsidy" in str(e.value)
    assert "fixed when the run is built" in str(e.value)
    with pytest.raises(ScenarioError, match="greater than or equal to 0"):
        _scenario(tmp_path, '[[policy.schedule]]\nyear = 2008\n'
                            'set = { "animation.subsidy_eur_per_year" = -1.0 }\n')


def test_the_default_rulebook_is_the_baseline():
    sc = load_scenario()
    rb = sc.policy.rules
    assert rb.evaluation.criteria is None and rb.evaluation.combine is None
    assert isinstance(rb.evaluation.consequence, Drop)
    assert isinstance(rb.evaluation.calendar, LaunchYears)
    assert rb.animation.subsidy.rule == "flat" and rb.animation.taper.rule == "linear_floor"
    assert rb.pole_money.rule == "carry_over" and rb.recognition.rule == "pinned"
    assert not rb.pole_evaluation.enabled and sc.policy.schedule == []
    assert isinstance(Scenario.model_validate(sc.model_dump()), Scenario)


# ------------------------------------------------------------------------------- model runs
ROOT = Path(__file__).resolve().parents[1]
SMALL = {"run.scale": 0.25, "time.end_year": 2008}


def _run(path_or_sc, overrides=None, seed=1):
    from sim.model import ClusterModel

    sc = path_or_sc if isinstance(path_or_sc, Scenario) else load_scenario(
        path_or_sc, overrides={**SMALL, **(overrides or {})})
    m = ClusterModel(sc, seed=seed, handles=False)
    return m, m.run()


@pytest.mark.slow
def test_the_baseline_rules_written_out_give_the_same_run(tmp_path):
    """The baseline's rules spelled out in the scenario are the defaults: the same run."""
    f = tmp_path / "explicit.toml"
    f.write_text('base = "baseline"\nname = "explicit"\n'
                 '[policy.rules.evaluation]\n'
                 'criteria = [{ indicator = "members", min = 38.0 },'
                 ' { indicator = "involvement", min = 0.10 }]\n'
                 'combine = { rule = "all" }\nconsequence = { rule = "drop" }\n'
                 'calendar = { rule = "launch_years", period_years = 3 }\n'
                 '[policy.rules.animation]\nsubsidy = { rule = "flat" }\n'
                 'taper = { rule = "linear_floor" }\n'
                 '[policy.evaluation]\nmin_members = 38\n')
    m0, d0 = _run(None, {"policy.evaluation.min_members": 38})
    m1, d1 = _run(f)
    assert m0.evaluations == m1.evaluations
    assert d0["value"].to_numpy().tobytes() == d1["value"].to_numpy().tobytes()


@pytest.mark.slow
def test_probation_replaces_drops_and_is_recorded():
    m, df = _run(None, {"policy.rules.evaluation.consequence": {"rule": "probation"},
                        "policy.evaluation.min_members": 200})
    t = m.rulebook.table()
    first = t[(t.object == "cluster") & (t.process == "evaluation")].groupby("name").head(1)
    assert (first.decision[~first.passed.astype(bool)] == "probation").all()
    reviews = t[t.process == "review"]
    assert len(reviews) and set(reviews.decision) <= {"renewed", "dropped"}
    on_prob = df[(df.indicator == "clusters_on_probation") & (df.by == "total")]
    assert on_prob.value.sum() == (t.decision == "probation").sum()


@pytest.mark.slow
def test_schedule_changes_a_lever_from_its_year():
    m, df = _run(None, {"policy.schedule": [
        {"year": 2006, "set": {"animation.subsidy_eur_per_year": 0.0}}]})
    sub = df[(df.indicator == "animation_subsidy_eur") & (df.by == "total")].set_index("year")
    assert sub.value[2005] > 0 and sub.value[2006] == 0 and sub.value[2008] == 0
    assert (m.rulebook.table().decision == "policy_change").sum() == 1


@pytest.mark.slow
def test_pole_evaluation_withdraws_labels():
    m, df = _run(None, {"time.end_year": 2010, "policy.rules.pole_evaluation": {
        "enabled": True, "first_year": 2008, "criteria": [
            {"indicator": "funded_projects", "min": 1e6}]}})
    t = m.rulebook.table()
    assert (t[t.object == "pole"].decision == "label_withdrawn").any()
    w = df[(df.indicator == "poles_label_withdrawn") & (df.by == "total")]
    assert w.value.sum() == (t.decision == "label_withdrawn").sum()
    sel = df[(df.indicator == "poles_selected") & (df.by == "total")].set_index("year").value
    assert sel[2008] < sel[2007]


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["carry_over", "lapse", "reallocate"])
def test_pole_money_in_a_run_is_spent_or_lapses(rule):
    m, df = _run(None, {"time.end_year": 2010, "policy.rules.pole_money": {"rule": rule}})
    tot = df[df.by == "total"].groupby("indicator").value.sum()
    budget = m.poles.budget.sum()
    assert tot["pole_funding_eur"] + tot["pole_funds_lapsed_eur"] == pytest.approx(budget,
                                                                                   rel=1e-9)


def test_combinations_cover_the_names():
    """Every (combination, consequence) pair of the schema can be built."""
    for comb, cons in itertools.product(registry()["combine"], ("drop", "probation",
                                                                "subsidy_cut",
                                                                "conditional_renewal")):
        from sim.rules.schema import EvaluationRules

        EvaluationRules.model_validate({"combine": {"rule": comb}, "consequence": {"rule": cons},
                                        "criteria": [{"indicator": "members", "min": 1.0}]})


# ------------------------------------------------------------------------------ recognition
@pytest.mark.slow
def test_recognition_switched_off_creates_no_cluster():
    m, df = _run(None, {"policy.rules.recognition": {"rule": "none"}})
    created = df[(df.indicator == "clusters_created") & (df.by == "total")].value
    assert created.sum() == 0 and (m.clusters.status == 0).all()
    assert (m.actors.cluster[: m.actors.n] < 0).all()


@pytest.mark.slow
def test_both_modes_pinned_dates_and_bottom_up_recognition():
    """Pinned (the default): the scenario's launch years.  Bottom-up: the Region's
    recognitions decide the launches, within the quota and the budget, each recorded."""
    m0, d0 = _run(None)
    c0 = d0[(d0.indicator == "clusters_created") & (d0.by == "total")].set_index("year").value
    assert dict(c0[c0 > 0]) == {2001: 4, 2003: 3, 2004: 5}
    assert not len(m0.rulebook.table().query("process == 'recognition'"))
    rule = {"rule": "bottom_up", "per_year": 3, "budget_eur": 5 * 150_000.0}
    m1, d1 = _run(None, {"policy.rules.recognition": rule,
                         "behaviour.creation": {"min_founders": 12, "benefit_threshold": 0.6}})
    t = m1.rulebook.table()
    rec = t[t.process == "recognition"]
    got = rec[rec.decision == "recognised"].groupby("year").size()
    assert len(got) and (got <= 3).all()
    created = d1[(d1.indicator == "clusters_created") & (d1.by == "total")].set_index("year")
    assert created.value.sum() == len(rec[rec.decision == "recognised"])
    active = d1[(d1.indicator == "clusters_active") & (d1.by == "total")].value
    assert active.max() <= 5  # the budget: five clusters at full rate
    assert (rec[rec.decision == "refused"].reason.str.contains("at most|budget")).all()
    recognised = d1[(d1.indicator == "clusters_recognised") & (d1.by == "total")].value.sum()
    assert recognised == len(rec[rec.decision == "recognised"])


@pytest.mark.slow
def test_recognition_rounds_and_last_year():
    rule = {"rule": "bottom_up", "per_year": 4, "rounds": [2001, 2003], "last_year": 2003}
    _m, df = _run(None, {"policy.rules.recognition": rule})
    c = df[(df.indicator == "clusters_created") & (df.by == "total")].set_index("year").value
    assert set(c[c > 0].index) <= {2001, 2003}


@pytest.mark.slow
def test_pinned_pilots_launch_on_their_dates_and_the_rest_by_recognition():
    """``pinned_until``: the clusters the scenario dates in or before that year launch on their
    dates, outside the calls and without a decision; the others launch only when recognised,
    in a call.  With the default (1990) every date is cleared: no cluster in 2001."""
    rule = {"rule": "bottom_up", "per_year": 5, "rounds": [2003], "pinned_until": 2001}
    loose = {"behaviour.creation": {"min_founders": 12, "benefit_threshold": 0.6}}
    m, df = _run(None, {"policy.rules.recognition": rule, **loose})
    cl = m.clusters
    year = m.sc.time.start_year + cl.launch_step // 4
    pilots = {c.name for c in m.sc.clusters if c.launch_year <= 2001}
    assert len(pilots) == 4
    assert {n for n, y in zip(cl.names, year, strict=True) if y == 2001} == pilots
    rec = m.rulebook.table().query("process == 'recognition'")
    assert not set(rec.name) & pilots  # no decision on a pilot
    c = df[(df.indicator == "clusters_created") & (df.by == "total")].set_index("year").value
    assert c[2001] == 4 and set(c[c > 0].index) <= {2001, 2003}
    assert c.get(2003, 0) == (rec.decision == "recognised").sum() > 0
    _m0, d0 = _run(None, {"policy.rules.recognition": {**rule, "pinned_until": 1990}, **loose})
    c0 = d0[(d0.indicator == "clusters_created") & (d0.by == "total")].set_index("year").value
    assert c0.get(2001, 0) == 0 and set(c0[c0 > 0].index) <= {2003}


@pytest.mark.slow
def test_calibrated_creation_reproduces_the_cohorts_of_the_seed():
    """The creation process at its estimates (calibration/calibrated_creation.toml), in the
    historical replay, on 100 replications disjoint from the estimation's (0..19): the mean
    number of clusters launched in the calls of 2003 and 2004 is the seed's (3 and 5) within
    the targets' tolerance (0.5), and the four pilots launch in 2001.  Measured: 2.54 and 4.74
    (the estimation's own replications: 2.70 and 4.75); the 2003 call is close to its bound,
    so a change of the creation process or of the partnering before 2003 shows here first."""
    from sim.model import ClusterModel

    sc = load_scenario(ROOT / "scenarios" / "clusters_bottom_up_replay.toml",
                       overrides={"time.end_year": 2004})
    cohorts = []
    for r in range(100, 200):
        m = ClusterModel(sc, seed=20010101, replication=r, handles=False)
        m.run()
        year = sc.time.start_year + m.clusters.launch_step // 4
        cohorts.append([int((year == y).sum()) for y in (2001, 2003, 2004)])
    mean = np.mean(cohorts, axis=0)
    assert mean[0] == 4
    assert abs(mean[1] - 3) <= 0.5 and abs(mean[2] - 5) <= 0.5, mean


def test_no_group_level_driver_ranks_the_pilots_first():
    """Why the 2001 clusters are inputs (calibration/pilots.py): each group-level quantity of
    the first call puts at most one of the seed's four pilots among its first four groups, and
    two pilots' sectors sit inside later groups (food in nutrition, wood in eco-building), so
    any quantity added over the companies ranks the later group above the pilot."""
    from calibration.pilots import REPLAY, group_drivers

    rows = group_drivers(load_scenario(REPLAY))
    pilots = {r["cluster"] for r in rows if r["year"] == 2001}
    assert pilots == {"aeronautics", "automotive", "wood", "food_processing"}
    for key in ("companies", "large firms", "cooperation propensity", "companies x propensity",
                "universities + research centres"):
        top = sorted(rows, key=lambda r: (-r[key], r["cluster"]))[:4]
        assert sum(r["cluster"] in pilots for r in top) <= 1, (key, top)
    sectors = {c.name: set(c.sectors) for c in load_scenario(REPLAY).clusters}
    assert sectors["food_processing"] < sectors["nutrition"]
    assert sectors["wood"] < sectors["eco_building"]


@pytest.mark.slow
def test_without_the_pilots_the_calibrated_creation_launches_nothing():
    """The creation process was estimated with the pilots in place; without them (nothing
    pinned, the same calls) its estimates launch no cluster in 2001-2004 (the later clusters
    owe their launch to the pilots' demonstration effect; README, "the 2001 pilots")."""
    from calibration.pilots import CALLS, launches_without_pilots

    got = launches_without_pilots(5)
    assert all((got[y] == 0).all() for y in CALLS), got


@pytest.mark.slow
def test_a_pre_2001_history_does_not_rank_the_pilots_first():
    """Three years of partnering before 2001 (the replay from 1998, no cluster) give each group
    a record of recent cooperation; by share and by count it ranks at most two of the four
    pilots among the first four groups (measured on 20 replications: one by share, none by
    count; python -m calibration.pilots)."""
    from calibration.pilots import history_drivers

    hist = history_drivers(5)
    pilots = {"aeronautics", "automotive", "wood", "food_processing"}
    for key in ("recent cooperation share", "recently cooperating companies"):
        top = sorted(hist, key=lambda c: (-hist[c][key], c))[:4]
        assert len(set(top) & pilots) <= 2, (key, top)
    assert all(v["recent cooperation share"] > 0 for v in hist.values())  # a history exists


# -------------------------------------------------------------------------------- pole jury
def test_jury_rules_by_hand():
    from sim.state.codes import LARGE, SME, UNIVERSITY

    atype = np.array([SME, SME, LARGE, UNIVERSITY, SME], np.int8)
    members = np.array([[0, 1, 3, -1], [2, 3, -1, -1], [4, 0, 1, 2]])
    size = np.array([3, 2, 4])
    np.testing.assert_allclose(fu.sme_bonus(members, size, atype, 3, 0.3),
                               [0.3 * 2 / 3, 0.0, 0.3 * 3 / 4])
    assert (fu.sme_bonus(members, size, atype, 3, 0.0) == 0).all()
    np.testing.assert_allclose(fu.capped(np.array([1e6, 5e6]), 3e6), [1e6, 3e6])
    np.testing.assert_allclose(fu.capped(np.array([1e6, 5e6]), 0.0), [1e6, 5e6])
    request = np.array([2e6, 2e6, 4e6])
    # shares: 1e6 each to rows 0, 1; 2e6 to row 2; 1e6 to rows 4, 0, 1, 2
    got = fu.over_firm_cap(members, size, atype, 3, request, {0: 1.5e6}, 2e6)
    assert got.tolist() == [True, False, True]
    assert not fu.over_firm_cap(members, size, atype, 3, request, {0: 1.5e6}, 0.0).any()
