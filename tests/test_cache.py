"""The shared run cache (sim/experiment/cache.py): a run already computed is never computed
again, and results are byte-identical with and without it.

* hit and miss: a second design reads its runs; the store's series.parquet is the same bytes
  cold, warm and with the cache off (``--no-cache``);
* corruption: a flipped byte in an entry is a miss, the entry is set aside and recomputed;
* a change of the model's fingerprint is a miss;
* two processes writing one cache at once; ``clustersim cache list`` and ``prune``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiment import run_design
from sim.experiment import runner as runner_mod
from sim.experiment.cache import RunCache, parse_age, parse_size, run_key

DESIGNS = Path(__file__).resolve().parent / "data" / "designs"
SMALL = DESIGNS / "small_compare.toml"  # 2 variants x 4 replications of 2001-2004


def series_bytes(outcome) -> bytes:
    return (outcome.store.root / "series.parquet").read_bytes()


def runs_of(outcome) -> pd.DataFrame:
    return pd.read_parquet(outcome.store.root / "runs.parquet").drop(columns="wall_seconds")


@pytest.mark.slow  # runs designs (seconds)
def test_second_design_reads_the_runs_and_results_are_byte_identical(tmp_path, cache_dir):
    cold = run_design(SMALL, out=tmp_path / "cold", workers=1, progress=False)
    assert (cold.ran, cold.cached) == (8, 0)
    assert len(RunCache.open(cache_dir).entries()) == 8
    warm = run_design(SMALL, out=tmp_path / "warm", workers=2, progress=False)
    assert (warm.ran, warm.cached) == (8, 8)
    off = run_design(SMALL, out=tmp_path / "off", workers=1, progress=False, cache=False)
    assert (off.ran, off.cached) == (8, 0)
    assert series_bytes(cold) == series_bytes(warm) == series_bytes(off)
    pd.testing.assert_frame_equal(runs_of(cold), runs_of(warm))
    pd.testing.assert_frame_equal(runs_of(cold), runs_of(off))


@pytest.mark.slow  # runs designs (seconds)
def test_a_flipped_byte_is_a_miss_set_aside_and_recomputed(tmp_path, cache_dir):
    cold = run_design(SMALL, out=tmp_path / "cold", workers=1, progress=False)
    victim = sorted((cache_dir / "runs").glob("*/*.parquet"))[3]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    again = run_design(SMALL, out=tmp_path / "again", workers=1, progress=False)
    assert (again.ran, again.cached) == (8, 7)
    assert series_bytes(again) == series_bytes(cold)
    reasons = list((cache_dir / "quarantine").glob("*/REASONS.txt"))
    assert len(reasons) == 1 and victim.stem in reasons[0].read_text()
    assert victim.exists() and victim.read_bytes() != bytes(data)  # stored again, sound
    assert len(RunCache.open(cache_dir).entries()) == 8


@pytest.mark.slow  # runs designs (seconds)
def test_a_truncated_or_missing_file_is_a_miss(tmp_path, cache_dir):
    run_design(SMALL, out=tmp_path / "cold", workers=1, progress=False)
    pqs = sorted((cache_dir / "runs").glob("*/*.parquet"))
    pqs[0].write_bytes(pqs[0].read_bytes()[:100])
    pqs[1].unlink()
    pqs[2].with_suffix(".json").write_text("{not json")
    again = run_design(SMALL, out=tmp_path / "again", workers=1, progress=False)
    assert (again.ran, again.cached) == (8, 5)


@pytest.mark.slow  # runs designs (seconds)
def test_a_change_of_the_model_fingerprint_is_a_miss(tmp_path, cache_dir, monkeypatch):
    run_design(SMALL, out=tmp_path / "cold", workers=1, progress=False)
    monkeypatch.setattr(runner_mod, "model_fingerprint", lambda: "0123456789abcdef-00000000")
    other = run_design(SMALL, out=tmp_path / "other", workers=1, progress=False)
    assert (other.ran, other.cached) == (8, 0)
    models = {e.record["model"] for e in RunCache.open(cache_dir).entries()}
    assert len(models) == 2


@pytest.mark.slow  # runs designs (seconds)
def test_cli_no_cache_and_summary_line(tmp_path, cache_dir, capsys):
    args = ["sweep", str(SMALL), "--out", str(tmp_path / "o"), "-j", "1", "--quiet"]
    assert main([*args, "--no-cache"]) == 0
    assert not cache_dir.exists()
    assert main([*args[:3], str(tmp_path / "o2"), *args[4:]]) == 0
    assert main([*args[:3], str(tmp_path / "o3"), *args[4:]]) == 0
    assert "(8 read from the run cache)" in capsys.readouterr().out


WRITER = """
import sys
from sim.experiment.runner import run_batch
from sim.loader import load_scenario, scenario_hash
sc = load_scenario(sys.argv[1])
doc, digest = sc.model_dump(mode="json"), scenario_hash(sc)
records, blob = run_batch([("v", doc, digest, 7, r) for r in range(6)])
open(sys.argv[2], "wb").write(blob)
print(sum(r["cached"] for r in records))
"""


@pytest.mark.slow
def test_two_processes_share_one_cache_at_once(tmp_path, cache_dir):
    env = {**os.environ, "CLUSTERSIM_CACHE": str(cache_dir)}
    env.pop("CLUSTERSIM_NO_CACHE", None)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(DESIGNS / "short.toml"),
                               str(tmp_path / f"out{i}.parquet")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert (tmp_path / "out0.parquet").read_bytes() == (tmp_path / "out1.parquet").read_bytes()
    cache = RunCache.open(cache_dir)
    entries = cache.entries()
    assert len(entries) == 6
    assert all(cache.get(e.key) is not None for e in entries)  # every entry sound
    assert not (cache_dir / "quarantine").exists()
    # a third process reads them all
    p = subprocess.run([sys.executable, "-c", WRITER, str(DESIGNS / "short.toml"),
                        str(tmp_path / "out2.parquet")], env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.stdout.strip() == "6"
    assert (tmp_path / "out2.parquet").read_bytes() == (tmp_path / "out0.parquet").read_bytes()


def fill(cache: RunCache, n: int, size: int = 1000) -> list[str]:
    keys = [run_key(f"h{i}", 1, i, "m0" if i % 2 else "m1") for i in range(n)]
    cache.put_many((k, bytes([i]) * size, {"scenario_name": "s", "scenario_hash": f"h{i}",
                                           "seed": 1, "replication": i,
                                           "model": "m0" if i % 2 else "m1"})
                   for i, k in enumerate(keys))
    return keys


def test_unit_put_get_and_prune(tmp_path):
    cache = RunCache.open(tmp_path / "c")
    keys = fill(cache, 6)
    assert cache.get(keys[0]) == bytes([0]) * 1000
    assert cache.get(keys[0], {"replication": 5}) is None  # a record of another run
    assert cache.get(run_key("x", 1, 1, "m")) is None
    assert (cache.hits, cache.misses) == (1, 2)
    assert len(list((tmp_path / "c" / "quarantine").glob("*/*.json"))) == 1  # keys[0]
    old = time.time() - 40 * 86400
    for k in keys[1:3]:
        os.utime(cache._files(k)[1], (old, old))
    n, freed = cache.prune(older_than=parse_age("30d"))
    assert n == 2 and freed > 2000
    n, _ = cache.prune(other_models="m1")
    assert n == 2  # keys[3], keys[5]
    assert [e.key for e in cache.entries()] == [keys[4]]
    assert not (tmp_path / "c" / "quarantine").exists()  # pruned too
    small = RunCache.open(tmp_path / "d")
    keys = fill(small, 5)
    for i, k in enumerate(keys):  # keys[0] the least recently used
        os.utime(small._files(k)[1], (old + i, old + i))
    n, _ = small.prune(max_size=2700)
    assert n == 3 and [e.key for e in small.entries()] == keys[3:]
    assert parse_size("2G") == 2 * 1024**3 and parse_size("500M") == 500 * 1024**2
    assert parse_age("12h") == 43200
    with pytest.raises(ValueError):
        parse_age("soon")


def test_cli_cache_list_and_prune(tmp_path, capsys):
    root = tmp_path / "c"
    fill(RunCache.open(root), 4)
    assert main(["cache", "list", "--dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "4 runs" in out and "s " in out
    assert main(["cache", "prune", "--dir", str(root)]) == 2
    assert "say what to remove" in capsys.readouterr().err
    assert main(["cache", "prune", "--max-size", "lots", "--dir", str(root)]) == 2
    assert main(["cache", "prune", "--max-size", "2700", "--dir", str(root)]) == 0
    assert "2 runs removed" in capsys.readouterr().out
    assert len(RunCache.open(root).entries()) == 2


@pytest.mark.slow  # runs designs (seconds)
def test_an_unwritable_cache_never_fails_a_run(tmp_path, monkeypatch, capsys):
    ro = tmp_path / "ro"
    ro.write_text("a file, not a folder")
    monkeypatch.delenv("CLUSTERSIM_NO_CACHE", raising=False)
    monkeypatch.setenv("CLUSTERSIM_CACHE", str(ro))
    out = run_design(SMALL, out=tmp_path / "o", workers=1, progress=False)
    assert (out.ran, out.failed, out.cached) == (8, 0, 0)
    assert "run cache" in capsys.readouterr().err
    json.loads((out.store.root / "manifest.json").read_text())


@pytest.fixture(scope="module")
def _cache_setting_of_a_module_fixture() -> tuple[str | None, object]:
    """What a module-scoped fixture (set up before any function-scoped one) sees: the
    variable and the run cache a run would use."""
    from sim.experiment.cache import open_cache

    return os.environ.get("CLUSTERSIM_NO_CACHE"), open_cache(None)


def test_fixtures_of_every_scope_run_without_the_users_cache(_cache_setting_of_a_module_fixture):
    """The session (tests/conftest.py's pytest_configure) switches the shared run cache off
    for fixtures of every scope, not only inside tests: a module or session fixture that
    runs the model writes nothing to ~/.cache/clustersim and reads nothing from it."""
    env, store = _cache_setting_of_a_module_fixture
    assert env == "1" and store is None
