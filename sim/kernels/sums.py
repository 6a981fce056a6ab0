"""Sums in a known order: NumPy's pairwise summation (so that a kernel's sum and
``ndarray.sum`` agree to the bit) and the companies' totals."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.predicates import is_company

PW_BLOCKSIZE = 128  # NumPy's pairwise-summation block (numpy/_core/src/umath/loops_utils.h.src)


# explicit signatures: one compiled version whatever the callers pass (a literal 0, an int16)
SUM_SIGNATURE = "float64(float64[::1], int64, int64)"


@njit(SUM_SIGNATURE, cache=True)
def _block_sum(a, lo, n):
    """NumPy's pairwise sum of a block of at most ``PW_BLOCKSIZE`` elements."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = lo + 8
    stop = lo + n - n % 8
    while i < stop:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < lo + n:
        res += a[i]
        i += 1
    return res


@njit(SUM_SIGNATURE, cache=True)
def pairwise_sum(a, lo, n):
    """Sum of ``a[lo:lo + n]`` (float64) in NumPy's pairwise order (``ndarray.sum``).

    Below 8 elements a plain loop; up to ``PW_BLOCKSIZE`` eight interleaved accumulators then the
    rest; above, the sum of the two halves (split on a multiple of 8), each summed the same way.
    The halving recursion runs on an explicit stack (Numba's cache does not handle recursion).
    """
    if n <= PW_BLOCKSIZE:
        return _block_sum(a, lo, n)
    s_lo = np.empty(64, np.int64)  # the halves being summed, outermost first
    s_n = np.empty(64, np.int64)
    s_right = np.zeros(64, np.bool_)  # whether the left half is done and the right one under way
    s_left = np.empty(64)  # the sum of the left half
    d = 0
    s_lo[0] = lo
    s_n[0] = n
    while True:
        while s_n[d] > PW_BLOCKSIZE:  # descend to the leftmost block
            n2 = s_n[d] // 2
            n2 -= n2 % 8
            s_right[d] = False
            s_lo[d + 1] = s_lo[d]
            s_n[d + 1] = n2
            d += 1
        res = _block_sum(a, s_lo[d], s_n[d])
        d -= 1
        while d >= 0 and s_right[d]:  # close the halves whose right part this completes
            res = s_left[d] + res
            d -= 1
        if d < 0:
            return res
        s_left[d] = res  # a left half is done: sum the right one
        s_right[d] = True
        n2 = s_n[d] // 2
        n2 -= n2 % 8
        s_lo[d + 1] = s_lo[d] + n2
        s_n[d + 1] = s_n[d] - n2
        d += 1


@njit(cache=True)
def company_totals(a, n):
    """Employment and value added summed over the living companies of rows ``< n``, in
    NumPy's order: ``employment[:n][comp].sum()`` and ``value_added[:n][comp].sum()`` with
    ``comp = alive[:n] & is_company(atype[:n])``."""
    alive, atype, employment, value_added = a.alive, a.atype, a.employment, a.value_added
    emp = np.empty(n)
    va = np.empty(n)
    k = 0
    for i in range(n):
        if alive[i] and is_company(atype[i]):
            emp[k] = employment[i]
            va[k] = value_added[i]
            k += 1
    return pairwise_sum(emp, 0, k), pairwise_sum(va, 0, k)


@njit(cache=True)
def company_sums(a, n):
    """Employment and value added of the living companies of rows ``< n``, summed in row
    order (the economy's mean productivity and the new firms' productivity level)."""
    alive, atype, employment, value_added = a.alive, a.atype, a.employment, a.value_added
    emp = 0.0
    va = 0.0
    for i in range(n):
        if alive[i] and is_company(atype[i]):
            emp += employment[i]
            va += value_added[i]
    return emp, va
