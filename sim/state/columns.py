"""Struct-of-arrays tables: one array per declared column, "row i is item i".

A table declares its columns once (:class:`Column`: name, dtype, the value of an empty row, and
the width of a 2-D column); allocation, growth, the bytes per row and the kernels' view all
follow from that declaration, so adding an attribute is one line of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Column:
    """A declared column of a :class:`Table`.

    Parameters
    ----------
    name : str
        Attribute name, on the table and on its view.
    dtype : numpy dtype
    fill : int, float or bool
        Value of a row that holds nothing yet (``-1`` for "none" references).
    width : str, optional
        For a 2-D column, the name of its width in the table's ``widths`` (the knowledge
        dimensions, the tie slots, a consortium's members); 1-D when None.
    doc : str
        Meaning and unit.
    """

    name: str
    dtype: type
    fill: int | float | bool = 0
    width: str | None = None
    doc: str = ""

    def allocate(self, rows: int, widths: dict[str, int]) -> np.ndarray:
        """A new array of ``rows`` empty rows."""
        shape = (rows,) if self.width is None else (rows, widths[self.width])
        if self.fill == 0:
            return np.zeros(shape, self.dtype)  # untouched pages cost nothing until written
        return np.full(shape, self.fill, self.dtype)


class Table:
    """Arrays of the declared :attr:`COLUMNS` (set as attributes) and their kernel view.

    Subclasses declare ``COLUMNS`` and ``make_view`` (a compiled constructor of their view
    class taking the arrays in column order, then :attr:`EXTRA_VIEW_FIELDS`).
    """

    COLUMNS: tuple[Column, ...] = ()
    EXTRA_VIEW_FIELDS: tuple[str, ...] = ()
    make_view = None

    def __init__(self, capacity: int, widths: dict[str, int]) -> None:
        self.widths = dict(widths)
        for col in self.COLUMNS:
            setattr(self, col.name, col.allocate(capacity, self.widths))
        self._view = None

    @classmethod
    def view_fields(cls) -> tuple[str, ...]:
        """Field names of the table's view, in order."""
        return tuple(c.name for c in cls.COLUMNS) + cls.EXTRA_VIEW_FIELDS

    @property
    def cap(self) -> int:
        """Allocated rows."""
        return getattr(self, self.COLUMNS[0].name).shape[0]

    @property
    def view(self):
        """The arrays as one kernel argument (rebuilt after the arrays are reallocated)."""
        if self._view is None:
            self._view = type(self).make_view(*(getattr(self, f) for f in self.view_fields()))
        return self._view

    def reallocate(self, rows: int) -> None:
        """Grow every column to ``rows`` rows, the new ones empty."""
        for col in self.COLUMNS:
            old = getattr(self, col.name)
            new = col.allocate(rows, self.widths)
            new[: old.shape[0]] = old
            setattr(self, col.name, new)
        self._view = None

    def nbytes_per_row(self) -> float:
        """Bytes of the columns per allocated row."""
        return sum(getattr(self, c.name).nbytes for c in self.COLUMNS) / max(self.cap, 1)
