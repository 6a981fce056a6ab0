"""The rulebook's schema: which rule the Region applies, chosen by name, with its parameters.

Each rule block is a tagged table: ``rule`` names the rule, the other keys are that rule's own
parameters, checked strictly (an unknown rule name, an unknown key or a value out of bounds is
refused with the loader's usual message: file, dotted key, value, what was expected).  The
defaults are the baseline's rules, which read their numbers from the existing blocks
(``policy.evaluation``, ``policy.animation``), so that an unchanged scenario runs as before,
bit for bit.

This module imports pydantic only (:mod:`sim.scenario` imports it to place the blocks under
``policy.rules`` and ``policy.schedule``); the functions behind the names are in
:mod:`sim.rules.evaluation`, :mod:`sim.rules.funding`, :mod:`sim.rules.recognition` and
:mod:`sim.rules.schedule`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SEED = "seed"
ASSUME = "assumption"
EVAL_DOC = "/work/shared/reference/evaluation.md"


def P(default: Any, *, ge: float | None = None, le: float | None = None,
      gt: float | None = None, unit: str = "", source: str, doc: str) -> Any:
    """A rule parameter with bounds, unit and source (as :func:`sim.scenario.P`)."""
    return Field(default, ge=ge, le=le, gt=gt, description=doc,
                 json_schema_extra={"unit": unit, "source": source})


class RuleBlock(BaseModel):
    """Base of every rule block: frozen, strict, no unknown keys, no NaN/inf (as
    :class:`sim.scenario.Strict`, repeated here so that the schema imports this module)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False,
                              validate_default=True)


def _tagged(*models: type[BaseModel]) -> Any:
    return Annotated[models[0] if len(models) == 1 else _union(models),
                     Field(discriminator="rule")]


def _union(models):
    out = models[0]
    for m in models[1:]:
        out = out | m
    return out


# ----------------------------------------------------------------------- evaluation criteria
# the measures a criterion can read, per cluster, over the window since its last evaluation
# (sim.rules.evaluation.cluster_measures documents each)
CLUSTER_MEASURES = ("members", "involvement", "members_involved", "partnerships_launched",
                    "new_enterprises", "exporters_share", "self_financing", "member_growth")
POLE_MEASURES = ("labelled_projects", "funded_projects", "members")


class Criterion(RuleBlock):
    """One criterion: a declared measure and its threshold (passed when value >= min)."""

    indicator: Literal[CLUSTER_MEASURES]  # type: ignore[valid-type]
    min: float = P(0.0, ge=0.0, le=1e9, unit="the measure's", source=SEED + " (criteria "
                   "of the evaluation); thresholds: " + ASSUME, doc="Threshold: the criterion "
                   "is met when the measure is at least this.")
    weight: float = P(1.0, ge=0.0, le=1e6, unit="weight", source=ASSUME,
                      doc="Weight of the criterion in the 'weighted' combination.")


class PoleCriterion(Criterion):
    """A criterion of the poles' evaluation."""

    indicator: Literal[POLE_MEASURES]  # type: ignore[valid-type]


class All(RuleBlock):
    """Passed when every criterion is met."""

    rule: Literal["all"] = "all"


class Any_(RuleBlock):
    """Passed when at least one criterion is met."""

    rule: Literal["any"]


class KOfN(RuleBlock):
    """Passed when at least ``k`` criteria are met."""

    rule: Literal["k_of_n"]
    k: int = P(1, ge=1, le=64, unit="criteria", source=ASSUME, doc="Criteria to meet.")


class Weighted(RuleBlock):
    """Passed when the weighted score reaches ``pass_score``: the score is the weighted mean
    of ``min(value / threshold, 1)`` over the criteria (1 for a threshold of 0)."""

    rule: Literal["weighted"]
    pass_score: float = P(0.8, ge=0.0, le=1.0, unit="score", source=ASSUME,
                          doc="Lowest weighted score that passes.")


Combine = _tagged(All, Any_, KOfN, Weighted)


# ------------------------------------------------------------------- evaluation consequences
class Drop(RuleBlock):
    """A cluster that fails is dropped (the baseline: the Region stops its funding)."""

    rule: Literal["drop"] = "drop"


