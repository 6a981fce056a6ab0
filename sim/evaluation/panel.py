"""The firm panel: one row per actor and year, its declared schema, its validator and the
treatment groups an evaluator derives from it.

The panel is what an evaluator of the cluster and pole policies would hold (firm accounts,
membership lists, grant registers), written by a run for every actor and year
(issue 15, section 1).  A model run and its counterfactual twin each write one; the same
``actor_id`` is the same actor in both for the actors present when the run starts.

Conventions
-----------
* One row per actor and calendar year, from the actor's birth year to the run's last year.
  Rows go on after an exit with ``alive = False`` and every stock and flow at zero, so a run
  and its twin cover the same actor-years (a dead firm employs nobody: that is part of the
  policy's effect on employment).
* Stocks (employment, value added, exports, membership, projects under way) are read at
  31 December; flows (grants, innovations, projects completed) are summed over the year.
* Codes: ``cluster`` and ``pole`` are indices into the scenario's ``[[clusters]]`` and
  selected poles, ``-1`` for none; a ``*_since`` column is the year of joining the current
  one, ``-1`` for none; ``sector`` indexes ``[[world.sectors]]``.  ``actor_type``,
  ``province`` and ``origin`` are categoricals with the fixed categories below (a writer
  makes them from the state's int8 codes with ``pandas.Categorical.from_codes``).

Every column is declared once in :data:`PANEL_COLUMNS` (name, dtype, unit, definition);
:func:`columns_markdown` renders the table for the README and the ODD, and
:func:`validate_panel` checks a panel against it.  The treatment groups (cluster members,
pole participants, funded firms) are defined once, in :data:`TREATMENTS`, and derived by
:func:`treatment_cohorts`.

Writer contract (struct-of-arrays state, no Python per actor): each column is one NumPy array
of length ``n_actors`` per year, concatenated over years; see :func:`panel_from_arrays`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.state.codes import ACTOR_TYPES, ORIGINS, PROVINCES

# Fixed categories (ACTOR_TYPES, PROVINCES, ORIGINS come from sim.state.codes, the one source).
COMPANY_TYPES = ("sme", "large_firm")
# Instruments that pay firms: the poles' five budget lines (sim.scenario.INSTRUMENTS) and the
# international tender subsidy.  (The animation subsidy pays the cluster organisations, not
# firms: it is public spending without a firm row; see sim.evaluation.truth.cost_per_outcome.)
GRANT_INSTRUMENTS = ("rd", "training", "investment", "export", "assets", "tender")
GRANT_COLUMNS = tuple(f"grant_{k}_eur" for k in GRANT_INSTRUMENTS)

NEVER = 0  # cohort of an actor never treated (pyfixest's convention for `gname`)


@dataclass(frozen=True)
class Column:
    """One declared panel column.

    Attributes
    ----------
    name : str
        Column name.
    kind : str
        ``"int"``, ``"float"``, ``"bool"`` or ``"category"``.
    dtype : str
        The NumPy dtype a writer should use (any integer or float width is accepted).
    unit : str
        Unit of the values.
    definition : str
        What the value is, in one sentence.
    categories : tuple of str, optional
        The allowed categories (for ``kind == "category"``).
    minimum : float, optional
        Smallest allowed value.
    """

    name: str
    kind: str
    dtype: str
    unit: str
    definition: str
    categories: tuple[str, ...] | None = None
    minimum: float | None = None


def _c(name, kind, dtype, unit, definition, categories=None, minimum=None) -> Column:
    return Column(name, kind, dtype, unit, definition, categories, minimum)


PANEL_COLUMNS: tuple[Column, ...] = (
    _c("actor_id", "int", "int64", "id", "Index of the actor in the run's state; the same id "
       "is the same actor in a counterfactual twin (same seed) for actors present at the start.",
       minimum=0),
    _c("year", "int", "int16", "year", "Calendar year of the row (stocks at 31 December)."),
    _c("actor_type", "category", "category", "-", "Kind of actor.", ACTOR_TYPES),
    _c("sector", "int", "int16", "code", "Index of the actor's sector in [[world.sectors]].",
       minimum=0),
    _c("province", "category", "category", "-", "Walloon province of the actor.", PROVINCES),
    _c("origin", "category", "category", "-", "How the actor entered: initial population, "
       "ordinary entry, spin-off of a partnership or of a research centre, or a firm "
       "financed by a pole's assets budget.", ORIGINS),
    _c("birth_year", "int", "int16", "year", "Year the actor entered the simulation (the "
       "run's first year for the initial population)."),
    _c("alive", "bool", "bool", "-", "The actor is active at 31 December (False after exit; "
       "every stock and flow is then 0)."),
    _c("cluster", "int", "int16", "code", "Cluster the actor is a member of at 31 December "
       "(index into [[clusters]]), -1 for none.", minimum=-1),
    _c("cluster_since", "int", "int16", "year", "Year the actor joined its current cluster, "
       "-1 when not a member.", minimum=-1),
    _c("pole", "int", "int16", "code", "Competitiveness pole the actor belongs to at "
       "31 December, -1 for none.", minimum=-1),
    _c("pole_since", "int", "int16", "year", "Year the actor joined its current pole, -1 "
       "when in none.", minimum=-1),
    _c("projects_active_cluster", "int", "int16", "projects", "Cluster partnerships under "
       "way at 31 December in which the actor takes part.", minimum=0),
    _c("projects_active_pole", "int", "int16", "projects", "Pole projects under way at "
       "31 December in which the actor takes part.", minimum=0),
    _c("projects_completed_cluster", "int", "int16", "projects", "Cluster partnerships of "
       "the actor that ended during the year (success or failure).", minimum=0),
    _c("projects_completed_pole", "int", "int16", "projects", "Pole projects of the actor "
       "that ended during the year (success or failure).", minimum=0),
    *(_c(col, "float", "float64", "EUR", f"Public money received during the year from the "
         f"'{k}' instrument" + (" (international tender subsidy)." if k == "tender" else
                                " of the poles' budget."), minimum=0.0)
      for k, col in zip(GRANT_INSTRUMENTS, GRANT_COLUMNS, strict=True)),
    _c("innovations", "int", "int32", "products", "New products the actor introduced during "
       "the year.", minimum=0),
    _c("private_rd_eur", "float", "float64", "EUR", "The company's own R&D money spent during "
       "the year in the projects under way: its share of an unfunded partnership's budget, or "
       "of its consortium's match of a pole project's R&D grant (input additionality and "
       "crowding out are measured on it).", minimum=0.0),
    _c("employment", "float", "float64", "FTE", "Employment at 31 December.", minimum=0.0),
    _c("value_added", "float", "float64", "EUR/year", "Value added, annual rate at "
       "31 December.", minimum=0.0),
    _c("exports", "float", "float64", "EUR/year", "Exports, annual rate at 31 December "
       "(0 for a non-exporter).", minimum=0.0),
    _c("exporter", "bool", "bool", "-", "The actor exports at 31 December."),
)
COLUMNS: Mapping[str, Column] = {c.name: c for c in PANEL_COLUMNS}

# Outcomes an evaluator studies: stored columns and the derived ones of `add_derived`.
OUTCOME_UNITS: Mapping[str, str] = {
    "employment": "FTE", "value_added": "EUR/year", "exports": "EUR/year",
    "innovations": "products/year", "productivity": "EUR/FTE", "alive": "share",
    "exporter": "share", "grants_eur": "EUR", "private_rd_eur": "EUR",
}


class PanelError(ValueError):
    """A panel does not match :data:`PANEL_COLUMNS`; ``errors`` lists every problem."""

    def __init__(self, errors: list[str], where: str = "panel"):
        self.errors = errors
        super().__init__(f"{where}: {len(errors)} error(s)\n  " + "\n  ".join(errors))


def columns_markdown() -> str:
    """The panel's columns as a Markdown table (name, type, unit, definition), for the README
    and docs/ODD.md."""
    lines = ["| column | type | unit | definition |", "|---|---|---|---|"]
    for c in PANEL_COLUMNS:
        kind = c.dtype if c.kind != "category" else "category: " + ", ".join(c.categories)
        lines.append(f"| `{c.name}` | {kind} | {c.unit} | {c.definition} |")
    return "\n".join(lines)


def _kind_ok(series: pd.Series, col: Column) -> bool:
    dt = series.dtype
    if col.kind == "category":
        return isinstance(dt, pd.CategoricalDtype)
    if col.kind == "bool":
        return pd.api.types.is_bool_dtype(dt)
    if col.kind == "int":
        return pd.api.types.is_integer_dtype(dt) and not pd.api.types.is_bool_dtype(dt)
    return pd.api.types.is_float_dtype(dt)


def validate_panel(panel, where: str = "panel") -> pd.DataFrame:
    """Check a panel against :data:`PANEL_COLUMNS` and the panel's conventions.

    Parameters
    ----------
    panel : pandas.DataFrame or pyarrow.Table
        The panel (a pyarrow table is converted to pandas).
    where : str
        Name used in the error message (e.g. the file).

    Returns
    -------
    pandas.DataFrame
        The panel as pandas, sorted by ``(actor_id, year)``, index reset.

    Raises
    ------
    PanelError
        Listing every problem at once: missing columns, wrong kinds, unknown categories,
        missing or non-finite values, values below their minimum, duplicate
        ``(actor_id, year)`` rows, gaps in an actor's years, and broken conventions
        (membership without its year, a dead actor with employment, exports of a
        non-exporter, a row before the birth year).
    """
    if not isinstance(panel, pd.DataFrame):
        panel = panel.to_pandas()
    errors: list[str] = []
    missing = [c.name for c in PANEL_COLUMNS if c.name not in panel.columns]
    if missing:
        errors.append(f"missing column(s): {', '.join(missing)}")
    for col in PANEL_COLUMNS:
        if col.name not in panel.columns:
            continue
        s = panel[col.name]
        if not _kind_ok(s, col):
            errors.append(f"{col.name}: expected {col.kind} ({col.dtype}), got {s.dtype}")
            continue
        if s.isna().any():
            errors.append(f"{col.name}: {int(s.isna().sum())} missing value(s)")
            continue
        if col.kind == "category":
            extra = sorted(set(s.cat.categories) - set(col.categories))
            if extra:
                errors.append(f"{col.name}: unknown categories {extra} (allowed: "
                              f"{', '.join(col.categories)})")
        elif col.kind == "float" and not np.isfinite(s.to_numpy()).all():
            errors.append(f"{col.name}: non-finite values (NaN or inf)")
        if col.minimum is not None and col.kind in ("int", "float"):
            bad = s.to_numpy() < col.minimum
            if bad.any():
                errors.append(f"{col.name}: {int(bad.sum())} value(s) below {col.minimum:g} "
                              f"(smallest {s.min()!r})")
    if errors:
        raise PanelError(errors, where)
    df = panel.sort_values(["actor_id", "year"], kind="stable").reset_index(drop=True)
    key = df[["actor_id", "year"]]
    dup = key.duplicated()
    if dup.any():
        errors.append(f"(actor_id, year): {int(dup.sum())} duplicate row(s)")
    else:
        g = df.groupby("actor_id")["year"]
        span = g.max() - g.min() + 1
        gaps = span != g.size()
        if gaps.any():
            errors.append(f"year: {int(gaps.sum())} actor(s) with gaps in their years "
                          f"(e.g. actor {int(gaps.idxmax())})")
    y = df["year"].to_numpy()
    for code, since in (("cluster", "cluster_since"), ("pole", "pole_since")):
        member = df[code].to_numpy() >= 0
        s = df[since].to_numpy()
        bad = member != (s >= 0)
        if bad.any():
            errors.append(f"{since}: {int(bad.sum())} row(s) where it is -1 exactly when "
                          f"{code} is not (membership and its year must go together)")
        late = member & (s > y)
        if late.any():
            errors.append(f"{since}: {int(late.sum())} row(s) later than the row's year")
    dead = ~df["alive"].to_numpy()
    for name in ("employment", "value_added", "exports", "innovations", "private_rd_eur",
                 *GRANT_COLUMNS):
        n = int((dead & (df[name].to_numpy() != 0)).sum())
        if n:
            errors.append(f"{name}: {n} row(s) of a dead actor with a non-zero value")
    n = int(((~df["exporter"].to_numpy()) & (df["exports"].to_numpy() > 0)).sum())
    if n:
        errors.append(f"exports: {n} row(s) of a non-exporter with exports")
    n = int((y < df["birth_year"].to_numpy()).sum())
    if n:
        errors.append(f"birth_year: {n} row(s) before the actor's birth year")
    if errors:
        raise PanelError(errors, where)
    return df


def panel_from_arrays(years: np.ndarray, columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Build a panel from per-column arrays (the writer's path: no Python per actor).

    Parameters
    ----------
    years : ndarray(int, (n_rows,))
        Calendar year of each row.
    columns : mapping of str to ndarray, each (n_rows,)
        Every column of :data:`PANEL_COLUMNS` but ``year``.  Categorical columns may be given
        as integer codes into their declared categories.

    Returns
    -------
    pandas.DataFrame
        The validated panel.
    """
    data = {"year": np.asarray(years)}
    for col in PANEL_COLUMNS:
        if col.name == "year" or col.name not in columns:
            continue
        v = columns[col.name]
        if col.kind == "category" and not isinstance(v, pd.Categorical):
            v = np.asarray(v)
            if np.issubdtype(v.dtype, np.integer):
                v = pd.Categorical.from_codes(v, categories=list(col.categories))
            else:
                v = pd.Categorical(v, categories=list(col.categories))
        elif col.kind != "category":
            v = np.asarray(v, dtype=col.dtype)
        data[col.name] = v
    unknown = sorted(set(columns) - set(COLUMNS))
    if unknown:
        raise PanelError([f"unknown column(s): {', '.join(unknown)}"])
    return validate_panel(pd.DataFrame(data)[[c for c in COLUMNS if c in data]])


