"""The identity check: every shipped scenario's indicators and final state, digested.

Runs every scenario of ``scenarios/`` (the scale studies at a small scale, seed 1 only) for
seeds 1-3 to the end and writes, per run, a SHA-256 of its whole indicator frame (columns,
dtypes, values and the order of the rows), one of each indicator's rows (in (year, by, key)
order), and one of each part of the final state: the
actors' arrays, the projects' slots and free list, the clusters', poles' and agreements'
arrays, the evaluations, the remaining budget and the final states of every random stream.

A refactoring that keeps the model must keep every digest; ``tests/test_identity.py`` compares
them with ``tests/data/identity.json``, which only a deliberate change of the model regenerates:

    python -m benchmarks.identity --write      # regenerate the reference (a change of results)
    python -m benchmarks.identity              # compare with it; exit status 1 on a difference
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "identity.json"
SEEDS = (1, 2, 3)
# scale studies: run once, at a small scale (their policy world is the baseline's)
SMALL_SCALE = {"scale_100k": 4.0, "scale_1m": 2.0}

# the final state, by part: (attribute of the model, fields of it)
ACTOR_FIELDS = ("alive", "atype", "sector", "province", "cluster", "pole", "employment",
                "value_added", "exporter", "capability", "taste", "knowledge", "stage", "load",
                "capacity", "born", "origin", "last_project", "innovations", "tie_partner",
                "tie_trust", "market_weight", "sales", "sales_per_fte", "wage", "quality",
                "efficiency", "pending_quality", "pending_efficiency", "foreign_partners",
                "exit_clock", "export_clock", "export_share", "export_spells", "draw_id")
PROJECT_FIELDS = ("active", "start", "end", "cluster", "pole", "call", "size", "members",
                  "match", "has_rd", "has_training", "foreign", "cross", "fund_rd",
                  "fund_training", "fund_investment")
CLUSTER_FIELDS = ("status", "status_step", "last_eval_step", "effort", "subsidy", "fee_sme",
                  "fee_large", "launched_recent", "pole")
POLE_FIELDS = ("status", "budget", "remaining", "export_spend")


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
        h.update(b"\0")
    return h.hexdigest()[:20]


def array_digest(x) -> str:
    """Digest of an array's dtype, shape and bytes."""
    x = np.ascontiguousarray(x)
    return _sha(str(x.dtype).encode(), str(x.shape).encode(), x.tobytes())


def frame_digests(df) -> dict[str, str]:
    """Digests of the tidy frame: its columns and dtypes, its rows in their order
    (``__frame__``), and each indicator's rows sorted by (year, by, key), so that a change of
    the order of the rows alone changes ``__frame__`` only.  A row's text is
    ``indicator|year|by|key``; a digest covers its rows' texts, one a line, and their values'
    bytes (the rows' texts are built once, column by column: building them row by row took
    four times a baseline run)."""
    out = {"__columns__": _sha(repr(list(df.columns)).encode(),
                               repr([str(t) for t in df.dtypes]).encode())}
    df = df.reset_index(drop=True)
    cols = [df["indicator"].astype(str), df["year"].astype(int).astype(str),
            df["by"].astype(str), df["key"].astype(str)]
    if any(c.isna().any() for c in cols):
        raise ValueError("the frame has missing indicator, year, by or key labels")
    text = (cols[0] + "|" + cols[1] + "|" + cols[2] + "|" + cols[3]).to_numpy(object)
    values = np.ascontiguousarray(df["value"].to_numpy(np.float64))

    def rows(idx) -> str:
        return _sha("\n".join(text[idx]).encode(), values[idx].tobytes())

    out["__frame__"] = rows(np.arange(len(df)))
    # stable: within an indicator, the rows sorted by (year, by, key), ties in frame order
    order = df.sort_values(["indicator", "year", "by", "key"], kind="stable").index.to_numpy()
    names = cols[0].to_numpy(object)[order]
    cuts = np.flatnonzero(names[1:] != names[:-1]) + 1
    for idx in np.split(order, cuts) if len(order) else []:
        out[cols[0].iat[idx[0]]] = rows(idx)
    return out


