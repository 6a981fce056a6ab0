"""The calibration's method checks (issue 16): J's simulated distribution (calibration/overid.py),
the profiles of the objective (calibration/profiles.py) and the literature moments
(calibration/literature.py): their machinery on toy problems whose answer is known, and the
validation of a configuration's [[literature]] section.  Fast: no model run except one small
one (scale 0.2, to 2008) for the literature measurement."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibration import literature, overid, profiles, smm
from sim.cli import main
from sim.loader import ScenarioError

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------ J
def _linear_gaussian(seed: int, k: int = 6, p: int = 2):
    """m(theta) = A theta, data = A theta0 + e with e ~ N(0, diag(s^2)); the weighting
    diag(1/s^2) is then the optimal one and the re-optimised J is chi-square(k - p)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(k, p))
    s = rng.uniform(0.5, 2.0, size=k)
    w = 1 / s ** 2
    theta0 = np.array([1.0, -0.5])

    def j_at(theta, obs):
        return float(np.sum(w * (a @ theta - obs) ** 2))

    def fit(obs):  # weighted least squares: the exact minimiser
        sw = np.sqrt(w)
        theta, *_ = np.linalg.lstsq(a * sw[:, None], obs * sw, rcond=None)
        return theta

    return rng, a, s, theta0, j_at, fit


def test_j_distribution_is_chi_square_with_the_optimal_weighting():
    """With the optimal weighting and an exact re-optimisation, the simulated J is chi-square
    with K - P = 4 degrees of freedom (mean 4, 95% quantile 9.49); without re-optimisation it
    is larger (mean about K = 6, each draw at least its re-optimised value)."""
    rng, a, s, theta0, j_at, fit = _linear_gaussian(1)
    obs = a @ theta0 + rng.normal(size=6) * s
    theta_hat = fit(obs)
    pseudo = a @ theta_hat + rng.normal(size=(4000, 6)) * s
    re, at = overid.j_distribution(pseudo, lambda o: j_at(theta_hat, o),
                                   lambda o: j_at(fit(o), o))
    assert re.shape == at.shape == (4000,)
    assert abs(re.mean() - 4.0) < 0.25, re.mean()
    assert abs(np.quantile(re, 0.95) - 9.49) < 0.8
    assert abs(at.mean() - 6.0) < 0.3, at.mean()
    assert np.all(at >= re - 1e-9)


def test_j_p_value_rejects_a_misspecified_model_and_not_a_right_one():
    """The observed J's simulated p-value over 20 data sets: spread over (0, 1] when the data
    come from the model, below 0.05 every time when one moment is shifted by 8 of its standard
    deviations (a model that cannot fit it)."""
    rng, a, s, theta0, j_at, fit = _linear_gaussian(2)
    ok, bad = [], []
    for shift, out in ((0.0, ok), (8.0, bad)):
        for _ in range(20):
            obs = a @ theta0 + rng.normal(size=6) * s
            obs[0] += shift * s[0]
            th = fit(obs)
            pseudo = a @ th + rng.normal(size=(199, 6)) * s
            re, _ = overid.j_distribution(pseudo, lambda o, th=th: j_at(th, o),
                                          lambda o: j_at(fit(o), o))
            t = overid.JTest(j_at(th, obs), 6, 2, re, re, 0)
            out.append(t.p_value)
    # under the model the p-values are uniform: about 1 in 20 below 0.05 (seeded)
    assert np.median(ok) > 0.2 and np.sum(np.array(ok) < 0.05) <= 3
    assert max(bad) < 0.05


def test_simulated_p_value_counts_draws_at_least_as_large():
    assert overid.simulated_p_value(3.0, [1.0, 2.0, 3.0, 4.0]) == pytest.approx(3 / 5)
    assert overid.simulated_p_value(10.0, [1.0, 2.0]) == pytest.approx(1 / 3)
    assert math.isnan(overid.simulated_p_value(1.0, []))
    t = overid.JTest(5.0, 10, 3, np.array([1.0, 6.0]), np.array([2.0, 7.0]), 0)
    s = t.summary()
    assert s["degrees_of_freedom"] == 7 and s["draws"] == 2
    assert "not the optimal weighting" in s["weighting"]
    assert s["replications"] == f"{overid.J_REPLICATION_OFFSET}..{overid.J_REPLICATION_OFFSET + 1}"


