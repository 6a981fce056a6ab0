"""The evaluator's estimators, as a small API that a user can extend.

An estimator takes a firm panel (:mod:`sim.evaluation.panel`), an outcome column and a
treatment (a group of :data:`sim.evaluation.panel.TREATMENTS`, or explicit cohorts) and
returns an :class:`Estimate`: a point estimate of the average effect on the treated over their
treated years, its standard error and 95% confidence interval as the method reports them, the
number of observations, and method-specific details.  It sees only what an evaluator would
see: the policy run's panel, restricted to the actors alive in each year (firm accounts exist
only for living firms).  It never sees the twin.

Built in (``reference/evaluation.md``, "Methods an evaluator applies"), all regressions by
`pyfixest <https://pyfixest.org>`_ (fixed effects, clustered errors, did2s) and the
propensity model by statsmodels; standard errors are clustered by firm:

========================  ==============================================================
``naive``                 members against non-members after the policy starts: a pooled
                          difference of means (what a cluster brochure reports)
``twfe``                  two-way fixed-effects DiD, firm and year effects
``twfe_sector_year``      the same with sector-by-year effects (Martin, Mayer & Mayneris
                          2011 control for the sector's own path)
``event_study``           leads and lags around the year of joining (firm and year
                          effects); the effect is the treated-weighted mean of the lags,
                          ``details`` hold the path and a joint test of the leads
``sun_abraham``           staggered adoption: cohort-by-event-time interactions against the
                          never treated (Sun & Abraham 2021), aggregated to the ATT with the
                          cohorts' shares of treated firm-years
``did2s``                 staggered adoption: Gardner's two-stage imputation with its GMM
                          standard errors (pyfixest ``did2s``); slow and memory-hungry at the
                          baseline's size (see the module's timing note), so not in the
                          default set
``psm_did``               propensity score of ever joining on pre-treatment
                          characteristics (statsmodels logit), one-to-one nearest-neighbour
                          matching with replacement within a caliper, then two-way FE DiD on
                          the matched sample (the French pole evaluations' approach)
``ipw_did``               the same propensity score used as ATT weights p/(1-p) on the
                          never treated, then weighted two-way FE DiD
========================  ==============================================================

Add your own::

    from sim.evaluation import estimators as est

    class LastYearGap:
        name = "last_year_gap"
        def estimate(self, panel, outcome, treatment):
            ...
            return est.Estimate(effect, se, lo, hi, n, {})

    est.register(LastYearGap())

Timing note (``python -m sim.evaluation.timing``: 4,000 firms x 12 years, the baseline's
size; medians of interleaved rounds on the shared 2-core development machine, two runs):
naive 0.02-0.03 s, twfe 0.03-0.04 s, twfe_sector_year 0.06 s, event_study 0.06-0.11 s,
sun_abraham 0.4-0.8 s, psm_did 0.07-0.14 s, ipw_did 0.12-0.17 s, and did2s 6.7-7.8 s with
4.4 GiB of peak memory (its variance builds dense actor-years x firms matrices; it grows
with the square of the panel, so it is left out of :data:`DEFAULT_SET`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from sim.evaluation.panel import NEVER, add_derived, cohort_of

Z95 = 1.959963984540054  # standard normal 97.5% quantile


@dataclass(frozen=True)
class Estimate:
    """What an estimator reports.

    Attributes
    ----------
    effect : float
        Estimated average effect on the treated over their treated years (outcome's unit).
    se : float
        Its standard error as the method reports it.
    ci_low, ci_high : float
        The method's 95% confidence interval.
    n : int
        Observations (actor-years) used.
    details : dict
        Method-specific extras (number of firms and treated firms, event-time path,
        pre-trend test, propensity-model summary, ...).
    """

    effect: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Estimator(Protocol):
    """The estimator API: a ``name`` and ``estimate(panel, outcome, treatment)``."""

    name: str

    def estimate(self, panel: pd.DataFrame, outcome: str, treatment: str | pd.Series
                 ) -> Estimate:
        """Estimate the average effect on the treated of ``treatment`` on ``outcome``."""
        ...


class EstimationError(RuntimeError):
    """An estimator cannot run on this panel (no treated firms, no controls, ...)."""


REGISTRY: dict[str, Estimator] = {}
DEFAULT_SET = ("naive", "twfe", "twfe_sector_year", "event_study", "sun_abraham", "psm_did",
               "ipw_did")


def register(estimator: Estimator, name: str | None = None, *, replace: bool = False
             ) -> Estimator:
    """Add an estimator to :data:`REGISTRY` under ``name`` (default ``estimator.name``)."""
    if not isinstance(estimator, Estimator):
        raise TypeError("an estimator needs a `name` and an `estimate(panel, outcome, "
                        "treatment)` method")
    key = name or estimator.name
    if key in REGISTRY and not replace:
        raise KeyError(f"estimator {key!r} is already registered (replace=True to override)")
    REGISTRY[key] = estimator
    return estimator


def get(name: str) -> Estimator:
    """The registered estimator called ``name``."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown estimator {name!r}; registered: {', '.join(REGISTRY)}"
                       ) from None


