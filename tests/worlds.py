"""Shared helpers of the kernel tests: random actor worlds in the model's dtypes, copies that
keep memory layouts, the comparison of a kernel with its pure-Python twin, and the views and
records the kernels take, built from the flat arguments the twins take.

The twins in ``tests/reference.py`` keep flat signatures (one argument per array or number);
a test writes its arguments as such a dict, and an adapter turns it into the kernel's call
(views, records) and back: arrays a view holds are the dict's own arrays, so what the kernel
writes shows in the dict; every column of a view that the dict does not hold is filled with
junk and must come back unchanged.
"""

from __future__ import annotations

import numpy as np

from sim.indicators.ledger import Ledger
from sim.kernels import rng as krng
from sim.state.actors import Actors
from sim.state.codes import POLE_ASSETS, SPINOFF_PARTNERSHIP, TIES
from sim.state.institutions import CLUSTER_FIELDS, _clusters_view
from sim.state.projects import Projects
from sim.world import SECTOR

MASK64 = (1 << 64) - 1


def copy_array(v: np.ndarray) -> np.ndarray:
    """A copy with the same memory layout: a strided view stays a strided view."""
    if v.flags.c_contiguous:
        return v.copy()
    base = np.zeros((*v.shape, 3), v.dtype)
    view = base[..., 1]
    view[...] = v
    return view


def copy_args(args: dict) -> dict:
    """A copy of an argument dict, every array copied."""
    return {k: (copy_array(v) if isinstance(v, np.ndarray) else v) for k, v in args.items()}


def rng_state(seed: int) -> np.ndarray:
    """A kernel stream as the model seeds it (``sim.kernels.rng.new_state``)."""
    return krng.new_state(np.random.SeedSequence(seed))


def assert_same_array(name: str, got: np.ndarray, want) -> None:
    """Integers and booleans bitwise; float64 within 1e-12 relative, float32 within 1e-6."""
    want_arr = np.asarray(want)
    assert got.shape == want_arr.shape, f"{name}: shape {got.shape} != {want_arr.shape}"
    if got.dtype.kind in "biu":
        want_int = np.asarray(want, dtype=object)
        # exact comparison on Python ints: no silent wrap-around of the reference values
        bad = [(ix, got[ix], want_int[ix]) for ix in np.ndindex(got.shape)
               if int(got[ix]) != int(want_int[ix])]
        assert not bad, f"{name}: {len(bad)} entries differ, first (index, kernel, ref): {bad[:5]}"
    elif got.dtype == np.float32:
        np.testing.assert_allclose(got, want_arr.astype(np.float64), rtol=1e-6, atol=1e-7,
                                   err_msg=name)
    else:
        np.testing.assert_allclose(got, want_arr.astype(np.float64), rtol=1e-12, atol=1e-300,
                                   err_msg=name)


def run_both(call, twin, args: dict):
    """Run the kernel (``call(args)``: an adapter that calls it on the dict's arrays) and its
    twin (``twin(*args.values())``) on copies of ``args``; compare everything: the return
    value, every array the twin reports written, the final stream (``rng``), and no change to
    any other array.  Returns (kernel's return, kernel's args, twin's outputs)."""
    original = copy_args(args)
    k_args = copy_args(args)
    r_args = copy_args(args)
    k_ret = call(k_args)
    r_out = twin(*r_args.values())
    for name, v in r_args.items():  # the twin must not touch its inputs (it works on lists)
        if isinstance(v, np.ndarray):
            assert np.array_equal(v, original[name]), f"reference modified {name}"
    if "return" in r_out:
        assert k_ret == r_out["return"], f"return value: kernel {k_ret}, ref {r_out['return']}"
    else:
        assert k_ret is None
    for name in ("rng", "entry_rng", "research_rng"):
        if name in r_out:
            assert [int(x) for x in k_args[name]] == r_out[name], f"final {name} differs"
    written = set(r_out) - {"return", "rng", "entry_rng", "research_rng"}
    for name in written:
        assert_same_array(name, k_args[name], r_out[name])
    for name, v in k_args.items():
        if isinstance(v, np.ndarray) and name not in written and not name.endswith("rng"):
            assert np.array_equal(v, original[name], equal_nan=v.dtype.kind == "f"), (
                f"kernel modified {name}, which it is not documented to write")
    return k_ret, k_args, r_out


