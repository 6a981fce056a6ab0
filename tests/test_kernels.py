"""Each Numba kernel against its slow pure-Python twin in ``tests/reference.py``, draw for draw.

Worlds are small random actor populations built with NumPy Generators from fixed seeds, with the
model's real dtypes and the same call shapes as ``sim/processes.py`` and ``sim/policy.py``
(over-allocated actor rows, strided per-cluster effort columns, CSR group indexes).  Every test
runs the jitted kernel on one copy of the inputs and the twin on another, from the same
xoshiro256** state, and requires:

* identical return values and integer / bool outputs (bitwise),
* float64 outputs within 1e-12 relative, float32 outputs within 1e-6 relative,
* the same final generator state (same number of draws, same order),
* no change to any array the kernel is not documented to write.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.kernels import rng as krng
from sim.kernels.bookkeeping import fabric_census, store_projects
from sim.kernels.consortia import form_consortia, match_score
from sim.kernels.demography import bernoulli_count, demography_step, spawn_smes
from sim.kernels.economy import economy_step
from sim.kernels.groups import build_csr
from sim.kernels.membership import membership_step, utility
from sim.kernels.projects import complete_projects
from sim.kernels.ties import touch_tie, trust_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference as ref

TIES = 8  # sim.state.TIES
SEEDS = [0, 1, 2, 3, 7, 42, 2024, 99991]
MASK64 = (1 << 64) - 1

# ---------------------------------------------------------------------------------------------
# comparison helpers
# ---------------------------------------------------------------------------------------------


def copy_array(v: np.ndarray) -> np.ndarray:
    """A copy with the same memory layout: a strided view (a per-cluster column of the
    effort matrix, as the model passes it) stays a strided view."""
    if v.flags.c_contiguous:
        return v.copy()
    base = np.zeros((*v.shape, 3), v.dtype)
    view = base[..., 1]
    view[...] = v
    return view


def copy_args(args: dict) -> dict:
    return {k: (copy_array(v) if isinstance(v, np.ndarray) else v) for k, v in args.items()}


def rng_state(seed: int) -> np.ndarray:
    """A kernel stream as the model seeds it (``sim.kernels.rng.new_state``)."""
    return krng.new_state(np.random.SeedSequence(seed))


def assert_same_array(name: str, got: np.ndarray, want) -> None:
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


def run_both(kernel, twin, args: dict):
    """Run ``kernel`` and ``twin`` on copies of ``args``; compare everything; return both."""
    original = copy_args(args)
    k_args = copy_args(args)
    r_args = copy_args(args)
    k_ret = kernel(*k_args.values())
    r_out = twin(*r_args.values())
    # the twin must not have touched its inputs (it works on lists)
    for name, v in r_args.items():
        if isinstance(v, np.ndarray):
            assert np.array_equal(v, original[name]), f"reference modified {name}"
    if "return" in r_out:
        assert k_ret == r_out["return"], f"return value: kernel {k_ret}, ref {r_out['return']}"
    else:
        assert k_ret is None
    if "rng" in k_args:  # kernels with several streams name them; the twin returns them all
        assert [int(x) for x in k_args["rng"]] == r_out["rng"], "final rng state differs"
    written = set(r_out) - {"return", "rng"}
    for name in written:
        assert_same_array(name, k_args[name], r_out[name])
    for name, v in k_args.items():
        if isinstance(v, np.ndarray) and name not in written and name != "rng":
            assert np.array_equal(v, original[name], equal_nan=v.dtype.kind == "f"), (
                f"kernel modified {name}, which it is not documented to write")
    return k_ret, k_args, r_out


# ---------------------------------------------------------------------------------------------
# random worlds (real dtypes of sim.state.Actors / Projects)
# ---------------------------------------------------------------------------------------------


def make_world(seed: int, n: int | None = None, n_clusters: int | None = None,
               n_sectors: int | None = None, dims: int | None = None) -> dict:
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
    """Clusters' effort by task (C, 6); kernels get strided columns of it, as in the model."""
    return g.random((C, 6)) * (g.random((C, 6)) < 0.8) * 1.5


def out_buffers(rows: int, width: int) -> tuple[np.ndarray, ...]:
    """As ``ClusterModel.buffers``; filled with junk so that stale rows are compared too."""
    return (np.full((rows, width), -1, np.int32), np.full(rows, 99, np.int16),
            np.full(rows, -1.5, np.float32), np.full(rows, 77, np.int32),
            np.full(rows, 5, np.int8), np.zeros(rows, np.bool_), np.ones(rows, np.bool_),
            np.zeros(rows, np.bool_))


OUT_NAMES = ("out_members", "out_size", "out_match", "out_group", "out_foreign", "out_cross",
             "out_has_rd", "out_has_training")


# ---------------------------------------------------------------------------------------------
# rng: xoshiro256**
# ---------------------------------------------------------------------------------------------

PUBLISHED_1234 = [11520, 0, 1509978240, 1215971899390074240, 1216172134540287360,
                  607988272756665600, 16172922978634559625, 8476171486693032832,
                  10595114339597558777, 2904607092377533576]


def test_xoshiro_published_vector():
    """Reference and kernel both reproduce the published xoshiro256** outputs from {1,2,3,4}."""
    r = ref.Xoshiro([1, 2, 3, 4])
    assert [r.next_u64() for _ in range(10)] == PUBLISHED_1234
    s = np.array([1, 2, 3, 4], np.uint64)
    assert [int(krng.next_u64(s)) for _ in range(10)] == PUBLISHED_1234
    assert [int(x) for x in s] == r.state()


@pytest.mark.parametrize("seed", SEEDS)
def test_xoshiro_stream(seed):
    s = rng_state(seed)
    assert s.dtype == np.uint64 and s.shape == (4,) and s.any()
    r = ref.Xoshiro(s)
    first = [r.next_u64() for _ in range(8)]
    assert first == [int(krng.next_u64(s)) for _ in range(8)]
    for _ in range(300):
        a = krng.uniform(s)
        b = r.uniform()
        assert a == b and 0.0 <= a < 1.0
    for n in (1, 2, 3, 7, 10, 1000, 2**31 + 11, 2**53):
        for _ in range(20):
            a = krng.randbelow(s, n)
            assert a == r.randbelow(n) and 0 <= a < n
    for _ in range(200):
        a = krng.normal(s)
        b = r.normal()
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15)
    assert [int(x) for x in s] == r.state()


def _state_with_output(out: int) -> list[int]:
    """A state whose next output is ``out`` (solve rotl(s1 * 5, 7) * 9 = out for s1)."""
    x = (out * pow(9, -1, 1 << 64)) & MASK64
    y = ((x >> 7) | (x << 57)) & MASK64  # rotr 7
    s1 = (y * pow(5, -1, 1 << 64)) & MASK64
    return [0x9E3779B97F4A7C15, s1, 0, 1]


def test_xoshiro_uniform_extremes():
    """Outputs 0 and 2**64-1 map to 0.0 and 1 - 2**-53 (never 1.0); randbelow stays below n."""
    for out, u in ((0, 0.0), (MASK64, 1.0 - 2.0**-53), (1 << 11, 2.0**-53)):
        st_ = _state_with_output(out)
        assert ref.Xoshiro(st_).next_u64() == out
        s = np.array(st_, np.uint64)
        assert krng.uniform(s) == u == ref.Xoshiro(st_).uniform()
    top = _state_with_output(MASK64)
    for n in (1, 2, 3, 5, 1000, 2**40 + 3):
        assert krng.randbelow(np.array(top, np.uint64), n) == n - 1 == ref.Xoshiro(top).randbelow(n)
    # the largest output (layer 127, u near 1): the ziggurat stays finite
    s = np.array(top, np.uint64)
    r = ref.Xoshiro(top)
    a, b = krng.normal(s), r.normal()
    assert np.isfinite(a) and a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS[:4])