# ---------------------------------------------------------------------------------------
# shared preparation

def prepare(panel: pd.DataFrame, outcome: str, treatment: str | pd.Series) -> pd.DataFrame:
    """The evaluator's estimation frame: alive actor-years with the outcome ``y``, the cohort
    ``g`` (first treated year, 0 never), the treated indicator ``D = 1[year >= g > 0]``,
    the event time ``rel`` (NaN for the never treated) and ``sector``.

    Raises
    ------
    EstimationError
        When the outcome is missing or there are no treated or no never-treated actors.
    """
    if outcome not in panel.columns:
        panel = add_derived(panel)
    if outcome not in panel.columns:
        raise EstimationError(f"outcome {outcome!r} is not a panel column nor a derived one")
    cohorts = cohort_of(panel, treatment)
    alive = panel["alive"].to_numpy(dtype=bool)
    df = pd.DataFrame({
        "actor_id": panel["actor_id"].to_numpy()[alive],
        "year": panel["year"].to_numpy(dtype=np.int64)[alive],
        "sector": panel["sector"].to_numpy(dtype=np.int64)[alive],
        "y": panel[outcome].to_numpy(dtype=float)[alive],
    })
    df = df[np.isfinite(df["y"].to_numpy())]
    df["g"] = cohorts.reindex(df["actor_id"]).to_numpy()
    g = df["g"].to_numpy()
    df["D"] = ((g > NEVER) & (df["year"].to_numpy() >= g)).astype(np.int64)
    df["rel"] = np.where(g > NEVER, df["year"].to_numpy() - g, np.nan)
    if not df["D"].any():
        raise EstimationError(f"no treated actor-years for treatment {_tname(treatment)}")
    if not (df["g"] == NEVER).any():
        raise EstimationError(f"no never-treated actors for treatment {_tname(treatment)}")
    return df.reset_index(drop=True)


def _tname(treatment) -> str:
    return treatment if isinstance(treatment, str) else str(treatment.name)


