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

The normal is the inverse of the normal CDF applied to one uniform (Acklam's rational
approximation, relative error below 1.2e-9, refined by one Halley step is not needed at that
accuracy for a model's shocks): a single hash per draw, no rejection, so a draw index maps to
exactly one value.  Pure-Python twins live in ``tests/reference.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

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


# Acklam's coefficients (P. J. Acklam, "An algorithm for computing the inverse normal
# cumulative distribution function", 2003)
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
      1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
      6.680131188771972e+01, -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
      -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
      3.754408661907416e+00)
_P_LOW = 0.02425


@njit(cache=True, inline="always")
def inverse_normal_cdf(p):
    """The standard normal quantile of ``p`` in (0, 1) (Acklam 2003; |relative error| <
    1.15e-9)."""
    if p < _P_LOW:
        q = np.sqrt(-2.0 * np.log(p))
        return ((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
                / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))
    if p > 1.0 - _P_LOW:
        q = np.sqrt(-2.0 * np.log(1.0 - p))
        return -((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
                 / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))
    q = p - 0.5
    r = q * q
    return ((((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
            / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0))


@njit(cache=True, inline="always")
def normal_of(bits):
    """Standard normal from 64 random bits: the quantile of a uniform in (0, 1) (the top 53
    bits shifted by half a step, so never 0 or 1)."""
    return inverse_normal_cdf((float(bits >> uint64(11)) + 0.5) * _U53)


@njit(cache=True, inline="always")
def keyed_normal(key, process, actor, quarter, draw):
    """Standard normal draw at the counter (:func:`normal_of` of :func:`keyed_u64`)."""
    return normal_of(keyed_u64(key, process, actor, quarter, draw))


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
def keyed_normals(key, process, actors, quarter, draw, out):
    """``out[k] = keyed_normal(key, process, actors[k], quarter, draw)`` (tests, benchmarks)."""
    for k in range(actors.shape[0]):
        out[k] = keyed_normal(key, process, actors[k], quarter, draw)
