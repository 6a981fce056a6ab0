"""Backends, crashes and resume of the experiments runner (sim/experiment/runner.py).

* The same design gives the same store with 1 worker, a local pool of 2 and a Dask cluster.
* ``clustersim sweep`` killed with SIGKILL in the middle resumes: every run stored once, none
  computed twice, and the store equals an uninterrupted run's.
* A pool worker or a Dask worker killed in the middle loses and duplicates nothing.

Designs: tests/data/designs/small_compare.toml (2 x 4 runs) and kill_sweep.toml (2 x 60 runs
of 2001-2004 in 60 batches of 2, a few seconds).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import psutil
import pytest

from sim.experiment import load_store, run_design
from sim.experiment.runner import StoreMismatch, dask_executor
from sim.experiment.store import RUN_KEY, SERIES_ORDER, Store
from sim.results import model_fingerprint, source_fingerprint

DESIGNS = Path(__file__).resolve().parent / "data" / "designs"
SMALL = DESIGNS / "small_compare.toml"
KILL = DESIGNS / "kill_sweep.toml"
KILL_TOTAL = 120
TIMEOUT = 120.0


# ------------------------------------------------------------------------------ helpers
def clustersim_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "clustersim"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]


def stored(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs (without wall_seconds) and series of a store, sorted by run key."""
    runs, series, _ = load_store(root)
    runs = runs.drop(columns="wall_seconds").sort_values(RUN_KEY).reset_index(drop=True)
    series = series.sort_values(SERIES_ORDER).reset_index(drop=True)
    return runs, series


def assert_same_store(a: Path, b: Path) -> None:
    ra, sa = stored(a)
    rb, sb = stored(b)
    assert set(zip(ra["variant"], ra["replication"], strict=True)) == \
        set(zip(rb["variant"], rb["replication"], strict=True))
    pdt.assert_frame_equal(ra, rb)
    pdt.assert_frame_equal(sa, sb)
    pdt.assert_frame_equal(Store(a).load_variants(), Store(b).load_variants())


def assert_each_key_once(root: Path, total: int) -> None:
    """The consolidated files on disk (not the de-duplicating loaders) hold each run once."""
    assert not (root / "parts").exists(), "parts are removed once everything is consolidated"
    raw = pd.read_parquet(root / "runs.parquet")
    assert len(raw) == total
    assert not raw.duplicated(RUN_KEY).any()
    assert (raw["status"] == "ok").all()
    series = pd.read_parquet(root / "series.parquet")
    assert not series.duplicated(SERIES_ORDER).any()
    assert set(zip(series["variant"], series["replication"], strict=True)) == \
        set(zip(raw["variant"], raw["replication"], strict=True))


def wait_for_first_batch(parts: Path, alive, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not any(parts.glob("batch-*.json")):  # a batch's commit record is written last
        assert alive(), f"{what} ended before a batch was stored: nothing to interrupt"
        assert time.monotonic() < deadline, f"no batch stored within {TIMEOUT} s"
        time.sleep(0.002)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def dask_client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)  # loopback only
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def kill_reference(tmp_path_factory) -> Path:
    """kill_sweep.toml run without interruption, in this process (SequentialExecutor)."""
    out = tmp_path_factory.mktemp("reference")
    outcome = run_design(KILL, out=out, workers=1, progress=False)
    assert (outcome.total, outcome.ran, outcome.failed) == (KILL_TOTAL, KILL_TOTAL, 0)
    return outcome.store.root


