"""Mesa compatibility: ``mesa.batch_run`` over ClusterModel, its DataCollector of the
catalogue's totals, ``step()`` after the end, and what the agents expose."""

from __future__ import annotations

import math

import mesa
import numpy as np
import pandas as pd
import pytest

from sim import ClusterModel, load_scenario
from sim.indicators.collector import TOTALS, IndicatorCollector
from sim.indicators.table import CATALOGUE
from sim.loader import ScenarioError

SHORT = {"time.end_year": 2003}  # three years: 12 quarters


def short_model(**kw) -> ClusterModel:
    return ClusterModel(load_scenario(None, overrides=SHORT), seed=5, **kw)


def test_datacollector_reports_the_catalogue_totals_of_the_last_year_ended():
    m = short_model()
    assert isinstance(m.datacollector, mesa.DataCollector)
    assert isinstance(m.datacollector, IndicatorCollector)
    assert list(m.datacollector.model_reporters) == ["year", *TOTALS]
    assert set(TOTALS) == {ind.name for ind in CATALOGUE if "total" in ind.by}
    df = m.run()
    frame = m.datacollector.get_model_vars_dataframe()
    assert len(frame) == m.steps == 12
    assert frame["year"].isna().sum() == 3  # no year has ended before step 4
    assert frame["year"].iloc[3:].tolist() == [2001.0] * 4 + [2002.0] * 4 + [2003.0]
    totals = df[df.by == "total"].pivot(index="year", columns="indicator", values="value")
    for step, year in ((3, 2001), (7, 2002), (11, 2003), (9, 2002)):
        for name in TOTALS:
            assert frame[name].iloc[step] == totals.loc[year, name], (name, step)


def test_datacollector_adds_nothing_to_the_run():
    """Same rows with or without handles, whether or not the collector is read mid-run."""
    a = short_model()
    for _ in range(6):
        a.step()
        a.datacollector.get_model_vars_dataframe()
    a.run()
    b = short_model(handles=False)
    pd.testing.assert_frame_equal(a.results(), b.run())
    pd.testing.assert_frame_equal(a.datacollector.get_model_vars_dataframe(),
                                  b.datacollector.get_model_vars_dataframe())
    a.datacollector.collect(a)  # a no-op: the model records its indicators itself
    assert len(a.datacollector.model_vars["year"]) == a.steps


def test_step_after_the_end_does_nothing():
    m = short_model()
    m.run()
    assert m.running is False
    steps, rows, year = m.steps, len(m.results()), m.year
    for _ in range(3):
        m.step()
    assert (m.steps, len(m.results()), m.year, m.running) == (steps, rows, year, False)
    assert m.year == 2003


def test_batch_run_varies_overrides_and_replications():
    subsidies = [0.0, 150_000.0]  # none, and the baseline's
    rows = mesa.batch_run(
        ClusterModel,
        parameters={"scenario": None, "seed": 5, "replication": [0, 1],
                    "overrides": [{**SHORT, "policy.animation.subsidy_eur_per_year": v}
                                  for v in subsidies]},
        iterations=1, max_steps=1000, number_processes=1, display_progress=False)
    frame = pd.DataFrame(rows)
    assert len(frame) == 4
    assert (frame["Step"] == 11).all() and (frame["year"] == 2003).all()
    assert set(TOTALS) <= set(frame.columns)
    frame["subsidy"] = [o["policy.animation.subsidy_eur_per_year"] for o in frame["overrides"]]
    assert (frame.loc[frame.subsidy == 0.0, "animation_subsidy_eur"] == 0.0).all()
    assert (frame.loc[frame.subsidy > 0.0, "animation_subsidy_eur"] > 0.0).all()
    # the end of a batch run is the last year of the model's own run
    ref = short_model(replication=1).run()
    end = ref[(ref.by == "total") & (ref.year == 2003)].set_index("indicator")["value"]
    got = frame[(frame.subsidy == 150_000.0) & (frame.replication == 1)].iloc[0]
    assert all(got[name] == end[name] for name in TOTALS)
    other = frame[(frame.subsidy == 150_000.0) & (frame.replication == 0)].iloc[0]
    assert other["members_total"] != got["members_total"]  # replications differ
    # a period: one row per collected step, the values of the year ended
    rows = mesa.batch_run(ClusterModel, parameters={"overrides": [SHORT], "seed": 5},
                          data_collection_period=4, max_steps=6, display_progress=False)
    got = pd.DataFrame(rows)
    assert got["Step"].tolist() == [0, 4, 6]  # max_steps=6 runs seven steps
    assert math.isnan(got["year"].iloc[0]) and got["year"].iloc[1:].tolist() == [2001.0] * 2


def test_overrides_on_a_scenario_object_are_validated():
    sc = load_scenario(None, overrides=SHORT)
    m = ClusterModel(sc, overrides={"policy.evaluation.period_years": 2})
    assert m.sc.policy.evaluation.period_years == 2 and m.sc.time.end_year == 2003
    with pytest.raises(ScenarioError, match="period_years"):
        ClusterModel(sc, overrides={"policy.evaluation.period_years": 0})
    with pytest.raises(ScenarioError, match="cannot override"):
        ClusterModel(sc, overrides={"policy.evaluation.period_years.x": 1})


def test_agents_expose_what_a_user_inspects():
    m = short_model()
    m.run()
    a = m.actors
    projects = m.projects
    in_project = np.unique(projects.members[projects.active & (projects.members >= 0).any(1)])
    in_project = [int(i) for i in in_project if i >= 0 and a.alive[i]]
    assert in_project
    agent = m.actor(in_project[0])
    i = agent.index
    assert agent.employment == a.employment[i]
    assert agent.value_added == a.value_added[i]
    if agent.employment > 0:
        assert agent.productivity == pytest.approx(a.value_added[i] / a.employment[i])
    assert agent.cluster == (m.clusters.names[a.cluster[i]] if a.cluster[i] >= 0 else None)
    assert agent.projects and all(i in projects.members[q] for q in agent.projects)
    assert all(projects.active[q] for q in agent.projects)
    assert isinstance(agent.partners, list)
    assert agent.pole is None or agent.pole in m.poles.names
    # institutions have no employment, hence no productivity
    uni = next(x for x in m.agents if getattr(x, "actor_type", "") == "university")
    assert uni.employment == 0.0 and uni.productivity == 0.0
