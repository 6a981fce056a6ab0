"""The interactive view in the browser: Mesa's SolaraViz over the model (``clustersim view``).

:mod:`sim.view.levers` (the policy levers as controls and the model they build),
:mod:`sim.view.panels` (the panels, matplotlib figures, testable without a browser),
:mod:`sim.view.app` (the Solara page) and :mod:`sim.view.serve` (the local server: bound to
127.0.0.1, Solara's JavaScript from the installed ``solara-assets``, no telemetry, so it works
offline).  Needs the ``view`` extra (``pip install -e ".[view]"``, part of ``dev``).
"""
