"""The run store: a folder with a manifest and Parquet tables, written so nothing is lost and
checked so nothing damaged is ever read as a result.

Layout of ``<root>/``::

    manifest.json        design, resolved scenarios by variant, root seed, versions, git commit
    variants.parquet     variant, settings (JSON), scenario hash
    checksums.json       the SHA-256 and size of every file above and below (format 2)
    parts/series-<tag>.parquet, parts/runs-<tag>.parquet, parts/batch-<tag>.json
                         one finished batch: its series, its runs, then its commit record (the
                         checksums of the two and the batch's run keys), each written to a
                         temporary file and renamed, so a reader never sees a partial file and a
                         crash loses at most the batches still running
    runs.parquet, series.parquet
                         the consolidated tables (sorted by run key), written when every run is
                         stored; the merged parts are then removed.  A fresh sweep builds
                         series.parquet in memory while it runs (:class:`SeriesAppender`) and
                         writes it at the end; the parts stay the durable copy until then
    quarantine/<time>/   files found damaged or orphaned, set aside (never deleted) with
                         REASONS.txt; their runs are run again
    .lock, .lock.holder  the lock a writing command holds (:meth:`Store.lock`) and who holds it

``runs``: one row per run (variant, replication, seed, spawn_key, status, error,
wall_seconds).  ``series``: the tidy indicator rows of the successful runs (variant,
replication, seed, indicator, year, by, key, value).  A run key is (variant, replication).

Integrity.  Every file is read through its checksum: a file that is missing, truncated or
altered (a flipped bit) is never read as a result (:class:`StoreDamaged`).  A command that
writes the store first takes its lock, then :meth:`Store.repair` sets aside what disagrees
with the records (damaged files, the files of a batch whose commit record is missing or
damaged, files nobody recorded) so that their runs are run again, and says so in one line.
The consolidated runs and series are one unit: when one is damaged both are set aside.  A store
that cannot be repaired (no readable manifest, or written without checksums) is refused with
what to do.  Nothing outside the store folder is ever touched.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import itertools
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.loader import EXIT_INPUT
from sim.results import atomic_write_bytes

RUN_KEY = ["variant", "replication"]
SERIES_ORDER = ["variant", "replication", "indicator", "year", "by", "key"]
# rows per row group of series.parquet as consolidate copies it: a quarter of pyarrow's default
# (as fast to read, and a quarter of the memory to write)
ROW_GROUP = 256 * 1024
FORMAT = 2  # of checksums.json and the commit records (1: the stores written without them)
INDEX = "checksums.json"
WHOLE = ("manifest.json", "variants.parquet", "runs.parquet", "series.parquet")
UNIT = ("runs.parquet", "series.parquet")  # set aside together
QUARANTINE = "quarantine"
LOCK, HOLDER = ".lock", ".lock.holder"
EXIT_SYSTEM = 3  # as sim.cli: the system (or another process) refused
# temporary files of sim.results.atomic_write_bytes for the store's own files
_TMP = re.compile(r"\.(manifest\.json|variants\.parquet|runs\.parquet|series\.parquet|"
                  r"checksums\.json|\.lock\.holder|(runs|series)-[0-9a-z]+\.parquet|"
                  r"batch-[0-9a-z]+\.json)\..+\.tmp")


# ------------------------------------------------------------------------------ errors
class StoreError(RuntimeError):
    """A store could not be used; the message says why and what to do."""

    exit_code = EXIT_INPUT


class StoreDamaged(StoreError):
    """A file of the store is missing, truncated or altered, or the store cannot be checked."""


class StoreBusy(StoreError):
    """Another process holds the store's lock."""

    exit_code = EXIT_SYSTEM


class StoreWriteError(StoreError):
    """The system refused a write (read-only or full folder...); the store is as it was."""

    exit_code = EXIT_SYSTEM

    def __init__(self, root: Path, exc: OSError):
        self.errno = exc.errno
        what = f" ({exc.filename})" if exc.filename else ""
        super().__init__(f"{root}: cannot write the store: {exc.strerror or exc}{what}; the store "
                         "is as it was before this write (choose another --out, or free space, "
                         "and run the same command again)")


def _digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _matches(data: bytes, metas: list[dict]) -> bool:
    got = None
    for m in metas:
        if isinstance(m, dict) and m.get("bytes") == len(data):
            got = got or hashlib.sha256(data).hexdigest()
            if m.get("sha256") == got:
                return True
    return False


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


