"""The model's codes: the small integers that the state stores and kernels compare, with
their names for outputs.

Kernels read them as module-level constants (Numba freezes global integers at compile time),
so a test is written ``atype[i] == LARGE`` or with a predicate of
:mod:`sim.kernels.predicates`, never with a literal.  This module imports nothing: the schema,
the loader and the indicators' table read the names without loading NumPy or Numba.
"""

# actor types (Actors.atype): SME and LARGE are the companies
SME, LARGE, UNIVERSITY, RESEARCH_CENTRE, TRAINING_CENTRE = range(5)
ACTOR_TYPES = ("sme", "large_firm", "university", "research_centre", "training_centre")
N_ACTOR_TYPES = len(ACTOR_TYPES)

# how an actor came to be (Actors.origin)
INITIAL, ENTRY, SPINOFF_PARTNERSHIP, SPINOFF_RESEARCH, POLE_ASSETS = range(5)
ORIGINS = ("initial", "entry", "partnership_spinoff", "research_spinoff", "pole_assets")

# provinces (Actors.province; the order of world.province_weights)
PROVINCES = ("Hainaut", "Liege", "Luxembourg", "Namur", "Walloon_Brabant")
N_PROVINCES = len(PROVINCES)

# a cluster's status (Clusters.status)
PLANNED, ACTIVE, DROPPED, ABSORBED = range(4)
CLUSTER_STATUSES = ("planned", "active", "dropped", "absorbed")

# a candidate pole's status (Poles.status)
CANDIDATE, SELECTED, NOT_SELECTED = range(3)
POLE_STATUSES = ("candidate", "selected", "not_selected")

# the poles' budget instruments (Poles.budget and Poles.remaining, in this order)
RD, TRAINING, INVESTMENT, EXPORT, ASSETS = range(5)
INSTRUMENTS = ("rd", "training", "investment", "export", "assets")
N_INSTRUMENTS = len(INSTRUMENTS)
GRANTS = (RD, TRAINING, INVESTMENT)  # the instruments a call's jury grants to projects

# the animators' tasks (columns of Clusters.effort): the seed's nine guidelines in six efforts
KNOW, MAPPING, RECRUITING, PARTNERSHIPS, BENCHMARKING, PROMOTION = range(6)
TASKS = ("know_each_other", "mapping", "recruiting", "partnerships", "benchmarking",
         "promotion")
N_TASKS = len(TASKS)

# groups of companies of the economy's indicators: members of a cluster, the others, all
MEMBERS, NON_MEMBERS, ALL_COMPANIES = range(3)
GROUPS = ("members", "non_members")  # ALL_COMPANIES is the groups' total

TIES = 8  # remembered partners per actor (Neuländtner 2020 keeps 9; 8 int32 = half a cache line)
MAX_CONSORTIUM = 64  # hard upper bound of a consortium's local members (the schema caps lower)