class Probation(RuleBlock):
    """A cluster that fails is put on probation and evaluated again ``review_years`` later;
    failing the review drops it, passing it returns it to its calendar."""

    rule: Literal["probation"]
    review_years: int = P(1, ge=1, le=10, unit="years", source=ASSUME,
                          doc="Years until the probation's review.")


class SubsidyCut(RuleBlock):
    """A cluster that fails keeps its status and loses ``cut`` of its animation subsidy
    (cumulative: the factor is multiplied by 1 - cut); passing restores the full subsidy when
    ``restore`` holds; ``drop_after`` failures in a row drop it (0: never)."""

    rule: Literal["subsidy_cut"]
    cut: float = P(0.25, ge=0.0, le=1.0, unit="share", source=ASSUME,
                   doc="Share of the subsidy cut on each failure.")
    restore: bool = Field(True, description="Whether passing restores the full subsidy.",
                          json_schema_extra={"source": ASSUME})
    drop_after: int = P(0, ge=0, le=20, unit="failures", source=ASSUME,
                        doc="Failures in a row that drop the cluster (0: never).")


class ConditionalRenewal(RuleBlock):
    """A cluster that fails is renewed on conditions: its subsidy is cut by ``cut`` until a
    review ``review_years`` later, which restores it when passed and drops the cluster when
    failed."""

    rule: Literal["conditional_renewal"]
    cut: float = P(0.25, ge=0.0, le=1.0, unit="share", source=ASSUME,
                   doc="Share of the subsidy cut until the review.")
    review_years: int = P(1, ge=1, le=10, unit="years", source=ASSUME,
                          doc="Years until the review.")


Consequence = _tagged(Drop, Probation, SubsidyCut, ConditionalRenewal)


class Withdraw(RuleBlock):
    """A pole that fails loses its label: no more calls, no share of the programmes."""

    rule: Literal["withdraw"] = "withdraw"


PoleConsequence = _tagged(Withdraw, Probation)


# ---------------------------------------------------------------------- evaluation calendars
class LaunchYears(RuleBlock):
    """Evaluated at the end of every ``period_years``-th year after its launch year (the
    baseline: 2004, 2007, 2010 for the 2001 pilots); ``period_years`` unset reads
    ``policy.evaluation.period_years``."""

    rule: Literal["launch_years"] = "launch_years"
    period_years: int | None = Field(None, ge=1, le=50, description="Years between "
                                     "evaluations (unset: policy.evaluation.period_years).",
                                     json_schema_extra={"unit": "years", "source": SEED})


class Common(RuleBlock):
    """Every active cluster is evaluated in the same years: ``first_year`` and every
    ``period_years`` after, if launched at least ``min_age_years`` before."""

    rule: Literal["common"]
    first_year: int = P(2004, ge=1990, le=2100, unit="year", source=SEED + " (first "
                        "evaluation in 2004)", doc="Year of the first common evaluation.")
    period_years: int = P(3, ge=1, le=50, unit="years", source=SEED, doc="Years between "
                          "common evaluations.")
    min_age_years: int = P(1, ge=0, le=50, unit="years", source=ASSUME,
                           doc="A cluster younger than this (in calendar years) is skipped.")


class PerCluster(RuleBlock):
    """Each cluster is evaluated ``period_years`` after its own recognition, then after its
    own last evaluation (the real decree's calendar): at the end of the year in which
    ``4 * period_years`` quarters have passed."""

    rule: Literal["per_cluster"]
    period_years: int = P(3, ge=1, le=50, unit="years", source=SEED + " ('every three "
                          "year' after recognition)", doc="Years between evaluations.")


Calendar = _tagged(LaunchYears, Common, PerCluster)