# ---------------------------------------------------------------------------------------------
# views and records from flat arguments
# ---------------------------------------------------------------------------------------------


class TableOf:
    """A struct-of-arrays table (``table``: :class:`sim.state.actors.Actors` or
    :class:`sim.state.projects.Projects`) over the arrays of ``args`` (key ``prefix + column``,
    or ``rename[column]``); the other columns hold junk that :meth:`check` requires
    unchanged."""

    def __init__(self, table, args: dict, prefix: str = "",
                 rename: dict[str, str] | None = None) -> None:
        rename = rename or {}

        def key(name):
            return rename.get(name, prefix + name)

        rows = next(args[key(c.name)].shape[0] for c in table.COLUMNS if key(c.name) in args)
        if table is Actors:
            k = key("knowledge")
            self.table = Actors(rows, args[k].shape[1] if k in args else 3)
        else:
            k = key("members")
            self.table = table(rows, args[k].shape[1] if k in args else 4)
        self.junk = {}
        for col in table.COLUMNS:
            if key(col.name) in args:
                setattr(self.table, col.name, args[key(col.name)])
            else:
                junk = getattr(self.table, col.name)
                junk[...] = 3 if junk.dtype.kind in "iu" else 0.75
                self.junk[col.name] = junk.copy()
        if "free" in table.view_fields() and key("free") in args:
            self.table.free = args[key("free")]
        self.view = self.table.view

    def check(self) -> None:
        """The columns the arguments do not hold are unchanged."""
        for name, junk in self.junk.items():
            assert np.array_equal(getattr(self.table, name), junk), (
                f"kernel wrote {name}, which it was not given")


def actors_of(args: dict, rename: dict[str, str] | None = None) -> TableOf:
    """The actors' table over the arrays of ``args`` (see :class:`TableOf`)."""
    return TableOf(Actors, args, rename=rename)


def projects_of(args: dict, prefix: str = "p_") -> TableOf:
    """The projects' table over the arrays ``p_<column>`` of ``args``."""
    return TableOf(Projects, args, prefix=prefix)


def clusters_view(**arrays: np.ndarray):
    """A clusters' view with the given arrays (the others empty, of the clusters' size)."""
    n_c = len(next(iter(arrays.values())))
    filler = dict(active=np.zeros(n_c, np.bool_), status=np.zeros(n_c, np.int8),
                  status_step=np.full(n_c, -1, np.int64), launch_step=np.zeros(n_c, np.int64),
                  last_eval_step=np.zeros(n_c, np.int64), sectors=np.zeros((n_c, 1), np.bool_),
                  sector_clusters=np.full((1, 1), -1, np.int32), effort=np.zeros((n_c, 6)),
                  subsidy=np.zeros(n_c), fee_sme=np.zeros(n_c), fee_large=np.zeros(n_c),
                  launched_recent=np.zeros((n_c, 4), np.int64), pole=np.full(n_c, -1, np.int64))
    filler.update(arrays)
    return _clusters_view(*(filler[f] for f in CLUSTER_FIELDS))


def sector_table(**columns: np.ndarray) -> np.ndarray:
    """The sectors' structured array (:data:`sim.world.SECTOR`) with the given columns."""
    n_s = len(next(iter(columns.values())))
    out = np.zeros(n_s, SECTOR)
    for name, values in columns.items():
        out[name] = values
    return out


def record(**values) -> np.ndarray:
    """A one-element structured array of float64 (ints and bools keep their kind)."""
    kind = {bool: np.bool_, int: np.int64}
    dtype = np.dtype([(k, kind.get(type(v), np.float64)) for k, v in values.items()],
                     align=True)
    out = np.zeros(1, dtype)
    for k, v in values.items():
        out[0][k] = v
    return out


def ledger(n_clusters: int, n_poles: int = 1, n_calls: int = 1) -> Ledger:
    """An empty ledger of the given sizes."""
    return Ledger(n_clusters, n_poles, n_calls)


# ---------------------------------------------------------------------------------------------
# random worlds (the model's dtypes)
# ---------------------------------------------------------------------------------------------


