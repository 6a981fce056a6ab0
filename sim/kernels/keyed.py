"""Counter-based ("keyed") random numbers: a draw is a pure function of (run key, process,
actor, quarter, draw index), so one firm's draws do not depend on which other firms are alive
or on how many draws another firm took (common random numbers at the firm level, issue 16).

Construction: the five inputs are absorbed one after the other (key, process, quarter,
actor, draw; the first three once per kernel call, :func:`keyed_prefix`) by a SplitMix64 finaliser
(Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators", the ``mix64``
variant of Stafford's Mix13), each input multiplied by its own odd constant first, the way
Random123's Philox and Threefry turn a (key, counter) pair into a block (Salmon et al. 2011,
"Parallel random numbers: as easy as 1, 2, 3").  Every step is a bijection of the 64-bit
state, so distinct counters under one key never collide before the final output.

* :func:`key_of` turns a run's ``uint64[4]`` xoshiro state (the run's ``economy`` stream,
  seeded from its SeedSequence) into the run's 64-bit key;
* :func:`keyed_u64`, :func:`keyed_uniform`, :func:`keyed_normal` give the draw at a counter.

The normal is the ziggurat of :func:`sim.kernels.rng.normal` (exact) fed by the counter's
draws 0, 1, 2, ... of the actor: one hash in 98.8 % of the cases, and a firm's normal depends
on its own counter only.  Pure-Python twins live in ``tests/reference.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from sim.kernels.rng import ZIG_R, ZIG_RATIO, ZIG_X

_U53 = 1.0 / 9007199254740992.0  # 2**-53
# odd multipliers of the five inputs (the golden ratio's and SplitMix64's constants)
_K_PROCESS = 0x9E3779B97F4A7C15
_K_ACTOR = 0xBF58476D1CE4E5B9
_K_QUARTER = 0x94D049BB133111EB
_K_DRAW = 0xD6E8FEB86659FD93

# process identifiers of the keyed draws (one per kind of draw; never reuse a number)
VA_SHOCK = 1      # the firm's quarterly demand shock (normal)
EXIT = 2          # exit (uniform)
EXPORT = 3        # export entry or exit (uniform)
INNOVATION = 4    # product/process innovation of a successful project (uniform)
PROMOTION_ACTION = 5  # who the export promotion reaches (uniform)


@njit(cache=True, inline="always")
def _mix(z):
    """SplitMix64's finaliser (a bijection of uint64)."""
    z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
    return z ^ (z >> uint64(31))


def key_of(state: np.ndarray) -> np.uint64:
    """The run's 64-bit key from a xoshiro256** state (``uint64[4]``), not advancing it: the
    four words absorbed in turn by the SplitMix64 finaliser."""
    h = 0
    for word in state:
        h = _mix_py(h ^ int(word))
    return np.uint64(h)


def _mix_py(z: int) -> int:
    """:func:`_mix` on a Python int."""
    mask = (1 << 64) - 1
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


@njit(cache=True, inline="always")
def keyed_prefix(key, process, quarter):
    """The state after absorbing (``key``, ``process``, ``quarter``): shared by every actor's
    draws of one process in one quarter, so a kernel computes it once per call."""
    h = _mix(uint64(key) ^ (uint64(process) * uint64(_K_PROCESS)))
    return _mix(h ^ (uint64(quarter) * uint64(_K_QUARTER)))


@njit(cache=True, inline="always")
def keyed_u64_at(prefix, actor, draw):
    """The 64-bit draw of ``actor``, ``draw`` under a :func:`keyed_prefix`."""
    h = _mix(prefix ^ (uint64(actor) * uint64(_K_ACTOR)))
    return _mix(h ^ (uint64(draw) * uint64(_K_DRAW)))


@njit(cache=True, inline="always")
def keyed_u64(key, process, actor, quarter, draw):
    """The 64-bit draw at counter (``process``, ``actor``, ``quarter``, ``draw``) of ``key``
    (absorbed in the order key, process, quarter, actor, draw)."""
    return keyed_u64_at(keyed_prefix(key, process, quarter), actor, draw)


@njit(cache=True, inline="always")
def keyed_uniform(key, process, actor, quarter, draw):
    """Uniform float64 in [0, 1) from the top 53 bits of :func:`keyed_u64`."""
    return float(keyed_u64(key, process, actor, quarter, draw) >> uint64(11)) * _U53


