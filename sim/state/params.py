"""Per-run constants of the scenario handed to kernels as records.

A process declares the scalars its kernels read, once, as a :class:`Params`: a name per field
and where its value comes from (a dotted path into the scenario, or a function of it).  Built
once per model, the record is a one-element NumPy structured array: a kernel reads
``p = params[0]`` then ``p.leave_rate``.  A structured array takes Numba's fast dispatch path,
a little dearer than a plain array and far cheaper than a view or a record scalar
(docs/performance.md, "Views").

Types are declared, never inferred from the values (a TOML ``1`` where ``1.0`` is meant would
otherwise make an integer field, another compiled kernel and integer arithmetic).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Source = str | Callable[[Any], Any]  # a dotted path into the scenario, or a function of it


def lookup(sc: Any, path: str) -> Any:
    """The value at dotted ``path`` of scenario ``sc`` (``"behaviour.membership.noise"``)."""
    value = sc
    for part in path.split("."):
        value = getattr(value, part)
    return value


class Params:
    """The named scalars of one kernel's record and where they come from.

    Parameters
    ----------
    floats, ints, flags : dict of name -> source
        Fields of type float64, int64 and bool; a source is a dotted path into the scenario
        or a function of the scenario.
    arrays : dict of name -> (source, length)
        float64 fields of fixed length (a sub-array of the record).
    """

    def __init__(self, floats: dict[str, Source] | None = None,
                 ints: dict[str, Source] | None = None,
                 flags: dict[str, Source] | None = None,
                 arrays: dict[str, tuple[Source, int]] | None = None) -> None:
        self.fields: list[tuple[str, Source, Any]] = []
        dtype = []
        for group, kind in ((floats, np.float64), (ints, np.int64), (flags, np.bool_)):
            for name, source in (group or {}).items():
                self.fields.append((name, source, kind))
                dtype.append((name, kind))
        for name, (source, length) in (arrays or {}).items():
            self.fields.append((name, source, None))
            dtype.append((name, np.float64, (length,)))
        self.dtype = np.dtype(dtype, align=True)

    def build(self, sc: Any) -> np.ndarray:
        """The record of scenario ``sc``."""
        out = np.zeros(1, self.dtype)
        for name, source, kind in self.fields:
            value = source(sc) if callable(source) else lookup(sc, source)
            out[0][name] = value if kind is None else kind(value)
        return out

    def of(self, model: Any) -> np.ndarray:
        """The record of ``model``'s scenario, built on first use (the scenario does not
        change during a run)."""
        rec = model.constants.get(self)
        if rec is None:
            rec = model.constants[self] = self.build(model.sc)
        return rec

    @property
    def names(self) -> tuple[str, ...]:
        """The field names, in order."""
        return tuple(name for name, _, _ in self.fields)
