"""The indicators, declared once: what each one is, and how it is computed.

Every indicator has a stable name, a short label (for figure axes and legends), a unit, the
breakdowns it is reported by, a one-line definition and its computation: a sum of one of the
year's quantities over what its breakdown does not fix (:class:`Sum`, optionally restricted to
some keys), or a ratio of two such sums (:class:`Ratio`).  The quantities are declared here
too: flows that the processes add to during the year (:data:`FLOW`, zeroed on 1 January),
flows that are never zeroed (:data:`KEPT`: the calls' counters, a call happening once, and
running totals), and stocks that the year-end census writes from the state (:data:`STOCK`).

The layout of the yearly rows, their values, the catalogue (``clustersim indicators``), the
README's table and the ODD's table all come from this table.  It imports nothing heavy: the
targets' and designs' checks read it without NumPy or Numba.

Breakdowns: ``total`` (key empty) or a dimension: ``cluster``, ``pole``, ``call`` (the calls
held in the year, reported 1-based), ``actor_type``, ``instrument``, ``group`` (members /
non_members: companies in a cluster or not; their total is its own census cell, the sum of the
two in another order of addition), ``cohort`` (the clusters launched in the year ``key``); a
breakdown by two dimensions joins them with ``/`` (``actor_type/call``, key ``sme/2``).  Stocks
are measured on 31 December; flows add up over the calendar year.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.state.codes import ACTOR_TYPES, GROUPS, INSTRUMENTS, ORIGINS

FLOW, KEPT, STOCK = "flow", "kept", "stock"

# The dimensions of quantities (their keys) and of breakdowns.  Sizes that depend on the
# scenario (clusters, poles, calls) are given when a ledger is built; ``group`` has a third
# cell, the total of the groups (codes.ALL_COMPANIES).
FIXED_KEYS = {"actor_type": ACTOR_TYPES, "instrument": INSTRUMENTS, "origin": ORIGINS,
              "group": GROUPS}
GROUP_TOTAL_CELL = len(GROUPS)
SCENARIO_DIMS = ("cluster", "pole", "call")


@dataclass(frozen=True)
class Quantity:
    """One of the year's quantities: a float64 array over ``dims``, written by ``writer``."""

    name: str
    dims: tuple[str, ...]
    kind: str
    writer: str
    doc: str


