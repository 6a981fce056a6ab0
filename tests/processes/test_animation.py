"""The animation funding (:mod:`sim.processes.animation`): the clusters' census and the
animation budget (with the baseline's funding rules) against the NumPy expressions they
replaced, bit for bit."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.processes.animation import CENSUS, PARAMS, animation_budget, cluster_census
from sim.rules.funding import subsidies
from sim.rules.schema import AnimationRules
from sim.state.codes import LARGE, N_ACTOR_TYPES, N_TASKS, SME
from tests.worlds import actors_of, clusters_view, ledger


def actors(g: np.random.Generator, n: int, n_c: int, n_s: int):
    alive = g.random(n) < 0.9
    atype = g.integers(0, 5, n).astype(np.int8)
    cluster = np.where(alive & (g.random(n) < 0.4), g.integers(0, n_c, n), -1).astype(np.int16)
    sector = g.integers(0, n_s, n).astype(np.int16)
    return alive, atype, cluster, sector


def members_by_type(atype, cluster, n_c):
    """Members of each cluster by actor type, with NumPy."""
    out = np.zeros((n_c, N_ACTOR_TYPES), np.int64)
    member = cluster >= 0
    np.add.at(out, (cluster[member], atype[member]), 1)
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("taper", [0.0, 0.15])
def test_animation_budget(seed, taper):
    g = np.random.default_rng(seed)
    n, n_c = 500, 12
    _alive, atype, cluster, _ = actors(g, n, n_c, 5)
    active = g.random(n_c) < 0.7
    launch = g.integers(-4, 40, n_c)
    t, floor, sub_eur, cost, cap_s, cap_l = 17, 0.4, 1.5e5, 2e5, 2500.0, 9000.0
    shares = g.dirichlet(np.ones(N_TASKS))
    ys, yf = g.random(n_c), g.random(n_c)
    ys0, yf0 = ys.copy(), yf.copy()
    subsidy, fee_sme, fee_large = (np.full(n_c, np.nan) for _ in range(3))
    effort = np.full((n_c, N_TASKS), np.nan)
    members = members_by_type(atype, cluster, n_c)
    n_sme, n_large = members[:, SME], members[:, LARGE]
    census = np.zeros(n_c, CENSUS)
    census["n_sme"], census["n_large"] = n_sme, n_large
    rec = np.zeros(1, PARAMS.dtype)
    rec[0] = (cost, cap_s, cap_l, shares)
    led = ledger(n_c)
    led.animation_subsidy[...] = ys
    led.fees[...] = yf
    # the baseline's rules (flat subsidy, linear taper to a floor), then the kernel
    anim = SimpleNamespace(taper_per_year=taper, taper_floor=floor, subsidy_eur_per_year=sub_eur)
    subsidy[:] = subsidies(np.maximum((t - launch) // 4, 0), active, census, np.ones(n_c),
                           np.ones(n_c), AnimationRules(), anim)
    animation_budget(census, clusters_view(active=active, launch_step=launch, effort=effort,
                                           subsidy=subsidy, fee_sme=fee_sme,
                                           fee_large=fee_large), rec, led.view)
    # the NumPy expressions of the animation funding before the kernel
    if taper > 0:
        years = np.maximum(0, (t - launch) // 4)
        rate = np.maximum(floor, 1.0 - taper * years)
    else:
        rate = 1.0
    s = np.where(active, rate * sub_eur, 0.0)
    need = np.maximum(0.0, cost - s)
    units = n_sme + 4.0 * n_large
    per_unit = np.where(units > 0, need / np.maximum(units, 1), 0.0)
    funded = s > 0
    fs = np.where(funded, np.minimum(cap_s, per_unit), 0.0)
    fl = np.where(funded, np.minimum(cap_l, 4.0 * per_unit), 0.0)
    fees = n_sme * fs + n_large * fl
    fte = np.where(funded, (s + fees) / cost, 0.0)
    for got, want in ((subsidy, s), (fee_sme, fs), (fee_large, fl),
                      (effort, fte[:, None] * shares[None, :]),
                      (led.animation_subsidy, ys0 + s / 4.0), (led.fees, yf0 + fees / 4.0)):
        assert np.array_equal(got.view(np.int64), want.view(np.int64))


@pytest.mark.parametrize("seed", range(6))
def test_cluster_census(seed):
    g = np.random.default_rng(seed)
    n, n_c, n_s = 400, 7, 9
    alive, atype, cluster, sector = actors(g, n, n_c, n_s)
    cl_sectors = g.random((n_c, n_s)) < 0.3
    recent = g.integers(0, 20, (n_c, 4))
    census = np.zeros(n_c, CENSUS)
    census[...] = (-9, np.nan, np.nan, -9, -9)
    a = actors_of(dict(alive=alive, atype=atype, cluster=cluster, sector=sector))
    cluster_census(a.view, n, clusters_view(sectors=cl_sectors, launched_recent=recent), census)
    by_type = members_by_type(atype, cluster, n_c)
    comp = alive & np.isin(atype, (SME, LARGE))
    potential = np.array([np.isin(sector[comp], np.flatnonzero(row)).sum()
                          for row in cl_sectors])
    want_members = by_type.sum(axis=1)
    assert np.array_equal(census["members"], want_members)
    assert np.array_equal(census["pull"], (by_type[:, SME] + by_type[:, LARGE])
                          / np.maximum(potential, 1))
    assert np.array_equal(census["activity"], recent.sum(axis=1) / np.maximum(want_members, 1))
    assert np.array_equal(census["n_sme"], by_type[:, SME])
    assert np.array_equal(census["n_large"], by_type[:, LARGE])
