"""The scenario schema: one strict, typed description of a run.

A scenario is TOML data (see ``scenarios/baseline.toml``) loaded into :class:`Scenario`.
Following the XLRM split of the EMA Workbench, it keeps apart

* ``world``     – exogenous conditions (population, sectors, provinces, growth);
* ``behaviour`` – behavioural constants of the agents that no source fixes (to be calibrated);
* ``policy``    – the levers a ministry controls (animation subsidy, evaluation, poles, tenders);
* ``clusters`` / ``poles`` – the policy's institutional objects and their dates;
* ``time`` / ``run`` – calendar and default seed.

Every numeric field carries its unit, bounds and source in its metadata
(``json_schema_extra``), never in a trailing comment: sweeps build their ranges from the
bounds (see :func:`parameter_bounds`) and the ODD cites the same sources.

The models are frozen, refuse unknown keys, refuse NaN/inf and check types strictly.
Loading (TOML, ``base`` inheritance, error reporting) lives in :mod:`sim.loader`.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# the names of the model's codes (sim.state.codes imports nothing), here for the schema's users
from sim.rules.schema import Rulebook, ScheduleEntry
from sim.state.codes import ACTOR_TYPES, INSTRUMENTS, PROVINCES  # noqa: F401

# Source tags, used in field metadata.  Long forms are in docs/ODD.md, section 7.
SEED = "seed"  # ../shared/seed/000_daa5029ac5e1a80b.txt (Walloon cluster & pole policy)
CAL = "to be calibrated"
ASSUME = "assumption"


def P(
    default: Any,
    *,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    unit: str = "",
    source: str,
    doc: str,
) -> Any:
    """Declare a parameter with bounds, unit and source in its metadata."""
    return Field(
        default,
        ge=ge,
        le=le,
        gt=gt,
        description=doc,
        json_schema_extra={"unit": unit, "source": source},
    )


class Strict(BaseModel):
    """Base for every schema block: frozen, strict types, no unknown keys, no NaN/inf."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, allow_inf_nan=False, validate_default=True
    )


# --------------------------------------------------------------------------------------- time
class Time(Strict):
    """Calendar: the model steps one quarter at a time (docs/ODD.md, 'Time')."""

    start_year: int = P(2001, ge=1990, le=2100, unit="year", source=SEED,
                        doc="First simulated year (the cluster policy starts in 2001).")
    end_year: int = P(2012, ge=1990, le=2100, unit="year",
                      source="assumption (the policy history to the end of 2012)",
                      doc="Last simulated year (inclusive); the run ends on 31 December.")

    @model_validator(mode="after")
    def _order(self) -> Time:
        if self.end_year < self.start_year:
            raise ValueError(f"end_year: {self.end_year} is before start_year "
                             f"({self.start_year})")
        return self


class Run(Strict):
    """Default seed of a single run (`clustersim run --seed` overrides it)."""

    seed: int = P(20010101, ge=0, le=2**63 - 1, source=ASSUME, doc="Root seed of the run.")
    scale: float = P(1.0, gt=0.0, le=3000.0, unit="x",
                     source=ASSUME,
                     doc="Multiplies every population size (firms, R&D and training actors); "
                         "for scale studies, policy figures unchanged.")
    panel: bool = Field(False, description="Write the firm panel (one row per actor and year, "
                        "sim.evaluation.panel) and the project table; opt-in, the results are "
                        "the same without it.", json_schema_extra={"unit": "", "source": ASSUME})