@pytest.mark.parametrize("length", [0, 1, 2, 5, 64, 301])
def test_shuffle(seed, length):
    s = rng_state(seed)
    r = ref.Xoshiro(s)
    arr = np.arange(length)  # int64, as form_consortia's order
    lst = list(range(length))
    krng.shuffle(s, arr)
    r.shuffle(lst)
    assert arr.tolist() == lst
    assert sorted(lst) == list(range(length))
    assert [int(x) for x in s] == r.state()
    assert ref.Xoshiro(rng_state(seed)).state() != r.state() or length <= 1


def test_uniform_moments():
    """A sanity check of the stream itself (not only kernel == twin)."""
    r = ref.Xoshiro(rng_state(5))
    u = np.array([r.uniform() for _ in range(20000)])
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1.0 / 12.0) < 0.005
    z = np.array([r.normal() for _ in range(20000)])
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.03


# ---------------------------------------------------------------------------------------------
# groups.build_csr
# ---------------------------------------------------------------------------------------------


def csr_by_argsort(group_of, mask, n_groups):
    sel = np.flatnonzero((group_of >= 0) & mask)
    order = sel[np.argsort(group_of[sel], kind="stable")]
    counts = np.bincount(group_of[sel].astype(np.int64), minlength=n_groups)
    return np.concatenate([[0], np.cumsum(counts)]), order


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_build_csr(seed, dtype):
    g = np.random.default_rng(seed)
    n = int(g.integers(0, 400)) if seed else 0
    n_groups = int(g.integers(1, 12))
    group_of = g.integers(-1, n_groups, n).astype(dtype)
    group_of[g.random(n) < 0.2] = -1
    mask = g.random(n) < 0.7
    if n_groups > 2:  # an empty group in the middle
        group_of[group_of == 1] = -1
    ptr, idx = build_csr(group_of, mask, n_groups)
    assert ptr.dtype == np.int64 and idx.dtype == np.int32
    want_ptr, want_idx = csr_by_argsort(group_of, mask, n_groups)
    assert ptr.tolist() == want_ptr.tolist()
    assert idx.tolist() == want_idx.tolist()
    twin = ref.build_csr(group_of, mask, n_groups)
    assert ptr.tolist() == twin["ptr"] and idx.tolist() == twin["idx"]


def test_build_csr_nothing_selected():
    group_of = np.array([0, 1, -1, 2], np.int16)
    ptr, idx = build_csr(group_of, np.zeros(4, np.bool_), 3)
    assert ptr.tolist() == [0, 0, 0, 0] and idx.shape == (0,)
    ptr, idx = build_csr(group_of, np.ones(4, np.bool_), 3)
    assert ptr.tolist() == [0, 1, 2, 3] and idx.tolist() == [0, 1, 3]


# ---------------------------------------------------------------------------------------------
# ties
# ---------------------------------------------------------------------------------------------


def tie_rows(partners, trusts):
    tp = np.array(partners, np.int32).reshape(1, -1)
    tt = np.array(trusts, np.float32).reshape(1, -1)
    return tp, tt


def check_touch(partners, trusts, j, delta, want_partners, want_trusts):
    tp, tt = tie_rows(partners, trusts)
    twin = ref.touch_tie(tp, tt, 0, j, delta)
    touch_tie(tp, tt, 0, j, delta)
    assert tp[0].tolist() == want_partners == twin["tie_partner"][0]
    np.testing.assert_array_equal(tt[0], np.array(want_trusts, np.float32))
    np.testing.assert_array_equal(tt[0], np.array(twin["tie_trust"][0], np.float32))


def f32(x):
    """Round a Python float to float32 (arithmetic stays in float64, as in the kernel)."""
    return float(np.float32(x))


def test_touch_tie_existing_partner():
    check_touch([4, 9, -1, 6], [0.5, 0.3, 0.0, 0.7], 9, 0.25,
                [4, 9, -1, 6], [0.5, f32(f32(0.3) + 0.25), 0.0, 0.7])
    # an existing partner after an empty slot is updated in its slot, not added again
    check_touch([-1, 3, -1, -1], [0.0, 0.4, 0.0, 0.0], 3, 0.1,
                [-1, 3, -1, -1], [0.0, f32(f32(0.4) + 0.1), 0.0, 0.0])


def test_touch_tie_clipping():
    check_touch([4, 9, -1, 6], [0.5, 0.95, 0.0, 0.7], 9, 0.2, [4, 9, -1, 6], [0.5, 1.0, 0.0, 0.7])
    check_touch([4, 9, -1, 6], [0.5, 0.05, 0.0, 0.7], 9, -0.2, [4, 9, -1, 6], [0.5, 0.0, 0.0, 0.7])
    # a new partner starts at min(1, delta)
    check_touch([4, -1, -1, 6], [0.5, 0.0, 0.0, 0.7], 2, 1.7, [4, 2, -1, 6], [0.5, 1.0, 0.0, 0.7])


def test_touch_tie_first_empty_slot():
    check_touch([4, -1, 7, -1], [0.5, 0.0, 0.1, 0.0], 2, 0.3, [4, 2, 7, -1], [0.5, 0.3, 0.1, 0.0])
    check_touch([-1, -1, -1, -1], [0.0] * 4, 5, 0.3, [5, -1, -1, -1], [0.3, 0.0, 0.0, 0.0])


