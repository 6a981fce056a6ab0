"""The shared run cache: a run already computed is never computed again.

A run is fixed by its resolved scenario (:func:`sim.loader.scenario_hash`), its root seed, its
replication and the model's fingerprint (:func:`sim.results.model_fingerprint`: the model's
code, NumPy's and Numba's versions).  Its tidy indicator rows, as ``ClusterModel.run`` returns
them, are kept under the SHA-256 of those four, so ``compare``, ``sweep``, ``sensitivity``,
``calibrate``, ``validate`` and ``evaluate`` (every command that runs through
:func:`sim.experiment.runner.run_batch`) read a run another command (or another variant of the
same command) has already computed, instead of running it again.  Results are byte-identical
with and without the cache: the rows are stored as Parquet and read back exactly.

Where: ``$CLUSTERSIM_CACHE`` if set, else ``$XDG_CACHE_HOME/clustersim``, else
``~/.cache/clustersim``.  ``CLUSTERSIM_NO_CACHE=1`` (or ``--no-cache``) turns it off.

Layout of ``<root>/``::

    runs/<kk>/<key>.parquet   the run's indicator rows (kk: the key's first two characters)
    runs/<kk>/<key>.json      its commit record: the key's parts, the Parquet file's SHA-256
                              and size, rows, model seconds, when it was written, and
                              the run's facts that ``clustersim run`` prints and writes
                              (evaluations, decisions; :func:`pack_facts`)
    quarantine/<time>/        entries found damaged, set aside (with REASONS.txt), never read
    .lock                     a filelock held while an entry is written, set aside or pruned

Integrity and concurrency.  An entry is written Parquet first, then its record, each through a
temporary file and a rename (no fsync: a file a crash cut short fails its checksum), under the
cache's lock: a reader never sees a partial file and an entry without its record does not
exist.  Every read
checks the Parquet bytes against the record's checksum: a missing, truncated or altered file
is a miss, the entry is set aside and the run is computed (and stored) again.  Any number of
processes read and write one cache; two that compute the same run write the same bytes.  The
cache never fails a run: when it cannot be written (read-only, full, lock held too long) the
run goes on uncached, with one warning.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.results import _UMASK

ENV = "CLUSTERSIM_CACHE"  # the cache folder
OFF_ENV = "CLUSTERSIM_NO_CACHE"  # "1": no cache
FORMAT = 1
LOCK_TIMEOUT = 30.0  # seconds a writer waits for the lock before it leaves a run uncached
_warned: set[str] = set()


def default_root() -> Path:
    """The cache folder: ``$CLUSTERSIM_CACHE``, ``$XDG_CACHE_HOME/clustersim`` or
    ``~/.cache/clustersim``."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clustersim"


def enabled() -> bool:
    """False when ``CLUSTERSIM_NO_CACHE`` is set to anything but ``""`` or ``0``."""
    return os.environ.get(OFF_ENV, "") in ("", "0")


def pack_facts(facts: dict[str, Any]) -> str:
    """A run's facts (:func:`sim.results.run_facts`: JSON values) as a record field: JSON,
    zlib-compressed, base64 (the decisions' reasons repeat: 9.7 kB of JSON become about 1.5 kB,
    beside a 12 kB Parquet file)."""
    import base64
    import zlib

    return base64.b64encode(zlib.compress(json.dumps(facts, sort_keys=True).encode(), 9)
                            ).decode("ascii")


