"""The run store under faults (issue 13): nothing damaged is ever read as a result, damage is
set aside (never deleted) and its runs run again, a store that cannot be repaired is refused
with what to do, two sweeps never write one store, and a read-only or full folder gives one
line and leaves the store as it was.

Designs: tests/data/designs/small_compare.toml (2 x 4 runs of 2001-2004 in batches of 2, about
half a second) and kill_sweep.toml (2 x 60 runs in 60 batches, for the full disk).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from sim.cli import main
from sim.experiment import load_store, run_design
from sim.experiment.store import QUARANTINE, Store, StoreBusy, StoreDamaged

DESIGNS = Path(__file__).resolve().parent / "data" / "designs"
SMALL = DESIGNS / "small_compare.toml"
KILL = DESIGNS / "kill_sweep.toml"


# ------------------------------------------------------------------------------ helpers
def stored(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs, series, _ = load_store(root)
    return runs.drop(columns="wall_seconds"), series


def assert_same(root: Path, ref: Path) -> None:
    """The same runs (but their wall time) and the same series file, byte for byte."""
    ra, sa = stored(root)
    rb, sb = stored(ref)
    pdt.assert_frame_equal(ra, rb)
    pdt.assert_frame_equal(sa, sb)
    assert (root / "series.parquet").read_bytes() == (ref / "series.parquet").read_bytes()


def quarantined(root: Path) -> dict[str, bytes]:
    """Every file set aside, by its path inside its quarantine folder."""
    out = {}
    for f in sorted((root / QUARANTINE).rglob("*")) if (root / QUARANTINE).exists() else []:
        if f.is_file() and f.name != "REASONS.txt":
            out[str(f.relative_to(root / QUARANTINE)).split("/", 1)[1]] = f.read_bytes()
    return out


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*"))
            if f.is_file() and f.name != ".lock"}


def errors(capsys) -> str:
    """stderr but the scenario warnings (short.toml ends before the poles' selection)."""
    return "".join(line for line in capsys.readouterr().err.splitlines(keepends=True)
                   if not line.startswith("warning: "))


def resume(out: Path, capsys, design: Path = SMALL):
    outcome = run_design(design, out=out, progress=False)
    return outcome, capsys.readouterr().err


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """small_compare run once, uninterrupted."""
    out = tmp_path_factory.mktemp("reference")
    return run_design(SMALL, out=out, progress=False).store.root


@pytest.fixture()
def whole(tmp_path: Path, reference: Path) -> Path:
    """A consolidated store (a copy of the reference)."""
    root = tmp_path / "out" / "small_compare"
    shutil.copytree(reference, root)
    return root


@pytest.fixture()
def in_parts(tmp_path: Path, monkeypatch) -> Path:
    """A store whose four batches are still parts (as when a sweep dies before its
    consolidation)."""
    with monkeypatch.context() as m:
        m.setattr(Store, "consolidate", lambda self, series=None: None)
        root = run_design(SMALL, out=tmp_path / "out", progress=False).store.root
    assert len(list((root / "parts").glob("batch-*.json"))) == 4
    return root


def first_batch(root: Path) -> tuple[Path, dict]:
    rec = sorted((root / "parts").glob("batch-*.json"))[0]
    return rec, json.loads(rec.read_text())


# ------------------------------------------------------------------------------ whole files
def test_a_deleted_series_is_run_again_never_rewritten_empty(whole: Path, reference: Path,
                                                             capsys):
    """It was rewritten with 0 rows and exit 0."""
    (whole / "series.parquet").unlink()
    with pytest.raises(StoreDamaged) as info:
        load_store(whole)
    assert str(info.value) == (
        f"{whole}: the store is damaged: series.parquet: missing; run `clustersim sweep {SMALL} "
        f"--out {whole.parent}` again: it sets the damaged files aside (in quarantine/) and "
        "runs their runs again")
    assert main(["figures", str(whole)]) == 2
    assert capsys.readouterr().err == str(info.value) + "\n"
    runs_before = (whole / "runs.parquet").read_bytes()
    outcome, err = resume(whole.parent, capsys)
    assert err == (f"{whole}: set aside 1 damaged or orphaned file(s) in quarantine/ "
                   "(series.parquet: missing); 8 run(s) will be run again\n")
    assert (outcome.ran, outcome.skipped) == (8, 0)
    assert quarantined(whole) == {"runs.parquet": runs_before}
    assert_same(whole, reference)


@pytest.mark.parametrize("name", ["series.parquet", "runs.parquet"])
@pytest.mark.parametrize("damage", ["truncated", "bit flip", "deleted"])
def test_a_damaged_whole_file_is_set_aside_and_its_runs_run_again(whole, reference, capsys,
                                                                  name, damage):
    path = whole / name
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "bit flip":
        path.write_bytes(data[:100] + bytes([data[100] ^ 0x10]) + data[101:])
    else:
        path.unlink()
    with pytest.raises(StoreDamaged, match=f"{name}: (missing|fails its checksum)"):
        load_store(whole)
    outcome, err = resume(whole.parent, capsys)
    assert "set aside" in err and "8 run(s) will be run again" in err
    assert (outcome.ran, outcome.skipped) == (8, 0)
    assert (name in quarantined(whole)) == (damage != "deleted")
    assert_same(whole, reference)


def test_no_single_byte_flip_is_read_back(whole: Path):
    """19 of 30 single-byte flips in a Parquet file were read back silently (one turned
    72797.36 into -3.05e303); now every flip of series.parquet and runs.parquet is refused."""
    rng = random.Random(13)
    for name in ("series.parquet", "runs.parquet"):
        path = whole / name
        data = path.read_bytes()
        for pos in sorted(rng.sample(range(len(data)), 30)):
            path.write_bytes(data[:pos] + bytes([data[pos] ^ (1 << rng.randrange(8))])
                             + data[pos + 1:])
            with pytest.raises(StoreDamaged):
                load_store(whole)
        path.write_bytes(data)
    load_store(whole)


def test_a_damaged_variants_table_or_manifest_is_rewritten(whole, reference, capsys):
    data = (whole / "variants.parquet").read_bytes()
    (whole / "variants.parquet").write_bytes(data[:-10])
    with pytest.raises(StoreDamaged, match=r"variants\.parquet: fails its checksum"):
        Store(whole).load_variants()
    outcome, err = resume(whole.parent, capsys)
    assert "variants.parquet: fails its checksum" in err and "no stored run is lost" in err
    assert (outcome.ran, outcome.skipped) == (0, 8)
    assert quarantined(whole) == {"variants.parquet": data[:-10]}
    assert_same(whole, reference)


# ------------------------------------------------------------------------------ parts
PART_DAMAGE = ["series part deleted", "runs part deleted", "series part truncated",
               "runs part flipped", "commit record deleted", "commit record garbage"]


@pytest.mark.parametrize("damage", PART_DAMAGE)
def test_a_damaged_batch_is_set_aside_and_its_runs_run_again(in_parts, reference, capsys,
                                                             damage):
    """A deleted series part whose runs part remained gave a store whose runs table said 'ok'
    for runs without indicators; a truncated part made every later resume crash."""
    rec, record = first_batch(in_parts)
    series, runs = (in_parts / "parts" / record[k]["file"] for k in ("series", "runs"))
    what, _, how = damage.partition(" part ") if " part " in damage else (damage, "", "")
    target = {"series": series, "runs": runs}.get(what, rec)
    if "deleted" in damage:
        target.unlink()
    elif how == "truncated":
        target.write_bytes(target.read_bytes()[:-50])
    elif how == "flipped":
        data = target.read_bytes()
        target.write_bytes(data[:40] + bytes([data[40] ^ 1]) + data[41:])
    else:
        target.write_text("{ not json")
    left = {f.name: f.read_bytes() for f in (series, runs, rec) if f.exists()}
    if "commit record" not in damage:  # a reader never reads a damaged committed part
        with pytest.raises(StoreDamaged):
            Store(in_parts).load_series() if what == "series" else Store(in_parts).load_runs()
    outcome, err = resume(in_parts.parent, capsys)
    assert err.count("\n") == 1 and "set aside" in err, err
    assert (outcome.ran, outcome.skipped) == (2, 6)
    assert {k.split("/")[-1]: v for k, v in quarantined(in_parts).items()} == left
    assert_same(in_parts, reference)


def test_orphaned_files_are_set_aside_never_deleted(in_parts, reference, capsys):
    parts = in_parts / "parts"
    (parts / "series-0123456789abcdef.parquet").write_bytes(b"an unfinished batch's series")
    (parts / "notes.txt").write_text("not the store's")
    outcome, err = resume(in_parts.parent, capsys)
    assert err == (f"{in_parts}: set aside 2 damaged or orphaned file(s) in quarantine/ "
                   "(recorded by no batch (an unfinished batch's, or not the store's)); no "
                   "stored run is lost\n")
    assert (outcome.ran, outcome.skipped) == (0, 8)
    assert quarantined(in_parts) == {
        "parts/notes.txt": b"not the store's",
        "parts/series-0123456789abcdef.parquet": b"an unfinished batch's series"}
    assert_same(in_parts, reference)


def test_a_store_killed_in_its_consolidation_resumes(in_parts, reference, capsys,
                                                     monkeypatch):
    real = Store._write

    def killed(self, path, data):
        if path.name == "runs.parquet":
            raise KeyboardInterrupt
        real(self, path, data)

    monkeypatch.setattr(Store, "_write", killed)
    with pytest.raises(KeyboardInterrupt):
        Store(in_parts).consolidate()
    monkeypatch.undo()
    assert (in_parts / "series.parquet").exists() and not (in_parts / "runs.parquet").exists()
    load_store(in_parts)  # sound: the pending checksum covers series.parquet
    outcome, err = resume(in_parts.parent, capsys)
    assert err == "" and (outcome.ran, outcome.skipped) == (0, 8)
    assert_same(in_parts, reference)


# ------------------------------------------------------------------------------ not repairable
UNREPAIRABLE = {
    "manifest deleted": (
        lambda root: (root / "manifest.json").unlink(),
        "{root}: holds runs but no manifest.json, so nothing tells which design and model they "
        "belong to; move the folder away (or delete it) and run the design again, or choose "
        "another --out"),
    "manifest garbage": (
        lambda root: (root / "manifest.json").write_text("{ nope"),
        "{root}: manifest.json is unreadable, so nothing tells which design and model the runs "
        "belong to; move the folder away (or delete it) and run the design again, or choose "
        "another --out"),
    "written without checksums": (
        lambda root: (root / "checksums.json").unlink(),
        "{root}: written by a clustersim without checksums (no checksums.json), so its results "
        "cannot be checked; move the folder away (or delete it) and run the design again, or "
        "choose another --out"),
}


@pytest.mark.parametrize("case", sorted(UNREPAIRABLE))
def test_a_store_that_cannot_be_repaired_is_refused_with_what_to_do(whole, capsys, case):
    damage, message = UNREPAIRABLE[case]
    damage(whole)
    before = snapshot(whole)
    rc = main(["sweep", str(SMALL), "--out", str(whole.parent), "-j", "1", "--quiet"])
    assert rc == 2
    assert capsys.readouterr().err.splitlines()[-1] == message.format(root=whole)
    assert snapshot(whole) == before


def test_an_unreadable_checksums_file_sets_the_whole_files_aside(whole, reference, capsys):
    (whole / "checksums.json").write_text("[1, 2")
    outcome, err = resume(whole.parent, capsys)
    assert "checksums.json is unreadable" in err and "every run of the consolidated tables" in err
    assert (outcome.ran, outcome.skipped) == (8, 0)
    assert {"checksums.json", "runs.parquet", "series.parquet"} <= set(quarantined(whole))
    assert_same(whole, reference)


# ------------------------------------------------------------------------------ the lock
HOLD = """
import sys
from pathlib import Path
from sim.experiment.store import Store
with Store(Path(sys.argv[1])).lock():
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_a_second_sweep_on_the_same_store_is_refused_naming_the_holder(tmp_path, capsys):
    """Two sweeps on one folder both ran (380 runs done twice)."""
    root = tmp_path / "out" / "small_compare"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(root)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        rc = main(["sweep", str(SMALL), "--out", str(tmp_path / "out"), "-j", "1", "--quiet"])
        err = capsys.readouterr().err.splitlines()[-1]
        assert rc == 3
        assert err.startswith(f"{root}: another clustersim is writing this store (pid "
                              f"{holder.pid} on ")
        assert err.endswith("; wait for it to finish, or choose another --out")
        assert not (root / "manifest.json").exists()
    finally:
        holder.communicate("\n", timeout=30)
    assert main(["sweep", str(SMALL), "--out", str(tmp_path / "out"), "-j", "1",
                 "--quiet"]) == 0  # once the holder is gone


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_two_concurrent_sweeps_run_each_run_once(tmp_path):
    """Both started at once: one runs the design, the other is refused (exit 3); every run is
    stored once."""
    exe = Path(sys.executable).parent / "clustersim"
    cmd = [str(exe), "sweep", str(KILL), "--out", str(tmp_path), "-j", "1", "--quiet"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 3], results
    refused = next(err for p, (_, err) in zip(procs, results, strict=True) if p.returncode == 3)
    assert "another clustersim is writing this store (pid" in refused
    raw = pd.read_parquet(tmp_path / "kill_sweep" / "runs.parquet")
    assert len(raw) == 120 and not raw.duplicated(["variant", "replication"]).any()


def test_the_lock_is_refused_within_one_process_too(tmp_path):
    store = Store(tmp_path / "s")
    with store.lock(), pytest.raises(StoreBusy), Store(tmp_path / "s").lock():
        pass


# ------------------------------------------------------------------------------ the file system
def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def _remount(where: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(where)], check=True,
                   capture_output=True)


@pytest.fixture()
def tmpfs(tmp_path: Path):
    """A small tmpfs of our own (root only: skipped with the reason where it cannot be
    mounted)."""
    where = tmp_path / "fs"
    if not _mount_tmpfs(where, "128k"):
        pytest.skip("cannot mount a tmpfs here (needs root and mount); the read-only and "
                    "full-disk cases are not checked")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_a_read_only_folder_gives_one_line_and_leaves_the_store_as_it_was(tmpfs, capsys):
    _remount(tmpfs, "size=64m")
    out = tmpfs / "out"
    assert main(["sweep", str(SMALL), "--out", str(out), "-j", "1", "--quiet"]) == 0
    capsys.readouterr()
    root = out / "small_compare"
    (root / "series.parquet").unlink()  # something to repair, which cannot be written
    before = snapshot(root)
    _remount(tmpfs, "ro")
    assert main(["sweep", str(SMALL), "--out", str(out), "-j", "1", "--quiet"]) == 3
    err = errors(capsys)
    assert err.splitlines()[-1].startswith(f"{root}: cannot write the store: Read-only file "
                                           "system")
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert snapshot(root) == before
    # a fresh store in the read-only folder: the same one line
    assert main(["sweep", str(SMALL), "--out", str(tmpfs / "new"), "-j", "1", "--quiet"]) == 3
    err = errors(capsys)
    assert err == (f"{tmpfs / 'new' / 'small_compare'}: cannot write the store: Read-only file "
                   f"system ({tmpfs / 'new'}); the store is as it was before "
                   "this write (choose another --out, or free space, and run the same command "
                   "again)\n")


@pytest.mark.slow  # the quick subset's budget (issue 14): a whole-store or whole-model run
def test_a_full_disk_gives_one_line_and_the_store_resumes_once_there_is_room(tmpfs, capsys,
                                                                              tmp_path):
    reference = run_design(KILL, out=tmp_path / "ref", progress=False).store.root
    out = tmpfs / "out"
    assert main(["sweep", str(KILL), "--out", str(out), "-j", "1", "--quiet"]) == 3
    err = capsys.readouterr().err
    root = out / "kill_sweep"
    assert err.splitlines()[-1].startswith(f"{root}: cannot write the store: No space left on "
                                           "device"), err
    assert "Traceback" not in err
    store = Store(root)
    stored_runs = len(store.load_runs())  # what was committed reads back, checked
    assert 0 < stored_runs < 120
    assert [f for f in store.findings() if not f.remove] == []  # nothing half-written left
    _remount(tmpfs, "size=64m")
    assert main(["sweep", str(KILL), "--out", str(out), "-j", "1", "--quiet"]) == 0
    assert f"120 runs: {120 - stored_runs} run now, {stored_runs} already stored" in \
        capsys.readouterr().out
    assert_same(root, reference)


def test_a_run_or_a_validation_into_a_read_only_folder_is_one_line(tmpfs, capsys):
    _remount(tmpfs, "ro")
    out = tmpfs / "results"
    for argv in (["run", "--out", str(out), "--no-figure"],
                 ["validate", "--reps", "2", "-j", "1", "--out", str(out)]):
        assert main(argv) == 3  # before anything runs
        assert capsys.readouterr().err == f"{out}: Read-only file system; choose a writable --out\n"
