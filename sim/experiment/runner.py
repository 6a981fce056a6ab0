"""Running a design: batches of runs on any ``concurrent.futures`` executor, stored as they end.

* Each run is keyed by (variant, replication) and seeded with
  ``SeedSequence(root_seed, spawn_key=(replication,))`` (:func:`sim.model.run_seed_sequence`):
  replication r of every variant shares its streams (common random numbers), and no result
  depends on the number of workers, their order, the backend or which subset ran.
* Tasks carry batches of runs, so a worker pays its start-up and the kernels' loading once.
  At most two batches per worker are in flight, so memory stays flat on large designs.
* Every finished batch is written at once (atomically) by the driver; a run that raises is
  stored as a failure with its traceback, never as NaN, and the others go on.
* Running the same design again resumes: stored runs are not run again, and the final store is
  the same as an uninterrupted run's.  Only the same model resumes: the store records the
  model's fingerprint (its code, NumPy and Numba versions) and refuses another's.
* A local pool whose worker dies is rebuilt and the missing runs are resubmitted; Dask
  re-runs the tasks of a lost worker itself.  Either way each run is stored exactly once.
* The store is locked while a design runs (a second command on the same folder is refused,
  naming the holder), and checked before it resumes: damaged or orphaned files are set aside
  and their runs run again (:meth:`sim.experiment.store.Store.repair`).
"""

from __future__ import annotations

import io
import math
import multiprocessing as mp
import os
import re
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiment.cache import pack_facts, run_key
from sim.experiment.design import Design, load_design, variants
from sim.experiment.store import EXIT_SYSTEM, SeriesAppender, Store, StoreError
from sim.loader import scenario_hash
from sim.results import git_commit, model_fingerprint, run_facts, versions
from sim.scenario import Scenario

FAILURE_ENV = "CLUSTERSIM_FAIL_RUNS"  # test hook: "variant/replication,..." runs that raise


# ---------------------------------------------------------------------------------- workers
_SCENARIOS: dict[str, Scenario] = {}


_SCENARIO_CACHE = 64  # distinct scenarios kept per worker (a calibration makes thousands)


def _scenario(doc: dict[str, Any], digest: str) -> Scenario:
    sc = _SCENARIOS.pop(digest, None)
    if sc is None:
        sc = Scenario.model_validate(doc)
        if len(_SCENARIOS) >= _SCENARIO_CACHE:
            _SCENARIOS.pop(next(iter(_SCENARIOS)))  # the least recently used
    _SCENARIOS[digest] = sc
    return sc


def _open_cache(cache: str | Path | bool | None):
    """The run cache a batch reads and writes: ``None`` the default one (unless
    ``CLUSTERSIM_NO_CACHE``), ``False`` none, a path that folder."""
    from sim.experiment.cache import open_cache

    return open_cache(cache)