# ------------------------------------------------------------------------------ 1. backends
def test_same_store_with_one_worker_a_pool_and_dask(tmp_path: Path, dask_client, monkeypatch):
    """... and a fresh store's series.parquet is written while the sweep runs (consolidation
    never has to read the parts back), the same bytes with every backend."""

    def no_copy(self):
        raise AssertionError("series.parquet should come from the SeriesAppender")

    monkeypatch.setattr(Store, "_series_bytes", no_copy)
    seq = run_design(SMALL, out=tmp_path / "seq", workers=1, progress=False)
    pool = run_design(SMALL, out=tmp_path / "pool", workers=2, progress=False)
    executor, client = dask_executor(dask_client)
    assert client is dask_client
    dask = run_design(SMALL, out=tmp_path / "dask", executor=executor, progress=False)
    for outcome in (seq, pool, dask):
        assert (outcome.total, outcome.ran, outcome.skipped, outcome.failed) == (8, 8, 0, 0)
        assert_each_key_once(outcome.store.root, 8)
    runs, _ = stored(seq.store.root)
    assert set(zip(runs["variant"], runs["replication"], strict=True)) == \
        {(v, r) for v in ("short", "short_halved") for r in range(4)}
    assert_same_store(seq.store.root, pool.store.root)
    assert_same_store(seq.store.root, dask.store.root)
    assert seq.store.manifest() == pool.store.manifest() == dask.store.manifest()
    series = [(o.store.root / "series.parquet").read_bytes() for o in (seq, pool, dask)]
    assert series[0] == series[1] == series[2]