class EvaluationRules(RuleBlock):
    """The clusters' evaluation as rules (``policy.rules.evaluation``).

    Unset (the default), the criteria are the baseline's two: members at least
    ``policy.evaluation.min_members`` and involvement at least ``min_involvement``, combined
    by ``policy.evaluation.fail_when`` ('any' fails: all must be met; 'all' fails: any one
    suffices)."""

    criteria: list[Criterion] | None = Field(None, min_length=1, max_length=16,
                                             description="The criteria (unset: the baseline's).",
                                             json_schema_extra={"source": SEED})
    combine: Combine | None = Field(None, description="How the criteria combine (unset: from "
                                    "policy.evaluation.fail_when).",
                                    json_schema_extra={"source": SEED})
    consequence: Consequence = Field(Drop(), description="What failing does.",
                                     json_schema_extra={"source": SEED})
    calendar: Calendar = Field(LaunchYears(), description="When clusters are evaluated.",
                               json_schema_extra={"source": SEED})

    @model_validator(mode="after")
    def _k(self) -> EvaluationRules:
        if isinstance(self.combine, KOfN) and self.criteria is not None \
                and self.combine.k > len(self.criteria):
            raise ValueError(f"combine: k = {self.combine.k} is more than the "
                             f"{len(self.criteria)} criteria")
        return self


class PoleEvaluationRules(RuleBlock):
    """The poles' evaluation (``policy.rules.pole_evaluation``), which the baseline does not
    have: the same machinery over the poles' measures (labelled and funded projects since the
    selection, participants on 31 December), with label withdrawal as its consequence."""

    enabled: bool = Field(False, description="Whether the Region evaluates the poles.",
                          json_schema_extra={"source": ASSUME + " (the seed has no pole "
                                             "evaluation in 2006-2009)"})
    first_year: int = P(2009, ge=1990, le=2100, unit="year", source=ASSUME,
                        doc="Year-end of the first evaluation of the poles.")
    period_years: int = P(3, ge=1, le=50, unit="years", source=ASSUME,
                          doc="Years between evaluations of the poles.")
    criteria: list[PoleCriterion] = Field(
        default_factory=lambda: [PoleCriterion(indicator="funded_projects", min=3.0)],
        min_length=1, max_length=16, description="The criteria.",
        json_schema_extra={"source": ASSUME})
    combine: Combine = Field(All(), description="How the criteria combine.",
                             json_schema_extra={"source": ASSUME})
    consequence: PoleConsequence = Field(Withdraw(), description="What failing does.",
                                         json_schema_extra={"source": ASSUME})


# --------------------------------------------------------------------------- animation funding
class Flat(RuleBlock):
    """Every active cluster gets ``policy.animation.subsidy_eur_per_year`` at full rate (the
    baseline)."""

    rule: Literal["flat"] = "flat"


class PerMember(RuleBlock):
    """The subsidy at full rate is ``eur_per_member`` per member, at most ``max_eur``."""

    rule: Literal["per_member"]
    eur_per_member: float = P(2_500.0, ge=0.0, le=1e7, unit="EUR/year/member", source=ASSUME,
                              doc="Subsidy per member (60 members: the baseline's 150 kEUR).")
    max_eur: float = P(300_000.0, ge=0.0, le=1e9, unit="EUR/year/cluster", source=ASSUME,
                       doc="Largest subsidy of a cluster.")


class MatchedFees(RuleBlock):
    """The subsidy at full rate matches the fees the members can pay (SMEs and large firms at
    their caps, ``policy.animation.fee_cap_*``) ``ratio`` to one, at most ``max_eur``."""

    rule: Literal["matched_fees"]
    ratio: float = P(2.0, ge=0.0, le=100.0, unit="EUR per EUR of fees", source=ASSUME,
                     doc="Subsidy per euro of fee capacity.")
    max_eur: float = P(300_000.0, ge=0.0, le=1e9, unit="EUR/year/cluster", source=ASSUME,
                       doc="Largest subsidy of a cluster.")


class ByScore(RuleBlock):
    """The subsidy at full rate is ``policy.animation.subsidy_eur_per_year`` times the
    cluster's last evaluation score (the weighted score of its criteria, in [0, 1]), at least
    ``min_share`` of it; a cluster not yet evaluated gets the full amount."""

    rule: Literal["by_score"]
    min_share: float = P(0.25, ge=0.0, le=1.0, unit="share", source=ASSUME,
                         doc="Lowest share of the full subsidy.")