def test_j_replications_are_disjoint_from_the_estimation_and_the_bootstrap():
    """The pseudo-observed data sets' replications lie above every replication the
    estimation (0..R-1) and the bootstrap (R..R+resamples-1) can use."""
    top = (smm.CalibrationConfig.model_fields["replications"].metadata[-1].le
           + smm.UncertaintySpec.model_fields["resamples"].metadata[-1].le)
    assert overid.J_REPLICATION_OFFSET > top


# ------------------------------------------------------------------------------ profiles
class _P:
    """A parameter spec as smm.ParameterSpec (quantize as the calibration does)."""

    def __init__(self, path, lower, upper, integer=False):
        self.path, self.lower, self.upper, self.is_int = path, lower, upper, integer
        self.span = upper - lower

    def quantize(self, v):
        v = min(max(float(v), self.lower), self.upper)
        return round(v) if self.is_int else round(v, 6)


def test_profile_grid_shape_and_bounds():
    p = _P("a.b", 0.0, 1.0)
    g = profiles.grid(p, 0.37, 11)
    assert len(g) == 12 and g == sorted(g) and g[0] == 0.0 and g[-1] == 1.0 and 0.37 in g
    assert profiles.grid(p, 0.5, 11) == sorted(set(profiles.grid(p, 0.5, 11)))
    assert len(profiles.grid(p, 0.5, 11)) == 11  # the estimate is a grid point
    q = _P("a.n", 15, 20, integer=True)
    gi = profiles.grid(q, 17, 11)
    assert gi == [15, 16, 17, 18, 19, 20] and all(isinstance(v, int) for v in gi)
    with pytest.raises(ValueError, match="at least 2 points"):
        profiles.grid(p, 0.5, 1)


def test_profile_of_a_quadratic_falls_then_rises_and_is_least_at_the_estimate(tmp_path):
    """J = sum_j c_j (x_j - x*_j)^2 + 0.5: each slice decreases to the estimate and increases
    after it; the flat share grows with a flatter curvature; the figure is written."""
    params = [_P("x.a", 0.0, 1.0), _P("x.b", -5.0, 5.0), _P("x.c", 10, 60, integer=True)]
    star = {"x.a": 0.3, "x.b": 1.0, "x.c": 40}
    curv = {"x.a": 100.0, "x.b": 0.01, "x.c": 1.0}

    def objective(cands):
        return [0.5 + sum(curv[k] * (c[k] - star[k]) ** 2 for k in star) for c in cands]

    df = profiles.profile(params, star, 9, objective)
    assert list(df.columns) == ["parameter", "value", "objective", "rise", "at_estimate"]
    for p in params:
        s = df[df["parameter"] == p.path].sort_values("value")
        assert s["at_estimate"].sum() == 1
        i = int(np.flatnonzero(s["at_estimate"].to_numpy())[0])
        j = s["objective"].to_numpy()
        assert np.all(np.diff(j[:i + 1]) < 0) and np.all(np.diff(j[i:]) > 0), (p.path, j)
        assert s["rise"].iloc[i] == 0.0 and (s["rise"] >= 0).all()
    summ = profiles.summary(df, params, threshold=1.0).set_index("parameter")
    assert not summ["min_below_estimate"].any()
    assert summ.loc["x.b", "flat_share"] > summ.loc["x.a", "flat_share"]
    png = profiles.figure(df, params, star, 0.5, tmp_path / "p.png", "toy", 1.0)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a slice whose grid holds a better point than the "estimate" says so
    off = dict(star, **{"x.a": 0.9})
    summ2 = profiles.summary(profiles.profile(params, off, 9, objective), params, 1.0)
    assert summ2.set_index("parameter").loc["x.a", "min_below_estimate"]


