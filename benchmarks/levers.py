"""Lever liveness: every ``policy.*`` lever of the scenario schema, perturbed one at a time with
paired replications, and its effect on each outcome (issue 16).

Run from the repository root::

    python -m benchmarks.levers                 # 20 paired replications, 2001-2012 (~3 min)
    python -m benchmarks.levers --reps 3        # the liveness test's configuration
    python -m benchmarks.levers --expected      # only the changes of EXPECTED (the signs' test)
    python -m benchmarks.levers --markdown      # the table as Markdown (for the closing note)

Design.  The base is the baseline scenario with its calibrated parameters; each lever is set
to its base value x0.5 and x2 (clipped to the schema's bounds), or moved by a documented step
where scaling is meaningless (years, quarters, small counts, a zero threshold; see
:func:`changes`).  The six animator effort shares must add up to 1: the perturbed share is
scaled and the other five are rescaled to keep the sum (so "effort_x x2" is "more of x, less
of everything else").  Replication r of every variant uses the streams of replication r of the
base (common random numbers: :func:`sim.model.run_seed_sequence`), so the effect of a change
is the mean of the paired differences and its t-value ``mean / (sd / sqrt(R))``.

A lever is *live* when at least one outcome of at least one replication differs from the base
(the model is deterministic given its streams, so a lever that cannot act gives bit-identical
runs); the slow test ``tests/test_levers.py`` checks that every lever is live, except those in
:data:`INERT`, each with its reason.

Signs.  Where the model's mechanism fixes the sign of a change's effect on an outcome,
:data:`EXPECTED` declares it, with the process that fixes it; the table's last column shows
each expected sign and whether it held (the paired t-value beyond :data:`T_EXPECTED` in that
direction), and a second slow test asserts them.  The six effort shares are a trade-off (one
more of one is less of the others), so their totals have no fixed sign: the ratio outcomes at
the end of :data:`OUTCOMES` measure each task's direct channel (partnerships per member-year,
actors per partnership, ...) and the shares' expected signs are on those.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from sim.indicators.collector import year_totals
from sim.loader import load_scenario
from sim.model import ClusterModel
from sim.scenario import parameter_bounds
from sim.state.params import lookup

# outcome name -> (indicator, how it is read from the run: the last year's value, the sum over
# the run, or "sum*OTHER": the sum over the run of the indicator times indicator OTHER); a
# ratio outcome names its numerator and then its denominator, each read so
OUTCOMES = {
    "members": ("members_total", "last"),
    "clusters": ("clusters_active", "last"),
    "cl_partnerships": ("partnerships_launched", "sum"),
    "innovations": ("innovations", "sum"),
    "agreements": ("intercluster_partnerships_active", "sum"),
    "pole_projects": ("pole_projects_funded", "sum"),
    "firms": ("firms_alive", "last"),
    "employment": ("employment", "last"),
    "value_added": ("value_added", "last"),
    "exports": ("exports", "last"),
    "private_rd": ("private_rd_eur", "sum"),
    # the direct channels of the animator's tasks (issue 16): the six effort shares add up to
    # one, so their totals above are trade-offs; each ratio is meant to isolate one task's own
    # channel (cross_share and success_share do not: see the notes after EXPECTED)
    # partnership effort -> initiation rate of a member: cluster partnerships per member-year
    "partnerships_per_member": ("partnerships_launched", "sum", "members_total", "sum"),
    # "knowing each other" -> discovery of candidates: actors per cluster partnership launched
    "partnership_size": ("partnership_size_mean", "sum*partnerships_launched",
                         "partnerships_launched", "sum"),
    # mapping -> cross-cluster search: share of cluster partnerships with another cluster's member
    "cross_share": ("cross_cluster_partnerships_launched", "sum", "partnerships_launched", "sum"),
    # benchmarking -> success of cluster projects: share of projects (all kinds) that succeed
    "success_share": ("projects_succeeded", "sum", "projects_completed", "sum"),
    # promotion -> agreements signed per active cluster-year
    "agreements_per_cluster": ("intercluster_partnerships_signed", "sum", "clusters_active",
                               "sum"),
}
EFFORTS = ("effort_know_each_other", "effort_mapping", "effort_recruiting",
           "effort_partnerships", "effort_benchmarking", "effort_promotion")
# levers that cannot move any outcome of the baseline, and why (documented, not removed)
INERT: dict[str, str] = {
    "policy.poles.min_companies": "critical mass of the pole selection (criterion 3): every "
    "candidate pole of the baseline has far more than 30 engaged companies (cluster members or "
    "past partners, outside the clusters too since issue 16), so 7 or 30 never binds; only a "
    "much larger threshold would (measured 2026-12-02, 20 paired replications: no outcome "
    "moves)",
    "policy.poles.min_training_actors": "criterion 1's training centres: each candidate pole's "
    "sectors hold 8 to 31 training centres in the baseline, so 0 or 2 never binds; it binds "
    "from about 9 (measured 2026-12-02, 20 paired replications: no outcome moves)",
    "policy.poles.min_provinces": "criterion 4 (activities across Wallonia): at the selection "
    "quarter every candidate pole of the baseline has engaged companies (92 to 301 of them) in "
    "all five provinces, so 1 or 5 never binds (measured 2026-12-03, seeds 0-2, "
    "sim.processes.selection.selection_counts: 5 provinces for each of the five poles); it "
    "was live at 8bcac9a, before companies partnered outside clusters (the lever test passed "
    "there)",
    "policy.rules.pole_evaluation.first_year": "the poles' evaluation (issue 17) is off in the "
    "baseline (policy.rules.pole_evaluation.enabled = false): its calendar acts only in a "
    "scenario that turns it on, such as one with label withdrawal",
    "policy.rules.pole_evaluation.period_years": "as policy.rules.pole_evaluation.first_year: "
    "the poles' evaluation is off in the baseline",
}

# the paired t-value beyond which an expected sign holds (tests/test_levers.py asserts it)
T_EXPECTED = 2.0
_A, _E, _I, _P, _J = ("policy.animation.", "policy.evaluation.", "policy.international.",
                      "policy.poles.", "policy.rules.pole_jury.")
# (lever, change) -> {outcome: +1 or -1}: the signs the model's mechanism fixes, each with the
# process that fixes it (sim/processes/*.py, sim/rules/*.py); the slow test
# tests/test_levers.py asserts each (the mean paired difference of that sign, its t-value
# beyond T_EXPECTED); the levers left out, and why, are listed after the table
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    # animation.py: the subsidy hires the animator (effort in FTE = (subsidy + fees) / cost)
    # and spares the fees (need = cost - subsidy): more effort of every task and cheaper
    # membership -> members (membership.py awareness and utility), their partnerships,
    # agreements (promotion effort), clusters passing critical mass and involvement
    (_A + "subsidy_eur_per_year", "x2"): {"members": 1, "clusters": 1, "cl_partnerships": 1,
                                          "agreements": 1},
    # as x2, less of it: fewer FTE and higher fees -> fewer members, partnerships, agreements
    (_A + "subsidy_eur_per_year", "x0.5"): {"members": -1, "clusters": -1,
                                            "cl_partnerships": -1, "agreements": -1},
    # animation.py: a cheaper animator: the subsidy buys more FTE and no fees are needed
    (_A + "cost_eur_per_year", "x0.5"): {"members": 1, "clusters": 1, "cl_partnerships": 1,
                                         "agreements": 1},
    # animation.py: a dearer animator: fewer FTE and higher fees for the same subsidy
    (_A + "cost_eur_per_year", "x2"): {"members": -1, "clusters": -1, "cl_partnerships": -1,
                                       "agreements": -1},
    # rules/funding.py linear_floor: a slower taper keeps the subsidy rate up -> lower fees
    # (the membership utility's cost) -> members
    (_A + "taper_per_year", "x0.5"): {"members": 1},
    # a floor of 1 is no taper at all: the full subsidy, no fees beyond the cost -> members
    (_A + "taper_floor", "x2"): {"members": 1},
    # partnering.py cluster_probabilities: initiation rate = initiate_rate (1 +
    # initiate_promotion x partnership effort): less partnership effort -> fewer cluster
    # partnerships per member-year
    (_A + "effort_partnerships", "x0.5"): {"partnerships_per_member": -1},
    # partnering.py cluster_probabilities: discovery = 1 - (1 - base) exp(-discovery_effort x
    # "knowing each other") -> more random candidates known -> larger consortia
    (_A + "effort_know_each_other", "x2"): {"partnership_size": 1},
    # less of it -> fewer candidates known -> smaller consortia
    (_A + "effort_know_each_other", "x0.5"): {"partnership_size": -1},
    # membership.py: awareness = awareness_base + awareness_recruit x recruiting effort ->
    # more non-members look at the cluster -> members
    (_A + "effort_recruiting", "x2"): {"members": 1},
    # less recruiting -> fewer aware non-members -> fewer members
    (_A + "effort_recruiting", "x0.5"): {"members": -1},
    # internationalisation.py agreement_draws: p = agreement_rate x promotion effort x tender
    # factor -> agreements, in all and per active cluster-year
    (_A + "effort_promotion", "x2"): {"agreements": 1, "agreements_per_cluster": 1},
    # less promotion -> fewer agreements signed
    (_A + "effort_promotion", "x0.5"): {"agreements": -1, "agreements_per_cluster": -1},
    # evaluation.py: a yearly evaluation tests clusters sooner and more often, over a
    # one-year involvement window (launches since the last evaluation) -> more dropped
    (_E + "period_years", "=1"): {"clusters": -1},
    # every six years: fewer tests, each after more growth and over a longer window
    (_E + "period_years", "=6"): {"clusters": 1},
    # evaluation.py critical mass: a laxer members threshold drops fewer clusters
    (_E + "min_members", "=20"): {"clusters": 1},
    # a stricter one drops more
    (_E + "min_members", "=82"): {"clusters": -1},
    # evaluation.py involvement criterion: a laxer threshold drops fewer clusters
    (_E + "min_involvement", "x0.5"): {"clusters": 1},
    # a stricter one drops more
    (_E + "min_involvement", "x2"): {"clusters": -1},
    # internationalisation.py: tender factor = 1 + tender_effect x subsidy / 24,000 EUR
    # multiplies the chance of an agreement
    (_I + "tender_subsidy_eur", "x2"): {"agreements": 1, "agreements_per_cluster": 1},
    # a smaller tender subsidy, a smaller factor -> fewer agreements.  Exports are not
    # declared: fewer agreements mean fewer proposals with a foreign partner labelled (pole
    # projects -3.0%, t -2.3, 20 reps), and the money they leave goes to the residual
    # programmes (as for the R&D budget x0.5 below), which outweighs the foreign partners'
    # export channel: exports +0.50% (t +2.6); under the `lapse` rule (no money left over)
    # -0.08% (t -1.3), pole projects +0.5% (t +0.5)
    (_I + "tender_subsidy_eur", "x0.5"): {"agreements": -1, "agreements_per_cluster": -1},
    # the tender factor a year sooner -> more agreements
    (_I + "tender_subsidy_start_year", "-1"): {"agreements": 1},
    # a year later -> fewer agreements
    (_I + "tender_subsidy_start_year", "+1"): {"agreements": -1},
    # selection.py criterion 2: 50 innovations before the selection is more than the
    # baseline's candidates have: no pole selected, no pole call funds anything
    (_P + "min_innovation", "=50"): {"pole_projects": -1},
    # pole_call.py: a labelled proposal is funded while its R&D request fits the call's
    # envelope (what is left of the R&D budget / the calls left) -> more money, more funded
    (_P + "budget_rd_meur", "x2"): {"pole_projects": 1},
    # less R&D money -> fewer requests fit -> fewer funded.  Value added is not declared: it
    # rises (+0.2%, t 4.7 at 100 replications) because the training and investment money
    # that fewer funded projects leave goes to the residual programmes, spread over all pole
    # members with diminishing returns (programmes.py); under pole_money = lapse it falls
    # (-0.13%, t -1.9 at 40)
    (_P + "budget_rd_meur", "x0.5"): {"pole_projects": -1},
    # projects.py, programmes.py: more training money -> larger process innovations of the
    # funded projects and of the residual programme -> lower unit costs -> the region's
    # firms win market share from foreign competitors (economy.py) -> value added
    (_P + "budget_training_meur", "x2"): {"value_added": 1},
    # as training: investment aid adds to the process innovations -> value added
    (_P + "budget_investment_meur", "x2"): {"value_added": 1},
    # the aid rate: the companies match the R&D grant up to the budget it covers, so a lower
    # rate draws more of their own R&D money (pole_call; projects.spend_private_rd)
    (_P + "rd_aid_rate", "x0.5"): {"private_rd": 1},
    (_P + "rd_aid_rate", "x2"): {"private_rd": -1},
    # programmes.py export_actions: more money reaches more non-exporting pole members,
    # whose export entry comes sooner -> exports
    (_P + "budget_export_meur", "x2"): {"exports": 1},
    # less export money -> fewer firms reached -> exports
    (_P + "budget_export_meur", "x0.5"): {"exports": -1},
    # pole_call.py _scores: a proposal is labelled when its score reaches the threshold ->
    # fewer labelled, fewer funded (at 2.6 none is)
    (_P + "label_threshold", "x2"): {"pole_projects": -1},
    # more labelled proposals to fill each call's R&D envelope -> more funded
    (_P + "label_threshold", "x0.5"): {"pole_projects": 1},
    # pole_call.py: larger R&D requests -> fewer fit the envelope -> fewer funded
    (_P + "rd_request_meur", "x2"): {"pole_projects": -1},
    # smaller requests -> more fit the envelope -> more funded
    (_P + "rd_request_meur", "x0.5"): {"pole_projects": 1},
    # rules/funding.py capped: R&D requests cut to the cap -> more fit the envelope
    (_J + "cap_project_meur", "=0.1"): {"pole_projects": 1},
    # a cap of 1 MEUR (the mean request is 2.5) -> more fit the envelope
    (_J + "cap_project_meur", "=1"): {"pole_projects": 1},
    # rules/funding.py over_firm_cap: a proposal that takes one of its companies above the
    # cap is never funded (a share of a mean request is far above 0.1 MEUR) -> fewer funded
    (_J + "cap_firm_meur", "=0.1"): {"pole_projects": -1},
    # at 1 MEUR, a mean proposal's share per company (about 1.1 MEUR for four) is over it
    (_J + "cap_firm_meur", "=1"): {"pole_projects": -1},
}
# Levers (or changes, or outcomes) left out of EXPECTED, and why:
# * sign fixed by the mechanism but the effect too small to show at 20 paired replications
#   with the calibration of 2026-12-03 (all held at t > 2 with the one before): taper_per_year
#   x2 (a faster taper, higher fees: members -2.4%, t -0.8); effort_partnerships x2 (a higher
#   initiation rate: partnerships per member +6.3%, t +2.0); pole_jury.sme_bonus =0.1 and =1
#   (more proposals labelled: pole projects -0.5%, t -0.2, and +4.1%, t +1.6).
# * animation.fee_cap_sme_eur, fee_cap_large_eur: a higher cap lets fees buy more effort
#   (animation.py) but costs the members more (membership.py utility): the sign is open.
# * animation.taper_floor x0.5: the floor (0.5) is reached only by the 2001 pilots, in 2011
#   (rate 0.5) and 2012 (0.45 against 0.5): the sign is fixed (members -) but the effect too
#   small to show (measured 20 reps: members +0.0%, t +0.2).
# * the totals of the effort shares (members, cl_partnerships, ... under effort_*): the shares
#   add up to one and the table rescales the other five, so they are trade-offs (e.g.
#   effort_partnerships x2: members -16.5%); only each task's direct channel is declared.
# * effort_know_each_other on partnerships_per_member: not its channel; the partnership
#   share falls with it (0.25 -> 0.167 at x2: initiation x1.167/1.25) and larger consortia
#   hold SMEs (capacity 1) for 8-20 quarters, so fewer initiators are free (measured 20 reps,
#   x2: -9.2%, t -3.7; x0.5: +4.6%, t +1.7).
# * effort_mapping on cross_share: the direct channel (cross-cluster search min(1,
#   cross_prob (1 + mapping)): 0.132 -> 0.144 of the random candidates at x2) is offset by
#   the rescaled recruiting (members -11.7%, clusters -10.5% at x2): a partnership is
#   cross-cluster only with a member of another *active* cluster, drawn or remembered
#   (partnering.py tally_launches), and fewer clusters and members leave fewer (measured 20
#   reps, x2: -3.0%, t -1.4; x0.5: -2.3%, t -0.9): the sign is open.
# * effort_benchmarking on success_share: the direct channel adds success_benchmark x
#   effort = 0.3 x 0.05 = 0.015 to the logit of cluster projects only (projects.py
#   _succeeds, about a third of the projects completed), a tenth of a point of the share,
#   below the shifts of the mix of cluster, outside and pole projects that the rescaled
#   shares bring (measured 20 reps, x2: -0.3%, t -0.6; x0.5: -0.3%, t -0.9): the sign of
#   the indicator is open.
# * poles.selection_year, selection_quarter, budget_start_year, budget_end_year: they move
#   the same money over other calls and quarters (the envelope is what is left over the
#   calls left): the sign is open.
# * poles.min_rd_actors =4, min_innovation =10: a stricter criterion selects fewer poles
#   (never more), but the poles left share the same R&D envelope: the sign of pole_projects
#   is weakly fixed, its size small (measured 20 reps: -3.9%, t -1.8; -1.4%, t -1.7).
# * poles.budget_training_meur x0.5, budget_investment_meur x0.5: value added falls (the
#   sign is fixed as for x2) but too little to show (measured 20 reps: t -1.9, -2.5).
# * poles.budget_assets_meur, assets_firms_per_meur: firms +, but the baseline's 50 MEUR
#   create about five firms among some 3,600 (measured 20 reps, x2: +0.1%, t +1.2).
# * poles.max_consortium: larger consortia bring research and foreign partners more often
#   (a higher score) but larger requests (sqrt(size / 4)): the sign is open.
# * poles.training_request_meur, investment_request_meur: larger grants per project against
#   fewer projects granted and a smaller residual programme (diminishing returns): open.
# * rules.pole_jury.sme_quota: it changes which proposals are funded, not how many: open.
# * the levers of INERT (no outcome moves).


@dataclass(frozen=True)
class Change:
    """One perturbation of one lever: its label and the overrides that make it."""

    lever: str
    label: str
    overrides: dict


def policy_levers(sc) -> dict[str, dict]:
    """The numeric ``policy.*`` parameters of the schema, with the scenario's values."""
    out = {}
    for path, b in parameter_bounds().items():
        if path.startswith("policy."):
            out[path] = dict(b, value=lookup(sc, path))
    return out


