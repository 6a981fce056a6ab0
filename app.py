"""The interactive view as a Solara app, as Mesa's examples have it:

    solara run app.py --host 127.0.0.1

serves Mesa's SolaraViz over the model (the same page as ``clustersim view``, which also keeps
Solara offline: see sim/view/serve.py); set ``CLUSTERSIM_VIEW_SCENARIO`` to a scenario file or
a shipped scenario's name to view another scenario than the baseline.
"""

from sim.view.app import Page

__all__ = ["Page"]