def state_digests(m) -> dict[str, str]:
    """Digest of each part of a finished model's state."""
    a, p, cl, po = m.actors, m.projects, m.clusters, m.poles
    n = a.n
    out = {"actors.n": str(n)}
    for f in ACTOR_FIELDS:
        out[f"actors.{f}"] = array_digest(getattr(a, f)[:n])
    for f in PROJECT_FIELDS:
        out[f"projects.{f}"] = array_digest(getattr(p, f))
    out["projects.free"] = array_digest(p.free[: p.n_free])
    for f in CLUSTER_FIELDS:
        out[f"clusters.{f}"] = array_digest(getattr(cl, f))
    for f in POLE_FIELDS:
        out[f"poles.{f}"] = array_digest(getattr(po, f))
    out["markets"] = array_digest(m.markets)
    ag = m.agreements
    out["agreements"] = _sha(json.dumps([list(map(int, ag.cluster)),
                                         list(map(int, ag.expiry))]).encode())
    out["evaluations"] = _sha(json.dumps([[int(y), str(c), int(k), float(v).hex(), bool(d)]
                                          for y, c, k, v, d in m.evaluations]).encode())
    for name, s in sorted(m.streams.items()):
        out[f"stream.{name}"] = array_digest(s)
    for name, g in sorted(m.gen.items()):
        out[f"gen.{name}"] = _sha(json.dumps(g.bit_generator.state, sort_keys=True,
                                             default=int).encode())
    return out


def runs() -> list[tuple[str, str, int, dict]]:
    """(label, scenario file, seed, overrides) of every run of the check."""
    out = []
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        name = path.stem
        if name in SMALL_SCALE:
            out.append((f"{name}@{SMALL_SCALE[name]:g}/seed1", str(path), 1,
                        {"run.scale": SMALL_SCALE[name]}))
            continue
        out += [(f"{name}/seed{s}", str(path), s, {}) for s in SEEDS]
    return out


def compute(known: dict | None = None) -> dict[str, dict[str, str]]:
    """The digests of every run, keyed by run label.  With ``known`` (a reference), only its
    runs, and each frame restricted to the reference's indicators (``--known-only``)."""
    from sim.loader import load_scenario
    from sim.model import ClusterModel

    result = {}
    for label, path, seed, overrides in runs():
        if known is not None and label not in known:
            continue
        m = ClusterModel(load_scenario(path, overrides=overrides), seed=seed, handles=False)
        df = m.run()
        if known is not None:
            names = set(known[label]["frame"]) - {"__columns__", "__frame__"}
            df = df[df["indicator"].astype(str).isin(names)].reset_index(drop=True)
        result[label] = {"frame": frame_digests(df), "state": state_digests(m)}
    return result


def differences(ref: dict, new: dict) -> list[str]:
    """Every run and digest that differs between two results (empty when identical)."""
    out = []
    for label in sorted(set(ref) | set(new)):
        if label not in ref or label not in new:
            out.append(f"{label}: only in {'the reference' if label in ref else 'this run'}")
            continue
        for part in ("frame", "state"):
            r, s = ref[label][part], new[label][part]
            for key in sorted(set(r) | set(s)):
                if r.get(key) != s.get(key):
                    out.append(f"{label} {part} {key}: {r.get(key)} != {s.get(key)}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="regenerate the reference")
    ap.add_argument("--reference", type=Path, default=REFERENCE)
    ap.add_argument("--known-only", action="store_true",
                    help="compare the reference's runs and indicators only (new scenarios and "
                         "new indicators left out): a model-neutral change that adds outputs")
    args = ap.parse_args(argv)
    known = json.loads(args.reference.read_text()) if args.known_only else None
    new = compute(known)
    if args.write:
        args.reference.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(new)} runs to {args.reference}")
        return 0
    diff = differences(json.loads(args.reference.read_text()), new)
    for line in diff[:50]:
        print(line)
    print(f"{len(new)} runs: " + ("identical to the reference" if not diff
                                  else f"{len(diff)} digest(s) differ"))
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
