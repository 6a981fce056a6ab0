"""Docking: the pure-Mesa reference and the project's kernel implement the same partnership rule.

``benchmarks/mesa_reference.py`` re-implements ``sim.kernels.consortia.form_consortia`` (cluster
mode) as plain Mesa agents drawing from stdlib ``random``; the kernel draws from its own
xoshiro256** stream, so the two agree in distribution, not draw for draw.  The statistical test
steps both from the same starting state many times with different seeds and compares the means.

Design (all seeds fixed, so the test is deterministic):

* worlds: ``make_world(600, seed=7, inactive=1, initiate_rate=0.2)`` (600 actors, 12 clusters of
  which one inactive, 8 knowledge dimensions, 10 % non-company members, random ties) with three
  acceptance thresholds: the scenario's 0.6 (acceptance ~90 %), 1.1 (near the median match, where
  acceptance is most sensitive to the rule) and 1.5 (most candidates refuse, so the refusal limit
  and the taste shock matter);
* replications: R = 400 steps per implementation and world, each from the initial loads;
  reference seed ``1000 + r`` (``model.random.seed``), kernel seed ``SeedSequence(2000 + r)``;
* statistics per step: number of consortia, mean consortium size, mean match of the consortia;
* tolerance: ``|mean_ref - mean_kernel| < 4 * sqrt(se_ref**2 + se_kernel**2)`` with
  ``se = sd / sqrt(R)`` over the replications (a false alarm has probability about 6e-5 per
  comparison if the seeds are changed).  With the identical rule the largest |z| was 2.0.

Power, measured when the test was written by giving the reference (only) a different rule:
threshold +0.1 -> mean match off by 4.0 SE at 0.6, 17 SE at 1.1 (mean size 10.7 SE), 26 SE at 1.5;
threshold +0.05 -> 9.8 SE at 1.1; vertical peak 0.25 instead of 0.35 -> 7.2 SE at 0.6; taste
half-width 0.35 instead of 0.25 -> 6.7 SE at 1.5.  Not detected: a refusal limit of 5 instead of 4
(max |z| 3.6 at 1.5), since the target size is usually reached before the limit binds.
``test_reference_sees_a_different_threshold`` keeps the first of these checks.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.mesa_reference import (
    KernelPartnering,
    RefModel,
    World,
    make_world,
    summarize,
)
from sim.kernels.rng import new_state

N = 600
WORLD_SEED = 7
R = 400
REF_SEED0 = 1000
KERNEL_SEED0 = 2000
TOL_SE = 4.0
STATS = ("count", "mean_size", "mean_match")


def replicate(world: World, ref_world: World | None = None, reps: int = R) -> dict:
    """Per-replication statistics of both implementations, each step from the initial state.

    ``ref_world`` (default ``world``) lets an experiment give the reference other parameters.
    """
    ref = RefModel(ref_world or world, seed=REF_SEED0)
    ker = KernelPartnering(world, seed=KERNEL_SEED0)
    loads = world.load.copy()
    loads_list = loads.tolist()
    out: dict[str, dict[str, list[float]]] = {"reference": {s: [] for s in STATS},
                                              "kernel": {s: [] for s in STATS}}
    for r in range(reps):
        ref.set_loads(loads_list)
        ref.random.seed(REF_SEED0 + r)
        ref.step()
        ker.set_loads(loads)
        ker.rng = new_state(np.random.SeedSequence(KERNEL_SEED0 + r))
        ker.step()
        for side, cons in (("reference", ref.consortia), ("kernel", ker.consortia())):
            summary = summarize(cons)
            for s in STATS:
                out[side][s].append(summary[s])
    return out


def z_scores(out: dict) -> dict[str, tuple[float, float, float]]:
    """(reference mean, kernel mean, difference / combined standard error) per statistic."""
    z = {}
    for s in STATS:
        a = np.asarray(out["reference"][s], float)
        b = np.asarray(out["kernel"][s], float)
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        z[s] = (float(a.mean()), float(b.mean()), float((a.mean() - b.mean()) / se))
    return z


def docking_world(threshold: float) -> World:
    return make_world(N, WORLD_SEED, inactive=1, initiate_rate=0.2, accept_threshold=threshold)


@pytest.mark.parametrize("threshold", [0.6, 1.1, 1.5])
def test_reference_and_kernel_agree_in_distribution(threshold):
    z = z_scores(replicate(docking_world(threshold)))
    for s, (ref_mean, ker_mean, zs) in z.items():
        assert np.isfinite(zs), (s, z)
        assert abs(zs) < TOL_SE, (
            f"{s}: reference {ref_mean:.4f} vs kernel {ker_mean:.4f} differ by {zs:.2f} combined "
            f"standard errors (tolerance {TOL_SE}); all: {z}")
    # the step is not degenerate: partnerships form and some grow past two members
    assert z["count"][1] > 10 and z["mean_size"][1] > 2.2


def test_one_step_invariants_hold_in_both():
    """Members are distinct, sizes within bounds, loads never exceed capacity and rise by one
    per membership, in the reference and in the kernel alike; a consortium's group is its
    initiator's (its active cluster, or the outside group for a company of an inactive one)."""
    world = make_world(N, WORLD_SEED, inactive=1, initiate_rate=0.5)
    ref = RefModel(world, seed=3)
    ker = KernelPartnering(world, seed=3)
    ref.step()
    ker.step()
    max_size = world.params.max_consortium
    active = set(np.flatnonzero(world.active).tolist())
    ref_loads = np.array([f.load for f in ref.firms])
    for cons, loads in ((ref.consortia, ref_loads), (ker.consortia(), ker.load)):
        assert cons
        joined = np.zeros(world.n, np.int64)
        for c in cons:
            assert 2 <= len(c.members) <= max_size
            assert len(set(c.members)) == len(c.members)
            lead = world.cluster[c.members[0]]
            assert c.cluster == (lead if lead in active else world.n_clusters)
            assert world.atype[c.members[0]] <= 1  # initiators are companies
            joined[list(c.members)] += 1
        assert np.array_equal(loads, world.load + joined)
        assert (loads <= world.capacity).all()


