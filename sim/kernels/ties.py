"""Trust ties: a fixed number of remembered partners per actor (NEMO/SKEIN tie values)."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def trust_of(tie_partner, tie_trust, i, j):
    """Trust of actor ``i`` in actor ``j`` (0 when ``j`` is not remembered)."""
    for m in range(tie_partner.shape[1]):
        if tie_partner[i, m] == j:
            return tie_trust[i, m]
    return 0.0


@njit(cache=True)
def touch_tie(tie_partner, tie_trust, i, j, delta):
    """Add ``delta`` to ``i``'s trust in ``j``, clipped to [0, 1].

    A partner not yet remembered is added only when ``delta > 0``: into the first empty slot,
    else in place of the weakest tie (the first one among equals).
    """
    empty = -1
    weakest = -1
    for m in range(tie_partner.shape[1]):
        p = tie_partner[i, m]
        if p == j:
            tie_trust[i, m] = min(1.0, max(0.0, tie_trust[i, m] + delta))
            return
        if p < 0:
            if empty < 0:
                empty = m
        elif weakest < 0 or tie_trust[i, m] < tie_trust[i, weakest]:
            weakest = m
    if delta > 0.0:
        slot = empty if empty >= 0 else weakest
        tie_partner[i, slot] = j
        tie_trust[i, slot] = min(1.0, delta)
