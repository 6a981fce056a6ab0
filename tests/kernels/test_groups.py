"""Group indexes (:mod:`sim.kernels.groups`): the counting sort against an argsort and the
twin, and the fused two-index pass against two single ones."""

from __future__ import annotations

import numpy as np
import pytest

from sim.kernels.groups import build_csr, member_index
from sim.state.codes import LARGE, SME
from tests import reference as ref

SEEDS = [0, 1, 2, 3, 7, 42, 2024, 99991]

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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_member_index_matches_two_build_csr_calls(seed):
    g = np.random.default_rng(seed)
    n, groups = 500, 7
    group_of = g.integers(-1, groups, n).astype(np.int16)
    atype = g.integers(0, 5, n).astype(np.int8)
    alive = g.random(n + 20) < 0.9  # longer than n, as the model's arrays are
    co_ptr, co_idx, nc_ptr, nc_idx, co_group = member_index(group_of, atype, alive, groups)
    comp = (atype == SME) | (atype == LARGE)
    want_co = build_csr(group_of, comp & alive[:n], groups)
    want_nc = build_csr(group_of, ~comp & alive[:n], groups)
    for got, want in zip((co_ptr, co_idx, nc_ptr, nc_idx), (*want_co, *want_nc), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(co_group, np.repeat(np.arange(groups), np.diff(co_ptr)))
    assert co_group.dtype == np.int32
