"""The tidy recorder: the yearly rows of a run, joined into one DataFrame at the end."""

from __future__ import annotations

import numpy as np
import pandas as pd


class _Strings:
    """The indicator, breakdown and key strings seen in this process, numbered in order of
    first sight, and their pandas array (what ``pd.DataFrame`` makes of a list of them, so the
    columns keep the dtype that pandas version gives string columns): a frame's string columns
    are picked from it by code, instead of converting thousands of Python strings per run."""

    def __init__(self) -> None:
        self.code: dict[str, int] = {}
        self._array = None

    def codes(self, strings: list[str]) -> np.ndarray:
        """The codes (int64) of ``strings``, numbering the new ones."""
        code = self.code
        for s in strings:
            if s not in code:
                code[s] = len(code)
                self._array = None
        return np.fromiter(map(code.__getitem__, strings), np.int64, len(strings))

    def pick(self, codes: np.ndarray):
        """The strings of ``codes`` as a pandas array."""
        if self._array is None:
            self._array = pd.Series(list(self.code)).array
        return self._array.take(codes)


_STRINGS = _Strings()
_LAYOUT_CODES: dict[int, tuple[tuple, tuple[np.ndarray, ...]]] = {}


def _layout_codes(layout: tuple[list[str], list[str], list[str]]) -> tuple[np.ndarray, ...]:
    """The codes of a layout's three string columns, cached on the layout object (the cache
    holds the layout, so its ``id`` cannot be reused while the entry lives)."""
    hit = _LAYOUT_CODES.get(id(layout))
    if hit is not None and hit[0] is layout:
        return hit[1]
    codes = tuple(_STRINGS.codes(column) for column in layout)
    if len(_LAYOUT_CODES) >= 256:
        _LAYOUT_CODES.clear()
    _LAYOUT_CODES[id(layout)] = (layout, codes)
    return codes


class Recorder:
    """Collects the tidy yearly rows of one run.

    Rows are kept as blocks (the codes of their indicators, breakdowns and keys, their year,
    their values) and joined into columns by :meth:`frame`.  A year's block of rows of one
    plan (:func:`sim.indicators.layout.year_plan`) shares its codes with every other year and
    run of the same plan, so recording a year copies its values only.
    """

    COLUMNS = ("indicator", "year", "by", "key", "value")

    def __init__(self) -> None:
        self.blocks: list[tuple[tuple[np.ndarray, ...], int, np.ndarray]] = []

    def add(self, name: str, year: int, value: float, by: str = "total", key: str = "") -> None:
        """Record one value."""
        codes = tuple(_STRINGS.codes([s]) for s in (name, by, key))
        self.blocks.append((codes, year, np.array([float(value)])))

    def add_many(self, name: str, year: int, by: str, keys, values) -> None:
        """Record one value per key."""
        keys = list(map(str, keys))
        values = np.array(values, dtype=np.float64)
        if len(keys) != len(values):
            raise ValueError(f"{name}: {len(keys)} keys for {len(values)} values")
        k = len(keys)
        codes = (_STRINGS.codes([name] * k), _STRINGS.codes([by] * k), _STRINGS.codes(keys))
        self.blocks.append((codes, year, values))

    def add_rows(self, layout: tuple[list[str], list[str], list[str]], year: int,
                 values: np.ndarray) -> None:
        """Record one year's rows: ``layout`` holds their indicators, breakdowns and keys (its
        codes are cached on it: the caller must not change it); ``values`` is copied."""
        values = np.array(values, dtype=np.float64)
        if len(layout[0]) != len(values):
            raise ValueError(f"{len(layout[0])} rows for {len(values)} values")
        self.blocks.append((_layout_codes(layout), year, values))

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with columns indicator, year, by, key, value."""
        sizes = [len(values) for _, _, values in self.blocks]
        if not sum(sizes):
            return pd.DataFrame([], columns=list(self.COLUMNS))

        def strings(col: int):
            return _STRINGS.pick(np.concatenate([codes[col] for codes, _, _ in self.blocks]))

        return pd.DataFrame({
            "indicator": strings(0),
            "year": np.repeat(np.array([year for _, year, _ in self.blocks], np.int64), sizes),
            "by": strings(1),
            "key": strings(2),
            "value": np.concatenate([values for _, _, values in self.blocks]),
        })
