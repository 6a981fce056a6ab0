"""The clusters' launch (:mod:`sim.processes.launch`): the founders' candidates against NumPy
masks, and the founders' draw against successive sampling."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy import stats

from sim.processes.launch import founder_candidates, weighted_sample
from sim.state.codes import LARGE, SME
from tests.worlds import actors_of


@pytest.mark.parametrize("seed", range(6))
def test_founder_candidates(seed):
    g = np.random.default_rng(seed)
    n, n_s = 300, 8
    alive = g.random(n + 20) < 0.9
    atype = g.integers(0, 5, n + 20).astype(np.int8)
    cluster = np.where(alive & (g.random(n + 20) < 0.4), g.integers(0, 5, n + 20), -1)
    sector = g.integers(0, n_s, n + 20).astype(np.int16)
    capability = g.random(n + 20) * 2
    in_sec = g.random(n_s) < 0.5
    a = actors_of(dict(alive=alive, atype=atype, cluster=cluster.astype(np.int16),
                       sector=sector, capability=capability))
    cand, weight = founder_candidates(a.view, n, in_sec)
    free = (alive[:n] & np.isin(atype[:n], (SME, LARGE)) & (cluster[:n] < 0)
            & in_sec[sector[:n]])
    want = np.flatnonzero(free)
    assert np.array_equal(cand, want)
    assert np.array_equal(weight, capability[want] * np.where(atype[want] == LARGE, 2.0, 1.0))


def test_weighted_sample_is_successive_sampling():
    """Declared test of the founders' draw (``launch.weighted_sample``): 2 of 4 items with
    weights 1, 2, 3, 4, 40,000 draws from ``default_rng(2026)``; the frequencies of the six
    pairs against their exact probabilities under successive sampling (``P{i, j} = w_i/W ·
    w_j/(W - w_i) + w_j/W · w_i/(W - w_j)``), chi-square, fails below a p-value of 1e-4.
    Deterministic; drawing in proportion to the weights with replacement, or uniformly, fails
    by far."""
    w = np.array([1.0, 2.0, 3.0, 4.0])
    items = np.arange(4) + 10
    rng = np.random.default_rng(2026)
    pairs = list(combinations(range(4), 2))
    counts = dict.fromkeys(pairs, 0)
    for _ in range(40_000):
        got = weighted_sample(rng, items, w, 2) - 10
        assert len(set(got.tolist())) == 2
        counts[tuple(sorted(got.tolist()))] += 1
    W = w.sum()
    want = [w[i] / W * w[j] / (W - w[i]) + w[j] / W * w[i] / (W - w[j]) for i, j in pairs]
    assert abs(sum(want) - 1.0) < 1e-12
    assert stats.chisquare([counts[p] for p in pairs], np.array(want) * 40_000).pvalue > 1e-4
    # everything when k is the number of items; weight 0 only after every positive weight
    assert sorted(weighted_sample(rng, items, w, 4).tolist()) == items.tolist()
    zero = np.array([0.0, 1.0, 0.0, 2.0])
    for _ in range(50):
        assert sorted(weighted_sample(rng, items, zero, 2).tolist()) == [11, 13]
