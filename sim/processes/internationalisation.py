"""Sub-step 4, internationalisation: active clusters sign agreements with foreign clusters,
helped by the Region's subsidy for international tenders (docs/ODD.md, submodel 7.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.state.codes import ACTIVE, PROMOTION

if TYPE_CHECKING:
    from sim.model import ClusterModel

TENDER_REFERENCE_EUR = 24_000.0  # seed: the Region's tender subsidy


def internationalise(m: ClusterModel) -> None:
    """Clusters sign agreements with foreign clusters, helped by the tender subsidy."""
    cl, it, led = m.clusters, m.sc.policy.international, m.ledger
    ib = m.sc.behaviour.international  # the clusters' response to the lever
    subsidy = it.tender_subsidy_eur if m.year >= it.tender_subsidy_start_year else 0.0
    factor = 1.0 + ib.tender_effect * subsidy / TENDER_REFERENCE_EUR
    u = m.gen["international"].random(len(cl.names))
    signed = agreement_draws(u, cl.effort, cl.status, ib.agreement_rate, factor)
    for c in signed.tolist():
        m.agreements.sign(c, m.t + 4 * ib.agreement_years)
    led.add("agreements_signed", len(signed))
    led.add("tender_subsidy", subsidy * len(signed))


@njit(cache=True)
def agreement_draws(u, effort, status, rate, factor):
    """The clusters (int64, in order) that sign an agreement this quarter: active ones
    (``status``) with ``u[c] < min(rate * effort[c, PROMOTION] * factor, 1)``."""
    out = np.empty(u.shape[0], np.int64)
    k = 0
    for c in range(u.shape[0]):
        p = rate * effort[c, PROMOTION] * factor
        if p > 1.0:
            p = 1.0
        if status[c] != ACTIVE:
            p = 0.0
        if u[c] < p:
            out[k] = c
            k += 1
    return out[:k]