# -------------------------------------------------------------------------------------- world
class Sector(Strict):
    """An industry of the Walloon productive fabric."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    firms: int = P(200, ge=0, le=10_000_000, unit="firms", source=CAL,
                   doc="Companies of the sector in the modelled fabric at the start.")
    large_share: float = P(0.05, ge=0.0, le=1.0, unit="share", source=ASSUME,
                           doc="Share of large firms (>= 250 employees) among them.")
    cooperation: float | None = Field(
        None, ge=0.0, le=5.0,
        description="Propensity of the sector's firms to initiate joint projects (1 = average); "
                    "when unset (the baseline), the sector rule gives it from the knowledge "
                    "intensity: exp(behaviour.partnering.cooperation_slope x (knowledge_intensity "
                    "- 0.5)). Set it only to override the rule for one sector.",
        json_schema_extra={"unit": "x", "source": CAL + " (through the sector rule's slope)"})
    knowledge_intensity: float = P(0.5, ge=0.0, le=1.0, unit="index",
                                   source="OECD technology-intensity classes of manufacturing "
                                          "(Hatzichronoglou 1997; OECD 2011 ISIC Rev.3): high 1, "
                                          "medium-high 2/3, medium-low 1/3, low 0; services by "
                                          "Eurostat's knowledge-intensive services list",
                                   doc="Technology content of the sector (data): sets its "
                                       "cooperation propensity through the sector rule.")
    export_share: float = P(0.3, ge=0.0, le=1.0, unit="share", source=ASSUME,
                            doc="Share of exporters among the sector's firms at the start.")
    growth: float = P(0.005, ge=-0.1, le=0.1, unit="per quarter", source=ASSUME,
                      doc="Trend growth of value added per quarter.")
    universities: int = P(0, ge=0, le=10_000, unit="actors", source=ASSUME,
                          doc="University departments specialised in the sector.")
    research_centres: int = P(0, ge=0, le=10_000, unit="actors", source=ASSUME,
                              doc="Research centres specialised in the sector.")
    training_centres: int = P(0, ge=0, le=10_000, unit="actors", source=ASSUME,
                              doc="Training centres specialised in the sector.")


# ------------------------------------------------------------------------- world: the market
K_S = "Dosi, Fagiolo & Roventini 2010 (literature B5), market shares by competitiveness"


class Market(Strict):
    """The market the companies sell in and the firm's accounts (docs/economy.md)."""

    home_share: float = P(0.25, gt=0.0, le=1.0, unit="share", source=ASSUME + " (Wallonia a "
                          "small open economy: its firms hold a minor share of their markets); "
                          "calibrated by hand, to be re-estimated",
                          doc="Share of its sectors' market the region's firms hold at the start "
                              "(the rest: foreign competitors).")
    input_share: float = P(0.6, ge=0.0, le=0.95, unit="share of sales",
                           source=ASSUME + " (manufacturing value added is about a third to "
                           "two fifths of production in Belgium, Eurostat SBS)",
                           doc="Intermediate inputs as a share of sales at the start.")
    labour_share: float = P(0.65, gt=0.0, le=0.95, unit="share of VA",
                            source=ASSUME + " (labour share of value added in Belgian "
                            "manufacturing, about two thirds)",
                            doc="Wage bill as a share of value added at the start.")
    employment_adjustment: float = P(0.25, gt=0.0, le=1.0, unit="share per quarter",
                                     source=ASSUME + " (employment closes a quarter of the "
                                     "gap to its target each quarter, a mean lag of a year); "
                                     "calibrated by hand, to be re-estimated",
                                     doc="Speed of the partial adjustment of employment to "
                                         "the output's labour requirement.")
    cost_demand_effect: float = P(1.0, ge=0.0, le=10.0, unit="log demand per log cost",
                                  source=K_S + "; value 1: the labour a process innovation "
                                  "saves is re-employed by the demand its lower price wins "
                                  "(displacement compensated, as Harrison, Jaumandreu, Mairesse "
                                  "& Peters 2014 find on average): calibrated by hand, to be "
                                  "re-estimated",
                                  doc="Demand gained per unit of log unit-cost reduction "
                                      "(lower prices), on top of the quality.")
    exit_margin_sensitivity: float = P(8.0, ge=0.0, le=100.0, unit="log hazard per margin",
                                       source=ASSUME + " (exit as a hazard of the firm's own "
                                       "operating margin); calibrated by hand, to be re-estimated",
                                       doc="How fast the exit hazard rises as the firm's margin "
                                           "falls below the margin at the start.")
    export_productivity_elasticity: float = P(1.5, ge=0.0, le=20.0, unit="elasticity",
                                              source="Melitz 2003 self-selection of the more "
                                              "productive into exports; value: assumption",
                                              doc="Elasticity of the export entry hazard (and, "
                                                  "negatively, the exit hazard) to the firm's "
                                                  "productivity relative to the start's mean.")
    export_package_keur: float = P(25.0, gt=0.0, le=1e5, unit="kEUR per firm",
                                   source=ASSUME + " (cost of one firm's export-promotion "
                                   "action: trade mission, fair, coaching)",
                                   doc="Export promotion money per firm reached: the pole "
                                       "budget's export money reaches spend / this many "
                                       "non-exporting pole members each quarter.")
    export_package_effect: float = P(0.15, ge=0.0, le=1.0, unit="probability",
                                     source=ASSUME + "; calibrated by hand, to be re-estimated",
                                     doc="Chance that an export-promotion action starts the "
                                         "firm exporting (taken off its export clock as "
                                         "integrated hazard).")
    export_intensity_elasticity: float = P(0.5, ge=0.0, le=5.0, unit="elasticity",
                                           source=ASSUME + " (more productive exporters "
                                           "export a larger share, Melitz 2003)",
                                           doc="Elasticity of an exporter's target export "
                                               "intensity to its relative productivity "
                                               "(target = export_intensity * rel^this, at most "
                                               "0.95).")
    export_ramp_quarters: float = P(8.0, ge=1.0, le=80.0, unit="quarters",
                                    source=ASSUME + " (new exporters start small and grow "
                                    "into their markets over years, Ruhl & Willis 2017)",
                                    doc="Mean lag of an exporter's export intensity to its "
                                        "target (it closes 1/this of the gap each quarter).")
    foreign_export_effect: float = P(0.5, ge=0.0, le=20.0, unit="x per log partner",
                                     source=ASSUME + " (foreign partners lower the sunk cost "
                                     "of export entry); calibrated by hand, to be re-estimated",
                                     doc="Export entry hazard rise per log(1 + completed "
                                         "projects with a foreign partner).")


class World(Strict):
    """Exogenous conditions: the productive fabric and its dynamics."""

    sectors: list[Sector] = Field(min_length=1, max_length=64)
    province_weights: list[float] = Field(
        default=[0.37, 0.30, 0.07, 0.13, 0.13], min_length=5, max_length=5,
        description="Weights of the five provinces (Hainaut, Liege, Luxembourg, Namur, Walloon "
                    "Brabant) in the location of actors.",
        json_schema_extra={"unit": "weight", "source": ASSUME + " (rough shares of Walloon employment)"})
    knowledge_dims: int = P(8, ge=2, le=32, unit="fields", source="SKIN (literature A1), reduced",
                            doc="Dimensions of the technology profile of every actor.")
    sector_profile_spread: float = P(0.35, ge=0.0, le=2.0, unit="norm", source=ASSUME,
                                     doc="Spread of firms' profiles around their sector's centroid.")
    sme_employment_mean: float = P(25.0, gt=0.0, le=249.0, unit="FTE", source=ASSUME,
                                   doc="Mean employment of an SME at the start (lognormal).")
    large_employment_mean: float = P(600.0, ge=250.0, le=1e5, unit="FTE", source=ASSUME,
                                     doc="Mean employment of a large firm at the start.")
    productivity_mean: float = P(70_000.0, gt=0.0, le=1e7, unit="EUR/FTE/year", source=ASSUME,
                                 doc="Mean value added per employee at the start.")
    productivity_sd: float = P(0.35, ge=0.0, le=3.0, unit="log", source=ASSUME,
                               doc="Dispersion (sd of log) of productivity at the start.")
    va_noise: float = P(0.03, ge=0.0, le=1.0, unit="log per quarter", source=ASSUME,
                        doc="Idiosyncratic shock to value added per quarter.")
    employment_elasticity: float = P(0.5, ge=0.0, le=1.0, unit="elasticity", source=ASSUME,
                                     doc="Employment response to value-added growth.")
    exit_rate: float = P(0.008, ge=0.0, le=0.5, unit="per quarter", source=ASSUME,
                         doc="Base exit hazard of a firm (about 3% a year).")
    entry_rate: float = P(0.008, ge=0.0, le=0.5, unit="per quarter", source=ASSUME,
                          doc="New firms per quarter per active firm of the sector.")
    export_entry_rate: float = P(0.004, ge=0.0, le=1.0, unit="per quarter", source=ASSUME,
                                 doc="Base hazard of a non-exporter starting to export.")
    export_exit_rate: float = P(0.01, ge=0.0, le=1.0, unit="per quarter", source=ASSUME,
                                doc="Hazard of an exporter stopping.")
    export_intensity: float = P(0.35, ge=0.0, le=1.0, unit="share of VA", source=ASSUME,
                                doc="Exports of an exporter as a share of its value added.")
    market: Market = Market()