def test_touch_tie_replaces_weakest():
    check_touch([1, 2, 3, 4], [0.5, 0.2, 0.9, 0.3], 8, 0.4, [1, 8, 3, 4], [0.5, 0.4, 0.9, 0.3])
    # the first one among equals
    check_touch([1, 2, 3, 4], [0.5, 0.2, 0.9, 0.2], 8, 0.4, [1, 8, 3, 4], [0.5, 0.4, 0.9, 0.2])
    check_touch([1, 2, 3, 4], [0.0, 0.0, 0.0, 0.0], 8, 0.4, [8, 2, 3, 4], [0.4, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("delta", [-0.3, 0.0])
def test_touch_tie_nonpositive_delta_unknown_partner_does_nothing(delta):
    check_touch([4, -1, 7, -1], [0.5, 0.0, 0.1, 0.0], 2, delta,
                [4, -1, 7, -1], [0.5, 0.0, 0.1, 0.0])
    check_touch([1, 2, 3, 4], [0.5, 0.2, 0.9, 0.3], 8, delta, [1, 2, 3, 4], [0.5, 0.2, 0.9, 0.3])


def test_touch_tie_other_rows_untouched():
    tp = np.array([[1, -1], [0, -1], [-1, -1]], np.int32)
    tt = np.array([[0.2, 0.0], [0.3, 0.0], [0.0, 0.0]], np.float32)
    touch_tie(tp, tt, 1, 2, 0.5)
    assert tp.tolist() == [[1, -1], [0, 2], [-1, -1]]
    np.testing.assert_array_equal(tt, np.array([[0.2, 0.0], [0.3, 0.5], [0.0, 0.0]], np.float32))


def test_trust_of():
    tp, tt = tie_rows([4, -1, 7, 2], [0.5, 0.0, 0.125, 0.75])
    for j, want in ((4, 0.5), (7, 0.125), (2, 0.75), (3, 0.0), (0, 0.0)):
        assert trust_of(tp, tt, 0, j) == want == ref.trust_of(tp, tt, 0, j)


@settings(max_examples=25, derandomize=True, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_ops=st.integers(1, 300))
def test_touch_tie_random_sequences(seed, n_ops):
    """Random touches on a small world match the twin, slot for slot."""
    g = np.random.default_rng(seed)
    n = 12
    tp = np.full((n, 4), -1, np.int32)
    tt = np.zeros((n, 4), np.float32)
    ops = [(int(g.integers(n)), int(g.integers(n)), float(g.choice([-0.3, -0.05, 0.0, 0.05,
                                                                    0.1, 0.4, 1.2])))
           for _ in range(n_ops)]
    tp_r, tt_r = tp.tolist(), tt.tolist()
    for i, j, delta in ops:
        touch_tie(tp, tt, i, j, delta)
        ref._touch_tie(tp_r, tt_r, i, j, delta)
    assert tp.tolist() == tp_r
    np.testing.assert_array_equal(tt, np.array(tt_r, np.float32))
    assert tt.min() >= 0.0 and tt.max() <= 1.0
    for row in tp:  # a partner is remembered at most once
        known = row[row >= 0]
        assert len(set(known.tolist())) == len(known)


# ---------------------------------------------------------------------------------------------
# consortia
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_match_score(seed):
    w = make_world(seed)
    g = w["g"]
    weights = (1.0, 0.8, 1.0, 0.3)
    for _ in range(200):
        i, j = (int(x) for x in g.integers(0, w["n"], 2))
        args = (i, j, w["atype"], w["province"], w["knowledge"], w["stage"], w["tie_partner"],
                w["tie_trust"], *weights)
        a, b = match_score(*args), ref.match_score(*args)
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15)
    # partners with a tie score their trust on top
    i = int(np.flatnonzero((w["tie_partner"][: w["n"]] >= 0).any(axis=1))[0])
    m = int(np.flatnonzero(w["tie_partner"][i] >= 0)[0])
    j = int(w["tie_partner"][i, m])
    with_t = match_score(i, j, w["atype"], w["province"], w["knowledge"], w["stage"],
                         w["tie_partner"], w["tie_trust"], 0.0, 0.0, 1.0, 0.0)
    assert with_t == pytest.approx(float(w["tie_trust"][i, m]), rel=1e-7)


def cluster_mode_args(w: dict, *, rows: int | None = None, max_size: int | None = None,
                      width: int | None = None, step: int = 17, stale_index: bool = False) -> dict:
    """``form_consortia`` as ``sim.processes.partnering`` calls it (groups = clusters).

    With ``stale_index`` the candidate indexes also list dead actors (the kernel must skip
    them); the initiators stay the living companies.
    """
    g = w["g"]
    n, C = w["n"], w["C"]
    comp = w["atype"][:n] <= 1
    alive = w["alive"][:n]
    co_ptr, co_idx = build_csr(w["cluster"][:n], comp & alive, C)
    nc_ptr, nc_idx = build_csr(w["cluster"][:n], ~comp & alive, C)
    pool = co_idx
    if stale_index:
        co_ptr, co_idx = build_csr(w["cluster"][:n], comp, C)
        nc_ptr, nc_idx = build_csr(w["cluster"][:n], ~comp, C)
    active = g.random(C) < 0.85
    active[int(g.integers(C))] = True
    effort = effort_matrix(g, C)
    rate = np.where(active, float(g.uniform(0.3, 0.9)) * (1.0 + effort[:, 3]), 0.0)
    discovery = 1.0 - (1.0 - 0.35) * np.exp(-1.5 * effort[:, 0])
    cross = np.minimum(1.0, float(g.uniform(0.1, 0.5)) * (1.0 + effort[:, 1]))
    foreign = np.minimum(1.0, float(g.uniform(0.03, 0.5)) * (1.0 + g.integers(0, 3, C)))
    max_size = int(g.integers(2, 9)) if max_size is None else max_size
    width = max_size + int(g.integers(0, 3)) if width is None else width
    rows = max(len(pool), 64) if rows is None else rows
    buf = out_buffers(rows, width)
    args = dict(
        pool=pool, pool_group=w["cluster"][pool].astype(np.int32), group_rate=rate,
        use_coop=True, sector_coop=g.uniform(0.3, 1.0, w["S"]),
        co_ptr=co_ptr, co_idx=co_idx, nc_ptr=nc_ptr, nc_idx=nc_idx,
        cross_groups=np.flatnonzero(active).astype(np.int32),
        discovery=discovery, cross_prob=cross, nc_prob=float(g.uniform(0.1, 0.35)),
        foreign_prob=foreign,
        alive=w["alive"], atype=w["atype"], sector=w["sector"], province=w["province"],
        load=w["load"], capacity=w["capacity"], knowledge=w["knowledge"], stage=w["stage"],
        group_of=w["cluster"], tie_partner=w["tie_partner"], tie_trust=w["tie_trust"],
        last_project=w["last_project"], step=step,
        n_candidates=int(g.integers(4, 14)), w_h=1.0, w_v=0.8, w_t=1.0, w_p=0.3,
        threshold=float(g.uniform(0.4, 1.3)), max_refusals=int(g.integers(0, 5)),
        max_size=max_size, grow_prob=0.65, require_mix=False, rng=rng_state(w["n"] + 1000),
    )
    args.update(zip(OUT_NAMES, buf, strict=True))
    return args


def pole_mode_args(w: dict, *, step: int = 23) -> dict:
    """``form_consortia`` as ``sim.policy.pole_call`` calls it (groups = poles)."""
    g = w["g"]
    n, S, n_p = w["n"], w["S"], w["n_poles"]
    sector_pole = g.integers(-1, n_p, S)
    selected = g.random(n_p) < 0.8
    selected[0] = True
    sector_pole[int(g.integers(S))] = 0
    group = np.where(w["alive"][:n], sector_pole[w["sector"][:n]], -1)
    group = np.where((group >= 0) & selected[np.maximum(group, 0)], group, -1).astype(np.int32)
    comp = w["atype"][:n] <= 1
    co_ptr, co_idx = build_csr(group, comp, n_p)
    nc_ptr, nc_idx = build_csr(group, ~comp, n_p)
    initiators = np.flatnonzero((group >= 0) & (w["atype"][:n] <= 3)).astype(np.int32)
    max_size = int(g.integers(3, 11))
    buf = out_buffers(max(len(initiators), 64), max_size)
    args = dict(
        pool=initiators, pool_group=group[initiators],
        group_rate=np.where(selected, float(g.uniform(0.3, 0.9)), 0.0), use_coop=False,
        sector_coop=g.uniform(0.3, 1.0, S),
        co_ptr=co_ptr, co_idx=co_idx, nc_ptr=nc_ptr, nc_idx=nc_idx,
        cross_groups=np.zeros(0, np.int32), discovery=np.ones(n_p), cross_prob=np.zeros(n_p),
        nc_prob=0.35, foreign_prob=np.full(n_p, 0.3),
        alive=w["alive"], atype=w["atype"], sector=w["sector"], province=w["province"],
        load=w["load"], capacity=w["capacity"], knowledge=w["knowledge"], stage=w["stage"],
        group_of=group, tie_partner=w["tie_partner"], tie_trust=w["tie_trust"],
        last_project=w["last_project"].copy(), step=step,
        n_candidates=10, w_h=1.0, w_v=0.8, w_t=1.0, w_p=0.3,
        threshold=float(g.uniform(0.4, 1.2)), max_refusals=int(g.integers(0, 5)),
        max_size=max_size, grow_prob=0.6, require_mix=True, rng=rng_state(w["n"] + 2000),
    )
    args.update(zip(OUT_NAMES, buf, strict=True))
    return args


def check_consortia_invariants(k: int, args: dict, before: dict) -> None:
    """What the rule promises about committed consortia, independently of the twin."""
    members, size = args["out_members"][:k], args["out_size"][:k]
    width = members.shape[1]
    joined = np.zeros_like(args["load"])
    for r in range(k):
        team = members[r, : size[r]]
        assert 2 <= size[r] <= min(args["max_size"], width)
        assert (members[r, size[r]:] == -1).all()
        assert len(set(team.tolist())) == size[r]
        assert args["alive"][team].all()
        assert args["out_group"][r] == args["group_of"][team[0]]
        kinds = args["atype"][team]
        assert args["out_has_rd"][r] == bool(((kinds == 2) | (kinds == 3)).any())
        assert args["out_has_training"][r] == bool((kinds == 4).any())
        assert args["out_cross"][r] == bool((args["group_of"][team] != args["out_group"][r]).any())
        if args["require_mix"]:
            assert (kinds <= 1).any() and (kinds >= 2).any()
        joined[team] += 1
    assert np.array_equal(args["load"], before["load"] + joined)
    assert (args["load"][joined > 0] <= args["capacity"][joined > 0]).all()
    stepped = joined > 0
    assert (args["last_project"][stepped] == args["step"]).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_form_consortia_cluster_mode(seed):
    args = cluster_mode_args(make_world(seed))
    before = copy_args(args)
    k, out, _ = run_both(form_consortia, ref.form_consortia, args)
    assert k > 0
    check_consortia_invariants(k, out, before)


@pytest.mark.parametrize("p_max", [0.03, 0.08, 0.124, 0.125, 0.5, 0.99])
def test_form_consortia_both_initiation_schemes(p_max):
    """Geometric skipping (the model's rates) and one draw per position (from
    DENSE_INITIATION on) match the twin draw for draw, on both sides of the switch."""
    from sim.kernels.consortia import DENSE_INITIATION

    args = cluster_mode_args(make_world(3))
    reach = float(args["group_rate"].max() * args["sector_coop"].max())
    args["group_rate"] = args["group_rate"] * (p_max / reach)
    assert (float(args["group_rate"].max() * args["sector_coop"].max()) >= DENSE_INITIATION) \
        == (p_max >= ref.DENSE_INITIATION)
    before = copy_args(args)
    k, out, _ = run_both(form_consortia, ref.form_consortia, args)
    assert k > 0
    check_consortia_invariants(k, out, before)


@pytest.mark.parametrize("seed", SEEDS)
def test_form_consortia_pole_mode(seed):
    args = pole_mode_args(make_world(seed))
    before = copy_args(args)
    k, out, _ = run_both(form_consortia, ref.form_consortia, args)
    check_consortia_invariants(k, out, before)


def test_form_consortia_exercises_the_branches():
    """Across the seeds, the compared runs include cross-group, foreign, R&D and training
    partners, grown consortia, and both modes produce consortia."""
    seen = dict(k=0, cross=0, foreign=0, rd=0, tr=0, big=0, pole_k=0)
    for seed in SEEDS:
        w = make_world(seed)
        a = cluster_mode_args(w)
        k = form_consortia(*a.values())
        seen["k"] += k
        seen["cross"] += int(a["out_cross"][:k].sum())
        seen["foreign"] += int(a["out_foreign"][:k].sum())
        seen["rd"] += int(a["out_has_rd"][:k].sum())
        seen["tr"] += int(a["out_has_training"][:k].sum())
        seen["big"] += int((a["out_size"][:k] > 2).sum())
        p = pole_mode_args(make_world(seed))
        seen["pole_k"] += form_consortia(*p.values())
    assert all(v > 0 for v in seen.values()), seen


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_form_consortia_stale_index(seed):
    """Dead actors in the candidate index are skipped without a discovery draw."""
    w = make_world(seed)
    assert (~w["alive"][: w["n"]] & (w["cluster"][: w["n"]] >= 0)).any()
    args = cluster_mode_args(w, stale_index=True)
    before = copy_args(args)
    k, out, _ = run_both(form_consortia, ref.form_consortia, args)
    check_consortia_invariants(k, out, before)


def test_form_consortia_buffer_full():
    """When the output buffer is full, the kernel stops (after the initiation draw)."""
    for seed in SEEDS[:4]:
        args = cluster_mode_args(make_world(seed), rows=2)
        k, _, _ = run_both(form_consortia, ref.form_consortia, args)
        assert k <= 2


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_form_consortia_width_caps_size(seed):
    """A buffer narrower than max_size caps the consortium (target <= width)."""
    args = cluster_mode_args(make_world(seed), max_size=8, width=3)
    k, out, _ = run_both(form_consortia, ref.form_consortia, args)
    assert (out["out_size"][:k] <= 3).all()


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_form_consortia_everyone_refuses(seed):
    args = cluster_mode_args(make_world(seed))
    args["threshold"] = 100.0
    k, out, _ = run_both(form_consortia, ref.form_consortia, args)
    assert k == 0
    assert np.array_equal(out["load"], args["load"])


def _refusals_allowed(max_refusals: int) -> int:
    """Refusals the kernel takes before it stops: one initiator (initiation probability 1, which
    costs no draw), eight remembered partners, all refusing, no random candidates; every refusal
    costs exactly one taste draw."""
    n = 9
    tp = np.full((n, TIES), -1, np.int32)
    tp[0] = np.arange(1, 9)
    tt = np.full((n, TIES), 0.5, np.float32)
    one = np.ones(1)
    buf = out_buffers(4, 2)
    state = rng_state(3)
    start = ref.Xoshiro(state)
    k = form_consortia(
        np.zeros(1, np.int32), np.zeros(1, np.int32), one, False, one,
        np.array([0, n], np.int64), np.arange(n, dtype=np.int32), np.array([0, 0], np.int64),
        np.zeros(0, np.int32), np.zeros(0, np.int32), one, np.zeros(1), 0.0, np.zeros(1),
        np.ones(n, np.bool_), np.zeros(n, np.int8), np.zeros(n, np.int16),
        np.zeros(n, np.int8), np.zeros(n, np.int16), np.ones(n, np.int16),
        np.full((n, 2), 0.5, np.float32), np.zeros(n, np.float32), np.zeros(n, np.int32),
        tp, tt, np.full(n, -1, np.int32), 0, 0, 1.0, 0.8, 1.0, 0.3, 100.0, max_refusals, 2, 0.0,
        False, state, *buf,
    )
    assert k == 0
    for draws in range(20):
        if start.state() == [int(x) for x in state]:
            return draws  # one draw per refusal
        start.next_u64()
    raise AssertionError("could not count the draws")


def test_form_consortia_stops_after_max_refusals():
    """As documented (Tomasello et al.'s R): the search stops once ``max_refusals`` candidates
    have refused.  (The first version took one refusal more.)"""
    assert [_refusals_allowed(m) for m in (1, 2, 4)] == [1, 2, 4]


@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(60, 300), n_clusters=st.integers(1, 8),
       dims=st.integers(1, 6), pole_mode=st.booleans())
