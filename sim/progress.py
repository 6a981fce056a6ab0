"""Progress bars of the long commands (sweep, compare, sensitivity, validate, calibrate).

On a terminal: a tqdm bar redrawn in place.  Elsewhere (a CI log, ``2> log.txt``) a bar
redrawn in place turns into one long line of carriage returns, and tqdm redraws it once for
``update`` and once more for ``set_postfix``, so each state appeared twice.  There,
:func:`progress_bar` returns a :class:`LineProgress` instead: one plain line per state, each
printed once, at most one a ``mininterval`` (and always the last one).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class LineProgress:
    """The part of tqdm's interface the commands use, printing whole lines."""

    def __init__(self, total: int, *, initial: int = 0, unit: str = "it", desc: str = "",
                 file: TextIO | None = None, mininterval: float = 1.0) -> None:
        self.total, self.n, self.unit, self.desc = total, initial, unit, desc
        self.file = file if file is not None else sys.stderr
        self.mininterval = mininterval
        self.postfix: dict[str, Any] = {}
        self.t0 = time.monotonic()
        self._last_time = -float("inf")
        self._last_line: str | None = None
        self.closed = False

    def state(self) -> str:
        """The current state (count, share, fields) as one line, without the time."""
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        post = "".join(f", {k}={v}" for k, v in self.postfix.items())
        return f"{self.desc}: {self.n}/{self.total} {self.unit}{pct}{post}"

    def _print(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_time < self.mininterval:
            return
        state = self.state()
        if state == self._last_line:  # each state once
            return
        self._last_line, self._last_time = state, now
        print(f"{state}, {now - self.t0:.0f} s", file=self.file, flush=True)

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` and print the new state."""
        self.n += n
        self._print(force=self.n >= self.total)

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        """Set the fields shown after the count (shown with the next update)."""
        self.postfix = {k: values[k] for k in values}

    def close(self) -> None:
        """Print the last state (once)."""
        if not self.closed:
            self.closed = True
            self._print(force=True)


def progress_bar(total: int, *, initial: int = 0, unit: str = "it", desc: str = "",
                 file: TextIO | None = None):
    """A tqdm bar on a terminal, a :class:`LineProgress` elsewhere."""
    file = file if file is not None else sys.stderr
    isatty = getattr(file, "isatty", None)
    if isatty is not None and isatty():
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, unit=unit, desc=desc, dynamic_ncols=True,
                    file=file)
    return LineProgress(total, initial=initial, unit=unit, desc=desc, file=file)