# ------------------------------------------------------------------------------ literature
GOOD = f"""
name = "lit"
scenario = "{ROOT}/scenarios/baseline.toml"
targets = "{ROOT}/calibration/targets/wallonia_2004_2006.toml"
replications = 4
end_year = 2006
write = "calibrated_lit.toml"

[[parameter]]
path = "behaviour.membership.benefit_base"
lower = -3.0
upper = -1.0

[[literature]]
name = "innovation likelihood of pole participants"
estimator = "twfe"
outcome = "innovator"
treatment = "pole"
scale = 100
unit = "percentage points"
low = 4.6
high = 5.7
last_year = 2012
source = "Falck, Heblich & Kipar 2010"

[literature_settings]
replications = 2
"""
# (edit of the good config, fragments that one error line must contain)
BAD = {
    "estimator": (('estimator = "twfe"', 'estimator = "twf"'),
                  ["literature[0].estimator: 'twf' is not a registered estimator of "
                   "sim/evaluation/estimators.py, did you mean 'twfe'?", "(expected one of naive, "
                   "twfe"]),
    "outcome": (('outcome = "innovator"', 'outcome = "innovators"'),
                ["literature[0].outcome: 'innovators' is not a panel outcome",
                 "did you mean 'innovator'?", "log_productivity"]),
    "treatment": (('treatment = "pole"', 'treatment = "poles"'),
                  ["literature[0].treatment: 'poles' is not a treatment group of "
                   "sim.evaluation.panel.TREATMENTS, did you mean 'pole'?"]),
    "inverted": (("low = 4.6\nhigh = 5.7", "low = 5.7\nhigh = 4.6"),
                 ["literature[0].high: 4.6 must be at least low (5.7)"]),
    "no_source": (('source = "Falck, Heblich & Kipar 2010"\n', ""),
                  ["literature[0].source: required key is missing"]),
    "unknown_key": (("scale = 100", "scal = 100"),
                    ["literature[0].scal: unknown key", "did you mean 'scale'?"]),
    "bad_scale": (("scale = 100", "scale = -1.0"),
                  ["literature[0].scale: Input should be greater than 0"]),
    "bad_type": (("low = 4.6", 'low = "4.6"'),
                 ["literature[0].low: Input should be a valid number", "(got '4.6')"]),
    "last_year": (("last_year = 2012", "last_year = 2030"),
                  ["literature[0].last_year: 2030 is outside the years of the literature runs "
                   "2002-2012 (see literature_settings.end_year)"]),
    "last_year_settings": (("replications = 2\n", "replications = 2\nend_year = 2009\n"),
                           ["literature[0].last_year: 2012 is outside the years of the "
                            "literature runs 2002-2009"]),
    "settings_key": (("replications = 2\n", "replication = 2\n"),
                     ["literature_settings.replication: unknown key"]),
    "settings_reps": (("replications = 2\n", "replications = 0\n"),
                      ["literature_settings.replications: Input should be greater than or "
                       "equal to 1"]),
    "twice": (("[literature_settings]", '''[[literature]]
name = "innovation likelihood of pole participants"
estimator = "naive"
outcome = "innovator"
treatment = "pole"
low = 0.0
high = 1.0
source = "x"

[literature_settings]'''), ["literature: a name is used twice: "
                            "['innovation likelihood of pole participants']"]),
    "profile_points": (("[literature_settings]", "[uncertainty]\nprofile_points = 1\n\n"
                                                 "[literature_settings]"),
                       ["uncertainty.profile_points: a profile needs at least 2 points"]),
    "j_draws": (("[literature_settings]", "[uncertainty]\nj_draws = -1\n\n"
                                          "[literature_settings]"),
                ["uncertainty.j_draws: Input should be greater than or equal to 0"]),
}


