"""What an actor type is, as kernels ask it: ``is_company(atype[i])`` instead of
``atype[i] <= 1``.  Each predicate is inlined into its callers (``inline="always"``), so it
costs what the comparison costs."""

from __future__ import annotations

from numba import njit

from sim.state.codes import LARGE, RESEARCH_CENTRE, TRAINING_CENTRE, UNIVERSITY


@njit(cache=True, inline="always")
def is_company(atype):
    """An SME or a large firm."""
    return atype <= LARGE


@njit(cache=True, inline="always")
def is_large(atype):
    """A large firm."""
    return atype == LARGE


@njit(cache=True, inline="always")
def is_research(atype):
    """A university or a research centre."""
    return atype == UNIVERSITY or atype == RESEARCH_CENTRE


@njit(cache=True, inline="always")
def is_training(atype):
    """A training centre."""
    return atype == TRAINING_CENTRE