def _clip(x, b):
    lo, hi = b["lower"], b["upper"]
    if lo is not None:
        x = max(x, lo if not b["lower_open"] else lo + 1e-9)
    if hi is not None:
        x = min(x, hi)
    return x


def changes(sc) -> list[Change]:
    """The perturbations of every lever (see the module's docstring)."""
    out = []
    for path, b in policy_levers(sc).items():
        v, name = b["value"], path.rsplit(".", 1)[1]
        if name in EFFORTS:
            shares = {e: lookup(sc, "policy.animation." + e) for e in EFFORTS}
            for f in (0.5, 2.0):
                new = min(0.95, shares[name] * f)
                rest = sum(s for e, s in shares.items() if e != name)
                ov = {f"policy.animation.{e}": (new if e == name else s * (1 - new) / rest)
                      for e, s in shares.items()}
                out.append(Change(path, f"x{f:g}", ov))
            continue
        if (name.endswith("_year") and not name.endswith("per_year")) \
                or name.endswith("_quarter"):
            for d in (-1, 1):  # a date: one year (quarter) earlier and later
                out.append(Change(path, f"{d:+d}", {path: int(_clip(v + d, b))}))
            continue
        if b["type"] == "int":
            lo, hi = max(math.floor(v * 0.5), 0), int(v * 2) if v > 0 else 2
            if lo == v:
                lo = v - 1 if v > 0 else v
            vals = sorted({int(_clip(lo, b)), int(_clip(hi, b))} - {v})
            for x in vals:
                out.append(Change(path, f"={x}", {path: x}))
            continue
        if v == 0:
            # a zero threshold: a step to a value that can bind (documented)
            step = {"policy.poles.min_innovation": (10.0, 50.0)}.get(path, (0.1, 1.0))
            for x in step:
                out.append(Change(path, f"={x:g}", {path: float(_clip(x, b))}))
            continue
        for f in (0.5, 2.0):
            x = float(_clip(v * f, b))
            if x != v:
                out.append(Change(path, f"x{f:g}", {path: x}))
    return out


