"""The internationalisation (:mod:`sim.processes.internationalisation`): the agreements' draws
against the NumPy expression they replaced."""

from __future__ import annotations

import numpy as np
import pytest

from sim.processes.internationalisation import agreement_draws
from sim.state.codes import ACTIVE, N_TASKS, PROMOTION


@pytest.mark.parametrize("seed", range(6))
def test_agreement_draws(seed):
    g = np.random.default_rng(seed)
    n_c = 12
    u, promotion = g.random(n_c), g.random(n_c) * 3
    status = g.integers(0, 4, n_c).astype(np.int8)
    effort = np.zeros((n_c, N_TASKS))
    effort[:, PROMOTION] = promotion
    p = 0.4 * promotion * 1.7
    p = np.where(status == ACTIVE, np.minimum(p, 1.0), 0.0)
    got = agreement_draws(u, effort, status, 0.4, 1.7)
    assert np.array_equal(got, np.flatnonzero(u < p))
