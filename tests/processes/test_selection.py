"""The poles' selection (:mod:`sim.processes.selection`): the criteria's counts against the
NumPy masks they replaced."""

from __future__ import annotations

import numpy as np
import pytest

from sim.processes.selection import selection_counts
from sim.state.codes import LARGE, RESEARCH_CENTRE, SME, TRAINING_CENTRE, UNIVERSITY
from tests.worlds import actors_of

SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
def test_selection_counts_are_the_numpy_masks(seed):
    g = np.random.default_rng(200 + seed)
    n, n_s = int(g.integers(0, 400)), 6
    alive = g.random(n + 3) < 0.9
    atype = g.integers(0, 5, n + 3).astype(np.int8)
    sector = g.integers(0, n_s, n + 3).astype(np.int16)
    cluster = g.integers(-1, 4, n + 3).astype(np.int16)
    last_project = np.where(g.random(n + 3) < 0.3, g.integers(0, 40, n + 3), -1).astype(np.int32)
    innovations = g.integers(0, 4, n + 3).astype(np.int32)
    province = g.integers(0, 5, n + 3).astype(np.int8)
    in_sectors = g.random(n_s) < 0.5
    a = actors_of(dict(alive=alive, atype=atype, sector=sector, cluster=cluster,
                       last_project=last_project, innovations=innovations, province=province))
    got = selection_counts(a.view, n, in_sectors)
    # what the selection computed with masks before the kernel
    a, t = alive[:n], atype[:n]
    in_sec = a & in_sectors[sector[:n]]
    engaged = in_sec & np.isin(t, (SME, LARGE)) & ((cluster[:n] >= 0) | (last_project[:n] >= 0))
    want = (int((in_sec & np.isin(t, (UNIVERSITY, RESEARCH_CENTRE))).sum()),
            int((in_sec & (t == TRAINING_CENTRE)).sum()),
            int(innovations[:n][in_sec].sum()), int(engaged.sum()),
            len(np.unique(province[:n][engaged])))
    assert tuple(int(x) for x in got) == want
