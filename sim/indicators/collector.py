"""Mesa's ``DataCollector`` over the run's recorded indicators (for ``mesa.batch_run`` and
SolaraViz).

:class:`IndicatorCollector` is a :class:`mesa.DataCollector` whose model reporters are the
catalogue's totals (every indicator reported by ``total``, :mod:`sim.indicators.table`) and
``year``.  It adds nothing to the step: the values are the ones the model records anyway at the
end of each year (sub-step 13, :mod:`sim.indicators.recorder`), read back when ``model_vars``
is asked for.  A baseline replication takes about 30 ms with ``handles=False``; a Mesa
``collect`` of some 50 reporters every quarter would add several per cent to it.

``model_vars[name][k]`` is the value after step ``k + 1`` (Mesa's ``batch_run`` reads
``model_vars[name][model.steps - 1]`` for the end of a run): the indicators of the last year
that has ended, ``year`` its calendar year, NaN before the first year ends.  The indicators are
yearly, so the three quarters after a year end repeat its values.
"""

from __future__ import annotations

import math
import weakref
from functools import partial
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.indicators.recorder import _STRINGS
from sim.indicators.table import CATALOGUE

if TYPE_CHECKING:
    from sim.model import ClusterModel

#: The model reporters: the catalogue's indicators that have a ``total`` row, in its order.
TOTALS: tuple[str, ...] = tuple(ind.name for ind in CATALOGUE if "total" in ind.by)


def year_totals(model: ClusterModel) -> tuple[list[int], dict[str, list[float]]]:
    """The recorded years of ``model`` and, for each of :data:`TOTALS`, its value in each."""
    total = _STRINGS.code.get("total")
    years: list[int] = []
    out: dict[str, list[float]] = {name: [] for name in TOTALS}
    for codes, year, values in model.recorder.blocks:
        if total is None:
            break
        rows = np.flatnonzero(codes[1] == total)
        if not len(rows):
            continue
        if not years or years[-1] != year:
            years.append(year)
            for column in out.values():
                column.append(math.nan)
        for code, value in zip(_STRINGS.pick(codes[0][rows]), values[rows], strict=True):
            column = out.get(code)
            if column is not None:
                column[-1] = float(value)
    return years, out


def _reporter(name: str, model: ClusterModel) -> float:
    """The reporter of one total (what ``model_vars`` holds for the last step)."""
    return model.datacollector.model_vars[name][-1] if model.steps else math.nan


class IndicatorCollector(mesa.DataCollector):
    """A :class:`mesa.DataCollector` whose model reporters are the indicator catalogue's totals
    and ``year``, read from the model's own record (see the module's docstring).

    ``collect`` has nothing to do (the model records its indicators itself); the collector has
    no agent reporters.
    """

    def __init__(self, model: ClusterModel) -> None:
        self._model = weakref.ref(model)
        self._cache: tuple[tuple[int, int], dict[str, list[float]]] | None = None
        reporters = {name: partial(_reporter, name) for name in ("year", *TOTALS)}
        super().__init__(model_reporters=reporters)

    @property
    def model_vars(self) -> dict[str, list[float]]:
        """One list per reporter, one value per step so far (see the module's docstring)."""
        model = self._model()
        if model is None:
            return {}
        key = (model.steps, len(model.recorder.blocks))
        if self._cache is None or self._cache[0] != key:
            years, values = year_totals(model)
            # years ended after step s (1-based): s // 4, the first at step 4
            ended = np.minimum(np.arange(1, model.steps + 1) // 4, len(years))
            columns = {"year": [float(y) for y in years], **values}
            self._cache = (key, {name: [column[k - 1] if k else math.nan for k in ended]
                                 for name, column in columns.items()})
        return self._cache[1]

    @model_vars.setter
    def model_vars(self, value) -> None:
        """Accepted and ignored (``mesa.DataCollector.__init__`` sets it)."""

    def _new_model_reporter(self, name, reporter) -> None:
        self.model_reporters[name] = reporter

    def collect(self, model) -> None:
        """Nothing to do: the model records its indicators at each year end itself."""
