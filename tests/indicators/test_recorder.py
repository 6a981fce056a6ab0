"""The tidy recorder (:mod:`sim.indicators.recorder`): blocks of rows joined into the frame a
row-by-row construction gives, to the bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.indicators.layout import year_plan
from sim.indicators.recorder import Recorder


def test_recorder_frame_as_row_by_row():
    g = np.random.default_rng(11)
    rec = Recorder()
    assert rec.frame().equals(pd.DataFrame([], columns=list(Recorder.COLUMNS)))
    rows: list[tuple] = []  # the rows in order, as the recorder kept them one by one
    names, poles = ("a", "b", "c"), ("p1", "p2")
    for year, calls in ((2001, ()), (2002, (0,)), (2003, ()), (2004, (1, 2))):
        layout = year_plan(names, poles, 3, (2001, 2003), (0, 1, 1), calls).strings
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
