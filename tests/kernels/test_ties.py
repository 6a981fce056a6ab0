"""Trust ties (:mod:`sim.kernels.ties`): updates, clipping, slots and the weakest tie, against
the twin slot for slot."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.kernels.ties import touch_tie, trust_of
from tests import reference as ref


def tie_rows(partners, trusts):
    tp = np.array(partners, np.int32).reshape(1, -1)
    tt = np.array(trusts, np.float32).reshape(1, -1)
    return tp, tt


def check_touch(partners, trusts, j, delta, want_partners, want_trusts):
    tp, tt = tie_rows(partners, trusts)
    twin = ref.touch_tie(tp, tt, 0, j, delta)
    touch_tie(tp, tt, 0, j, delta)
    assert tp[0].tolist() == want_partners == twin["tie_partner"][0]
    np.testing.assert_array_equal(tt[0], np.array(want_trusts, np.float32))
    np.testing.assert_array_equal(tt[0], np.array(twin["tie_trust"][0], np.float32))


def f32(x):
    """Round a Python float to float32 (arithmetic stays in float64, as in the kernel)."""
    return float(np.float32(x))


def test_touch_tie_existing_partner():
    check_touch([4, 9, -1, 6], [0.5, 0.3, 0.0, 0.7], 9, 0.25,
                [4, 9, -1, 6], [0.5, f32(f32(0.3) + 0.25), 0.0, 0.7])
    # an existing partner after an empty slot is updated in its slot, not added again
    check_touch([-1, 3, -1, -1], [0.0, 0.4, 0.0, 0.0], 3, 0.1,
                [-1, 3, -1, -1], [0.0, f32(f32(0.4) + 0.1), 0.0, 0.0])


def test_touch_tie_clipping():
    check_touch([4, 9, -1, 6], [0.5, 0.95, 0.0, 0.7], 9, 0.2, [4, 9, -1, 6], [0.5, 1.0, 0.0, 0.7])
    check_touch([4, 9, -1, 6], [0.5, 0.05, 0.0, 0.7], 9, -0.2, [4, 9, -1, 6], [0.5, 0.0, 0.0, 0.7])
    # a new partner starts at min(1, delta)
    check_touch([4, -1, -1, 6], [0.5, 0.0, 0.0, 0.7], 2, 1.7, [4, 2, -1, 6], [0.5, 1.0, 0.0, 0.7])


def test_touch_tie_first_empty_slot():
    check_touch([4, -1, 7, -1], [0.5, 0.0, 0.1, 0.0], 2, 0.3, [4, 2, 7, -1], [0.5, 0.3, 0.1, 0.0])
    check_touch([-1, -1, -1, -1], [0.0] * 4, 5, 0.3, [5, -1, -1, -1], [0.3, 0.0, 0.0, 0.0])


def test_touch_tie_replaces_weakest():
    check_touch([1, 2, 3, 4], [0.5, 0.2, 0.9, 0.3], 8, 0.4, [1, 8, 3, 4], [0.5, 0.4, 0.9, 0.3])
    # the first one among equals
    check_touch([1, 2, 3, 4], [0.5, 0.2, 0.9, 0.2], 8, 0.4, [1, 8, 3, 4], [0.5, 0.4, 0.9, 0.2])
    check_touch([1, 2, 3, 4], [0.0, 0.0, 0.0, 0.0], 8, 0.4, [8, 2, 3, 4], [0.4, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("delta", [-0.3, 0.0])
def test_touch_tie_nonpositive_delta_unknown_partner_does_nothing(delta):
    check_touch([4, -1, 7, -1], [0.5, 0.0, 0.1, 0.0], 2, delta,
                [4, -1, 7, -1], [0.5, 0.0, 0.1, 0.0])
    check_touch([1, 2, 3, 4], [0.5, 0.2, 0.9, 0.3], 8, delta, [1, 2, 3, 4], [0.5, 0.2, 0.9, 0.3])


def test_touch_tie_other_rows_untouched():
    tp = np.array([[1, -1], [0, -1], [-1, -1]], np.int32)
    tt = np.array([[0.2, 0.0], [0.3, 0.0], [0.0, 0.0]], np.float32)
    touch_tie(tp, tt, 1, 2, 0.5)
    assert tp.tolist() == [[1, -1], [0, 2], [-1, -1]]
    np.testing.assert_array_equal(tt, np.array([[0.2, 0.0], [0.3, 0.5], [0.0, 0.0]], np.float32))


def test_trust_of():
    tp, tt = tie_rows([4, -1, 7, 2], [0.5, 0.0, 0.125, 0.75])
    for j, want in ((4, 0.5), (7, 0.125), (2, 0.75), (3, 0.0), (0, 0.0)):
        assert trust_of(tp, tt, 0, j) == want == ref.trust_of(tp, tt, 0, j)


@settings(max_examples=25, derandomize=True, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_ops=st.integers(1, 300))
def test_touch_tie_random_sequences(seed, n_ops):
    """Random touches on a small world match the twin, slot for slot."""
    g = np.random.default_rng(seed)
    n = 12
    tp = np.full((n, 4), -1, np.int32)
    tt = np.zeros((n, 4), np.float32)
    ops = [(int(g.integers(n)), int(g.integers(n)), float(g.choice([-0.3, -0.05, 0.0, 0.05,
                                                                    0.1, 0.4, 1.2])))
           for _ in range(n_ops)]
    tp_r, tt_r = tp.tolist(), tt.tolist()
    for i, j, delta in ops:
        touch_tie(tp, tt, i, j, delta)
        ref._touch_tie(tp_r, tt_r, i, j, delta)
    assert tp.tolist() == tp_r
    np.testing.assert_array_equal(tt, np.array(tt_r, np.float32))
    assert tt.min() >= 0.0 and tt.max() <= 1.0
    for row in tp:  # a partner is remembered at most once
        known = row[row >= 0]
        assert len(set(known.tolist())) == len(known)
