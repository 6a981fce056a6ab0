"""The run store: a folder with a manifest and Parquet tables, written so nothing is lost.

Layout of ``<root>/``::

    manifest.json        design, resolved scenarios by variant, root seed, versions, git commit
    variants.parquet     variant, settings (JSON), scenario hash
    parts/runs-*.parquet, parts/series-*.parquet
                         one pair per finished batch, each written to a temporary file and
                         renamed, so a reader never sees a partial file and a crash loses at most
                         the batches still running
    runs.parquet, series.parquet
                         the consolidated tables (sorted by run key), written when every run is
                         stored; the parts are then removed.  A fresh sweep builds
                         series.parquet in memory while it runs (:class:`SeriesAppender`) and
                         writes it at the end; the parts stay the durable copy until then

``runs``: one row per run (variant, replication, seed, spawn_key, status, error,
wall_seconds).  ``series``: the tidy indicator rows of the successful runs (variant,
replication, seed, indicator, year, by, key, value).  A run key is (variant, replication).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.results import atomic_write_bytes, write_json, write_parquet

RUN_KEY = ["variant", "replication"]
SERIES_ORDER = ["variant", "replication", "indicator", "year", "by", "key"]
# rows per row group of series.parquet as consolidate copies it: a quarter of pyarrow's default
# (as fast to read, and a quarter of the memory to write)
ROW_GROUP = 256 * 1024


@dataclass
class Store:
    """A run store on disk."""

    root: Path

    @property
    def parts(self) -> Path:
        """Folder of the per-batch files."""
        return self.root / "parts"

    # ------------------------------------------------------------------ writing
    def write_manifest(self, manifest: dict) -> None:
        """Write (or rewrite) the manifest."""
        write_json(manifest, self.root / "manifest.json")

    def write_variants(self, variants: pd.DataFrame) -> None:
        """Write the variants table."""
        write_parquet(variants, self.root / "variants.parquet")

    def write_batch(self, runs: pd.DataFrame, series: bytes) -> None:
        """Store one finished batch: its series (Parquet bytes, possibly empty) first, then its
        runs (the runs file marks the batch done)."""
        if runs.empty:
            return
        keys = ",".join(f"{v}/{r}" for v, r in zip(runs["variant"], runs["replication"],
                                                   strict=True))
        tag = hashlib.sha256(keys.encode()).hexdigest()[:16]
        if series:
            atomic_write_bytes(self.parts / f"series-{tag}.parquet", series)
        write_parquet(runs, self.parts / f"runs-{tag}.parquet")

    def consolidate(self, series: bytes | None = None) -> None:
        """Merge every stored batch into runs.parquet and series.parquet, sorted by run key,
        then remove the parts.  Safe to repeat after a crash at any point.

        ``series``, when given, is series.parquet as :class:`SeriesAppender` wrote it while
        the sweep ran (the same bytes this method would write from the parts).  Otherwise the
        series (millions of rows) stay Arrow tables from the parts to the file: a round trip
        through pandas cost most of the time.  A store with no finished batch left in
        ``parts`` is already consolidated (parts are removed only once both tables are
        written) and is not rewritten.  Temporary files that a killed write left behind (hidden
        ``.*.tmp``, in the store or its parts) are removed too: nobody else writes here now."""
        done = (self._files("runs") == [self.root / "runs.parquet"]
                and (self.root / "series.parquet").exists())
        if not done:
            if series is None:
                self._write_series()
            else:
                atomic_write_bytes(self.root / "series.parquet", series)
            write_parquet(self.load_runs(), self.root / "runs.parquet")
        for f in sorted(self.parts.glob("*.parquet")) if self.parts.exists() else []:
            f.unlink()
        for f in [*self.root.glob(".*.tmp"),
                  *(self.parts.glob(".*.tmp") if self.parts.exists() else [])]:
            f.unlink()
        if self.parts.exists() and not any(self.parts.iterdir()):
            self.parts.rmdir()

    def drop_failed(self) -> None:
        """Forget the failed runs (to run them again); the successful ones stay."""
        runs = self.load_runs()
        if (runs["status"] == "ok").all():
            return
        self._write_series()
        write_parquet(runs[runs["status"] == "ok"].reset_index(drop=True),
                      self.root / "runs.parquet")
        for f in sorted(self.parts.glob("*.parquet")) if self.parts.exists() else []:
            f.unlink()

    def _write_series(self) -> None:
        """Write series.parquet: the table :meth:`load_series` returns.

        Usually the files, in the order of their first run key, hold every run in one block
        of rows and the runs in order, so the table is their rows one after the other: they
        are then copied a row group at a time.  Memory holds one row group, not the table: a
        large store's may not fit, and on the 2-vCPU benchmark VM merely touching the fresh
        memory for a 1,000-run sweep's table doubled the time of its consolidation (1.2 s
        against 0.6 s).  Otherwise the table is built whole, as for load_series."""
        path = self.root / "series.parquet"
        files = self._files("series")
        scans = {f: _scan(f) for f in files}
        files.sort(key=lambda f: scans[f].runs[0] if scans[f].runs else ("", -1))
        runs = [r for f in files for r in scans[f].runs]
        if (not files or any(not s.schema.equals(scans[files[0]].schema) for s in scans.values())
                or any(a >= b for a, b in itertools.pairwise(runs))):
            _write_table(self._series(), path)
            return
        out = _RowGroups(scans[files[0]].schema)
        for f in files:
            out.copy(f)
        atomic_write_bytes(path, out.close())

    # ------------------------------------------------------------------ reading
    def _files(self, prefix: str) -> list[Path]:
        """The consolidated file (if any), then the parts of the finished batches by name (a
        batch's runs file is written last, so a series part without one is unfinished)."""
        whole = self.root / f"{prefix}.parquet"
        files = [whole] if whole.exists() else []
        if self.parts.exists():
            files += [f for f in sorted(self.parts.glob(f"{prefix}-*.parquet"))
                      if (self.parts / f"runs-{f.name.split('-', 1)[1]}").exists()]
        return files

    def _read(self, prefix: str) -> list[pa.Table]:
        """The tables of :meth:`_files`, read directly (``pq.read_table`` goes through
        pyarrow.dataset, whose import and thread pools cost a sweep's driver about 0.3 s)."""
        tables = []
        for f in self._files(prefix):
            with pq.ParquetFile(f) as pf:
                tables.append(pf.read())
        return tables

    def load_runs(self) -> pd.DataFrame:
        """Every stored run, one row per run key, sorted."""
        tables = self._read("runs")
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
        return pd.read_parquet(self.root / "variants.parquet")

    def manifest(self) -> dict:
        """The manifest."""
        return json.loads((self.root / "manifest.json").read_text())

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
    """Load a stored experiment: (runs, series, manifest) as pandas DataFrames and a dict."""
    s = Store(Path(path))
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


def _scan(path: Path) -> _Scan:
    """A series file's schema and runs, from its run key columns only."""
    runs: list[tuple[str, int]] = []
    with pq.ParquetFile(path) as pf:
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


def _write_table(table: pa.Table, path: Path) -> None:
    """Write an Arrow table as Parquet, atomically: the writer and settings (and the atomic
    write) of :func:`sim.results.write_parquet`, less the conversion from pandas."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically."""
    atomic_write_bytes(path, text.encode())