def test_form_consortia_hypothesis(seed, n, n_clusters, dims, pole_mode):
    w = make_world(seed, n=n, n_clusters=n_clusters, dims=dims)
    args = pole_mode_args(w) if pole_mode else cluster_mode_args(w)
    before = copy_args(args)
    k, out, _ = run_both(form_consortia, ref.form_consortia, args)
    check_consortia_invariants(k, out, before)


# ---------------------------------------------------------------------------------------------
# membership
# ---------------------------------------------------------------------------------------------


def membership_args(w: dict, **over) -> dict:
    """``membership_step`` as ``sim.processes.membership`` calls it."""
    g = w["g"]
    n, C, S = w["n"], w["C"], w["S"]
    recruits = g.random((C, S)) < 0.35  # clusters' sectors
    recruits[np.arange(C), g.integers(0, S, C)] = True
    recruits[:, 0] = False  # sector 0: a single recruiting cluster (no draw of the cluster)
    recruits[0, 0] = True
    k = int(recruits.sum(axis=0).max())
    sector_clusters = np.full((S, k), -1, np.int32)
    for s in range(S):
        cs = np.flatnonzero(recruits[:, s])
        sector_clusters[s, : len(cs)] = cs
    active = g.random(C) < 0.8
    active[0] = True
    cluster = w["cluster"].copy()
    cluster[:n][~active[np.maximum(cluster[:n], 0)] & (cluster[:n] >= 0)] = -1
    members = np.bincount(cluster[:n][cluster[:n] >= 0], minlength=C).astype(np.int64)
    comp = (w["atype"][:n] <= 1) & w["alive"][:n]
    companies = np.bincount(cluster[:n][(cluster[:n] >= 0) & comp], minlength=C)
    per_sector = np.bincount(w["sector"][:n][comp], minlength=S)
    potential = recruits.astype(np.int64) @ per_sector
    effort = effort_matrix(g, C)
    fee_sme = np.where(active, g.uniform(0.0, 1500.0, C), 0.0)
    args = dict(
        n=n, alive=w["alive"], atype=w["atype"], sector=w["sector"], taste=w["taste"],
        cluster=cluster, sector_clusters=sector_clusters, cl_active=active,
        cl_recruit=effort[:, 2], cl_pull=companies / np.maximum(potential, 1),
        cl_activity=g.uniform(0.0, 1.5, C), cl_fee_sme=fee_sme, cl_fee_large=4.0 * fee_sme,
        cl_members=members, sector_coop=g.uniform(0.3, 1.0, S), sector_ki=g.uniform(0.2, 1.0, S),
        awareness_base=0.25, awareness_recruit=0.4, benefit_base=float(g.uniform(-1.0, 0.5)),
        benefit_knowledge=1.0, benefit_pull=1.0, benefit_activity=0.5, benefit_taste=0.7,
        cost_weight=0.4, noise=float(g.uniform(0.3, 1.5)), leave_rate=float(g.uniform(0.1, 0.5)),
        rd_join_rate=float(g.uniform(0.2, 0.9)), rng=rng_state(n + 3000),
        out_flows=g.integers(0, 3, (C, 2)).astype(np.int64),
    )
    args.update(over)
    return args