@dataclass
class Finding:
    """A problem :meth:`Store.repair` mends: files to set aside (or, for the merged copies of
    a consolidated batch, to remove), why, and how many stored runs go with them."""

    files: list[Path]
    reason: str
    runs: int = 0
    remove: bool = False  # merged leftovers of a consolidation, not damage
    orphans: bool = False  # files no record names (a reader never reads them)
    unit: bool = False  # the consolidated runs and series


@dataclass
class _Batch:
    tag: str
    record: dict | None  # None: the commit record is unreadable
    files: list[Path] = field(default_factory=list)


@dataclass
class Store:
    """A run store on disk."""

    root: Path

    @property
    def parts(self) -> Path:
        """Folder of the per-batch files."""
        return self.root / "parts"

    # ------------------------------------------------------------------ the lock
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's lock (a :mod:`filelock` lock on ``.lock``) while writing; a
        second process is refused with :class:`StoreBusy`, naming the holder."""
        from filelock import FileLock, Timeout

        self._mkdir(self.root)
        lock = FileLock(self.root / LOCK, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            holder = self._holder()
            raise StoreBusy(f"{self.root}: another clustersim is writing this store ({holder}); "
                            "wait for it to finish, or choose another --out") from None
        except OSError as exc:
            raise StoreWriteError(self.root, exc) from None
        try:
            who = (f"pid {os.getpid()} on {socket.gethostname()}, since "
                   f"{_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds')}: "
                   f"{' '.join(sys.argv)[:200]}")
            self._write(self.root / HOLDER, who.encode())
            yield
        finally:
            (self.root / HOLDER).unlink(missing_ok=True)
            lock.release()

    def _holder(self, wait: float = 2.0) -> str:
        """Who holds the lock, from its holder file; a holder that has just taken the lock
        writes that file a moment later, so wait up to ``wait`` seconds for it."""
        deadline = time.monotonic() + wait
        while True:
            try:
                text = (self.root / HOLDER).read_text()[:300].strip()
            except OSError:
                text = ""
            if text or time.monotonic() >= deadline:
                return text or "a process that did not say who it is"
            time.sleep(0.05)

    # ------------------------------------------------------------------ low-level writes
    def _mkdir(self, path: Path) -> None:
        if path.exists() and not path.is_dir():
            raise StoreError(f"{path}: exists and is not a folder; choose another --out")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreWriteError(self.root, exc) from None

    def _write(self, path: Path, data: bytes) -> None:
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise StoreWriteError(self.root, exc) from None

    def _index(self) -> dict[str, Any]:
        """checksums.json (an empty index for a store that has none yet)."""
        path = self.root / INDEX
        if not path.exists():
            return {"format": FORMAT, "files": {}}
        try:
            index = json.loads(path.read_bytes())
            if not isinstance(index, dict) or not isinstance(index.get("files"), dict):
                raise ValueError("not an index")
        except (ValueError, OSError) as exc:
            raise StoreDamaged(f"{path}: unreadable ({exc}); run the same sweep command "
                               "again to set the unverifiable files aside and recompute "
                               "their runs") from None
        if index.get("format") != FORMAT:
            raise StoreDamaged(f"{self.root}: store format {index.get('format')!r}, this "
                               f"clustersim reads format {FORMAT}; use the clustersim that "
                               "wrote it, or choose another --out")
        return index

    def _metas(self, index: dict[str, Any], name: str) -> list[dict]:
        """The checksums a whole file may match: its current one and the one a consolidation
        killed before it ended left pending (a pending file never written does not count)."""
        current, pending = index["files"].get(name), index.get("pending", {}).get(name)
        if current is None and pending is not None and not (self.root / name).exists():
            return []
        return [m for m in (current, pending) if m]

    def _write_index(self, index: dict[str, Any]) -> None:
        self._write(self.root / INDEX, (json.dumps(index, indent=1, sort_keys=True) + "\n")
                    .encode())

    def _commit_whole(self, files: dict[str, bytes], extra: dict[str, dict] | None = None
                      ) -> None:
        """Replace whole files of the store, crash-safe: their new checksums are recorded as
        pending first (a file matching either its old or its pending checksum is sound), then
        the files are written, then the pending checksums become the current ones."""
        index = self._index()
        metas = {name: {**_digest(data), **(extra or {}).get(name, {})}
                 for name, data in files.items()}
        index["pending"] = metas
        self._write_index(index)
        for name, data in files.items():
            self._write(self.root / name, data)
        index["files"].update(metas)
        index.pop("pending", None)
        self._write_index(index)

    # ------------------------------------------------------------------ writing
    def write_manifest(self, manifest: dict) -> None:
        """Write (or rewrite) the manifest."""
        self._commit_whole({"manifest.json": (json.dumps(manifest, indent=2, sort_keys=True,
                                                         default=str) + "\n").encode()})

    def write_variants(self, variants: pd.DataFrame) -> None:
        """Write the variants table."""
        self._commit_whole({"variants.parquet": _parquet(variants)})

    def write_batch(self, runs: pd.DataFrame, series: bytes) -> None:
        """Store one finished batch: its series (Parquet bytes, possibly empty), its runs, then
        its commit record (which marks the batch done).  When the system refuses a write, the
        batch's files already written are removed: the store is as it was."""
        if runs.empty:
            return
        keys = [[str(v), int(r)] for v, r in zip(runs["variant"], runs["replication"],
                                                 strict=True)]
        tag = hashlib.sha256(",".join(f"{v}/{r}" for v, r in keys).encode()).hexdigest()[:16]
        while (self.parts / f"batch-{tag}.json").exists():  # the same runs stored again
            tag = hashlib.sha256(tag.encode()).hexdigest()[:16]
        runs_bytes = _parquet(runs)
        record = {"format": FORMAT, "keys": keys,
                  "runs": {"file": f"runs-{tag}.parquet", **_digest(runs_bytes)},
                  "series": {"file": f"series-{tag}.parquet", **_digest(series)} if series
                  else None}
        written: list[Path] = []
        try:
            for path, data in ((self.parts / f"series-{tag}.parquet", series),
                               (self.parts / f"runs-{tag}.parquet", runs_bytes),
                               (self.parts / f"batch-{tag}.json",
                                json.dumps(record, sort_keys=True).encode())):
                if data:
                    atomic_write_bytes(path, data)
                    written.append(path)
        except OSError as exc:
            for path in written:
                try:
                    path.unlink(missing_ok=True)
                except OSError:
                    pass  # left as an orphan: the next repair sets it aside
            raise StoreWriteError(self.root, exc) from None

    def run_folder(self, variant: str, replication: int) -> Path:
        """Folder of one run's own files (the firm panel of ``run.panel``)."""
        return self.root / "runs" / variant / f"{int(replication):06d}"

    def write_run_files(self, variant: str, replication: int, files: dict[str, bytes]) -> None:
        """Write one run's own files, each atomically, before its batch is committed (a run
        whose batch is not committed runs again and rewrites them)."""
        folder = self.run_folder(variant, replication)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                atomic_write_bytes(folder / name, data)
        except OSError as exc:
            raise StoreWriteError(self.root, exc) from None

    def consolidate(self, series: bytes | None = None) -> None:
        """Merge every stored batch into runs.parquet and series.parquet, sorted by run key,
        then remove the merged parts.  Safe to repeat after a crash at any point.

        ``series``, when given, is series.parquet as :class:`SeriesAppender` wrote it while
        the sweep ran (the same bytes this method would write from the parts).  Otherwise the
        series (millions of rows) stay Arrow tables from the parts to the file: a round trip
        through pandas cost most of the time.  A store with no finished batch left in
        ``parts`` is already consolidated and is not rewritten.  Temporary files that a killed
        write of the store left behind are removed; files in ``parts`` that no batch records
        are set aside in the quarantine.  Nothing else is removed."""
        index = self._index()
        batches = self._batches()
        done = not batches and all(n in index["files"] for n in UNIT)
        if not done:
            data = self._series_bytes() if series is None else series
            runs = self.load_runs()
            self._commit_whole({"series.parquet": data, "runs.parquet": _parquet(runs)},
                               {"runs.parquet": {"runs": len(runs)}})
        for b in batches:
            self._remove([*b.files, self.parts / f"batch-{b.tag}.json"])
        self._tidy_parts()

    def drop_failed(self) -> None:
        """Forget the failed runs (to run them again); the successful ones stay."""
        runs = self.load_runs()
        if (runs["status"] == "ok").all():
            return
        batches = self._batches()
        ok = runs[runs["status"] == "ok"].reset_index(drop=True)
        self._commit_whole({"series.parquet": self._series_bytes(),
                            "runs.parquet": _parquet(ok)}, {"runs.parquet": {"runs": len(ok)}})
        for b in batches:
            self._remove([*b.files, self.parts / f"batch-{b.tag}.json"])
        self._tidy_parts()

    def _remove(self, files: list[Path]) -> None:
        for f in files:
            try:
                f.unlink(missing_ok=True)
            except OSError as exc:
                raise StoreWriteError(self.root, exc) from None

    def _tidy_parts(self) -> None:
        """Remove the store's own temporary files; set aside what no record names."""
        tmp = [f for d in (self.root, self.parts) if d.is_dir() for f in d.iterdir()
               if _TMP.fullmatch(f.name)]
        self._remove(tmp)
        orphans = self._orphans()
        if orphans:
            self._set_aside([Finding(orphans, "recorded by no batch (an unfinished batch's, or "
                                     "not the store's)")])
        if self.parts.is_dir() and not any(self.parts.iterdir()):
            self.parts.rmdir()

    def _series_bytes(self) -> bytes:
        """series.parquet's bytes: the table :meth:`load_series` returns.

        Usually the files, in the order of their first run key, hold every run in one block
        of rows and the runs in order, so the table is their rows one after the other: they
        are then copied a row group at a time.  Memory holds one row group, not the table: a
        large store's may not fit, and on the 2-vCPU benchmark VM merely touching the fresh
        memory for a 1,000-run sweep's table doubled the time of its consolidation (1.2 s
        against 0.6 s).  Otherwise the table is built whole, as for load_series."""
        sources = self._sources("series")
        scans = {rel: _scan(pa.BufferReader(self._verified(rel, metas)))
                 for rel, metas in sources}
        order = sorted(scans, key=lambda f: scans[f].runs[0] if scans[f].runs else ("", -1))
        runs = [r for f in order for r in scans[f].runs]
        if (not order or any(not s.schema.equals(scans[order[0]].schema) for s in scans.values())
                or any(a >= b for a, b in itertools.pairwise(runs))):
            return _table_bytes(self._series())
        metas = dict(sources)
        out = _RowGroups(scans[order[0]].schema)
        for rel in order:
            out.copy(pa.BufferReader(self._verified(rel, metas[rel])))
        return out.close()

    # ------------------------------------------------------------------ checking
    def _verified(self, rel: str, metas: list[dict]) -> bytes:
        """The bytes of a file of the store, checked against its recorded checksums."""
        path = self.root / rel
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise self._damaged([f"{rel}: missing"]) from None
        except OSError as exc:
            raise self._damaged([f"{rel}: unreadable ({exc.strerror})"]) from None
        if not _matches(data, metas):
            raise self._damaged([f"{rel}: fails its checksum (truncated or altered)"])
        return data

    def _damaged(self, reasons: list[str]) -> StoreDamaged:
        try:
            manifest = json.loads((self.root / "manifest.json").read_bytes())
            cmd = f"clustersim sweep {manifest.get('design_file') or 'DESIGN'} --out {self.root.parent}"
        except (OSError, ValueError, AttributeError):
            cmd = "the same sweep command"
        shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3
                                           else "")
        return StoreDamaged(f"{self.root}: the store is damaged: {shown}; run `{cmd}` again: it "
                            "sets the damaged files aside (in quarantine/) and runs their runs "
                            "again")

    def _batches(self) -> list[_Batch]:
        """The batches whose commit record is readable, by name."""
        return [b for b in self._all_batches() if b.record is not None]

    def _all_batches(self) -> list[_Batch]:
        out = []
        if not self.parts.is_dir():
            return out
        for rec in sorted(self.parts.glob("batch-*.json")):
            tag = rec.name[len("batch-"):-len(".json")]
            try:
                record = json.loads(rec.read_bytes())
                files = [self.parts / record[k]["file"] for k in ("runs", "series")
                         if record.get(k) is not None]
                if (record.get("format") != FORMAT or not isinstance(record.get("keys"), list)
                        or any(f.parent != self.parts for f in files)):
                    raise ValueError("not a commit record")
            except (ValueError, OSError, KeyError, TypeError, AttributeError):
                record, files = None, [self.parts / f"{k}-{tag}.parquet"
                                       for k in ("runs", "series")]
            out.append(_Batch(tag, record, [f for f in files if f.exists()]
                              if record is None else files))
        return out

    def _orphans(self) -> list[Path]:
        """Files in ``parts`` that no commit record names (nor a temporary write)."""
        if not self.parts.is_dir():
            return []
        named = {self.parts / f"batch-{b.tag}.json" for b in self._all_batches()}
        named |= {f for b in self._batches() for f in b.files}
        return sorted(f for f in self.parts.iterdir()
                      if f not in named and not _TMP.fullmatch(f.name))

    def findings(self) -> list[Finding]:
        """Everything :meth:`repair` would mend (nothing is changed).  A store that cannot be
        repaired raises :class:`StoreDamaged` saying what to do."""
        if not self.root.is_dir():
            return []
        index_path, has_index = self.root / INDEX, (self.root / INDEX).exists()
        data = [n for n in ("runs.parquet", "series.parquet") if (self.root / n).exists()]
        has_parts = self.parts.is_dir() and any(self.parts.iterdir())
        if not (self.root / "manifest.json").exists():
            if data or has_parts:
                raise StoreDamaged(f"{self.root}: holds runs but no manifest.json, so nothing "
                                   "tells which design and model they belong to; move the "
                                   "folder away (or delete it) and run the design again, or "
                                   "choose another --out")
        else:
            try:
                json.loads((self.root / "manifest.json").read_bytes())
            except (ValueError, OSError):
                raise StoreDamaged(f"{self.root}: manifest.json is unreadable, so nothing tells "
                                   "which design and model the runs belong to; move the folder "
                                   "away (or delete it) and run the design again, or choose "
                                   "another --out") from None
        if not has_index and (data or (any(self.parts.glob("runs-*.parquet"))
                              and not any(self.parts.glob("batch-*.json")))):
            raise StoreDamaged(f"{self.root}: written by a clustersim without checksums (no "
                               f"{INDEX}), so its results cannot be checked; move the folder "
                               "away (or delete it) and run the design again, or choose "
                               "another --out")
        out: list[Finding] = []
        try:
            index = self._index()
        except StoreDamaged as exc:
            if "format" in str(exc):
                raise
            whole = [self.root / n for n in WHOLE[1:] if (self.root / n).exists()]
            return [Finding([index_path, *whole], f"{INDEX} is unreadable: the files it checks "
                            "cannot be checked", unit=True, runs=-1),
                    *self._part_findings(set())]
        files = index["files"]
        bad_unit = []
        for name in WHOLE:
            path = self.root / name
            metas = self._metas(index, name)
            if not metas:
                if path.exists() and name in UNIT:
                    bad_unit.append((name, "recorded by no checksum"))
                continue
            try:
                self._verified(name, metas)
            except StoreDamaged:
                why = "missing" if not path.exists() else "fails its checksum (truncated or " \
                                                          "altered)"
                if name in UNIT:
                    bad_unit.append((name, why))
                else:
                    out.append(Finding([path] if path.exists() else [], f"{name}: {why}"))
        kept: set[tuple[str, int]] = set()
        if bad_unit:
            n = int((files.get("runs.parquet") or {}).get("runs", -1))
            out.append(Finding([self.root / u for u in UNIT if (self.root / u).exists()],
                               "; ".join(f"{name}: {why}" for name, why in bad_unit),
                               runs=n, unit=True))
        elif all(n in files for n in UNIT):
            runs = self._runs_table([("runs.parquet", self._metas(index, "runs.parquet"))])
            kept = set(zip(runs["variant"], runs["replication"].astype(int), strict=True))
        return out + self._part_findings(kept)

    def _part_findings(self, consolidated: set[tuple[str, int]]) -> list[Finding]:
        out = []
        for b in self._all_batches():
            rec = self.parts / f"batch-{b.tag}.json"
            if b.record is None:
                out.append(Finding([rec, *b.files], f"parts/{rec.name}: unreadable commit "
                                   "record"))
                continue
            keys = {(str(v), int(r)) for v, r in b.record["keys"]}
            if keys <= consolidated:
                out.append(Finding([rec, *b.files], "merged already", remove=True))
                continue
            problems = []
            for k in ("runs", "series"):
                meta = b.record.get(k)
                if meta is None:
                    continue
                rel = f"parts/{meta['file']}"
                try:
                    self._verified(rel, [meta])
                except StoreDamaged:
                    gone = not (self.root / rel).exists()
                    problems.append(f"{rel}: {'missing' if gone else 'fails its checksum'}")
            if problems:
                out.append(Finding([rec, *[f for f in b.files if f.exists()]],
                                   "; ".join(problems), runs=len(keys)))
        orphans = self._orphans()
        if orphans:
            out.append(Finding(orphans, "recorded by no batch (an unfinished batch's, or not "
                               "the store's)", orphans=True))
        return out

    def verify(self) -> None:
        """Raise :class:`StoreDamaged` when anything of the store is damaged or orphaned
        (read-only: a store being written may hold a batch not yet committed; readers never
        read those)."""
        problems = [f.reason for f in self.findings() if not f.remove and not f.orphans]
        if problems:
            raise self._damaged(problems)

    def repair(self) -> str | None:
        """Set aside (move to ``quarantine/<time>/``) every damaged or orphaned file, so that
        the runs they held are run again; return the one line that says so (None when the
        store is sound).  Call it holding :meth:`lock`."""
        found = self.findings()
        if not found:
            return None
        self._set_aside(found)
        damage = [f for f in found if not f.remove]
        if not damage:
            return None
        n = sum(len(f.files) for f in damage)
        runs = sum(max(f.runs, 0) for f in damage)
        whole = any(f.runs < 0 for f in damage)
        reasons = "; ".join(f.reason for f in damage[:3]) + (
            f"; and {len(damage) - 3} more" if len(damage) > 3 else "")
        again = ("every run of the consolidated tables" if whole else f"{runs} run(s)") \
            + " will be run again" if runs or whole else "no stored run is lost"
        return (f"{self.root}: set aside {n} damaged or orphaned file(s) in {QUARANTINE}/ "
                f"({reasons}); {again}")

    def _set_aside(self, found: list[Finding]) -> None:
        """Move the files of the findings into a fresh quarantine folder (merged leftovers are
        removed) and drop the checksums of the whole files moved."""
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        dest = self.root / QUARANTINE / stamp
        moved = []
        for f in found:
            if f.remove:
                self._remove(f.files)
                continue
            for path in f.files:
                rel = path.relative_to(self.root)
                target = dest / rel
                self._mkdir(target.parent)
                try:
                    os.replace(path, target)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise StoreWriteError(self.root, exc) from None
                moved.append(f"{rel}, because {f.reason}")
        if moved:
            self._write(dest / "REASONS.txt", ("Set aside by clustersim (never deleted); the "
                                               "runs they held are run again.\n"
                                               + "\n".join(moved) + "\n").encode())
        if any(f.unit or any(p.parent == self.root for p in f.files) for f in found
               if not f.remove):
            try:
                index = self._index()
            except StoreDamaged:
                index = {"format": FORMAT, "files": {}}
            metas_of = {name: self._metas(index, name) for name in WHOLE}
            index.pop("pending", None)
            for name in WHOLE:
                path = self.root / name
                metas = metas_of[name]
                if not path.exists():
                    index["files"].pop(name, None)
                elif metas:
                    data = path.read_bytes()
                    sound = next((m for m in metas if _matches(data, [m])), None)
                    if sound is None:
                        index["files"].pop(name, None)
                    else:
                        index["files"][name] = sound
            self._write_index(index)

    # ------------------------------------------------------------------ reading
    def _sources(self, prefix: str) -> list[tuple[str, list[dict]]]:
        """The consolidated file (if recorded), then the parts of the finished batches by
        name, each with its recorded checksums."""
        name = f"{prefix}.parquet"
        metas = self._metas(self._index(), name)
        out = [(name, metas)] if metas else []
        for b in self._batches():
            meta = b.record.get(prefix)
            if meta is not None:
                out.append((f"parts/{meta['file']}", [meta]))
        return out

    def _read(self, prefix: str) -> list[pa.Table]:
        """The tables of :meth:`_sources`, checked and read directly (``pq.read_table`` goes
        through pyarrow.dataset, whose import and thread pools cost a sweep's driver about
        0.3 s)."""
        tables = []
        for rel, metas in self._sources(prefix):
            data = self._verified(rel, metas)
            try:
                with pq.ParquetFile(pa.BufferReader(data)) as pf:
                    tables.append(pf.read())
            except (pa.ArrowException, OSError) as exc:  # recorded so, yet unreadable
                raise self._damaged([f"{rel}: unreadable Parquet ({exc})"]) from None
        return tables

    def _runs_table(self, sources: list[tuple[str, list[dict]]]) -> pd.DataFrame:
        tables = []
        for rel, metas in sources:
            with pq.ParquetFile(pa.BufferReader(self._verified(rel, metas))) as pf:
                tables.append(pf.read())
        return self._runs_frame(tables)

    def load_runs(self) -> pd.DataFrame:
        """Every stored run, one row per run key, sorted."""
        return self._runs_frame(self._read("runs"))

    @staticmethod
    def _runs_frame(tables: list[pa.Table]) -> pd.DataFrame:
        if not tables:
            return pd.DataFrame(columns=[*RUN_KEY, "seed", "spawn_key", "status", "error",
                                         "wall_seconds"])
        # promoted: an empty file (stored before any run) has untyped columns, and files of
        # older versions plain (not large) strings
        df = pa.concat_tables(tables, promote_options="permissive").to_pandas()
        df = df.drop_duplicates(subset=RUN_KEY, keep="first")
        return df.sort_values(RUN_KEY, kind="stable").reset_index(drop=True)

    def load_series(self) -> pd.DataFrame:
        """Every stored indicator row, ordered by run key (variant, replication), each run's
        rows in the order the model recorded them.  A run found in two files (a batch run
        twice) is taken from the first file only."""
        return self._series().to_pandas()

    def _series(self) -> pa.Table:
        """The table :meth:`load_series` returns, as Arrow (what :meth:`consolidate` writes)."""
        tables = self._read("series")
        if not tables:
            return pa.Table.from_pandas(pd.DataFrame(columns=[*SERIES_ORDER, "seed", "value"]),
                                        preserve_index=False)
        # files in the order of their first run key: usually the rows are then already sorted
        tables.sort(key=_first_run)
        sizes = [t.num_rows for t in tables]
        # an empty file (stored before any run succeeded) has null columns, in another order,
        # and files of older versions plain (not large) strings: the columns come in the order
        # they are first seen, typed by the files with rows
        table = pa.concat_tables(tables, promote_options="permissive")
        if table.num_rows == 0:
            return table
        variant = table.column("variant")
        names = pa.array(sorted(pc.unique(variant).to_pylist()), variant.type)
        run = pc.index_in(variant, value_set=names).to_numpy().astype(np.int64) << 32
        run += table.column("replication").to_numpy()
        # a run stored twice (in two files) keeps the rows of its first file; the empty files
        # sort first, so every file boundary lies inside the table
        new = np.r_[True, run[1:] != run[:-1]]
        new[np.cumsum(sizes)[:-1]] = True
        starts = np.flatnonzero(new)
        if len(np.unique(run[starts])) != len(starts):
            part = np.repeat(np.arange(len(tables)), sizes)
            first = pd.Series(part).groupby(run).transform("min").to_numpy()
            keep = part == first
            table, run = table.filter(pa.array(keep)), run[keep]
        if np.any(run[1:] < run[:-1]):
            table = table.take(run.argsort(kind="stable"))
        return table

    def load_variants(self) -> pd.DataFrame:
        """The variants table."""
        data = self._verified("variants.parquet", self._whole_metas("variants.parquet"))
        return pd.read_parquet(io.BytesIO(data))

    def manifest(self) -> dict:
        """The manifest."""
        data = self._verified("manifest.json", self._whole_metas("manifest.json"))
        return json.loads(data)

    def read_manifest(self) -> dict | None:
        """The manifest as it is on disk, unchecked (None when there is none), to tell whether
        the store is this design's; an unreadable one raises :class:`StoreDamaged`."""
        path = self.root / "manifest.json"
        if not path.exists():
            return None
        self.findings()  # raises for a store that cannot be repaired
        return json.loads(path.read_bytes())

    def _whole_metas(self, name: str) -> list[dict]:
        metas = self._metas(self._index(), name)
        if not metas:
            raise self._damaged([f"{name}: recorded by no checksum"])
        return metas

    def done_keys(self) -> set[tuple[str, int]]:
        """Run keys already stored (successful or failed)."""
        runs = self.load_runs()
        return set(zip(runs["variant"], runs["replication"].astype(int), strict=True))


