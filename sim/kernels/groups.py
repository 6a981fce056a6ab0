"""Group index: the members of every group (cluster or pole) as a CSR structure."""

from __future__ import annotations

import numpy as np
from numba import njit


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