@pytest.mark.parametrize("seed", SEEDS)
def test_membership_step(seed):
    args = membership_args(make_world(seed))
    before = copy_args(args)
    _, out, _ = run_both(membership_step, ref.membership_step, args)
    flows = out["out_flows"] - before["out_flows"]
    assert np.array_equal(out["cl_members"] - before["cl_members"], flows[:, 0] - flows[:, 1])
    n = args["n"]
    changed = out["cluster"][:n] != before["cluster"][:n]
    assert int(changed.sum()) == int(flows.sum())
    # only living actors move; joins go to active clusters
    assert args["alive"][:n][changed].all()
    joined = changed & (out["cluster"][:n] >= 0)
    assert args["cl_active"][out["cluster"][:n][joined]].all()


def test_membership_step_exercises_the_branches():
    joins = leaves = rd_joins = 0
    for seed in SEEDS:
        args = membership_args(make_world(seed))
        before = copy_args(args)
        membership_step(*args.values())
        n = args["n"]
        flows = args["out_flows"] - before["out_flows"]
        joins += int(flows[:, 0].sum())
        leaves += int(flows[:, 1].sum())
        new = (before["cluster"][:n] < 0) & (args["cluster"][:n] >= 0)
        rd_joins += int((new & (args["atype"][:n] >= 2)).sum())
    assert joins > 0 and leaves > 0 and rd_joins > 0


def test_membership_step_extreme_utilities():
    """Utilities far beyond exp's range: the logistic saturates (no overflow in either)."""
    for seed in SEEDS[:3]:
        for base in (-1e6, 1e6):
            args = membership_args(make_world(seed), benefit_base=base, noise=0.01)
            run_both(membership_step, ref.membership_step, args)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_utility(seed):
    w = make_world(seed)
    a = membership_args(w)
    g = w["g"]
    for _ in range(100):
        i = int(g.integers(w["n"]))
        c = int(g.integers(w["C"]))
        args = (i, c, a["atype"], a["sector"], a["taste"], a["sector_coop"], a["sector_ki"],
                a["cl_pull"], a["cl_activity"], a["cl_fee_sme"], a["cl_fee_large"], 0.1, 1.0,
                1.0, 0.5, 0.7, 0.4)
        assert utility(*args) == pytest.approx(ref.utility(*args), rel=1e-12, abs=1e-15)


# ---------------------------------------------------------------------------------------------
# projects
# ---------------------------------------------------------------------------------------------