def test_reference_sees_a_different_threshold():
    """The oracle has power: a reference whose acceptance threshold is 0.1 higher than the
    kernel's (1.2 against 1.1) falls outside the docking tolerance."""
    world = docking_world(1.1)
    shifted = replace(world, params=replace(world.params, accept_threshold=1.2))
    z = z_scores(replicate(world, shifted))
    assert max(abs(z[s][2]) for s in STATS) > TOL_SE, z


# ---------------------------------------------------------------------------------------------
# the fused cluster partnership step
# ---------------------------------------------------------------------------------------------


def test_performance_suite_parts_run_small():
    """The suite's parts run on small sizes and report what they claim (no timing asserted)."""
    import numpy as np

    from benchmarks.floor import Floor
    from benchmarks.suite import (
        POLICY_EVENTS,
        kernel_modules,
        overhead_figure,
        scale_run,
        timed_kernels,
    )

    ker = KernelPartnering(make_world(400, 3, initiate_rate=0.5), seed=1)
    work = np.zeros(6, np.int64)
    ker.step(work)
    assert work[1] > 0 and work[5] >= 2 * ker.k
    assert np.isfinite(Floor(ker, work).step())

    # the kernel timer wraps the model's compiled calls and puts them back
    import importlib

    modules = [importlib.import_module(name) for name in kernel_modules()]
    before = [dict(vars(mod)) for mod in modules]
    with timed_kernels() as (spent, calls):
        from sim import ClusterModel, load_scenario

        m = ClusterModel(load_scenario(None, {"run.scale": 0.3}), seed=1, handles=False)
        for _ in range(8):
            m.step()
    assert spent[0] > 0 and calls[0] >= 8
    for mod, was in zip(modules, before, strict=True):
        assert all(vars(mod)[k] is v for k, v in was.items())

    # figure 4 charges each kernel call to the sub-step making it: what is left outside
    # kernels, sub-step by sub-step, is less than the whole quarter
    o = overhead_figure(400, 1)
    assert set(POLICY_EVENTS) < set(o["outside_us_per_quarter"])
    assert 0 < o["outside_share_median"] < 1
    assert 0 < sum(o["outside_us_per_quarter"].values()) < o["attributed_quarter_us"]

    r = scale_run(2_000, base=3_710)
    assert abs(r["actors_start"] - 2_000) < 20
    assert 0 < r["state_bytes_per_actor"] < 1_000 and r["ns_per_actor_step"] > 0


def test_kept_index_and_kept_lists_change_no_draw():
    """The what-if sides of ``benchmarks/bench_index.py`` do the same work as figure 1's: the
    kernel given a member index built once forms the same consortia, draw for draw, as the one
    that builds the index every step, and the reference that keeps its member lists forms the
    same consortia as the one that rebuilds them (same seeds, three steps from the same state;
    nobody joins or leaves, so a kept index stays exact)."""
    from benchmarks.bench_index import SIDES, bench_size

    w = make_world(500, 4, initiate_rate=0.4, inactive=1)
    ker = [KernelPartnering(w, seed=3), KernelPartnering(w, seed=3, keep_index=True)]
    ref = [RefModel(w, seed=5), RefModel(w, seed=5, keep_lists=True)]
    for _ in range(3):
        k = [x.step() for x in ker]
        assert k[0] == k[1] > 0
        assert ker[0].consortia() == ker[1].consortia()
        for x in ref:
            x.step()
        assert ref[0].consortia == ref[1].consortia and len(ref[0].consortia) > 0
    assert np.array_equal(ker[0].load, ker[1].load)
    assert np.array_equal(ker[0].rng, ker[1].rng)

    row = bench_size(300, "calibrated", rounds=1, min_time=0.0)  # runs; no timing asserted
    assert set(row["ms"]) == set(SIDES) and all(v > 0 for v in row["ms"].values())
    assert row["work"][5] >= 2  # the warm-up step committed a consortium for the floors
