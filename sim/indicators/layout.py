"""Where every quantity sits in the ledger's buffer, and the plan of a year's rows: for every
row of every indicator (in the table's order), its indicator, breakdown and key, and the cells
of the buffer that its value adds up (:func:`year_plan`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import product

import numpy as np

from sim.indicators.table import (
    BREAKDOWN_DIMS,
    CATALOGUE,
    FIXED_KEYS,
    FLOW,
    GROUP_TOTAL_CELL,
    KEPT,
    QUANTITIES,
    QUANTITY,
    STOCK,
    Ratio,
    Sum,
    breakdown_dims,
)

VALUE, SUM = 0, 1  # a row's cells: one cell taken as it is, or added up (0.0 + NumPy's order)


def dim_sizes(n_clusters: int, n_poles: int, n_calls: int) -> dict[str, int]:
    """The number of cells of every dimension."""
    sizes = {d: len(k) for d, k in FIXED_KEYS.items()}
    sizes["group"] = GROUP_TOTAL_CELL + 1
    sizes.update(cluster=n_clusters, pole=n_poles, call=n_calls)
    return sizes


@lru_cache(maxsize=64)
def buffer_layout(n_clusters: int, n_poles: int, n_calls: int):
    """``{name: (offset, shape)}`` of every quantity in the ledger's buffer, its size, and the
    end of the flows zeroed every year (the flows come first, then the kept flows, then the
    stocks)."""
    sizes = dim_sizes(n_clusters, n_poles, n_calls)
    where, offset, reset_end = {}, 0, 0
    for kind in (FLOW, KEPT, STOCK):
        for q in QUANTITIES:
            if q.kind != kind:
                continue
            shape = tuple(sizes[d] for d in q.dims)
            where[q.name] = (offset, shape)
            offset += int(np.prod(shape, dtype=np.int64))
        if kind == FLOW:
            reset_end = offset
    return where, offset, reset_end


@dataclass(frozen=True)
class Plan:
    """The rows of one year: their strings and, per row, the cells of the numerator and of
    the denominator (``den_kind`` -1: none) in CSR form (``*_ptr``, ``*_idx``)."""

    strings: tuple[list[str], list[str], list[str]]  # the rows' indicator, breakdown, key
    num_kind: np.ndarray
    num_ptr: np.ndarray
    num_idx: np.ndarray
    den_kind: np.ndarray
    den_ptr: np.ndarray
    den_idx: np.ndarray

    def __len__(self) -> int:
        return len(self.strings[0])


def _keys(dim: str, names: dict[str, tuple[str, ...]], cohorts: dict[str, list[int]],
          calls: tuple[int, ...]) -> list[tuple[str, list[int]]]:
    """The keys of one breakdown dimension, each with the cells it selects."""
    if dim == "cohort":
        return [(str(year), cells) for year, cells in cohorts.items()]
    if dim == "call":
        return [(str(k + 1), [k]) for k in calls]
    return [(key, [i]) for i, key in enumerate(names[dim])]


def _cells(s: Sum, fixed: dict[str, list[int]], where: dict[str, tuple[int, int]],
           names: dict[str, tuple[str, ...]], sizes: dict[str, int],
           calls: tuple[int, ...]) -> tuple[int, list[int]]:
    """The kind and the buffer cells of sum ``s`` for a row that fixes ``fixed``."""
    q = QUANTITY[s.quantity]
    offset, shape = where[q.name]
    axes, reduced = [], False
    for d in q.dims:
        if d in fixed:
            cells = fixed[d]
            reduced |= len(cells) != 1
        elif d in s.where:
            cells = [names[d].index(k) for k in s.where[d]]
            reduced |= len(cells) != 1
        elif d == "group":
            cells = [GROUP_TOTAL_CELL]
        elif d == "call":
            cells, reduced = list(calls), True
        else:
            cells, reduced = list(range(sizes[d])), True
        axes.append(cells)
    strides = [int(np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape))]
    flat = [offset + sum(c * st for c, st in zip(cell, strides, strict=True))
            for cell in product(*axes)]
    return (SUM if reduced else VALUE), flat


@lru_cache(maxsize=64)
def year_plan(clusters: tuple[str, ...], poles: tuple[str, ...], n_calls: int,
              cohort_years: tuple[int, ...], cohort_of: tuple[int, ...],
              calls: tuple[int, ...]) -> Plan:
    """The plan of a year's rows: every row of every indicator of the catalogue.

    Parameters
    ----------
    clusters, poles : tuple of str
        The clusters' and the poles' names (the keys of their breakdowns).
    n_calls : int
        The scenario's calls.
    cohort_years, cohort_of : tuple of int
        The clusters' launch years, sorted, and each cluster's index among them.
    calls : tuple of int
        The calls held this year (0-based).

    Returns
    -------
    Plan
        The rows' strings and, per row, the ledger's cells of its numerator and denominator.
        Cached: the same arguments give the same plan object.
    """
    names = dict(FIXED_KEYS, cluster=clusters, pole=poles)
    sizes = dim_sizes(len(clusters), len(poles), n_calls)
    where = buffer_layout(len(clusters), len(poles), n_calls)[0]
    cohorts = {year: [c for c, k in enumerate(cohort_of) if k == y]
               for y, year in enumerate(cohort_years)}
    ind, by_, key_ = [], [], []
    parts: dict[str, list] = {"num_kind": [], "num_idx": [], "den_kind": [], "den_idx": []}
    for indicator in CATALOGUE:
        num, den = ((indicator.of.num, indicator.of.den) if isinstance(indicator.of, Ratio)
                    else (indicator.of, None))
        for by in indicator.by:
            dims = breakdown_dims(by)
            for combo in product(*(_keys(d, names, cohorts, calls) for d in dims)):
                fixed = {BREAKDOWN_DIMS.get(d, d): cells
                         for d, (_, cells) in zip(dims, combo, strict=True)}
                reduced_by = {d for d in dims if d in BREAKDOWN_DIMS}
                ind.append(indicator.name)
                by_.append(by)
                key_.append("/".join(k for k, _ in combo))
                for side, s in (("num", num), ("den", den)):
                    if s is None:
                        parts["den_kind"].append(-1)
                        parts["den_idx"].append([])
                        continue
                    kind, flat = _cells(s, fixed, where, names, sizes, calls)
                    if reduced_by:
                        kind = SUM  # a cohort adds up its clusters, however few
                    parts[f"{side}_kind"].append(kind)
                    parts[f"{side}_idx"].append(flat)

    def csr(lists):
        """Lists of cells as (pointers, indices)."""
        ptr = np.zeros(len(lists) + 1, np.int64)
        ptr[1:] = np.cumsum([len(x) for x in lists])
        idx = np.array([c for x in lists for c in x], np.int64)
        return ptr, idx

    num_ptr, num_idx = csr(parts["num_idx"])
    den_ptr, den_idx = csr(parts["den_idx"])
    return Plan((ind, by_, key_), np.array(parts["num_kind"], np.int8), num_ptr, num_idx,
                np.array(parts["den_kind"], np.int8), den_ptr, den_idx)