def _read(totals: dict[str, np.ndarray], ind: str, how: str) -> float:
    """Indicator ``ind`` of the run's yearly totals (NaN in a year without the row; an
    indicator without any row reads 0) read as ``how`` (see :data:`OUTCOMES`)."""
    s = totals.get(ind)
    if how == "last":
        return 0.0 if s is None or np.isnan(s[-1]) else float(s[-1])
    if how == "sum":
        return 0.0 if s is None else float(np.nansum(s))
    if how.startswith("sum*"):
        w = totals.get(how[4:])
        return 0.0 if s is None or w is None else float(np.nansum(s * np.nan_to_num(w)))
    raise ValueError(f"outcome reading {how!r}: expected 'last', 'sum' or 'sum*INDICATOR'")


def outcomes_of_totals(totals: dict[str, np.ndarray]) -> dict[str, float]:
    """The outcomes of one run from its yearly totals (indicator -> one value per year, NaN
    where a year has no row); a ratio whose denominator is 0 is 0."""
    out = {}
    for key, spec in OUTCOMES.items():
        num = _read(totals, spec[0], spec[1])
        if len(spec) == 4:
            den = _read(totals, spec[2], spec[3])
            num = num / den if den else 0.0
        out[key] = num
    return out


def outcomes(df) -> dict[str, float]:
    """The outcomes of one run (``df``: its tidy indicator table)."""
    t = df[df.by == "total"]
    wide = t.pivot_table(index="year", columns="indicator", values="value", aggfunc="first")
    wide = wide.reindex(range(int(t.year.min()), int(t.year.max()) + 1))
    return outcomes_of_totals({n: wide[n].to_numpy(float) for n in wide.columns})


