"""Explicit per-run random stream for kernels: xoshiro256** over a ``uint64[4]`` state.

Kernels never touch Numba's global ``np.random``.  Each run owns one state array, seeded from the
run's :class:`numpy.random.SeedSequence` (:func:`new_state`); a kernel that draws takes the array
and advances it in place, so the stream is a pure function of (root seed, run key) whatever the
worker, the backend or the order of runs.

Reference: Blackman & Vigna, "Scrambled linear pseudorandom number generators" (2021),
xoshiro256** 1.0.  A pure-Python twin lives in ``tests/reference.py``.
"""

from __future__ import annotations

import math

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


def _ziggurat_tables(layers: int = 128, r: float = 3.442619855899,
                     v: float = 9.91256303526217e-3) -> tuple[np.ndarray, np.ndarray]:
    """Layer edges ``x`` (x[0] = the base strip's width, x[1] = r, x[layers] = 0) and the ratios
    ``x[i + 1] / x[i]`` of the 128-layer normal ziggurat (Marsaglia & Tsang 2000, in the form of
    Doornik 2005, "An improved ziggurat method to generate normal random samples")."""
    x = np.empty(layers + 1)
    f = math.exp(-0.5 * r * r)
    x[0] = v / f
    x[1] = r
    x[layers] = 0.0
    for i in range(2, layers):
        x[i] = math.sqrt(-2.0 * math.log(v / x[i - 1] + f))
        f = math.exp(-0.5 * x[i] * x[i])
    return x, x[1:] / x[:-1]


ZIG_R = 3.442619855899  # where the tail starts
ZIG_X, ZIG_RATIO = _ziggurat_tables()


@njit(cache=True, inline='always')
def normal(s):
    """Standard normal draw by the ziggurat method (exact: rejection sampling).

    One 64-bit output per draw in 98.8 % of the cases: its low 7 bits pick the layer, its top
    53 bits a uniform in (-1, 1); wedges and the tail (|z| > 3.44) take more draws (a fraction
    of Box-Muller's log, sqrt and cos per draw).  Inlined into its callers by Numba
    (``inline='always'``): called as a function, the state array's reference counting cost a
    measurable share of a draw (docs/performance.md).
    """
    while True:
        b = next_u64(s)
        i = int(b & uint64(127))
        u = 2.0 * (float(b >> uint64(11)) * _U53) - 1.0
        if abs(u) < ZIG_RATIO[i]:
            return u * ZIG_X[i]
        if i == 0:  # the tail beyond ZIG_R (Marsaglia 1964)
            while True:
                x = np.log(1.0 - uniform(s)) / ZIG_R
                y = np.log(1.0 - uniform(s))
                if -2.0 * y >= x * x:
                    break
            return x - ZIG_R if u < 0.0 else ZIG_R - x
        x = u * ZIG_X[i]
        f0 = np.exp(-0.5 * (ZIG_X[i] * ZIG_X[i] - x * x))
        f1 = np.exp(-0.5 * (ZIG_X[i + 1] * ZIG_X[i + 1] - x * x))
        if f1 + uniform(s) * (f0 - f1) < 1.0:
            return x


@njit(cache=True)
def shuffle(s, arr):
    """Fisher-Yates shuffle of a 1-D array in place."""
    for i in range(arr.shape[0] - 1, 0, -1):
        j = randbelow(s, i + 1)
        tmp = arr[i]
        arr[i] = arr[j]
        arr[j] = tmp


@njit(cache=True)
def bernoulli_count(s, trials, p):
    """Successes among ``trials`` independent Bernoulli(``p``) trials: an exact
    Binomial(trials, p) draw by geometric skipping (about ``trials * p + 1`` uniforms)."""
    if trials <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return trials
    log_q = np.log1p(-p)
    k = 0
    pos = -1
    while True:
        skip = np.log(1.0 - uniform(s)) / log_q  # failures before the next success
        if pos + 1 + skip >= trials:
            return k
        pos += 1 + int(skip)
        k += 1
