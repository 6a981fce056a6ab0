"""Parameter uncertainty in comparisons (``--parameter-draws K``, issue 15 section 4).

The calibration (``calibration/calibrated.toml``, :mod:`calibration.smm`) reports, for each
estimated parameter, its estimate and the bootstrap's 95% interval ``[lower, upper]``
(``[uncertainty."path"]``; the file keeps the marginal intervals, not the joint resamples).
A *parameter draw* replaces every estimated parameter by a value drawn from a split normal
around the estimate whose two halves put 2.5% beyond ``lower`` and 2.5% beyond ``upper``
(``sd = (estimate - lower) / 1.96`` below, ``(upper - estimate) / 1.96`` above: the
bootstrap's asymmetry is kept), cut at the schema's bounds, rounded for an integer; the
parameters are drawn independently (their correlation is not stored).

Draw ``r`` comes from ``SeedSequence(root_seed, spawn_key=(DRAW_KEY, r))``: it depends on the
design's seed and the replication only, so replication r of every variant has the same
parameter set (the comparison stays paired), and the model's own streams
(``spawn_key=(r,)``) are untouched.  A design with draws runs every variant twice: as it is
(``variant``: the model's noise only) and with the replication's parameter draw
(``variant+params``: noise and parameter uncertainty), so both intervals can be shown side by
side (:func:`side_by_side`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

DRAW_KEY = 7_001  # spawn-key prefix of the draws (the runs' keys are (replication,))
SUFFIX = "+params"
Z975 = 1.959963984540054


def uncertainty_of(sc) -> dict[str, dict]:
    """The ``[uncertainty]`` tables of the scenario's calibrated-parameters files (of two
    files that report a parameter, the later one's)."""
    from sim.loader import ScenarioError, calibrated_path, read_toml
    from sim.scenario import calibration_refs

    refs = calibration_refs(sc.calibration)
    if not refs:
        raise ScenarioError(sc.name, ["calibration: --parameter-draws needs a scenario with a "
                                      "`calibration` (its bootstrap uncertainty is drawn from)"])
    out: dict[str, dict] = {}
    for ref in refs:
        path = calibrated_path(ref, Path.cwd() / "scenario.toml")
        unc = read_toml(path, echo=False).get("uncertainty")
        if isinstance(unc, dict):
            out.update(unc)
    if not out:
        raise ScenarioError(str(path), ["uncertainty: no [uncertainty.\"path\"] tables to draw "
                                        "parameters from (run clustersim calibrate)"])
    return out


def draw_parameters(unc: dict[str, dict], seed: int, replication: int) -> dict[str, float]:
    """Replication ``replication``'s parameter set (dotted path -> value)."""
    from sim.scenario import parameter_bounds

    bounds = parameter_bounds()
    rng = np.random.default_rng(np.random.SeedSequence(int(seed),
                                                       spawn_key=(DRAW_KEY, int(replication))))
    out: dict[str, float] = {}
    for path in sorted(unc):
        u = unc[path]
        est, lo, hi = float(u["estimate"]), float(u["lower"]), float(u["upper"])
        z = float(rng.standard_normal())
        v = est + z * (max(hi - est, 0.0) if z > 0 else max(est - lo, 0.0)) / Z975
        b = bounds.get(path, {})
        if b.get("lower") is not None:
            v = max(v, float(b["lower"]))
        if b.get("upper") is not None:
            v = min(v, float(b["upper"]))
        out[path] = round(v) if b.get("type") == "int" else v
    return out


def with_draw(sc, values: dict[str, float]):
    """The scenario with the drawn parameter values."""
    from sim.loader import set_path
    from sim.scenario import Scenario

    doc = sc.model_dump(mode="json")
    for path, v in values.items():
        set_path(doc, path, v)
    return Scenario.model_validate(doc)


def add_draws(resolved: Sequence[tuple], draws: int, seed: int) -> list[tuple]:
    """The variants of a design plus, for each, its ``+params`` twin running ``draws``
    replications, replication r with parameter draw r (entries of
    :func:`sim.experiment.runner.plan`'s ``resolved``: key, scenario, settings and, for the
    twins, the scenario of each replication)."""
    out = list(resolved)
    for key, sc, settings, *_ in resolved:
        unc = uncertainty_of(sc)
        per_rep = [with_draw(sc, draw_parameters(unc, seed, r)) for r in range(draws)]
        out.append((key + SUFFIX, sc, {**settings, "parameter_draws": draws,
                                       "draw_seed": seed}, per_rep))
    return out


def side_by_side(noise: pd.DataFrame, params: pd.DataFrame, keys: Sequence[str],
                 cols: Sequence[str] = ("diff", "diff_low", "diff_high")) -> pd.DataFrame:
    """Two tables of the same effects, the model's noise only and with parameter
    uncertainty, joined on ``keys`` (the ``variant`` of the second without its suffix)."""
    p = params.copy()
    if "variant" in p:
        p["variant"] = p["variant"].str.removesuffix(SUFFIX)
    a = noise[[*keys, *cols]].rename(columns={c: f"{c}_noise" for c in cols})
    b = p[[*keys, *cols, *(["n"] if "n" in p else [])]].rename(
        columns={**{c: f"{c}_params" for c in cols}, "n": "n_params"})
    return a.merge(b, on=list(keys), how="inner")


def compare_with_draws(store, reference: str, indicators: list[str], years: list[int]
                       ) -> pd.DataFrame:
    """The paired differences of a stored comparison with draws, noise only and with
    parameter uncertainty side by side; written to ``compare_parameters.csv``."""
    from sim.experiment.analysis import compare_table
    from sim.experiment.store import write_text

    series = store.load_series()
    twin = series["variant"].str.endswith(SUFFIX)
    noise = compare_table(series[~twin], reference, indicators, years)
    params = compare_table(series[twin], reference + SUFFIX, indicators, years)
    cols = ("mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high")
    out = side_by_side(noise, params, ("indicator", "year", "variant"), cols)
    write_text(store.root / "compare_parameters.csv", out.to_csv(index=False))
    return out


def format_side_by_side(table: pd.DataFrame) -> str:
    """The side-by-side table as text."""
    def f(x: float) -> str:
        return "" if pd.isna(x) else (f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}")

    rows = []
    for _, r in table.iterrows():
        # the reference: its mean; another variant: its paired difference from it
        c = "mean" if pd.isna(r["diff_noise"]) else "diff"
        lo, hi = ("ci_low", "ci_high") if c == "mean" else ("diff_low", "diff_high")
        rows.append([r["indicator"], r["year"], r["variant"]] + [
            f"{f(r[f'{c}_{s}'])} [{f(r[f'{lo}_{s}'])}, {f(r[f'{hi}_{s}'])}]"
            for s in ("noise", "params")])
    df = pd.DataFrame(rows, columns=["indicator", "year", "variant",
                                     "model noise only [95% CI]",
                                     "with parameter uncertainty [95% CI]"])
    return ("Reference: its mean; other variants: the paired difference from it.\n"
            + df.to_string(index=False))