# ---------------------------------------------------------------------------------- behaviour
class Membership(Strict):
    """How actors decide to join or leave a cluster (benefit against cost)."""

    awareness_base: float = P(0.02, ge=0.0, le=1.0, unit="per quarter", source=CAL,
                              doc="Chance a non-member considers a cluster without any recruiting.")
    awareness_recruit: float = P(0.25, ge=0.0, le=5.0, unit="per effort", source=CAL,
                                 doc="Extra consideration chance per unit of recruiting effort.")
    benefit_base: float = P(-2.3, ge=-10.0, le=5.0, unit="utility", source=CAL,
                            doc="Intrinsic benefit of membership (information, visibility).")
    benefit_pull: float = P(1.5, ge=0.0, le=10.0, unit="utility", source=CAL,
                            doc="Pull of members already in: benefit per unit share of the sector "
                                "already member.")
    benefit_activity: float = P(1.0, ge=0.0, le=100.0, unit="utility", source=CAL,
                                doc="Expected project gain: benefit per unit of the cluster's "
                                    "recent partnerships per member times the company's own "
                                    "success record (learned from its past projects).")
    record_prior: float = P(2.0, gt=0.0, le=100.0, unit="projects",
                            source=ASSUME + " (a Beta(1, 1) prior: two pseudo-projects, one a "
                                   "success; Bayesian learning as in SKIN's 'firms learn from "
                                   "experience', literature A1)",
                            doc="Weight of the prior in the company's success record "
                                "2 (won + prior/2) / (done + prior): 1 before any project, "
                                "towards 0 after failures, towards 2 after successes.")
    selection: float = P(-0.5, ge=-10.0, le=10.0, unit="utility per margin sd",
                         source="Martin, Mayer & Mayneris 2011 (evaluation.md): firms in relative "
                                "decline joined; size: assumption, to be calibrated on the "
                                "naive-versus-DiD gap",
                         doc="Selection into membership on the company's health: utility per "
                             "unit of its margin's deviation from the start's margin, in units "
                             "of MARGIN_SD (sim.processes.membership); negative: firms in "
                             "decline seek help.")
    benefit_taste: float = P(1.0, ge=0.0, le=10.0, unit="utility per sd", source=CAL,
                             doc="Weight of each company's persistent taste for cooperation.")
    cost_weight: float = P(1.0, ge=0.0, le=10.0, unit="utility per kEUR", source=CAL,
                           doc="Weight of the yearly fee (kEUR, relative to firm size) in the decision.")
    noise: float = P(0.5, gt=0.0, le=10.0, unit="utility", source=CAL,
                     doc="Scale of the logistic taste shock.")
    leave_rate: float = P(0.03, ge=0.0, le=1.0, unit="per quarter", source=CAL,
                          doc="Chance a member reconsiders its membership each quarter.")
    rd_join_rate: float = P(1.0, ge=0.0, le=1.0, unit="per quarter", source=CAL,
                            doc="Chance per quarter that a university, research centre or training "
                                "centre of the cluster's sectors joins, times the members' pull.")


class Partnering(Strict):
    """Partner search and consortium formation (the hot path)."""

    initiate_rate: float = P(0.006, ge=0.0, le=1.0, unit="per quarter", source=CAL,
                             doc="Chance a member with spare capacity initiates a project.")
    initiate_promotion: float = P(1.0, ge=0.0, le=20.0, unit="per effort", source=CAL,
                                  doc="Relative rise of initiation per unit of the animator's "
                                      "partnership-promotion effort.")
    candidates: int = P(10, ge=1, le=64, unit="actors",
                        source="performance.md reference kernel (K=10); SKIN max-partners 5",
                        doc="Candidates an initiator screens per project.")
    discovery_base: float = P(0.35, ge=0.0, le=1.0, unit="probability", source=CAL,
                              doc="Chance a screened candidate is known without animation.")
    discovery_effort: float = P(1.5, ge=0.0, le=20.0, unit="per effort", source=CAL,
                                doc="Rise of discovery per unit of 'knowing each other' effort.")
    cross_cluster_prob: float = P(0.12, ge=0.0, le=1.0, unit="probability", source=CAL,
                                  doc="Chance a candidate is drawn from another Walloon cluster "
                                      "(raised by environment-mapping effort).")
    rd_candidate_prob: float = P(0.15, ge=0.0, le=1.0, unit="probability", source=CAL,
                                 doc="Chance a candidate slot goes to a university, research or "
                                     "training centre member of the cluster.")
    foreign_prob: float = P(0.03, ge=0.0, le=1.0, unit="probability", source=CAL,
                            doc="Chance per project that a foreign partner joins; multiplied by "
                                "(1 + active intercluster agreements of the lead's cluster).")
    cooperation_slope: float = P(1.5, ge=-10.0, le=10.0, unit="log x per unit knowledge "
                                 "intensity", source=CAL,
                                 doc="The sector rule: a sector's cooperation propensity is "
                                     "exp(cooperation_slope x (knowledge_intensity - 0.5)), "
                                     "unless the sector sets its own.")
    outside_rate: float = P(1.0, ge=0.0, le=10.0, unit="x initiate_rate",
                            source=ASSUME + " (the same propensity inside and outside clusters: "
                                   "what a cluster adds is its animator's effort, discovery and "
                                   "a pool of related firms; evaluation.md: 'no cooperation "
                                   "without the policy is false')",
                            doc="Initiation rate of a company in no active cluster, relative to "
                                "initiate_rate (no animator effort raises it); its partners "
                                "come from the companies and research actors outside clusters "
                                "and from its remembered partners.")
    w_horizontal: float = P(1.0, ge=0.0, le=10.0, unit="weight",
                            source="Cowan-Jonard-Zimmermann 2007 (literature A5)",
                            doc="Weight of cognitive complementarity 4s(1-s) in the match.")
    w_vertical: float = P(0.8, ge=0.0, le=10.0, unit="weight", source=CAL,
                          doc="Weight of customer-supplier complementarity (value-chain distance).")
    w_trust: float = P(1.0, ge=0.0, le=10.0, unit="weight", source="NEMO/SKEIN tie value (A2)",
                       doc="Weight of trust from past collaboration.")
    w_proximity: float = P(0.3, ge=0.0, le=10.0, unit="weight", source=CAL,
                           doc="Bonus for partners in the same province.")
    accept_threshold: float = P(0.6, ge=0.0, le=10.0, unit="match",
                                source="SKIN attractiveness threshold (A1) / Tomasello (A6)",
                                doc="Minimum match for a candidate to accept.")
    max_refusals: int = P(4, ge=1, le=64, unit="refusals", source="Tomasello et al. 2017 (A6), R",
                          doc="The initiator stops once this many candidates have refused.")
    max_consortium: int = P(6, ge=2, le=40, unit="actors",
                            source="NEMO/SKEIN 2-4 partners (A2), widened: the seed's 222 members "
                                   "in 59 partnerships is 3.8 on average",
                            doc="Largest consortium of a cluster partnership.")
    consortium_growth: float = P(0.72, ge=0.0, le=0.99, unit="probability", source=CAL,
                                 doc="Chance a partnership's target size grows by one more actor "
                                     "(sizes 2, 3, ... up to max_consortium).")
    capacity_sme: int = P(1, ge=1, le=20, unit="projects", source="NEMO max projects (A2), scaled",
                          doc="Concurrent projects an SME can carry.")
    capacity_large: int = P(3, ge=1, le=50, unit="projects", source="NEMO max projects (A2), scaled",
                            doc="Concurrent projects of a large firm.")
    capacity_rd: int = P(4, ge=1, le=50, unit="projects", source="NEMO max projects (A2), scaled",
                         doc="Concurrent projects of a university, research or training centre.")


