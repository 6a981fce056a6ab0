"""The year's computation (:mod:`sim.indicators.compute`): the census of the stocks against the
NumPy expressions it replaced (bit for bit, signed zeros included), the cohorts, and the
evaluation of a plan's rows."""

from __future__ import annotations

import numpy as np
import pytest

from sim.indicators.compute import cohorts, evaluate, fabric_and_members
from sim.indicators.layout import SUM, VALUE
from sim.state.codes import LARGE, N_ACTOR_TYPES, SME
from tests.worlds import actors_of, ledger


def population(g: np.random.Generator, n: int, cap: int, n_c: int, n_p: int, p_member: float):
    """Actor arrays of capacity ``cap`` (rows ``>= n`` are garbage), in the model's dtypes;
    some value added is negative or zero, so that signed zeros reach the sums, and some dead
    actors keep a cluster or a pole."""
    alive = g.random(cap) < 0.85
    atype = g.integers(0, 5, cap).astype(np.int8)
    cluster = np.where(g.random(cap) < p_member, g.integers(0, n_c, cap), -1)
    pole = np.where(g.random(cap) < 0.3, g.integers(0, n_p, cap), -1)
    employment = g.lognormal(2.0, 1.5, cap)
    value_added = g.normal(1e6, 2e6, cap)
    value_added[g.random(cap) < 0.05] = 0.0
    exporter = g.random(cap) < 0.3
    return (alive, atype, cluster.astype(np.int16), pole.astype(np.int16), employment,
            value_added, exporter)


def masked_sum(x: np.ndarray, mask: np.ndarray) -> float:
    """``x[mask].sum()`` without its ``0.0 +`` (as :func:`pairwise_sum`): ``-0.0`` when every
    term is ``-0.0`` or there is none."""
    terms = x[mask]
    return -0.0 if np.all((terms == 0) & np.signbit(terms)) else terms.sum()


@pytest.mark.parametrize(("seed", "n", "cap", "p_member"), [
    (0, 0, 10, 0.4), (1, 7, 7, 0.4), (2, 300, 320, 0.0), (3, 300, 300, 1.0),
    (4, 1000, 1100, 0.25), (5, 5000, 5200, 0.22), (6, 5000, 5000, 0.5), (7, 20000, 20500, 0.1),
])
def test_indicator_census(seed, n, cap, p_member):
    g = np.random.default_rng(seed)
    n_c, n_p, intensity = 12, 5, 0.35
    alive, atype, cluster, pole, emp, va, exporter = population(g, n, cap, n_c, n_p, p_member)
    share = np.where(exporter, g.uniform(0.0, intensity * 2, cap), 0.0)  # the economy's
    a = actors_of(dict(alive=alive, atype=atype, cluster=cluster, pole=pole, employment=emp,
                       value_added=va, exporter=exporter, export_share=share))
    led = ledger(n_c, n_p)
    fabric_and_members(a.view, n, intensity, led.view)
    a.check()
    by_type, per_pole = led.members, led.pole_members
    fabric = np.stack([led.employment, led.value_added, led.exports, led.exporters,
                       led.companies], axis=1)
    # the NumPy expressions of the cluster counts, the pole loop and the fabric's totals it
    # replaced
    alive, atype, cluster, pole = alive[:n], atype[:n], cluster[:n], pole[:n]
    emp, va, exporter = emp[:n], va[:n], exporter[:n]
    member = cluster >= 0
    want_by_type = np.zeros((n_c, N_ACTOR_TYPES), np.int64)
    np.add.at(want_by_type, (cluster[member], atype[member]), 1)
    want_per_pole = np.bincount(pole[alive & (pole >= 0)], minlength=n_p)
    company = alive & np.isin(atype, (SME, LARGE))
    exports = va * np.where(exporter, share[:n], 0.0)
    want_fabric = np.array([
        [masked_sum(emp, rows), masked_sum(va, rows), masked_sum(exports, rows),
         (rows & exporter).sum(), rows.sum()]
        for rows in (company & member, company & ~member, company)])
    assert np.array_equal(by_type, want_by_type)  # counts, as float64
    assert np.array_equal(per_pole, want_per_pole)
    assert np.array_equal(fabric.view(np.int64), want_fabric.view(np.int64))


def test_cohorts():
    steps = (9, 0, 4, 9, 13, 3, 0)
    years, idx = cohorts(2001, steps)
    want_years, want_idx = np.unique(2001 + np.array(steps) // 4, return_inverse=True)
    assert years == tuple(want_years.tolist())
    assert idx == tuple(want_idx.tolist())
    assert cohorts(2001, steps)[1] is idx  # cached: the launch steps are the same every year


def test_evaluate_takes_values_adds_sums_and_divides():
    """A row is one cell as it is (a signed zero kept), or ``0.0 +`` NumPy's sum of its cells,
    divided by its denominator's when it has one (0 for a zero denominator)."""
    q = np.array([-0.0, 2.0, 3.0, 0.5, 0.0, 1e16, 1.0, -1e16])
    rows = [  # (kind, cells, den kind, den cells)
        (VALUE, [0], -1, []), (SUM, [0], -1, []), (SUM, [1, 2, 3], -1, []),
        (SUM, [5, 6, 7], -1, []), (VALUE, [2], VALUE, [1]), (SUM, [1, 2], VALUE, [4]),
        (SUM, [], -1, []), (VALUE, [3], SUM, [1, 2]),
    ]

    def csr(lists):
        ptr = np.zeros(len(lists) + 1, np.int64)
        ptr[1:] = np.cumsum([len(x) for x in lists])
        return ptr, np.array([c for x in lists for c in x], np.int64)

    num_ptr, num_idx = csr([r[1] for r in rows])
    den_ptr, den_idx = csr([r[3] for r in rows])
    got = evaluate(q, np.array([r[0] for r in rows], np.int8), num_ptr, num_idx,
                   np.array([r[2] for r in rows], np.int8), den_ptr, den_idx)
    want = [-0.0, 0.0, 5.5, 0.0 + q[[5, 6, 7]].sum(), 1.5, 0.0, 0.0, 0.1]
    assert np.array_equal(got.view(np.int64), np.array(want).view(np.int64))
