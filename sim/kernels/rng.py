"""Explicit per-run random stream for kernels: xoshiro256** over a ``uint64[4]`` state.

Kernels never touch Numba's global ``np.random``.  Each run owns one state array, seeded from the
run's :class:`numpy.random.SeedSequence` (:func:`new_state`); a kernel that draws takes the array
and advances it in place, so the stream is a pure function of (root seed, run key) whatever the
worker, the backend or the order of runs.  About 1 ns per draw (performance.md, section 2.4).

Reference: Blackman & Vigna, "Scrambled linear pseudorandom number generators" (2021),
xoshiro256** 1.0.  A pure-Python twin lives in ``tests/reference.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

_U53 = 1.0 / 9007199254740992.0  # 2**-53


def new_state(seed_seq: np.random.SeedSequence) -> np.ndarray:
    """A fresh xoshiro256** state (``uint64[4]``, never all zero) from a SeedSequence."""
    state = seed_seq.generate_state(4, np.uint64)
    if not state.any():  # pragma: no cover - probability 2**-256
        state[0] = 1
    return state


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(cache=True)
def next_u64(s):
    """Next 64-bit output; advances ``s`` (uint64[4]) in place."""
    result = _rotl(s[1] * uint64(5), 7) * uint64(9)
    t = s[1] << uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True)
def uniform(s):
    """Uniform float64 in [0, 1) from the top 53 bits."""
    return float(next_u64(s) >> uint64(11)) * _U53


@njit(cache=True)
def randbelow(s, n):
    """Uniform integer in [0, n) (n >= 1), by multiplying a 53-bit uniform."""
    return int(uniform(s) * n)


@njit(cache=True)
def normal(s):
    """Standard normal draw (Box-Muller, one value per two uniforms)."""
    u1 = uniform(s)
    u2 = uniform(s)
    return np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True)
def shuffle(s, arr):
    """Fisher-Yates shuffle of a 1-D array in place."""
    for i in range(arr.shape[0] - 1, 0, -1):
        j = randbelow(s, i + 1)
        tmp = arr[i]
        arr[i] = arr[j]
        arr[j] = tmp