QUANTITIES: tuple[Quantity, ...] = (
    # flows, zeroed on 1 January
    Quantity("clusters_created", ("cluster",), FLOW, "launch", "clusters launched"),
    Quantity("clusters_absorbed", (), FLOW, "pole selection", "clusters absorbed into a pole"),
    Quantity("animation_subsidy", ("cluster",), FLOW, "animation funding",
             "the Region's animation subsidy paid [EUR]"),
    Quantity("fees", ("cluster",), FLOW, "animation funding", "member fees collected [EUR]"),
    Quantity("agreements_signed", (), FLOW, "internationalisation",
             "agreements signed with foreign clusters"),
    Quantity("tender_subsidy", (), FLOW, "internationalisation",
             "the Region's tender subsidy paid [EUR]"),
    Quantity("joins", ("cluster",), FLOW, "membership", "actors joining"),
    Quantity("leaves", ("cluster",), FLOW, "membership", "actors leaving by their own decision"),
    Quantity("launched", ("cluster",), FLOW, "partnering", "cluster partnerships launched"),
    Quantity("launched_members", ("cluster",), FLOW, "partnering",
             "local members of the partnerships launched"),
    Quantity("outside_launched", (), FLOW, "partnering",
             "partnerships launched by companies in no active cluster"),
    Quantity("cross_launched", (), FLOW, "partnering",
             "partnerships launched with members of two or more clusters"),
    Quantity("foreign_launched", (), FLOW, "partnering",
             "partnerships launched with a foreign partner"),
    Quantity("calls_held", ("call",), FLOW, "pole call", "1 for the calls held in the year"),
    Quantity("pole_funding", ("instrument",), FLOW, "pole call, pole programmes",
             "pole budget committed or spent [EUR]"),
    Quantity("completed", (), FLOW, "project outcomes", "projects that ended"),
    Quantity("succeeded", (), FLOW, "project outcomes", "projects that ended in success"),
    Quantity("innovations", (), FLOW, "project outcomes", "new products launched"),
    Quantity("private_rd", (), FLOW, "project outcomes",
             "companies' own R&D money spent in projects under way [EUR]"),
    Quantity("private_rd_pole", (), FLOW, "project outcomes",
             "of which in funded pole projects (their match of the R&D grant) [EUR]"),
    Quantity("new_firms", ("origin",), FLOW, "project outcomes, pole programmes, demography",
             "new companies by origin"),
    Quantity("exits", (), FLOW, "economy", "companies exiting"),
    # the Region's rulebook (sim/rules/): its decisions of the year
    Quantity("evaluated", ("cluster",), FLOW, "evaluation", "evaluations of the cluster"),
    Quantity("probations", ("cluster",), FLOW, "evaluation", "clusters put on probation"),
    Quantity("subsidy_cuts", ("cluster",), FLOW, "evaluation",
             "subsidy cuts decided by the evaluation"),
    Quantity("conditional_renewals", ("cluster",), FLOW, "evaluation",
             "renewals on conditions decided by the evaluation"),
    Quantity("poles_withdrawn", ("pole",), FLOW, "evaluation", "pole labels withdrawn"),
    Quantity("pole_probations", ("pole",), FLOW, "evaluation", "poles put on probation"),
    Quantity("pole_money_lapsed", ("instrument",), FLOW, "evaluation (pole money)",
             "pole money lapsed [EUR]"),
    Quantity("pole_money_carried", ("instrument",), FLOW, "evaluation (pole money)",
             "pole money carried over to the next year beyond its tranche [EUR]"),
    Quantity("pole_money_moved", ("instrument",), FLOW, "evaluation (pole money)",
             "pole money reallocated, in (+) or out (-) [EUR]"),
    Quantity("proposals_over_firm_cap", (), FLOW, "pole call",
             "proposals not funded because of the cap per firm"),
    Quantity("applications", (), FLOW, "launch (recognition)",
             "groups of firms applying for recognition as a cluster"),
    Quantity("recognitions", (), FLOW, "launch (recognition)",
             "clusters recognised by the Region"),
    # never zeroed: the calls' counters (a call happens once) and running totals
    Quantity("proposals", ("pole", "call"), KEPT, "pole call", "proposals submitted"),
    Quantity("labelled", ("pole", "call"), KEPT, "pole call", "proposals labelled by the jury"),
    Quantity("funded", ("pole", "call"), KEPT, "pole call", "labelled proposals funded"),
    Quantity("consortium_size", ("call",), KEPT, "pole call",
             "local members of the labelled consortia"),
    Quantity("consortium_partners", ("call", "actor_type"), KEPT, "pole call",
             "partners of labelled consortia"),
    Quantity("consortium_foreign", ("call",), KEPT, "pole call",
             "foreign partners of labelled consortia"),
    Quantity("launched_total", (), KEPT, "partnering",
             "cluster partnerships launched since the start"),
    # stocks on 31 December, written by the year-end census (sim.indicators.compute)
    Quantity("clusters_active", (), STOCK, "census", "active clusters"),
    Quantity("dropped", ("cluster",), STOCK, "census",
             "1 for a cluster dropped by the Region's evaluation during the year"),
    Quantity("members", ("cluster", "actor_type"), STOCK, "census", "members"),
    Quantity("partnerships_active", ("cluster",), STOCK, "census",
             "cluster partnerships under way"),
    Quantity("pole_projects_active", ("pole",), STOCK, "census", "pole projects under way"),
    Quantity("outside_active", (), STOCK, "census",
             "partnerships outside the clusters under way"),
    Quantity("involved", (), STOCK, "census",
             "distinct living actors in cluster partnerships under way"),
    Quantity("agreements_active", ("cluster",), STOCK, "census",
             "agreements with foreign clusters in force"),
    Quantity("effort_fte", ("cluster",), STOCK, "census",
             "animator effort of the last quarter [FTE]"),
    Quantity("poles_selected", (), STOCK, "census", "poles selected"),
    Quantity("pole_members", ("pole",), STOCK, "census", "living actors taking part in a pole"),
    Quantity("budget_left", ("instrument",), STOCK, "census", "pole budget left [EUR]"),
    Quantity("employment", ("group",), STOCK, "census", "companies' employment [FTE]"),
    Quantity("value_added", ("group",), STOCK, "census", "companies' value added [EUR/year]"),
    Quantity("exports", ("group",), STOCK, "census", "companies' exports [EUR/year]"),
    Quantity("exporters", ("group",), STOCK, "census", "exporting companies"),
    Quantity("companies", ("group",), STOCK, "census", "living companies"),
)
QUANTITY = {q.name: q for q in QUANTITIES}


