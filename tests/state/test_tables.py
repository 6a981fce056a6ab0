"""The state's tables (:mod:`sim.state`): columns declared once give allocation, growth and the
kernels' view; growth keeps every row and the order in which free project slots are reused;
the ledger's quantities are views into one buffer that the new year zeroes in part."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from sim.indicators.ledger import Ledger
from sim.indicators.table import FLOW, QUANTITIES
from sim.state.actors import ACTOR_COLUMNS, Actors
from sim.state.codes import TIES
from sim.state.params import Params
from sim.state.projects import Projects


@njit(cache=True)
def _first_loads(a, k):
    out = np.empty(k, np.int64)
    for i in range(k):
        out[i] = a.load[i]
    a.load[0] += 1  # a kernel writes the table's own array through the view
    return out


def test_actors_columns_give_the_arrays_and_the_view():
    a = Actors(10, dims=3)
    assert [c.name for c in ACTOR_COLUMNS] == list(Actors.view_fields())
    for col in ACTOR_COLUMNS:
        arr = getattr(a, col.name)
        assert arr.dtype == col.dtype and arr.shape[0] == 10
        assert (arr == col.fill).all(), col.name
    assert a.knowledge.shape == (10, 3) and a.tie_partner.shape == (10, TIES)
    a.load[:4] = [5, 6, 7, 8]
    assert _first_loads(a.view, 4).tolist() == [5, 6, 7, 8]
    assert a.load[0] == 6


def test_actors_grow_keeps_rows_and_rebuilds_the_view():
    a = Actors(4, dims=2)
    rows = a.add(atype=np.array([1, 2], np.int8), cluster=np.array([3, -1], np.int16))
    assert rows.tolist() == [0, 1] and a.n == 2 and a.alive[:2].all()
    view = a.view
    a.add(atype=np.ones(5, np.int8))  # 7 rows: the arrays double to 8
    assert a.cap == 8 and a.n == 7 and a.view is not view
    assert a.atype[:7].tolist() == [1, 2, 1, 1, 1, 1, 1]
    assert a.cluster.tolist() == [3, -1] + [-1] * 6  # new rows hold the column's fill
    assert (a.born == -1).all() and not a.alive[7]
    a.ensure(20)
    assert a.cap == 20
    assert a.nbytes_per_row() == pytest.approx(sum(
        getattr(a, c.name).nbytes for c in ACTOR_COLUMNS) / 20)


def test_projects_free_list_order_survives_growth():
    """Slots are taken from the top of the stack; growth puts the new slots under the old
    free ones, so the order of reuse does not depend on when the store grew."""
    p = Projects(4, width=3)
    assert p.take(2).tolist() == [0, 1] and p.n_free == 2
    p.reserve(5)  # 2 free < 5: grow to 8
    assert p.cap == 8 and p.n_free == 6
    assert p.take(6).tolist() == [2, 3, 4, 5, 6, 7]
    assert (p.members == -1).all() and (p.pole == -1).all() and not p.active.any()


def test_params_record_types_are_declared():
    class Section:
        rate = 1  # an int where a float is meant: still a float64 field
        count = 3.0
        on = 1

    class Scenario:
        section = Section()

    params = Params(floats={"rate": "section.rate", "twice": lambda sc: 2 * sc.section.rate},
                    ints={"count": "section.count"}, flags={"on": "section.on"},
                    arrays={"shares": (lambda sc: [0.25, 0.75], 2)})
    rec = params.build(Scenario())
    assert rec.dtype["rate"] == np.float64 and rec.dtype["count"] == np.int64
    assert rec.dtype["on"] == np.bool_ and rec.dtype["shares"].shape == (2,)
    assert rec[0]["twice"] == 2.0 and rec[0]["count"] == 3 and rec[0]["on"]
    assert params.names == ("rate", "twice", "count", "on", "shares")


def test_ledger_quantities_are_views_the_new_year_zeroes_flows_only():
    led = Ledger(3, 2, 4)
    for q in QUANTITIES:
        arr = getattr(led, q.name)
        assert np.shares_memory(arr, led.buffer), q.name
        arr[...] = 1.0
    led.add("exits", 2)
    assert led.exits == 3.0
    led.new_year()
    for q in QUANTITIES:
        want = 0.0 if q.kind == FLOW else 1.0
        assert (getattr(led, q.name) == want).all(), q.name
    with pytest.raises(AttributeError, match="written in place"):
        led.joins = np.zeros(3)
    assert led.proposals.shape == (2, 4) and led.employment.shape == (3,)