def run_batch(tasks: list[tuple[str, dict, str, int, int]],
              cache: str | Path | bool | None = None) -> tuple[list[dict], bytes]:
    """Run a batch of (variant, scenario document, scenario hash, root seed, replication).

    Returns one record per run and the tidy series of the successful ones as Parquet bytes (the
    worker serialises, so the driver only writes files).  Pure: the result depends only on the
    tasks.  A run found in the run cache (:mod:`sim.experiment.cache`; ``cache``: None the
    default one, False none, or a folder) is read, not run, and a run made is stored there;
    its record says ``cached`` (and the model seconds it took when it ran).
    """
    fail = set(filter(None, os.environ.get(FAILURE_ENV, "").split(",")))
    store = _open_cache(cache)
    fingerprint = model_fingerprint() if store is not None else ""
    records, frames, made = [], [], []
    for variant, doc, digest, seed, rep in tasks:
        t0 = time.perf_counter()
        rec = {"variant": variant, "replication": rep, "seed": seed, "spawn_key": str([rep]),
               "status": "ok", "error": "", "cached": False}
        try:
            if f"{variant}/{rep}" in fail:
                raise RuntimeError(f"injected failure of run {variant}/{rep} ({FAILURE_ENV})")
            df = None
            # a run that writes the firm panel is run, not read from the cache (the cache
            # holds the indicator rows only, not the panel's files)
            cacheable = store is not None and not (doc.get("run") or {}).get("panel", False)
            if cacheable:
                key = run_key(digest, seed, rep, fingerprint)
                data = store.get(key, {"scenario_hash": digest, "seed": seed,
                                       "replication": rep, "model": fingerprint})
                if data is not None:
                    df = pd.read_parquet(io.BytesIO(data))
                    rec["cached"] = True
            if df is None:
                from sim.model import ClusterModel

                model = ClusterModel(_scenario(doc, digest), seed=seed, replication=rep,
                                     handles=False)
                df = model.run()
                if model.panel is not None:  # run.panel: the firm panel's files, stored apart
                    rec["files"] = model.panel.files()
                if cacheable:
                    buf = io.BytesIO()
                    df.to_parquet(buf, index=False)
                    made.append((key, buf.getvalue(), {
                        "scenario_hash": digest, "scenario_name": doc.get("name"),
                        "seed": seed, "replication": rep, "model": fingerprint,
                        "rows": len(df), "model_seconds": time.perf_counter() - t0,
                        # what `clustersim run` prints and writes besides the indicators
                        "facts": pack_facts(run_facts(model))}))
            df.insert(0, "seed", seed)
            df.insert(0, "replication", rep)
            df.insert(0, "variant", variant)
            frames.append(df)
        except Exception:  # a run that raises is recorded, never turned into NaN
            rec["status"] = "failed"
            rec["error"] = traceback.format_exc()
        rec["wall_seconds"] = time.perf_counter() - t0
        records.append(rec)
    if store is not None:
        store.put_many(made)
    if not frames:
        return records, b""
    buf = io.BytesIO()
    pd.concat(frames, ignore_index=True).to_parquet(buf, index=False)
    return records, buf.getvalue()


def warm_up(driver_pid: int | None = None) -> None:
    """Import the model and load the kernels from Numba's cache once per worker, and end the
    worker when the driver that started it is gone (a killed sweep leaves no process behind).
    """
    from sim.model import ClusterModel  # noqa: F401

    if driver_pid is not None:
        import threading

        def watch() -> None:
            while True:
                time.sleep(0.5)
                try:
                    os.kill(driver_pid, 0)
                except ProcessLookupError:
                    os._exit(3)

        threading.Thread(target=watch, daemon=True, name="driver-watchdog").start()


def prime_kernels() -> None:
    """Load every kernel (from Numba's cache) by stepping a tiny model once."""
    from sim.loader import load_scenario
    from sim.model import ClusterModel

    tiny = load_scenario(None, overrides={"run.scale": 0.05})
    m = ClusterModel(tiny, seed=0, handles=False)
    for _ in range(4 * (2006 - tiny.time.start_year) + 4):  # through the first pole call
        m.step()


# ---------------------------------------------------------------------------------- executors
class SequentialExecutor(Executor):
    """Runs each task at submission, in the calling process."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # pragma: no cover - run_batch catches run errors
            fut.set_exception(exc)
        return fut


def local_pool(workers: int) -> Executor:
    """A local process pool of ``workers`` processes (sequential for one).

    On Linux the workers are forked: they start at once with the model already imported, and
    they never re-import the user's ``__main__`` (so a script without an
    ``if __name__ == "__main__"`` guard, a notebook or ``python -`` works).  Elsewhere they are
    spawned.  Each worker ends itself when the driver dies.
    """
    if workers <= 1:
        return SequentialExecutor()
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method),
                               initializer=warm_up, initargs=(os.getpid(),))


class BackendUnavailable(RuntimeError):
    """The Dask scheduler asked for cannot be used (no extra, a bad address, nobody there)."""

    exit_code = EXIT_SYSTEM


SCHEDULER_HELP = ("start one bound to this machine only with `dask scheduler --host "
                  "127.0.0.1` (README, section Dask), or leave out --scheduler to run on local "
                  "processes")


def _probe(address: str, timeout: float) -> None:
    """Fail fast when nothing listens at a ``tcp://`` or ``tls://`` address."""
    m = re.fullmatch(r"(?:(tcp|tls)://)?(\[[0-9a-fA-F:]+\]|[^\s/:\[\]]+):(\d{1,5})", address)
    if m is None:
        if re.fullmatch(r"(ucx|inproc|ws|wss)://\S+", address):
            return  # another transport: left to distributed itself
        raise BackendUnavailable(f"--scheduler {address!r}: expected the address of a Dask "
                                 "scheduler, tcp://host:port (or tls://host:port)")
    host, port = m.group(2).strip("[]"), int(m.group(3))
    if not 0 < port < 65536:
        raise BackendUnavailable(f"--scheduler {address!r}: port {port} is not a TCP port "
                                 "(1 to 65535)")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        cause = exc.strerror or type(exc).__name__.replace("Error", " error").lower()
        raise BackendUnavailable(f"--scheduler {address}: no Dask scheduler answers there "
                                 f"({cause}); {SCHEDULER_HELP}") from None