@dataclass(frozen=True)
class Sum:
    """The sum of a quantity over the cells a row's breakdown and key select: every cell of
    a dimension the breakdown does not fix (the calls held in the year only; the groups'
    total cell for ``group``), restricted to the keys of ``where`` (dimension -> keys)."""

    quantity: str
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        q = QUANTITY[self.quantity]
        for dim, keys in self.where.items():
            assert dim in q.dims and dim in FIXED_KEYS, (self.quantity, dim)
            assert set(keys) <= set(FIXED_KEYS[dim]), (self.quantity, keys)

    def __hash__(self) -> int:
        return hash((self.quantity, tuple(sorted(self.where.items()))))

    def describe(self) -> str:
        """In words, for the documentation's tables."""
        q = QUANTITY[self.quantity]
        restrict = "".join(f" ({', '.join(keys)})" for keys in self.where.values())
        return f"`{self.quantity}`{restrict} ({q.kind}, {q.writer})"


@dataclass(frozen=True)
class Ratio:
    """``num / den`` row by row (0 where ``den`` is 0)."""

    num: Sum
    den: Sum

    def describe(self) -> str:
        """In words, for the documentation's tables."""
        return f"{self.num.describe()} / {self.den.describe()}"


@dataclass(frozen=True)
class Indicator:
    """A declared output: name, short label, unit, breakdowns, definition, computation."""

    name: str
    label: str
    unit: str
    by: tuple[str, ...]
    definition: str
    of: Sum | Ratio

    def sums(self) -> tuple[Sum, ...]:
        """The sums the computation reads."""
        return (self.of.num, self.of.den) if isinstance(self.of, Ratio) else (self.of,)


TOTAL, CLUSTER, POLE, CALL, TYPE, INSTRUMENT, GROUP, COHORT = (
    ("total",), ("cluster",), ("pole",), ("call",), ("actor_type",), ("instrument",),
    ("group",), ("cohort",))
COMPANIES = {"actor_type": ("sme", "large_firm")}
RESEARCH = {"actor_type": ("university", "research_centre")}


def _i(name, label, unit, by, definition, of):
    return Indicator(name, label, unit, by, definition, of)


