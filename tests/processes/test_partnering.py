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
from sim.processes.partnering import cluster_partnering, cluster_probabilities, partner_groups
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
        np.testing.assert_allclose(probs[name][:-1], want, rtol=1e-14, atol=0)
    # the outside group (the last row): the base rates, no animator, no cross-cluster search
    p = w.params
    assert probs[-1]["rate"] == p.outside_rate * p.initiate_rate
    assert probs[-1]["discovery"] == p.discovery_base and probs[-1]["cross"] == 0.0
    runs = []
    for fused in (True, False):
        ker = KernelPartnering(w, seed=0)
        a = ker.actors
        state = new_state(np.random.SeedSequence(seed))
        buf = Consortia(w.n, w.params.max_consortium)
        work = np.zeros(6, np.int64)
        if fused:
            k, _ = cluster_partnering(a.view, w.n, ker.clusters, ker.agreements, ker.sectors,
                                      ker.rates, ker.rule, 5, state, buf.view, work)
        else:
            group = np.where(w.active[np.maximum(a.cluster[:w.n], 0)] & (a.cluster[:w.n] >= 0),
                             a.cluster[:w.n], w.n_clusters).astype(np.int16)
            assert np.array_equal(group, partner_groups(a.cluster, w.active, w.n))
            co_ptr, co_idx, nc_ptr, nc_idx, _ = member_index(group, a.atype, a.alive,
                                                          w.n_clusters + 1)
            pool_group = np.repeat(np.arange(w.n_clusters + 1, dtype=np.int32),
                                   np.diff(co_ptr))
            index = (co_ptr, co_idx, nc_ptr, nc_idx, np.flatnonzero(w.active).astype(np.int32))
            k = form_consortia(co_idx, pool_group, index, probs, ker.sectors, a.view, group,
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
    """Too few buffer rows: the kernel returns minus the number of this quarter's initiators
    and leaves the random stream and the loads untouched; the caller grows the buffers and
    the call with enough rows draws the same initiators (its consortia never outnumber
    them)."""
    w = make_world(300, 5, initiate_rate=0.5)
    ker = KernelPartnering(w, seed=0)
    a = ker.actors
    state = new_state(np.random.SeedSequence(9))
    before, load = state.copy(), a.load.copy()

    def call(rows):
        return cluster_partnering(a.view, w.n, ker.clusters, ker.agreements, ker.sectors,
                                  ker.rates, ker.rule, 1, state, Consortia(rows, 6).view)[0]

    companies = int((np.isin(w.atype, (SME, LARGE)) & w.alive).sum())
    need = -call(2)
    assert 2 < need <= companies
    assert np.array_equal(state, before) and np.array_equal(a.load, load)
    assert call(need - 1) == -need and np.array_equal(state, before)
    assert 0 < call(need) <= need


def test_companies_outside_clusters_partner_among_themselves():
    """Cooperation without the policy: with every cluster inactive, companies still form
    consortia (the outside group), none of them a cluster's; with the outside rate at zero
    and every cluster inactive, none form."""
    from dataclasses import replace

    from benchmarks.mesa_reference import World

    w = make_world(400, 3, initiate_rate=0.3)
    w = World(**{**w.__dict__, "active": np.zeros(w.n_clusters, np.bool_)})
    ker = KernelPartnering(w, seed=0)
    k = ker.step()
    assert k > 0
    assert (ker.consortia_buffers.group[:k] == w.n_clusters).all()
    assert ker.launched.sum() == 0
    off = World(**{**w.__dict__, "params": replace(w.params, outside_rate=0.0)})
    assert KernelPartnering(off, seed=0).step() == 0