@njit(cache=True)
def _normal_tail(prefix, actor, b):
    """The ziggurat's rare branches (wedges and the tail, 1.2 % of the draws) for the draw whose
    first 64 bits are ``b``, taking further 64-bit draws 1, 2, ... of the same counter."""
    k = 1
    while True:
        i = int(b & uint64(127))
        u = 2.0 * (float(b >> uint64(11)) * _U53) - 1.0
        if abs(u) < ZIG_RATIO[i]:
            return u * ZIG_X[i]
        if i == 0:  # the tail beyond ZIG_R (Marsaglia 1964)
            while True:
                x = np.log(1.0 - float(keyed_u64_at(prefix, actor, k) >> uint64(11))
                           * _U53) / ZIG_R
                y = np.log(1.0 - float(keyed_u64_at(prefix, actor, k + 1) >> uint64(11))
                           * _U53)
                k += 2
                if -2.0 * y >= x * x:
                    break
            return x - ZIG_R if u < 0.0 else ZIG_R - x
        x = u * ZIG_X[i]
        f0 = np.exp(-0.5 * (ZIG_X[i] * ZIG_X[i] - x * x))
        f1 = np.exp(-0.5 * (ZIG_X[i + 1] * ZIG_X[i + 1] - x * x))
        v = float(keyed_u64_at(prefix, actor, k) >> uint64(11)) * _U53
        k += 1
        if f1 + v * (f0 - f1) < 1.0:
            return x
        b = keyed_u64_at(prefix, actor, k)
        k += 1


@njit(cache=True, inline="always")
def keyed_normal_at(prefix, actor):
    """Standard normal draw of ``actor`` under a :func:`keyed_prefix`, by the ziggurat of
    :func:`sim.kernels.rng.normal` (exact) on the counter's draws 0, 1, 2, ...: one hash in
    98.8 % of the cases (the layer and the uniform from its bits), more in the wedges and the
    tail."""
    b = keyed_u64_at(prefix, actor, 0)
    i = int(b & uint64(127))
    u = 2.0 * (float(b >> uint64(11)) * _U53) - 1.0
    if abs(u) < ZIG_RATIO[i]:
        return u * ZIG_X[i]
    return _normal_tail(prefix, actor, b)


@njit(cache=True, inline="always")
def keyed_normal(key, process, actor, quarter):
    """Standard normal draw of ``actor`` for (``key``, ``process``, ``quarter``)
    (:func:`keyed_normal_at`; it uses the counter's draw indices 0, 1, ...)."""
    return keyed_normal_at(keyed_prefix(key, process, quarter), actor)


@njit(cache=True)
def cohort_id(born, origin, sector, rank):
    """A company's identity in the keyed draws when it was not in the initial population:
    a hash of its birth step, origin, sector and rank among the companies of that birth step,
    origin and sector, in row order (non-negative int64, far above any row number with
    probability 1 - 2**-40).  Entrant k of sector s in quarter t so draws the same numbers in
    two runs whatever happened to the rows before it."""
    h = _mix(uint64(born + 1) * uint64(_K_QUARTER) ^ uint64(0x5851F42D4C957F2D))
    h = _mix(h ^ (uint64(origin) * uint64(_K_PROCESS)))
    h = _mix(h ^ (uint64(sector) * uint64(_K_ACTOR)))
    h = _mix(h ^ (uint64(rank) * uint64(_K_DRAW)))
    return np.int64(h >> uint64(1)) | np.int64(1 << 40)


@njit(cache=True)
def keyed_uniforms(key, process, actors, quarter, draw, out):
    """``out[k] = keyed_uniform(key, process, actors[k], quarter, draw)`` (tests, benchmarks)."""
    for k in range(actors.shape[0]):
        out[k] = keyed_uniform(key, process, actors[k], quarter, draw)


@njit(cache=True)
def keyed_normals(key, process, actors, quarter, out):
    """``out[k] = keyed_normal(key, process, actors[k], quarter)`` (tests, benchmarks)."""
    for k in range(actors.shape[0]):
        out[k] = keyed_normal(key, process, actors[k], quarter)