class Envelope(RuleBlock):
    """A competitive envelope: ``total_eur`` a year shared among the active clusters in
    proportion to their last evaluation score times their taper rate (equal shares before any
    evaluation).  The clusters get exactly the envelope between them."""

    rule: Literal["envelope"]
    total_eur: float = P(1_500_000.0, ge=0.0, le=1e10, unit="EUR/year", source=ASSUME,
                         doc="The yearly envelope (ten clusters at the baseline's 150 kEUR).")


Subsidy = _tagged(Flat, PerMember, MatchedFees, ByScore, Envelope)


class LinearFloor(RuleBlock):
    """The rate falls by ``policy.animation.taper_per_year`` a year after launch down to
    ``policy.animation.taper_floor`` (the baseline)."""

    rule: Literal["linear_floor"] = "linear_floor"


class Stepwise(RuleBlock):
    """The rate falls by ``step`` at the start of each ``period_years``-year period after
    launch, down to ``floor``."""

    rule: Literal["stepwise"]
    step: float = P(0.2, ge=0.0, le=1.0, unit="share per period", source=ASSUME,
                    doc="Cut of the rate per period.")
    period_years: int = P(3, ge=1, le=50, unit="years", source=SEED + " (three-year "
                          "periods)", doc="Length of a period.")
    floor: float = P(0.4, ge=0.0, le=1.0, unit="share", source=ASSUME, doc="Lowest rate.")


class Sunset(RuleBlock):
    """The baseline's linear taper, then no subsidy at all once ``years`` years have passed
    since launch (a rule the Region used: nine years)."""

    rule: Literal["sunset"]
    years: int = P(9, ge=1, le=50, unit="years", source=SEED + " (issue 17: the nine-year "
                   "rule the Region used)", doc="Years of subsidy after launch.")


Taper = _tagged(LinearFloor, Stepwise, Sunset)


class AnimationRules(RuleBlock):
    """The animation subsidy as rules (``policy.rules.animation``)."""

    subsidy: Subsidy = Field(Flat(), description="How much each cluster gets at full rate.",
                             json_schema_extra={"source": SEED})
    taper: Taper = Field(LinearFloor(), description="How the rate falls with age.",
                         json_schema_extra={"source": SEED})


# ------------------------------------------------------------------------------ pole money
class CarryOver(RuleBlock):
    """Unspent pole money stays available for the next calls and quarters of the budget
    period (the baseline); what is left at its end lapses."""

    rule: Literal["carry_over"] = "carry_over"


class Lapse(RuleBlock):
    """Each year of the budget period has its tranche (the budget over the years); at each
    year end the money beyond the tranches of the years left lapses."""

    rule: Literal["lapse"]


class Reallocate(RuleBlock):
    """At each year end of the budget period, the money of the grant instruments (R&D,
    training, investment) beyond their tranches of the years left moves to the grant
    instrument that spent the largest share of its budget so far."""

    rule: Literal["reallocate"]


PoleMoney = _tagged(CarryOver, Lapse, Reallocate)


class JuryRules(RuleBlock):
    """The poles' jury and grants as rules (``policy.rules.pole_jury``): an SME bonus in the
    jury's score, an SME quota of the R&D envelope, caps per project and per firm (0: none,
    the baseline)."""

    sme_bonus: float = P(0.0, ge=0.0, le=10.0, unit="jury score per SME share", source=ASSUME,
                         doc="Added to a proposal's jury score per unit share of SMEs among its "
                             "local members (labelling and ranking).")
    sme_quota: float = P(0.0, ge=0.0, le=1.0, unit="share of the R&D envelope", source=ASSUME,
                         doc="Share of each call's R&D envelope offered first to the labelled "
                             "proposals whose local members are mostly SMEs, in rank order "
                             "(what they leave goes to all; 0: no quota).")
    cap_project_meur: float = P(0.0, ge=0.0, le=1e4, unit="MEUR per grant", source=ASSUME,
                                doc="Largest R&D, training or investment grant of one project "
                                    "(requests above are cut to it; 0: no cap).")
    cap_firm_meur: float = P(0.0, ge=0.0, le=1e5, unit="MEUR per firm", source=ASSUME,
                             doc="Largest sum of grants a company may receive over the period "
                                 "(its share of its projects' grants); a proposal that would "
                                 "take one of its companies above it is not funded (0: no cap).")