class Projects(Strict):
    """Project durations, outcomes and their effects."""

    duration_min: int = P(8, ge=1, le=40, unit="quarters", source=ASSUME,
                          doc="Shortest project.")
    duration_max: int = P(20, ge=1, le=60, unit="quarters",
                          source="INFSO-SKIN CP 36 months (A2), widened",
                          doc="Longest project.")
    success_base: float = P(-0.2, ge=-10.0, le=10.0, unit="logit", source=CAL,
                            doc="Intercept of the success probability.")
    success_match: float = P(1.2, ge=0.0, le=10.0, unit="logit per match", source=CAL,
                             doc="Effect of the consortium's mean match on success.")
    success_research: float = P(0.4, ge=0.0, le=10.0, unit="logit", source=CAL,
                                doc="Effect of a university or research centre in the consortium.")
    success_benchmark: float = P(0.3, ge=0.0, le=10.0, unit="logit per effort", source=CAL,
                                 doc="Effect of the animator's benchmarking effort.")
    success_funded: float = P(0.5, ge=0.0, le=10.0, unit="logit", source=CAL,
                              doc="Effect of pole funding on the success of a labelled project.")
    productivity_gain: float = P(0.03, ge=0.0, le=1.0, unit="log VA", source=CAL,
                                 doc="Value-added gain of each company in a successful project.")
    innovation_prob: float = P(0.6, ge=0.0, le=1.0, unit="probability", source=CAL,
                               doc="Chance a successful project yields a new product per company.")
    export_gain: float = P(0.10, ge=0.0, le=1.0, unit="probability", source=CAL,
                           doc="Chance a non-exporting company of a successful project starts "
                               "exporting (x2 with a foreign partner).")
    own_rd_keur_per_year: float = P(40.0, ge=0.0, le=1e5, unit="kEUR per company-year",
                                    source=ASSUME + " (about half a researcher's cost: an "
                                    "SME's own R&D in one joint project)",
                                    doc="What each company spends of its own on R&D while an "
                                        "unfunded (cluster or outside) partnership is under "
                                        "way.")
    learning: float = P(0.1, ge=0.0, le=1.0, unit="share",
                        source="SKIN / INFSO-SKIN knowledge exchange (A1, A2); value: assumption",
                        doc="Share of the gap to the consortium's mean profile closed on success.")
    spinoff_prob: float = P(0.2, ge=0.0, le=1.0, unit="probability", source=CAL,
                            doc="Chance a successful project creates a new enterprise.")
    spinoff_prob_research: float = P(0.35, ge=0.0, le=1.0, unit="probability", source=CAL,
                                     doc="The same when a university or research centre takes part.")
    academic_spinoff_rate: float = P(0.01, ge=0.0, le=1.0, unit="per quarter", source=CAL,
                                     doc="Spin-offs per quarter per university or research centre.")
    trust_gain: float = P(0.1, ge=0.0, le=1.0, unit="tie", source="NEMO/SKEIN (A2): +0.1",
                          doc="Trust gained between partners after a success.")
    trust_loss: float = P(0.05, ge=0.0, le=1.0, unit="tie", source="NEMO/SKEIN (A2): -0.05",
                          doc="Trust lost between partners after a failure.")
    trust_decay: float = P(0.05, ge=0.0, le=1.0, unit="share per quarter",
                           source="NEMO/SKEIN (A2): 5% drift per period",
                           doc="Decay of unused ties.")

    @model_validator(mode="after")
    def _durations(self) -> Projects:
        if self.duration_max < self.duration_min:
            raise ValueError(f"duration_max: {self.duration_max} is below duration_min "
                             f"({self.duration_min})")
        return self


class Innovation(Strict):
    """What a successful project brings a company: product and process innovations that pay
    through the market, with a lag (docs/economy.md)."""

    quality_gain: float = P(0.05, ge=0.0, le=1.0, unit="log demand", source=K_S + "; value: "
                            "calibrated by hand, to be re-estimated",
                            doc="Demand gained by a product innovation (quality), at equal "
                                "prices.")
    lag_quarters: float = P(4.0, ge=1.0, le=40.0, unit="quarters",
                            source=ASSUME + " (effects of innovation arrive over about a year)",
                            doc="Mean lag of an innovation's effect (a geometric lag: 1/lag "
                                "of what is pending arrives each quarter).")
    grant_reference_meur: float = P(1.0, gt=0.0, le=1e4, unit="MEUR per project",
                                    source=ASSUME + " (diminishing returns of a grant's "
                                    "amount: log(1 + amount / reference))",
                                    doc="Amount at which a grant's effect is log(2) times its "
                                        "effect size.")

    programme_reference_keur: float = P(50.0, gt=0.0, le=1e5, unit="kEUR per firm",
                                        source=ASSUME + " (diminishing returns of a direct "
                                        "programme's amount per firm: log(1 + amount / "
                                        "reference))",
                                        doc="Amount per firm at which the residual training "
                                            "or investment programme's effect is log(2) "
                                            "times its effect size.")


