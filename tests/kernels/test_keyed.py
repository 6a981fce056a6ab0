"""The keyed (counter-based) draws (:mod:`sim.kernels.keyed`): the kernel against a plain
Python twin bit for bit, uniformity and independence by statistical tests with declared
seeds and tolerances, and the property they exist for: an actor's draws do not depend on
which other actors are drawn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.kernels import keyed as kk

MASK64 = (1 << 64) - 1
KEYS = [0, 1, 12345, 2**63 + 17, MASK64]


def mix_py(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def keyed_u64_py(key: int, process: int, actor: int, quarter: int, draw: int) -> int:
    """Twin of :func:`sim.kernels.keyed.keyed_u64` on Python ints."""
    h = mix_py(key ^ ((process * 0x9E3779B97F4A7C15) & MASK64))
    h = mix_py(h ^ ((quarter * 0x94D049BB133111EB) & MASK64))
    h = mix_py(h ^ ((actor * 0xBF58476D1CE4E5B9) & MASK64))
    return mix_py(h ^ ((draw * 0xD6E8FEB86659FD93) & MASK64))


@pytest.mark.parametrize("key", KEYS)
def test_keyed_u64_is_its_twin(key):
    for process, actor, quarter, draw in [(1, 0, 0, 0), (2, 5, 47, 0), (3, 99999, 3, 2),
                                          (4, 2**31 - 1, 1000, 7)]:
        want = keyed_u64_py(key, process, actor, quarter, draw)
        assert int(kk.keyed_u64(np.uint64(key), process, actor, quarter, draw)) == want
        u = kk.keyed_uniform(np.uint64(key), process, actor, quarter, draw)
        assert u == (want >> 11) * 2.0**-53


UNIFORM_SEEDS = [3, 20010101]


@pytest.mark.parametrize("seed", UNIFORM_SEEDS)
def test_uniformity_and_independence(seed):
    """200,000 uniforms over actors (one quarter) and 200,000 over quarters (one actor):
    Kolmogorov-Smirnov p > 0.001 each; lag-1 correlation along actors, along quarters and
    between processes within 4 standard errors of 0 (declared tolerance: 4 / sqrt(n))."""
    key = np.uint64(seed)
    n = 200_000
    actors = np.arange(n, dtype=np.int64)
    u_act = np.empty(n)
    kk.keyed_uniforms(key, kk.EXIT, actors, 17, 0, u_act)
    u_q = np.array([kk.keyed_uniform(key, kk.EXIT, 5, q, 0) for q in range(n)])
    u_other = np.empty(n)
    kk.keyed_uniforms(key, kk.EXPORT, actors, 17, 0, u_other)
    u_next = np.empty(n)
    kk.keyed_uniforms(key, kk.EXIT, actors, 18, 0, u_next)
    for u in (u_act, u_q, u_other):
        assert stats.kstest(u, "uniform").pvalue > 1e-3
        assert 0.0 <= u.min() and u.max() < 1.0
    tol = 4.0 / math.sqrt(n)
    for a, b in ((u_act[:-1], u_act[1:]), (u_q[:-1], u_q[1:]), (u_act, u_other),
                 (u_act, u_next)):
        assert abs(np.corrcoef(a, b)[0, 1]) < tol
    # joint uniformity of successive pairs: chi-square over a 16 x 16 grid, p > 0.001
    cells = (np.floor(u_act[:-1] * 16) * 16 + np.floor(u_act[1:] * 16)).astype(int)
    counts = np.bincount(cells, minlength=256)
    assert stats.chisquare(counts).pvalue > 1e-3


@pytest.mark.parametrize("seed", UNIFORM_SEEDS)
def test_normals(seed):
    """100,000 keyed normals (ziggurat on keyed bits): KS p > 0.001; mean within 4 se of 0;
    variance within 4 se of 1; the tail beyond 3.44 (the ziggurat's tail branch) holds its
    share within 4 se."""
    n = 100_000
    z = np.empty(n)
    kk.keyed_normals(np.uint64(seed), kk.VA_SHOCK, np.arange(n, dtype=np.int64), 9, z)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 4.0 / math.sqrt(n)
    assert abs(z.var() - 1.0) < 4.0 * math.sqrt(2.0 / n)
    tail = 2.0 * stats.norm.sf(3.442619855899)
    assert abs((np.abs(z) > 3.442619855899).mean() - tail) < 4.0 * math.sqrt(tail / n)


def test_an_actors_draws_do_not_depend_on_the_others():
    """Drawing for a subset of actors (some removed) gives each remaining actor the same draw
    as drawing for all of them; a different key gives other draws."""
    key = np.uint64(777)
    everyone = np.arange(1000, dtype=np.int64)
    some = everyone[(everyone % 7) != 3]
    full, part = np.empty(1000), np.empty(len(some))
    kk.keyed_normals(key, kk.VA_SHOCK, everyone, 4, full)
    kk.keyed_normals(key, kk.VA_SHOCK, some, 4, part)
    assert np.array_equal(full[some], part)
    other = np.empty(1000)
    kk.keyed_normals(np.uint64(778), kk.VA_SHOCK, everyone, 4, other)
    assert not np.any(other == full)


def test_key_of_is_a_pure_function_of_the_state():
    s = np.array([1, 2, 3, 4], np.uint64)
    before = s.copy()
    assert kk.key_of(s) == kk.key_of(s.copy())
    assert np.array_equal(s, before)
    assert kk.key_of(s) != kk.key_of(np.array([1, 2, 3, 5], np.uint64))
