"""The view without a browser: the levers, the model they build, the panels, the server's
command line (the page itself is tested in a browser by tests/test_view_browser.py)."""

from __future__ import annotations

import pytest

from sim.loader import ScenarioError, embedded_path, load_scenario
from sim.scenario import parameter_bounds

pytest.importorskip("solara")

from sim.view import panels
from sim.view.levers import (
    LEVER,
    LEVERS,
    ViewModel,
    model_params,
    overrides_of,
    scenario_path,
)
from sim.view.serve import HOST, command, missing_assets, view_env


def test_every_lever_is_a_schema_path_within_its_bounds():
    bounds = parameter_bounds()
    sc = load_scenario(None)
    for lever in LEVERS:
        if lever.kind == "bool":
            assert isinstance(lever.shown(sc), bool)
            continue
        b = bounds[lever.path]
        lo, hi = lever.bounds(sc)
        assert b["lower"] is None or lo * lever.scale >= b["lower"]
        assert b["upper"] is None or hi * lever.scale <= b["upper"]
        assert lo <= lever.shown(sc) <= hi
    # the shipped variants' values are in range too
    doubled = load_scenario(embedded_path("animation_doubled"))
    lever = LEVER["animation_subsidy_keur"]
    assert lever.shown(doubled) == 300.0 and lever.bounds(doubled)[1] >= 300.0


def test_levers_build_the_model_and_unknown_ones_are_refused():
    assert overrides_of({"animation_subsidy_keur": 75, "evaluation_period_years": 2.0}) == {
        "policy.animation.subsidy_eur_per_year": 75_000.0, "policy.evaluation.period_years": 2}
    m = ViewModel("baseline", replication=2, animation_subsidy_keur=0, poles_enabled=False)
    assert m.sc.policy.animation.subsidy_eur_per_year == 0.0
    assert m.sc.policy.poles.enabled is False and m.replication == 2
    with pytest.raises(TypeError, match="unknown lever"):
        ViewModel("baseline", animation=1)
    with pytest.raises(ScenarioError):
        ViewModel("baseline", evaluation_period_years=0)


def test_model_params_start_at_the_scenario_values():
    params = model_params("evaluation_biennial")
    assert params["scenario"] == str(embedded_path("evaluation_biennial"))
    assert params["evaluation_period_years"].value == 2
    assert params["evaluation_enabled"] == {"type": "Checkbox", "value": True,
                                            "label": LEVER["evaluation_enabled"].label}
    assert scenario_path(None) == embedded_path("baseline")


def test_every_scenario_value_is_on_its_sliders_grid():
    """A slider moves its value to its grid, and Reset passes that to the model: a calibrated
    38 least members on a grid of 5 once became 40, so an off-grid value refines the step."""
    for name in ("baseline", "evaluation_strict", "animation_halved", "tender_subsidy_large"):
        sc = load_scenario(embedded_path(name))
        for key, slider in model_params(name).items():
            if key not in LEVER or LEVER[key].kind == "bool":
                continue
            k = (slider.value - slider.min) / slider.step
            assert k == pytest.approx(round(k), abs=1e-9), (name, key, slider.value)
            assert slider.value == LEVER[key].shown(sc)
    lever = LEVER["evaluation_min_members"]
    base = embedded_path("baseline")
    assert lever.grid_step(load_scenario(base, {"policy.evaluation.min_members": 40})) == 5
    assert lever.grid_step(load_scenario(base, {"policy.evaluation.min_members": 38})) == 1


def test_panels_draw_before_and_after_the_first_year():
    from sim.targets import load_targets

    targets = load_targets()
    m = ViewModel("baseline")
    draws = (panels.draw_clusters, panels.draw_projects, panels.draw_budget,
             panels.draw_groups)
    for draw in draws:
        fig, caption = draw(m, targets)
        assert caption == panels.NOTHING_YET
        assert all(ax.get_ylabel() for ax in fig.axes)
    for _ in range(4):
        m.step()
    captions = [draw(m, targets)[1] for draw in draws]
    assert all(c.startswith("2001:") for c in captions), captions
    assert captions[0] == "2001: 4 active clusters, " + \
        f"{panels.series(m.results(), 'members_total')[2001]:,.0f} members"
    fig, caption = panels.draw_network(m, 0)
    assert caption.startswith("Q4 2001: aeronautics")


def test_the_network_is_the_clusters_members_and_who_they_work_with():
    m = ViewModel("baseline")
    for _ in range(8):
        m.step()
    g = panels.cluster_graph(m, 0)
    a, p = m.actors, m.projects
    members = {v for v, d in g.nodes(data=True) if d["member"]}
    assert members == {int(i) for i in range(a.n) if a.alive[i] and a.cluster[i] == 0}
    for u, v, d in g.edges(data=True):
        assert u in members or v in members
        assert d["project"] or d["trust"] > 0
        if d["project"]:  # some project under way has both
            rows = p.members[p.active[: p.cap]]
            assert ((rows == u).any(1) & (rows == v).any(1)).any()
    assert any(d["project"] for _, _, d in g.edges(data=True))


def test_the_server_is_local_and_offline():
    cmd = command(8123)
    assert cmd[cmd.index("--host") + 1] == HOST == "127.0.0.1"
    assert "--production" in cmd  # no check page fetched from the internet
    env = view_env("baseline", base={})
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["CLUSTERSIM_VIEW_SCENARIO"] == str(embedded_path("baseline").absolute())
    assert missing_assets() == []  # solara-assets is installed: no CDN needed


def test_cli_view_refuses_an_unknown_scenario(capsys):
    from sim.cli import main

    assert main(["view", "no_such_scenario.toml"]) == 2
    assert "no such scenario" in capsys.readouterr().err