class InternationalBehaviour(Strict):
    """How clusters and firms respond to internationalisation support (behavioural responses,
    not levers of the Region: moved from ``policy.international`` by issue 16)."""

    agreement_rate: float = P(0.2, ge=0.0, le=1.0, unit="per quarter per effort", source=CAL,
                              doc="Chance per quarter and unit of promotion effort that a cluster "
                                  "signs an agreement with a foreign cluster.")
    tender_effect: float = P(1.0, ge=0.0, le=20.0, unit="x per 24 kEUR", source=CAL,
                             doc="Relative rise of that chance per 24,000 EUR of tender subsidy.")
    agreement_years: int = P(4, ge=1, le=50, unit="years", source=ASSUME,
                             doc="Life of an intercluster agreement.")
    promotion_export_effect: float = P(3.0, ge=0.0, le=100.0, unit="x per effort", source=CAL,
                                       doc="Relative rise of members' export entry per unit of the "
                                           "animator's promotion (fairs, AWEX missions) effort.")


class PoleBehaviour(Strict):
    """How firms, research actors and the jury respond to the poles' calls and instruments
    (behavioural responses, not levers of the Region: moved from ``policy.poles`` by issue
    16)."""

    proposal_rate: float = P(0.04, ge=0.0, le=1.0, unit="per call", source=CAL,
                             doc="Chance an eligible company or research actor of a pole initiates "
                                 "a proposal in a call.")
    consortium_growth: float = P(0.6, ge=0.0, le=0.99, unit="probability", source=CAL,
                                 doc="Chance a pole consortium's target size grows by one more actor.")
    rd_slot_prob: float = P(0.35, ge=0.0, le=1.0, unit="probability", source=SEED + " (criterion 1); rate: " + CAL,
                            doc="Chance a candidate slot of a pole consortium goes to a university, "
                                "research or training centre.")
    foreign_prob: float = P(0.3, ge=0.0, le=1.0, unit="probability", source=SEED + " (proposals must include foreign partners); rate: " + CAL,
                            doc="Chance a pole proposal brings in a foreign partner.")
    jury_noise: float = P(0.15, ge=0.0, le=5.0, unit="jury score", source=ASSUME,
                          doc="Noise in the jury's assessment.")
    jury_selection: float = P(0.3, ge=-10.0, le=10.0, unit="jury score per margin sd",
                              source="Fontagné, Koenig, Mayneris & Poncet 2013 (evaluation.md): "
                                     "the authorities picked winners; size: assumption",
                              doc="The jury's tilt towards healthy companies: score per unit of "
                                  "the consortium companies' mean margin deviation (in MARGIN_SD "
                                  "units, as the membership's selection); positive: champions "
                                  "are picked.")
    training_gain: float = P(0.01, ge=0.0, le=1.0, unit="log VA", source=CAL,
                             doc="Productivity gain of companies in a funded training project.")
    investment_gain: float = P(0.02, ge=0.0, le=1.0, unit="log VA", source=CAL,
                               doc="Value-added gain of companies in a funded investment project.")
    export_spend_effect: float = P(0.5, ge=0.0, le=100.0, unit="x per MEUR/quarter/pole", source=CAL,
                                   doc="Relative rise of pole firms' export entry per MEUR of "
                                       "export promotion spent per quarter in their pole.")


class Creation(Strict):
    """How groups of firms take the initiative of a cluster (``policy.rules.recognition =
    bottom_up``, :mod:`sim.rules.recognition`): the firms' side of a cluster's birth, estimated
    on the seed's launches by ``clustersim calibrate calibration/creation.toml`` (moved from the
    recognition rule: the Region decides only whom it recognises)."""

    min_founders: int = P(12, ge=1, le=100_000, unit="companies", source=CAL,
                          doc="Interested companies a group needs before it organises and "
                              "applies (times run.scale): the collective-action threshold.")
    benefit_threshold: float = P(0.6, ge=-10.0, le=10.0, unit="utility", source=CAL,
                                 doc="Expected benefit of a cluster a company needs to take "
                                     "part in the initiative.")
    subsidy_weight: float = P(1.0, ge=0.0, le=10.0, unit="utility per animator funded",
                              source=CAL, doc="Weight, in a company's expected benefit, of the "
                              "animation subsidy on offer (its share of an animator's cost).")
    cooperation_weight: float = P(10.0, ge=0.0, le=100.0, unit="utility per share of the group",
                                  source=CAL, doc="Weight, in a company's expected benefit, of "
                                  "its group's recent cooperation (the share of the group's "
                                  "companies that started a partnership in the last four quarters, "
                                  "times the company's success record): what the firms expect a "
                                  "cluster of theirs to do, their own to estimate (not the "
                                  "members' behaviour.membership.benefit_activity, which prices "
                                  "an animated cluster's activity).")
    demonstration_weight: float = P(0.0, ge=0.0, le=20.0, unit="utility per share of groups",
                                    source=CAL + "; the mechanism: seed ('a multiplier effect in "
                                    "most of the sectors')", doc="Weight, in a company's expected "
                                    "benefit, of the clusters already at work (their share of the "
                                    "scenario's groups): the demonstration effect by which the "
                                    "pilots drew the later clusters.")


class Behaviour(Strict):
    """Behavioural constants of the agents (no source fixes them: to be calibrated)."""

    membership: Membership = Membership()
    partnering: Partnering = Partnering()
    projects: Projects = Projects()
    innovation: Innovation = Innovation()
    international: InternationalBehaviour = InternationalBehaviour()
    poles: PoleBehaviour = PoleBehaviour()
    creation: Creation = Creation()