def model_outcomes(m: ClusterModel) -> dict[str, float]:
    """The outcomes of the run ``m`` has made, read from its recorder without building the
    tidy table (a third of a lever-table run's time went to the table and its filters)."""
    _, totals = year_totals(m)
    return outcomes_of_totals({k: np.asarray(v, dtype=float) for k, v in totals.items()})


def run_variant(overrides: dict, reps: int, end_year: int | None,
                scenario: str | None = None, memo: dict | None = None) -> np.ndarray:
    """Outcomes (reps, len(OUTCOMES)) of the baseline (or of ``scenario``) with
    ``overrides``.  ``memo``: a dict that keeps each run's outcomes by (scenario, overrides,
    replication), so that a second table asking for the same run reads it (the runs are
    deterministic given their seeds)."""
    ov = dict(overrides)
    if end_year is not None:
        ov["time.end_year"] = end_year
    sc = load_scenario(scenario, overrides=ov)
    variant = (str(scenario), json.dumps(ov, sort_keys=True, default=str))
    rows = []
    for r in range(reps):
        if memo is not None and (variant, r) in memo:
            rows.append(memo[variant, r])
            continue
        m = ClusterModel(sc, replication=r, handles=False)
        while m.running:
            m.step()
        rows.append(list(model_outcomes(m).values()))
        if memo is not None:
            memo[variant, r] = rows[-1]
    return np.array(rows)