# ------------------------------------------------------------------------------ 2. SIGKILL + resume
def test_sigkilled_sweep_resumes_without_loss_or_recomputation(tmp_path: Path, kill_reference):
    out = tmp_path / "out"
    root = out / "kill_sweep"
    cmd = [*clustersim_cmd(), "sweep", str(KILL), "--out", str(out), "-j", "1", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_first_batch(root / "parts", lambda: proc.poll() is None, "the sweep")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL

    # nothing partial or corrupt under a final name
    for f in root.rglob("*.parquet"):
        pd.read_parquet(f)
    json.loads((root / "manifest.json").read_text())
    for f in (root / "parts").glob("runs-*.parquet"):
        assert (f.parent / f.name.replace("runs-", "series-", 1)).exists()
    parts = [pd.read_parquet(f) for f in (root / "parts").glob("runs-*.parquet")]
    if parts:  # no run is in two batch files
        assert not pd.concat(parts)[RUN_KEY].duplicated().any()
    before = Store(root).load_runs()
    m = len(before)
    assert m >= 1

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    assert again.returncode == 0, again.stderr
    # no completed run was computed again: only the missing ones ran
    assert (f"{KILL_TOTAL} runs: {KILL_TOTAL - m} run now, {m} already stored, 0 failed"
            in again.stdout), again.stdout
    assert_each_key_once(root, KILL_TOTAL)
    assert_same_store(root, kill_reference)
    # the runs stored before the kill are the very records kept (not recomputed copies)
    after = Store(root).load_runs().set_index(RUN_KEY)
    kept = after.loc[list(zip(before["variant"], before["replication"], strict=True))]
    assert list(kept["wall_seconds"]) == list(before["wall_seconds"])


# ------------------------------------------------------------------------------ 3a. pool worker dies
POOL_DRIVER = """
import sys
from sim.experiment import run_design
o = run_design(sys.argv[1], out=sys.argv[2], workers=2, progress=False)
print("OUTCOME", o.total, o.ran, o.skipped, o.failed)
"""


def test_killed_pool_worker_is_replaced_without_loss(tmp_path: Path, kill_reference):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", POOL_DRIVER, str(KILL), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_first_batch(out / "kill_sweep" / "parts", lambda: proc.poll() is None,
                             "the driver")
        driver = psutil.Process(proc.pid)
        # the pool's workers are forked from the driver (sim.experiment.runner.local_pool)
        workers = driver.children()
        assert workers, "the pool has no worker process"
        os.kill(workers[0].pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "a worker process died; restarting the pool" in stderr
    assert f"OUTCOME {KILL_TOTAL} {KILL_TOTAL} 0 0" in stdout
    root = out / "kill_sweep"
    assert_each_key_once(root, KILL_TOTAL)
    assert_same_store(root, kill_reference)


# ------------------------------------------------------------------------------ 3b. Dask worker dies
def test_killed_dask_worker_loses_and_duplicates_nothing(tmp_path: Path, dask_client,
                                                         kill_reference):
    out = tmp_path / "out"
    executor, _ = dask_executor(dask_client)
    result: dict = {}

    def drive() -> None:
        try:
            result["outcome"] = run_design(KILL, out=out, executor=executor, progress=False)
        except BaseException as exc:  # reported by the assertions below
            result["error"] = exc

    pids = dask_client.run(os.getpid)
    assert len(pids) == 2
    thread = threading.Thread(target=drive, daemon=True)
    thread.start()
    wait_for_first_batch(out / "kill_sweep" / "parts", thread.is_alive, "run_design")
    victim = sorted(pids.values())[0]
    os.kill(victim, signal.SIGKILL)
    thread.join(TIMEOUT)
    assert not thread.is_alive(), f"run_design did not finish within {TIMEOUT} s"
    assert "error" not in result, result.get("error")
    outcome = result["outcome"]
    assert (outcome.total, outcome.failed) == (KILL_TOTAL, 0)
    assert gone(victim)
    assert victim not in dask_client.run(os.getpid).values()
    root = out / "kill_sweep"
    assert_each_key_once(root, KILL_TOTAL)
    assert_same_store(root, kill_reference)


# ------------------------------------------------------------------------------ engine bugs
def test_sequential_executor_stores_each_batch_as_it_finishes(tmp_path: Path, monkeypatch):
    import sim.experiment.runner as runner

    real = runner.run_batch
    root = tmp_path / "small_compare"
    seen: list[int] = []

    def spy(tasks):
        seen.append(len(Store(root).done_keys()))
        return real(tasks)

    monkeypatch.setattr(runner, "run_batch", spy)
    run_design(SMALL, out=tmp_path, workers=1, progress=False)
    assert seen == [0, 2, 4, 6]  # 4 batches of 2: each one stored before the next starts


def test_resume_does_not_mix_runs_of_a_changed_design(tmp_path: Path):
    changed = tmp_path / "small_compare.toml"
    text = SMALL.read_text()
    changed.write_text(text.replace("seed = 4242", "seed = 4243")
                       .replace('"short.toml"', f'"{DESIGNS / "short.toml"}"')
                       .replace('"short_halved.toml"', f'"{DESIGNS / "short_halved.toml"}"'))
    out = tmp_path / "out"
    run_design(SMALL, out=out, progress=False)
    try:
        outcome = run_design(changed, out=out, progress=False)
    except (ValueError, RuntimeError):
        return  # refusing to mix two designs in one store is a correct answer too
    runs, _, manifest = load_store(outcome.store.root)
    assert manifest["root_seed"] == 4243
    assert (runs["seed"] == 4243).all(), sorted(set(runs["seed"]))


def test_resume_refuses_a_store_of_another_model(tmp_path: Path):
    """Runs stored by another version of the model (its fingerprint differs) are not mixed
    with this one's: the rerun is refused with a message that says why, and the store is left
    as it was."""
    out = tmp_path / "out"
    outcome = run_design(SMALL, out=out, progress=False)
    root = outcome.store.root
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["model"] == model_fingerprint()
    manifest["model"] = "0123456789abcdef-00000000"
    (root / "manifest.json").write_text(json.dumps(manifest))
    before = {f.name: f.read_bytes() for f in root.glob("*.parquet")}
    with pytest.raises(StoreMismatch, match="another version of the model"):
        run_design(SMALL, out=out, progress=False)
    assert {f.name: f.read_bytes() for f in root.glob("*.parquet")} == before


def test_model_fingerprint_sees_the_model_not_the_tooling(tmp_path: Path):
    """The fingerprint changes with any file of the model, and not with the experiment
    engine, the command line, caches or compiled files."""
    pkg = tmp_path / "sim"
    for rel, text in {"model.py": "A = 1\n", "kernels/k.py": "B = 2\n",
                      "experiment/store.py": "C = 3\n", "cli.py": "D = 4\n"}.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    base = source_fingerprint(pkg)
    assert source_fingerprint(pkg) == base
    (pkg / "experiment" / "store.py").write_text("C = 30\n")
    (pkg / "cli.py").write_text("D = 40\n")
    (pkg / "kernels" / "__pycache__").mkdir()
    (pkg / "kernels" / "__pycache__" / "k.cpython-311.pyc").write_bytes(b"junk")
    (pkg / "kernels" / "k.k-1.py311.nbi").write_bytes(b"junk")
    assert source_fingerprint(pkg) == base
    (pkg / "kernels" / "k.py").write_text("B = 3\n")
    edited = source_fingerprint(pkg)
    assert edited != base
    (pkg / "rules.py").write_text("")  # a new module of the model counts too
    assert source_fingerprint(pkg) not in (base, edited)


def test_pool_processes_exit_when_the_driver_is_killed(tmp_path: Path):
    out = tmp_path / "out"
    cmd = [*clustersim_cmd(), "sweep", str(KILL), "--out", str(out), "-j", "2", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[psutil.Process] = []
    try:
        wait_for_first_batch(out / "kill_sweep" / "parts", lambda: proc.poll() is None,
                             "the sweep")
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children
        proc.send_signal(signal.SIGKILL)
        proc.wait(TIMEOUT)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not all(gone(c.pid) for c in children):
            time.sleep(0.05)
        left = [c.pid for c in children if not gone(c.pid)]
        assert not left, f"orphaned pool processes still alive 3 s after the kill: {left}"
    finally:
        proc.kill()
        for c in children:  # the processes this test started, by pid
            try:
                c.kill()
            except psutil.NoSuchProcess:
                pass


def test_local_pool_works_from_a_script_without_main_guard(tmp_path: Path):
    """`python - < script` (and scripts without an `if __name__ == "__main__"` guard) must not
    make the pool's workers re-import the user's main module (with forkserver they did, and every
    worker died)."""
    script = (f"from sim.experiment.runner import run_design\n"
              f"o = run_design({str(SMALL)!r}, out={str(tmp_path)!r}, workers=2, progress=False)\n"
              f"print('OUTCOME', o.total, o.failed)\n")
    proc = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert "OUTCOME 8 0" in proc.stdout
    assert "worker process died" not in proc.stderr


def test_a_run_stored_twice_is_read_once(tmp_path: Path):
    """At-least-once execution (a retried Dask task, a batch re-run after a crash) may store a
    run in two batch files; the store reads it once, from the first file, in run-key order."""
    from sim.experiment.runner import run_batch
    from sim.loader import load_scenario, scenario_hash

    sc = load_scenario(DESIGNS / "short.toml")
    doc, h = sc.model_dump(mode="json"), scenario_hash(sc)
    store = Store(tmp_path / "s")
    for reps in ([1, 2], [0, 1]):  # run 1 is in both batches
        records, series = run_batch([("v", doc, h, 5, r) for r in reps])
        store.write_batch(pd.DataFrame(records), series)
    runs, series = store.load_runs(), store.load_series()
    assert list(runs["replication"]) == [0, 1, 2]
    per_run = series.groupby("replication").size()
    assert per_run.nunique() == 1 and list(per_run.index) == [0, 1, 2]
    assert (series["replication"].diff().dropna() >= 0).all()
    store.consolidate()
    pd.testing.assert_frame_equal(store.load_series(), series)


# ------------------------------------------------------------------------------ servers
def _listening(pids: set[int]) -> set[str]:
    out = set()
    for pid in pids:
        try:
            conns = psutil.Process(pid).net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        out |= {c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN}
    return out


def test_every_server_the_project_starts_listens_on_loopback_only(dask_client):
    """The benchmark's LocalCluster put its dashboard on 0.0.0.0; the tests' cluster and the
    benchmark's now listen on 127.0.0.1 only (scheduler, workers, nannies, dashboard)."""
    from benchmarks.bench_sweep import loopback_cluster

    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    cluster = loopback_cluster(1)
    try:
        pids = {me.pid, *(p.pid for p in me.children(recursive=True))}
        ips = _listening(pids)
        assert ips and ips <= {"127.0.0.1"}, ips
        assert cluster.dashboard_link.startswith("http://127.0.0.1:")
    finally:
        cluster.close()
    ips = _listening({me.pid} | before)  # the tests' own cluster (dask_client)
    assert ips <= {"127.0.0.1"}, ips