# ------------------------------------------------------------------------------------- policy
class Animation(Strict):
    """The Region's funding of cluster animation, and how animators spend their effort."""

    subsidy_eur_per_year: float = P(150_000.0, ge=0.0, le=1e8, unit="EUR/year/cluster",
                                    source=SEED + " (Region supports animation); amount: assumption",
                                    doc="Region's yearly grant to each active cluster's animation at "
                                        "full rate. Zero means no animator is hired.")
    cost_eur_per_year: float = P(150_000.0, gt=0.0, le=1e8, unit="EUR/year/cluster", source=ASSUME,
                                 doc="Yearly cost of one full-time animator with operating costs.")
    taper_per_year: float = P(0.05, ge=0.0, le=1.0, unit="share/year",
                              source=SEED + " (clusters should become self-supporting); rate: assumption",
                              doc="Yearly cut of the subsidy rate after launch.")
    taper_floor: float = P(0.5, ge=0.0, le=1.0, unit="share", source=ASSUME,
                           doc="Lowest subsidy rate reached by the taper.")
    fee_cap_sme_eur: float = P(1_500.0, ge=0.0, le=1e6, unit="EUR/year", source=ASSUME,
                               doc="Largest yearly fee an SME member pays.")
    fee_cap_large_eur: float = P(6_000.0, ge=0.0, le=1e6, unit="EUR/year", source=ASSUME,
                                 doc="Largest yearly fee a large member pays.")
    effort_know_each_other: float = P(0.25, ge=0.0, le=1.0, unit="share", source=SEED + " (guideline 1)",
                                      doc="Share of effort on making members know each other.")
    effort_mapping: float = P(0.10, ge=0.0, le=1.0, unit="share", source=SEED + " (guideline 2)",
                              doc="Share on mapping the environment (raises cross-cluster search).")
    effort_recruiting: float = P(0.20, ge=0.0, le=1.0, unit="share", source=SEED,
                                 doc="Share on recruiting members.")
    effort_partnerships: float = P(0.25, ge=0.0, le=1.0, unit="share", source=SEED + " (guideline 4)",
                                   doc="Share on promoting partnerships and joint projects.")
    effort_benchmarking: float = P(0.05, ge=0.0, le=1.0, unit="share", source=SEED + " (guideline 5)",
                                   doc="Share on benchmarking actions.")
    effort_promotion: float = P(0.15, ge=0.0, le=1.0, unit="share", source=SEED + " (guideline 8)",
                                doc="Share on promotion at fairs and international activities.")

    @model_validator(mode="after")
    def _shares(self) -> Animation:
        total = (self.effort_know_each_other + self.effort_mapping + self.effort_recruiting
                 + self.effort_partnerships + self.effort_benchmarking + self.effort_promotion)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"effort_*: the six effort shares must add up to 1, "
                             f"they add up to {total:.6g}")
        return self


class Evaluation(Strict):
    """The Region's periodic evaluation of clusters."""

    enabled: bool = Field(True, description="Whether the Region evaluates clusters at all.",
                          json_schema_extra={"source": SEED})
    period_years: int = P(3, ge=1, le=50, unit="years", source=SEED + " ('every three year')",
                          doc="Years between evaluations; the first falls period_years after launch "
                              "(2004 for the 2001 pilots).")
    min_members: int = P(40, ge=0, le=100_000, unit="members", source=CAL + " (critical mass, " + SEED + ")",
                         doc="Critical mass: fewest members a cluster needs.")
    min_involvement: float = P(0.10, ge=0.0, le=1.0, unit="share", source=CAL + " (involvement, " + SEED + ")",
                               doc="Fewest share of member companies involved in a partnership "
                                   "launched since the previous evaluation.")
    fail_when: Literal["any", "all"] = Field(
        "any", description="'any': a cluster failing one criterion is dropped; 'all': only one "
                           "failing both.", json_schema_extra={"source": ASSUME})


class International(Strict):
    """Internationalisation: intercluster agreements and export promotion."""

    tender_subsidy_eur: float = P(24_000.0, ge=0.0, le=1e7, unit="EUR per tender",
                                  source=SEED + " (24.000 euros)",
                                  doc="Region's subsidy to a cluster preparing an EU/international "
                                      "tender with foreign clusters.")
    tender_subsidy_start_year: int = P(2006, ge=1990, le=2100, unit="year", source=SEED + " ('it is now possible', 2006)",
                                       doc="First year the tender subsidy is available.")