def projects_args(w: dict, *, step: int = 30, n_slots: int | None = None,
                  width: int | None = None, **over) -> dict:
    """``complete_projects`` as ``sim.processes.projects`` calls it."""
    g = w["g"]
    n, C = w["n"], w["C"]
    P = int(g.integers(20, 80)) if n_slots is None else n_slots
    W = int(g.integers(4, 11)) if width is None else width
    active = g.random(P) < 0.75
    end = np.where(g.random(P) < 0.55, step, step + g.integers(-2, 4, P)).astype(np.int32)
    members = np.full((P, W), -1, np.int32)
    size = np.zeros(P, np.int16)
    for p in np.flatnonzero(active):
        k = int(g.integers(2, W + 1))
        members[p, :k] = g.choice(n, size=k, replace=False)
        size[p] = k
    # an inactive slot that "ends" now must be ignored
    end[np.flatnonzero(~active)[:3]] = step
    atype = w["atype"]
    has_rd = np.array([bool(((atype[members[p, : size[p]]] == 2)
                             | (atype[members[p, : size[p]]] == 3)).any()) for p in range(P)])
    funded = g.random(P) < 0.35
    fund = np.where(funded[:, None] & (g.random((P, 3)) < 0.6), g.uniform(1e4, 1e6, (P, 3)), 0.0)
    p_cluster = np.where(g.random(P) < 0.7, g.integers(0, C, P), -1).astype(np.int16)
    effort = effort_matrix(g, C)
    # make some members' tie rows full so new partners replace the weakest
    for j in g.choice(n, size=n // 5, replace=False):
        empty = w["tie_partner"][j] < 0
        k = int(empty.sum())
        taken = set(w["tie_partner"][j].tolist()) | {int(j)}
        fresh = [x for x in g.permutation(n).tolist() if x not in taken][:k]
        w["tie_partner"][j, empty] = fresh
        w["tie_trust"][j, empty] = g.random(k).astype(np.float32)
    args = dict(
        step=step, p_active=active, p_end=end, p_members=members, p_size=size,
        p_match=g.uniform(0.0, 2.0, P).astype(np.float32), p_has_rd=has_rd,
        p_foreign=g.choice([0, 0, 0, 1, 2], P).astype(np.int8), p_cluster=p_cluster,
        p_fund_rd=fund[:, 0].copy(), p_fund_training=fund[:, 1].copy(),
        p_fund_investment=fund[:, 2].copy(),
        alive=w["alive"], atype=atype, load=w["load"], value_added=w["value_added"],
        exporter=w["exporter"], knowledge=w["knowledge"], capability=w["capability"],
        innovations=w["innovations"], tie_partner=w["tie_partner"], tie_trust=w["tie_trust"],
        cl_benchmark=effort[:, 4],
        success_base=float(g.uniform(-1.0, 0.5)), success_match=1.0, success_research=0.3,
        success_benchmark=0.5, success_funded=0.4, productivity_gain=0.02, training_gain=0.01,
        investment_gain=0.02, innovation_prob=0.35, export_gain=0.2, learning=0.15,
        spinoff_prob=0.15, spinoff_prob_research=0.5, trust_gain=0.1, trust_loss=0.05,
        rng=rng_state(n + 4000),
        out_done=np.full(P, -7, np.int32), out_success=np.zeros(P, np.bool_),
        out_spinoff=np.ones(P, np.bool_), out_innovations=np.full(P, -7, np.int64),
    )
    args.update(over)
    return args


def check_projects_invariants(k: int, args: dict, before: dict) -> None:
    step = args["step"]
    due = np.flatnonzero(before["p_active"] & (before["p_end"] == step))
    assert args["out_done"][:k].tolist() == due.tolist()
    load = before["load"].copy()
    for p in due:
        for j in before["p_members"][p, : before["p_size"][p]]:
            if load[j] > 0:
                load[j] -= 1
    assert np.array_equal(args["load"], load)
    assert (args["load"] >= 0).all()
    assert int(args["out_innovations"][:k].sum()) == int(
        (args["innovations"] - before["innovations"]).sum())
    assert not args["out_spinoff"][:k][~args["out_success"][:k]].any()
    norms = np.linalg.norm(args["knowledge"].astype(np.float64), axis=1)
    assert np.all((np.abs(norms - 1.0) < 1e-5) | (norms == 0.0))
    assert args["tie_trust"].min() >= 0.0 and args["tie_trust"].max() <= 1.0


@pytest.mark.parametrize("seed", SEEDS)
def test_complete_projects(seed):
    args = projects_args(make_world(seed))
    before = copy_args(args)
    k, out, _ = run_both(complete_projects, ref.complete_projects, args)
    assert k > 0
    check_projects_invariants(k, out, before)


def test_complete_projects_exercises_the_branches():
    """Across the seeds the compared runs include successes and failures, dead members, funded
    projects, foreign partners, innovations, new exporters and spin-offs of both kinds."""
    seen = dict(success=0, failure=0, dead=0, funded=0, foreign=0, innov=0, export=0,
                spin_rd=0, spin=0, tie_added=0)
    for seed in SEEDS:
        a = projects_args(make_world(seed))
        b = copy_args(a)
        k = complete_projects(*a.values())
        done, ok, spin = a["out_done"][:k], a["out_success"][:k], a["out_spinoff"][:k]
        seen["success"] += int(ok.sum())
        seen["failure"] += int((~ok).sum())
        for p in done:
            team = b["p_members"][p, : b["p_size"][p]]
            seen["dead"] += int((~b["alive"][team]).sum())
        seen["funded"] += int(((b["p_fund_rd"][done] > 0) | (b["p_fund_training"][done] > 0)
                               | (b["p_fund_investment"][done] > 0)).sum())
        seen["foreign"] += int((b["p_foreign"][done][ok] > 0).sum())
        seen["innov"] += int(a["out_innovations"][:k].sum())
        seen["export"] += int((a["exporter"] & ~b["exporter"]).sum())
        seen["spin_rd"] += int((spin & b["p_has_rd"][done]).sum())
        seen["spin"] += int((spin & ~b["p_has_rd"][done]).sum())
        seen["tie_added"] += int((a["tie_partner"] != b["tie_partner"]).sum())
    assert all(v > 0 for v in seen.values()), seen


def test_complete_projects_all_members_dead_and_nothing_due():
    for seed in SEEDS[:3]:
        w = make_world(seed)
        w["alive"][:] = False
        args = projects_args(w, success_base=3.0)
        before = copy_args(args)
        k, out, _ = run_both(complete_projects, ref.complete_projects, args)
        check_projects_invariants(k, out, before)
        assert np.array_equal(out["knowledge"], before["knowledge"])
        args = projects_args(make_world(seed))
        args["p_end"] = args["p_end"] + 100
        k, out, _ = run_both(complete_projects, ref.complete_projects, args)
        assert k == 0 and out["rng"].tolist() == args["rng"].tolist()


@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(60, 300), n_slots=st.integers(1, 120),
       width=st.integers(2, 12), dims=st.integers(1, 6),
       success_base=st.floats(-4.0, 4.0, allow_nan=False))
def test_complete_projects_hypothesis(seed, n, n_slots, width, dims, success_base):
    w = make_world(seed, n=n, dims=dims)
    args = projects_args(w, n_slots=n_slots, width=width, success_base=success_base)
    before = copy_args(args)
    k, out, _ = run_both(complete_projects, ref.complete_projects, args)
    check_projects_invariants(k, out, before)


# ---------------------------------------------------------------------------------------------
# economy
# ---------------------------------------------------------------------------------------------


def economy_args(w: dict, **over) -> dict:
    """``economy_step`` as ``sim.processes.economy`` calls it."""
    g = w["g"]
    effort = effort_matrix(g, w["C"])
    args = dict(
        n=w["n"], alive=w["alive"], atype=w["atype"], sector=w["sector"], cluster=w["cluster"],
        pole=w["pole"], employment=w["employment"], value_added=w["value_added"],
        exporter=w["exporter"], sector_growth=g.uniform(-0.01, 0.02, w["S"]),
        va_noise=0.05, elasticity=0.6, exit_rate=float(g.uniform(0.01, 0.1)),
        export_entry_rate=0.05, export_exit_rate=0.08, cl_promotion=effort[:, 5],
        promotion_effect=0.5, pole_export_spend=g.uniform(0.0, 2.0, w["n_poles"]),
        pole_export_effect=0.5, tie_trust=w["tie_trust"], trust_decay=0.02,
        rng=rng_state(w["n"] + 5000), out_counts=np.array([3, 1, 2], np.int64),
    )
    # rows beyond n hold junk trust: the kernel must leave them alone
    args["tie_trust"] = args["tie_trust"].copy()
    args["tie_trust"][w["n"]:] = 0.5
    args.update(over)
    return args


