"""The model-side firm panel (sim.panel): model-neutral, its sums equal the aggregate
indicators, stable ids in a twin, and its project table agrees with the counters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.evaluation.panel import COLUMNS, GRANT_COLUMNS, validate_panel
from sim.evaluation.truth import common_actors
from sim.loader import embedded_path, load_scenario
from sim.model import ClusterModel

pytestmark = pytest.mark.slow  # full baseline runs (about 1 s each once compiled)


@pytest.fixture(scope="module")
def baseline_pair():
    sc = load_scenario(None)
    off = ClusterModel(sc, seed=7, handles=False)
    r_off = off.run()
    on = ClusterModel(sc, seed=7, handles=False, panel=True)
    r_on = on.run()
    return sc, r_off, r_on, on


def test_panel_is_model_neutral(baseline_pair):
    _, r_off, r_on, _ = baseline_pair
    pd.testing.assert_frame_equal(r_off, r_on)


def test_panel_has_the_schema(baseline_pair):
    sc, _, _, m = baseline_pair
    panel = m.panel_frame()
    assert list(panel.columns) == list(COLUMNS)
    validate_panel(panel)
    years = range(sc.time.start_year, sc.time.end_year + 1)
    assert sorted(panel["year"].unique()) == list(years)
    # one row per actor from its birth year on
    assert len(panel) == sum(int((panel["year"] == y).sum()) for y in years)
    last = panel[panel["year"] == sc.time.end_year]
    assert len(last) == m.actors.n


def test_panel_sums_equal_the_indicators(baseline_pair):
    _, _, r, m = baseline_pair
    panel = m.panel_frame()
    tot = r[r["by"] == "total"].set_index(["indicator", "year"])["value"]
    firms = panel[panel["actor_type"].isin(["sme", "large_firm"])]
    g = firms.groupby("year")
    for name, values in (("employment", g["employment"].sum()),
                         ("value_added", g["value_added"].sum()),
                         ("exports", g["exports"].sum()),
                         ("firms_alive", g["alive"].sum()),
                         ("members_total", (panel["cluster"] >= 0).groupby(panel["year"]).sum()),
                         ("pole_members", (panel["pole"] >= 0).groupby(panel["year"]).sum())):
        ind = tot.loc[name].reindex(values.index).to_numpy()
        np.testing.assert_allclose(values.to_numpy(float), ind, rtol=1e-12, err_msg=name)
    # innovations: an actor that exits during the year has its flows at 0 in the panel
    inn = panel.groupby("year")["innovations"].sum().to_numpy()
    ind = tot.loc["innovations"].to_numpy()
    assert (inn <= ind).all() and inn.sum() >= 0.95 * ind.sum()
    # own R&D money: the same convention; the actors' cumulative spending is the indicator's
    prd = panel.groupby("year")["private_rd_eur"].sum().to_numpy()
    ind = tot.loc["private_rd_eur"].to_numpy()
    assert (prd <= ind * (1 + 1e-12)).all() and prd.sum() >= 0.95 * ind.sum() > 0
    assert m.actors.rd_private[: m.actors.n].sum() == pytest.approx(ind.sum(), rel=1e-12)
    assert 0 < tot.loc["private_rd_pole_eur"].sum() < ind.sum()
    # grants: what the programmes paid, less what no living actor's row holds
    spend = m.panel.spend()
    funding = r[r["indicator"] == "pole_funding_eur"].groupby("key")["value"].sum()
    for k, col in zip(("rd", "training", "investment", "export", "assets"), GRANT_COLUMNS,
                      strict=False):
        assert spend[f"paid_{k}"] == pytest.approx(funding[k], rel=1e-12)
        assert panel[col].sum() + spend[f"unattributed_{k}"] == pytest.approx(
            spend[f"paid_{k}"], rel=1e-9)
    assert spend["paid_tender"] == pytest.approx(tot.loc["tender_subsidy_eur"].sum())
    assert panel["grant_rd_eur"].sum() > 0.95 * funding["rd"]


def test_project_table_agrees_with_the_counters(baseline_pair):
    sc, _, r, m = baseline_pair
    projects, members = m.panel.project_tables()
    tot = r[r["by"] == "total"].set_index(["indicator", "year"])["value"]
    years = range(sc.time.start_year, sc.time.end_year + 1)
    ended = projects.groupby("end_year").size().reindex(years, fill_value=0).to_numpy()
    np.testing.assert_array_equal(ended, tot.loc["projects_completed"].to_numpy())
    ok = projects[projects["succeeded"]].groupby("end_year").size().reindex(years, fill_value=0)
    np.testing.assert_array_equal(ok.to_numpy(), tot.loc["projects_succeeded"].to_numpy())
    pole = projects[projects["kind"] == "pole"]
    funding = r[r["indicator"] == "pole_funding_eur"].groupby("key")["value"].sum()
    assert pole["grant_rd_eur"].sum() == pytest.approx(funding["rd"], rel=1e-12)
    assert set(members["project_id"]) <= set(projects["project_id"])
    # the panel's completed projects are the members' view of the same table
    panel = m.panel_frame()
    assert panel["projects_completed_pole"].sum() <= members.merge(
        pole[["project_id"]]).shape[0]


def test_twin_keeps_the_ids_of_the_initial_population():
    twin_sc = load_scenario(embedded_path("clusters_without_poles"))
    a = ClusterModel(load_scenario(None), seed=5, handles=False, panel=True)
    a.run()
    b = ClusterModel(twin_sc, seed=5, handles=False, panel=True)
    b.run()
    pa, pb = a.panel_frame(), b.panel_frame()
    ids = common_actors(pa, pb)  # raises when an actor's identity differs
    n0 = int((pa["origin"].astype(str) == "initial").sum() / pa["year"].nunique())
    assert len(ids) == n0 > 0


def test_panel_off_by_default_and_error_message():
    m = ClusterModel(load_scenario(None, overrides={"run.scale": 0.05,
                                                    "time.end_year": 2002}), handles=False)
    m.run()
    assert m.panel is None
    with pytest.raises(ValueError, match="panel=True"):
        m.panel_frame()
