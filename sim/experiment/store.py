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
                         stored; the parts are then removed

``runs``: one row per run (variant, replication, seed, spawn_key, status, error,
wall_seconds).  ``series``: the tidy indicator rows of the successful runs (variant,
replication, seed, indicator, year, by, key, value).  A run key is (variant, replication).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.results import atomic_write_bytes, write_json, write_parquet

RUN_KEY = ["variant", "replication"]
SERIES_ORDER = ["variant", "replication", "indicator", "year", "by", "key"]


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

    def consolidate(self) -> None:
        """Merge every stored batch into runs.parquet and series.parquet, sorted by run key,
        then remove the parts.  Safe to repeat after a crash at any point."""
        runs, series = self.load_runs(), self.load_series()
        write_parquet(series, self.root / "series.parquet")
        write_parquet(runs, self.root / "runs.parquet")
        for f in sorted(self.parts.glob("*.parquet")) if self.parts.exists() else []:
            f.unlink()
        for f in self.parts.glob(".*.tmp") if self.parts.exists() else []:
            f.unlink()
        if self.parts.exists() and not any(self.parts.iterdir()):
            self.parts.rmdir()

    def drop_failed(self) -> None:
        """Forget the failed runs (to run them again); the successful ones stay."""
        runs = self.load_runs()
        if (runs["status"] == "ok").all():
            return
        series = self.load_series()
        write_parquet(series, self.root / "series.parquet")
        write_parquet(runs[runs["status"] == "ok"].reset_index(drop=True),
                      self.root / "runs.parquet")
        for f in sorted(self.parts.glob("*.parquet")) if self.parts.exists() else []:
            f.unlink()

    # ------------------------------------------------------------------ reading
    def _read(self, prefix: str) -> list[pd.DataFrame]:
        frames = []
        whole = self.root / f"{prefix}.parquet"
        if whole.exists():
            frames.append(pd.read_parquet(whole))
        if self.parts.exists():
            # only batches whose runs file exists are complete (it is written last)
            for f in sorted(self.parts.glob(f"{prefix}-*.parquet")):
                tag = f.name.split("-", 1)[1]
                if (self.parts / f"runs-{tag}").exists():
                    frames.append(pd.read_parquet(f))
        return frames

    def load_runs(self) -> pd.DataFrame:
        """Every stored run, one row per run key, sorted."""
        frames = self._read("runs")
        if not frames:
            return pd.DataFrame(columns=[*RUN_KEY, "seed", "spawn_key", "status", "error",
                                         "wall_seconds"])
        df = pd.concat(frames, ignore_index=True)
        df = df.drop_duplicates(subset=RUN_KEY, keep="first")
        return df.sort_values(RUN_KEY, kind="stable").reset_index(drop=True)

    def load_series(self) -> pd.DataFrame:
        """Every stored indicator row, ordered by run key (variant, replication), each run's
        rows in the order the model recorded them.  A run found in two files (a batch run
        twice) is taken from the first file only."""
        frames = self._read("series")
        if not frames:
            return pd.DataFrame(columns=[*SERIES_ORDER, "seed", "value"])
        # files in the order of their first run key: usually the rows are then already sorted
        frames.sort(key=lambda f: (f["variant"].iat[0], int(f["replication"].iat[0]))
                    if len(f) else ("", -1))
        part = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
        df = pd.concat(frames, ignore_index=True)
        if df.empty:
            return df
        names = sorted(set(df["variant"].unique()))
        codes = pd.Categorical(df["variant"], categories=names).codes.astype(np.int64)
        run = codes * (1 << 32) + df["replication"].to_numpy(np.int64)
        # a run stored twice (in two files) keeps the rows of its first file
        starts = np.flatnonzero(np.r_[True, (run[1:] != run[:-1]) | (part[1:] != part[:-1])])
        if len(np.unique(run[starts])) != len(starts):
            first = pd.Series(part).groupby(run).transform("min").to_numpy()
            keep = part == first
            df, run = df[keep].reset_index(drop=True), run[keep]
        if np.any(run[1:] < run[:-1]):
            df = df.iloc[run.argsort(kind="stable")].reset_index(drop=True)
        return df

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


def load_store(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Load a stored experiment: (runs, series, manifest) as pandas DataFrames and a dict."""
    s = Store(Path(path))
    return s.load_runs(), s.load_series(), s.manifest()


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically."""
    atomic_write_bytes(path, text.encode())