@pytest.mark.parametrize("seed", SEEDS)
def test_economy_step(seed):
    args = economy_args(make_world(seed))
    before = copy_args(args)
    _, out, _ = run_both(economy_step, ref.economy_step, args)
    counts = out["out_counts"] - before["out_counts"]
    exited = before["alive"] & ~out["alive"]
    assert int(exited.sum()) == counts[0]
    assert (out["cluster"][exited] == -1).all() and (out["pole"][exited] == -1).all()
    assert (args["atype"][exited] <= 1).all()
    assert int((out["exporter"] & ~before["exporter"]).sum()) == counts[1]
    assert int((~out["exporter"] & before["exporter"]).sum()) == counts[2]
    n = args["n"]
    untouched = ~before["alive"] | (args["atype"] > 1)
    assert np.array_equal(out["value_added"][untouched], before["value_added"][untouched])
    assert np.array_equal(out["tie_trust"][n:], before["tie_trust"][n:])


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_economy_step_census_equals_fabric_census(seed):
    """The census the economy step takes on request (for the demography) = fabric_census after
    the step, and asking for it changes nothing else (same arrays, same stream)."""
    from sim.kernels.bookkeeping import fabric_census

    args = economy_args(make_world(seed))
    plain = copy_args(args)
    economy_step(*plain.values())
    S = int(args["sector"].max()) + 1
    per_sector = np.full(S, 99, np.int64)
    research = np.empty(args["n"], np.int64)
    k = economy_step(*args.values(), per_sector, research)
    want_sector, want_research = fabric_census(args["n"], args["alive"], args["atype"],
                                               args["sector"], S)
    assert np.array_equal(per_sector, want_sector)
    assert np.array_equal(research[:k], want_research) and k == len(want_research) > 0
    for name, v in plain.items():
        if isinstance(v, np.ndarray):
            assert np.array_equal(v, args[name]), name


def test_economy_step_exercises_the_branches():
    totals = np.zeros(3, np.int64)
    for seed in SEEDS:
        a = economy_args(make_world(seed))
        start = a["out_counts"].copy()
        economy_step(*a.values())
        totals += a["out_counts"] - start
    assert (totals > 0).all(), totals


def test_economy_step_no_companies():
    """No living company: mean productivity falls back to 1 and only ties decay."""
    w = make_world(11)
    w["alive"][:] = False
    args = economy_args(w)
    run_both(economy_step, ref.economy_step, args)
    args = economy_args(make_world(12), exit_rate=1e3)  # hazard capped at 1: everyone exits
    _, out, _ = run_both(economy_step, ref.economy_step, args)
    comp = args["alive"] & (args["atype"] <= 1)
    assert not out["alive"][comp].any()


# ---------------------------------------------------------------------------------------------
# initiator draws and the fused member index
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rates", [(0.002, 0.01, 0.05), (0.02, 0.2, 0.6)])
def test_draw_initiators_are_independent_bernoulli_draws(rates):
    """Both schemes give each entry its own probability: geometric skipping with thinning
    (largest p below DENSE_INITIATION) and one draw per position (above).

    Declared: pool of 3,000 entries in 3 groups with rates 0.002, 0.01, 0.05 (p from 0.001 to
    0.08), or 0.02, 0.2, 0.6 (p from 0.01 to 0.96), sector cooperation 0.5 / 1 / 1.6, 400 calls
    from one stream (seed 99).  Pass: for every (group, sector) cell the count of draws is within
    4.5 binomial standard deviations of its expectation (18 cells; chance of a false alarm
    < 1e-4), and the number of draws per call has the variance of a sum of independent
    Bernoulli draws within 30% (the relative sd of a sample variance of 400 draws is about 7%,
    so 30% is 4 sd).
    """
    from sim.kernels.consortia import draw_initiators

    g = np.random.default_rng(5)
    n = 3000
    pool = np.arange(n, dtype=np.int32)
    group = g.integers(0, 3, n).astype(np.int32)
    sector = g.integers(0, 3, n).astype(np.int16)
    rate = np.array(rates)
    coop = np.array([0.5, 1.0, 1.6])
    p = rate[group] * coop[sector]
    state = rng_state(99)
    counts = np.zeros(n)
    per_call = []
    calls = 400
    for _ in range(calls):
        pos = draw_initiators(pool, group, rate, True, coop, sector, state)
        assert np.all(np.diff(pos) > 0)  # in pool order, no repeats
        counts[pos] += 1
        per_call.append(len(pos))
    for gi in range(3):
        for si in range(3):
            cell = (group == gi) & (sector == si)
            expected = calls * p[cell].sum()
            sd = np.sqrt(calls * (p[cell] * (1 - p[cell])).sum())
            assert abs(counts[cell].sum() - expected) < 4.5 * sd, (gi, si)
    var_expected = (p * (1 - p)).sum()
    assert abs(np.var(per_call, ddof=1) / var_expected - 1) < 0.30


def test_draw_initiators_edge_cases():
    from sim.kernels.consortia import draw_initiators

    pool = np.arange(10, dtype=np.int32)
    grp = np.zeros(10, np.int32)
    sec = np.zeros(10, np.int16)
    state = rng_state(1)
    before = state.copy()
    assert len(draw_initiators(pool, grp, np.zeros(1), True, np.ones(1), sec, state)) == 0
    np.testing.assert_array_equal(state, before)  # probability 0 draws nothing
    allp = draw_initiators(pool, grp, np.ones(1), False, np.ones(1), sec, state)
    np.testing.assert_array_equal(allp, np.arange(10))  # probability 1: everyone, no draw
    np.testing.assert_array_equal(state, before)
    over = draw_initiators(pool, grp, np.array([0.8]), True, np.array([2.0]), sec, state)
    np.testing.assert_array_equal(over, np.arange(10))  # rate x coop above 1 is certain
    empty = np.zeros(0, np.int32)
    assert len(draw_initiators(empty, empty, np.array([0.5]), False, np.ones(1),
                               np.zeros(0, np.int16), state)) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_member_index_matches_two_build_csr_calls(seed):
    from sim.kernels.groups import build_csr, member_index

    g = np.random.default_rng(seed)
    n, groups = 500, 7
    group_of = g.integers(-1, groups, n).astype(np.int16)
    atype = g.integers(0, 5, n).astype(np.int8)
    alive = g.random(n + 20) < 0.9  # longer than n, as the model's arrays are
    co_ptr, co_idx, nc_ptr, nc_idx, co_group = member_index(group_of, atype, alive, groups)
    comp = atype <= 1
    want_co = build_csr(group_of, comp & alive[:n], groups)
    want_nc = build_csr(group_of, ~comp & alive[:n], groups)
    for got, want in zip((co_ptr, co_idx, nc_ptr, nc_idx), (*want_co, *want_nc), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(co_group, np.repeat(np.arange(groups), np.diff(co_ptr)))
    assert co_group.dtype == np.int32



def test_ziggurat_normal_distribution():
    """The kernels' normal draws (ziggurat) are standard normal: Kolmogorov-Smirnov on 400,000
    draws of one declared stream, the tail beyond 3.44 (the ziggurat's own branch), and the
    wedges (|z| in the layers' outer parts) against their exact probabilities.  Seed 11,
    deterministic; alpha 0.001."""
    from numba import njit
    from scipy import stats

    @njit
    def draws(s, n):
        out = np.empty(n)
        for k in range(n):
            out[k] = krng.normal(s)
        return out

    z = draws(rng_state(11), 400_000)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    for lo in (2.0, krng.ZIG_R, 4.0):
        k = int((np.abs(z) > lo).sum())
        assert stats.binomtest(k, z.size, 2 * stats.norm.sf(lo)).pvalue > 1e-3, (lo, k)
    # symmetric, unit variance (chi-square bound at alpha 0.001 for n = 400,000: about 1 +- 0.0073)
    assert abs(z.mean()) < 3.3 / np.sqrt(z.size)
    assert abs(z.var() - 1.0) < 0.0075


# ---------------------------------------------------------------------------------------------
# demography: new companies
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
    """Parameters and tables of new companies, as ``ClusterModel`` builds them."""
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
                origin=2 if spin_off else 4, **sme_columns(w, k + 3))


