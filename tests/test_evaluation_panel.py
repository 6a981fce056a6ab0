"""The firm panel's schema, its validator and the treatment groups (sim/evaluation/panel.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim import scenario
from sim.evaluation import panel as P
from sim.evaluation.synthetic import SyntheticDesign, synthetic_pair
from sim.state import codes


@pytest.fixture(scope="module")
def small():
    return synthetic_pair(SyntheticDesign(n_firms=30, first_year=2001, last_year=2006,
                                          cohorts=(2003, 2005)), seed=11)


def test_categories_mirror_the_model():
    assert P.ACTOR_TYPES == scenario.ACTOR_TYPES == codes.ACTOR_TYPES
    assert P.PROVINCES == scenario.PROVINCES
    assert P.ORIGINS == codes.ORIGINS
    assert set(scenario.INSTRUMENTS) <= set(P.GRANT_INSTRUMENTS)


def test_every_column_documented():
    md = P.columns_markdown()
    for c in P.PANEL_COLUMNS:
        assert f"`{c.name}`" in md
        assert c.unit and c.definition.endswith(".")
    assert len(P.COLUMNS) == len(P.PANEL_COLUMNS)  # names are unique


def test_synthetic_panels_follow_the_schema(small):
    for df in (small.policy, small.twin):
        out = P.validate_panel(df)
        assert list(out.columns) == [c.name for c in P.PANEL_COLUMNS]


def test_parquet_and_arrow_round_trip(small, tmp_path):
    path = tmp_path / "panel.parquet"
    small.policy.to_parquet(path)
    back = P.validate_panel(pq.read_table(path))  # a pyarrow Table is accepted
    pd.testing.assert_frame_equal(back, small.policy)
    P.validate_panel(pa.Table.from_pandas(small.policy, preserve_index=False))


def test_panel_from_arrays_takes_codes(small):
    df = small.policy
    cols = {c: df[c].to_numpy() for c in df.columns if c != "year"}
    cols["actor_type"] = df["actor_type"].cat.codes.to_numpy()
    out = P.panel_from_arrays(df["year"].to_numpy(), cols)
    pd.testing.assert_frame_equal(out, df)
    with pytest.raises(P.PanelError, match="unknown column"):
        P.panel_from_arrays(df["year"].to_numpy(), {**cols, "typo": cols["alive"]})


def test_validator_reports_every_error_at_once(small):
    bad = small.policy.copy()
    bad = bad.drop(columns=["exporter"])
    bad["employment"] = bad["employment"].astype(np.int64)  # wrong kind
    bad.loc[3, "value_added"] = np.nan
    bad.loc[4, "grant_rd_eur"] = -1.0
    bad["province"] = bad["province"].cat.add_categories(["Brussels"])
    with pytest.raises(P.PanelError) as err:
        P.validate_panel(bad, where="x.parquet")
    msg = str(err.value)
    assert msg.startswith("x.parquet: 5 error(s)")
    for part in ("missing column(s): exporter", "employment: expected float",
                 "value_added: 1 missing", "grant_rd_eur: 1 value(s) below 0",
                 "province: unknown categories ['Brussels']"):
        assert part in msg, part


def test_validator_checks_conventions(small):
    base = small.policy
    member = base.index[base["cluster"] >= 0][0]
    cases = {
        "duplicate": (lambda d: pd.concat([d, d.iloc[[0]]]), "duplicate row"),
        "gap": (lambda d: d.drop(index=d.index[(d["actor_id"] == 0) & (d["year"] == 2003)]),
                "gaps in their years"),
        "since": (lambda d: d.assign(cluster_since=np.where(d.index == member, -1,
                                                            d["cluster_since"])),
                  "membership and its year"),
        "late": (lambda d: d.assign(cluster_since=np.where(d.index == member, 2100,
                                                           d["cluster_since"])),
                 "later than the row's year"),
        "dead": (lambda d: d.assign(alive=d.index != 0), "dead actor with a non-zero"),
        "exports": (lambda d: d.assign(exporter=False), "non-exporter with exports"),
        "birth": (lambda d: d.assign(birth_year=np.int16(2004)), "before the actor's birth"),
    }
    for name, (break_it, text) in cases.items():
        with pytest.raises(P.PanelError, match=text):
            P.validate_panel(break_it(base.copy()))
        assert name  # each case raises on its own


def _hand_panel() -> pd.DataFrame:
    """Three actors over 2001-2008: actor 0 joins a cluster in 2003, leaves in 2005, joins
    another in 2007, gets an R&D grant in 2004; actor 1 only a tender subsidy in 2006 and a
    pole from 2005 with a pole project in 2006; actor 2 nothing."""
    pair = synthetic_pair(SyntheticDesign(n_firms=3, first_year=2001, last_year=2008,
                                          cohorts=(2003,), treated_share=1e-9), seed=1)
    d = pair.policy.copy()
    a0 = d["actor_id"] == 0
    yr = d["year"]
    cl = np.where(a0 & yr.between(2003, 2004), 0, np.where(a0 & (yr >= 2007), 2, -1))
    d["cluster"] = cl.astype(np.int16)
    d["cluster_since"] = np.where(cl < 0, -1, np.where(yr >= 2007, 2007, 2003)).astype(np.int16)
    d["grant_rd_eur"] = np.where(a0 & (yr == 2004), 1e5, 0.0)
    a1 = d["actor_id"] == 1
    d["grant_tender_eur"] = np.where(a1 & (yr == 2006), 24_000.0, 0.0)
    d["pole"] = np.where(a1 & (yr >= 2005), 1, -1).astype(np.int16)
    d["pole_since"] = np.where(a1 & (yr >= 2005), 2005, -1).astype(np.int16)
    d["projects_active_pole"] = np.where(a1 & (yr == 2006), 1, 0).astype(np.int16)
    return P.validate_panel(d)


def test_treatment_groups_defined_once():
    c = P.treatment_cohorts(_hand_panel())
    assert c.loc[0, "cluster"] == 2003  # first joining, not the later one
    assert c.loc[1, "cluster"] == c.loc[2, "cluster"] == P.NEVER
    assert c.loc[1, "pole"] == 2005 and c.loc[0, "pole"] == P.NEVER
    assert c.loc[1, "pole_project"] == 2006
    assert c.loc[0, "funded"] == 2004 and c.loc[1, "funded"] == 2006
    assert c.loc[0, "funded_rd"] == 2004 and c.loc[0, "funded_tender"] == P.NEVER
    assert c.loc[1, "funded_tender"] == 2006 and c.loc[2, "funded"] == P.NEVER
    with pytest.raises(KeyError, match="unknown treatment"):
        P.treatment_cohorts(_hand_panel(), ("members",))


def test_cohort_of_explicit_series(small):
    s = pd.Series({0: 2004}, name="mine")
    out = P.cohort_of(small.policy, s)
    assert out.loc[0] == 2004 and (out.drop(0) == P.NEVER).all()
    np.testing.assert_array_equal(P.cohort_of(small.policy, "cluster").to_numpy(),
                                  small.cohorts.to_numpy())