class _RowGroups:
    """series.parquet in memory, written in row groups of ``ROW_GROUP`` rows whatever the
    row groups of the files copied into it (so the bytes depend only on the rows)."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.sink = pa.BufferOutputStream()
        self.writer = pq.ParquetWriter(self.sink, schema)
        self.held: list[pa.Table] = []
        self.rows = 0

    def copy(self, source: Path | pa.NativeFile) -> None:
        """Append the rows of a Parquet file (a path or a reader of its bytes), one row group
        at a time."""
        with pq.ParquetFile(source) as pf:
            for g in range(pf.num_row_groups):
                self.held.append(pf.read_row_group(g))
                self.rows += self.held[-1].num_rows
                while self.rows >= ROW_GROUP:
                    table = pa.concat_tables(self.held)
                    self.writer.write_table(table.slice(0, ROW_GROUP))
                    self.held, self.rows = [table.slice(ROW_GROUP)], self.rows - ROW_GROUP

    def close(self) -> bytes:
        """The file's bytes."""
        if self.rows:
            self.writer.write_table(pa.concat_tables(self.held))
        self.writer.close()
        return self.sink.getvalue().to_pybytes()


class SeriesAppender:
    """Writes series.parquet while a sweep runs, so that consolidation does not (about 0.6 s of
    a 1,000-run sweep's 9 s on 2 cores, with the workers idle).

    ``keys`` are the run keys of the sweep, sorted; batches (their run keys, in order, and
    their series as Parquet bytes, as :meth:`Store.write_batch` gets them) may come in any
    order.  Each is appended once every run before it is, so the file is the one
    :meth:`Store.consolidate` would write from the parts, byte for byte.  It gives up at the
    first thing it does not expect (a run stored twice or out of place, another schema), and
    :meth:`finish` then returns None: consolidation does the work from the parts, as without it.
    """

    def __init__(self, keys: list[tuple[str, int]]) -> None:
        self.keys = keys
        self.pos = 0
        self.waiting: dict[tuple[str, int], tuple[list[tuple[str, int]], bytes]] = {}
        self.out: _RowGroups | None = None
        self.failed = False

    def add(self, keys: list[tuple[str, int]], series: bytes) -> None:
        """A stored batch."""
        if self.failed or not keys:
            return
        if keys[0] in self.waiting or keys != sorted(keys):
            self.failed = True
            return
        self.waiting[keys[0]] = (keys, series)
        while not self.failed and self.pos < len(self.keys) and self.keys[self.pos] in self.waiting:
            batch, data = self.waiting.pop(self.keys[self.pos])
            if batch != self.keys[self.pos: self.pos + len(batch)]:
                self.failed = True
                break
            self.pos += len(batch)
            if data:
                self._append(pa.py_buffer(data))

    def _append(self, data: pa.Buffer) -> None:
        with pq.ParquetFile(pa.BufferReader(data)) as pf:
            schema = pf.schema_arrow
        if self.out is None:
            self.out = _RowGroups(schema)
        elif not schema.equals(self.out.schema):
            self.failed = True
            return
        self.out.copy(pa.BufferReader(data))

    def finish(self) -> bytes | None:
        """series.parquet's bytes when every run came in its place, else None."""
        if self.failed or self.pos != len(self.keys) or self.waiting or self.out is None:
            return None
        return self.out.close()