@pytest.mark.parametrize("seed", SEEDS)
def test_spawn_smes(seed):
    w = make_world(seed)
    for k, spin_off, prod_start in ((1, False, None), (7, False, 0.0), (5, True, None),
                                    (0, True, None)):
        args = spawn_args(w, k, spin_off, prod_start)
        before = copy_args(args)
        _, out, _ = run_both(spawn_smes, ref.spawn_smes, args)
        n = args["n"]
        new = slice(n, n + k)
        assert out["alive"][new].all() and (out["atype"][new] == 0).all()
        assert ((out["employment"][new] >= 1.0) & (out["employment"][new] <= 249.0)).all()
        assert (out["born"][new] == 17).all() and (out["a_origin"][new] == args["origin"]).all()
        if spin_off:  # a spin-off keeps its parent's profile and province
            assert np.array_equal(out["knowledge"][new], out["knowledge"][args["like"]])
            assert np.array_equal(out["province"][new], out["province"][args["like"]])
        elif k:
            norms = np.linalg.norm(out["knowledge"][new].astype(np.float64), axis=1)
            np.testing.assert_allclose(norms, 1.0, rtol=1e-6)
        # nothing else moves: the rows before n and after the new ones
        for name in SME_COLUMNS:
            assert np.array_equal(out[name][:n], before[name][:n]), name
            assert np.array_equal(out[name][n + k:], before[name][n + k:]), name


def demography_args(w: dict, free: int, entry_rate: float = 0.04,
                    spinoff_rate: float = 0.15) -> dict:
    n = w["n"]
    per_sector, research = fabric_census(n, w["alive"], w["atype"], w["sector"], w["S"])
    t = sme_tables(w)
    return dict(n=n, cap=n + free, per_sector=per_sector, research=research,
                entry_rate=entry_rate, spinoff_rate=spinoff_rate,
                entry_rng=rng_state(n + 8000), research_rng=rng_state(n + 9000),
                params=t["params"], centroids=t["centroids"], cdf=t["cdf"],
                export_share=t["export_share"], capacity=t["capacity"], step=t["step"],
                origin_entry=1, origin_research=3, **sme_columns(w, free))


@pytest.mark.parametrize("seed", SEEDS)
def test_demography_step(seed):
    w = make_world(seed)
    args = demography_args(w, free=400)
    (entries, spinoffs), out, _ = run_both(demography_step, ref.demography_step, args)
    n = args["n"]
    new = slice(n, n + entries + spinoffs)
    assert (out["a_origin"][n: n + entries] == 1).all()
    assert (out["a_origin"][n + entries: n + entries + spinoffs] == 3).all()
    # entrants come in sector order; academic spin-offs copy a university or research centre
    assert (np.diff(out["a_sector"][n: n + entries]) >= 0).all()
    assert out["alive"][new].all() and not out["alive"][n + entries + spinoffs:].any()


def test_demography_step_exercises_both_origins():
    totals = np.zeros(2, np.int64)
    for seed in SEEDS:
        totals += demography_step(*demography_args(make_world(seed), free=400).values())
    assert (totals > 0).all(), totals


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_demography_step_too_few_rows_draws_nothing(seed):
    """Without enough free rows the kernel asks for more and leaves everything as it was (the
    streams too), so the call with grown arrays makes the very same draws."""
    w = make_world(seed)
    roomy = demography_args(w, free=400, entry_rate=0.3, spinoff_rate=0.5)
    want = demography_step(*copy_args(roomy).values())
    assert sum(want) > 1
    tight = demography_args(w, free=sum(want) - 1, entry_rate=0.3, spinoff_rate=0.5)
    before = copy_args(tight)
    got, out, _ = run_both(demography_step, ref.demography_step, tight)
    assert got == (-(tight["n"] + sum(want)), 0)
    for name, v in before.items():
        if isinstance(v, np.ndarray):
            assert np.array_equal(out[name], v), name
    regrown = demography_args(w, free=sum(want), entry_rate=0.3, spinoff_rate=0.5)
    assert demography_step(*regrown.values()) == want


BERNOULLI_CASES = [(1, 0.5), (10, 0.3), (200, 0.01), (1000, 0.002), (50, 0.9), (7, 0.0),
                   (7, 1.0), (0, 0.5)]


@pytest.mark.parametrize(("trials", "p"), BERNOULLI_CASES)
def test_bernoulli_count_twin(trials, p):
    s = rng_state(trials + 31)
    r = ref.Xoshiro(s)
    got = [bernoulli_count(s, trials, p) for _ in range(200)]
    want = [ref.bernoulli_count(r, trials, p) for _ in range(200)]
    assert got == want and [int(x) for x in s] == r.state()


@pytest.mark.parametrize(("trials", "p"), [(10, 0.3), (200, 0.01), (1000, 0.002), (50, 0.9),
                                           (3, 0.6)])
def test_bernoulli_count_is_binomial(trials, p):
    """Declared test: 20,000 draws (stream seeded with ``trials``) against Binomial(trials, p),
    chi-square with bins of expected count below 5 merged into their neighbours; fails below
    a p-value of 1e-4.  Deterministic (fixed seed), so not flaky; a wrong rule (say a skip off
    by one) fails by orders of magnitude."""
    from scipy import stats

    s = rng_state(1000 + trials)
    draws = np.array([bernoulli_count(s, trials, p) for _ in range(20_000)])
    pmf = stats.binom.pmf(np.arange(trials + 1), trials, p)
    observed = np.bincount(draws, minlength=trials + 1).astype(float)
    expected = pmf * len(draws)
    obs_bins, exp_bins, o, e = [], [], 0.0, 0.0
    for k in range(trials + 1):
        o += observed[k]
        e += expected[k]
        if e >= 5.0:
            obs_bins.append(o)
            exp_bins.append(e)
            o = e = 0.0
    obs_bins[-1] += o
    exp_bins[-1] += e
    exp_bins = np.array(exp_bins) * (sum(obs_bins) / sum(exp_bins))
    assert len(obs_bins) >= 2
    assert stats.chisquare(obs_bins, exp_bins).pvalue > 1e-4


def test_store_projects_durations():
    """Each project's duration is uniform in duration_min .. duration_max, one draw per project
    in row order (the stream advances by exactly that)."""
    k, width, cap = 4_000, 6, 4_100
    slots = np.arange(k, dtype=np.int64)
    bufs = (np.zeros(k, np.int16), np.zeros(k, np.int16), 0,
            np.zeros((k, width), np.int32), np.full(k, 2, np.int8), np.zeros(k),
            np.zeros(k, np.int8), np.zeros(k, np.bool_), np.zeros(k, np.bool_),
            np.zeros(k, np.bool_))
    proj = (np.zeros(cap, np.bool_), np.zeros(cap, np.int32), np.zeros(cap, np.int32),
            np.zeros(cap, np.int16), np.zeros(cap, np.int16), np.zeros(cap, np.int16),
            np.zeros(cap, np.int8), np.zeros((cap, 8), np.int32), np.zeros(cap),
            np.zeros(cap, np.bool_), np.zeros(cap, np.bool_), np.zeros(cap, np.int8),
            np.zeros(cap, np.bool_), np.zeros(cap), np.zeros(cap), np.zeros(cap))
    s = rng_state(5)
    r = ref.Xoshiro(s)
    store_projects(slots, 10, 4, 12, s, *bufs, *proj)
    duration = proj[2][:k] - proj[1][:k]
    assert duration.tolist() == [4 + r.randbelow(9) for _ in range(k)]
    assert [int(x) for x in s] == r.state()
    counts = np.bincount(duration, minlength=13)[4:]
    assert counts.min() > 0.8 * k / 9 and counts.max() < 1.2 * k / 9
    assert (proj[7][:k, width:] == -1).all() and proj[0][:k].all()