class Pole(Strict):
    """A candidate competitiveness pole in one of the priority sectors."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    sectors: list[str] = Field(min_length=1, max_length=16)


class Call(Strict):
    """A call for projects of the poles."""

    year: int = P(2006, ge=1990, le=2100, unit="year", source=ASSUME, doc="Year of the deadline.")
    quarter: int = P(3, ge=1, le=4, unit="quarter", source=ASSUME, doc="Quarter of the deadline.")


class Poles(Strict):
    """The competitiveness poles of the Marshall Plan (2006-2009)."""

    enabled: bool = Field(True, description="Whether the poles policy exists.",
                          json_schema_extra={"source": SEED})
    selection_year: int = P(2006, ge=1990, le=2100, unit="year", source=SEED, doc="Year of selection.")
    selection_quarter: int = P(2, ge=1, le=4, unit="quarter", source=ASSUME, doc="Quarter of selection.")
    candidates: list[Pole] = Field(default_factory=list, max_length=32,
                                   description="The priority sectors' candidate poles (five in the seed).",
                                   json_schema_extra={"source": SEED})
    min_companies: int = P(15, ge=0, le=1_000_000, unit="companies", source=CAL + " (criterion 3)",
                           doc="Critical mass: companies of the pole's sectors in clusters or "
                               "past partnerships.")
    min_rd_actors: int = P(2, ge=0, le=10_000, unit="actors", source=SEED + " (criterion 1); number: assumption",
                           doc="Universities and research centres needed in the pole's sectors.")
    min_training_actors: int = P(1, ge=0, le=10_000, unit="actors", source=SEED + " (criterion 1); number: assumption",
                                 doc="Training centres needed.")
    min_provinces: int = P(3, ge=0, le=5, unit="provinces", source=SEED + " (criterion 4); number: assumption",
                           doc="Provinces in which the pole's companies must be present.")
    min_innovation: float = P(0.0, ge=0.0, le=1e6, unit="innovations", source=SEED + " (criterion 2); number: assumption",
                              doc="Innovations from past projects in the pole's sectors needed.")
    budget_start_year: int = P(2006, ge=1990, le=2100, unit="year", source=SEED, doc="First budget year.")
    budget_end_year: int = P(2009, ge=1990, le=2100, unit="year", source=SEED, doc="Last budget year.")
    budget_rd_meur: float = P(120.0, ge=0.0, le=1e6, unit="MEUR", source=SEED, doc="R&D projects.")
    budget_training_meur: float = P(55.0, ge=0.0, le=1e6, unit="MEUR", source=SEED, doc="Training and employment.")
    budget_investment_meur: float = P(45.0, ge=0.0, le=1e6, unit="MEUR", source=SEED, doc="Investment aid.")
    budget_export_meur: float = P(10.0, ge=0.0, le=1e6, unit="MEUR", source=SEED, doc="Export promotion (AWEX).")
    budget_assets_meur: float = P(50.0, ge=0.0, le=1e6, unit="MEUR", source=SEED, doc="Assets and holdings.")
    calls: list[Call] = Field(default_factory=list, max_length=64,
                              description="Calls for projects (deadlines).",
                              json_schema_extra={"source": ASSUME})
    max_consortium: int = P(10, ge=2, le=60, unit="actors", source="INFSO-SKIN instruments (A2), scaled",
                            doc="Largest pole consortium.")
    label_threshold: float = P(1.3, ge=0.0, le=10.0, unit="jury score", source=CAL,
                               doc="Jury score needed for the label.")
    rd_request_meur: float = P(2.5, ge=0.0, le=1e4, unit="MEUR per project", source=CAL,
                               doc="Mean R&D request of a proposal of four partners (lognormal, "
                                   "sd 0.5 of log; scales with the square root of size / 4).")
    rd_aid_rate: float = P(0.5, gt=0.0, le=1.0, unit="share of the R&D budget",
                           source="EU framework for state aid to R&D and innovation, OJ C 323, "
                                  "30.12.2006, s. 5.1.2: industrial research 50 % of eligible "
                                  "costs (more for SMEs); the Region's rate: assumption",
                           doc="Share of a funded pole project's R&D budget that the R&D grant "
                               "covers; the companies match the rest with their own R&D "
                               "(budget = grant / rate).")
    training_request_meur: float = P(0.8, ge=0.0, le=1e4, unit="MEUR per project", source=CAL,
                                     doc="Training request of a proposal with a training centre.")
    investment_request_meur: float = P(1.0, ge=0.0, le=1e4, unit="MEUR per project", source=CAL,
                                       doc="Investment-aid request of a proposal.")
    assets_firms_per_meur: float = P(0.1, ge=0.0, le=100.0, unit="firms per MEUR", source=CAL,
                                     doc="New pole enterprises financed per MEUR of the assets and "
                                         "holdings budget.")
    require_foreign: bool = Field(True, description="Whether a pole proposal must include a "
                                  "foreign partner to be labelled (a proposal without one is "
                                  "ineligible).",
                                  json_schema_extra={"source": SEED + " ('the poles' proposals must "
                                                     "include partnerships with foreign private "
                                                     "and public actors')"})
    absorb_clusters: bool = Field(False, description="Whether clusters whose sectors a selected pole "
                                  "covers are absorbed into it at selection.",
                                  json_schema_extra={"source": ASSUME + " (the seed keeps clusters beside poles)"})

    @model_validator(mode="after")
    def _years(self) -> Poles:
        if self.budget_end_year < self.budget_start_year:
            raise ValueError(f"budget_end_year: {self.budget_end_year} is before "
                             f"budget_start_year ({self.budget_start_year})")
        names = [p.name for p in self.candidates]
        if len(set(names)) != len(names):
            raise ValueError(f"candidates: pole names repeat: {names}")
        return self


class Policy(Strict):
    """The levers the Region controls."""

    animation: Animation = Animation()
    evaluation: Evaluation = Evaluation()
    international: International = International()
    poles: Poles = Poles()
    # the Region's rulebook and the policy by year (issue 17; sim/rules/)
    rules: Rulebook = Rulebook()
    schedule: list[ScheduleEntry] = Field(
        default_factory=list, max_length=200,
        description="Levers by year: from each entry's year on, its values are in force.",
        json_schema_extra={"source": ASSUME})

    @model_validator(mode="after")
    def _schedule(self) -> Policy:
        from sim.rules.schedule import problems

        found = problems(self)
        if found:
            raise ValueError("; ".join(found))
        return self


class ClusterSpec(Strict):
    """A cluster launched on a date, recruiting in some sectors."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    sectors: list[str] = Field(min_length=1, max_length=16)
    launch_year: int = P(2001, ge=1990, le=2100, unit="year", source=SEED, doc="Launch year.")
    launch_quarter: int = P(1, ge=1, le=4, unit="quarter", source=ASSUME, doc="Launch quarter.")
    founders: int = P(12, ge=1, le=100_000, unit="companies", source=CAL,
                      doc="Companies whose initiative founds the cluster (bottom-up).")


class Scenario(Strict):
    """A whole scenario: world, behaviour, policy, institutions, calendar."""

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = Field("", max_length=4000)
    # any type here: calibration_problem (in the cross-checks) says what is wrong with one
    # message and one path, where a union type would report each of its branches
    calibration: Any = Field(
        None,
        description="Calibrated parameters to read (the name of a file shipped in calibration/, "
                    "or a path ending in .toml relative to the scenario file; or a list of them, "
                    "read in order, a later file's value of a key replacing an earlier one's): "
                    "their values replace the schema's defaults, and the scenario's own keys "
                    "override them.")
    time: Time = Time()
    run: Run = Run()
    world: World
    behaviour: Behaviour = Behaviour()
    policy: Policy = Policy()
    clusters: list[ClusterSpec] = Field(default_factory=list, max_length=256)

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        problems = cross_check(self.model_dump())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def n_quarters(self) -> int:
        """Number of quarterly steps of a full run."""
        return 4 * (self.time.end_year - self.time.start_year + 1)


# Keys that issue 16 moved from ``policy.*`` (the Region's levers) to ``behaviour.*`` (the
# agents' responses): the loader names the new place when a file still uses the old one.
# keys that no longer exist, with what replaced them (refused with this message)
REMOVED_KEYS = {
    "behaviour.membership.benefit_knowledge": (
        "the sector constant of the membership utility (issue 16) is gone; a sector's "
        "members now follow from the gains they expect (behaviour.membership.benefit_activity "
        "times their success record) and its cooperation from the sector rule "
        "(behaviour.partnering.cooperation_slope)"),
}

MOVED_KEYS = {
    **{f"policy.international.{k}": f"behaviour.international.{k}" for k in (
        "agreement_rate", "tender_effect", "agreement_years", "promotion_export_effect")},
    **{f"policy.poles.{k}": f"behaviour.poles.{k}" for k in (
        "proposal_rate", "consortium_growth", "rd_slot_prob", "foreign_prob", "jury_noise",
        "training_gain", "investment_gain", "export_spend_effect")},
    **{f"policy.rules.recognition.{k}": f"behaviour.creation.{k}" for k in (
        "min_founders", "benefit_threshold", "subsidy_weight")},
}