def add_derived(panel: pd.DataFrame) -> pd.DataFrame:
    """Add the derived outcomes (a copy): ``productivity`` (value added per FTE, EUR/FTE; NaN
    where employment is 0) and ``grants_eur`` (all instruments, EUR)."""
    out = panel.copy()
    emp = out["employment"].to_numpy(dtype=float)
    va = out["value_added"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["productivity"] = np.where(emp > 0, va / np.where(emp > 0, emp, 1.0), np.nan)
    out["grants_eur"] = out[list(GRANT_COLUMNS)].sum(axis=1)
    return out


# ---------------------------------------------------------------------------------------
# Treatment groups: defined once, here, from the panel.

def _first_year(panel: pd.DataFrame, mask: np.ndarray) -> pd.Series:
    """First year in which ``mask`` holds, per actor (NEVER when it never does)."""
    ids = panel["actor_id"]
    years = panel["year"].where(mask)
    first = years.groupby(ids).min()
    return first.fillna(NEVER).astype(np.int64)


def _member_since(code: str, since: str) -> Callable[[pd.DataFrame], pd.Series]:
    def first(panel: pd.DataFrame) -> pd.Series:
        # the earliest joining year reported, even if the actor left before a year's end
        s = panel[since].where(panel[code] >= 0)
        out = s.groupby(panel["actor_id"]).min()
        return out.fillna(NEVER).astype(np.int64)
    return first


def _funded(cols: tuple[str, ...]) -> Callable[[pd.DataFrame], pd.Series]:
    def first(panel: pd.DataFrame) -> pd.Series:
        return _first_year(panel, (panel[list(cols)].to_numpy() > 0).any(axis=1))
    return first


@dataclass(frozen=True)
class Treatment:
    """A treatment group: its name, definition and the function giving each actor's first
    treated year (``NEVER`` = 0 when never treated).  Treatment is absorbing from that year
    (an evaluator's intention-to-treat: a member that leaves stays treated)."""

    name: str
    definition: str
    first_year: Callable[[pd.DataFrame], pd.Series]


TREATMENTS: dict[str, Treatment] = {
    t.name: t for t in (
        Treatment("cluster", "ever a cluster member; treated from the year of first joining "
                  "(cluster_since)", _member_since("cluster", "cluster_since")),
        Treatment("pole", "ever in a competitiveness pole; treated from the year of first "
                  "joining (pole_since)", _member_since("pole", "pole_since")),
        Treatment("pole_project", "ever in a pole project; treated from the first year with a "
                  "pole project under way or completed",
                  lambda p: _first_year(p, ((p["projects_active_pole"] > 0)
                                            | (p["projects_completed_pole"] > 0)).to_numpy())),
        Treatment("funded", "ever received a grant of any instrument; treated from the year "
                  "of the first grant", _funded(GRANT_COLUMNS)),
        *(Treatment(f"funded_{k}", f"ever received a grant of the '{k}' instrument; treated "
                    f"from the year of the first one", _funded((col,)))
          for k, col in zip(GRANT_INSTRUMENTS, GRANT_COLUMNS, strict=True)),
    )
}


def treatment_cohorts(panel: pd.DataFrame, treatments: tuple[str, ...] | None = None
                      ) -> pd.DataFrame:
    """Each actor's first treated year for every treatment group (0 = never).

    Parameters
    ----------
    panel : pandas.DataFrame
        A validated panel.
    treatments : tuple of str, optional
        Names from :data:`TREATMENTS` (default: all).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``actor_id``, one int64 column per treatment.
    """
    names = tuple(TREATMENTS) if treatments is None else treatments
    unknown = [n for n in names if n not in TREATMENTS]
    if unknown:
        raise KeyError(f"unknown treatment(s) {unknown}; known: {', '.join(TREATMENTS)}")
    return pd.DataFrame({n: TREATMENTS[n].first_year(panel) for n in names})


def cohort_of(panel: pd.DataFrame, treatment: str | pd.Series) -> pd.Series:
    """First treated year per actor (index ``actor_id``, 0 = never) for a treatment name of
    :data:`TREATMENTS` or an explicit Series of cohorts (returned as given, reindexed to the
    panel's actors with 0 for those missing)."""
    ids = pd.Index(np.unique(panel["actor_id"].to_numpy()), name="actor_id")
    if isinstance(treatment, pd.Series):
        return treatment.reindex(ids).fillna(NEVER).astype(np.int64)
    return treatment_cohorts(panel, (treatment,))[treatment].reindex(ids).fillna(
        NEVER).astype(np.int64)
