"""The run's figure drawn by a process of its own, so that ``clustersim run`` at a terminal
returns when its tables are written (the figure, about 2.5 s of CPU of matplotlib's import,
drawing and PNG at 300 dpi, follows a moment later).

:func:`start` launches ``python -m sim.figure_job`` detached from the command; the job reads
the run's ``indicators.parquet`` (the same rows, read back exactly, as the command holds:
the figure is the same file) and writes the figure atomically (:func:`sim.results.
atomic_write_bytes`), so a reader never sees a partial file.  A job that fails writes
``<stem>.error.txt`` with the reason instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def error_file(stem: Path) -> Path:
    return Path(stem).with_name(Path(stem).name + ".error.txt")


def start(indicators: Path, stem: Path, caption: str, formats: tuple[str, ...],
          with_targets: bool) -> subprocess.Popen:
    """Start the job drawing ``stem``'s figure from ``indicators`` (returns at once)."""
    error_file(stem).unlink(missing_ok=True)
    spec = json.dumps({"indicators": str(indicators), "stem": str(stem), "caption": caption,
                       "formats": list(formats), "targets": with_targets})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1])]
        + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))}
    return subprocess.Popen([sys.executable, "-m", "sim.figure_job", spec],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, env=env,
                            close_fds=True)


def draw(spec: dict) -> list[Path]:
    """Draw the figure ``spec`` describes (what :func:`start` passes)."""
    import pandas as pd

    from sim.figures import run_overview
    from sim.targets import load_targets

    df = pd.read_parquet(spec["indicators"])
    targets = load_targets() if spec["targets"] else []
    return run_overview(df, targets, Path(spec["stem"]), spec["caption"],
                        formats=tuple(spec["formats"]))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(argv[0])
    try:
        draw(spec)
    except BaseException as exc:  # reported in the error file, not lost
        try:
            error_file(Path(spec["stem"])).write_text(
                f"the figure could not be drawn: {type(exc).__name__}: {exc}\n")
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