def make_world(seed: int, n: int | None = None, n_clusters: int | None = None,
               n_sectors: int | None = None, dims: int | None = None) -> dict:
    """A random population of actors (over-allocated rows stay dead), in the model's dtypes."""
    g = np.random.default_rng(seed)
    n = int(g.integers(60, 301)) if n is None else n
    cap = n + int(g.integers(0, 24))  # over-allocated rows stay dead, as in the model
    C = int(g.integers(3, 9)) if n_clusters is None else n_clusters
    S = int(g.integers(3, 8)) if n_sectors is None else n_sectors
    D = int(g.integers(3, 7)) if dims is None else dims
    n_poles = int(g.integers(2, 5))

    alive = np.zeros(cap, np.bool_)
    alive[:n] = g.random(n) > 0.12
    atype = np.zeros(cap, np.int8)
    atype[:n] = g.choice(5, size=n, p=[0.58, 0.14, 0.09, 0.10, 0.09])
    sector = np.zeros(cap, np.int16)
    sector[:n] = g.integers(0, S, n)
    province = np.zeros(cap, np.int8)
    province[:n] = g.integers(0, 5, n)
    cluster = np.full(cap, -1, np.int16)
    member = alive[:n] & (g.random(n) < 0.65)
    cluster[:n][member] = g.integers(0, C, int(member.sum()))
    # a few dead rows still carry a cluster id: the kernels must skip them on ``alive``
    stale = np.flatnonzero(~alive[:n])[::4]
    cluster[stale] = g.integers(0, C, len(stale))
    pole = np.full(cap, -1, np.int16)
    in_pole = alive[:n] & (g.random(n) < 0.3)
    pole[:n][in_pole] = g.integers(0, n_poles, int(in_pole.sum()))
    employment = np.zeros(cap)
    employment[:n] = np.exp(g.normal(3.0, 1.0, n))
    employment[n:] = 1.0
    value_added = np.zeros(cap)
    value_added[:n] = employment[:n] * 60_000.0 * np.exp(g.normal(0.0, 0.5, n))
    exporter = np.zeros(cap, np.bool_)
    exporter[:n] = g.random(n) < 0.3
    capability = np.zeros(cap)
    capability[:n] = g.random(n)
    taste = np.zeros(cap, np.float32)
    taste[:n] = g.standard_normal(n)
    know = g.random((n, D)) * (g.random((n, D)) < 0.7)
    know[g.random(n) < 0.03] = 0.0  # a few empty profiles
    norm = np.linalg.norm(know, axis=1, keepdims=True)
    know = np.where(norm > 0, know / np.where(norm > 0, norm, 1.0), 0.0)
    # a few clones: identical profiles (s = 1, no horizontal complementarity)
    for k in range(0, n - 1, 17):
        know[k + 1] = know[k]
    knowledge = np.zeros((cap, D), np.float32)
    knowledge[:n] = know
    stage = np.zeros(cap, np.float32)
    stage[:n] = g.random(n)
    capacity = np.zeros(cap, np.int16)
    capacity[:n] = g.integers(1, 5, n)
    load = np.zeros(cap, np.int16)
    load[:n] = np.minimum(g.integers(0, 3, n), capacity[:n] + 1)
    last_project = np.full(cap, -1, np.int32)
    started = g.random(n) < 0.4
    last_project[:n][started] = g.integers(0, 20, int(started.sum()))
    innovations = np.zeros(cap, np.int32)
    innovations[:n] = g.integers(0, 4, n)
    tie_partner = np.full((cap, TIES), -1, np.int32)
    tie_trust = np.zeros((cap, TIES), np.float32)
    for i in range(n):
        k = int(g.integers(0, TIES + 1)) if g.random() < 0.8 else TIES
        if k == 0:
            continue
        partners = g.choice(n - 1, size=k, replace=False)
        partners[partners >= i] += 1  # never itself
        slots = np.sort(g.choice(TIES, size=k, replace=False))  # holes anywhere
        tie_partner[i, slots] = partners
        trust = np.round(g.random(k), 1) if g.random() < 0.3 else g.random(k)  # some ties equal
        tie_trust[i, slots] = np.maximum(trust, 0.05)
    return dict(
        n=n, cap=cap, C=C, S=S, D=D, n_poles=n_poles, g=g,
        alive=alive, atype=atype, sector=sector, province=province, cluster=cluster, pole=pole,
        employment=employment, value_added=value_added, exporter=exporter,
        capability=capability, taste=taste, knowledge=knowledge, stage=stage, load=load,
        capacity=capacity, last_project=last_project, innovations=innovations,
        tie_partner=tie_partner, tie_trust=tie_trust,
    )