def dask_executor(address: str, timeout: float = 10.0) -> tuple[Executor, Any]:
    """A ``concurrent.futures`` executor on a Dask distributed cluster (``tcp://host:port``,
    ``tls://host:port`` with the TLS settings of Dask's configuration, or a
    ``distributed.Client``/``LocalCluster``).  Needs the ``dask`` extra.

    An address where nothing listens fails within seconds with :class:`BackendUnavailable`
    (one line), not after distributed's 30 s of retries."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover
        raise BackendUnavailable("the Dask backend needs the dask extra: pip install -e "
                                 "'.[dask]'") from None
    if hasattr(address, "get_executor"):
        client = address
    else:
        _probe(str(address), min(timeout, 3.0))
        try:
            client = Client(address, timeout=timeout)
        except Exception as exc:  # whatever answers there, it is no scheduler
            cause = f"{type(exc).__name__}: {exc}"
            raise BackendUnavailable(f"--scheduler {address}: something answers there but no "
                                     f"Dask scheduler could be reached ({cause[:160]}); "
                                     f"{SCHEDULER_HELP}") from None
    return client.get_executor(pure=False), client


# ---------------------------------------------------------------------------------- driver
@dataclass
class Outcome:
    """What a run of a design did."""

    store: Store
    total: int
    ran: int
    skipped: int
    failed: int
    wall_seconds: float
    model_seconds: float
    cached: int = 0  # of the runs ``ran``, those read from the run cache


def plan(design: Design, folder: Path, resolved: list | None = None
         ) -> tuple[list[tuple[str, Scenario, dict]], list]:
    """The variants of a design (``resolved`` when given: (key, scenario, settings) made by
    the caller, e.g. an evaluation's counterfactual twin, or (key, scenario, settings,
    scenarios of its replications 0..n-1)) and every run task (in run-key order)."""
    vs = variants(design, folder) if resolved is None else list(resolved)
    tasks = []
    for key, sc, _, *per_rep in vs:
        doc = sc.model_dump(mode="json")
        digest = scenario_hash(sc)
        if per_rep:  # a scenario per replication (sim.experiment.draws: parameter draws)
            for r, sc_r in enumerate(per_rep[0]):
                tasks.append((key, sc_r.model_dump(mode="json"), scenario_hash(sc_r),
                              design.seed, r))
            continue
        for r in range(design.replications):
            tasks.append((key, doc, digest, design.seed, r))
    vs = [v[:3] for v in vs]
    return vs, tasks


def _manifest(design: Design, vs: list, source: str | None) -> dict:
    return {
        "design": design.model_dump(mode="json"),
        "design_file": source,
        "root_seed": design.seed,
        "seed_scheme": "numpy SeedSequence(root_seed, spawn_key=(replication,)): replication r "
                       "of every variant shares its streams (common random numbers)",
        "variants": {k: {"settings": st, "scenario_hash": scenario_hash(sc),
                         "scenario": sc.model_dump(mode="json")} for k, sc, st in vs},
        "versions": versions(),
        "git": git_commit(),
        "model": model_fingerprint(),
    }


def _batches(tasks: list, size: int) -> Iterable[list]:
    for i in range(0, len(tasks), size):
        yield tasks[i:i + size]


class StoreMismatch(StoreError, ValueError):
    """The store folder holds the runs of a different design."""


def _identity(manifest: dict) -> dict:
    """What must not change for a store to be resumed: the design and the scenarios."""
    return {"design": manifest["design"],
            "variants": {k: v["scenario_hash"] for k, v in manifest["variants"].items()}}


def _check_store(store: Store, manifest: dict) -> None:
    """Refuse a store of another design or model, or one that cannot be repaired (call it
    holding the store's lock)."""
    root = store.root
    stored = store.read_manifest()
    if stored is not None:
        try:
            same = _identity(stored) == _identity(manifest)
        except (KeyError, TypeError, AttributeError):
            same = False
        if not same:
            raise StoreMismatch(
                f"{root} holds the runs of a different design or different scenarios (its "
                "manifest.json differs from this design's); choose another --out, or remove "
                "that folder to start again")
        if stored.get("model") != manifest["model"]:
            raise StoreMismatch(
                f"{root} holds runs of another version of the model (model fingerprint "
                f"{stored.get('model') or 'not recorded'}, this one {manifest['model']}: the "
                "model's code, NumPy or Numba changed), which would mix two models in one "
                "store; choose another --out, or remove that folder to run the design again")


def run_design(design: Design | str | Path, out: str | Path = "experiments/output", *,
               workers: int = 1, executor: Executor | None = None,
               folder: Path | None = None, progress: bool = True,
               retry_failed: bool = False, max_pool_restarts: int = 3,
               cache: str | Path | bool | None = None, resolved: list | None = None) -> Outcome:
    """Run a design into ``out/<design name>/`` and return what happened.

    ``executor`` overrides ``workers`` (any ``concurrent.futures.Executor``, e.g. from
    :func:`dask_executor`).  Runs already in the store are skipped (resume); with
    ``retry_failed`` the failed ones are run again.  A store of another design, of changed
    scenarios or of another version of the model (:func:`sim.results.model_fingerprint`) is
    refused with :class:`StoreMismatch`.  ``cache``: the run cache to read and write
    (:mod:`sim.experiment.cache`; None the default one, False none, or a folder).
    ``resolved`` gives the variants as (key, scenario,
    settings) instead of the design's files (:func:`plan`).
    """
    source = None
    if not isinstance(design, Design):
        source = str(design)
        design, folder = load_design(design)
    folder = folder or Path.cwd()
    vs, tasks = plan(design, folder, resolved)
    manifest = _manifest(design, vs, source)
    store = Store(Path(out) / design.name)  # design.name is a plain file name (Design)
    with store.lock():
        _check_store(store, manifest)
        line = store.repair()
        if line:
            print(line, file=sys.stderr)
        return _run_locked(store, design, vs, tasks, manifest, workers=workers,
                           executor=executor, progress=progress, retry_failed=retry_failed,
                           max_pool_restarts=max_pool_restarts, cache=cache)


def _all_cached(todo: list, cache: str | Path | bool | None) -> bool:
    """Whether every run of ``todo`` has an entry in the run cache (then they are read in
    this process: no pool, no kernels to load)."""
    store = _open_cache(cache)
    if store is None or not todo:
        return False
    fingerprint = model_fingerprint()
    return all(store._files(run_key(t[2], t[3], t[4], fingerprint))[1].exists() for t in todo)


def _run_locked(store: Store, design: Design, vs: list, tasks: list, manifest: dict, *,
                workers: int, executor: Executor | None, progress: bool, retry_failed: bool,
                max_pool_restarts: int, cache: str | Path | bool | None = None) -> Outcome:
    """:func:`run_design` once the store is locked, checked and repaired."""
    store.write_manifest(manifest)
    store.write_variants(pd.DataFrame({
        "variant": [k for k, _, _ in vs],
        "settings": [json_dumps(st) for _, _, st in vs],
        "scenario_hash": [scenario_hash(sc) for _, sc, _ in vs],
    }))
    if retry_failed:
        store.drop_failed()
    done = store.done_keys()
    # in run-key order, so batches come back about in the order of series.parquet, which a
    # fresh store's SeriesAppender then writes while the workers run
    todo = sorted((t for t in tasks if (t[0], t[4]) not in done), key=lambda t: (t[0], t[4]))
    skipped = len(tasks) - len(todo)
    appender = SeriesAppender([(t[0], t[4]) for t in todo]) if not done else None
    t0 = time.perf_counter()
    ran = cached = 0
    model_seconds = 0.0
    bar = _bar(len(tasks), skipped, progress)
    own = executor is None
    if not own and (cache is None or cache is True):  # resolved here: Dask workers may not
        store_ = _open_cache(cache)  # see this process's environment
        cache = False if store_ is None else str(store_.root)
    if own and workers > 1 and _all_cached(todo, cache):
        workers = 1  # reading the cache is quicker than starting workers
    n_workers = max(1, workers) if own else 2
    # about eight batches per worker (so the last batch leaves little idle time), at most 25 runs
    size = design.batch_size or max(1, min(25, math.ceil(len(todo) / (8 * n_workers))))
    if own and workers > 1 and todo:
        prime_kernels()  # forked workers inherit the loaded kernels
    restarts = 0
    try:
        while todo:
            ex = executor if executor is not None else local_pool(workers)
            try:
                window = 1 if isinstance(ex, SequentialExecutor) else 2 * n_workers
                for records, series in _stream(ex, _batches(todo, size), window, cache):
                    cached += sum(bool(r.pop("cached", False)) for r in records)
                    for r in records:  # a run's own files (the firm panel) before its batch
                        if "files" in r:
                            store.write_run_files(r["variant"], r["replication"],
                                                  r.pop("files"))
                    runs = pd.DataFrame(records)
                    store.write_batch(runs, series)
                    if appender is not None:
                        appender.add([(r["variant"], r["replication"]) for r in records], series)
                    ran += len(runs)
                    model_seconds += float(runs["wall_seconds"].sum())
                    if bar is not None:  # the fields first: one redraw per batch
                        bar.set_postfix(failed=int((runs["status"] != "ok").sum()),
                                        refresh=False)
                        bar.update(len(runs))
                todo = []
            except BrokenProcessPool:
                restarts += 1
                if restarts > max_pool_restarts:
                    raise
                done = store.done_keys()
                todo = sorted((t for t in tasks if (t[0], t[4]) not in done),
                              key=lambda t: (t[0], t[4]))
                print(f"\na worker process died; restarting the pool for the {len(todo)} runs "
                      "not yet stored", file=sys.stderr)
            finally:
                if own:
                    ex.shutdown(wait=True, cancel_futures=True)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        n = len(store.done_keys())
        print(f"\ninterrupted: {n} of {len(tasks)} runs are stored in {store.root}; run the "
              "same command again to resume", file=sys.stderr)
        raise
    if bar is not None:
        bar.close()
    store.consolidate(appender.finish() if appender is not None else None)
    runs = store.load_runs()
    return Outcome(store=store, total=len(tasks), ran=ran, skipped=skipped,
                   failed=int((runs["status"] != "ok").sum()),
                   wall_seconds=time.perf_counter() - t0, model_seconds=model_seconds,
                   cached=cached)


def _stream(ex: Executor, batches: Iterable[list], window: int,
            cache: str | Path | bool | None = None):
    """Submit batches keeping at most ``window`` in flight; yield results as they complete.

    With the sequential executor (window 1) each batch is stored before the next runs, so an
    interruption loses at most the batch running.
    """
    pending: set[Future] = set()
    it = iter(batches)
    args = () if cache is None else (cache,)  # None: the workers' default run cache
    for b in it:
        pending.add(ex.submit(run_batch, b, *args))
        if len(pending) >= window:
            break
    while pending:
        finished = next(as_completed(pending))
        pending.remove(finished)
        yield finished.result()  # stored by the caller before the next batch is submitted
        nxt = next(it, None)
        if nxt is not None:
            pending.add(ex.submit(run_batch, nxt, *args))


def json_dumps(obj: Any) -> str:
    """Canonical JSON."""
    import json

    return json.dumps(obj, sort_keys=True)


def _bar(total: int, initial: int, enabled: bool):
    if not enabled:
        return None
    from sim.progress import progress_bar

    return progress_bar(total, initial=initial, unit="run", desc="runs", file=sys.stderr)