# ------------------------------------------------------------------------------ recognition
class Pinned(RuleBlock):
    """Clusters launch on the dates of the scenario (``clusters[].launch_year``; the
    historical replay)."""

    rule: Literal["pinned"] = "pinned"


class BottomUp(RuleBlock):
    """Clusters are born from firms' initiative: each year end, for each declared cluster not
    yet recognised (its sectors a group of related activities), the companies of its sectors
    that see a benefit (sim.rules.recognition.interested) apply when at least
    ``behaviour.creation.min_founders`` of them do (the firms' side, estimated on the seed's
    launches); the Region recognises, in order of group size, at most
    ``per_year`` applications a year, within ``budget_eur`` of yearly animation subsidy
    committed to all recognised clusters, and none after ``last_year``; when ``rounds`` lists
    years, groups apply in those years only (the Region's calls).  A dropped cluster
    may apply again after ``wait_years``.  The clusters dated in or before ``pinned_until`` launch on
    their dates (the Region's pilots), outside the calls.  Recognised clusters launch in the
    quarter of their recognition."""

    rule: Literal["bottom_up"]
    per_year: int = P(4, ge=0, le=1000, unit="clusters", source=ASSUME,
                      doc="Recognitions a year at most.")
    budget_eur: float = P(1e9, ge=0.0, le=1e12, unit="EUR/year", source=ASSUME,
                          doc="Yearly animation subsidy the Region commits to recognised "
                              "clusters at most (at full rate).")
    first_year: int = P(2000, ge=1990, le=2100, unit="year", source=SEED,
                        doc="First year-end at which groups apply.")
    last_year: int = P(2100, ge=1990, le=2100, unit="year", source=ASSUME,
                       doc="Last year-end at which the Region recognises a cluster.")
    wait_years: int = P(3, ge=0, le=50, unit="years", source=ASSUME,
                        doc="Years a dropped cluster waits before applying again.")
    rounds: list[int] = Field(default_factory=list, max_length=100,
                              description="The years the Region takes applications (its calls "
                                          "for recognition); empty: every year.",
                              json_schema_extra={"source": SEED + " (pilots in 2001, "
                                                 "extensions in 2003 and 2004)"})
    pinned_until: int = P(1990, ge=1990, le=2100, unit="year",
                          source=SEED + " ('Started with 4 pilot clusters')",
                          doc="The clusters the scenario dates in or before this year launch on "
                              "their dates (the Region's pilots, inputs); the others are left "
                              "to the firms' initiative.  1990: none (every date cleared).")


class NoneRecognised(RuleBlock):
    """The Region recognises no cluster (recognition switched off)."""

    rule: Literal["none"]


Recognition = _tagged(Pinned, BottomUp, NoneRecognised)


class Rulebook(RuleBlock):
    """The Region's rulebook (``policy.rules``): each rule chosen by name with its own
    parameters; the defaults are the baseline's rules."""

    evaluation: EvaluationRules = EvaluationRules()
    pole_evaluation: PoleEvaluationRules = PoleEvaluationRules()
    animation: AnimationRules = AnimationRules()
    pole_money: PoleMoney = Field(CarryOver(), description="What happens to unspent pole "
                                  "money.", json_schema_extra={"source": SEED})
    pole_jury: JuryRules = JuryRules()
    recognition: Recognition = Field(Pinned(), description="How clusters come to be.",
                                     json_schema_extra={"source": SEED})


# ------------------------------------------------------------------------ the policy schedule
class ScheduleEntry(RuleBlock):
    """From ``year`` on, the levers of ``set`` (dotted paths under ``policy.``) take these
    values (applied on 1 January, in the order of the entries)."""

    year: int = P(2001, ge=1990, le=2100, unit="year", source=ASSUME,
                  doc="First year of the new values.")
    set: dict[str, Any] = Field(min_length=1, max_length=64,
                                description="Dotted lever -> value, e.g. "
                                            "'animation.subsidy_eur_per_year' = 100000.0.")