def unpack_facts(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The facts a record holds (None: an entry written without them, or unreadable)."""
    import base64
    import binascii
    import zlib

    text = rec.get("facts")
    if not isinstance(text, str):
        return None
    try:
        facts = json.loads(zlib.decompress(base64.b64decode(text, validate=True)))
    except (ValueError, binascii.Error, zlib.error):
        return None
    return facts if isinstance(facts, dict) else None


def open_cache(cache: str | Path | bool | None = None) -> RunCache | None:
    """The run cache to read and write: ``None`` the default one (none when
    ``CLUSTERSIM_NO_CACHE`` is set), ``True`` the default one, ``False`` none, or a folder."""
    if cache is False or (cache is None and not enabled()):
        return None
    return RunCache.open(None if cache is None or cache is True else cache)


def run_key(scenario_hash: str, seed: int, replication: int, model: str) -> str:
    """The key of a run: SHA-256 of (resolved scenario hash, root seed, replication, model
    fingerprint), 32 hex digits."""
    blob = json.dumps({"format": FORMAT, "scenario": scenario_hash, "seed": int(seed),
                       "replication": int(replication), "model": model}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename (a reader never sees a partial file), without
    the store's fsync: an entry a crash cut short fails its checksum and is computed again, so
    the cache does not pay two disk flushes a run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # as any file this user writes (mkstemp gives 0600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _warn(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        print(f"warning: {text}", file=sys.stderr)


@dataclass
class Entry:
    """One cached run, as :meth:`RunCache.entries` lists it."""

    key: str
    record: dict[str, Any]
    bytes: int
    used: float  # last use (the record's modification time), seconds since the epoch


@dataclass
class RunCache:
    """The run cache in ``root`` (:func:`default_root` by default)."""

    root: Path
    hits: int = 0
    misses: int = 0

    @classmethod
    def open(cls, root: str | Path | None = None) -> RunCache:
        """The cache at ``root`` (default :func:`default_root`)."""
        return cls(Path(root).expanduser() if root is not None else default_root())

    # ------------------------------------------------------------------ paths and the lock
    def _files(self, key: str) -> tuple[Path, Path]:
        d = self.root / "runs" / key[:2]
        return d / f"{key}.parquet", d / f"{key}.json"

    @contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Hold the cache's lock (raises ``filelock.Timeout`` or ``OSError``)."""
        from filelock import FileLock

        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(self.root / ".lock", timeout=timeout):
            yield

    # ------------------------------------------------------------------ reading
    def get(self, key: str, expect: dict[str, Any] | None = None) -> bytes | None:
        """The Parquet bytes of run ``key``, or None (a miss).  A damaged entry (or one whose
        record disagrees with ``expect``) is set aside and is a miss."""
        got = self.get_entry(key, expect)
        return None if got is None else got[0]

    def get_entry(self, key: str, expect: dict[str, Any] | None = None
                  ) -> tuple[bytes, dict[str, Any]] | None:
        """The Parquet bytes of run ``key`` and its record, or None (a miss), as :meth:`get`."""
        pq_path, rec_path = self._files(key)
        try:
            rec_bytes = rec_path.read_bytes()
        except FileNotFoundError:
            self.misses += 1
            return None
        except OSError as exc:
            _warn(f"run cache {self.root}: cannot read {rec_path} ({exc.strerror}); running "
                  "without it")
            self.misses += 1
            return None
        reason = None
        data = b""
        try:
            rec = json.loads(rec_bytes)
            meta = rec["parquet"]
            if rec.get("format") != FORMAT or rec.get("key") != key:
                reason = "a record of another format or key"
            elif expect and any(rec.get(k) != v for k, v in expect.items()):
                reason = "a record of another run"
            else:
                data = pq_path.read_bytes()
                if len(data) != meta["bytes"] or hashlib.sha256(data).hexdigest() != \
                        meta["sha256"]:
                    reason = (f"the Parquet file does not match its checksum ({len(data)} "
                              f"bytes, recorded {meta['bytes']})")
        except FileNotFoundError:
            reason = "the Parquet file is missing"
        except (ValueError, KeyError, TypeError) as exc:
            reason = f"an unreadable record ({type(exc).__name__})"
        except OSError as exc:
            reason = f"unreadable ({exc.strerror})"
        if reason is not None:
            self._set_aside(key, reason)
            self.misses += 1
            return None
        try:
            os.utime(rec_path)  # last use, for prune --max-size / --older-than
        except OSError:
            pass  # a read-only cache is still read
        self.hits += 1
        return data, rec

    # ------------------------------------------------------------------ writing
    def put_many(self, entries: Iterable[tuple[str, bytes, dict[str, Any]]],
                 replace: bool = False) -> int:
        """Store runs (key, Parquet bytes, record fields); returns how many were written.
        An entry already stored is kept, unless ``replace`` (a record without the run's facts,
        that ``clustersim run`` completes: the Parquet bytes of one key are the same bytes).
        Never raises: a cache that cannot be written leaves the runs uncached, with a warning.
        """
        entries = list(entries)
        if not entries:
            return 0
        from filelock import Timeout

        written = 0
        now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        try:
            with self.lock():
                for key, data, fields in entries:
                    pq_path, rec_path = self._files(key)
                    if not replace and rec_path.exists() and pq_path.exists():
                        continue  # another process has stored the same run
                    rec = {**fields, "format": FORMAT, "key": key, "written": now,
                           "parquet": {"sha256": hashlib.sha256(data).hexdigest(),
                                       "bytes": len(data)}}
                    _write(pq_path, data)
                    _write(rec_path, (json.dumps(rec, sort_keys=True) + "\n").encode())
                    written += 1
        except Timeout:
            _warn(f"run cache {self.root}: its lock is held by another process for more than "
                  f"{LOCK_TIMEOUT:.0f} s; these runs are not cached")
        except OSError as exc:
            _warn(f"run cache {self.root}: cannot write ({exc.strerror or exc}); runs are not "
                  f"cached (set {ENV} to a writable folder, or --no-cache)")
        return written

    def _set_aside(self, key: str, reason: str) -> None:
        """Move an entry's files to ``quarantine/<time>/`` with the reason."""
        from filelock import Timeout

        try:
            with self.lock():
                stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
                q = self.root / "quarantine" / stamp
                moved = []
                for f in self._files(key):
                    if f.exists():
                        q.mkdir(parents=True, exist_ok=True)
                        os.replace(f, q / f.name)
                        moved.append(f.name)
                if moved:
                    with open(q / "REASONS.txt", "a") as fh:
                        fh.write(f"{key}: {reason}; set aside from runs/{key[:2]}/ "
                                 f"({', '.join(moved)}), the run is computed again\n")
                    _warn(f"run cache {self.root}: entry {key} is damaged ({reason}); set "
                          f"aside in {q} and computed again")
        except (Timeout, OSError):
            pass  # left in place: it stays a miss

    # ------------------------------------------------------------------ listing and pruning
    def entries(self) -> list[Entry]:
        """Every entry with a readable record (oldest use first)."""
        out = []
        for rec_path in (self.root / "runs").glob("*/*.json"):
            try:
                rec = json.loads(rec_path.read_bytes())
                st = rec_path.stat()
                size = st.st_size + rec_path.with_suffix(".parquet").stat().st_size
            except (OSError, ValueError):
                continue
            out.append(Entry(rec_path.stem, rec, size, st.st_mtime))
        return sorted(out, key=lambda e: (e.used, e.key))

    def size(self) -> int:
        """Bytes under ``root`` (entries, quarantine, orphans)."""
        return sum(f.stat().st_size for f in self.root.rglob("*") if f.is_file())

    def prune(self, older_than: float | None = None, max_size: int | None = None,
              other_models: str | None = None) -> tuple[int, int]:
        """Remove entries last used more than ``older_than`` seconds ago, entries of another
        model fingerprint than ``other_models`` (given: the current one), then the least
        recently used until the entries take at most ``max_size`` bytes; and the quarantine
        and orphaned files.  Returns (entries removed, bytes freed)."""
        removed = freed = 0
        now = time.time()
        with self.lock():
            entries = self.entries()
            keep = []
            for e in entries:
                old = older_than is not None and now - e.used > older_than
                stale = other_models is not None and e.record.get("model") != other_models
                (self._remove(e) if old or stale else keep.append(e))
                if old or stale:
                    removed, freed = removed + 1, freed + e.bytes
            total = sum(e.bytes for e in keep)
            for e in keep:  # oldest use first
                if max_size is None or total <= max_size:
                    break
                self._remove(e)
                total -= e.bytes
                removed, freed = removed + 1, freed + e.bytes
            # files no record names (a writer killed between its two renames) and the quarantine
            known = {e.key for e in keep}
            for f in (self.root / "runs").glob("*/*"):
                if f.stem not in known and f.suffix in (".parquet", ".json", ".tmp"):
                    if f.suffix == ".tmp" and now - f.stat().st_mtime < 3600:
                        continue  # perhaps a write in progress elsewhere (no lock on tmp)
                    freed += f.stat().st_size
                    f.unlink(missing_ok=True)
            q = self.root / "quarantine"
            if q.exists():
                freed += sum(f.stat().st_size for f in q.rglob("*") if f.is_file())
                shutil.rmtree(q, ignore_errors=True)
        return removed, freed

    def _remove(self, e: Entry) -> None:
        pq_path, rec_path = self._files(e.key)
        rec_path.unlink(missing_ok=True)  # the record first: no entry without its Parquet
        pq_path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------ parsing
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SIZES = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3,
          "gb": 1024**3, "t": 1024**4, "tb": 1024**4}


def parse_age(text: str) -> float:
    """``"30d"``, ``"12h"``, ``"90m"``, ``"2w"``, ``"45s"`` (a bare number: days) in seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text.lower())
    if m is None:
        raise ValueError(f"expected an age such as 30d, 12h, 90m or 2w (got {text!r})")
    return float(m.group(1)) * _UNITS[m.group(2) or "d"]


def parse_size(text: str) -> int:
    """``"500M"``, ``"2G"``, ``"800k"``, ``"1024"`` (bytes; powers of 1024) in bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?b?)\s*", text.lower())
    if m is None:
        raise ValueError(f"expected a size such as 500M, 2G or 800k (got {text!r})")
    return int(float(m.group(1)) * _SIZES[m.group(2)])


def human_size(n: float) -> str:
    """Bytes in B, KiB, MiB, GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover
