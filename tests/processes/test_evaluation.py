"""The evaluation (:mod:`sim.processes.evaluation`): the members' counts of the criteria
against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from sim.rules.evaluation import member_counts
from sim.state.codes import LARGE, POLE_ASSETS, SME, SPINOFF_PARTNERSHIP, SPINOFF_RESEARCH
from tests.worlds import actors_of, clusters_view


@pytest.mark.parametrize("seed", range(6))
def test_member_counts(seed):
    g = np.random.default_rng(seed)
    n, n_c = 400, 6
    atype = g.integers(0, 5, n + 9).astype(np.int8)
    cluster = np.where(g.random(n + 9) < 0.5, g.integers(0, n_c, n + 9), -1).astype(np.int16)
    last_project = np.where(g.random(n + 9) < 0.5, g.integers(0, 40, n + 9), -1).astype(np.int32)
    exporter = g.random(n + 9) < 0.3
    born = g.integers(-1, 40, n + 9).astype(np.int32)
    origin = g.integers(0, 5, n + 9).astype(np.int8)
    since = g.integers(0, 40, n_c).astype(np.int64)
    a = actors_of(dict(atype=atype, cluster=cluster, last_project=last_project,
                       exporter=exporter, born=born, origin=origin))
    got = member_counts(a.view, n, clusters_view(last_eval_step=since))
    c, t, lp = cluster[:n], atype[:n], last_project[:n]
    company = np.isin(t, (SME, LARGE))
    new = np.isin(origin[:n], (SPINOFF_PARTNERSHIP, SPINOFF_RESEARCH, POLE_ASSETS))
    for k in range(n_c):
        mine = c == k
        involved = mine & company & (lp >= since[k])
        created = mine & company & new & (born[:n] >= since[k])
        assert got[k].tolist() == [int(mine.sum()), int((mine & company).sum()),
                                   int(involved.sum()), int((mine & company & exporter[:n]).sum()),
                                   int(created.sum())]
