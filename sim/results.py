"""Running one scenario and storing its results: tidy Parquet, manifest, atomic writes."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from sim.loader import scenario_hash
from sim.scenario import Scenario

PACKAGES = ("clustersim", "numpy", "numba", "mesa", "pandas", "pyarrow", "pydantic", "scipy")
_UMASK = os.umask(0)
os.umask(_UMASK)


def versions() -> dict[str, str]:
    """Python and key package versions (NumPy streams are only stable within one build)."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[name] = "not installed"
    return out


# Parts of the ``sim`` package that cannot change a run's numbers: the experiment engine, the
# command line, figures (and the figure job), the reading of target files, progress bars, paper files, the EMA
# adapter and the evaluation package (estimators and reports read runs; they are not the model).
# Everything else is the model.
NOT_MODEL = frozenset({"experiment", "evaluation", "cli.py", "figures.py", "validation.py",
                       "targets.py", "progress.py", "reproduce.py", "ema.py", "figure_job.py"})
BUILD_PACKAGES = ("numpy", "numba")  # their builds fix the draws and the compiled arithmetic


def source_fingerprint(root: Path, skip: frozenset[str] = NOT_MODEL) -> str:
    """SHA-256 (16 hex digits) of the files under ``root``: relative paths and contents, in
    path order; the top-level entries named in ``skip``, caches and compiled files left out."""
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root)
        if (not f.is_file() or rel.parts[0] in skip or "__pycache__" in rel.parts
                or f.suffix in {".pyc", ".nbi", ".nbc"}):
            continue
        h.update(rel.as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def model_fingerprint() -> str:
    """Fingerprint of the model that makes the numbers: its source (the ``sim`` package but
    for :data:`NOT_MODEL`) and the NumPy and Numba versions.

    A run store and a calibration cache record it and refuse to mix runs of two fingerprints:
    after an edit of a rule, or of a default, earlier results are not those of this model, and
    the scenario's hash alone does not see it.
    """
    versions_ = ",".join(f"{name}={metadata.version(name)}" for name in BUILD_PACKAGES)
    return source_fingerprint(Path(__file__).resolve().parent) + "-" + hashlib.sha256(
        versions_.encode()).hexdigest()[:8]


def git_commit() -> dict[str, Any]:
    """Commit and dirty flag of the source tree the package runs from (None outside git)."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=5,
                               check=True).stdout.strip() != ""
        return {"commit": sha, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def plain(x: Any) -> Any:
    """``x`` with NumPy scalars as Python ones and tuples as lists (recursively): what JSON
    writes and reads back as the same value."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [plain(v) for v in x]
    item = getattr(x, "item", None)  # a NumPy scalar
    return item() if item is not None and not isinstance(x, str | bytes) else x


def run_facts(model) -> dict[str, Any]:
    """The facts of a run besides its indicators, as JSON values: its stream's spawn key, the
    Region's evaluations, the actors at the end and the rulebook's decisions (with their
    columns, so that a reader of the run cache need not import the rules)."""
    from sim.rules.state import DECISION_COLUMNS

    return plain({
        "spawn_key": list(model.seed_sequence.spawn_key),
        "evaluations": [
            {"year": y, "cluster": c, "members": n, "involvement": inv, "dropped": d}
            for y, c, n, inv, d in model.evaluations
        ],
        "actors_final": int(model.actors.n),
        "decisions": model.rulebook.decisions,  # the rulebook's decisions and their reasons
        "decision_columns": list(DECISION_COLUMNS),
    })


def run_one(scenario: Scenario, seed: int, replication: int = 0,
            cache: str | Path | bool | None = False) -> tuple[pd.DataFrame, dict]:
    """Run one replication to the end; return its tidy table (with run columns) and facts.

    ``cache``: the shared run cache (:mod:`sim.experiment.cache`) to read and write: False
    none (the default), None the default one unless ``CLUSTERSIM_NO_CACHE``, or a folder.  A
    run found there with its facts is read, not run (``facts["cached"]`` is its key and
    ``facts["wall_seconds"]`` the model seconds it took when it ran): neither the model nor
    Numba is imported.  A run that writes the firm panel (``run.panel``) is always run.
    """
    from sim.experiment.cache import open_cache, pack_facts, run_key, unpack_facts

    store = None if scenario.run.panel else open_cache(cache)
    got = key = expect = None
    if store is not None:
        digest = scenario_hash(scenario)
        fingerprint = model_fingerprint()
        key = run_key(digest, seed, replication, fingerprint)
        expect = {"scenario_hash": digest, "seed": seed, "replication": replication,
                  "model": fingerprint}
        got = store.get_entry(key, expect)
        kept = None if got is None else unpack_facts(got[1])
        if kept is not None:
            import io

            data, rec = got
            df = pd.read_parquet(io.BytesIO(data))
            facts = {**kept, "wall_seconds": rec.get("model_seconds"), "cached": key}
            return _run_columns(df, scenario, seed, replication), facts
    from sim.model import ClusterModel  # the model only when a run is asked for

    t0 = time.perf_counter()
    model = ClusterModel(scenario, seed=seed, replication=replication, handles=False)
    df = model.run()
    wall = time.perf_counter() - t0
    facts = {"wall_seconds": wall, **run_facts(model)}
    if store is not None:
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        store.put_many([(key, buf.getvalue(), {
            **expect, "scenario_name": scenario.name, "rows": len(df), "model_seconds": wall,
            "facts": pack_facts({k: v for k, v in facts.items() if k != "wall_seconds"})})],
            replace=got is not None)  # an entry without the facts gets them
    if model.panel is not None:  # run.panel: the caller writes it (PanelWriter.write)
        facts["panel"] = model.panel
    return _run_columns(df, scenario, seed, replication), facts


def _run_columns(df: pd.DataFrame, scenario: Scenario, seed: int,
                 replication: int) -> pd.DataFrame:
    df.insert(0, "seed", seed)
    df.insert(0, "replication", replication)
    df.insert(0, "scenario", scenario.name)
    return df


def manifest(scenario: Scenario, seed: int, replications: list[int], facts: dict | None = None,
             source: str | None = None) -> dict[str, Any]:
    """Everything needed to regenerate a result: scenario, hash, seed, versions, commit."""
    return {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": sys.argv,
        "scenario_name": scenario.name,
        "scenario_file": source,
        "scenario_hash": scenario_hash(scenario),
        "seed": seed,
        "seed_scheme": "numpy SeedSequence(seed, spawn_key=(replication,)); one child stream "
                       "per process (sim.model.run_seed_sequence)",
        "replications": replications,
        "versions": versions(),
        "git": git_commit(),
        "resolved_scenario": scenario.model_dump(mode="json"),
        "run": facts or {},
    }


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers never see a
    partial file, and a crash, a full disk or a read-only folder leaves the old file (or none)
    in place.  An ``OSError`` names ``path`` (not the temporary file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path.parent)) from exc
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            Path(tmp).unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as Parquet, atomically."""
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write_bytes(path, buf.getvalue())


def write_json(obj: Any, path: Path) -> None:
    """Write JSON (sorted keys, indented), atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
                       .encode())
