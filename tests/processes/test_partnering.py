"""The partnering (:mod:`sim.processes.partnering`): the fused step (one compiled call) against
its parts called one by one, its probabilities against the documented formulas, and the
request for larger buffers before any draw."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.mesa_reference import KernelPartnering, make_world
from benchmarks.mesa_reference import cluster_probabilities as numpy_probabilities
from sim.kernels.consortia import Consortia, form_consortia
from sim.kernels.groups import member_index
from sim.kernels.rng import new_state
from sim.processes.partnering import cluster_partnering, cluster_probabilities
from sim.state.codes import LARGE, SME


@pytest.mark.parametrize("seed", [0, 1, 2, 7])
def test_cluster_partnering_equals_the_unfused_step(seed):
    """``cluster_partnering`` (one compiled call) = member index + per-cluster probabilities +
    ``form_consortia``, bit for bit; its probabilities = the documented formulas."""
    w = make_world(600, seed, initiate_rate=0.3, inactive=2)
    base = KernelPartnering(w, seed=0)
    probs = cluster_probabilities(base.rates, base.clusters, base.agreements)
    for name, want in zip(("rate", "discovery", "cross", "foreign"), numpy_probabilities(w),
                          strict=True):
        np.testing.assert_allclose(probs[name], want, rtol=1e-14, atol=0)
    runs = []
    for fused in (True, False):
        ker = KernelPartnering(w, seed=0)
        a = ker.actors
        state = new_state(np.random.SeedSequence(seed))
        buf = Consortia(w.n, w.params.max_consortium)
        work = np.zeros(6, np.int64)
        if fused:
            k = cluster_partnering(a.view, w.n, ker.clusters, ker.agreements, ker.sectors,
                                   ker.rates, ker.rule, 5, state, buf.view, work)
        else:
            co_ptr, co_idx, nc_ptr, nc_idx, _ = member_index(a.cluster, a.atype, a.alive,
                                                          w.n_clusters)
            pool_group = np.repeat(np.arange(w.n_clusters, dtype=np.int32), np.diff(co_ptr))
            index = (co_ptr, co_idx, nc_ptr, nc_idx, np.flatnonzero(w.active).astype(np.int32))
            k = form_consortia(co_idx, pool_group, index, probs, ker.sectors, a.view, a.cluster,
                               5, ker.rule, state, buf.view, work)
        runs.append((k, a.load.copy(), a.last_project.copy(), state, buf, work))
    (k1, load1, last1, s1, b1, w1), (k2, load2, last2, s2, b2, w2) = runs
    assert k1 == k2 > 0
    assert np.array_equal(load1, load2) and np.array_equal(last1, last2)
    assert np.array_equal(s1, s2) and np.array_equal(w1, w2)
    for name in ("members", "size", "match", "group", "foreign", "cross", "has_rd",
                 "has_training"):
        assert np.array_equal(getattr(b1, name)[:k1], getattr(b2, name)[:k2]), name
    # the work counters add up: members committed = sum of sizes; searched <= drawn;
    # matches <= tie slots read + random candidates drawn
    assert w1[5] == int(b1.size[:k1].sum())
    assert 0 < w1[1] <= w1[0] and w1[4] <= w1[2] + w1[3]


def test_cluster_partnering_asks_for_larger_buffers_before_drawing():
    """Too few buffer rows: the kernel returns minus the number of living member companies and
    leaves the random stream and the loads untouched; the caller grows the buffers."""
    w = make_world(300, 5, initiate_rate=0.5)
    ker = KernelPartnering(w, seed=0)
    a = ker.actors
    state = new_state(np.random.SeedSequence(9))
    before, load = state.copy(), a.load.copy()

    def call(rows):
        return cluster_partnering(a.view, w.n, ker.clusters, ker.agreements, ker.sectors,
                                  ker.rates, ker.rule, 1, state, Consortia(rows, 6).view)

    companies = int((np.isin(w.atype, (SME, LARGE)) & w.alive & (w.cluster >= 0)).sum())
    assert call(2) == -companies
    assert np.array_equal(state, before) and np.array_equal(a.load, load)
    assert call(companies) > 0