def lever_table(reps: int = 20, end_year: int | None = None, only: str | None = None,
                progress: bool = True,
                keys: Collection[tuple[str, str]] | None = None,
                memo: dict | None = None) -> list[dict]:
    """Every change's effect: one dict per change with the lever, the change, whether it is
    live, and per outcome the mean paired difference (relative to the base mean) and t.
    ``only``: the levers whose path contains this text; ``keys``: only these (lever path,
    change label) pairs (such as the keys of :data:`EXPECTED`); ``memo``: as in
    :func:`run_variant`."""
    base_sc = load_scenario(None)
    todo = [c for c in changes(base_sc) if (only is None or only in c.lever)
            and (keys is None or (c.lever, c.label) in keys)]
    if keys is not None:
        unknown = set(keys) - {(c.lever, c.label) for c in changes(base_sc)}
        if unknown:
            raise ValueError(f"keys: no such change: {sorted(unknown)}")
    base = run_variant({}, reps, end_year, memo=memo)
    rows = []
    t0 = time.perf_counter()
    for i, ch in enumerate(todo):
        try:
            var = run_variant(ch.overrides, reps, end_year, memo=memo)
        except Exception as exc:  # a change the schema refuses (e.g. years out of order)
            rows.append(dict(lever=ch.lever, change=ch.label, error=str(exc).splitlines()[-1]))
            continue
        d = var - base
        mean = d.mean(axis=0)
        sd = d.std(axis=0, ddof=1) if reps > 1 else np.zeros(d.shape[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(sd > 0, mean / (sd / np.sqrt(reps)), np.where(mean != 0, np.inf, 0.0))
            rel = np.where(base.mean(axis=0) != 0, mean / np.abs(base.mean(axis=0)), 0.0)
        rows.append(dict(lever=ch.lever, change=ch.label, live=bool(np.any(d != 0)),
                         effects={k: (float(rel[j]), float(t[j]))
                                  for j, k in enumerate(OUTCOMES)}))
        if progress:
            print(f"  [{i + 1}/{len(todo)}] {ch.lever} {ch.label} "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return rows


def compare_scenarios(paths: list[str], reps: int = 20,
                      end_year: int | None = None) -> list[dict]:
    """Each scenario against the baseline, paired (replication r of both shares its streams),
    in the rows :func:`format_table` prints (the scenario's name as the lever)."""
    base = run_variant({}, reps, end_year)
    rows = []
    for path in paths:
        var = run_variant({}, reps, end_year, scenario=path)
        d = var - base
        mean = d.mean(axis=0)
        sd = d.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(sd > 0, mean / (sd / np.sqrt(reps)), np.where(mean != 0, np.inf, 0.0))
            rel = np.where(base.mean(axis=0) != 0, mean / np.abs(base.mean(axis=0)), 0.0)
        rows.append(dict(lever=load_scenario(path).name, change="vs baseline",
                         live=bool(np.any(d != 0)),
                         effects={k: (float(rel[j]), float(t[j]))
                                  for j, k in enumerate(OUTCOMES)}))
    return rows


def verdict(t: float, sign: int, t_min: float = T_EXPECTED) -> str:
    """Whether an effect of paired t-value ``t`` shows the expected ``sign`` (+1 or -1):
    ``held`` when ``sign * t >= t_min``, ``weak`` when of that sign but short of it,
    ``WRONG`` when of the other sign, ``none`` when the outcome did not move."""
    if sign * t >= t_min:
        return "held"
    if sign * t > 0:
        return "weak"
    return "WRONG" if t != 0 else "none"


def expectations(row: dict, t_min: float = T_EXPECTED) -> str:
    """The expected signs of a row's change (:data:`EXPECTED`) and whether each held, as
    'members + held; clusters + weak (t +1.2)' ('' when none is declared)."""
    exp = EXPECTED.get((row["lever"], row["change"]), {})
    if not exp or "effects" not in row:
        return ""
    parts = []
    for k, sign in exp.items():
        t = row["effects"][k][1]
        v = verdict(t, sign, t_min)
        parts.append(f"{k} {'+' if sign > 0 else '-'} {v}" + ("" if v == "held"
                                                               else f" (t {t:+.1f})"))
    return "; ".join(parts)


def format_table(rows: list[dict], markdown: bool = False) -> str:
    """The table: lever, change, live, then per outcome 'effect % (t)', then the expected
    signs of the change and whether they held (:func:`expectations`), when any row has some."""
    with_exp = any((r["lever"], r["change"]) in EXPECTED for r in rows)
    head = ["lever", "change", "live", *OUTCOMES] + (["expected"] if with_exp else [])
    lines = []
    for r in rows:
        if "error" in r:
            cells = [r["lever"].removeprefix("policy."), r["change"], "refused: " + r["error"]]
            cells += [""] * (len(head) - 3)
        else:
            cells = [r["lever"].removeprefix("policy."), r["change"],
                     "yes" if r["live"] else "NO"]
            for k in OUTCOMES:
                e, t = r["effects"][k]
                cells.append("0" if e == 0 and t == 0 else f"{100 * e:+.1f}% ({t:+.1f})")
            if with_exp:
                cells.append(expectations(r))
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(c) + " |" for c in lines]
        return "\n".join(out)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*c) for c in lines])


