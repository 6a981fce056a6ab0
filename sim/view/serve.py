"""Serve the view on this machine only, offline: ``solara run sim.view.app`` bound to
127.0.0.1, in production mode (no check page fetched from solara.dev), with Solara's telemetry
off and its JavaScript and CSS from the installed ``solara-assets`` package (Solara's assets
proxy reads them from ``<prefix>/share/solara/cdn``, where that package puts them, instead of a
CDN)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sim.loader import embedded_names, embedded_path

SCENARIO_ENV = "CLUSTERSIM_VIEW_SCENARIO"  # the scenario the page shows (read by sim.view.app)
HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def scenario_path(scenario: str | Path | None) -> Path:
    """The file of ``scenario``: a path, or the name of a scenario shipped in the package
    (``baseline``, ``animation_doubled``...); the embedded baseline when None."""
    if scenario is None:
        return embedded_path("baseline")
    path = Path(scenario)
    if not path.exists() and str(scenario) in embedded_names():
        return embedded_path(str(scenario))
    return path


def view_env(scenario: str | Path | None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the server process: the scenario, and Solara set to stay offline."""
    env = dict(os.environ if base is None else base)
    env[SCENARIO_ENV] = str(scenario_path(scenario).absolute())
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    env["SOLARA_ASSETS_PROXY"] = "True"  # served from share/solara/cdn (solara-assets)
    env.setdefault("MPLBACKEND", "Agg")
    # Mesa 3.3's own ComponentsView breaks a rule of Solara's hooks check in a harmless way
    # (an early return before a use_state); its warning would fill the log at every start
    env.setdefault("PYTHONWARNINGS", "ignore::UserWarning:solara.validate_hooks")
    return env


def command(port: int) -> list[str]:
    """The server's command line (Solara's own ``run``, bound to 127.0.0.1)."""
    return [sys.executable, "-m", "solara", "run", "sim.view.app", "--host", HOST,
            "--port", str(int(port)), "--production", "--no-open", "--log-level", "warning"]


def missing_assets() -> list[str]:
    """The asset folders Solara's page needs that are not installed (empty when offline use
    works)."""
    import re

    import solara.server
    from solara.server import settings

    template = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    need = sorted(set(re.findall(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)/",
                                 template.read_text())))
    cdn = settings.assets.proxy_cache_dir
    # the vuetify 3 app is for ipyvuetify 3, which Mesa 3.3's SolaraViz cannot use
    return [n for n in need if "vuetify3" not in n and not (cdn / n).is_dir()]


def serve(scenario: str | Path | None = None, port: int = DEFAULT_PORT) -> None:
    """Become the server (the process is replaced by Solara's, so that a signal sent to it
    stops the server itself); runs until interrupted."""
    path = scenario_path(scenario)
    if not path.is_file():
        raise FileNotFoundError(f"{scenario}: no such scenario file or shipped scenario")
    print(f"clustersim view: {path} on http://{HOST}:{port}/ (Ctrl-C stops it)", flush=True)
    os.execve(sys.executable, command(port), view_env(path))
