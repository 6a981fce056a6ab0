"""The Solara page of the view: Mesa's SolaraViz over :class:`~sim.view.levers.ViewModel`.

``solara run sim.view.app`` (what ``clustersim view`` starts) or ``solara run app.py`` at the
repository's root serves it; the scenario is the one named by the environment variable
``CLUSTERSIM_VIEW_SCENARIO`` (a file or a shipped scenario's name; the baseline when unset).

The sidebar holds SolaraViz's controls (Reset, Play/Pause, Step, play interval) and the
scenario's policy levers (:data:`sim.view.levers.LEVERS`); a lever takes effect when Reset
rebuilds the model.  The panels (:mod:`sim.view.panels`) are redrawn after each step: clusters
and members, partnerships and pole projects, the Region's budget, members against non-members
(with the seed's observed figures on the same axes) and the partnership network of one cluster.
"""

from __future__ import annotations

import os

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from sim.targets import load_targets
from sim.view import panels
from sim.view.levers import LEVERS, initial_model, model_params
from sim.view.serve import SCENARIO_ENV

DPI = 130  # the panels' PNG on screen


def _scenario() -> str | None:
    return os.environ.get(SCENARIO_ENV) or None


def _figure(title: str, fig, caption: str, key) -> None:
    """A panel: a card titled ``title`` with the figure (drawn again when ``key`` changes)
    and its one-line caption."""
    with solara.Card(title, classes=["clustersim-panel"], style={"width": "100%"}):
        solara.FigureMatplotlib(fig, dependencies=[key], dpi=DPI, format="png")
        solara.Text(caption, classes=["clustersim-caption"])


def _time_panel(title: str, draw):
    targets = load_targets()

    @solara.component
    def Panel(model):
        update_counter.get()  # rendered after every step...
        # ...but drawn only when a year has been recorded (the indicators are yearly)
        key = (id(model), len(model.recorder.blocks))
        fig, caption = solara.use_memo(lambda: draw(model, targets), [key])
        _figure(title, fig, caption, key)

    Panel.__name__ = Panel.__qualname__ = title.replace(" ", "") + "Panel"
    return Panel


@solara.component
def NetworkPanel(model):
    """The partnership network of the cluster chosen in the panel's own selector."""
    update_counter.get()
    names = list(model.clusters.names)
    chosen, set_chosen = solara.use_state(names[0] if names else "")
    chosen = chosen if chosen in names else (names[0] if names else "")
    key = (id(model), model.steps, chosen)
    drawn = solara.use_memo(
        lambda: panels.draw_network(model, names.index(chosen)) if names else None, [key])
    with solara.Card("Partnership network", classes=["clustersim-panel"],
                     style={"width": "100%"}):
        if drawn is None:
            solara.Text("The scenario has no cluster.", classes=["clustersim-caption"])
        else:
            solara.Select("Cluster", value=chosen, values=names, on_value=set_chosen)
            solara.FigureMatplotlib(drawn[0], dependencies=[key], dpi=DPI, format="png")
            solara.Text(drawn[1], classes=["clustersim-caption"])


@solara.component
def LeversPanel(model):
    """The scenario and the levers in force in the model shown (set by the controls, taken
    into account by Reset)."""
    update_counter.get()
    when = f"quarter {model.quarter} of {model.year}" if model.steps else "before the first quarter"
    lines = [f"**{model.sc.name}**, replication {model.replication}: {when}"
             f"{'' if model.running else ' (the end)'}", ""]
    lines += [f"- {lever.label}: {_shown(lever.shown(model.sc))}" for lever in LEVERS]
    with solara.Card("Levers in force", classes=["clustersim-panel"], style={"width": "100%"}):
        solara.Markdown("\n".join(lines))


def _shown(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}"


def components() -> list:
    """SolaraViz's components: the levers in force and the panels, on one page."""
    return [
        (LeversPanel, 0),
        (_time_panel("Clusters and members", panels.draw_clusters), 0),
        (_time_panel("Partnerships and pole projects", panels.draw_projects), 0),
        (_time_panel("The Region's budget", panels.draw_budget), 0),
        (_time_panel("Members and non-members", panels.draw_groups), 0),
        (NetworkPanel, 0),
    ]


COMPONENTS = components()


@solara.component
def Page():
    """The page: a fresh model per browser session, the scenario's levers as controls."""
    scenario = _scenario()
    model = solara.use_memo(lambda: initial_model(scenario), [])
    params = solara.use_memo(lambda: model_params(scenario), [])
    SolaraViz(model, components=COMPONENTS, model_params=params,
              name=f"clustersim: {model.sc.name}", play_interval=50)