def _spec(v: tuple) -> str:
    """An outcome's reading in words, for the table's header."""
    return f"{v[0]}:{v[1]}" + (f"/{v[2]}:{v[3]}" if len(v) == 4 else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=20, help="paired replications (default 20)")
    ap.add_argument("--end-year", type=int, default=None, help="last simulated year")
    ap.add_argument("--only", default=None, help="levers whose path contains this text")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--expected", action="store_true",
                    help="only the changes with expected signs (EXPECTED)")
    ap.add_argument("--compare", nargs="+", metavar="SCENARIO",
                    help="instead: these scenario files against the baseline, paired")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.compare:
        rows = compare_scenarios(args.compare, args.reps, args.end_year)
        print(f"Scenarios against the baseline, {args.reps} paired replications (effect % "
              f"of the baseline mean, paired t)")
        print(format_table(rows, args.markdown))
        return 0
    rows = lever_table(args.reps, args.end_year, args.only,
                       keys=set(EXPECTED) if args.expected else None)
    print(f"Lever liveness: baseline (calibrated), {args.reps} paired replications; effect = "
          f"mean paired difference / base mean, (t) = paired t-value; outcomes: 'last' year "
          f"or sum over the run ({', '.join(f'{k}={_spec(v)}' for k, v in OUTCOMES.items())})")
    print(format_table(rows, args.markdown))
    dead = [f"{r['lever']} {r['change']}" for r in rows if not r.get("live", True)]
    verdicts = [verdict(r["effects"][k][1], sign) for r in rows if "effects" in r
                for k, sign in EXPECTED.get((r["lever"], r["change"]), {}).items()]
    held = ", ".join(f"{verdicts.count(v)} {v}" for v in ("held", "weak", "WRONG", "none"))
    print(f"\n{len(rows)} changes of {len({r['lever'] for r in rows})} levers; "
          f"not live: {', '.join(dead) or 'none'}; expected signs (t beyond {T_EXPECTED:g}): "
          f"{held}; {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