def test_the_good_literature_section_loads(tmp_path):
    f = tmp_path / "good.toml"
    f.write_text(GOOD)
    cfg = smm.load_config(f).config
    assert [s.name for s in cfg.literature] == ["innovation likelihood of pole participants"]
    assert cfg.literature[0].scale == 100 and cfg.literature_settings.replications == 2


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_literature_section_is_refused_with_a_precise_message(case, tmp_path, capsys):
    (old, new), fragments = BAD[case]
    assert old in GOOD, case
    f = tmp_path / f"{case}.toml"
    f.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(ScenarioError) as info:
        smm.load_config(f)
    assert info.value.source == str(f)
    assert any(all(frag in e for frag in fragments) for e in info.value.errors), (
        info.value.errors)
    assert main(["calibrate", str(f), "-j", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert fragments[0] in err and "Traceback" not in err
    assert not (tmp_path / "output").exists()


def test_literature_outcomes():
    panel = pd.DataFrame({"innovations": [0, 2, 1, 0], "employment": [10.0, 0.0, 5.0, 2.0],
                          "value_added": [1e6, 0.0, 5e5, 0.0], "exports": [0.0, 0.0, 1.0, 2.0],
                          **{c: 0.0 for c in __import__(
                              "sim.evaluation.panel", fromlist=["x"]).GRANT_COLUMNS}})
    p = literature.add_outcomes(panel)
    assert p["innovator"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert p["log_value_added"].iloc[0] == pytest.approx(math.log(1e6))
    assert np.isnan(p["log_value_added"].iloc[1]) and np.isnan(p["log_productivity"].iloc[3])
    assert p["log_productivity"].iloc[2] == pytest.approx(math.log(1e5))
    assert np.isnan(p["log_exports"].iloc[0]) and p["log_exports"].iloc[3] == pytest.approx(
        math.log(2.0))
    assert set(literature.LITERATURE_OUTCOMES) <= set(p.columns)


def test_literature_moment_is_the_estimator_on_the_run_panel(tmp_path):
    """measure() at a parameter vector equals the registered estimator applied by hand to the
    panel of the same run (replication 0 of the root seed, run to literature end_year), and the
    second call is read from the cache."""
    from sim.evaluation import estimators as est
    from sim.model import ClusterModel

    (tmp_path / "small.toml").write_text(
        f'base = "{ROOT / "scenarios" / "baseline.toml"}"\nname = "small"\n'
        '[run]\nscale = 0.2\n[time]\nend_year = 2008\n')
    cfg = tmp_path / "lit.toml"
    cfg.write_text(GOOD.replace(f'"{ROOT}/scenarios/baseline.toml"', '"small.toml"')
                   .replace("last_year = 2012\n", "").replace("replications = 2\n",
                                                               "replications = 1\n"))
    prob = smm.load_config(cfg)
    values = {"behaviour.membership.benefit_base": -2.5}
    tab, cost = literature.measure(prob, values, smm.SequentialExecutor())
    assert len(tab) == 1 and cost["replications"] == 1 and not cost["cached"]
    assert cost["end_year"] == 2008
    row = tab.iloc[0]
    sc = literature.scenario_document(prob, values, None)
    model = ClusterModel(sc, seed=prob.config.seed, replication=0, handles=False, panel=True)
    model.run()
    e = est.get("twfe").estimate(literature.add_outcomes(model.panel_frame()), "innovator",
                                 "pole")
    assert row["simulated"] == pytest.approx(100 * e.effect)
    assert row["method_se"] == pytest.approx(100 * e.se)
    assert row["within"] == (4.6 <= row["simulated"] <= 5.7)
    again, cost2 = literature.measure(prob, values, smm.SequentialExecutor())
    assert cost2["cached"] and again.equals(tab)


# ------------------------------------------------------------------------------ target weights
def test_a_target_weight_multiplies_its_moment_weight_and_is_validated(tmp_path):
    """``weight`` in a targets file multiplies the moment's weight in J (default 1); the
    creation process's two cohort counts carry 8; a weight of 0 is refused at its path."""
    from sim.targets import load_targets

    prob = smm.load_config(ROOT / "calibration" / "creation.toml")
    tw = prob.target_weight
    assert tw.tolist() == [8.0, 8.0] + [1.0] * (len(tw) - 2)
    m0 = np.array([[1.0, 2.0], [3.0, 2.5], [2.0, 4.0]])
    base = smm.weights(m0, np.array([0.5, 0.5]), np.array([2.0, 3.0]))
    obs = np.array([2.0, 3.0])
    j1 = smm.objective(m0, obs, base)
    j8 = smm.objective(m0, obs, base * np.array([8.0, 1.0]))
    gap = (m0.mean(axis=0) - obs) ** 2
    assert j8 - j1 == pytest.approx(7.0 * base[0] * gap[0])
    f = tmp_path / "t.toml"
    f.write_text('[[target]]\nindicator = "members_total"\nyear = 2006\nvalue = 790\n'
                 'rel_tolerance = 0.1\nweight = 0.0\nsource = "seed"\n')
    with pytest.raises(ScenarioError) as e:
        load_targets(f)
    assert "target[0].weight: Input should be greater than 0 (got 0.0)" in str(e.value)
