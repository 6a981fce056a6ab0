"""The yearly recording's one-pass census, cached cohorts and block recorder against the NumPy
expressions and the row-by-row construction they replace (bit for bit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.indicators import Recorder, cohorts, year_layout
from sim.kernels.bookkeeping import indicator_census


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
    by_type, per_pole, fabric = indicator_census(n, alive, atype, cluster, pole, emp, va,
                                                 exporter, intensity, n_c, n_p)
    # the NumPy expressions of cluster_counts, the pole loop and fabric_totals it replaces
    alive, atype, cluster, pole = alive[:n], atype[:n], cluster[:n], pole[:n]
    emp, va, exporter = emp[:n], va[:n], exporter[:n]
    member = cluster >= 0
    want_by_type = np.zeros((n_c, 5), np.int64)
    np.add.at(want_by_type, (cluster[member], atype[member]), 1)
    want_per_pole = np.bincount(pole[alive & (pole >= 0)], minlength=n_p)
    company = alive & (atype <= 1)
    exports = va * np.where(exporter, 1.0, 0.0) * intensity
    want_fabric = np.array([
        [masked_sum(emp, rows), masked_sum(va, rows), masked_sum(exports, rows),
         (rows & exporter).sum(), rows.sum()]
        for rows in (company & member, company & ~member, company)])
    assert np.array_equal(by_type, want_by_type)
    assert np.array_equal(per_pole, want_per_pole)
    assert np.array_equal(fabric.view(np.int64), want_fabric.view(np.int64))


def test_cohorts():
    steps = (9, 0, 4, 9, 13, 3, 0)
    years, idx = cohorts(2001, steps)
    want_years, want_idx = np.unique(2001 + np.array(steps) // 4, return_inverse=True)
    assert years == tuple(want_years.tolist())
    assert np.array_equal(idx, want_idx) and idx.dtype == np.int64
    assert not idx.flags.writeable  # shared by the later calls
    assert cohorts(2001, steps)[1] is idx


def test_recorder_frame_as_row_by_row():
    g = np.random.default_rng(11)
    rec = Recorder()
    assert rec.frame().equals(pd.DataFrame([], columns=list(Recorder.COLUMNS)))
    rows: list[tuple] = []  # the rows in order, as the recorder kept them one by one
    names, poles = ("a", "b", "c"), ("p1", "p2")
    for year, calls in ((2001, ()), (2002, (0,)), (2003, ()), (2004, (1, 2))):
        layout = year_layout(names, poles, (2001, 2003), calls)
        values = g.normal(size=len(layout[0]))
        values[:3] = (-0.0, 0.0, np.nan)
        rec.add_rows(layout, year, values)
        rows += [(i, year, b, k, v) for i, b, k, v in zip(*layout, values.tolist(),
                                                          strict=True)]
        values[:] = 1.0  # the recorder keeps its own copy
    rec.add("clusters_active", 2005, 3)
    rec.add_many("members_total", 2005, "cluster", ["a", "b"], [4, 5.5])
    rows += [("clusters_active", 2005, "total", "", 3.0),
             ("members_total", 2005, "cluster", "a", 4.0),
             ("members_total", 2005, "cluster", "b", 5.5)]
    ind, yr, by, key, val = map(list, zip(*rows, strict=True))
    want = pd.DataFrame({"indicator": ind, "year": np.array(yr, np.int64), "by": by,
                         "key": key, "value": np.array(val, np.float64)})
    got = rec.frame()
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert np.array_equal(got["value"].to_numpy().view(np.int64),
                          want["value"].to_numpy().view(np.int64))
    with pytest.raises(ValueError, match="rows for"):
        rec.add_rows(layout, 2006, values[:-1])
