"""Group index: the members of every group (cluster or pole) as a CSR structure."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.predicates import is_company


@njit(cache=True)
def build_csr(group_of, mask, n_groups):
    """Index actors by group with a counting sort, keeping index order inside a group.

    Parameters
    ----------
    group_of : ndarray(int, (n,))  group of each actor, -1 for none.
    mask : ndarray(bool, (n,))     actors to include.
    n_groups : int

    Returns
    -------
    ptr : ndarray(int64, (n_groups + 1,))  members of group g are ``idx[ptr[g]:ptr[g+1]]``.
    idx : ndarray(int32, (ptr[-1],))
    """
    n = group_of.shape[0]
    counts = np.zeros(n_groups + 1, np.int64)
    for i in range(n):
        g = group_of[i]
        if g >= 0 and mask[i]:
            counts[g + 1] += 1
    ptr = np.cumsum(counts)
    fill = ptr[:-1].copy()
    idx = np.empty(ptr[-1], np.int32)
    for i in range(n):
        g = group_of[i]
        if g >= 0 and mask[i]:
            idx[fill[g]] = i
            fill[g] += 1
    return ptr, idx


@njit(cache=True)
def member_index(group_of, atype, alive, n_groups):
    """Companies and other actors of every group, as two CSR structures, in two passes.

    Parameters
    ----------
    group_of : ndarray(int, (n,))   group of each actor (-1 none).
    atype : ndarray(int8, (n,))     actor type (companies: predicates.is_company).
    alive : ndarray(bool, (>= n,))
    n_groups : int

    Returns
    -------
    co_ptr, co_idx, nc_ptr, nc_idx : the living companies and the living other actors
        (universities, research and training centres) of each group, in index order.
    co_group : ndarray(int32, (len(co_idx),))
        The group of each entry of ``co_idx`` (written by the same pass, so that a caller that
        draws from the pool of all companies knows each one's group without another pass).
    """
    n = group_of.shape[0]
    co = np.zeros(n_groups + 1, np.int64)
    nc = np.zeros(n_groups + 1, np.int64)
    for i in range(n):
        g = group_of[i]
        if g >= 0 and alive[i]:
            if is_company(atype[i]):
                co[g + 1] += 1
            else:
                nc[g + 1] += 1
    for g in range(n_groups):
        co[g + 1] += co[g]
        nc[g + 1] += nc[g]
    co_fill = co[:-1].copy()
    nc_fill = nc[:-1].copy()
    co_idx = np.empty(co[n_groups], np.int32)
    co_group = np.empty(co[n_groups], np.int32)
    nc_idx = np.empty(nc[n_groups], np.int32)
    for i in range(n):
        g = group_of[i]
        if g >= 0 and alive[i]:
            if is_company(atype[i]):
                co_idx[co_fill[g]] = i
                co_group[co_fill[g]] = g
                co_fill[g] += 1
            else:
                nc_idx[nc_fill[g]] = i
                nc_fill[g] += 1
    return co, co_idx, nc, nc_idx, co_group