def effort_matrix(g: np.random.Generator, C: int) -> np.ndarray:
    """Clusters' effort by task (C, 6)."""
    return g.random((C, 6)) * (g.random((C, 6)) < 0.8) * 1.5

# ---------------------------------------------------------------------------------------------
# new companies (sim.world and the demography)
# ---------------------------------------------------------------------------------------------

SME_COLUMNS = ("alive", "atype", "a_sector", "province", "employment", "value_added", "exporter",
               "capability", "taste", "knowledge", "stage", "a_capacity", "born", "a_origin")
# junk in the free rows, so that a column the kernel forgets to write (or writes past the new
# rows) shows up in the comparison with the twin
SME_JUNK = dict(alive=False, atype=3, a_sector=0, province=9, employment=7.0, value_added=1.0,
                exporter=True, capability=9.0, taste=9.0, knowledge=9.0, stage=9.0, a_capacity=9,
                born=99, a_origin=9)


def sme_columns(w: dict, free: int) -> dict:
    """The actor columns that the demography kernels write, with ``free`` junk rows added."""
    base = dict(alive=w["alive"], atype=w["atype"], a_sector=w["sector"],
                province=w["province"], employment=w["employment"],
                value_added=w["value_added"], exporter=w["exporter"],
                capability=w["capability"], taste=w["taste"], knowledge=w["knowledge"],
                stage=w["stage"], a_capacity=w["capacity"],
                born=np.full(w["cap"], -1, np.int32), a_origin=np.zeros(w["cap"], np.int8))
    out = {}
    for name in SME_COLUMNS:
        a = base[name]
        grown = np.full((w["cap"] + free, *a.shape[1:]), SME_JUNK[name], a.dtype)
        grown[: a.shape[0]] = a
        grown[w["n"]: a.shape[0]] = SME_JUNK[name]  # rows past n are free too
        out[name] = grown
    return out


def sme_tables(w: dict, prod_start: float | None = None) -> dict:
    """Parameters and tables of new companies, as ``ClusterModel`` builds them (the order of
    ``sim.world.NEW_FIRM``'s floats)."""
    g = w["g"]
    weights = g.uniform(0.2, 1.0, 5)
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    if prod_start is None:
        prod_start = float(g.uniform(30_000.0, 90_000.0))
    return dict(
        params=np.array([0.5, 12.0, 0.9, 60_000.0, 0.45, 0.35, prod_start]),
        centroids=g.gamma(0.7, size=(w["S"], w["D"])), cdf=cdf,
        export_share=g.uniform(0.05, 0.6, w["S"]),
        capacity=np.array([1, 3, 4, 4, 4], np.int16), step=17,
    )


def spawn_args(w: dict, k: int, spin_off: bool, prod_start: float | None = None) -> dict:
    g = w["g"]
    n = w["n"]
    sector = g.integers(0, w["S"], k).astype(np.int64)
    like = np.zeros(0, np.int64)
    if spin_off:
        living = np.flatnonzero(w["alive"][:n])
        like = g.choice(living, size=k).astype(np.int64)
        sector = w["sector"][like].astype(np.int64)
    t = sme_tables(w, prod_start)
    return dict(rng=rng_state(n + 7000 + k), n=n, sector=sector, like=like, has_like=spin_off,
                params=t["params"], centroids=t["centroids"], cdf=t["cdf"],
                export_share=t["export_share"], capacity=t["capacity"], step=t["step"],
                origin=SPINOFF_PARTNERSHIP if spin_off else POLE_ASSETS,
                **sme_columns(w, k + 3))


SME_RENAME = {"sector": "a_sector", "capacity": "a_capacity", "origin": "a_origin"}


def new_firms_of(args: dict):
    """The new companies' view (``sim.world.NewFirmsView``) from the flat arguments."""
    from sim.world import NEW_FIRM, _new_firms_view

    rec = np.zeros(1, NEW_FIRM.dtype)
    for name, value in zip(("spread", "sme_mean", "sme_sigma", "prod_mean", "prod_sd",
                            "cap_sigma", "prod_start"), args["params"], strict=True):
        rec[0][name] = value
    rec[0]["sme_capacity"] = args["capacity"][0]
    return _new_firms_view(rec, args["centroids"], args["cdf"], args["export_share"])