def _list(x: Any) -> list:
    return x if isinstance(x, list) else []


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _int(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def _num(x: Any) -> float | None:
    ok = isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
    return float(x) if ok else None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


MAX_CALIBRATIONS = 8  # calibrated-parameters files a scenario reads at most


def calibration_refs(ref: Any) -> list[str]:
    """The calibrated-parameters files (names or paths) of a ``calibration`` value, in order:
    one string, or each string of a list (other types: none; the checks report them)."""
    if isinstance(ref, str):
        return [ref]
    if isinstance(ref, list):
        return [r for r in ref if isinstance(r, str)]
    return []


def calibration_problem(ref: Any) -> str | None:
    """Why a scenario's ``calibration`` value cannot name its calibrated-parameters files
    (None when it can or when it is absent).  A list is checked item by item
    (``calibration[i]`` in the message)."""
    if isinstance(ref, list):
        if not ref:
            return ("calibration: expected the name of a calibrated-parameters file or a "
                    "non-empty list of them, got an empty list (leave the key out to use the "
                    "schema's defaults)")
        if len(ref) > MAX_CALIBRATIONS:
            return (f"calibration: at most {MAX_CALIBRATIONS} calibrated-parameters files "
                    f"(got {len(ref)})")
        problems = []
        for i, r in enumerate(ref):
            if not isinstance(r, str):
                problems.append(f"calibration[{i}]: expected the name or path of a "
                                f"calibrated-parameters file (a string), got {_short(r)}")
                continue
            p = calibration_problem(r)
            if p:
                problems.append(p.replace("calibration:", f"calibration[{i}]:", 1))
        if len(set(calibration_refs(ref))) != len(calibration_refs(ref)):
            problems.append("calibration: a file is listed twice")
        return "; ".join(problems) or None
    if ref is None:
        return None
    if not isinstance(ref, str):
        return ("calibration: expected the name or path of a calibrated-parameters file, or a "
                f"list of them (got {_short(ref)})")
    if len(ref) > 1000:
        return f"calibration: String should have at most 1000 characters (got {_short(ref)})"
    if ref == "":
        return ("calibration: expected the name of a calibrated-parameters file shipped in "
                "calibration/ (such as \"calibrated\") or a path ending in .toml, got an empty "
                "string, which would drop the calibrated parameters (leave the key out to use "
                "the schema's defaults)")
    if "\0" in ref or (not ref.endswith(".toml")
                       and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", ref)):
        return (f"calibration: expected the name of a file shipped in calibration/ (letters, "
                f"digits, '_', '-', '.') or a path ending in .toml (got {_short(ref)})")
    return None


def cross_check(doc: dict[str, Any]) -> list[str]:
    """Checks across blocks of a scenario document: ``dotted.path: message`` per problem.

    Works on the raw document too (tolerating wrong types elsewhere), so the loader can report
    these problems together with field errors.
    """
    problems = []
    cal = calibration_problem(doc.get("calibration"))
    if cal:
        problems.append(cal)
    world = _dict(doc.get("world"))
    sector_docs = [_dict(s) for s in _list(world.get("sectors"))]
    sectors = [s.get("name") for s in sector_docs]
    known = sorted(str(x) for x in sectors if isinstance(x, str))
    seen: set = set()
    for i, name in enumerate(sectors):
        if isinstance(name, str) and name in seen:
            problems.append(f"world.sectors[{i}].name: sector {_short(name)} is declared twice")
        if isinstance(name, str):
            seen.add(name)
    time = _dict(doc.get("time"))
    start = _int(time.get("start_year", 2001))
    end = _int(time.get("end_year", 2012))
    if start is not None and (end is None or end < start):
        start = None  # the calendar itself is wrong: its own error says so
    seen = set()
    for i, c in enumerate(_list(doc.get("clusters"))):
        c = _dict(c)
        name = c.get("name")
        if isinstance(name, str) and name in seen:
            problems.append(f"clusters[{i}].name: cluster {_short(name)} is declared twice")
        if isinstance(name, str):
            seen.add(name)
        cluster_sectors = _list(c.get("sectors"))
        for j, sec in enumerate(cluster_sectors):
            if isinstance(sec, str) and sec not in known:
                problems.append(f"clusters[{i}].sectors[{j}]: unknown sector {_short(sec)} "
                                f"(expected one of {_short(known)})")
        year = _int(c.get("launch_year", 2001))
        if year is not None and start is not None and year < start:
            problems.append(f"clusters[{i}].launch_year: {year} is before the first simulated "
                            f"year (time.start_year = {start}): the cluster would never launch")
    poles = _dict(_dict(_dict(doc.get("policy")).get("poles")))
    for i, p in enumerate(_list(poles.get("candidates"))):
        for j, sec in enumerate(_list(_dict(p).get("sectors"))):
            if isinstance(sec, str) and sec not in known:
                problems.append(f"policy.poles.candidates[{i}].sectors[{j}]: unknown sector "
                                f"{_short(sec)} (expected one of {_short(known)})")
    weights = _list(world.get("province_weights"))
    nums = [_num(w) for w in weights]
    if weights and None not in nums:
        if any(w < 0 for w in nums):
            problems.append(f"world.province_weights: weights must be >= 0 (got {_short(weights)})")
        elif not math.isfinite(sum(nums)):
            problems.append(f"world.province_weights: the weights add up to more than the "
                            f"largest number ({_short(weights)}); give shares or weights of a "
                            "reasonable size, such as [0.37, 0.30, 0.07, 0.13, 0.13]")
        elif sum(nums) <= 0:
            problems.append(f"world.province_weights: weights must not all be zero "
                            f"(got {_short(weights)})")
    scale = _num(_dict(doc.get("run")).get("scale", 1.0))
    counts = [_int(s.get(k, d)) for s in sector_docs
              for k, d in (("firms", 200), ("universities", 0), ("research_centres", 0),
                           ("training_centres", 0))]
    if scale is not None and 0 < scale <= 3000 and counts and None not in counts \
            and all(round(n * scale) == 0 for n in counts):
        if any(counts):
            problems.append(f"run.scale: {scale!r} leaves no actor (the largest population, "
                            f"{max(counts)}, rounds to 0 at this scale)")
        else:
            problems.append("world.sectors: every population (firms, universities, research "
                            "and training centres) is 0: the scenario has no actor")
    return problems


def parameter_bounds(model: type[BaseModel] = Scenario, prefix: str = "") -> dict[str, dict]:
    """Map every numeric parameter's dotted path to its bounds, unit and source.

    Sweeps and sensitivity designs build their ranges from this, so a bound is declared once.
    """
    out: dict[str, dict] = {}
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.update(parameter_bounds(ann, path + "."))
            continue
        extra = field.json_schema_extra or {}
        if ann not in (int, float) or "source" not in extra:
            continue
        lo = hi = None
        lower_open = False
        for m in field.metadata:
            lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
            if getattr(m, "gt", None) is not None:
                lo, lower_open = m.gt, True
            hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
        out[path] = {"default": field.default, "lower": lo, "upper": hi, "type": ann.__name__,
                     "lower_open": lower_open,
                     "unit": extra.get("unit", ""), "source": extra["source"],
                     "doc": field.description or ""}
    return out