def _drop_always_treated(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop actors treated in every year they are observed (no pre-period: a fixed-effects
    DiD cannot use them); return the frame and how many actors were dropped."""
    first_seen = df.groupby("actor_id")["year"].transform("min")
    always = (df["g"] > NEVER) & (df["g"] <= first_seen)
    return df[~always].reset_index(drop=True), int(df.loc[always, "actor_id"].nunique())


def _counts(df: pd.DataFrame) -> dict[str, int]:
    return {"n_firms": int(df["actor_id"].nunique()),
            "n_treated_firms": int(df.loc[df["g"] > NEVER, "actor_id"].nunique()),
            "n_treated_obs": int(df["D"].sum())}


def _pyfixest():
    """pyfixest, imported without its side effect on logging: one of its modules calls
    ``logging.basicConfig(level=INFO)`` when first imported, which would make every library's
    INFO messages print.  A placeholder root handler turns that call into a no-op."""
    import pyfixest as pf

    root = logging.getLogger()
    guard = None if root.handlers else logging.NullHandler()
    if guard is not None:
        root.addHandler(guard)
    try:
        import pyfixest.estimation  # the module that configures logging
    finally:
        if guard is not None:
            root.removeHandler(guard)
    return pf


def _feols(fml: str, data: pd.DataFrame, weights: str | None = None):
    pf = _pyfixest()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collinearity notes on absorbed dummies
        return pf.feols(fml, data=data, vcov={"CRV1": "actor_id"}, weights=weights)


def _from_fit(fit, coef: str, n: int, details: dict) -> Estimate:
    b = float(fit.coef()[coef])
    se = float(fit.se()[coef])
    ci = fit.confint()
    return Estimate(b, se, float(ci.loc[coef].iloc[0]), float(ci.loc[coef].iloc[1]), n, details)


def _lincomb(fit, weights: pd.Series, n: int, details: dict) -> Estimate:
    """The linear combination ``w'b`` of a fit's coefficients with its clustered variance
    (normal interval, as pyfixest's own event-study aggregation)."""
    names = list(fit.coef().index)
    w = weights.reindex(names).fillna(0.0).to_numpy()
    b = fit.coef().to_numpy()
    # pyfixest keeps the coefficients' covariance in `_vcov` (documented attribute; its own
    # SaturatedEventStudy.aggregate reads it the same way)
    se = float(np.sqrt(w @ fit._vcov @ w))
    eff = float(w @ b)
    return Estimate(eff, se, eff - Z95 * se, eff + Z95 * se, n, details)


# ---------------------------------------------------------------------------------------
# the estimators

@dataclass(frozen=True)
class Naive:
    """Members against non-members after the policy starts (what a brochure reports).

    The pooled difference of mean outcome between treated actor-years and the other
    actor-years of the years from the first cohort's year on (not-yet members count as
    non-members), by OLS of ``y`` on ``D`` with firm-clustered errors.
    """

    name: str = "naive"

    def estimate(self, panel, outcome, treatment):
        df = prepare(panel, outcome, treatment)
        start = int(df.loc[df["g"] > NEVER, "g"].min())
        post = df[df["year"] >= start]
        fit = _feols("y ~ D", post)
        return _from_fit(fit, "D", int(fit._N), {**_counts(post), "from_year": start})


@dataclass(frozen=True)
class TWFE:
    """Two-way fixed-effects DiD: ``y ~ D | actor_id + year`` (or the fixed effects given),
    errors clustered by firm.  Actors treated from their first observed year are dropped."""

    name: str = "twfe"
    fixed_effects: str = "actor_id + year"

    def estimate(self, panel, outcome, treatment):
        df, dropped = _drop_always_treated(prepare(panel, outcome, treatment))
        fit = _feols(f"y ~ D | {self.fixed_effects}", df)
        return _from_fit(fit, "D", int(fit._N), {**_counts(df), "always_treated_dropped":
                                                 dropped, "fixed_effects": self.fixed_effects})


@dataclass(frozen=True)
class EventStudy:
    """Event study around the year of joining, firm and year effects, firm-clustered errors.

    Event-time dummies for ``-leads..lags`` (the end points bin everything beyond them;
    event time -1 is the reference; the never treated have all dummies 0).  The reported
    effect is the mean of the lag coefficients weighted by their treated actor-years;
    ``details["path"]`` holds every coefficient, ``details["pretrend_p"]`` the p-value of
    the joint Wald test that the leads are zero.
    """

    name: str = "event_study"
    leads: int = 5
    lags: int = 5

    def estimate(self, panel, outcome, treatment):
        df, dropped = _drop_always_treated(prepare(panel, outcome, treatment))
        rel = np.clip(df["rel"].to_numpy(), -self.leads, self.lags)
        terms = []
        for k in range(-self.leads, self.lags + 1):
            if k == -1:
                continue
            col = f"lead{-k}" if k < 0 else f"lag{k}"
            df[col] = (rel == k).astype(np.int8)  # NaN (never treated) compares False
            if df[col].any():
                terms.append((k, col))
        fit = _feols("y ~ " + " + ".join(c for _, c in terms) + " | actor_id + year", df)
        kept = set(fit.coef().index)
        terms = [(k, c) for k, c in terms if c in kept]
        ci = fit.confint()
        path = pd.DataFrame({
            "event_time": [k for k, _ in terms],
            "estimate": [float(fit.coef()[c]) for _, c in terms],
            "se": [float(fit.se()[c]) for _, c in terms],
            "ci_low": [float(ci.loc[c].iloc[0]) for _, c in terms],
            "ci_high": [float(ci.loc[c].iloc[1]) for _, c in terms],
            "n_obs": [int(df[c].sum()) for _, c in terms],
        })
        lead_cols = [c for k, c in terms if k < 0]
        pre_p = float("nan")
        if lead_cols:
            names = list(fit.coef().index)
            R = np.zeros((len(lead_cols), len(names)))
            for i, c in enumerate(lead_cols):
                R[i, names.index(c)] = 1.0
            pre_p = float(fit.wald_test(R=R, distribution="chi2")["pvalue"])
        lag = path[path["event_time"] >= 0]
        w = pd.Series(lag["n_obs"].to_numpy() / lag["n_obs"].sum(),
                      index=[c for k, c in terms if k >= 0])
        return _lincomb(fit, w, int(fit._N), {**_counts(df), "always_treated_dropped": dropped,
                                              "path": path, "pretrend_p": pre_p})


@dataclass(frozen=True)
class SunAbraham:
    """Sun & Abraham (2021) interaction-weighted estimator for staggered adoption.

    pyfixest's saturated event study (every cohort x event-time cell against the never
    treated, event time -1 as reference, firm and year effects, firm-clustered errors); the
    ATT is the average of the post-treatment cells weighted by their treated actor-years.
    ``details["by_cohort"]`` holds each cohort's weighted post-treatment effect.
    """

    name: str = "sun_abraham"

    def estimate(self, panel, outcome, treatment):
        pf = _pyfixest()
        df, dropped = _drop_always_treated(prepare(panel, outcome, treatment))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "currently in beta" and collinearity notes
            fit = pf.event_study(df, yname="y", idname="actor_id", tname="year", gname="g",
                                 estimator="saturated", cluster="actor_id")
        names = list(fit.coef().index)
        parsed = fit.coef().index.to_series().str.extract(
            r"rel_time::(?P<l>-?[\d.]+):first_treated_period::(?P<g>\d+)$")
        cells = df[df["D"] == 1].groupby(["g", "rel"]).size()
        w = pd.Series(0.0, index=names)
        for name, (lv, gv) in parsed.iterrows():
            if pd.isna(lv):
                continue
            key = (int(gv), float(lv))
            if key[1] >= 0 and key in cells.index:
                w[name] = cells[key]
        if w.sum() == 0:
            raise EstimationError("no post-treatment cohort cells could be estimated")
        by_cohort = {}
        for gv in sorted({int(x) for x in parsed["g"].dropna()}):
            mask = (parsed["g"] == str(gv)).to_numpy()
            wc = w.where(mask, 0.0)
            if wc.sum() > 0:
                by_cohort[gv] = float((wc / wc.sum()) @ fit.coef())
        return _lincomb(fit, w / w.sum(), int(fit._N),
                        {**_counts(df), "always_treated_dropped": dropped,
                         "by_cohort": by_cohort})


@dataclass(frozen=True)
class DID2S:
    """Gardner's two-stage DiD (pyfixest ``did2s``): firm and year effects estimated on the
    untreated actor-years, then the imputed outcome regressed on ``D``; GMM standard errors
    clustered by firm.  Dense first-stage matrices: memory grows as actor-years x firms."""

    name: str = "did2s"

    def estimate(self, panel, outcome, treatment):
        pf = _pyfixest()
        df, dropped = _drop_always_treated(prepare(panel, outcome, treatment))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = pf.did2s(df, yname="y", first_stage="~ 0 | actor_id + year",
                           second_stage="~ i(D)", treatment="D", cluster="actor_id")
        coef = next(c for c in fit.coef().index if c.startswith("D"))
        return _from_fit(fit, coef, len(df), {**_counts(df),
                                                    "always_treated_dropped": dropped})


def _baseline_covariates(df: pd.DataFrame, panel: pd.DataFrame) -> pd.DataFrame:
    """Pre-treatment characteristics per actor, read in the panel's first year: log
    employment, log value added, exporter, sector, province, and (with two or more years
    before the first cohort) the outcome's growth over those years.  Actors born later have
    no pre-treatment record and are left out."""
    y0 = int(panel["year"].min())
    first = panel[(panel["year"] == y0) & panel["alive"]].set_index("actor_id")
    cov = pd.DataFrame({
        "log_emp": np.log1p(first["employment"].to_numpy(dtype=float)),
        "log_va": np.log1p(first["value_added"].to_numpy(dtype=float)),
        "exporter": first["exporter"].to_numpy(dtype=float),
        "sector": first["sector"].astype(str).to_numpy(),
        "province": first["province"].astype(str).to_numpy(),
    }, index=first.index)
    g_min = int(df.loc[df["g"] > NEVER, "g"].min())
    if g_min - 1 > y0:
        wide = df[df["year"].isin([y0, g_min - 1])].pivot(index="actor_id", columns="year",
                                                          values="y")
        cov["pre_growth"] = (wide[g_min - 1] - wide[y0]).reindex(cov.index)
    return cov.dropna()


@dataclass(frozen=True)
class PropensityDiD:
    """Propensity score on pre-treatment characteristics, then two-way FE DiD.

    The score of ever being treated is a statsmodels logit on
    :func:`_baseline_covariates` (sector and province as dummies; the pre-period growth of the
    outcome when the panel has it); actors of a sector or province without both treated and
    never-treated actors are off the common support and left out.  ``method="matching"``: each treated actor is matched to
    its nearest never-treated actor on the logit of the score, with replacement, within a
    caliper of ``caliper`` standard deviations (treated actors without a match are dropped);
    controls are weighted by how often they are used.  ``method="weighting"``: every
    never-treated actor gets the ATT weight p/(1-p) (score clipped to [0.01, 0.99]), treated
    actors weight 1.  Then weighted ``y ~ D | actor_id + year`` with firm-clustered errors
    (which, as usual in applied work, ignore the score's estimation).
    """

    name: str = "psm_did"
    method: str = "matching"
    caliper: float = 0.2

    def estimate(self, panel, outcome, treatment):
        import statsmodels.api as sm

        df, dropped = _drop_always_treated(prepare(panel, outcome, treatment))
        cov = _baseline_covariates(df, panel)
        ever = df.groupby("actor_id")["g"].first().reindex(cov.index) > NEVER
        # actors in a sector or province with no treated (or no control) actor are
        # predicted perfectly: off the common support, dropped as a logit routine would
        n0 = len(cov)
        for col in ("sector", "province"):
            both = ever.groupby(cov[col]).agg(lambda v: 0 < v.mean() < 1)
            keep = cov[col].map(both).to_numpy(dtype=bool)
            cov, ever = cov[keep], ever[keep]
        X = pd.get_dummies(cov, columns=["sector", "province"], drop_first=True, dtype=float)
        X = X.loc[:, X.std() > 0]
        X = (X - X.mean()) / X.std()  # standardised: EUR-scale growth would stall the fit
        X = sm.add_constant(X, has_constant="add")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logit = sm.Logit(ever.astype(float).to_numpy(), X.to_numpy()).fit(
                disp=False, method="newton", maxiter=100)
        if not logit.mle_retvals.get("converged", False):
            raise EstimationError("propensity logit did not converge (perfect separation?)")
        p = np.clip(logit.predict(X.to_numpy()), 1e-6, 1 - 1e-6)
        score = pd.Series(np.log(p / (1 - p)), index=cov.index)
        treated_ids = score.index[ever.to_numpy()]
        control_ids = score.index[~ever.to_numpy()]
        if len(control_ids) == 0 or len(treated_ids) == 0:
            raise EstimationError("propensity model: no treated or no control actors")
        if self.method == "matching":
            cs = score[control_ids].sort_values()
            cv = cs.to_numpy()
            tv = score[treated_ids].to_numpy()
            pos = np.searchsorted(cv, tv)
            lo = np.clip(pos - 1, 0, len(cv) - 1)
            hi = np.clip(pos, 0, len(cv) - 1)
            pick = np.where(np.abs(tv - cv[lo]) <= np.abs(cv[hi] - tv), lo, hi)
            dist = np.abs(cv[pick] - tv)
            ok = dist <= self.caliper * score.std()
            weights = pd.Series(1.0, index=treated_ids[ok])
            used = pd.Series(cs.index[pick[ok]]).value_counts().astype(float)
            weights = pd.concat([weights, used])
            extra = {"matched_treated": int(ok.sum()), "unmatched_treated": int((~ok).sum()),
                     "controls_used": len(used)}
        elif self.method == "weighting":
            pc = np.clip(p[~ever.to_numpy()], 0.01, 0.99)
            wc = pd.Series(pc / (1 - pc), index=control_ids)
            wc *= len(treated_ids) / wc.sum()
            weights = pd.concat([pd.Series(1.0, index=treated_ids), wc])
            extra = {"max_control_weight": float(wc.max())}
        else:
            raise ValueError(f"method {self.method!r}: expected 'matching' or 'weighting'")
        sample = df[df["actor_id"].isin(weights.index)].copy()
        sample["w"] = weights.reindex(sample["actor_id"]).to_numpy()
        if not ((sample["g"] == NEVER).any() and sample["D"].any()):
            raise EstimationError("propensity sample has no treated or no control actors")
        fit = _feols("y ~ D | actor_id + year", sample, weights="w")
        return _from_fit(fit, "D", int(fit._N), {
            **_counts(sample), "always_treated_dropped": dropped, **extra,
            "off_support_dropped": n0 - len(cov), "pseudo_r2": float(logit.prsquared),
            "covariates": list(X.columns[1:])})


for _est in (Naive(), TWFE(), TWFE("twfe_sector_year", "actor_id + sector^year"),
             EventStudy(), SunAbraham(), DID2S(), PropensityDiD(),
             PropensityDiD("ipw_did", "weighting")):
    register(_est)


def run_estimators(panel: pd.DataFrame, outcomes: tuple[str, ...], treatment: str,
                   estimators: tuple[str, ...] = DEFAULT_SET,
                   on_error: Callable[[str, str, Exception], None] | None = None
                   ) -> pd.DataFrame:
    """Apply estimators to a panel for several outcomes: a tidy table.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimator, outcome, treatment, effect, se, ci_low, ci_high, n, error``; a
        failing estimator gives a row with NaNs and its error message (and ``on_error`` is
        called), never a silent gap.
    """
    rows = []
    for outcome in outcomes:
        for name in estimators:
            try:
                e = get(name).estimate(panel, outcome, treatment)
                rows.append((name, outcome, treatment, e.effect, e.se, e.ci_low, e.ci_high,
                             e.n, ""))
            except (EstimationError, ValueError, np.linalg.LinAlgError) as exc:
                if on_error is not None:
                    on_error(name, outcome, exc)
                rows.append((name, outcome, treatment, np.nan, np.nan, np.nan, np.nan, 0,
                             f"{type(exc).__name__}: {exc}"))
    return pd.DataFrame(rows, columns=["estimator", "outcome", "treatment", "effect", "se",
                                       "ci_low", "ci_high", "n", "error"])
