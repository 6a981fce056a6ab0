"""Small bookkeeping kernels against the NumPy expressions they replace (bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.kernels.bookkeeping import (
    agreement_draws,
    animation_budget,
    cluster_counts,
    founder_candidates,
    fund_proposals,
    membership_inputs,
    pole_counts,
    pole_groups,
)


def actors(g: np.random.Generator, n: int, n_c: int, n_s: int):
    alive = g.random(n) < 0.9
    atype = g.integers(0, 5, n).astype(np.int8)
    cluster = np.where(alive & (g.random(n) < 0.4), g.integers(0, n_c, n), -1).astype(np.int16)
    sector = g.integers(0, n_s, n).astype(np.int16)
    return alive, atype, cluster, sector


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("taper", [0.0, 0.15])
def test_animation_budget(seed, taper):
    g = np.random.default_rng(seed)
    n, n_c = 500, 12
    _alive, atype, cluster, _ = actors(g, n, n_c, 5)
    active = g.random(n_c) < 0.7
    launch = g.integers(-4, 40, n_c)
    t, floor, sub_eur, cost, cap_s, cap_l = 17, 0.4, 1.5e5, 2e5, 2500.0, 9000.0
    shares = g.dirichlet(np.ones(6))
    ys, yf = g.random(n_c), g.random(n_c)
    ys0, yf0 = ys.copy(), yf.copy()
    subsidy, fee_sme, fee_large = (np.full(n_c, np.nan) for _ in range(3))
    effort = np.full((n_c, 6), np.nan)
    by_type = cluster_counts(n, atype, cluster, n_c)
    animation_budget(by_type[:, 0].copy(), by_type[:, 1].copy(), active, launch, t, taper, floor,
                     sub_eur, cost, cap_s, cap_l, shares, ys, yf, subsidy, fee_sme, fee_large,
                     effort)
    # the NumPy expressions of sim.policy.fund_animation before the kernel
    if taper > 0:
        years = np.maximum(0, (t - launch) // 4)
        rate = np.maximum(floor, 1.0 - taper * years)
    else:
        rate = 1.0
    s = np.where(active, rate * sub_eur, 0.0)
    members = cluster_counts(n, atype, cluster, n_c)
    n_sme, n_large = members[:, 0], members[:, 1]
    need = np.maximum(0.0, cost - s)
    units = n_sme + 4.0 * n_large
    per_unit = np.where(units > 0, need / np.maximum(units, 1), 0.0)
    funded = s > 0
    fs = np.where(funded, np.minimum(cap_s, per_unit), 0.0)
    fl = np.where(funded, np.minimum(cap_l, 4.0 * per_unit), 0.0)
    fees = n_sme * fs + n_large * fl
    fte = np.where(funded, (s + fees) / cost, 0.0)
    for got, want in ((subsidy, s), (fee_sme, fs), (fee_large, fl),
                      (effort, fte[:, None] * shares[None, :]), (ys, ys0 + s / 4.0),
                      (yf, yf0 + fees / 4.0)):
        assert np.array_equal(got.view(np.int64), want.view(np.int64))


@pytest.mark.parametrize("seed", range(6))
def test_membership_inputs(seed):
    g = np.random.default_rng(seed)
    n, n_c, n_s = 400, 7, 9
    alive, atype, cluster, sector = actors(g, n, n_c, n_s)
    cl_sectors = g.random((n_c, n_s)) < 0.3
    recent = g.integers(0, 20, (n_c, 4))
    members, n_sme, n_large = (np.full(n_c, -9, np.int64) for _ in range(3))
    pull, activity = np.full(n_c, np.nan), np.full(n_c, np.nan)
    membership_inputs(n, alive, atype, sector, cluster, cl_sectors, recent, members, pull,
                      activity, n_sme, n_large)
    by_type = cluster_counts(n, atype, cluster, n_c)
    comp = alive & (atype <= 1)
    potential = np.array([np.isin(sector[comp], np.flatnonzero(row)).sum()
                          for row in cl_sectors])
    want_members = by_type.sum(axis=1)
    assert np.array_equal(members, want_members)
    assert np.array_equal(pull, (by_type[:, 0] + by_type[:, 1]) / np.maximum(potential, 1))
    assert np.array_equal(activity, recent.sum(axis=1) / np.maximum(want_members, 1))
    assert np.array_equal(n_sme, by_type[:, 0]) and np.array_equal(n_large, by_type[:, 1])


@pytest.mark.parametrize("seed", range(6))
def test_agreement_draws_and_pole_counts(seed):
    g = np.random.default_rng(seed)
    n_c = 12
    u, promotion = g.random(n_c), g.random(n_c) * 3
    status = g.integers(0, 4, n_c).astype(np.int8)
    p = 0.4 * promotion * 1.7
    p = np.where(status == 1, np.minimum(p, 1.0), 0.0)
    assert np.array_equal(agreement_draws(u, promotion, status, 0.4, 1.7),
                          np.flatnonzero(u < p))
    pole = np.where(g.random(300) < 0.3, g.integers(0, 4, 300), -1).astype(np.int16)
    assert np.array_equal(pole_counts(250, pole, 4),
                          np.bincount(pole[:250][pole[:250] >= 0], minlength=4))


@pytest.mark.parametrize("seed", range(6))
def test_founders_and_pole_groups(seed):
    g = np.random.default_rng(seed)
    n, n_s = 300, 8
    alive, atype, cluster, sector = actors(g, n + 20, 5, n_s)
    capability = g.random(n + 20) * 2
    in_sec = g.random(n_s) < 0.5
    cand, weight = founder_candidates(n, alive, atype, cluster, sector, in_sec, capability)
    free = alive[:n] & (atype[:n] <= 1) & (cluster[:n] < 0) & in_sec[sector[:n]]
    want = np.flatnonzero(free)
    assert np.array_equal(cand, want)
    assert np.array_equal(weight, capability[want] * np.where(atype[want] == 1, 2.0, 1.0))
    sector_pole = np.where(g.random(n_s) < 0.6, g.integers(0, 3, n_s), -1)
    selected = g.random(3) < 0.7
    group, initiators = pole_groups(n, alive, atype, sector, sector_pole, selected)
    want_g = np.where(alive[:n], sector_pole[sector[:n]], -1)
    want_g = np.where((want_g >= 0) & selected[np.maximum(want_g, 0)], want_g, -1)
    assert group.dtype == np.int32 and np.array_equal(group, want_g)
    assert np.array_equal(initiators, np.flatnonzero((want_g >= 0) & (atype[:n] <= 3)))


@pytest.mark.parametrize("seed", range(6))
def test_fund_proposals(seed):
    g = np.random.default_rng(seed)
    k = 40
    score = g.random(k)
    labelled = score > 0.3
    rd, tr = g.random(k) * 1e6, np.where(g.random(k) < 0.5, 2e5, 0.0)
    inv = np.full(k, 3e5)
    env = np.array([8e6, 1e6, 2e6])
    order = np.argsort(-score, kind="stable")
    funded, grants, envelope = np.zeros(k, bool), np.zeros((k, 3)), env.copy()
    fund_proposals(order, labelled, rd, tr, inv, envelope, funded, grants)
    w_funded, w_grants, w_env = np.zeros(k, bool), np.zeros((k, 3)), env.copy()
    for i in order:  # the loop of sim.policy.pole_call before the kernel
        if not labelled[i] or rd[i] > w_env[0]:
            continue
        w_funded[i] = True
        w_grants[i, 0] = rd[i]
        w_env[0] -= rd[i]
        for col, req in ((1, tr[i]), (2, inv[i])):
            if 0 < req <= w_env[col]:
                w_grants[i, col] = req
                w_env[col] -= req
    assert np.array_equal(funded, w_funded)
    assert np.array_equal(grants, w_grants) and np.array_equal(envelope, w_env)
