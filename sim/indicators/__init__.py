"""The indicators: one declarative table (:mod:`sim.indicators.table`), the ledger of the
year's quantities (:mod:`sim.indicators.ledger`), the plan of the yearly rows
(:mod:`sim.indicators.layout`), their computation (:mod:`sim.indicators.compute`) and the
tidy recorder (:mod:`sim.indicators.recorder`).

Importing this package reads the table only (no NumPy, no Numba): the targets' and designs'
checks use :data:`CATALOGUE` and :data:`BY_NAME`.
"""

from sim.indicators.table import BY_NAME, CATALOGUE, QUANTITIES, Indicator, Ratio, Sum

__all__ = ["BY_NAME", "CATALOGUE", "QUANTITIES", "Indicator", "Ratio", "Sum"]