CATALOGUE: tuple[Indicator, ...] = (
    _i("clusters_active", "Active clusters", "clusters", TOTAL,
       "Clusters active on 31 December.", Sum("clusters_active")),
    _i("clusters_created", "Clusters launched", "clusters", TOTAL + CLUSTER,
       "Clusters launched during the year (by cluster: 1 in its launch year).",
       Sum("clusters_created")),
    _i("clusters_dropped", "Clusters dropped", "clusters", TOTAL + CLUSTER,
       "Clusters dropped by the Region's evaluation during the year.", Sum("dropped")),
    _i("clusters_absorbed", "Clusters absorbed into poles", "clusters", TOTAL,
       "Clusters absorbed into a competitiveness pole during the year.",
       Sum("clusters_absorbed")),
    _i("members_total", "Cluster members", "members", TOTAL + CLUSTER + TYPE + COHORT,
       "Members of active clusters (all actor types) on 31 December.", Sum("members")),
    _i("members_enterprises", "Member companies", "members", TOTAL + CLUSTER + COHORT,
       "Companies (SMEs and large firms) among the members.", Sum("members", COMPANIES)),
    _i("members_enterprise_share", "Companies' share of members", "share", TOTAL,
       "Share of companies among the members.",
       Ratio(Sum("members", COMPANIES), Sum("members"))),
    _i("members_rd", "Member R&D actors", "members", TOTAL,
       "Universities and research centres among the members.", Sum("members", RESEARCH)),
    _i("member_joins", "Actors joining", "actors", TOTAL + CLUSTER,
       "Actors joining a cluster during the year.", Sum("joins")),
    _i("member_leaves", "Actors leaving", "actors", TOTAL + CLUSTER,
       "Actors leaving a cluster by their own decision during the year.", Sum("leaves")),
    _i("partnerships_active", "Partnerships under way", "projects", TOTAL + CLUSTER,
       "Cluster partnerships under way on 31 December (pole projects excluded).",
       Sum("partnerships_active")),
    _i("partnerships_launched", "Partnerships launched", "projects", TOTAL + CLUSTER,
       "Cluster partnerships launched during the year.", Sum("launched")),
    _i("partnerships_launched_cumulative", "Partnerships launched, cumulative", "projects",
       TOTAL, "Cluster partnerships launched since the start.", Sum("launched_total")),
    _i("partnership_members_involved", "Actors in partnerships", "actors", TOTAL,
       "Distinct living actors in cluster partnerships under way on 31 December.",
       Sum("involved")),
    _i("partnerships_outside_launched", "Partnerships launched outside clusters", "projects",
       TOTAL, "Partnerships launched during the year by companies in no active cluster (the "
       "cooperation that exists without the policy; not in the seed's figures).",
       Sum("outside_launched")),
    _i("partnerships_outside_active", "Partnerships outside clusters under way", "projects",
       TOTAL, "Partnerships of companies in no active cluster under way on 31 December.",
       Sum("outside_active")),
    _i("pole_projects_active", "Pole projects under way", "projects", TOTAL + POLE,
       "Funded pole projects under way on 31 December.", Sum("pole_projects_active")),
    _i("partnership_size_mean", "Mean partnership size", "actors", TOTAL,
       "Mean local members of the partnerships launched during the year.",
       Ratio(Sum("launched_members"), Sum("launched"))),
    _i("projects_completed", "Projects completed", "projects", TOTAL,
       "Projects that ended during the year.", Sum("completed")),
    _i("projects_succeeded", "Projects succeeded", "projects", TOTAL,
       "Projects that ended in success during the year.", Sum("succeeded")),
    _i("innovations", "New products", "products", TOTAL,
       "New products launched by companies out of successful projects during the year.",
       Sum("innovations")),
    _i("private_rd_eur", "Private R&D in projects", "EUR", TOTAL,
       "Companies' own R&D money spent during the year in the projects under way: their own "
       "budgets of unfunded partnerships and their match of the pole projects' R&D grants.",
       Sum("private_rd")),
    _i("private_rd_pole_eur", "Private R&D matching pole grants", "EUR", TOTAL,
       "Companies' own R&D money spent during the year in funded pole projects (the match of "
       "the R&D grant at the aid rate).", Sum("private_rd_pole")),
    _i("new_enterprises", "New enterprises", "firms", TOTAL,
       "New enterprises created out of partnerships, research centres and pole assets during "
       "the year.",
       Sum("new_firms", {"origin": ("partnership_spinoff", "research_spinoff",
                                    "pole_assets")})),
    _i("new_enterprises_partnership", "New enterprises from partnerships", "firms", TOTAL,
       "New enterprises created out of partnerships during the year.",
       Sum("new_firms", {"origin": ("partnership_spinoff",)})),
    _i("new_enterprises_research", "Research spin-offs", "firms", TOTAL,
       "Spin-offs of universities and research centres during the year.",
       Sum("new_firms", {"origin": ("research_spinoff",)})),
    _i("firm_entries", "Other firm entries", "firms", TOTAL, "Other new firms entering during the year.",
       Sum("new_firms", {"origin": ("entry",)})),
    _i("firm_exits", "Company exits", "firms", TOTAL, "Companies exiting during the year.",
       Sum("exits")),
    _i("firms_alive", "Companies in business", "firms", TOTAL, "Companies in business on 31 December.",
       Sum("companies")),
    _i("cross_cluster_partnerships_launched", "Cross-cluster partnerships launched", "projects", TOTAL,
       "Partnerships launched during the year with members of two or more Walloon clusters.",
       Sum("cross_launched")),
    _i("foreign_partnerships_launched", "Partnerships with a foreign partner", "projects",
       TOTAL, "Partnerships launched during the year with a foreign partner.",
       Sum("foreign_launched")),
    _i("intercluster_partnerships_active", "Agreements with foreign clusters", "agreements",
       TOTAL + CLUSTER,
       "Agreements of Walloon clusters with foreign clusters in force on 31 December.",
       Sum("agreements_active")),
    _i("intercluster_partnerships_signed", "Agreements signed", "agreements", TOTAL,
       "Agreements with foreign clusters signed during the year.", Sum("agreements_signed")),
    _i("animation_subsidy_eur", "Animation subsidy", "EUR", TOTAL + CLUSTER,
       "The Region's animation subsidy paid during the year.", Sum("animation_subsidy")),
    _i("member_fees_eur", "Member fees", "EUR", TOTAL,
       "Member fees collected for animation during the year.", Sum("fees")),
    _i("animator_effort_fte", "Animator effort", "FTE", TOTAL + CLUSTER,
       "Animator effort (full-time equivalents) in the last quarter of the year.",
       Sum("effort_fte")),
    _i("tender_subsidy_eur", "Tender subsidy", "EUR", TOTAL,
       "The Region's subsidy for international tenders paid during the year.",
       Sum("tender_subsidy")),
    _i("poles_selected", "Poles selected", "poles", TOTAL,
       "Competitiveness poles selected (cumulative).", Sum("poles_selected")),
    _i("pole_members", "Pole participants", "actors", TOTAL + POLE,
       "Actors taking part in a selected pole on 31 December.", Sum("pole_members")),
    _i("pole_proposals_submitted", "Proposals submitted", "proposals", TOTAL + POLE + CALL,
       "Proposals submitted to the poles' calls during the year.", Sum("proposals")),
    _i("pole_proposals_labelled", "Proposals labelled", "proposals", TOTAL + POLE + CALL,
       "Proposals labelled by the jury during the year.", Sum("labelled")),
    _i("pole_projects_funded", "Pole projects funded", "projects", TOTAL + POLE + CALL,
       "Labelled proposals funded during the year.", Sum("funded")),
    _i("pole_consortium_size_mean", "Mean pole consortium size", "actors", CALL,
       "Mean local members of the labelled consortia.",
       Ratio(Sum("consortium_size"), Sum("labelled"))),
    _i("pole_consortium_partners", "Pole consortium partners", "actors",
       TYPE + CALL + ("actor_type/call",),
       "Partners of labelled consortia by actor type (sme, large_firm, university, "
       "research_centre, training_centre).", Sum("consortium_partners")),
    _i("pole_consortium_foreign", "Foreign partners of pole consortia", "actors", CALL,
       "Foreign partners in labelled consortia.", Sum("consortium_foreign")),
    _i("pole_funding_eur", "Pole funding committed", "EUR", TOTAL + INSTRUMENT,
       "Pole budget committed or spent during the year, by instrument.", Sum("pole_funding")),
    _i("pole_budget_left_eur", "Pole budget left", "EUR", TOTAL + INSTRUMENT,
       "Pole budget left on 31 December, by instrument.", Sum("budget_left")),
    _i("clusters_evaluated", "Cluster evaluations", "clusters", TOTAL + CLUSTER,
       "Clusters evaluated by the Region during the year (calendar and reviews).",
       Sum("evaluated")),
    _i("clusters_on_probation", "Clusters put on probation", "clusters", TOTAL + CLUSTER,
       "Clusters put on probation by the Region's evaluation during the year.",
       Sum("probations")),
    _i("clusters_subsidy_cut", "Subsidy cuts", "clusters", TOTAL + CLUSTER,
       "Clusters whose animation subsidy the evaluation cut during the year.",
       Sum("subsidy_cuts")),
    _i("clusters_renewed_conditionally", "Conditional renewals", "clusters", TOTAL + CLUSTER,
       "Clusters renewed on conditions by the evaluation during the year.",
       Sum("conditional_renewals")),
    _i("poles_label_withdrawn", "Pole labels withdrawn", "poles", TOTAL + POLE,
       "Poles whose label the Region's evaluation withdrew during the year.",
       Sum("poles_withdrawn")),
    _i("poles_on_probation", "Poles put on probation", "poles", TOTAL + POLE,
       "Poles put on probation by the Region's evaluation during the year.",
       Sum("pole_probations")),
    _i("pole_funds_lapsed_eur", "Pole money lapsed", "EUR", TOTAL + INSTRUMENT,
       "Pole money lapsed at the year end (the rule for unspent money; at the end of the "
       "budget period, all that is left).", Sum("pole_money_lapsed")),
    _i("pole_funds_carried_eur", "Pole money carried over", "EUR", TOTAL + INSTRUMENT,
       "Unspent pole money beyond the tranches of the years left, carried over at the year "
       "end.", Sum("pole_money_carried")),
    _i("pole_funds_reallocated_eur", "Pole money reallocated", "EUR", INSTRUMENT,
       "Pole money moved between instruments at the year end, in (+) or out (-).",
       Sum("pole_money_moved")),
    _i("pole_proposals_over_firm_cap", "Proposals over the firm cap", "proposals", TOTAL,
       "Proposals not funded during the year because a company would exceed the grants' cap "
       "per firm.", Sum("proposals_over_firm_cap")),
    _i("cluster_applications", "Applications for recognition", "groups", TOTAL,
       "Groups of firms applying to the Region for recognition as a cluster during the year.",
       Sum("applications")),
    _i("clusters_recognised", "Clusters recognised", "clusters", TOTAL,
       "Clusters the Region recognised during the year (bottom-up creation).",
       Sum("recognitions")),
    _i("employment", "Employment", "FTE", TOTAL + GROUP,
       "Employment of companies on 31 December, members and non-members.", Sum("employment")),
    _i("value_added", "Value added", "EUR/year", TOTAL + GROUP,
       "Value added of companies (annual rate on 31 December).", Sum("value_added")),
    _i("productivity", "Labour productivity", "EUR/FTE/year", TOTAL + GROUP,
       "Value added per employee (ratio of the sums).",
       Ratio(Sum("value_added"), Sum("employment"))),
    _i("exports", "Exports", "EUR/year", TOTAL + GROUP,
       "Exports of companies (annual rate on 31 December).", Sum("exports")),
    _i("exporters_share", "Share of exporters", "share", TOTAL + GROUP,
       "Share of exporters among companies.", Ratio(Sum("exporters"), Sum("companies"))),
)
BY_NAME = {ind.name: ind for ind in CATALOGUE}

BREAKDOWN_DIMS = {"cohort": "cluster"}  # a breakdown that groups the cells of a dimension


def breakdown_dims(by: str) -> tuple[str, ...]:
    """The dimensions a breakdown fixes (``()`` for ``total``)."""
    return () if by == "total" else tuple(by.split("/"))


def markdown_table() -> str:
    """The catalogue as a Markdown table (the README's and the ODD's, generated from here)."""

    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    rows = ["| indicator | label | unit | breakdowns (`by`) | definition | computed from |",
            "|---|---|---|---|---|---|"]
    for ind in CATALOGUE:
        rows.append(f"| `{ind.name}` | {esc(ind.label)} | {esc(ind.unit)} | "
                    f"{', '.join(ind.by)} | {esc(ind.definition)} | {ind.of.describe()} |")
    return "\n".join(rows)


def _check() -> None:
    """Every breakdown of every indicator is one its quantities can give."""
    assert len(BY_NAME) == len(CATALOGUE)
    for ind in CATALOGUE:
        for s in ind.sums():
            dims = QUANTITY[s.quantity].dims
            for by in ind.by:
                for d in breakdown_dims(by):
                    assert BREAKDOWN_DIMS.get(d, d) in dims, (ind.name, by)


_check()
