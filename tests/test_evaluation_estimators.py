"""The evaluator's estimators on synthetic panels with a known effect
(sim/evaluation/estimators.py, sim/evaluation/synthetic.py).

Statistical tests use declared seeds and tolerances: they are deterministic (same draws every
run) and their tolerances are set from the binomial / Monte Carlo error of the quantity, so a
correct estimator passes with a wide margin and a broken one fails.

The Monte Carlo studies (20 to 200 replications, each a synthetic pair, its true effects and
the estimators: 10 s to a minute on a loaded 2-core machine) are marked slow: the full suite
runs them; the quick subset keeps the exact recoveries on noiseless panels and the bookkeeping.
The coverage study of every estimator (two-way FE included) is a command,
``python -m benchmarks.estimators``: at 60 replications CI runs it (``.ci/run``; about 40 s),
at 200 its bounds are tighter (4.5 minutes); the suite runs it in a small configuration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.evaluation import estimators as E
from sim.evaluation.synthetic import SyntheticDesign, effect_path, monte_carlo, synthetic_pair
from sim.evaluation.truth import score

DID = ("twfe", "twfe_sector_year", "event_study", "sun_abraham", "did2s", "psm_did", "ipw_did")
SEED = 20260  # root seed of every Monte Carlo here; replication r uses spawn key r


def _noiseless(**kw) -> SyntheticDesign:
    return SyntheticDesign(n_firms=120, first_year=2001, last_year=2010,
                           cohorts=(2004, 2006, 2008), noise_sd=0.0, rho=0.0,
                           firm_trend_sd=0.0, sector_trend=0.0, **kw)


def test_registry_takes_a_user_estimator():
    class Gap:
        name = "test_gap"

        def estimate(self, panel, outcome, treatment):
            df = E.prepare(panel, outcome, treatment)
            d = df.loc[df["D"] == 1, "y"].mean() - df.loc[df["g"] == 0, "y"].mean()
            return E.Estimate(d, np.nan, np.nan, np.nan, len(df))

    try:
        E.register(Gap())
        with pytest.raises(KeyError, match="already registered"):
            E.register(Gap())
        pair = synthetic_pair(_noiseless(), seed=1)
        out = E.run_estimators(pair.policy, ("employment",), "cluster", ("test_gap", "twfe"))
        assert list(out["estimator"]) == ["test_gap", "twfe"] and out["error"].eq("").all()
    finally:
        E.REGISTRY.pop("test_gap", None)
    with pytest.raises(TypeError, match="estimate"):
        E.register(object())
    with pytest.raises(KeyError, match="unknown estimator 'nope'; registered: naive"):
        E.get("nope")
    assert set(E.DEFAULT_SET) <= set(E.REGISTRY)


def test_failures_are_rows_not_gaps():
    pair = synthetic_pair(_noiseless(), seed=1)
    p = pair.policy.assign(cluster=np.int16(-1), cluster_since=np.int16(-1))  # nobody treated
    out = E.run_estimators(p, ("employment", "missing_outcome"), "cluster", ("twfe",))
    assert out["effect"].isna().all()
    assert "no treated actor-years" in out["error"].iloc[0]
    assert "is not a panel column" in out["error"].iloc[1]


@pytest.mark.parametrize("name", DID)
def test_noiseless_constant_effect_is_recovered_exactly(name):
    pair = synthetic_pair(_noiseless(effects={"employment": 2.5}), seed=3)
    e = E.get(name).estimate(pair.policy, "employment", "cluster")
    # did2s predicts the first stage from fixed effects that pyfixest recovers iteratively
    # (to about 1e-5 of their size, 40-100 FTE here): exact to a few 1e-4 only
    tol = 2e-3 if name == "did2s" else 1e-6
    assert e.effect == pytest.approx(2.5, abs=tol)
    assert e.ci_low - tol <= 2.5 <= e.ci_high + tol and e.n > 0  # width ~0: no noise
    assert e.details["n_treated_firms"] == int((pair.cohorts > 0).sum())


def test_noiseless_dynamic_effect_staggered_estimators_vs_twfe():
    """With an effect that grows with time since joining and staggered cohorts, the
    heterogeneity-robust estimators recover the ATT exactly; static TWFE does not (its
    forbidden comparisons use early joiners as controls: Goodman-Bacon 2021)."""
    path = [0.0, 2.0, 4.0, 6.0, 8.0]
    pair = synthetic_pair(_noiseless(effects={"employment": path}), seed=4)
    g = pair.cohorts.reindex(pair.policy["actor_id"]).to_numpy()
    y = pair.policy["year"].to_numpy()
    att = effect_path(path, (y - g)[(g > 0) & (y >= g)]).mean()
    for name in ("sun_abraham", "did2s", "event_study"):
        e = E.get(name).estimate(pair.policy, "employment", "cluster")
        assert e.effect == pytest.approx(att, abs=2e-3 if name == "did2s" else 1e-6), name
    tw = E.get("twfe").estimate(pair.policy, "employment", "cluster")
    assert abs(tw.effect - att) > 0.5
    es = E.get("event_study").estimate(pair.policy, "employment", "cluster")
    lags = es.details["path"].set_index("event_time")["estimate"]
    np.testing.assert_allclose(lags.loc[[0, 1, 2, 3]].to_numpy(), path[:4], atol=1e-6)
    np.testing.assert_allclose(lags.loc[[-5, -4, -3, -2]].to_numpy(), 0.0, atol=1e-6)


@pytest.mark.slow  # a Monte Carlo study of the estimator (see the module's docstring)
def test_the_coverage_study_runs_every_estimator():
    """The coverage study of every registered estimator (``benchmarks/estimators.py``) in a
    small configuration, 12 replications: every estimator is scored on every replication, no
    estimate fails, the reported standard errors are positive and the errors finite.  The
    study's checks (bias within 3 Monte Carlo standard errors, coverage within 3 binomial
    standard errors of 0.95, mean standard error within 30% of the spread) need 60
    replications (30 to 40 s of the suite until 2026-12-06): CI runs them as a command,
    ``python -m benchmarks.estimators --reps 60`` (``.ci/run``), which exits 1 when one
    fails; at 200 replications they are tighter."""
    from benchmarks.estimators import bounds, study

    s = study(12)
    assert (s["n_reps"] == 12).all() and len(s) == len(E.REGISTRY)
    assert (s["failures"] == 0).all(), s["failures"].to_dict()
    assert np.isfinite(s[["bias", "bias_mcse", "sd_error"]].to_numpy()).all()
    assert (s["mean_se"] > 0).all()
    assert bounds(60)["coverage_low"] == pytest.approx(0.866, abs=1e-3)


@pytest.mark.slow  # a Monte Carlo study of the estimator (see the module's docstring)
def test_declining_selection_biases_naive_down_and_did_corrects():
    """Treatment planted on firms of declining sectors (Martin, Mayer & Mayneris 2011):
    the naive comparison is biased downwards, and so is DiD with common year effects (the
    decline goes on after joining); DiD with sector-by-year effects, or after matching on
    the pre-period growth, is unbiased (3 Monte Carlo standard errors) and covers."""
    d = SyntheticDesign(n_firms=200, selection="declining", effects={"employment": 2.0})
    est, truth = monte_carlo(d, 40, seed=SEED, estimators=("naive", "twfe",
                                                            "twfe_sector_year", "psm_did"))
    s = score(est, truth).set_index("estimator")
    assert (s["failures"] == 0).all()  # e.g. a sector without members must not stop the logit
    assert s.loc["naive", "bias"] + 3 * s.loc["naive", "bias_mcse"] < 0
    assert s.loc["naive", "bias"] < -1.0
    assert s.loc["twfe", "bias"] + 3 * s.loc["twfe", "bias_mcse"] < 0
    for name in ("twfe_sector_year", "psm_did"):
        assert abs(s.loc[name, "bias"]) <= 3 * s.loc[name, "bias_mcse"], name
        assert abs(s.loc[name, "bias"]) < 0.25 * abs(s.loc["naive", "bias"]), name
        assert s.loc[name, "coverage"] >= 0.85, name


@pytest.mark.slow  # a Monte Carlo study of the estimator (see the module's docstring)
def test_champion_selection_biases_naive_up_and_fixed_effects_correct():
    """Treatment planted on firms with high levels (juries picking winners, Fontagné et al.
    2013): the naive comparison is biased upwards; firm fixed effects remove it."""
    d = SyntheticDesign(n_firms=200, selection="champions", effects={"employment": 2.0})
    est, truth = monte_carlo(d, 40, seed=SEED, estimators=("naive", "twfe"))
    s = score(est, truth).set_index("estimator")
    assert s.loc["naive", "bias"] - 3 * s.loc["naive", "bias_mcse"] > 0
    assert abs(s.loc["twfe", "bias"]) <= 3 * s.loc["twfe", "bias_mcse"]
    assert s.loc["twfe", "coverage"] >= 0.85


@pytest.mark.slow  # a Monte Carlo study of the estimator (see the module's docstring)
def test_event_study_flags_the_pretrend_of_declining_selection():
    """The joint test of the leads rejects (p < 0.05) in most replications when members
    are on a declining path, and rarely without selection."""
    def pvals(selection):
        d = SyntheticDesign(n_firms=200, selection=selection, effects={"employment": 2.0})
        return np.array([E.get("event_study").estimate(synthetic_pair(d, seed=SEED, key=r)
                                                       .policy, "employment", "cluster")
                         .details["pretrend_p"] for r in range(20)])
    assert (pvals("declining") < 0.05).mean() >= 0.7
    assert (pvals("none") < 0.05).mean() <= 0.2


def test_always_treated_actors_are_dropped_with_a_count():
    pair = synthetic_pair(_noiseless(effects={"employment": 1.0}), seed=5)
    p = pair.policy.copy()
    first = int(pair.cohorts[pair.cohorts > 0].index[0])
    row = p["actor_id"] == first
    p.loc[row, "cluster"] = np.int16(0)
    p.loc[row, "cluster_since"] = np.int16(2001)  # a member from the panel's first year
    e = E.get("twfe").estimate(p, "employment", "cluster")
    assert e.details["always_treated_dropped"] == 1


def test_estimators_see_only_living_firms():
    pair = synthetic_pair(_noiseless(effects={"employment": 1.0}), seed=6)
    p = pair.policy.copy()
    dead = p["year"] >= 2009
    dead &= p["actor_id"].isin(pair.cohorts.index[pair.cohorts == 0][:5])
    for c in ("employment", "value_added", "exports", "innovations"):
        p.loc[dead, c] = 0
    p.loc[dead, "alive"] = False
    p.loc[dead, "exporter"] = False
    e = E.get("twfe").estimate(p, "employment", "cluster")
    assert e.n == len(p) - int(dead.sum())
    assert e.effect == pytest.approx(1.0, abs=1e-6)  # zeros of the dead would bias it


def test_explicit_cohorts_as_treatment():
    pair = synthetic_pair(_noiseless(effects={"employment": 1.5}), seed=7)
    e = E.get("twfe").estimate(pair.policy, "employment", pd.Series(pair.cohorts, name="mine"))
    assert e.effect == pytest.approx(1.5, abs=1e-6)