def load_store(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Load a stored experiment: (runs, series, manifest) as pandas DataFrames and a dict.

    Every file is checked against its checksum as it is read; a damaged store raises
    :class:`StoreDamaged` (never a result read from a damaged file)."""
    s = Store(Path(path))
    if not (s.root / "manifest.json").exists():
        raise StoreError(f"{s.root}: not an experiment store (no manifest.json)")
    s.verify()
    return s.load_runs(), s.load_series(), s.manifest()


def _first_run(table: pa.Table) -> tuple[str, int]:
    """The run key of a file's first row (an empty file sorts before every other)."""
    if table.num_rows == 0:
        return "", -1
    return table.column("variant")[0].as_py(), int(table.column("replication")[0].as_py())


class _Scan(NamedTuple):
    """What consolidation needs to know of a series file to copy it as it is."""

    schema: pa.Schema
    runs: list[tuple[str, int]]  # the run key of each block of rows, in row order


def _scan(source: Path | pa.NativeFile) -> _Scan:
    """A series file's schema and runs, from its run key columns only."""
    runs: list[tuple[str, int]] = []
    with pq.ParquetFile(source) as pf:
        for g in range(pf.num_row_groups):
            if pf.metadata.row_group(g).num_rows == 0:
                continue
            t = pf.read_row_group(g, columns=RUN_KEY)
            rep, variant = t.column("replication").to_numpy(), t.column("variant")
            new = (rep[1:] != rep[:-1]) | pc.not_equal(variant[1:], variant[:-1]).to_numpy()
            starts = np.flatnonzero(np.r_[True, new])
            keys = list(zip(variant.take(starts).to_pylist(), rep[starts].tolist(),
                            strict=True))
            runs += keys[1:] if runs and keys[0] == runs[-1] else keys
        return _Scan(pf.schema_arrow, runs)


def _table_bytes(table: pa.Table) -> bytes:
    """An Arrow table as Parquet bytes: the writer and settings of
    :func:`sim.results.write_parquet`, less the conversion from pandas."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically."""
    atomic_write_bytes(path, text.encode())
